"""Signing in, acting and being refused, through a real ``seismo serve`` guarded by tokens,
in Debian's Chromium; and an accessibility scan (axe-core, from npm) of every page."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.service.ui.conftest import MODEL, Served

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("ui")]

AXE_VERSION = "4.10.3"


def _sign_in(browser: Any, served: Served, scope: str) -> Any:
    context = browser.new_context()
    page = context.new_page()
    page.goto(served.address + f"/ui/models/{MODEL}")
    assert "/ui/login" in page.url  # asked for a token first
    page.fill("#token", served.tokens[scope])
    page.click("form button[type=submit]")
    page.wait_for_url(f"**/ui/models/{MODEL}")
    return page


def _firing(served: Served) -> list[dict[str, Any]]:
    with served.api(served.tokens["read"]) as api:
        return [
            a
            for a in api.get("/v1/alerts", params={"state": "firing"}).json()["alerts"]
            if a["acknowledged_at"] is None
        ]


def test_the_session_cookie_is_httponly_and_strict(browser: Any, guarded_server: Served) -> None:
    page = _sign_in(browser, guarded_server, "read")
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "seismo_session"]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/ui"
    assert guarded_server.tokens["read"] not in cookie["value"]
    page.context.close()


def test_a_read_token_looks_but_cannot_act(browser: Any, guarded_server: Served) -> None:
    page = _sign_in(browser, guarded_server, "read")
    before = _firing(guarded_server)
    assert before, "the replay leaves alerts firing"
    page.goto(guarded_server.address + "/ui/alerts")
    assert page.locator("#alerts tbody tr").count() == len(before)
    assert page.locator("form[action$='/ack']").count() == 0  # no buttons for a reader
    page.goto(guarded_server.address + f"/ui/models/{MODEL}/rollouts")
    assert page.locator("a.button").count() == 0
    # Posting anyway, with the session's own cookie and a made-up CSRF token: refused.
    response = page.request.post(
        guarded_server.address + f"/ui/alerts/{before[0]['id']}/ack",
        form={"csrf": "x", "comment": "no"},
    )
    assert response.status == 403
    silenced = page.request.post(
        guarded_server.address + "/ui/silences",
        form={"csrf": "x", "rule": before[0]["rule"], "match_rule": "1", "duration": "1h"},
    )
    assert silenced.status == 403
    confirm = page.goto(guarded_server.address + f"/ui/models/{MODEL}/rollback")
    assert confirm is not None and confirm.status == 403
    assert _firing(guarded_server) == before
    with guarded_server.api(guarded_server.tokens["read"]) as api:
        assert api.get("/v1/silences").json()["silences"] == []
    page.context.close()


def test_an_admin_acknowledges_silences_and_promotes(browser: Any, guarded_server: Served) -> None:
    page = _sign_in(browser, guarded_server, "admin")
    target = _firing(guarded_server)[0]
    # Without the form's CSRF token the same session is refused, and nothing changes.
    refused = page.request.post(
        guarded_server.address + f"/ui/alerts/{target['id']}/ack", form={"comment": "forged"}
    )
    assert refused.status == 403
    assert target["id"] in {a["id"] for a in _firing(guarded_server)}
    page.goto(guarded_server.address + f"/ui/alerts/{target['id']}")
    page.fill("#ack-comment", "looking into it")
    page.click("#ack button[type=submit]")
    page.wait_for_url(f"**/ui/alerts/{target['id']}")
    assert page.locator("#alert-state").get_attribute("data-acknowledged") == "yes"
    with guarded_server.api(guarded_server.tokens["read"]) as api:
        stored = api.get(f"/v1/alerts/{target['id']}").json()
        assert stored["acknowledged_by"] == "ui-admin"
        assert any(e["kind"] == "acknowledged" for e in stored["history"])
    # Silence from the same page.
    page.select_option("#silence-duration", "1d")
    page.fill("#silence-comment", "known: the weather")
    page.click("#silence button[type=submit]")
    page.wait_for_url(f"**/ui/alerts/{target['id']}")
    with guarded_server.api(guarded_server.tokens["read"]) as api:
        silences = api.get("/v1/silences", params={"active": True}).json()["silences"]
    assert [(s["matchers"], s["created_by"]) for s in silences] == [
        ({"rule": target["rule"], "model": target["model"]}, "ui-admin")
    ]
    # Promote the canary's challenger, after confirming.
    with guarded_server.api(guarded_server.tokens["read"]) as api:
        rollout = api.get(f"/v1/models/{MODEL}").json()["rollout"]
    assert rollout["mode"] == "canary" and rollout["challenger"]
    page.goto(guarded_server.address + f"/ui/models/{MODEL}/rollouts")
    page.click("a.button:has-text('Promote')")
    page.wait_for_url("**/promote")
    page.fill("#reason", "the canary looks good")
    page.click("#confirm button[type=submit]")
    page.wait_for_url(f"**/ui/models/{MODEL}/rollouts")
    with guarded_server.api(guarded_server.tokens["read"]) as api:
        after = api.get(f"/v1/models/{MODEL}").json()["rollout"]
        decisions = api.get(f"/v1/models/{MODEL}/decisions").json()["decisions"]
    assert after["champion"] == rollout["challenger"] and after["challenger"] is None
    assert decisions[0]["kind"] == "promotion" and decisions[0]["actor"] == "ui-admin"
    assert page.locator("#rollout").get_attribute("data-champion") == str(rollout["challenger"])
    page.context.close()


def test_an_ingest_token_cannot_sign_in(browser: Any, guarded_server: Served) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(guarded_server.address + "/ui")
    page.fill("#token", guarded_server.tokens["ingest"])
    page.click("form button[type=submit]")
    assert "needs 'read'" in page.locator("#login-error").inner_text()
    page.fill("#token", "seismo_not-a-token")
    page.click("form button[type=submit]")
    assert "unknown or revoked" in page.locator("#login-error").inner_text()
    context.close()


# -- accessibility --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def axe_source(tmp_path_factory: pytest.TempPathFactory) -> str:
    """axe-core from the npm registry, installed once per run."""
    npm = shutil.which("npm")
    if npm is None:
        if os.environ.get("CI"):
            pytest.fail("npm is not installed: the accessibility scan must run on CI")
        pytest.skip("npm is not installed: accessibility scan not run")
    cache = Path(os.environ.get("SEISMO_AXE_DIR", Path.home() / ".cache" / "seismo-axe"))
    script = cache / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                npm,
                "install",
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(cache),
                f"axe-core@{AXE_VERSION}",
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return script.read_text(encoding="utf-8")


@pytest.fixture
def scanner(browser: Any, axe_source: str) -> Iterator[Any]:
    # The page's policy forbids injected scripts; the scan's context bypasses it.
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()

    def scan(url: str, scheme: str) -> list[dict[str, Any]]:
        page.emulate_media(color_scheme=scheme)
        page.goto(url)
        page.add_script_tag(content=axe_source)
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]

    yield scan
    context.close()


def test_no_serious_accessibility_violation(scanner: Any, open_server: Served) -> None:
    with open_server.api() as api:
        alert = api.get("/v1/alerts").json()["alerts"][0]
        window = api.get(f"/v1/models/{MODEL}/drift").json()["windows"][-1]
    paths = [
        "/ui",
        f"/ui/models/{MODEL}",
        f"/ui/models/{MODEL}/windows/{window['start']}",
        "/ui/alerts",
        f"/ui/alerts/{alert['id']}",
        f"/ui/models/{MODEL}/rollouts",
        f"/ui/models/{MODEL}/rollback",
    ]
    found = {}
    for path in paths:
        for scheme in ("light", "dark"):
            violations = scanner(open_server.address + path, scheme)
            if violations:
                found[(path, scheme)] = [
                    (v["id"], v["impact"], [n["target"] for n in v["nodes"][:3]])
                    for v in violations
                ]
    assert found == {}
