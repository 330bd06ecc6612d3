"""seismo on Apache Spark (``pip install 'seismo[spark]'``).

- :mod:`seismo.spark.profiles`: references and profiles of Spark DataFrames or Parquet paths,
  equal to the single-process ones on the same rows; :func:`compare` gives the same report.
- :mod:`seismo.spark.lake`: the monitor over predictions and labels logged to a data lake:
  per-window, per-segment summaries computed on Spark and written to seismo's store.
"""

from __future__ import annotations

from seismo.spark.profiles import compare, fit_reference, profile, session

__all__ = ["compare", "fit_reference", "profile", "session"]
