"""The HTML report in a real browser: headless Debian Chromium driven by Playwright.

The page must render its charts and table, run its script without errors, and send no request
beyond loading itself. Chromium is required on CI (``CI`` set); elsewhere the test is skipped
when it is not installed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import seismo
from seismo import DriftReport

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _chromium() -> str:
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(
                "chromium is not installed: the browser test must run on CI "
                "(install it with `apt-get install -y chromium`)"
            )
        pytest.skip("chromium is not installed: browser test not run")
    return found


def _report() -> DriftReport:
    rng = np.random.default_rng(42)
    n = 4000

    def frame(shift: float) -> pd.DataFrame:
        values = rng.normal(0.0, 1.0, n)
        values[rng.random(n) < 0.05] = np.nan
        return pd.DataFrame(
            {
                "amount": rng.lognormal(3.0 + shift, 0.6, n),
                "age": rng.normal(40 + 10 * shift, 10, n).round(),
                "channel": rng.choice(["web", "store", "phone"], n, p=[0.6, 0.3, 0.1]),
                "member": rng.random(n) < 0.3 + 0.3 * shift,
                "température °C": rng.normal(20, 4, n),
                "<script>alert(1)</script>": rng.normal(0, 1, n),
                "with_nan": values,
                "score": rng.beta(2 + 3 * shift, 5, n),
            }
        )

    schema = {"columns": {"score": {"kind": "numeric", "role": "score"}}}
    return seismo.compare(frame(0.0), frame(1.0), schema)


def test_report_renders_offline_in_chromium(tmp_path: Path) -> None:
    executable = _chromium()
    try:
        from playwright import sync_api
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("the playwright package is not installed: the browser test must run on CI")
        pytest.skip("playwright is not installed: browser test not run")
    report = _report()
    path = tmp_path / "report.html"
    report.to_html(path)
    url = path.resolve().as_uri()

    errors: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on(
                "console",
                lambda message: (
                    errors.append(f"console: {message.text}") if message.type == "error" else None
                ),
            )
            page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
            page.on("request", lambda request: requests.append(request.url))
            page.goto(url, wait_until="load")

            assert page.locator("svg").count() > 0
            assert page.locator("#summary-table tbody tr").count() == len(report.columns)
            assert page.locator("details.card").count() == len(report.columns)
            first = page.locator("#summary-table tbody tr").first.get_attribute("data-name")
            assert first == report.by_severity()[0].column
            # User data is shown as text, never run: the title of the odd column is literal.
            assert page.locator(".card .title", has_text="<script>alert(1)</script>").count() == 1
            assert page.evaluate("typeof window.alert") == "function"
            # A chart has drawn bars with a real size.
            box = page.locator("svg.chart").first.bounding_box()
            assert box is not None and box["width"] > 200 and box["height"] > 100
            assert page.locator("svg.chart path.c").count() > 0

            # The script works: filtering and sorting the table.
            page.fill("#filter", "temp")
            visible = page.locator("#summary-table tbody tr:not([hidden])")
            assert visible.count() == 1
            page.fill("#filter", "")
            page.check("#only-drifted")
            drifted = sum(result.drifted for result in report.columns)
            assert visible.count() == drifted
            page.uncheck("#only-drifted")
            page.click("#summary-table th[data-sort=name]")
            names = page.locator("#summary-table tbody tr").evaluate_all(
                "rows => rows.map(row => row.dataset.name)"
            )
            assert names == sorted(names, key=str.lower)
            page.click("#collapse-all")
            assert page.locator("details.card[open]").count() == 0
            page.click("#expand-all")
            assert page.locator("details.card[open]").count() == len(report.columns)

            screenshot = tmp_path / "report.png"
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()

    assert errors == []
    assert requests == [url]
    data = screenshot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000
