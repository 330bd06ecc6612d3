"""Fit a reference (scan, infer the schema, fix the grids, count) and profile later batches.

Fitting reads the reference twice: a scan that draws a uniform sample of rows (for the numeric
grid edges and numeric kind inference) and counts text categories exactly, then a counting pass
on the fixed grids.
A current batch is read once. Columns are processed on a small thread pool: sorting, the main
cost, releases the GIL.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from numpy.typing import NDArray

from seismo.errors import InputError, SchemaError
from seismo.profile.batch import (
    Batch,
    CodesBatch,
    ColumnBatch,
    NumericBatch,
    Source,
    codes_to_numbers,
    codes_to_seconds,
    looks_like_datetime,
    looks_like_number,
    numbers_to_codes,
    text_to_numbers,
    text_to_seconds,
)
from seismo.profile.categorical import CategoricalProfile
from seismo.profile.dataset import ColumnProfile, DatasetProfile, Reference, merge_columns
from seismo.profile.grid import (
    DEFAULT_BINS,
    DEFAULT_MAX_CATEGORIES,
    CategoricalGrid,
    Grid,
    NumericGrid,
)
from seismo.profile.numeric import NumericProfile
from seismo.schema.infer import ColumnEvidence, default_role, infer_kind
from seismo.schema.types import (
    ColumnOverride,
    ColumnSchema,
    Kind,
    Physical,
    Role,
    Schema,
    SchemaOverrides,
    combine_physical,
)

SAMPLE_ROWS = 1 << 17
SCAN_CATEGORY_CAP = 200_000
NUMERIC_KINDS = (Kind.NUMERIC, Kind.DATETIME)

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class ProfileOptions:
    """How a reference is fitted.

    bins: numeric grid size (equal-frequency bins of the reference; a multiple of 10).
    max_categories: categories kept exactly; the rest share the other bin.
    sample_rows: rows sampled uniformly to place the numeric grid edges (all rows when fewer).
    seed: makes the sample, and so the whole report, reproducible.
    threads: columns processed at once (default: the number of CPUs, at most 8).
    """

    bins: int = DEFAULT_BINS
    max_categories: int = DEFAULT_MAX_CATEGORIES
    sample_rows: int = SAMPLE_ROWS
    seed: int = 0
    threads: int | None = None


def _pool(options: ProfileOptions) -> ThreadPoolExecutor:
    workers = options.threads or min(8, os.cpu_count() or 1)
    return ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="seismo")


def sample_keys(seed: int, start: int, rows: int) -> NDArray[np.float64]:
    """The random keys of rows ``start`` to ``start + rows`` of a source read in order.

    Row ``i`` of a source always gets the ``i``-th draw of one seeded stream, however the rows
    are split into batches or partitions: the stream is jumped ahead to ``start``.
    """
    stream = np.random.PCG64(seed)  # what np.random.default_rng(seed) draws from
    stream.advance(start)
    return np.random.Generator(stream).random(rows)


class _Reservoir:
    """Uniform sample of rows without replacement: the rows with the smallest random keys.

    A row's key is its draw of one seeded stream (:func:`sample_keys`), so the sample depends on
    the rows, their order and the seed only, not on how the rows were split into batches; two
    reservoirs of disjoint rows merge into the reservoir of both.
    """

    def __init__(self, size: int, ceiling: float = 1.0) -> None:
        self.size = size
        self.ceiling = ceiling  # rows whose key is not below it are never sampled
        self.keys = np.empty(0, dtype=np.float64)

    def select(self, keys: NDArray[np.float64]) -> tuple[NDArray[np.intp], NDArray[np.intp] | None]:
        """Rows of the new batch to add, and which of (old sample + those rows) to keep."""
        if self.ceiling >= 1.0 and len(self.keys) + len(keys) <= self.size:
            self.keys = np.concatenate([self.keys, keys])
            return np.arange(len(keys)), None
        threshold = self.keys.max() if len(self.keys) >= self.size else self.ceiling
        candidates = np.flatnonzero(keys < min(threshold, self.ceiling))
        combined = np.concatenate([self.keys, keys[candidates]])
        keep = self._smallest(combined)
        self.keys = combined[keep]
        return candidates, keep

    def _smallest(self, keys: NDArray[np.float64]) -> NDArray[np.intp]:
        if len(keys) <= self.size:
            return np.arange(len(keys))
        return np.sort(np.argpartition(keys, self.size - 1)[: self.size])


@dataclass
class _ColumnScan:
    """What the reference scan keeps of one column.

    Numbers are sampled as floats; text is counted exactly (up to a cap) and sampled as text, so
    that once the kind is settled the grid is placed on the values as that kind reads them:
    text that is numbers on the numbers, ISO dates on their instants, categories on the counts.
    """

    name: str
    physicals: set[Physical] = field(default_factory=set)
    rows: int = 0
    missing: int = 0  # in text batches
    number_rows: int = 0  # non-missing values that arrived as numbers
    declared: bool = False  # some batch arrived with a categorical type
    sample: NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    #: Sampled text, row-aligned with ``sample`` (None for rows that arrived as numbers);
    #: None until a text batch arrives.
    texts: NDArray[np.object_] | None = None
    counts: dict[str, int] = field(default_factory=dict)
    overflow: bool = False
    _sorted: dict[Kind, NDArray[np.float64]] = field(default_factory=dict)

    def add(
        self, batch: ColumnBatch, chosen: NDArray[np.intp], keep: NDArray[np.intp] | None
    ) -> None:
        self.physicals.add(batch.physical)
        self.rows += len(batch)
        texts: NDArray[np.object_] | None = None
        if isinstance(batch, NumericBatch):
            self.number_rows += len(batch) - batch.null_count
            values = batch.values[chosen]
            if self.texts is not None:
                texts = np.full(len(chosen), None, dtype=object)
        else:
            self.declared = self.declared or batch.declared
            self._add_codes(batch)
            labels = np.empty(len(batch.categories) + 1, dtype=object)
            labels[:-1] = batch.categories  # code -1 (missing) picks the trailing None
            values = np.full(len(chosen), np.nan)
            texts = labels[batch.codes[chosen]]
            if self.texts is None:
                self.texts = np.full(len(self.sample), None, dtype=object)
        sample = np.concatenate([self.sample, values])
        self.sample = sample if keep is None else sample[keep]
        if self.texts is not None and texts is not None:
            combined = np.concatenate([self.texts, texts])
            self.texts = combined if keep is None else combined[keep]

    def _add_codes(self, batch: CodesBatch) -> None:
        per_category = batch.category_counts()
        self.missing += batch.null_count
        counts = self.counts
        for index in np.flatnonzero(per_category).tolist():
            name = batch.categories[index]
            if name in counts:
                counts[name] += int(per_category[index])
            elif len(counts) < SCAN_CATEGORY_CAP:
                counts[name] = int(per_category[index])
            else:
                self.overflow = True

    def merge(self, other: _ColumnScan, keep: NDArray[np.intp]) -> None:
        """Add ``other``'s rows (disjoint from these); ``keep`` picks the merged sample."""
        self.physicals |= other.physicals
        self.rows += other.rows
        self.missing += other.missing
        self.number_rows += other.number_rows
        self.declared = self.declared or other.declared
        self.overflow = self.overflow or other.overflow
        for name, n in other.counts.items():
            if name in self.counts:
                self.counts[name] += n
            elif len(self.counts) < SCAN_CATEGORY_CAP:
                self.counts[name] = n
            else:
                self.overflow = True
        if self.texts is not None or other.texts is not None:
            texts = [
                scan.texts if scan.texts is not None else np.full(len(scan.sample), None, object)
                for scan in (self, other)
            ]
            self.texts = np.concatenate(texts)[keep]
        self.sample = np.concatenate([self.sample, other.sample])[keep]
        self._sorted.clear()

    @property
    def physical(self) -> Physical:
        return combine_physical(self.physicals)

    def evidence(self) -> ColumnEvidence:
        if self.texts is not None:
            counted = sum(self.counts.values())
            total = counted or 1
            lengths = sum(len(name) * n for name, n in self.counts.items()) / total
            spaces = sum(n for name, n in self.counts.items() if " " in name.strip()) / total
            numbers = sum(n for name, n in self.counts.items() if looks_like_number(name))
            dates = sum(n for name, n in self.counts.items() if looks_like_datetime(name))
            seen = (counted + self.number_rows) or 1
            return ColumnEvidence(
                self.name,
                self.physical,
                self.rows,
                self.rows - self.missing,
                None if self.overflow else len(self.counts),
                mean_length=lengths,
                share_with_spaces=spaces,
                share_numeric_text=(numbers + self.number_rows) / seen,
                share_datetime_text=dates / seen,
                declared_categorical=self.declared,
            )
        finite = self.sorted_values(Kind.NUMERIC)
        if not len(finite):
            return ColumnEvidence(self.name, self.physical, self.rows, 0, 0)
        return ColumnEvidence(
            self.name,
            self.physical,
            self.rows,
            len(finite),
            int(np.count_nonzero(np.diff(finite))) + 1,
            minimum=float(finite[0]),
            maximum=float(finite[-1]),
            integer_valued=bool(np.all(finite == np.floor(finite))),
        )

    def sorted_values(self, kind: Kind) -> NDArray[np.float64]:
        """The finite sampled values as ``kind`` reads them (text parsed), ascending."""
        if kind not in self._sorted:
            values = self.sample
            if self.texts is not None:
                rows = np.flatnonzero([text is not None for text in self.texts.tolist()])
                parse = text_to_seconds if kind is Kind.DATETIME else text_to_numbers
                values = values.copy()
                values[rows] = parse(self.texts[rows].tolist())
            self._sorted[kind] = np.sort(values[np.isfinite(values)])
        return self._sorted[kind]

    def grid(self, kind: Kind, options: ProfileOptions) -> Grid:
        if kind in NUMERIC_KINDS:
            return NumericGrid.from_sorted(self.sorted_values(kind), bins=options.bins)
        if kind in (Kind.TEXT, Kind.ID):
            return CategoricalGrid((), complete=False)
        if kind is Kind.BOOLEAN and not self.counts:
            return CategoricalGrid(("0", "1"))
        if kind is Kind.BOOLEAN and self.physical is Physical.BOOL:
            return CategoricalGrid(("false", "true"))
        counts = dict(self.counts)
        numbers = self.sample[~np.isnan(self.sample)]
        if len(numbers):
            # Rows that arrived as numbers in a categorical column: count the sampled values'
            # texts (the counting pass counts every row; this only places the categories).
            codes = numbers_to_codes(NumericBatch(numbers, 0, Physical.FLOAT))
            for name, n in zip(codes.categories, codes.category_counts().tolist(), strict=True):
                counts[name] = counts.get(name, 0) + n
        grid = CategoricalGrid.from_counts(counts, max_categories=options.max_categories)
        if self.overflow:
            grid = CategoricalGrid(grid.categories, complete=False)
        return grid


class ReferenceScan:
    """The first pass over a reference: a uniform sample of rows and exact text counts.

    Rows are added in batches with their random keys (:func:`sample_keys`); scans of disjoint
    parts of the rows merge (:meth:`merge`) into the scan of all of them, the same whatever the
    split: this is how a distributed job scans each partition and combines the results.
    """

    def __init__(self, names: Iterable[str], sample_rows: int, *, ceiling: float = 1.0) -> None:
        self.rows = 0
        self.reservoir = _Reservoir(sample_rows, ceiling)
        self.columns = {name: _ColumnScan(name) for name in names}

    def add(self, batch: Batch, keys: NDArray[np.float64], pool: ThreadPoolExecutor) -> None:
        chosen, keep = self.reservoir.select(keys)
        list(pool.map(partial(_scan_column, self.columns, batch, chosen, keep), self.columns))
        self.rows += batch.rows

    def merge(self, other: ReferenceScan) -> ReferenceScan:
        """Add the scan of other rows to this one (in place); returns it."""
        if set(other.columns) != set(self.columns):
            raise SchemaError(
                "the parts of the reference have different columns "
                f"({sorted(set(self.columns) ^ set(other.columns))})"
            )
        combined = np.concatenate([self.reservoir.keys, other.reservoir.keys])
        keep = self.reservoir._smallest(combined)
        self.reservoir.keys = combined[keep]
        for name, column in self.columns.items():
            column.merge(other.columns[name], keep)
        self.rows += other.rows
        return self

    def settle(
        self,
        source: Source,
        overrides: SchemaOverrides | Schema | None,
        options: ProfileOptions,
        pool: ThreadPoolExecutor,
    ) -> tuple[Schema, dict[str, Grid]]:
        """The schema (inferred, then the user's kinds and roles) and the grids to count on."""
        if self.rows == 0:
            raise InputError(f"{source.name}: no rows; the reference needs data to compare against")
        fixed = _fixed_columns(overrides, source)
        names = list(self.columns)
        evidence = dict(
            zip(names, pool.map(lambda n: self.columns[n].evidence(), names), strict=True)
        )
        schema_columns = []
        for name in source.columns:
            if name not in self.columns:
                schema_columns.append(ColumnSchema(name, Kind.NUMERIC, Role.IGNORE, Physical.NULL))
                continue
            kind = infer_kind(evidence[name])
            column = ColumnSchema(name, kind, default_role(kind), self.columns[name].physical)
            override = fixed.get(name)
            if override is not None:
                kind = override.kind or column.kind
                role = override.role or (
                    column.role if override.kind is None else default_role(kind)
                )
                column = ColumnSchema(name, kind, role, column.physical)
            schema_columns.append(column)
        schema = Schema(tuple(schema_columns))
        grids = {
            column.name: self.columns[column.name].grid(column.kind, options)
            for column in schema
            if column.role is not Role.IGNORE
        }
        return schema, grids


def scanned_columns(source: Source, overrides: SchemaOverrides | Schema | None) -> list[str]:
    """The columns a reference scan reads: all but those the user said to ignore."""
    fixed = _fixed_columns(overrides, source)
    return [n for n in source.columns if fixed.get(n) is None or fixed[n].role is not Role.IGNORE]


def fit_reference(
    source: Source,
    overrides: SchemaOverrides | Schema | None = None,
    options: ProfileOptions | None = None,
    progress: Progress | None = None,
) -> Reference:
    """Scan the reference, settle its schema and grids, then profile it on them."""
    options = options or ProfileOptions()
    if not source.columns:
        raise InputError(f"{source.name}: no columns")
    scan = ReferenceScan(scanned_columns(source, overrides), options.sample_rows)
    with _pool(options) as pool:
        for batch in source.batches():
            scan.add(batch, sample_keys(options.seed, scan.rows, batch.rows), pool)
            if progress:
                progress(batch.rows)
        schema, grids = scan.settle(source, overrides, options, pool)
    profile = profile_batches(source, grids, options, progress, kinds=_kinds(schema))
    return Reference(schema, profile)


def _kinds(schema: Schema) -> dict[str, Kind]:
    return {column.name: column.kind for column in schema}


def _fixed_columns(
    overrides: SchemaOverrides | Schema | None, source: Source
) -> dict[str, ColumnOverride]:
    """The user's kind and role per column; a part left as None is inferred."""
    if overrides is None:
        return {}
    if isinstance(overrides, Schema):
        fixed = {c.name: ColumnOverride(c.kind, c.role) for c in overrides}
        where = "schema"
    else:
        fixed = dict(overrides.columns)
        where = overrides.source
    unknown = [name for name in fixed if name not in source.columns]
    if unknown:
        raise SchemaError(
            f"{where}: names column(s) {unknown} that {source.name} does not have; its columns "
            f"are {list(source.columns)}"
        )
    return fixed


def profile_batches(
    source: Source,
    grids: dict[str, Grid],
    options: ProfileOptions | None = None,
    progress: Progress | None = None,
    *,
    kinds: dict[str, Kind] | None = None,
) -> DatasetProfile:
    """Count every batch of ``source`` on ``grids`` and merge the batch profiles.

    ``kinds`` says how text reaches a numeric grid: as seconds for ``datetime`` columns, as
    numbers otherwise.
    """
    datetimes = frozenset(n for n, kind in (kinds or {}).items() if kind is Kind.DATETIME)
    options = options or ProfileOptions()
    present = [name for name in grids if name in source.columns]
    merged: dict[str, ColumnProfile] = {}
    rows = 0
    with _pool(options) as pool:
        for batch in source.batches():
            profiles = pool.map(partial(_profile_column, grids, datetimes, batch), present)
            for name, profile in zip(present, profiles, strict=True):
                merged[name] = merge_columns(merged[name], profile) if name in merged else profile
            rows += batch.rows
            if progress:
                progress(batch.rows)
    for name in present:
        if name not in merged:
            grid = grids[name]
            merged[name] = (
                NumericProfile.empty(grid)
                if isinstance(grid, NumericGrid)
                else CategoricalProfile.empty(grid)
            )
    return DatasetProfile(rows, merged, source.physical)


def _scan_column(
    scans: dict[str, _ColumnScan],
    batch: Batch,
    chosen: NDArray[np.intp],
    keep: NDArray[np.intp] | None,
    name: str,
) -> None:
    scans[name].add(batch[name], chosen, keep)


def _profile_column(
    grids: dict[str, Grid], datetimes: frozenset[str], batch: Batch, name: str
) -> ColumnProfile:
    grid = grids[name]
    column = batch[name]
    if isinstance(grid, NumericGrid):
        if isinstance(column, CodesBatch):
            parse = codes_to_seconds if name in datetimes else codes_to_numbers
            column = parse(column)[0]
        return NumericProfile.from_batch(grid, column)
    if isinstance(column, NumericBatch):
        column = numbers_to_codes(column)
    return CategoricalProfile.from_batch(grid, column)


def profile_current(
    reference: Reference,
    source: Source,
    options: ProfileOptions | None = None,
    progress: Progress | None = None,
) -> DatasetProfile:
    """Profile a batch of current data on the reference's grids."""
    grids = {name: profile.grid for name, profile in reference.profile.columns.items()}
    return profile_batches(source, grids, options, progress, kinds=_kinds(reference.schema))


def merge_profiles(profiles: Iterable[DatasetProfile]) -> DatasetProfile:
    """Merge a non-empty sequence of dataset profiles (e.g. daily windows into a week)."""
    iterator = iter(profiles)
    try:
        total = next(iterator)
    except StopIteration:
        raise ValueError("no profiles to merge") from None
    for profile in iterator:
        total = total.merge(profile)
    return total
