"""Column batches and sources: the numpy form in which data reaches the profiling core.

The adapters in :mod:`seismo.io` implement :class:`Source` for pandas, polars, pyarrow, CSV and
Parquet and hand out :class:`Batch` es of these columns, so the core never sees a data-frame
library (and never imports the adapters).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from seismo.errors import InputError
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
    """Dictionary-encoded values: ``categories[codes[i]]`` is row i; code -1 means missing.

    ``declared`` is True when the source declared the column categorical by its type (an Arrow
    dictionary: a pandas ``category``, a polars ``Categorical``/``Enum``), whatever its values.
    """

    codes: NDArray[np.int32]
    categories: tuple[str, ...]
    physical: Physical
    declared: bool = False

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


class Batch(Mapping[str, ColumnBatch]):
    """One batch of rows; columns are converted to numpy only when asked for."""

    def __init__(
        self,
        names: tuple[str, ...],
        rows: int,
        convert: Callable[[str], ColumnBatch],
        where: str = "data",
    ) -> None:
        self._names = names
        self._convert = convert
        self.where = where
        self.rows = rows

    def __getitem__(self, name: str) -> ColumnBatch:
        if name not in self._names:
            raise KeyError(name)
        try:
            return self._convert(name)
        except InputError as error:
            message = str(error)
            if message.startswith(f"{self.where}:"):
                raise
            raise InputError(f"{self.where}: {message}") from error

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


class Source(Protocol):
    name: str

    @property
    def columns(self) -> tuple[str, ...]: ...

    @property
    def physical(self) -> dict[str, Physical]: ...

    @property
    def total_rows(self) -> int | None: ...

    def batches(self) -> Iterator[Batch]: ...


def codes_to_numbers(batch: CodesBatch) -> tuple[NumericBatch, int]:
    """Parse dictionary-encoded strings as numbers; returns the batch and the unparseable count.

    Each distinct string is parsed once, so this costs O(categories) Python work plus one gather.
    Unparseable strings become NaN and are counted in ``invalid_count``.
    """
    return _convert_codes(batch, text_to_numbers(batch.categories))


def codes_to_seconds(batch: CodesBatch) -> tuple[NumericBatch, int]:
    """Parse dictionary-encoded ISO 8601 dates and datetimes as seconds since the epoch.

    As :func:`codes_to_numbers`: each distinct string is parsed once; the others are invalid.
    """
    return _convert_codes(batch, text_to_seconds(batch.categories))


def _convert_codes(batch: CodesBatch, parsed: NDArray[np.float64]) -> tuple[NumericBatch, int]:
    # Code -1 (missing) indexes the last slot, which is NaN and not counted as invalid.
    unparseable = np.append(np.isnan(parsed), False)
    values = np.append(parsed, np.nan)[batch.codes]
    invalid = int(np.count_nonzero(unparseable[batch.codes]))
    return NumericBatch(values, batch.null_count, batch.physical, invalid), invalid


#: Digits grouped by thousands with commas, as spreadsheets export amounts ("1,234,567.89").
_GROUPED = re.compile(r"\s*[+-]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d*)?\s*")


def text_to_numbers(texts: Sequence[str]) -> NDArray[np.float64]:
    """Each text as a number (Python's ``float`` syntax, or digits grouped by thousands with
    commas: "12,345.6"); NaN where it is not one.

    The text "nan" parses to NaN too: a missing number written out, not an invalid one.

    >>> text_to_numbers(["16", "1,234", "-12,345.5", "1,2", "n/a"]).tolist()
    [16.0, 1234.0, -12345.5, nan, nan]
    """
    parsed = np.empty(len(texts), dtype=np.float64)
    for index, text in enumerate(texts):
        try:
            parsed[index] = float(text)
        except ValueError:
            grouped = _GROUPED.fullmatch(text)
            parsed[index] = float(text.replace(",", "")) if grouped else np.nan
    return parsed


#: A number as a data file writes it; codes with a leading zero ("02139", "007") do not match.
_NUMBER = re.compile(
    r"\s*[+-]?(?:(?:0|[1-9]\d*)(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*"
    r"|\s*[+-]?(?:inf|infinity|nan)\s*"
    r"|" + _GROUPED.pattern,
    re.IGNORECASE,
)
#: An ISO 8601 date, optionally with a time and a UTC offset ("2011-01-01", "2011-01-01T08:30Z").
_ISO_DATETIME = re.compile(
    r"\s*\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
    r"(?:Z|[+-]\d{2}(?::?\d{2})?)?\s*"
)


def looks_like_number(text: str) -> bool:
    """Whether a text is a number to infer a kind from; leading-zero codes are not.

    >>> [looks_like_number(t) for t in ["16", "-0.5", "1e3", "02139", "007", "0", "n/a", "1,234"]]
    [True, True, True, False, False, True, False, True]
    """
    return _NUMBER.fullmatch(text) is not None


def looks_like_datetime(text: str) -> bool:
    """Whether a text is an ISO 8601 date or datetime.

    >>> [looks_like_datetime(t) for t in ["2011-01-01", "2011-01-01 08:30:00", "2011", "1/2/11"]]
    [True, True, False, False]
    """
    return _ISO_DATETIME.fullmatch(text) is not None


def text_to_seconds(texts: Sequence[str]) -> NDArray[np.float64]:
    """ISO 8601 dates and datetimes as seconds since the epoch (UTC); NaN for other text.

    Times without an offset are taken as UTC, as for timestamps without a time zone.

    >>> text_to_seconds(["1970-01-02", "1970-01-01T00:01:00+01:00", "soon"]).tolist()
    [86400.0, -3540.0, nan]
    """
    seconds = np.full(len(texts), np.nan)
    candidates = [i for i, text in enumerate(texts) if looks_like_datetime(text)]
    if not candidates:
        return seconds
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy warns that it applies a UTC offset
        try:
            parsed = np.array([texts[i].strip() for i in candidates], dtype="datetime64[us]")
        except ValueError:
            parsed = np.array([_one_datetime(texts[i]) for i in candidates], dtype="datetime64[us]")
    valid = ~np.isnat(parsed)
    micro = parsed.astype(np.int64)
    seconds[np.asarray(candidates)[valid]] = micro[valid] / 1e6
    return seconds


def _one_datetime(text: str) -> np.datetime64:
    try:
        return np.datetime64(text.strip(), "us")
    except ValueError:
        return np.datetime64("NaT", "us")


def numbers_to_codes(batch: NumericBatch) -> CodesBatch:
    """Turn numbers into dictionary-encoded strings (integers print without a decimal point)."""
    values = batch.values
    missing = np.isnan(values)
    uniques, inverse = np.unique(values[~missing], return_inverse=True)
    codes = np.full(len(values), -1, dtype=np.int32)
    codes[~missing] = inverse.astype(np.int32)
    categories = tuple(number_text(value) for value in uniques.tolist())
    return CodesBatch(codes, categories, batch.physical)


def number_text(value: float) -> str:
    """A number as a category: integers without a decimal point (``1.0`` and ``1`` are one
    category), others by ``repr``."""
    value = float(value)
    if np.isfinite(value) and value == int(value):
        return str(int(value))
    return repr(value)


def value_text(value: Any) -> str:
    """A Python value of a mixed column as the category a column of its type alone gives it:
    ``true``/``false`` for booleans (as a boolean column), :func:`number_text` for numbers
    (as a numeric column), else ``str``. One value, one category, whatever else the batch
    holds."""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | float | np.integer | np.floating):
        return number_text(float(value))
    return str(value)
