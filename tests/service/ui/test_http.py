"""The UI over HTTP, in process: security headers on every answer, sessions and CSRF, scopes,
and every wrong input answered by a page that says what to do — never a traceback or a 500."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seismo.service.auth import create_token
from seismo.store.base import StoreUnavailable
from tests.monitor.test_history import log_day
from tests.service.conftest import Service

DAY = timedelta(days=1)
T0 = datetime(2025, 1, 6, tzinfo=UTC)
MODEL = "elsewhere"


@pytest.fixture
def history(service: Service) -> Service:
    for day in range(4):
        log_day(service.store, T0 + day * DAY, 40, seed=day, model=MODEL)
    response = service.client.post("/v1/monitor/run")
    assert response.status_code == 200, response.text
    # The service sees new and revoked tokens at once (not after its cache's 5 s).
    service.client.app.state.seismo.auth._ttl = 0.0  # type: ignore[attr-defined]
    return service


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def _pages(service: Service) -> list[str]:
    windows = service.client.get(f"/v1/models/{MODEL}/drift").json()["windows"]
    start = windows[-1]["start"]
    return [
        "/ui",
        f"/ui/models/{MODEL}",
        f"/ui/models/{MODEL}?last=30&metric=accuracy",
        f"/ui/models/{MODEL}/windows/{start}",
        f"/ui/models/{MODEL}/windows/{start}/report",
        "/ui/alerts",
        "/ui/alerts?state=resolved",
        f"/ui/models/{MODEL}/rollouts",
        f"/ui/models/{MODEL}/rollback",
        "/ui/static/ui.css",
        "/ui/static/ui.js",
    ]


def test_every_answer_carries_the_security_headers(history: Service) -> None:
    for path in [*_pages(history), "/ui/models/nope", "/ui/models/x?last=0"]:
        response = history.client.get(path)
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "frame-ancestors" in policy, path
        assert "unsafe-inline" not in policy or path.endswith("/report"), path
        assert "script-src 'self'" in policy or path.endswith("/report"), path
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
        assert response.status_code in (200, 404, 422), (path, response.status_code)


def test_pages_show_the_history(history: Service) -> None:
    client = history.client
    page = client.get(f"/ui/models/{MODEL}").text
    assert page.count('<g class="hm-row"') == len(
        client.get(f"/v1/models/{MODEL}/drift").json()["windows"][0]["features"]
    )
    assert f'data-model="{MODEL}"' in client.get("/ui").text
    assert "cancer" in client.get("/ui").text  # a model without windows is listed too


def test_an_open_service_still_needs_the_forms_csrf_token(history: Service) -> None:
    client = history.client
    page = client.get(f"/ui/models/{MODEL}/rollback")
    assert page.status_code == 200
    # No session is kept for an open service: a CSRF cookie the forms repeat.
    assert client.cookies.get("seismo_csrf") == _csrf(page.text)
    assert "seismo_session" not in client.cookies
    assert "samesite=strict" in page.headers["set-cookie"].lower()
    refused = client.post(f"/ui/models/{MODEL}/rollback", data={"reason": "x"})
    assert refused.status_code == 403 and "Nothing was changed" in refused.text
    wrong = client.post(f"/ui/models/{MODEL}/rollback", data={"reason": "x", "csrf": "forged"})
    assert wrong.status_code == 403
    # With it, the action runs: here it has nothing to roll back, and says so.
    done = client.post(
        f"/ui/models/{MODEL}/rollback", data={"reason": "x", "csrf": _csrf(page.text)}
    )
    assert done.status_code == 422 and "roll back" in done.text.lower()
    # Another browser (another cookie) cannot use this page's token.
    client.cookies.set("seismo_csrf", "y" * 43, path="/ui")
    stolen = client.post(
        f"/ui/models/{MODEL}/rollback", data={"reason": "x", "csrf": _csrf(page.text)}
    )
    assert stolen.status_code == 403


def test_with_tokens_the_ui_asks_for_one_and_keeps_a_session(history: Service) -> None:
    client = history.client
    read = create_token(history.store, "reader", "read")
    create_token(history.store, "writer", "ingest")
    first = client.get("/ui/models/elsewhere?last=30", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == "/ui/login?next=%2Fui%2Fmodels%2Felsewhere%3Flast%3D30"
    assert client.get("/ui/login").status_code == 200
    bad = client.post("/ui/login", data={"token": "seismo_wrong", "next": "/ui"})
    assert bad.status_code == 401 and "unknown or revoked" in bad.text
    signed = client.post(
        "/ui/login",
        data={"token": read, "next": "/ui/models/elsewhere?last=30"},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    assert signed.headers["location"] == "/ui/models/elsewhere?last=30"
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/ui" in cookie
    assert read not in signed.headers["set-cookie"]
    assert client.get("/ui/models/elsewhere").status_code == 200
    # A reader cannot act, even with the page's CSRF token.
    csrf = _csrf(client.get("/ui").text)  # the sign-out form carries it
    refused = client.post(f"/ui/models/{MODEL}/rollback", data={"csrf": csrf, "reason": "x"})
    assert refused.status_code == 403 and "needs 'admin'" in unescape(refused.text)
    # Revoking the token ends its sessions.
    history.store.revoke_token("reader", at=datetime.now(UTC))
    assert client.get("/ui", follow_redirects=False).status_code == 303
    # Signing out forgets the session.
    client.cookies.clear()
    admin = create_token(history.store, "boss", "admin")
    client.post("/ui/login", data={"token": admin, "next": "/ui"})
    csrf = _csrf(client.get("/ui").text)
    assert client.post("/ui/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    client.cookies.clear()
    assert client.get("/ui", follow_redirects=False).status_code == 303


def test_a_bearer_token_reads_pages_without_a_session(history: Service) -> None:
    client = history.client
    read = create_token(history.store, "reader", "read")
    ingest = create_token(history.store, "writer", "ingest")
    assert client.get("/ui", headers={"Authorization": f"Bearer {read}"}).status_code == 200
    assert client.get("/ui", headers={"Authorization": f"Bearer {ingest}"}).status_code == 403


@pytest.mark.parametrize(
    "target",
    ["//evil.example/x", "https://evil.example/", "/elsewhere", "/ui\\@evil", "", "javascript:x"],
)
def test_sign_in_never_sends_the_browser_elsewhere(history: Service, target: str) -> None:
    read = create_token(history.store, "reader", "read")
    signed = history.client.post(
        "/ui/login", data={"token": read, "next": target}, follow_redirects=False
    )
    assert signed.headers["location"] == "/ui"


def test_sign_in_from_another_site_is_refused(history: Service) -> None:
    read = create_token(history.store, "reader", "read")
    response = history.client.post(
        "/ui/login",
        data={"token": read, "next": "/ui"},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403 and "seismo_session" not in response.headers.get(
        "set-cookie", ""
    )


BAD_QUERIES: list[tuple[str, int, str]] = [
    ("/ui/models/nope", 404, "no model named 'nope'"),
    (f"/ui/models/{MODEL}?last=0", 422, "last"),
    (f"/ui/models/{MODEL}?last=abc", 422, "last"),
    (f"/ui/models/{MODEL}?from=yesterday", 422, "from"),
    (f"/ui/models/{MODEL}?from=2025-02-01&to=2025-01-01", 422, "before"),
    (f"/ui/models/{MODEL}?version=x", 422, "version"),
    (f"/ui/models/{MODEL}?version=99", 404, "no version 99"),
    (f"/ui/models/{MODEL}?segment=a%3Db", 404, "no segment"),
    (f"/ui/models/{MODEL}?metric=nope", 422, "metric"),
    (f"/ui/models/{MODEL}/windows/not-a-time", 422, "ISO 8601"),
    (f"/ui/models/{MODEL}/windows/1999-01-01T00:00:00Z", 404, "no overall window"),
    ("/ui/alerts?state=sleeping", 422, "state"),
    ("/ui/alerts/nope", 404, "no alert"),
    (f"/ui/models/{MODEL}/versions/7/promote", 404, "no version 7"),
    ("/ui/static/secret.txt", 404, "not found"),
]


@pytest.mark.parametrize(("path", "status", "says"), BAD_QUERIES)
def test_wrong_input_is_a_page_that_says_what(
    history: Service, path: str, status: int, says: str
) -> None:
    response = history.client.get(path)
    assert response.status_code == status, response.text[:300]
    assert says in unescape(response.text)
    assert "Traceback" not in response.text


query_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    params=st.dictionaries(
        st.sampled_from(["last", "from", "to", "segment", "version", "metric", "feature"]),
        st.one_of(query_text, st.integers(-5, 2000).map(str)),
        max_size=4,
    ),
    page=st.sampled_from(["model", "window", "alerts"]),
)
def test_no_query_makes_a_page_fail(history: Service, params: dict[str, Any], page: str) -> None:
    path = {
        "model": f"/ui/models/{MODEL}",
        "window": f"/ui/models/{MODEL}/windows/2025-01-07T00:00:00Z",
        "alerts": "/ui/alerts",
    }[page]
    response = history.client.get(path, params=params)
    assert response.status_code in (200, 404, 422), (params, response.text[:300])
    if response.headers["content-type"].startswith("application/json"):
        # Refused before any page by the service's request limits (a NUL in the query).
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "invalid_query"
    else:
        assert response.headers["content-type"].startswith("text/html")


class Counting:
    """The service's store, counting the windows handed out (digests, and payloads)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.digests = 0
        self.payloads = 0

    def window_digests(self, *args: Any, **kwargs: Any) -> Any:
        found = self.store.window_digests(*args, **kwargs)
        self.digests += len(found)
        return found

    def get_windows(self, *args: Any, **kwargs: Any) -> Any:
        found = self.store.get_windows(*args, **kwargs)
        self.payloads += len(found)
        return found

    def latest_windows(self, *args: Any, **kwargs: Any) -> Any:
        found = self.store.latest_windows(*args, **kwargs)
        self.payloads += len(found)
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


@pytest.mark.parametrize(
    ("query", "shown", "reach"),
    [
        ("last=2&metric=precision", 2, 0),  # no rule on precision: the shown windows only
        ("last=1&metric=precision", 1, 0),
        ("last=1&metric=accuracy", 1, 14),  # accuracy-drop looks back 14 windows
    ],
)
def test_a_model_page_reads_the_digests_of_the_windows_it_shows(
    history: Service, query: str, shown: int, reach: int
) -> None:
    state = history.client.app.state.seismo  # type: ignore[attr-defined]
    counting = Counting(state.store)
    state.store = state.history.store = counting
    page = history.client.get(f"/ui/models/{MODEL}?{query}")
    assert page.status_code == 200
    assert page.text.count('class="hm-row"') > 0
    starts = re.search(r'data-starts="([^"]*)"', page.text)
    assert starts is not None and len(starts.group(1).split(",")) == shown
    assert counting.payloads == 0  # no window decoded: digests only
    assert shown <= counting.digests <= shown + min(reach, 4 - shown)


def test_a_store_that_fails_is_a_page_saying_so(
    history: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(*_: Any, **__: Any) -> Any:
        raise StoreUnavailable("database is locked")

    state = history.client.app.state.seismo  # type: ignore[attr-defined]
    monkeypatch.setattr(state.store, "window_digests", unavailable)
    response = history.client.get(f"/ui/models/{MODEL}")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert "cannot be read right now" in response.text and "locked" not in response.text


def test_with_tokens_every_ui_route_but_sign_in_and_assets_needs_a_session(
    history: Service,
) -> None:
    """The UI's routes check the session themselves (not a scope dependency): every one of
    them, taken from the router, sends a browser without a session to sign in (GET) or
    refuses it (POST)."""
    from fastapi.routing import APIRoute

    from seismo.service.ui import router

    create_token(history.store, "reader", "read")
    client = history.client
    checked = 0
    for route in router.routes:
        assert isinstance(route, APIRoute)
        path = route.path.format(name=MODEL, start="2025-01-06T00:00:00Z", alert_id="x", number="1")
        for method in route.methods:
            if route.path in ("/ui/login", "/ui/logout", "/ui/static/{name}"):
                continue
            response = client.request(method, path, follow_redirects=False)
            if method == "GET":
                assert response.status_code == 303, path
                assert response.headers["location"].startswith("/ui/login?next=")
            else:
                assert response.status_code == 401, path
            checked += 1
    assert checked >= 12
