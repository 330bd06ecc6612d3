"""Rendering of results: JSON and a self-contained HTML page. No computation here."""
