"""The UI's chart builders: their SVG parsed back and checked against the numbers they drew."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from markupsafe import Markup

from seismo.service.ui.charts import (
    EVENT_KINDS,
    RATIO_BINS,
    Event,
    Threshold,
    TimeAxis,
    bars,
    heatmap,
    ratio_class,
    sparkline,
    timeseries,
)

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = [
    "<script>alert(1)</script>",
    "quote\" and 'single'",
    "A & B &amp; <b>bold</b>",
    '"><svg onload=alert(1)>',
    "ünïcødé ✓ 日本語",
]
DAY = timedelta(days=1)
START = datetime(2013, 3, 1, tzinfo=UTC)


def parse(svg: Markup) -> ET.Element:
    assert isinstance(svg, Markup)
    root = ET.fromstring(str(svg))
    assert root.tag == f"{SVG}svg"
    return root


def local(element: ET.Element) -> str:
    return element.tag.removeprefix(SVG)


def find(root: ET.Element, tag: str, css: str | None = None) -> list[ET.Element]:
    """Elements with this tag (and this class among their classes), in document order."""
    return [
        element
        for element in root.iter(f"{SVG}{tag}")
        if css is None or css in element.get("class", "").split()
    ]


def days(count: int, start: datetime = START) -> list[datetime]:
    return [start + j * DAY for j in range(count)]


def axis_over(starts: list[datetime], extra: timedelta = DAY) -> TimeAxis:
    end = starts[-1] + extra if starts else START + DAY
    return TimeAxis(starts[0] if starts else START, end, 960, 170, 60)


def numbers(path: str) -> list[float]:
    return [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", path)]


# ---------------------------------------------------------------------------------------------
# TimeAxis
# ---------------------------------------------------------------------------------------------


def test_axis_maps_start_to_the_left_edge_and_end_to_the_right_edge() -> None:
    axis = TimeAxis(START, START + 10 * DAY, 960, 170, 60)
    assert axis.x(START) == 170
    assert axis.x(START + 10 * DAY) == 900
    assert axis.x(START + 5 * DAY) == pytest.approx(535)
    assert (axis.plot_left, axis.plot_right) == (170, 900)


def test_axis_takes_naive_datetimes_as_utc_and_converts_other_zones() -> None:
    from zoneinfo import ZoneInfo

    axis = TimeAxis(START.replace(tzinfo=None), START + 10 * DAY, 960, 170, 60)
    assert axis.x(START) == 170
    assert axis.x(datetime(2013, 3, 6)) == pytest.approx(535)
    paris = datetime(2013, 3, 6, 1, tzinfo=ZoneInfo("Europe/Paris"))  # 00:00 UTC
    assert axis.x(paris) == pytest.approx(535)


@pytest.mark.parametrize(
    ("start", "end", "width", "left", "right"),
    [
        (START, START, 960, 170, 60),
        (START, START - DAY, 960, 170, 60),
        (START, START + DAY, 200, 170, 60),
    ],
)
def test_axis_refuses_an_empty_domain_or_plot(
    start: datetime, end: datetime, width: float, left: float, right: float
) -> None:
    with pytest.raises(ValueError, match="TimeAxis"):
        TimeAxis(start, end, width, left, right)


SPANS = [
    timedelta(minutes=7),
    timedelta(hours=1),
    timedelta(hours=5),
    DAY,
    3 * DAY,
    14 * DAY,
    45 * DAY,
    120 * DAY,
    365 * DAY,
    3 * 365 * DAY,
    40 * 365 * DAY,
    900 * 365 * DAY,
]


@pytest.mark.parametrize("span", SPANS, ids=str)
@pytest.mark.parametrize("width", [400.0, 960.0, 2000.0])
def test_ticks_are_increasing_inside_the_plot_and_do_not_crowd(
    span: timedelta, width: float
) -> None:
    start = datetime(2012, 11, 27, 13, 17, tzinfo=UTC)
    axis = TimeAxis(start, start + span, width, 100, 40)
    ticks = axis.ticks
    xs = [tick.x for tick in ticks]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
    assert all(axis.plot_left <= x <= axis.plot_right for x in xs)
    assert all(start <= tick.at <= start + span for tick in ticks)
    assert all(axis.x(tick.at) == tick.x for tick in ticks)
    assert len(ticks) <= (axis.plot_right - axis.plot_left) / 56 + 1
    assert len(ticks) >= 1 or span < timedelta(minutes=2)
    assert all(tick.label for tick in ticks)


def test_tick_labels_follow_the_span() -> None:
    def labels(start: datetime, span: timedelta) -> list[str]:
        return [tick.label for tick in TimeAxis(start, start + span, 960, 170, 60).ticks]

    hours = labels(datetime(2013, 3, 4, 9, tzinfo=UTC), timedelta(hours=20))
    assert hours[:3] == ["10:00", "12:00", "14:00"] and "Mar 5" in hours
    assert labels(datetime(2013, 3, 4, tzinfo=UTC), 10 * DAY)[:3] == ["Mar 4", "Mar 5", "Mar 6"]
    weeks = labels(datetime(2013, 3, 1, tzinfo=UTC), 60 * DAY)
    assert weeks[:2] == ["Mar 4", "Mar 11"]  # Mondays
    across = labels(datetime(2012, 12, 1, tzinfo=UTC), 60 * DAY)
    assert "Jan 7 2013" in across  # the first tick of a new year names it
    months = labels(datetime(2013, 1, 1, tzinfo=UTC), 365 * DAY)
    assert months[0] == "Jan 2013" and months[-1] == "Jan 2014" and len(months) == 13
    assert months[1:4] == ["Feb", "Mar", "Apr"] and months[11] == "Dec"
    quarters = labels(datetime(2013, 2, 1, tzinfo=UTC), 800 * DAY)
    assert quarters[:3] == ["Apr 2013", "Jul", "Oct"] and "Jan 2014" in quarters
    assert labels(datetime(2000, 6, 1, tzinfo=UTC), 20 * 365 * DAY)[:2] == ["2002", "2004"]


# ---------------------------------------------------------------------------------------------
# Heatmap
# ---------------------------------------------------------------------------------------------


def test_ratio_class_bins_are_closed_below() -> None:
    assert ratio_class(0.25) == "q1"
    assert ratio_class(1.0) == "q4"
    assert ratio_class(4.0) == "q7"
    assert ratio_class(math.nan) == "na"
    assert ratio_class(math.inf) == "q7"
    assert ratio_class(-0.5) == "q0"
    for k, edge in enumerate(RATIO_BINS):
        assert ratio_class(edge) == f"q{k}"
        if k:
            assert ratio_class(math.nextafter(edge, 0.0)) == f"q{k - 1}"


CELL = re.compile(r"M([-\d.e]+) 0h([-\d.e]+)v([-\d.e]+)h-([-\d.e]+)z")


def cell_table(root: ET.Element) -> list[list[ET.Element]]:
    """The heatmap's cells read back as one ``rect`` element each (x, width, class with
    ``d`` when drifted, data-c, data-v), from its rows' paths and data attributes; checks
    on the way that every column of a row is in exactly one colour path and that the drifted
    outline holds exactly the drifted cells."""
    xs = [float(x) for x in root.get("data-x", "").split(",") if x]
    widths = [float(w) for w in root.get("data-w", "").split(",") if w]
    assert len(xs) == len(widths)
    table = []
    for row in find(root, "g", "hm-row"):
        values = row.get("data-v", "").split(",") if xs else []
        drifted = row.get("data-d", "")
        assert len(values) == len(drifted) == len(xs)
        classes: dict[int, str] = {}
        outlined: set[int] = set()
        for path in find(row, "path"):
            kind = path.get("class", "")
            for x, w, h, back in CELL.findall(path.get("d", "")):
                assert w == back and float(h) > 0
                taken = outlined if kind == "d" else classes
                matching = [
                    j
                    for j in range(len(xs))
                    if abs(xs[j] - float(x)) <= 0.01
                    and abs(widths[j] - float(w)) <= 0.02
                    and j not in taken
                ]
                assert matching, f"a cell at x={x} matches no free column"
                column = matching[0]
                if kind == "d":
                    outlined.add(column)
                else:
                    classes[column] = kind
        assert sorted(classes) == list(range(len(xs)))
        assert outlined == {j for j, flag in enumerate(drifted) if flag == "1"}
        cells = []
        for j in range(len(xs)):
            attrib = {
                "x": str(xs[j]),
                "width": str(widths[j]),
                "class": classes[j] + (" d" if drifted[j] == "1" else ""),
                "data-c": str(j),
            }
            if values[j]:
                attrib["data-v"] = values[j]
            cells.append(ET.Element("rect", attrib))
        table.append(cells)
    return table


def test_heatmap_cells_follow_the_bins_and_carry_the_ratio_exactly() -> None:
    rng = np.random.default_rng(7)
    edges = [*RATIO_BINS, math.nextafter(1.0, 0.0), 1e-300, 123456.789, math.inf]
    ratios = np.array([edges, rng.gamma(1.0, 0.8, len(edges)), [math.nan] * len(edges)])
    drifted = rng.random(ratios.shape) < 0.4
    starts = days(len(edges))
    root = parse(
        heatmap(["a", "b", "c"], starts, ratios, drifted, axis=axis_over(starts), title="t")
    )
    cells = cell_table(root)
    assert [len(row) for row in cells] == [len(edges)] * 3
    for i, row in enumerate(cells):
        for j, rect in enumerate(row):
            ratio = ratios[i, j]
            classes = rect.get("class", "").split()
            assert classes[0] == ratio_class(ratio)
            assert ("d" in classes) == bool(drifted[i, j])
            assert rect.get("data-c") == str(j)
            if math.isnan(ratio):
                assert rect.get("data-v") is None
            else:
                assert float(rect.get("data-v", "")) == ratio
    assert [r.get("class") for r in cells[0][:8]] == [
        f"q{k}" + (" d" if drifted[0, k] else "") for k in range(8)
    ]


def test_heatmap_marks_drifted_cells_whatever_their_ratio() -> None:
    starts = days(3)
    ratios = np.array([[0.1, 2.5, math.nan]])
    svg = heatmap(["x"], starts, ratios, np.ones((1, 3), bool), axis=axis_over(starts), title="t")
    assert [r.get("class") for r in cell_table(parse(svg))[0]] == ["q0 d", "q6 d", "na d"]


def test_heatmap_rows_keep_the_given_order_and_starts_are_listed() -> None:
    features = ["zeta", "alpha", "mid", "alpha2"]
    starts = [datetime(2013, 1, 1, 6) + j * timedelta(hours=6) for j in range(5)]  # naive: UTC
    ratios = np.arange(20, dtype=float).reshape(4, 5) / 10
    root = parse(
        heatmap(features, starts, ratios, ratios > 1, axis=axis_over(starts, DAY / 4), title="t")
    )
    rows = find(root, "g", "hm-row")
    assert [row.get("data-feature") for row in rows] == features
    assert [row.get("data-row") for row in rows] == ["0", "1", "2", "3"]
    assert root.get("data-starts") == ",".join(s.replace(tzinfo=UTC).isoformat() for s in starts)
    assert root.get("data-starts", "").split(",")[0] == "2013-01-01T06:00:00+00:00"
    ys = [numbers(row.get("transform", ""))[1] for row in rows]
    assert ys == sorted(ys) and len(set(ys)) == len(ys)
    assert [float(r.get("data-v", "")) for r in cell_table(root)[2]] == ratios[2].tolist()


def test_heatmap_cells_tile_their_windows_and_leave_missing_ones_blank() -> None:
    starts = [*days(10), *days(5, START + 14 * DAY)]  # days 10-13 missing
    axis = axis_over(starts)
    ratios = np.full((1, len(starts)), 0.5)
    root = parse(heatmap(["f"], starts, ratios, ratios > 1, axis=axis, title="t"))
    cells = cell_table(root)[0]
    x = [float(c.get("x", "")) for c in cells]
    w = [float(c.get("width", "")) for c in cells]
    day = axis.x(START + DAY) - axis.x(START)
    assert x == pytest.approx([axis.x(s) for s in starts], abs=0.01)
    assert w == pytest.approx([day] * len(starts), abs=0.02)  # the last: the usual step
    assert x[10] - (x[9] + w[9]) == pytest.approx(4 * day, abs=0.05)
    assert x[-1] + w[-1] == pytest.approx(axis.plot_right, abs=0.02)


def test_a_window_is_as_long_as_the_axis_step_when_given() -> None:
    starts = [START + 2 * DAY]
    ratios = np.ones((1, 1))
    bare = TimeAxis(START, START + 10 * DAY, 960, 170, 60)
    stepped = TimeAxis(START, START + 10 * DAY, 960, 170, 60, step=DAY)
    for axis, end in ((bare, START + 10 * DAY), (stepped, START + 3 * DAY)):
        cell = cell_table(parse(heatmap(["f"], starts, ratios, ratios > 2, axis=axis, title="t")))
        width = float(cell[0][0].get("width", ""))
        assert width == pytest.approx(axis.x(end) - axis.x(starts[0]), abs=0.01)
    # With the step known, two windows three days apart have two missing between them.
    values = np.ones(3)
    three = [START, START + DAY, START + 4 * DAY]
    for axis, points in ((stepped, [2]), (bare, [3])):
        root = parse(timeseries(three, values, None, None, axis=axis, y_label="", title="t"))
        lines = find(root, "path", "line")
        assert [len(numbers(line.get("d", ""))) // 2 for line in lines] == points
    with pytest.raises(ValueError, match="step"):
        TimeAxis(START, START + DAY, 960, 170, 60, step=timedelta(0))


def test_heatmap_cells_are_at_least_one_unit_wide() -> None:
    starts = [START + j * timedelta(minutes=5) for j in range(3)]
    axis = TimeAxis(START, START + 400 * DAY, 960, 170, 60)
    ratios = np.ones((1, 3))
    cells = cell_table(parse(heatmap(["f"], starts, ratios, ratios > 2, axis=axis, title="t")))
    assert all(float(c.get("width", "")) >= 1 for c in cells[0])


def test_heatmap_labels_long_names_with_an_ellipsis_and_keeps_the_full_name() -> None:
    name = "a_very_long_feature_name_that_goes_on_and_on_and_on"
    starts = days(2)
    root = parse(
        heatmap(
            [name],
            starts,
            np.ones((1, 2)),
            np.zeros((1, 2), bool),
            axis=axis_over(starts),
            title="t",
            label_width=100,
        )
    )
    row = find(root, "g", "hm-row")[0]
    label = find(row, "text")[0]
    assert row.get("data-feature") == name
    assert find(label, "title")[0].text == name
    shown = "".join(label.itertext()).removeprefix(name)
    assert shown.endswith("…") and name.startswith(shown[:-1]) and len(shown) < 20


@pytest.mark.parametrize("name", HOSTILE)
def test_heatmap_escapes_feature_names_everywhere(name: str) -> None:
    starts = days(2)
    svg = heatmap(
        [name, "plain"],
        starts,
        np.ones((2, 2)),
        np.zeros((2, 2), bool),
        axis=axis_over(starts),
        title=f"drift of {name}",
    )
    root = parse(svg)
    assert "<script" not in svg and "onload=" not in svg.replace("onload=alert", "")
    row = find(root, "g", "hm-row")[0]
    assert row.get("data-feature") == name
    assert find(row, "title")[0].text == name
    assert root.get("aria-label") == f"drift of {name}"
    assert find(root, "title")[0].text == f"drift of {name}"
    assert not find(root, "script") and not find(root, "style")


def test_heatmap_handles_no_features_and_no_windows() -> None:
    starts = days(4)
    axis = axis_over(starts)
    empty = parse(
        heatmap([], starts, np.zeros((0, 4)), np.zeros((0, 4), bool), axis=axis, title="t")
    )
    assert not find(empty, "g", "hm-row") and len(empty.get("data-starts", "").split(",")) == 4
    also = parse(heatmap([], starts, [], [], axis=axis, title="t"))
    assert not cell_table(also)
    no_windows = parse(
        heatmap(["a"], [], np.zeros((1, 0)), np.zeros((1, 0), bool), axis=axis, title="t")
    )
    assert no_windows.get("data-starts") == "" and cell_table(no_windows) == [[]]


def test_heatmap_refuses_mismatched_shapes_and_unsorted_starts() -> None:
    starts = days(3)
    axis = axis_over(starts)
    with pytest.raises(ValueError, match="heatmap"):
        heatmap(["a"], starts, np.ones((1, 2)), np.zeros((1, 2), bool), axis=axis, title="t")
    with pytest.raises(ValueError, match="heatmap"):
        heatmap(["a"], starts, np.ones((1, 3)), np.zeros((2, 3), bool), axis=axis, title="t")
    with pytest.raises(ValueError, match="increasing"):
        heatmap(["a"], starts[::-1], np.ones((1, 3)), np.zeros((1, 3), bool), axis=axis, title="t")


def test_heatmap_draws_the_time_ticks_on_top() -> None:
    starts = days(60, datetime(2013, 1, 1, tzinfo=UTC))
    axis = axis_over(starts)
    root = parse(
        heatmap(["a"], starts, np.ones((1, 60)), np.zeros((1, 60), bool), axis=axis, title="t")
    )
    labels = [t.text for t in find(root, "text", "xt")]
    assert labels == [tick.label for tick in axis.ticks]
    first_row = numbers(find(root, "g", "hm-row")[0].get("transform", ""))[1]
    assert all(float(t.get("y", "")) < first_row for t in find(root, "text", "xt"))


# ---------------------------------------------------------------------------------------------
# Time series
# ---------------------------------------------------------------------------------------------


def test_timeseries_points_carry_their_values_and_link_to_their_window() -> None:
    starts = days(4)
    values = np.array([0.8123456789, math.nan, 0.79, 1 / 3])
    lower = values - 0.021
    upper = values + 0.0177
    lower[2] = math.nan
    hrefs = [f"/ui/models/m/windows/{s:%Y-%m-%d}?feature=a&b" for s in starts]
    root = parse(
        timeseries(
            starts,
            values,
            lower,
            upper,
            axis=axis_over(starts),
            y_label="auc",
            title="AUC",
            points_href=hrefs,
        )
    )
    points = find(root, "circle", "pt")
    assert [p.get("data-start") for p in points] == [starts[j].isoformat() for j in (0, 2, 3)]
    assert [float(p.get("data-v", "")) for p in points] == [values[0], values[2], values[3]]
    assert float(points[0].get("data-lo", "")) == lower[0]
    assert float(points[0].get("data-hi", "")) == upper[0]
    assert points[1].get("data-lo") is None and points[1].get("data-hi") is None
    links = find(root, "a")
    assert [a.get("href") for a in links] == [hrefs[j] for j in (0, 2, 3)]
    assert find(links[0], "title")[0].text == "Mar 1 2013: 0.812 [0.791, 0.83]"
    assert find(links[1], "title")[0].text == "Mar 3 2013: 0.79"


def test_timeseries_points_sit_in_the_middle_of_their_window() -> None:
    starts = days(3)
    axis = axis_over(starts)
    root = parse(timeseries(starts, [1.0, 2.0, 3.0], None, None, axis=axis, y_label="", title="t"))
    cx = [float(p.get("cx", "")) for p in find(root, "circle", "pt")]
    assert cx == pytest.approx([axis.x(s + DAY / 2) for s in starts], abs=0.01)
    cy = [float(p.get("cy", "")) for p in find(root, "circle", "pt")]
    assert cy[0] > cy[1] > cy[2]  # larger values higher up


def test_timeseries_breaks_lines_and_bands_at_nans_and_missing_windows() -> None:
    starts = days(10)
    values = np.linspace(0.7, 0.9, 10)
    values[4] = math.nan
    root = parse(
        timeseries(
            starts,
            values,
            values - 0.01,
            values + 0.01,
            axis=axis_over(starts),
            y_label="",
            title="t",
        )
    )
    lines = find(root, "path", "line")
    assert len(lines) == 2 and len(find(root, "path", "band")) == 2
    assert [len(numbers(line.get("d", ""))) // 2 for line in lines] == [4, 5]

    gappy = [*days(4), *days(5, START + 6 * DAY)]  # two missing windows, no NaN
    values = np.linspace(0.7, 0.9, 9)
    root = parse(
        timeseries(
            gappy,
            values,
            values - 0.01,
            values + 0.01,
            axis=axis_over(gappy),
            y_label="",
            title="t",
        )
    )
    assert len(find(root, "path", "line")) == 2 and len(find(root, "path", "band")) == 2


def test_timeseries_single_points_get_a_band_but_no_line() -> None:
    starts = days(5)
    values = np.array([0.5, math.nan, 0.6, math.nan, 0.7])
    root = parse(
        timeseries(
            starts,
            values,
            values - 0.1,
            values + 0.1,
            axis=axis_over(starts),
            y_label="",
            title="t",
        )
    )
    assert not find(root, "path", "line")
    assert len(find(root, "path", "band")) == 3 and len(find(root, "circle", "pt")) == 3


def test_timeseries_y_axis_covers_data_band_and_thresholds_with_ticks_inside() -> None:
    starts = days(6)
    values = np.array([0.81, 0.83, 0.8, 0.82, 0.84, 0.85])
    root = parse(
        timeseries(
            starts,
            values,
            values - 0.05,
            values + 0.05,
            axis=axis_over(starts),
            y_label="auc",
            title="t",
            height=180,
            thresholds=[Threshold("floor", value=0.6)],
        )
    )
    ticks = [float(t.text or "") for t in find(root, "text", "yt")]
    assert ticks == sorted(ticks) and len(ticks) >= 3
    assert ticks[0] <= 0.6 and ticks[-1] >= 0.9
    grid = [numbers(g.get("d", ""))[1] for g in find(root, "path", "grid")]
    assert grid == sorted(grid, reverse=True)
    assert all(16 <= y <= 180 - 22 for y in grid)
    points = find(root, "circle", "pt")
    assert all(16 <= float(p.get("cy", "")) <= 158 for p in points)


def test_timeseries_keeps_to_a_given_y_domain() -> None:
    starts = days(3)
    root = parse(
        timeseries(
            starts,
            [0.2, 0.5, 0.9],
            None,
            None,
            axis=axis_over(starts),
            height=120,
            y_label="share",
            title="t",
            y_domain=(0.0, 1.0),
        )
    )
    assert [t.text for t in find(root, "text", "yt")] == ["0", "0.5", "1.0"]
    with pytest.raises(ValueError, match="y_domain"):
        timeseries(
            starts,
            [1, 2, 3],
            None,
            None,
            axis=axis_over(starts),
            y_label="",
            title="t",
            y_domain=(1.0, 1.0),
        )


def test_timeseries_draws_constant_and_stepped_thresholds() -> None:
    starts = days(6)
    per = np.array([math.nan, 0.7, 0.7, 0.72, math.nan, 0.74])
    root = parse(
        timeseries(
            starts,
            np.full(6, 0.8),
            None,
            None,
            axis=axis_over(starts),
            y_label="",
            title="t",
            thresholds=[
                Threshold("floor <b>", value=0.65, kind="lower"),
                Threshold("band", values=per, kind="upper"),
            ],
        )
    )
    groups = find(root, "g", "thr-g")
    assert [g.get("data-label") for g in groups] == ["floor <b>", "band"]
    assert [g.get("data-kind") for g in groups] == ["lower", "upper"]
    assert float(groups[0].get("data-v", "")) == 0.65
    assert groups[1].get("data-values") == ",0.7,0.7,0.72,,0.74"
    assert find(groups[0], "title")[0].text == "floor <b>"
    constant = find(groups[0], "path", "thr")[0].get("d", "")
    assert constant.count("M") == 1 and numbers(constant)[0] == 170
    stepped = find(groups[1], "path", "thr")[0].get("d", "")
    assert stepped.count("M") == 2  # a run of three windows, then one alone
    with pytest.raises(ValueError, match="exactly one"):
        Threshold("x")
    with pytest.raises(ValueError, match="kind"):
        Threshold("x", value=1.0, kind="both")


def test_timeseries_draws_events_inside_the_domain_only() -> None:
    starts = days(10)
    axis = axis_over(starts)
    events = [
        Event(START - DAY, "alert", "before"),
        Event(START + 2 * DAY, "alert", "alert <b>1</b>", "/ui/alerts/1"),
        Event(START + 5 * DAY, "retrain", "retrained", "javascript:alert(1)"),
        Event(START + 10 * DAY, "rollback", "at the end"),
        Event(START + 11 * DAY, "promotion", "after"),
    ]
    root = parse(
        timeseries(starts, np.ones(10), None, None, axis=axis, y_label="", title="t", events=events)
    )
    marks = find(root, "g", "ev")
    assert [m.get("data-kind") for m in marks] == ["alert", "retrain", "rollback"]
    assert [find(m, "title")[0].text for m in marks] == [
        "alert <b>1</b>",
        "retrained",
        "at the end",
    ]
    assert marks[0].get("class") == "ev ev-alert"
    assert marks[0].get("data-at") == (START + 2 * DAY).isoformat()
    assert numbers(find(marks[0], "path")[0].get("d", ""))[0] == pytest.approx(
        axis.x(START + 2 * DAY), abs=0.01
    )
    assert [a.get("href") for a in find(root, "a")] == ["/ui/alerts/1"]  # no javascript: link
    with pytest.raises(ValueError, match="kind"):
        Event(START, 'alert" onclick="x', "x")
    other = timeseries(
        starts,
        np.ones(10),
        None,
        None,
        axis=axis,
        y_label="",
        title="t",
        events=[Event(START + DAY, "deploy", "a new kind")],
    )
    assert find(parse(other), "g", "ev")[0].get("class") == "ev ev-deploy"


def test_timeseries_refuses_arrays_of_the_wrong_length() -> None:
    starts = days(3)
    axis = axis_over(starts)
    with pytest.raises(ValueError, match="values"):
        timeseries(starts, [1.0, 2.0], None, None, axis=axis, y_label="", title="t")
    with pytest.raises(ValueError, match="lower"):
        timeseries(
            starts, [1.0, 2.0, 3.0], [1.0], [1.0, 2.0, 3.0], axis=axis, y_label="", title="t"
        )
    with pytest.raises(ValueError, match="points_href"):
        timeseries(
            starts,
            [1.0, 2.0, 3.0],
            None,
            None,
            axis=axis,
            y_label="",
            title="t",
            points_href=["/a"],
        )
    with pytest.raises(ValueError, match="threshold"):
        timeseries(
            starts,
            [1.0, 2.0, 3.0],
            None,
            None,
            axis=axis,
            y_label="",
            title="t",
            thresholds=[Threshold("x", values=np.ones(2))],
        )


# ---------------------------------------------------------------------------------------------
# Bars and sparkline
# ---------------------------------------------------------------------------------------------


def test_bars_mark_windows_outside_the_usual_band() -> None:
    starts = days(5)
    values = np.array([100.0, 20.0, math.nan, 400.0, 120.0])
    root = parse(
        bars(
            starts,
            values,
            axis=axis_over(starts),
            title="Rows",
            y_label="rows",
            usual=110,
            usual_band=(50.0, 200.0),
        )
    )
    rects = find(root, "rect", "bar")
    assert [r.get("class") for r in rects] == ["bar", "bar low", "bar high", "bar"]
    assert [float(r.get("data-v", "")) for r in rects] == [100.0, 20.0, 400.0, 120.0]
    assert [r.get("data-start") for r in rects] == [starts[j].isoformat() for j in (0, 1, 3, 4)]
    heights = [float(r.get("height", "")) for r in rects]
    assert heights[2] > heights[0] > heights[1] > 0
    bottoms = {round(float(r.get("y", "")) + float(r.get("height", "")), 1) for r in rects}
    assert len(bottoms) == 1  # all stand on zero
    usual = find(root, "path", "usual")
    assert len(usual) == 1 and float(usual[0].get("data-v", "")) == 110
    assert find(rects[0], "title")[0].text == "Mar 1 2013: 100 rows"


def test_sparkline_marks_the_last_value_and_breaks_at_nans() -> None:
    values = np.array([0.8, 0.81, math.nan, 0.79, 0.8, 0.7777777777777777, math.nan])
    root = parse(sparkline(values, lower=values - 0.02, upper=values + 0.02, title="AUC <3"))
    last = find(root, "circle", "last")
    assert len(last) == 1 and float(last[0].get("data-v", "")) == values[5]
    assert last[0].get("data-i") == "5"
    assert len(find(root, "path", "line")) == 2 and len(find(root, "path", "band")) == 2
    assert root.get("aria-label") == "AUC <3"
    assert root.get("viewBox") == "0 0 120 28"
    empty = parse(sparkline([math.nan, math.nan], title="t"))
    assert not find(empty, "circle") and not find(empty, "path")


# ---------------------------------------------------------------------------------------------
# Every builder: markup the page's Content-Security-Policy allows, on any input
# ---------------------------------------------------------------------------------------------

GEOMETRY = ("x", "y", "width", "height", "cx", "cy", "r", "d", "viewBox", "transform")
FORBIDDEN = {"script", "style", "foreignObject", "iframe", "object", "embed", "image", "use"}


def assert_safe(svg: Markup, kind: str) -> ET.Element:
    root = parse(svg)
    assert root.get("class") == f"chart {kind}"
    linked = any(local(element) == "a" for element in root.iter())
    # An image's content is presentational: a chart holding links is a figure.
    assert root.get("role") == ("figure" if linked else "img")
    assert root.get("aria-label") is not None
    assert root.get("viewBox", "").startswith("0 0 ")
    assert local(next(iter(root))) == "title"
    for element in root.iter():
        assert local(element) not in FORBIDDEN
        for name, value in element.attrib.items():
            assert name != "style" and not name.lower().startswith("on")
            if name in GEOMETRY:
                assert not re.search(r"nan|inf", value, re.IGNORECASE), (name, value)
        if local(element) == "a":
            assert element.get("href", "").startswith("/")
    assert "style=" not in svg
    return root


def hostile_values(rng: np.random.Generator, n: int) -> np.ndarray:
    pick = rng.integers(0, 6)
    if pick == 0:
        return np.full(n, math.nan)
    if pick == 1:
        return rng.normal(0, 1, n) * 10.0 ** rng.integers(-300, 300)
    if pick == 2:
        return np.full(n, float(rng.normal()))  # constant
    if pick == 3:
        return rng.choice([math.nan, math.inf, -math.inf, 0.0, -1e308, 1e308, 5e-324], n)
    values = rng.gamma(1.0, 1.0, n) * (-1 if pick == 4 else 1)
    values[rng.random(n) < 0.3] = math.nan
    return values


@pytest.mark.parametrize("seed", range(40))
def test_every_builder_gives_safe_well_formed_svg_on_hostile_input(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.choice([0, 1, 1, 2, 5, 40]))
    step = [timedelta(minutes=5), timedelta(hours=1), DAY, 7 * DAY][int(rng.integers(0, 4))]
    start = datetime(2013, 1, 1, tzinfo=UTC) + int(rng.integers(0, 1000)) * timedelta(hours=1)
    keep = rng.random(n) < 0.8
    if n:
        keep[0] = True
    starts = [start + j * step for j in range(n) if keep[j]]
    n = len(starts)
    axis = TimeAxis(start, start + max(n, 1) * step * 1.5, float(rng.choice([300, 960])), 120, 50)
    features = [HOSTILE[k % len(HOSTILE)] + str(k) for k in range(int(rng.choice([0, 1, 3])))]
    ratios = hostile_values(rng, len(features) * n).reshape(len(features), n)
    drifted = rng.random((len(features), n)) < 0.3
    names = HOSTILE[seed % len(HOSTILE)]

    root = assert_safe(
        heatmap(features, starts, ratios, drifted, axis=axis, title=names), "heatmap"
    )
    assert [g.get("data-feature") for g in find(root, "g", "hm-row")] == features

    values = hostile_values(rng, n)
    lower = None if rng.random() < 0.3 else values - np.abs(hostile_values(rng, n))
    upper = None if lower is None else values + np.abs(hostile_values(rng, n))
    thresholds = [
        Threshold(names, value=float(rng.normal())),
        Threshold(names, values=hostile_values(rng, n), kind="upper"),
    ]
    events = [
        Event(
            start + float(rng.uniform(-2, 4)) * n * step,
            str(rng.choice(EVENT_KINDS)),
            names,
            str(rng.choice(["/ui/alerts/1?a=1&b=<2>", "javascript:alert(1)", "\tjavascript:x"])),
        )
        for _ in range(4)
    ]
    domain = None if rng.random() < 0.7 else (-1.0, 1.0)
    hrefs = [f"/ui/w/{j}?f={names}" for j in range(n)] if rng.random() < 0.5 else None
    root = assert_safe(
        timeseries(
            starts,
            values,
            lower,
            upper,
            axis=axis,
            y_label=names,
            title=names,
            thresholds=thresholds,
            events=events,
            y_domain=domain,
            points_href=hrefs,
        ),
        "timeseries",
    )
    shown = [v for v in values.tolist() if math.isfinite(v)]
    assert [float(p.get("data-v", "")) for p in find(root, "circle", "pt")] == shown
    assert all(
        axis.contains(datetime.fromisoformat(e.get("data-at", ""))) for e in find(root, "g", "ev")
    )

    band = None if rng.random() < 0.5 else (float(rng.normal()), float(rng.normal()) + 1)
    assert_safe(
        bars(
            starts,
            values,
            axis=axis,
            title=names,
            y_label=names,
            usual=float(rng.normal()),
            usual_band=band,
        ),
        "bars",
    )
    root = assert_safe(sparkline(values, lower=lower, upper=upper, title=names), "sparkline")
    assert len(find(root, "circle", "last")) == (1 if shown else 0)


@pytest.mark.parametrize(
    "build",
    [
        lambda axis, starts: heatmap(
            ["a", "b"],
            starts,
            np.full((2, len(starts)), 0.3),
            np.zeros((2, len(starts)), bool),
            axis=axis,
            title="t",
        ),
        lambda axis, starts: timeseries(
            starts, np.linspace(0, 1, len(starts)), None, None, axis=axis, y_label="y", title="t"
        ),
        lambda axis, starts: bars(
            starts, np.arange(len(starts), dtype=float), axis=axis, title="t", y_label="y"
        ),
    ],
    ids=["heatmap", "timeseries", "bars"],
)
def test_builders_are_deterministic_and_round_geometry(
    build: Callable[[TimeAxis, list[datetime]], Markup],
) -> None:
    starts = [START + j * timedelta(hours=7) for j in range(30)]
    axis = TimeAxis(START, starts[-1] + timedelta(hours=7), 977, 133.3333, 41.7)
    first, second = build(axis, starts), build(axis, starts)
    assert first == second
    for element in parse(first).iter():
        for name in ("x", "y", "width", "height", "cx", "cy", "d", "transform"):
            for number in re.findall(r"\d+\.\d+", element.get(name, "")):
                assert len(number.split(".")[1]) <= 2, (name, number)
