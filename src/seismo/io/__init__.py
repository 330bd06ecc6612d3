"""Adapters from data-frame libraries and files to column batches (the edge of the system)."""

from seismo.io.sources import open_source
from seismo.profile.batch import Source

__all__ = ["Source", "open_source"]
