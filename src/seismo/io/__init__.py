"""Adapters from data-frame libraries and files to column batches (the edge of the system)."""

from seismo.io.sources import Source, open_source

__all__ = ["Source", "open_source"]
