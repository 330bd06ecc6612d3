"""Column batches: the numpy form in which data reaches the profiling core.

The adapters in :mod:`seismo.io` turn pandas, polars, pyarrow, CSV and Parquet into these, so the
core never sees a data-frame library.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from seismo.schema.types import Physical


@dataclass(frozen=True, slots=True, eq=False)
class NumericBatch:
    """Numbers as float64. Missing values are NaN in ``values`` and counted in ``null_count``.

    ``null_count`` counts the values that were missing at the source (SQL/Arrow nulls); any other
    NaN in ``values`` is a real floating-point NaN, except ``invalid_count`` of them, which were
    text that does not parse as a number.
    """

    values: NDArray[np.float64]
    null_count: int
    physical: Physical
    invalid_count: int = 0

    def __len__(self) -> int:
        return len(self.values)


@dataclass(frozen=True, slots=True, eq=False)
class CodesBatch:
    """Dictionary-encoded values: ``categories[codes[i]]`` is row i; code -1 means missing."""

    codes: NDArray[np.int32]
    categories: tuple[str, ...]
    physical: Physical

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def null_count(self) -> int:
        return int(np.count_nonzero(self.codes < 0))

    def category_counts(self) -> NDArray[np.int64]:
        """Rows per category (missing rows excluded)."""
        present = self.codes[self.codes >= 0]
        return np.bincount(present, minlength=len(self.categories)).astype(np.int64)


ColumnBatch = NumericBatch | CodesBatch
Batch = dict[str, ColumnBatch]


def codes_to_numbers(batch: CodesBatch) -> tuple[NumericBatch, int]:
    """Parse dictionary-encoded strings as numbers; returns the batch and the unparseable count.

    Each distinct string is parsed once, so this costs O(categories) Python work plus one gather.
    Unparseable strings become NaN and are counted in ``invalid_count``.
    """
    parsed = np.empty(len(batch.categories) + 1, dtype=np.float64)
    parsed[-1] = np.nan  # code -1 (missing) indexes the last slot
    unparseable = np.zeros(len(batch.categories) + 1, dtype=bool)
    for index, text in enumerate(batch.categories):
        try:
            parsed[index] = float(text)
        except ValueError:
            parsed[index] = np.nan
            unparseable[index] = True
    values = parsed[batch.codes]
    invalid = int(np.count_nonzero(unparseable[batch.codes]))
    return NumericBatch(values, batch.null_count, batch.physical, invalid), invalid


def numbers_to_codes(batch: NumericBatch) -> CodesBatch:
    """Turn numbers into dictionary-encoded strings (integers print without a decimal point)."""
    values = batch.values
    missing = np.isnan(values)
    uniques, inverse = np.unique(values[~missing], return_inverse=True)
    codes = np.full(len(values), -1, dtype=np.int32)
    codes[~missing] = inverse.astype(np.int32)
    categories = tuple(_number_text(value) for value in uniques.tolist())
    return CodesBatch(codes, categories, batch.physical)


def _number_text(value: float) -> str:
    if np.isfinite(value) and value == int(value):
        return str(int(value))
    return repr(value)
