"""Sources: something that can hand out its rows as column batches, as often as asked.

A source knows its display name (used in every error message), its column names and storage
types, and, when cheap to know, its row count (for progress bars). In-memory frames are handed
out as one batch without copying numeric columns; files are read in batches so memory does not
grow with the row count.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from seismo.errors import InputError
from seismo.io.arrow import arrow_to_batch, physical_of
from seismo.profile.batch import CodesBatch, ColumnBatch, NumericBatch
from seismo.schema.types import Physical

DEFAULT_BATCH_ROWS = 262_144


class Batch(Mapping[str, ColumnBatch]):
    """One batch of rows; columns are converted to numpy only when asked for."""

    def __init__(
        self, names: tuple[str, ...], rows: int, convert: Callable[[str], ColumnBatch]
    ) -> None:
        self._names = names
        self._convert = convert
        self.rows = rows

    def __getitem__(self, name: str) -> ColumnBatch:
        if name not in self._names:
            raise KeyError(name)
        return self._convert(name)

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


def _check_names(names: list[Any], where: str) -> tuple[str, ...]:
    text = [str(name) for name in names]
    duplicates = sorted({name for name in text if text.count(name) > 1})
    if duplicates:
        raise InputError(f"{where}: duplicate column name(s) {duplicates}; rename them")
    return tuple(text)


class ArrowSource:
    """A pyarrow Table (also what polars frames and mappings of arrays become)."""

    def __init__(self, table: pa.Table, name: str) -> None:
        self.name = name
        self._table = table
        self._columns = _check_names(table.column_names, name)

    @property
    def columns(self) -> tuple[str, ...]:
        return self._columns

    @property
    def physical(self) -> dict[str, Physical]:
        return {
            name: physical_of(field.type)
            for name, field in zip(self._columns, self._table.schema, strict=True)
        }

    @property
    def total_rows(self) -> int:
        return int(self._table.num_rows)

    def batches(self) -> Iterator[Batch]:
        table = self._table
        index = {name: i for i, name in enumerate(self._columns)}
        yield Batch(
            self._columns, table.num_rows, lambda n: arrow_to_batch(n, table.column(index[n]))
        )


class PandasSource:
    """A pandas DataFrame; float columns are viewed, not copied."""

    def __init__(self, frame: Any, name: str) -> None:
        self.name = name
        self._frame = frame
        self._columns = _check_names(list(frame.columns), name)
        self._physical: dict[str, Physical] | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return self._columns

    @property
    def physical(self) -> dict[str, Physical]:
        if self._physical is None:
            self._physical = {
                name: self._series_physical(self._frame.iloc[:, i])
                for i, name in enumerate(self._columns)
            }
        return self._physical

    @property
    def total_rows(self) -> int:
        return len(self._frame)

    @staticmethod
    def _series_physical(series: Any) -> Physical:
        kind = series.dtype.kind
        if kind == "f":
            return Physical.FLOAT
        if kind in "iu":
            return Physical.INT
        if kind == "b":
            return Physical.BOOL
        if kind == "M":
            return Physical.DATETIME
        try:
            return physical_of(pa.array(series.head(1000), from_pandas=True).type)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return Physical.MIXED

    def _convert(self, name: str) -> ColumnBatch:
        series = self._frame.iloc[:, self._columns.index(name)]
        kind = series.dtype.kind
        if kind in "fiu" and not hasattr(series.dtype, "na_value"):
            values = series.to_numpy(dtype=np.float64, copy=False)
            return NumericBatch(values, 0, Physical.FLOAT if kind == "f" else Physical.INT)
        try:
            return arrow_to_batch(name, pa.array(series, from_pandas=True))
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return _mixed_to_codes(series.to_numpy(dtype=object))

    def batches(self) -> Iterator[Batch]:
        yield Batch(self._columns, len(self._frame), self._convert)


def _mixed_to_codes(values: Any) -> CodesBatch:
    """Values of several Python types in one column: each becomes its text."""
    text = [
        None if value is None or (isinstance(value, float) and value != value) else str(value)
        for value in values
    ]
    encoded = pa.array(text, type=pa.string()).dictionary_encode()
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32)
    return CodesBatch(codes, tuple(encoded.dictionary.to_pylist()), Physical.MIXED)


class ParquetSource:
    """A Parquet file read in row batches."""

    def __init__(self, path: Path, batch_rows: int = DEFAULT_BATCH_ROWS) -> None:
        self.name = str(path)
        self._path = path
        self._batch_rows = batch_rows
        try:
            self._file = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as error:
            raise InputError(f"{path}: not a readable Parquet file ({error})") from error
        schema = self._file.schema_arrow
        self._columns = _check_names(schema.names, self.name)
        self._types = {name: physical_of(schema.field(name).type) for name in self._columns}

    @property
    def columns(self) -> tuple[str, ...]:
        return self._columns

    @property
    def physical(self) -> dict[str, Physical]:
        return dict(self._types)

    @property
    def total_rows(self) -> int:
        return int(self._file.metadata.num_rows)

    def batches(self) -> Iterator[Batch]:
        for record_batch in self._file.iter_batches(batch_size=self._batch_rows):
            yield _record_batch(record_batch, self._columns)


def _record_batch(record_batch: pa.RecordBatch, names: tuple[str, ...]) -> Batch:
    index = {name: i for i, name in enumerate(names)}
    return Batch(
        names,
        record_batch.num_rows,
        lambda n: arrow_to_batch(n, record_batch.column(index[n])),
    )


_CSV_COLUMN_ERROR = re.compile(r"In CSV column #(\d+)")


class CsvSource:
    """A CSV file read in blocks with Arrow's streaming reader.

    Column types are inferred from the first block. When a later block holds a value that does
    not fit (text in a column that looked numeric), reading resumes at that block with the column
    read as text, so no row is lost; numeric profiling then counts the text as invalid numbers.
    """

    def __init__(self, path: Path, block_bytes: int = 16 << 20) -> None:
        self.name = str(path)
        self._path = path
        self._block_bytes = block_bytes
        self._text_columns: set[str] = set()
        reader = self._open(skip_rows=0)
        schema = reader.schema
        self._columns = _check_names(schema.names, self.name)
        self._types = {name: physical_of(schema.field(name).type) for name in self._columns}
        reader.close()

    def _open(self, skip_rows: int) -> pa_csv.CSVStreamingReader:
        read_options = pa_csv.ReadOptions(
            block_size=self._block_bytes, skip_rows_after_names=skip_rows
        )
        convert_options = pa_csv.ConvertOptions(
            column_types={name: pa.string() for name in self._text_columns},
            strings_can_be_null=True,
        )
        try:
            return pa_csv.open_csv(
                self._path, read_options=read_options, convert_options=convert_options
            )
        except pa.ArrowInvalid as error:
            if "Empty CSV file" in str(error):
                raise InputError(f"{self._path}: the file is empty; expected a header row") from None
            raise InputError(f"{self._path}: not a readable CSV file ({error})") from error

    @property
    def columns(self) -> tuple[str, ...]:
        return self._columns

    @property
    def physical(self) -> dict[str, Physical]:
        return dict(self._types)

    @property
    def total_rows(self) -> int | None:
        return None

    def batches(self) -> Iterator[Batch]:
        done = 0
        while True:
            reader = self._open(skip_rows=done)
            try:
                for record_batch in reader:
                    done += record_batch.num_rows
                    yield _record_batch(record_batch, self._columns)
                return
            except pa.ArrowInvalid as error:
                match = _CSV_COLUMN_ERROR.search(str(error))
                if match is None:
                    raise InputError(f"{self._path}: cannot read row {done + 1}+: {error}") from error
                column = self._columns[int(match.group(1))]
                if column in self._text_columns:
                    raise InputError(f"{self._path}: column {column!r}: {error}") from error
                self._text_columns.add(column)
                self._types[column] = Physical.MIXED
            finally:
                reader.close()


def open_source(data: Any, name: str) -> Source:
    """Wrap pandas / polars / pyarrow data, a mapping of arrays, or a CSV / Parquet path."""
    if isinstance(data, str | Path):
        return _open_file(Path(data))
    module = type(data).__module__.split(".")[0]
    if module == "pandas" and hasattr(data, "columns"):
        return PandasSource(data, name)
    if module == "polars" and hasattr(data, "to_arrow"):
        return ArrowSource(data.to_arrow(), name)
    if isinstance(data, pa.RecordBatch):
        return ArrowSource(pa.Table.from_batches([data]), name)
    if isinstance(data, pa.Table):
        return ArrowSource(data, name)
    if isinstance(data, Mapping):
        try:
            return ArrowSource(pa.table({str(k): _as_arrow(v) for k, v in data.items()}), name)
        except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError) as error:
            raise InputError(f"{name}: cannot read the mapping of columns: {error}") from error
    raise InputError(
        f"{name}: expected a pandas, polars or pyarrow table, a mapping of column arrays, or a "
        f"path to a CSV or Parquet file; got {type(data).__name__}"
    )


def _as_arrow(values: Any) -> pa.Array:
    array = np.asarray(values)
    if array.dtype.kind == "O":
        return pa.array(array.tolist())
    return pa.array(array)


_PARQUET_SUFFIXES = {".parquet", ".pq", ".parq"}
_CSV_SUFFIXES = {".csv", ".tsv", ".txt"}


def _open_file(path: Path) -> Source:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory; give a CSV or Parquet file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty; expected CSV or Parquet data")
    with path.open("rb") as handle:
        head = handle.read(4096)
    suffixes = {suffix.lower() for suffix in path.suffixes}
    if head[:4] == b"PAR1" or suffixes & _PARQUET_SUFFIXES:
        return ParquetSource(path)
    if suffixes & _CSV_SUFFIXES or suffixes & {".gz", ".bz2"} or _looks_like_text(head):
        if not _looks_like_text(head) and not suffixes & {".gz", ".bz2"}:
            raise InputError(f"{path}: not CSV text (binary data); give a CSV or Parquet file")
        return CsvSource(path)
    raise InputError(f"{path}: neither CSV nor Parquet; give a .csv or .parquet file")


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut at the end of the sample is still text.
        return error.start >= len(head) - 4
    return True
