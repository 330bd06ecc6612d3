"""Sources: something that can hand out its rows as column batches, as often as asked.

A source knows its display name (used in every error message), its column names and storage
types, and, when cheap to know, its row count (for progress bars). In-memory frames are handed
out as one batch without copying numeric columns; files are read in batches so memory does not
grow with the row count.
"""

from __future__ import annotations

import csv
import glob
import io
import re
import urllib.parse
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from seismo.errors import InputError
from seismo.io.arrow import arrow_to_batch, physical_of, text_to_batch
from seismo.profile.batch import (
    Batch,
    CodesBatch,
    ColumnBatch,
    NumericBatch,
    Source,
    value_text,
)
from seismo.schema.types import Physical, combine_physical

DEFAULT_BATCH_ROWS = 262_144
LOOKAHEAD_BYTES = 64 << 20  # how far a CSV file is read to type columns empty at its start
PARQUET_BUFFER_BYTES = 1 << 20


def _check_names(names: list[Any], where: str) -> tuple[str, ...]:
    text = [str(name) for name in names]
    duplicates = sorted(name for name, count in Counter(text).items() if count > 1)
    if duplicates:
        raise InputError(f"{where}: duplicate column name(s) {duplicates}; rename them")
    return tuple(text)


class ArrowSource:
    """A pyarrow Table (also what polars frames and mappings of arrays become).

    ``mixed`` names string columns that hold the text of values of several Python types.
    """

    def __init__(self, table: pa.Table, name: str, mixed: frozenset[str] = frozenset()) -> None:
        self.name = name
        self._table = table
        self._columns = _check_names(table.column_names, name)
        self._index = {column: i for i, column in enumerate(self._columns)}
        self._mixed = mixed

    @property
    def columns(self) -> tuple[str, ...]:
        return self._columns

    @property
    def physical(self) -> dict[str, Physical]:
        return {
            name: Physical.MIXED if name in self._mixed else physical_of(field.type)
            for name, field in zip(self._columns, self._table.schema, strict=True)
        }

    @property
    def total_rows(self) -> int:
        return int(self._table.num_rows)

    def _convert(self, name: str) -> ColumnBatch:
        batch = arrow_to_batch(name, self._table.column(self._index[name]))
        if name in self._mixed and isinstance(batch, CodesBatch):
            return CodesBatch(batch.codes, batch.categories, Physical.MIXED)
        return batch

    def batches(self) -> Iterator[Batch]:
        yield Batch(self._columns, self._table.num_rows, self._convert, self.name)


class PandasSource:
    """A pandas DataFrame; float columns are viewed, not copied."""

    def __init__(self, frame: Any, name: str) -> None:
        self.name = name
        self._frame = frame
        self._columns = _check_names(list(frame.columns), name)
        self._index = {column: i for i, column in enumerate(self._columns)}
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
        sample = series.head(1000)
        if sample.isna().all():  # storage is told by values, not by missing markers
            sample = series.dropna().head(1000)
        try:
            return physical_of(pa.array(sample, from_pandas=True).type)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return Physical.MIXED
        except pa.ArrowNotImplementedError:
            return Physical.STRING  # e.g. complex numbers: converting says what is wrong

    def _convert(self, name: str) -> ColumnBatch:
        series = self._frame.iloc[:, self._index[name]]
        kind = series.dtype.kind
        if kind in "fiu" and not hasattr(series.dtype, "na_value"):
            values = series.to_numpy(dtype=np.float64, copy=False)
            # pandas (and Arrow's from_pandas) treat NaN in a float column as missing.
            nulls = int(np.count_nonzero(np.isnan(values))) if kind == "f" else 0
            return NumericBatch(values, nulls, Physical.FLOAT if kind == "f" else Physical.INT)
        try:
            array = pa.array(series, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            # Values of several Python types (the first rows may not have shown it).
            self.physical[name] = Physical.MIXED
            return _mixed_to_codes(series.to_numpy(dtype=object), series.isna().to_numpy())
        except pa.ArrowNotImplementedError as error:
            raise InputError(
                f"column {name!r} has dtype {series.dtype}, which seismo cannot profile; drop it "
                "or give it the role 'ignore' in the schema"
            ) from error
        if self.physical[name] is Physical.NULL:  # the first rows were all missing
            self.physical[name] = physical_of(array.type)
        return arrow_to_batch(name, array)

    def batches(self) -> Iterator[Batch]:
        yield Batch(self._columns, len(self._frame), self._convert, self.name)


def _mixed_text(values: Any, missing: Any) -> list[str | None]:
    return [
        None if gone else value_text(value) for value, gone in zip(values, missing, strict=True)
    ]


def _mixed_to_codes(values: Any, missing: Any) -> CodesBatch:
    """Values of several Python types in one column: each becomes its text."""
    encoded = pa.array(_mixed_text(values, missing), type=pa.string()).dictionary_encode()
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32)
    return CodesBatch(codes, tuple(encoded.dictionary.to_pylist()), Physical.MIXED)


class ParquetSource:
    """A Parquet file read in row batches of at most ``batch_rows`` rows.

    Memory does not grow with the file: row groups are read a few at a time (about
    ``batch_rows`` rows), and column chunks are streamed page by page, not pre-buffered. The
    file is open only while it is read (its footer is kept), so a dataset of many thousand
    files does not hold as many open files.
    """

    def __init__(
        self,
        path: Path,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        row_groups: Sequence[int] | None = None,
    ) -> None:
        self.name = str(path)
        self.path = path
        self._batch_rows = batch_rows
        self._row_groups = None if row_groups is None else list(row_groups)
        try:
            with pq.ParquetFile(path) as opened:
                schema = opened.schema_arrow
                self._groups = _row_group_sizes(opened.metadata)
        except (pa.ArrowInvalid, OSError) as error:
            raise InputError(f"{path}: not a readable Parquet file ({error})") from error
        hidden = _pandas_index_columns(schema)
        self._columns = _check_names([n for n in schema.names if n not in hidden], self.name)
        self._types = {name: physical_of(schema.field(name).type) for name in self._columns}

    @property
    def columns(self) -> tuple[str, ...]:
        return self._columns

    @property
    def physical(self) -> dict[str, Physical]:
        return dict(self._types)

    @property
    def total_rows(self) -> int:
        return sum(self._groups[g][0] for g in self._read_groups())

    def row_groups(self) -> list[tuple[int, int]]:
        """Every row group's rows and bytes as stored (compressed), in file order."""
        return list(self._groups)

    def _read_groups(self) -> Sequence[int]:
        return range(len(self._groups)) if self._row_groups is None else self._row_groups

    def _row_group_runs(self) -> Iterator[list[int]]:
        """Consecutive row groups holding about ``batch_rows`` rows together."""
        run: list[int] = []
        rows = 0
        for group in self._read_groups():
            run.append(group)
            rows += self._groups[group][0]
            if rows >= self._batch_rows:
                yield run
                run, rows = [], 0
        if run:
            yield run

    def batches(self) -> Iterator[Batch]:
        first = self._row_groups[0] if self._row_groups else 0
        done = sum(rows for rows, _ in self._groups[:first])  # rows before these
        try:
            with pq.ParquetFile(
                self.path, pre_buffer=False, buffer_size=PARQUET_BUFFER_BYTES
            ) as opened:
                if _row_group_sizes(opened.metadata) != self._groups:
                    raise InputError(
                        f"{self.path}: the file changed while it was read (its row groups are "
                        "not those it had when it was opened); read it again"
                    )
                for run in self._row_group_runs():
                    for record_batch in opened.iter_batches(
                        batch_size=self._batch_rows, row_groups=run, columns=list(self._columns)
                    ):
                        done += record_batch.num_rows
                        yield _record_batch(record_batch, self._columns, self.name)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as error:
            reason = " ".join(str(error).split())
            raise InputError(f"{self.path}: cannot read past row {done:,}: {reason}") from error


def _row_group_sizes(metadata: pq.FileMetaData) -> list[tuple[int, int]]:
    """Every row group's rows and bytes as stored (compressed)."""
    groups = []
    for g in range(metadata.num_row_groups):
        group = metadata.row_group(g)
        size = sum(group.column(c).total_compressed_size for c in range(group.num_columns))
        groups.append((int(group.num_rows), int(size)))
    return groups


#: A hive partition directory whose value was null when it was written (Spark and Hive's name).
HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
_GLOB_CHARS = re.compile(r"[*?\[]")


def parquet_files(pattern: str) -> tuple[Path, list[Path]]:
    """The Parquet files a directory or glob names, in the order they are read, and their root.

    A directory is read recursively; a glob (``data/2024-*/*.parquet``, ``**`` for any depth) may
    match files and directories. Names starting with ``_`` or ``.`` (``_SUCCESS``, ``.crc``
    files, ``_temporary``) are skipped, as Spark and Hive skip them. Files are read in the order
    of their paths, which fixes the reference's sample.
    """
    match = None if Path(pattern).exists() else _GLOB_CHARS.search(pattern)
    if match is not None:
        head = pattern[: match.start()]
        root = Path(head if head.endswith(("/", "\\")) else str(Path(head).parent) or ".")
        matched = sorted(Path(p) for p in glob.glob(pattern, recursive=True))
    else:
        root = Path(pattern)
        matched = [root]
    files: list[Path] = []
    for path in matched:
        candidates = sorted(path.rglob("*")) if path.is_dir() else [path]
        for candidate in candidates:
            relative = candidate.relative_to(path.parent if path.is_file() else path)
            if candidate.is_file() and not any(
                part.startswith(("_", ".")) for part in relative.parts
            ):
                files.append(candidate)
    files = sorted(dict.fromkeys(files), key=lambda f: f.relative_to(root).as_posix())
    return root, files


def hive_partitions(root: Path, file: Path) -> dict[str, str | None]:
    """The ``key=value`` directories between ``root`` and ``file``, values unescaped."""
    partitions: dict[str, str | None] = {}
    for part in file.relative_to(root).parts[:-1]:
        key, equals, value = part.partition("=")
        if equals and key:
            text = urllib.parse.unquote(value)
            partitions[urllib.parse.unquote(key)] = None if text == HIVE_NULL else text
    return partitions


class ParquetDatasetSource:
    """Parquet files under a directory or matching a glob, hive-partitioned or not, read one
    after the other in the order of their paths (:func:`parquet_files`).

    Directories named ``key=value`` become text columns ``key`` after the files' own columns
    (their values are text, as Spark reads them with partition type inference off; seismo
    infers their kind like any column's). Every file must have the same columns.
    """

    def __init__(self, pattern: str, batch_rows: int = DEFAULT_BATCH_ROWS) -> None:
        self.name = pattern
        root, files = parquet_files(pattern)
        if not files:
            raise InputError(
                f"{pattern}: no Parquet files there (names starting with _ or . are skipped)"
            )
        self._root = root
        self._parts = [
            (_dataset_file(pattern, file, batch_rows), hive_partitions(root, file))
            for file in files
        ]
        first, first_keys = self._parts[0]
        for source, keys in self._parts[1:]:
            if source.columns != first.columns or list(keys) != list(first_keys):
                raise InputError(
                    f"{source.name}: its columns {[*source.columns, *keys]} differ from "
                    f"{first.name}'s {[*first.columns, *first_keys]}; every file of "
                    f"{pattern} must have the same columns"
                )
        clash = sorted(set(first.columns) & set(first_keys))
        if clash:
            raise InputError(
                f"{pattern}: partition directories name columns the files already have {clash}"
            )
        self._keys = tuple(first_keys)
        self._columns = (*first.columns, *self._keys)

    @property
    def files(self) -> list[Path]:
        return [source.path for source, _ in self._parts]

    @property
    def columns(self) -> tuple[str, ...]:
        return self._columns

    @property
    def physical(self) -> dict[str, Physical]:
        types: dict[str, set[Physical]] = {}
        for source, _ in self._parts:
            for name, kind in source.physical.items():
                types.setdefault(name, set()).add(kind)
        merged = {name: combine_physical(kinds) for name, kinds in types.items()}
        return {**merged, **dict.fromkeys(self._keys, Physical.STRING)}

    @property
    def total_rows(self) -> int:
        return sum(source.total_rows for source, _ in self._parts)

    def batches(self) -> Iterator[Batch]:
        for source, partitions in self._parts:
            for batch in source.batches():
                yield _with_partitions(batch, self._columns, partitions)

    def pieces(self, max_bytes: int) -> list[ParquetPiece]:
        """The dataset cut into runs of consecutive row groups of one file, each at most
        ``max_bytes`` as stored (a bigger row group is a piece by itself), in reading order."""
        pieces: list[ParquetPiece] = []
        first = 0
        for source, partitions in self._parts:
            values = tuple(partitions.items())
            run: list[int] = []
            rows = size = 0
            for group, (group_rows, group_bytes) in enumerate(source.row_groups()):
                if run and size + group_bytes > max_bytes:
                    pieces.append(
                        ParquetPiece(str(source.path), tuple(run), first, rows, size, values)
                    )
                    first, run, rows, size = first + rows, [], 0, 0
                run.append(group)
                rows += group_rows
                size += group_bytes
            if run:
                pieces.append(ParquetPiece(str(source.path), tuple(run), first, rows, size, values))
                first += rows
        return pieces


@dataclass(frozen=True)
class ParquetPiece:
    """Consecutive row groups of one file of a Parquet dataset: a unit of distributed work.

    ``first_row`` is the number of its first row in the dataset as :class:`ParquetDatasetSource`
    reads it (files in path order), so that a reference's sample is drawn as in one process.
    """

    path: str
    row_groups: tuple[int, ...]
    first_row: int
    rows: int
    bytes: int
    partitions: tuple[tuple[str, str | None], ...] = ()


class ParquetPiecesSource:
    """Pieces of a Parquet dataset (:meth:`ParquetDatasetSource.pieces`) read one after the
    other, each row group as the whole dataset's reading gives it: one task of a distributed
    job. ``columns`` are the dataset's (the files' own, then the partition keys)."""

    def __init__(
        self,
        pieces: Sequence[ParquetPiece],
        columns: Sequence[str],
        name: str,
        batch_rows: int = DEFAULT_BATCH_ROWS,
    ) -> None:
        self.name = name
        self._pieces = list(pieces)
        self._columns = tuple(columns)
        self._batch_rows = batch_rows

    @property
    def columns(self) -> tuple[str, ...]:
        return self._columns

    @property
    def physical(self) -> dict[str, Physical]:
        types: dict[str, set[Physical]] = {}
        for path in dict.fromkeys(piece.path for piece in self._pieces):
            for name, kind in ParquetSource(Path(path)).physical.items():
                types.setdefault(name, set()).add(kind)
        found = {name: combine_physical(kinds) for name, kinds in types.items()}
        return {name: found.get(name, Physical.STRING) for name in self._columns}

    @property
    def total_rows(self) -> int:
        return sum(piece.rows for piece in self._pieces)

    def numbered_batches(self) -> Iterator[tuple[int, Batch]]:
        """Each batch with the number of its first row in the dataset."""
        for piece in self._pieces:
            source = ParquetSource(Path(piece.path), self._batch_rows, piece.row_groups)
            partitions = dict(piece.partitions)
            position = piece.first_row
            for batch in source.batches():
                yield position, _with_partitions(batch, self._columns, partitions)
                position += batch.rows

    def batches(self) -> Iterator[Batch]:
        for _, batch in self.numbered_batches():
            yield batch


def _dataset_file(pattern: str, file: Path, batch_rows: int) -> ParquetSource:
    with file.open("rb") as handle:
        magic = handle.read(4)
    if magic != b"PAR1":
        raise InputError(
            f"{pattern}: holds {file.name}, which is not a Parquet file; a directory or glob is "
            "read as a Parquet dataset (give a CSV file by its own path)"
        )
    return ParquetSource(file, batch_rows)


def _with_partitions(batch: Batch, names: tuple[str, ...], values: dict[str, str | None]) -> Batch:
    def convert(name: str) -> ColumnBatch:
        if name not in values:
            return batch[name]
        value = values[name]
        codes = np.full(batch.rows, -1 if value is None else 0, dtype=np.int32)
        return CodesBatch(codes, () if value is None else (value,), Physical.STRING)

    return Batch(names, batch.rows, convert, batch.where)


class ArrowStreamSource:
    """Arrow record batches read once, as they arrive (one partition of a distributed job).

    Small batches are gathered into batches of about ``batch_rows`` rows. ``types`` gives
    columns the type their files declare where the stream carries another (a categorical column
    arrives as plain text, nanosecond timestamps as integers): they are read as declared.
    """

    def __init__(
        self,
        schema: pa.Schema,
        record_batches: Iterable[pa.RecordBatch],
        name: str,
        *,
        types: Mapping[str, pa.DataType] | None = None,
        batch_rows: int = DEFAULT_BATCH_ROWS,
    ) -> None:
        self.name = name
        self._schema = schema
        self._columns = _check_names(schema.names, name)
        self._record_batches: Iterable[pa.RecordBatch] | None = record_batches
        self._types = dict(types or {})
        self._batch_rows = batch_rows

    @property
    def columns(self) -> tuple[str, ...]:
        return self._columns

    @property
    def physical(self) -> dict[str, Physical]:
        return {
            name: physical_of(self._types.get(name, field.type))
            for name, field in zip(self._columns, self._schema, strict=True)
        }

    @property
    def total_rows(self) -> None:
        return None

    def batches(self) -> Iterator[Batch]:
        if self._record_batches is None:
            raise RuntimeError(f"{self.name}: a stream of record batches can be read once")
        stream, self._record_batches = self._record_batches, None
        gathered: list[pa.RecordBatch] = []
        rows = 0
        for record_batch in stream:
            gathered.append(record_batch)
            rows += record_batch.num_rows
            if rows >= self._batch_rows:
                yield self._batch(gathered)
                gathered, rows = [], 0
        if rows:
            yield self._batch(gathered)

    def _batch(self, record_batches: list[pa.RecordBatch]) -> Batch:
        # The batches' own schema: the stream's may differ in nullability or time zone.
        table = pa.Table.from_batches(record_batches)
        types = self._types

        def convert(name: str) -> ColumnBatch:
            column = table.column(name)
            target = types.get(name)
            if target is not None and column.type != target:
                if pa.types.is_dictionary(target):
                    column = pc.dictionary_encode(column)
                else:
                    column = column.cast(target)
            return arrow_to_batch(name, column)

        return Batch(self._columns, table.num_rows, convert, self.name)


def _pandas_index_columns(schema: pa.Schema) -> set[str]:
    """Unnamed pandas index columns (``__index_level_0__``): pandas reads them as the index."""
    try:
        metadata = schema.pandas_metadata or {}
    except ValueError:  # unreadable pandas metadata: keep every column
        return set()
    return {
        name
        for name in metadata.get("index_columns", [])
        if isinstance(name, str) and re.fullmatch(r"__index_level_\d+__", name)
    }


def _record_batch(
    record_batch: pa.RecordBatch,
    names: tuple[str, ...],
    where: str,
    convert: Callable[[str, pa.Array], ColumnBatch] = arrow_to_batch,
) -> Batch:
    index = {name: i for i, name in enumerate(record_batch.schema.names)}
    return Batch(
        names,
        record_batch.num_rows,
        lambda n: convert(n, record_batch.column(index[n])),
        where,
    )


_CSV_COLUMN_ERROR = re.compile(r"In CSV column #(\d+)")


_LEADING_ZERO = r"^\s*[+-]?0\d"


class CsvSource:
    """A CSV file read in blocks with Arrow's streaming reader.

    Column types are inferred from the first block. A column empty there is typed by the first
    block that has values: opening the file reads ahead (up to ``LOOKAHEAD_BYTES``) to find it,
    so storage types are known before profiling starts. When a later block holds a value that
    does not fit, the file is read again with the column widened, skipping the blocks already
    handed out, so no row is lost or repeated: integers become floats, anything else becomes
    text (the column is then ``mixed``). Numeric profiling counts text that is not a number as
    invalid; dates widen to timestamps, and timestamps to nanoseconds, before a datetime column
    turns to text, which keeps its parseable values and counts the rest as invalid; a boolean
    column keeps ``false``/``true`` and the other texts as categories. Quoted values may span
    lines.
    """

    def __init__(self, path: Path, block_bytes: int = 16 << 20, delimiter: str = ",") -> None:
        self.name = str(path)
        self._path = path
        self._block_bytes = block_bytes
        self._delimiter = delimiter
        # The type each column is read as; a null type (empty so far) is left to inference.
        self._declared: dict[str, pa.DataType] = {}
        # Columns re-read as text whose values are parsed back to their first type.
        self._parse_back: dict[str, pa.DataType] = {}
        self._probing: frozenset[str] = frozenset()  # empty columns read as text to type them
        reader = self._open()
        schema = reader.schema
        reader.close()
        self._columns = _check_names(schema.names, self.name)
        self._declared = {name: schema.field(name).type for name in self._columns}
        self._types = {name: physical_of(self._declared[name]) for name in self._columns}
        if any(pa.types.is_null(kind) for kind in self._declared.values()):
            self._type_empty_columns()
        if any(pa.types.is_integer(kind) for kind in self._declared.values()):
            self._keep_codes_as_text()

    def _keep_codes_as_text(self) -> None:
        """Read integer columns holding codes with a leading zero ("02139") as text: they are
        labels, and as numbers they would lose their zeros (judged on the first block)."""
        integers = [name for name, kind in self._declared.items() if pa.types.is_integer(kind)]
        self._probing = frozenset(integers)
        record_batches = self._record_batches()
        try:
            first = next(record_batches, None)
            for name in integers if first is not None else ():
                values = first.column(self._columns.index(name))  # type: ignore[union-attr]
                if pc.any(pc.match_substring_regex(values, _LEADING_ZERO)).as_py():
                    self._declared[name] = pa.string()
                    self._types[name] = Physical.STRING
        finally:
            record_batches.close()
            self._probing = frozenset()

    def _open(self) -> pa_csv.CSVStreamingReader:
        """Open with the declared types; a conversion error of the first block is ArrowInvalid."""
        read_options = pa_csv.ReadOptions(block_size=self._block_bytes)
        parse_options = pa_csv.ParseOptions(delimiter=self._delimiter, newlines_in_values=True)
        column_types = {
            name: kind for name, kind in self._declared.items() if not pa.types.is_null(kind)
        }
        column_types.update(dict.fromkeys(self._probing, pa.string()))
        convert_options = pa_csv.ConvertOptions(column_types=column_types, strings_can_be_null=True)
        try:
            return pa_csv.open_csv(
                self._path,
                read_options=read_options,
                parse_options=parse_options,
                convert_options=convert_options,
            )
        except pa.ArrowInvalid as error:
            if _CSV_COLUMN_ERROR.search(str(error)) and self._declared:
                raise
            if "Empty CSV file" in str(error):
                raise InputError(
                    f"{self._path}: the file is empty; expected a header row"
                ) from None
            raise InputError(f"{self._path}: not a readable CSV file ({error})") from error
        except OSError as error:
            raise InputError(f"{self._path}: cannot read the file ({error})") from error

    def _type_empty_columns(self) -> None:
        """Give columns empty in the first block the type Arrow infers from their first values."""
        empty = [name for name, kind in self._declared.items() if pa.types.is_null(kind)]
        self._probing = frozenset(empty)
        blocks = max(1, LOOKAHEAD_BYTES // self._block_bytes)
        record_batches = self._record_batches()
        try:
            for _, record_batch in zip(range(blocks), record_batches, strict=False):
                for name in list(empty):
                    values = record_batch.column(self._columns.index(name)).drop_null()
                    if len(values):
                        self._declared[name] = _inferred_type(values)
                        self._types[name] = physical_of(self._declared[name])
                        empty.remove(name)
                if not empty:
                    break
        finally:
            record_batches.close()
            self._probing = frozenset()

    @property
    def columns(self) -> tuple[str, ...]:
        return self._columns

    @property
    def physical(self) -> dict[str, Physical]:
        return dict(self._types)

    @property
    def total_rows(self) -> int | None:
        return None

    def _widen(self, error: pa.ArrowInvalid, rows: int) -> None:
        """Read the column a conversion error names as a wider type from now on."""
        match = _CSV_COLUMN_ERROR.search(str(error))
        if match is None:
            raise InputError(f"{self._path}: cannot read past row {rows:,}: {error}") from error
        name = self._columns[int(match.group(1))]
        declared = self._declared[name]
        if name in self._probing or pa.types.is_string(declared):
            raise InputError(f"{self._path}: column {name!r}: {error}") from error
        if pa.types.is_integer(declared):
            self._declared[name] = pa.float64()
            self._types[name] = Physical.FLOAT
            return
        if pa.types.is_date(declared):  # a time of day came: timestamps hold both
            self._declared[name] = pa.timestamp("s")
            return
        if pa.types.is_timestamp(declared) and declared.unit != "ns":  # fractional seconds came
            self._declared[name] = pa.timestamp("ns", declared.tz)
            return
        if pa.types.is_timestamp(declared) or pa.types.is_boolean(declared):
            self._parse_back[name] = declared
        self._declared[name] = pa.string()
        # Values after a long empty start are text; otherwise text among other values.
        self._types[name] = Physical.STRING if pa.types.is_null(declared) else Physical.MIXED

    def _record_batches(self) -> Generator[pa.RecordBatch, None, None]:
        handed_out = rows = 0
        while True:
            try:
                reader = self._open()
            except pa.ArrowInvalid as error:
                self._widen(error, rows)
                continue
            try:
                # Blocks split the file the same way whatever the column types, so the blocks
                # handed out before a widening are skipped by count.
                for index, record_batch in enumerate(reader):
                    if index < handed_out:
                        continue
                    handed_out += 1
                    rows += record_batch.num_rows
                    yield record_batch
                return
            except pa.ArrowInvalid as error:
                self._widen(error, rows)
            finally:
                reader.close()

    def _convert(self, name: str, array: pa.Array) -> ColumnBatch:
        target = self._parse_back.get(name)
        if target is not None and physical_of(array.type) is Physical.STRING:
            return text_to_batch(name, array, target)
        batch = arrow_to_batch(name, array)
        if self._types[name] is Physical.MIXED and isinstance(batch, CodesBatch):
            return CodesBatch(batch.codes, batch.categories, Physical.MIXED)
        return batch

    def batches(self) -> Iterator[Batch]:
        for record_batch in self._record_batches():
            yield _record_batch(record_batch, self._columns, self.name, self._convert)


def _inferred_type(values: pa.Array) -> pa.DataType:
    """The type Arrow's CSV reader infers for these (non-null) texts."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["value"])
    writer.writerows([value] for value in values.to_pylist())
    data = io.BytesIO(text.getvalue().encode("utf-8"))
    options = pa_csv.ConvertOptions(strings_can_be_null=True)
    inferred: pa.DataType = pa_csv.read_csv(data, convert_options=options).schema.field(0).type
    return pa.string() if pa.types.is_null(inferred) else inferred


def open_source(data: Any, name: str) -> Source:
    """Wrap pandas / polars / pyarrow data, a mapping of arrays, a CSV or Parquet file, or a
    directory or glob of Parquet files (hive-partitioned or not)."""
    if isinstance(data, str | Path):
        path = Path(data)
        if path.is_dir():
            return ParquetDatasetSource(str(data))
        if not path.exists() and isinstance(data, str) and _GLOB_CHARS.search(data):
            if not glob.glob(data, recursive=True):
                raise InputError(f"{data}: no file matches")
            return ParquetDatasetSource(data)
        return _open_file(path)
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
        return _mapping_source(data, name)
    raise InputError(
        f"{name}: expected a pandas, polars or pyarrow table, a mapping of column arrays, or a "
        f"path to a CSV or Parquet file; got {type(data).__name__}"
    )


def _mapping_source(data: Mapping[Any, Any], name: str) -> ArrowSource:
    """Columns from arrays or lists; NaN counts as missing, as in pandas and Arrow."""
    arrays: dict[str, pa.Array | pa.ChunkedArray] = {}
    mixed: set[str] = set()
    for key, values in data.items():
        column = str(key)
        if isinstance(values, pa.Array | pa.ChunkedArray):
            arrays[column] = values
            continue
        array = np.asarray(values)
        if array.dtype.kind in "US" and isinstance(values, list | tuple):
            # numpy writes every value of a mixed list as text its own way (1.0 -> "1.0",
            # True -> "True"): keep the Python values, read as a mixed column.
            array = np.asarray(values, dtype=object)
        if array.ndim != 1:
            raise InputError(
                f"{name}: column {column!r} is not one-dimensional (shape {array.shape})"
            )
        try:
            if array.dtype.kind == "O":
                arrays[column] = pa.array(array.tolist(), from_pandas=True)
            else:
                arrays[column] = pa.array(array, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            missing = [
                value is None or (isinstance(value, float) and value != value)
                for value in array.tolist()
            ]
            arrays[column] = pa.array(_mixed_text(array.tolist(), missing), type=pa.string())
            mixed.add(column)
        except pa.ArrowNotImplementedError as error:
            raise InputError(
                f"{name}: column {column!r} has dtype {array.dtype}, which seismo cannot profile"
            ) from error
    lengths = {column: len(array) for column, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise InputError(f"{name}: the columns have different lengths {lengths}")
    return ArrowSource(pa.table(arrays), name, frozenset(mixed))


_PARQUET_SUFFIXES = {".parquet", ".pq", ".parq"}
_CSV_SUFFIXES = {".csv", ".tsv", ".tab", ".txt"}
_TAB_SUFFIXES = {".tsv", ".tab"}
_COMPRESSED_SUFFIXES = {".gz", ".bz2"}
_OTHER_FORMATS = {
    ".xlsx": "Excel",
    ".xlsm": "Excel",
    ".xls": "Excel",
    ".ods": "OpenDocument spreadsheet",
    ".json": "JSON",
    ".jsonl": "JSON lines",
    ".ndjson": "JSON lines",
    ".xml": "XML",
    ".feather": "Feather",
    ".arrow": "Arrow IPC",
    ".ipc": "Arrow IPC",
    ".orc": "ORC",
    ".avro": "Avro",
    ".pkl": "pickle",
    ".pickle": "pickle",
    ".h5": "HDF5",
    ".hdf5": "HDF5",
    ".zip": "ZIP",
    ".sav": "SPSS",
    ".dta": "Stata",
    ".sas7bdat": "SAS",
}


def _open_file(path: Path) -> Source:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    other = _OTHER_FORMATS.get(path.suffix.lower())
    if other is not None:
        raise InputError(
            f"{path}: {other} files are not supported; save the data as CSV or Parquet"
        )
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError as error:
        raise InputError(f"{path}: cannot read the file ({error.strerror or error})") from error
    if size == 0:
        raise InputError(f"{path}: the file is empty; expected CSV or Parquet data")
    suffixes = {suffix.lower() for suffix in path.suffixes}
    if head[:4] == b"PAR1" or suffixes & _PARQUET_SUFFIXES:
        return ParquetSource(path)
    if suffixes & _COMPRESSED_SUFFIXES or _looks_like_text(head):
        delimiter = "\t" if suffixes & _TAB_SUFFIXES else ","
        return CsvSource(path, delimiter=delimiter)
    if _looks_like_legacy_text(head):
        raise InputError(
            f"{path}: text that is not UTF-8 (Latin-1 or Windows-1252?); save it as UTF-8 CSV "
            "or as Parquet"
        )
    if suffixes & _CSV_SUFFIXES:
        raise InputError(f"{path}: not CSV text (binary data); give a CSV or Parquet file")
    raise InputError(f"{path}: neither CSV nor Parquet; give a .csv or .parquet file")


def _looks_like_legacy_text(head: bytes) -> bool:
    """Text in a single-byte encoding: no NUL and (almost) no control characters."""
    controls = sum(1 for byte in head if byte < 0x20 and byte not in b"\t\n\r\x0c")
    return b"\x00" not in head and controls <= len(head) // 100


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut at the end of the sample is still text.
        return error.start >= len(head) - 4
    return True
