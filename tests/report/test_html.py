"""The self-contained HTML report and the display data of its charts."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import seismo
from seismo import DriftConfig, DriftReport
from seismo.profile.batch import CodesBatch
from seismo.profile.categorical import CategoricalProfile
from seismo.profile.grid import OTHER, CategoricalGrid, NumericGrid
from seismo.profile.numeric import NumericProfile
from seismo.report import figures
from seismo.report.html import render_html
from seismo.schema.types import Physical

SCRIPT_NAME = "<script>alert(1)</script>"
UNICODE_NAME = "température °C"
ROWS = 5000


# ---------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------


def _frame(rng: np.random.Generator, n: int, *, current: bool) -> pd.DataFrame:
    with_nan = rng.normal(0.0, 1.0, n)
    with_nan[rng.random(n) < (0.3 if current else 0.01)] = np.nan
    score = rng.beta(2.0, 5.0, n)
    return pd.DataFrame(
        {
            "shifted": rng.normal(3.0 if current else 0.0, 1.0, n),
            "stable": rng.normal(10.0, 2.0, n),
            "plan": rng.choice(["basic", "plus", "premium"], n, p=[0.5, 0.3, 0.2]),
            "active": rng.random(n) < 0.4,
            "with_nan": with_nan,
            UNICODE_NAME: rng.normal(20.0, 5.0, n),
            SCRIPT_NAME: rng.normal(0.0, 1.0, n),
            "children": rng.poisson(1.0, n),
            "signup": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 86400 * 30, n), unit="s"),
            "score": score,
            "label": rng.random(n) < 0.3,
        }
    )


SCHEMA = {
    "columns": {
        "score": {"kind": "numeric", "role": "score"},
        "label": {"kind": "boolean", "role": "target"},
    }
}


@pytest.fixture(scope="module")
def report() -> DriftReport:
    rng = np.random.default_rng(20240601)
    reference = _frame(rng, ROWS, current=False)
    current = _frame(rng, ROWS, current=True)
    return seismo.compare(reference, current, SCHEMA)


@pytest.fixture(scope="module")
def page(report: DriftReport) -> str:
    return render_html(report, generated=datetime(2024, 6, 1, 12, 30, tzinfo=UTC))


class _Structure(HTMLParser):
    """The parts of the page the tests look at."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.table_rows: list[str] = []
        self.cards: list[str] = []
        self.svg = 0
        self.scripts = 0
        self.urls: list[str] = []
        self._in_summary = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        if tag == "table":
            self._in_summary = values.get("id") == "summary-table"
        if tag == "tr" and self._in_summary and "data-name" in values:
            self.table_rows.append(str(values["data-name"]))
        if tag == "details":
            self.cards.append(str(values.get("data-name")))
        if tag == "svg":
            self.svg += 1
        if tag == "script":
            self.scripts += 1
        for name in ("src", "href", "action", "data", "poster", "srcset"):
            if values.get(name):
                self.urls.append(str(values[name]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_summary = False


def _structure(page: str) -> _Structure:
    parser = _Structure()
    parser.feed(page)
    return parser


def _card(page: str, column: str) -> str:
    """The HTML of one column's details card."""
    match = re.search(rf'<details class="card" id="col-\d+" data-name="{re.escape(column)}"', page)
    assert match, f"no card for {column!r}"
    return page[match.start() : page.index("</details>", match.start())]


class _Meta(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.csp = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "meta" and values.get("http-equiv") == "Content-Security-Policy":
            self.csp = str(values.get("content"))


def _csp(page: str) -> str:
    parser = _Meta()
    parser.feed(page)
    return parser.csp


# ---------------------------------------------------------------------------------------------
# Page content
# ---------------------------------------------------------------------------------------------


def test_header_shows_names_rows_verdict_policy_and_version(report: DriftReport, page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert "Drift detected" in page
    dataset = report.dataset
    assert dataset.drifted
    assert f"{dataset.features_drifted} of {dataset.features_tested} features drifted" in page
    assert f"{ROWS:,} rows" in page
    assert "Benjamini–Hochberg" in page
    assert "α = 0.05" in page
    assert "large when PSI or TV or W/σ reaches its bar" in page
    assert "99.5th / 99.67th percentile under no drift" in page
    assert "PSI floor 0.100, TV floor 0.100, W/σ floor 0.100" in page
    assert f"seismo {seismo.__version__}" in page
    assert "2024-06-01 12:30 UTC" in page


def test_sections_are_present(page: str) -> None:
    ids = _structure(page).ids
    assert {"verdict", "summary", "summary-table", "model", "columns", "quality"} <= ids


def test_summary_table_lists_every_column_by_severity(report: DriftReport, page: str) -> None:
    rows = _structure(page).table_rows
    assert rows == [result.column for result in report.by_severity()]
    assert len(rows) == len(report.columns)
    assert rows[0] == "shifted"  # the injected shift is the most severe drift
    assert report["shifted"].drifted and report["shifted"].severity is seismo.Severity.HIGH
    assert rows[-1] == "signup"  # datetime: not tested, listed last


def test_cards_follow_the_table_order(report: DriftReport, page: str) -> None:
    assert _structure(page).cards == [result.column for result in report.by_severity()]


def test_deciding_statistics_are_shown(report: DriftReport, page: str) -> None:
    shifted = report["shifted"]
    assert shifted.effect is not None and shifted.threshold is not None
    card = _card(page, "shifted")
    assert f"PSI {shifted.effect:.3f} ≥ threshold {shifted.threshold:.3f}" in card
    assert f"KS D = {shifted.statistic:.4g}" in card
    p = shifted.p_value_adjusted
    assert p is not None and p < 1e-100
    if p == 0:
        assert "p ≈ 0 (BH-adjusted" in card  # underflow is not printed as a bound
    else:
        mantissa, exponent = f"{p:.1e}".split("e")
        assert f"p = {mantissa}e{int(exponent)} (BH-adjusted" in card
    assert "Drifted (high)" in card
    stable = report["stable"]
    assert not stable.drifted
    # The summary shows the effect nearest its bar, named.
    lead = max(stable.effects, key=lambda e: e.value / e.threshold)
    label = {"psi": "PSI", "total_variation": "TV", "wasserstein_normalized": "W/σ"}[lead.name]
    assert (
        f'<span class="eff">{label}</span> {lead.value:.3f} '
        f'<span class="thr">/ {lead.threshold:.3f}</span>'
    ) in page


def test_untested_columns_show_their_reason(report: DriftReport, page: str) -> None:
    signup = report["signup"]
    assert not signup.tested and signup.reason
    assert signup.reason in page
    assert "not tested" in page


def test_prediction_and_target_drift_section(report: DriftReport, page: str) -> None:
    section = page[page.index('id="model"') : page.index('id="columns"')]
    assert "score drift" in section and "target drift" in section
    assert ">score</a>" in section and ">label</a>" in section
    assert [c.column for c in report.prediction_drift] == ["score"]


def test_summaries_of_numeric_categorical_and_missing_values(
    report: DriftReport, page: str
) -> None:
    with_nan = report["with_nan"]
    assert with_nan.current.missing > 0
    assert f"{with_nan.current.missing:,} (" in page
    card = _card(page, "plan")
    assert "Top values" in card and "basic · " in card
    assert "χ² = " in card
    for name in ("mean", "std", "median"):
        assert f"<td>{name}</td>" in page


def test_charts_are_inline_svg_for_every_charted_column(report: DriftReport, page: str) -> None:
    structure = _structure(page)
    assert structure.svg == len(report.columns)
    assert 'class="r"' in page and 'class="c"' in page  # reference and current bars
    assert "below" in page or "above" in page  # the shifted column has out-of-range mass


def test_column_names_are_escaped(page: str) -> None:
    assert SCRIPT_NAME not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert _structure(page).scripts == 1  # the page's own script only
    assert UNICODE_NAME in page
    assert 'data-name="température °C"' in page


def test_no_request_can_leave_the_page(page: str) -> None:
    assert not re.search(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", page, re.I)
    assert "@import" not in page
    assert all(url.startswith("#") for url in _structure(page).urls)
    assert "default-src 'none'" in _csp(page)


def test_content_security_policy_allows_exactly_the_page_script(page: str) -> None:
    script = page[page.index("<script>") + len("<script>") : page.index("</script>")]
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in _csp(page)


def test_anomalies_are_listed_most_severe_first(report: DriftReport, page: str) -> None:
    assert report.anomalies
    section = page[page.index('id="quality"') :]
    assert 'id="anomalies"' in section
    levels = re.findall(r'<td><span class="badge lvl-(\w+)">', section)
    ranks = {"error": 2, "warning": 1, "info": 0}
    assert len(levels) == len(report.anomalies)
    assert [ranks[level] for level in levels] == sorted(
        (ranks[level] for level in levels), reverse=True
    )
    assert "null_rate_jump" in section  # the column with NaNs lost many values


def test_no_anomalies_says_none() -> None:
    rng = np.random.default_rng(3)
    data = {"x": rng.normal(0, 1, 2000), "y": rng.choice(["a", "b"], 2000)}
    same = seismo.compare(data, data)
    assert not same.anomalies and not same.drifted
    page = render_html(same)
    assert 'id="no-anomalies"' in page and "None: no data-quality problem found." in page
    assert "No drift detected" in page
    assert 'id="model"' not in page  # no prediction or target columns


def test_to_html_writes_the_page(report: DriftReport, tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    text = report.to_html(path)
    assert path.read_text(encoding="utf-8") == text
    assert text.rstrip().endswith("</html>")


def test_hundred_column_report_is_small() -> None:
    rng = np.random.default_rng(11)
    rows = 20_000
    reference = {f"feature_{i:03d}": rng.normal(0.0, 1.0, rows) for i in range(100)}
    current = {
        f"feature_{i:03d}": rng.normal(0.5 if i % 10 == 0 else 0.0, 1.0, rows) for i in range(100)
    }
    report = seismo.compare(reference, current, config=DriftConfig(thresholds="static"))
    page = render_html(report)
    size = len(page.encode("utf-8"))
    assert size < 2_000_000, f"100-column report is {size:,} bytes"
    structure = _structure(page)
    assert len(structure.table_rows) == 100
    assert structure.svg == 100
    assert report.dataset.features_drifted == 10


# ---------------------------------------------------------------------------------------------
# figures.py
# ---------------------------------------------------------------------------------------------


def _numeric(reference: np.ndarray, *currents: np.ndarray) -> list[NumericProfile]:
    grid = NumericGrid.from_sorted(np.sort(reference[np.isfinite(reference)]))
    return [NumericProfile.from_batch(grid, values) for values in (reference, *currents)]


@pytest.mark.parametrize(
    "current",
    [
        lambda rng: rng.normal(0.0, 1.0, 20_000),
        lambda rng: rng.normal(2.5, 1.0, 20_000),
        lambda rng: rng.normal(0.0, 4.0, 20_000),
        lambda rng: rng.standard_cauchy(20_000),
        lambda rng: rng.normal(50.0, 1.0, 20_000),
        lambda rng: np.concatenate([rng.normal(0.0, 1.0, 5000), [np.nan, np.inf, -np.inf]]),
    ],
    ids=["same", "shift", "scale", "heavy-tails", "disjoint", "non-finite"],
)
def test_histogram_shares_sum_to_one(current: object) -> None:
    rng = np.random.default_rng(5)
    reference_values = rng.normal(0.0, 1.0, 20_000)
    reference, profile = _numeric(reference_values, current(rng))  # type: ignore[operator]
    hist = figures.numeric_histogram(reference, profile)
    assert hist is not None
    ref_total, cur_total = hist.totals()
    assert ref_total == pytest.approx(1.0, abs=1e-9)
    assert cur_total == pytest.approx(1.0, abs=1e-9)
    assert np.all(hist.reference >= 0) and np.all(hist.current >= 0)
    assert min(hist.reference_under, hist.reference_over, hist.current_under) >= 0
    assert 10 <= len(hist.reference) <= figures.DISPLAY_BINS + 2
    assert np.allclose(np.diff(hist.edges), hist.width)  # equal-width display bins


def test_uniform_histogram_matches_numpy() -> None:
    rng = np.random.default_rng(8)
    reference_values = rng.uniform(0.0, 10.0, 50_000)
    current_values = rng.uniform(2.0, 12.0, 50_000)
    reference, current = _numeric(reference_values, current_values)
    hist = figures.numeric_histogram(reference, current)
    assert hist is not None
    assert hist.edges[0] == 0.0 and hist.width == 0.5
    expected_ref = np.histogram(reference_values, bins=hist.edges)[0] / len(reference_values)
    assert np.max(np.abs(hist.reference - expected_ref)) < 0.002
    # The current is exact inside the reference range; beyond it only the total is known.
    inside = hist.edges[1:] <= reference.maximum
    expected_cur = np.histogram(current_values, bins=hist.edges)[0] / len(current_values)
    assert np.max(np.abs(hist.current[inside] - expected_cur[inside])) < 0.002
    above = float(np.mean(current_values > hist.edges[-1]))
    assert hist.current_over == pytest.approx(above, abs=0.002)


def test_normal_histogram_matches_numpy() -> None:
    rng = np.random.default_rng(9)
    values = rng.normal(100.0, 15.0, 40_000)
    (reference,) = _numeric(values)
    hist = figures.numeric_histogram(reference, reference)
    assert hist is not None
    expected = np.histogram(values, bins=hist.edges)[0] / len(values)
    assert np.max(np.abs(hist.reference - expected)) < 0.002
    assert hist.reference_under == pytest.approx(np.mean(values < hist.edges[0]), abs=1e-3)
    assert hist.reference_over == pytest.approx(np.mean(values > hist.edges[-1]), abs=1e-3)
    assert np.array_equal(hist.reference, hist.current)


def test_integer_histogram_is_exact() -> None:
    rng = np.random.default_rng(10)
    values = rng.integers(18, 91, 30_000).astype(np.float64)
    shifted = values + 5
    reference, current = _numeric(values, shifted)
    hist = figures.numeric_histogram(reference, current)
    assert hist is not None and hist.integer
    assert np.all(hist.edges % 1 == 0.5)  # bars span whole numbers
    for raw, shares in ((values, hist.reference), (shifted, hist.current)):
        inside = hist.edges[1:] <= reference.maximum + 0.5
        expected = np.histogram(raw, bins=hist.edges)[0] / len(raw)
        np.testing.assert_allclose(shares[inside], expected[inside], atol=1e-12)


def test_display_range_stays_within_the_reference_range() -> None:
    rng = np.random.default_rng(12)
    reference, current = _numeric(rng.normal(0, 1, 10_000), rng.normal(100, 1, 10_000))
    low, high = figures.display_range(reference, current)
    assert reference.minimum <= low < high <= reference.maximum
    hist = figures.numeric_histogram(reference, current)
    assert hist is not None
    # Only the last display bin reaches past the reference maximum.
    assert hist.current_over == pytest.approx(1.0, abs=0.01)
    assert hist.current[:-1].sum() == 0.0


def test_histogram_needs_reference_values() -> None:
    grid = NumericGrid.from_sorted(np.array([], dtype=np.float64))
    empty = NumericProfile.from_batch(grid, np.array([np.nan]))
    assert figures.numeric_histogram(empty, empty) is None
    assert figures.figure_for(empty, empty) is None


def test_time_histogram_uses_whole_durations() -> None:
    day = 86_400.0
    start = 1_704_067_200.0  # 2024-01-01
    values = start + np.arange(0.0, 90 * day, 3600.0)
    (reference,) = _numeric(values)
    hist = figures.numeric_histogram(reference, reference, time=True)
    assert hist is not None
    assert hist.width == 7 * day
    assert sum(hist.totals()) == pytest.approx(2.0)


def test_discrete_numeric_columns_get_one_bar_per_value() -> None:
    rng = np.random.default_rng(13)
    reference_values = rng.poisson(1.0, 10_000).astype(np.float64)
    current_values = rng.poisson(2.0, 10_000).astype(np.float64)
    reference, current = _numeric(reference_values, current_values)
    bars = figures.figure_for(reference, current)
    assert isinstance(bars, figures.Bars) and bars.ordered
    top = int(reference_values.max())
    assert bars.labels[: top + 1] == tuple(str(v) for v in range(top + 1))
    assert bars.labels[-1] == f"> {top}"
    assert bars.totals() == pytest.approx((1.0, 1.0))
    for value in range(top + 1):
        assert bars.current[value] == pytest.approx(np.mean(current_values == value))
    assert bars.current[-1] == pytest.approx(np.mean(current_values > top))


def _categorical(grid: CategoricalGrid, values: list[str]) -> CategoricalProfile:
    categories = tuple(sorted(set(values)))
    index = {name: i for i, name in enumerate(categories)}
    codes = np.array([index[v] for v in values], dtype=np.int32)
    return CategoricalProfile.from_batch(grid, CodesBatch(codes, categories, Physical.STRING))


def test_category_bars_keep_the_top_categories_and_fold_the_rest() -> None:
    rng = np.random.default_rng(14)
    names = [f"c{i:02d}" for i in range(30)]
    weights = np.linspace(30, 1, 30)
    reference_values = list(rng.choice(names, 6000, p=weights / weights.sum()))
    current_values = list(rng.choice([*names, "new"], 6000))
    counts = {name: reference_values.count(name) for name in names}
    grid = CategoricalGrid.from_counts(counts)
    reference = _categorical(grid, reference_values)
    current = _categorical(grid, current_values)
    bars = figures.category_bars(reference, current)
    assert len(bars.labels) == figures.MAX_CATEGORIES + 1
    assert bars.labels[-1] == OTHER and bars.other == 10
    assert bars.totals() == pytest.approx((1.0, 1.0))
    combined = bars.reference[:-1] + bars.current[:-1]
    assert np.all(np.diff(combined) <= 1e-12)  # largest first
    assert bars.current[-1] >= current_values.count("new") / len(current_values)


def test_boolean_bars() -> None:
    grid = CategoricalGrid(("false", "true"))
    reference = _categorical(grid, ["false"] * 70 + ["true"] * 30)
    current = _categorical(grid, ["false"] * 40 + ["true"] * 60)
    bars = figures.figure_for(reference, current)
    assert isinstance(bars, figures.Bars)
    assert bars.labels == ("false", "true")  # no empty (other) bar
    assert bars.reference.tolist() == [0.7, 0.3]
    assert bars.current.tolist() == [0.4, 0.6]


def test_nice_step() -> None:
    for raw in (1e-5, 0.03, 0.7, 1.0, 3.3, 17.0, 4321.0, 7.7e9):
        step = figures.nice_step(raw)
        assert raw <= step < raw * 2.5 + 1e-12
        mantissa = step / 10 ** np.floor(np.log10(step))
        assert round(mantissa, 9) in (1.0, 2.0, 2.5, 5.0)
    assert figures.nice_step(40.0, time=True) == 60.0
    assert figures.nice_step(0.0) == 1.0


def test_a_column_drifted_by_w_over_sigma_says_so() -> None:
    """The verdict names the effect that decided: here a tail that triples while every value
    stays in its decile (PSI below its bar, W/σ above)."""
    rng = np.random.default_rng(0)
    reference = np.round(rng.lognormal(2.0, 1.0, 20_000))
    current = np.round(rng.lognormal(2.0, 1.0, 20_000))
    current[current > np.quantile(reference, 0.9)] *= 3.0
    report = seismo.compare({"delay": reference}, {"delay": current})
    assert report["delay"].large_by == ("wasserstein_normalized",)
    card = _card(render_html(report), "delay")
    assert "large (W/σ at or above its threshold)" in card
    assert "W/σ" in card
    assert re.search(r"PSI [0-9.]+ (&lt;|<) threshold", card), card
