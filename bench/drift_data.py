"""Synthetic reference/current data with known, injected drift, written as Parquet.

Run by ``drift_vs_evidently.py`` in its own process (so the generator's memory never counts
against a measured process), or by hand::

    .venv/bin/python bench/drift_data.py --rows 1000000 --cols 20 --out bench/data/x

Every column is float64. Column kinds cycle through normal, lognormal, uniform, two
integer-valued discrete kinds and a normal with ~1% NaN; each column gets its own parameters.
About 20% of the columns (at least one, spread over the kinds) are shifted in ``current``:
discrete columns get a mean shift, continuous ones alternately a mean shift and a scale
change. Everything is seeded: the same (rows, cols, seed) gives the same files.
``manifest.json`` records each column's kind, parameters and shift, and is written last, so a
directory without it is incomplete.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

GENERATOR_VERSION = 2
KIND_CYCLE = (
    "normal",
    "lognormal",
    "uniform",
    "poisson",
    "normal",
    "lognormal",
    "uniform",
    "integers",
    "normal_nan",
    "lognormal",
)
DISCRETE_KINDS = frozenset({"poisson", "integers"})
SHIFTED_SHARE = 0.2
NAN_SHARE = 0.01

# Sizes of the injected shifts, chosen to be plainly visible to any sensible detector:
# half a standard deviation of mean shift, or 1.5x the spread.
MEAN_SHIFT_STD = 0.5
SCALE_FACTOR = 1.5


def column_specs(cols: int, seed: int) -> list[dict[str, Any]]:
    """Kind, parameters and (optional) shift of every column; depends only on cols and seed."""
    rng = np.random.default_rng([seed, cols, 0])
    shifted = _pick_shifted(cols, rng)
    specs: list[dict[str, Any]] = []
    continuous_shifted = 0
    for index in range(cols):
        kind = KIND_CYCLE[index % len(KIND_CYCLE)]
        spec: dict[str, Any] = {
            "name": f"c{index:03d}_{kind}",
            "kind": kind,
            "params": _draw_params(kind, rng),
            "shift": None,
        }
        if index in shifted and kind in DISCRETE_KINDS:
            spec["shift"] = "mean"
        elif index in shifted:
            spec["shift"] = "mean" if continuous_shifted % 2 == 0 else "scale"
            continuous_shifted += 1
        specs.append(spec)
    return specs


def _pick_shifted(cols: int, rng: np.random.Generator) -> list[int]:
    """About SHIFTED_SHARE of the columns, spread over the kinds (round robin, random order)."""
    kinds = [KIND_CYCLE[index % len(KIND_CYCLE)] for index in range(cols)]
    distinct = sorted(set(kinds))
    order = [distinct[int(i)] for i in rng.permutation(len(distinct))]
    candidates = {kind: [i for i in range(cols) if kinds[i] == kind] for kind in distinct}
    for pool in candidates.values():
        rng.shuffle(pool)
    shifted: list[int] = []
    n_shifted = max(1, round(SHIFTED_SHARE * cols))
    while len(shifted) < n_shifted:
        for kind in order:
            if candidates[kind] and len(shifted) < n_shifted:
                shifted.append(candidates[kind].pop())
    return sorted(shifted)


def _draw_params(kind: str, rng: np.random.Generator) -> dict[str, float]:
    if kind in ("normal", "normal_nan"):
        return {"loc": float(rng.uniform(-5, 5)), "scale": float(rng.uniform(0.5, 3))}
    if kind == "lognormal":
        return {"mean": float(rng.uniform(0, 2)), "sigma": float(rng.uniform(0.3, 1.0))}
    if kind == "uniform":
        low = float(rng.uniform(-10, 10))
        return {"low": low, "high": low + float(rng.uniform(1, 20))}
    if kind == "poisson":
        return {"lam": float(rng.uniform(2, 30))}
    if kind == "integers":
        return {"low": 0.0, "high": float(rng.integers(4, 12))}
    raise ValueError(f"unknown column kind {kind!r}")


def _shifted_params(kind: str, params: dict[str, float], shift: str) -> dict[str, float]:
    """Parameters of the current data for a shifted column."""
    shifted = dict(params)
    if kind in ("normal", "normal_nan"):
        if shift == "mean":
            shifted["loc"] += MEAN_SHIFT_STD * params["scale"]
        else:
            shifted["scale"] *= SCALE_FACTOR
    elif kind == "lognormal":
        # On the log scale: move the log-mean by half a log-std, or widen the log-std.
        if shift == "mean":
            shifted["mean"] += MEAN_SHIFT_STD * params["sigma"]
        else:
            shifted["sigma"] *= SCALE_FACTOR
    elif kind == "uniform":
        width = params["high"] - params["low"]
        if shift == "mean":
            offset = MEAN_SHIFT_STD * width / math.sqrt(12)
            shifted["low"] += offset
            shifted["high"] += offset
        else:
            centre = (params["low"] + params["high"]) / 2
            shifted["low"] = centre - SCALE_FACTOR * width / 2
            shifted["high"] = centre + SCALE_FACTOR * width / 2
    elif kind == "poisson":
        shifted["lam"] += MEAN_SHIFT_STD * math.sqrt(params["lam"])
    elif kind == "integers":
        shifted["low"] += 1
        shifted["high"] += 1
    return shifted


def _sample(kind: str, params: dict[str, float], rows: int, rng: np.random.Generator) -> np.ndarray:
    if kind in ("normal", "normal_nan"):
        values = rng.normal(params["loc"], params["scale"], size=rows)
        if kind == "normal_nan":
            values[rng.random(rows) < NAN_SHARE] = np.nan
        return values
    if kind == "lognormal":
        return rng.lognormal(params["mean"], params["sigma"], size=rows)
    if kind == "uniform":
        return rng.uniform(params["low"], params["high"], size=rows)
    if kind == "poisson":
        return rng.poisson(params["lam"], size=rows).astype(np.float64)
    if kind == "integers":
        return rng.integers(int(params["low"]), int(params["high"]), size=rows).astype(np.float64)
    raise ValueError(f"unknown column kind {kind!r}")


def _write(path: Path, arrays: dict[str, np.ndarray]) -> None:
    table = pa.table({name: pa.array(values) for name, values in arrays.items()})
    pq.write_table(table, path, compression="snappy")


def generate(rows: int, cols: int, seed: int, out_dir: Path) -> dict[str, Any]:
    """Write reference.parquet, current.parquet and manifest.json into out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = out_dir / "manifest.json"
    manifest_path.unlink(missing_ok=True)
    specs = column_specs(cols, seed)
    for role, stream in (("reference", 1), ("current", 2)):
        rng = np.random.default_rng([seed, cols, stream])
        arrays: dict[str, np.ndarray] = {}
        for spec in specs:
            params = spec["params"]
            if role == "current" and spec["shift"] is not None:
                params = _shifted_params(spec["kind"], params, spec["shift"])
            arrays[spec["name"]] = _sample(spec["kind"], params, rows, rng)
        _write(out_dir / f"{role}.parquet", arrays)
        del arrays
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "rows": rows,
        "cols": cols,
        "seed": seed,
        "columns": specs,
        "shifted": [spec["name"] for spec in specs if spec["shift"] is not None],
    }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--cols", type=int, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    manifest = generate(args.rows, args.cols, args.seed, args.out)
    print(f"wrote {args.out} ({len(manifest['shifted'])} of {args.cols} columns shifted)")


if __name__ == "__main__":
    main()
