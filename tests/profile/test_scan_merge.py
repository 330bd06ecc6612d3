"""A reference scan is mergeable: scanning parts of the rows apart (each row keyed by its draw of
the one seeded stream, jumped ahead to its position) and merging the scans in any order gives the
schema and grids of one scan over all rows. This is what lets a Spark job fit a reference
partition by partition (seismo.spark) and still equal the single-process path."""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import seismo
from seismo.io.sources import ArrowSource
from seismo.profile.build import (
    ProfileOptions,
    ReferenceScan,
    _pool,
    profile_batches,
    sample_keys,
)
from seismo.profile.dataset import Reference
from tests.profile.same import assert_same_reference


def _table(rows: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    heavy = rng.lognormal(0, 3, rows)
    heavy[rng.random(rows) < 0.05] = np.nan
    texts = np.where(rng.random(rows) < 0.7, rng.normal(50, 9, rows).round(2).astype(str), "n/a")
    return pa.table(
        {
            "heavy": heavy,
            "count": rng.poisson(3, rows),
            "plan": rng.choice(["basic", "pro", "team", "free"], rows, p=[0.5, 0.3, 0.15, 0.05]),
            "amount_text": texts,
            "user": np.char.add("u", rng.integers(0, rows // 2 + 1, rows).astype(str)),
            "flag": rng.random(rows) < 0.2,
            "day": pa.array((rng.integers(0, 400, rows) * 86_400_000_000).astype("datetime64[us]")),
        }
    )


def _fit_in_parts(
    table: pa.Table, cuts: list[int], order: list[int], options: ProfileOptions
) -> Reference:
    """Scan the rows between ``cuts`` apart, merge the scans in ``order``, then count."""
    source = ArrowSource(table, "reference")
    bounds = [0, *cuts, table.num_rows]
    scans = []
    with _pool(options) as pool:
        for start, stop in itertools.pairwise(bounds):
            scan = ReferenceScan(source.columns, options.sample_rows)
            part = ArrowSource(table.slice(start, stop - start), "part")
            for batch in part.batches():
                scan.add(batch, sample_keys(options.seed, start, batch.rows), pool)
            scans.append(scan)
        merged = scans[order[0]]
        for index in order[1:]:
            merged.merge(scans[index])
        schema, grids = merged.settle(source, None, options, pool)
    kinds = {column.name: column.kind for column in schema}
    return Reference(schema, profile_batches(source, grids, options, kinds=kinds))


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_scans_of_parts_merge_into_the_scan_of_all_rows(data: st.DataObject) -> None:
    rows = data.draw(st.integers(1, 3_000), label="rows")
    sample_rows = data.draw(st.sampled_from([50, 400, 5_000]), label="sample_rows")
    cuts = sorted(data.draw(st.lists(st.integers(0, rows), max_size=6), label="cuts"))
    order = data.draw(st.permutations(range(len(cuts) + 1)), label="order")
    options = ProfileOptions(bins=20, sample_rows=sample_rows, seed=data.draw(st.integers(0, 9)))
    table = _table(rows, seed=rows)
    whole = seismo.fit_reference(table, options=options)
    assert_same_reference(_fit_in_parts(table, cuts, list(order), options), whole)


@pytest.mark.parametrize("ceiling", [1.0, 0.2])
def test_a_ceiling_only_drops_rows_the_sample_would_not_keep(ceiling: float) -> None:
    """With 20,000 rows and a sample of 1,000, the 1,000 smallest keys are far below 0.2: a
    scan that never keeps a key at or above 0.2 keeps the same sample."""
    table = _table(20_000, seed=1)
    options = ProfileOptions(bins=20, sample_rows=1_000)
    source = ArrowSource(table, "reference")
    scan = ReferenceScan(source.columns, options.sample_rows, ceiling=ceiling)
    with _pool(options) as pool:
        for batch in source.batches():
            scan.add(batch, sample_keys(options.seed, 0, batch.rows), pool)
    keys = sample_keys(options.seed, 0, table.num_rows)
    np.testing.assert_array_equal(np.sort(scan.reservoir.keys), np.sort(keys)[:1_000])


def test_sample_keys_are_one_stream_whatever_the_split() -> None:
    whole = np.random.default_rng(11).random(10_000)
    parts = [sample_keys(11, start, 1_000) for start in range(0, 10_000, 1_000)]
    np.testing.assert_array_equal(np.concatenate(parts), whole)
