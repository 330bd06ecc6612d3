"""The UI's routes: thin handlers that read a page's data (:mod:`.views`), render it (Jinja,
:mod:`.charts`) and answer with the security headers; forms act through the same library
calls as the JSON API, after checking the session's CSRF token."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, partial
from importlib import resources
from typing import Any, Final
from urllib.parse import parse_qsl, quote

import jinja2
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from seismo._version import __version__
from seismo.alerts.lifecycle import SILENCE_MATCHERS
from seismo.errors import InputError
from seismo.loop import registry
from seismo.monitor.windows import parse_duration
from seismo.report.html import render_html
from seismo.service.state import ServiceState
from seismo.service.ui import render
from seismo.service.ui.session import (
    Forbidden,
    SignIn,
    Viewer,
    checked_csrf,
    login_url,
    safe_next,
    session_of,
    set_cookie,
    sign_in,
    viewer,
)
from seismo.service.ui.views import (
    ALERT_STATES,
    DEFAULT_WINDOWS,
    MAX_WINDOWS,
    NotFound,
    Query,
    alert_counts,
    alerts,
    model_page,
    overview,
    rollouts_page,
    window_page,
)
from seismo.store.base import StoreError

log = logging.getLogger("seismo.service.ui")
router = APIRouter(include_in_schema=False)

#: The pages' policy: nothing but this service's own script, styles and frames.
CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
HEADERS: Final = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
STATIC: Final = ("ui.css", "ui.js")
RANGES: Final = (30, 90, 180, 365)


class Compressed:
    """gzip for the UI's pages (a year of a wide model's heatmap is megabytes of SVG that
    compress tenfold); the JSON API is left as it is."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=2048, compresslevel=5)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/ui"):
            await self.gzip(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def _state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.seismo
    return state


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("seismo.service.ui", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(render.FILTERS)
    environment.globals.update(static=static_url, window_href=render.window_href)
    return environment


@cache
def _asset(name: str) -> tuple[bytes, str]:
    data = resources.files("seismo.service.ui").joinpath("static", name).read_bytes()
    return data, hashlib.sha256(data).hexdigest()[:16]


def static_url(name: str) -> str:
    return f"/ui/static/{name}?v={_asset(name)[1]}"


def secured(response: Response, csp: str = CSP) -> Response:
    response.headers["Content-Security-Policy"] = csp
    for key, value in HEADERS.items():
        response.headers.setdefault(key, value)
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _html(
    request: Request,
    template: str,
    who: Viewer | None,
    *,
    status: int = 200,
    cookie: tuple[str, str] | None = None,
    **context: Any,
) -> Response:
    state = _state(request)
    counts = alert_counts(state) if who is not None else {"firing": 0, "acknowledged": 0}
    body = (
        _environment()
        .get_template(template)
        .render(
            viewer=who,
            counts=counts,
            path=request.url.path,
            version=__version__,
            **context,
        )
    )
    response = HTMLResponse(body, status_code=status)
    if cookie is not None:
        set_cookie(response, request, cookie[1], cookie[0])
    return secured(response)


def _problem(request: Request, who: Viewer | None, status: int, message: str) -> Response:
    return _html(
        request, "problem.html.j2", who, status=status, status_code=status, message=message
    )


Handler = Callable[[Viewer], Awaitable[Response]]


async def _page(request: Request, handler: Handler, *, scope: str = "read") -> Response:
    """Run a page for whoever is asking: sign-in, scope, and errors as pages, never JSON."""
    state = _state(request)
    try:
        who, cookie = await run_in_threadpool(viewer, state, request, scope=scope)
    except SignIn:
        if request.method == "GET":
            return secured(RedirectResponse(login_url(request), status_code=303))
        return _problem(request, None, 401, "Sign in first: your session ended.")
    except Forbidden as error:
        return _problem(request, None, 403, error.message)
    try:
        response = await handler(who)
    except NotFound as error:
        response = _problem(request, who, 404, str(error))
    except InputError as error:
        response = _problem(request, who, 422, str(error))
    except StoreError as error:  # unreachable, or failing: a page that says so, never a 500
        log.error("UI page %s: %s", request.url.path, error)
        response = _problem(
            request, None, 503, "The store cannot be read right now; nothing was changed. Retry."
        )
    if cookie is not None:
        set_cookie(response, request, cookie[1], cookie[0])
    return response


async def _form(request: Request) -> dict[str, str]:
    """The fields of a posted form (the pages' forms are URL-encoded; the body's size is
    bounded for every route by the service's request limits). A field sent twice keeps its
    first value."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return {}
    body = (await request.body()).decode("utf-8", "replace")
    fields: dict[str, str] = {}
    for key, value in parse_qsl(body, keep_blank_values=True, max_num_fields=100):
        fields.setdefault(key, value)
    return fields


async def _act(request: Request, action: Callable[[Viewer, dict[str, str]], Response]) -> Response:
    """A form's action: admin scope and a valid CSRF token, else refused (nothing done)."""

    async def handler(who: Viewer) -> Response:
        form = await _form(request)
        if not checked_csrf(who, form.get("csrf")):
            return _problem(
                request,
                who,
                403,
                "This form's security token is missing or stale; reload the page and retry. "
                "Nothing was changed.",
            )
        return await run_in_threadpool(action, who, form)

    return await _page(request, handler, scope="admin")


def _back(target: str | None, fallback: str) -> Response:
    return secured(RedirectResponse(safe_next(target) if target else fallback, status_code=303))


# -- assets and sign-in ---------------------------------------------------------------------


@router.get("/ui/static/{name}")
async def asset(name: str, v: str = "") -> Response:
    if name not in STATIC:
        return secured(Response("not found", status_code=404, media_type="text/plain"))
    data, digest = _asset(name)
    media = "text/css" if name.endswith(".css") else "text/javascript"
    response = Response(data, media_type=f"{media}; charset=utf-8")
    response.headers["Cache-Control"] = (
        "public, max-age=31536000, immutable" if v == digest else "no-cache"
    )
    return secured(response)


@router.get("/ui/login")
async def login_form(request: Request, next: str = "/ui") -> Response:
    state = _state(request)
    if not await run_in_threadpool(state.auth.enabled):
        return _back(next, "/ui")
    return _html(request, "login.html.j2", None, next=safe_next(next), error=None)


@router.post("/ui/login")
async def login(request: Request) -> Response:
    state = _state(request)
    form = await _form(request)
    target = safe_next(form.get("next"))
    if not _same_origin(request):
        return _problem(request, None, 403, "Sign-in must come from this service's own page.")
    outcome = await run_in_threadpool(sign_in, state, form.get("token", ""))
    if isinstance(outcome, str):
        return _html(request, "login.html.j2", None, status=401, next=target, error=outcome)
    cookie, _ = outcome
    response = secured(RedirectResponse(target, status_code=303))
    set_cookie(response, request, cookie)
    return response


@router.post("/ui/logout")
async def logout(request: Request) -> Response:
    state = _state(request)
    if not _same_origin(request):
        return _problem(request, None, 403, "Sign-out must come from this service's own page.")
    found = await run_in_threadpool(session_of, state, request)
    form = await _form(request)
    if found is not None and checked_csrf(Viewer("", False, found.csrf, found), form.get("csrf")):
        await run_in_threadpool(state.store.end_ui_session, found.id_hash)
    response = secured(RedirectResponse("/ui/login", status_code=303))
    response.delete_cookie("seismo_session", path="/ui")
    return response


def _same_origin(request: Request) -> bool:
    """The sign-in form posts no CSRF token (there is no session yet): its Origin (sent by
    every current browser on a POST) must be this service."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return origin.rstrip("/") == f"{request.url.scheme}://{request.url.netloc}"


# -- pages ----------------------------------------------------------------------------------


@router.get("/ui")
async def overview_page(request: Request) -> Response:
    state = _state(request)

    async def handler(who: Viewer) -> Response:
        rows = await run_in_threadpool(overview, state)
        return _html(request, "overview.html.j2", who, rows=rows, render=render)

    return await _page(request, handler)


@router.get("/ui/models/{name}")
async def model(
    request: Request,
    name: str,
    last: str = "",
    segment: str = "",
    version: str = "",
    metric: str = "",
) -> Response:
    state = _state(request)
    params = request.query_params

    async def handler(who: Viewer) -> Response:
        query = Query(
            last=_bounded(last, "last"),
            start=_day(params.get("from"), "from"),
            end=_day(params.get("to"), "to", end=True),
            segment=segment,
            version=_version(version),
            metric=metric or None,
        )
        page = await run_in_threadpool(model_page, state, name, query)
        return _html(
            request,
            "model.html.j2",
            who,
            page=page,
            charts=render.model_charts(page),
            ranges=RANGES,
            legend=render.legend(),
        )

    return await _page(request, handler)


@router.get("/ui/models/{name}/windows/{start}")
async def window(
    request: Request,
    name: str,
    start: str,
    segment: str = "",
    version: str = "",
    feature: str = "",
) -> Response:
    state = _state(request)

    async def handler(who: Viewer) -> Response:
        moment = _moment(start, "start")
        page = await run_in_threadpool(window_page, state, name, moment, segment, _version(version))
        features = page.shown.digest.features
        index = next((i for i, f in enumerate(features) if f.name == feature), None)
        if feature and index is None:
            raise NotFound(f"window has no feature {feature!r}")
        shown = page.shown.item
        source = render.window_href(name, moment, shown.segment, shown.version).split("?")
        report_src = source[0] + "/report" + (f"?{source[1]}" if len(source) > 1 else "")
        return _html(
            request,
            "window.html.j2",
            who,
            page=page,
            feature=feature or None,
            focus=None if index is None else features[index],
            report_src=report_src,
            report_anchor="" if index is None else f"#col-{index}",
        )

    return await _page(request, handler)


@router.get("/ui/models/{name}/windows/{start}/report")
async def window_report(
    request: Request, name: str, start: str, segment: str = "", version: str = ""
) -> Response:
    """The window's drift report as the report page renders it, framed by the window page
    (its own policy: its inline styles and its one script, by hash)."""
    state = _state(request)

    async def handler(who: Viewer) -> Response:
        moment = _moment(start, "start")

        def rendered() -> str:
            found = state.history.window(name, moment, segment=segment, version=_version(version))
            if found is None:
                raise NotFound(f"no {segment or 'overall'} window of {name!r} starts at {start}")
            return render_html(found.report)

        html = await run_in_threadpool(rendered)
        policy = _meta_policy(html) + "; frame-ancestors 'self'"
        response = HTMLResponse(html)
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
        return secured(response, policy)

    return await _page(request, handler)


def _meta_policy(html: str) -> str:
    found = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    return found.group(1).replace("&#39;", "'") if found else "default-src 'none'"


@router.get("/ui/alerts")
async def alerts_page(request: Request, state: str = "firing", model: str = "") -> Response:
    service = _state(request)

    async def handler(who: Viewer) -> Response:
        found = await run_in_threadpool(alerts, service, state, model or None)
        models = await run_in_threadpool(service.history.models)
        return _html(
            request,
            "alerts.html.j2",
            who,
            alerts=found,
            which=state,
            model=model,
            models=models,
            states=ALERT_STATES,
        )

    return await _page(request, handler)


@router.get("/ui/alerts/{alert_id}")
async def alert_page(request: Request, alert_id: str) -> Response:
    state = _state(request)

    async def handler(who: Viewer) -> Response:
        found = await run_in_threadpool(state.store.get_alert, alert_id)
        if found is None:
            raise NotFound(f"no alert {alert_id!r}")
        history = await run_in_threadpool(
            lambda: state.store.list_alert_events(alert_id=alert_id, limit=200)
        )
        return _html(
            request,
            "alert.html.j2",
            who,
            alert=found,
            history=history,
            matchers=SILENCE_MATCHERS,
        )

    return await _page(request, handler)


@router.get("/ui/models/{name}/rollouts")
async def rollouts(request: Request, name: str) -> Response:
    state = _state(request)
    every = bool(request.query_params.get("all"))

    async def handler(who: Viewer) -> Response:
        page = await run_in_threadpool(partial(rollouts_page, state, name, every=every))
        return _html(request, "rollouts.html.j2", who, page=page)

    return await _page(request, handler)


@router.get("/ui/models/{name}/versions/{number}/promote")
async def confirm_promote(request: Request, name: str, number: str) -> Response:
    return await _confirm(request, name, "promote", number)


@router.get("/ui/models/{name}/rollback")
async def confirm_rollback(request: Request, name: str) -> Response:
    return await _confirm(request, name, "rollback", None)


async def _confirm(request: Request, name: str, action: str, number: str | None) -> Response:
    state = _state(request)

    async def handler(who: Viewer) -> Response:
        version = None if number is None else _version(number)
        page = await run_in_threadpool(rollouts_page, state, name)
        if version is not None and version not in {v.version for v in page.versions}:
            raise NotFound(f"model {name!r} has no version {version}")
        return _html(request, "confirm.html.j2", who, page=page, action=action, number=version)

    return await _page(request, handler, scope="admin")


# -- actions --------------------------------------------------------------------------------


@router.post("/ui/alerts/{alert_id}/ack")
async def acknowledge(request: Request, alert_id: str) -> Response:
    state = _state(request)

    def action(who: Viewer, form: dict[str, str]) -> Response:
        try:
            state.alerting.book.acknowledge(alert_id, who.name, form.get("comment", ""))
        except KeyError:
            raise NotFound(f"no alert {alert_id!r}") from None
        return _back(form.get("next"), f"/ui/alerts/{quote(alert_id)}")

    return await _act(request, action)


@router.post("/ui/silences")
async def silence(request: Request) -> Response:
    state = _state(request)

    def action(who: Viewer, form: dict[str, str]) -> Response:
        matchers = {
            key: form[key] for key in SILENCE_MATCHERS if form.get(f"match_{key}") and key in form
        }
        if not matchers:
            raise InputError("choose at least one field the silence matches (rule, model ...)")
        try:
            length = parse_duration(form.get("duration", ""))
        except InputError as error:
            raise InputError(f"duration: {error}") from None
        state.alerting.book.silence(
            matchers,
            ends_at=datetime.now(UTC) + length,
            created_by=who.name,
            comment=form.get("comment", ""),
        )
        return _back(form.get("next"), "/ui/alerts")

    return await _act(request, action)


@router.post("/ui/models/{name}/versions/{number}/promote")
async def promote(request: Request, name: str, number: str) -> Response:
    state = _state(request)
    return await _act(
        request,
        lambda who, form: _transition(state, name, who, form, registry.promote, number),
    )


@router.post("/ui/models/{name}/rollback")
async def rollback(request: Request, name: str) -> Response:
    state = _state(request)
    return await _act(
        request, lambda who, form: _transition(state, name, who, form, registry.rollback)
    )


def _transition(
    state: ServiceState,
    name: str,
    who: Viewer,
    form: dict[str, str],
    change: Callable[..., Any],
    number: str | None = None,
) -> Response:
    """Promote or roll back as the registry does it for the API, with the viewer's name and
    reason; an InputError (nothing to roll back, unknown version ...) is the page's 422."""
    if state.store.get_model_version(name) is None:
        raise NotFound(f"no model named {name!r}")
    args = () if number is None else (_version(number),)
    change(state.store, name, *args, actor=who.name, reason=form.get("reason", ""))
    state.models.forget(name)
    return _back(None, f"/ui/models/{quote(name, safe='')}/rollouts")


# -- query parsing --------------------------------------------------------------------------


def _bounded(text: str, name: str) -> int:
    if not text:
        return DEFAULT_WINDOWS
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_WINDOWS:
        raise InputError(f"{name}: a number of windows from 1 to {MAX_WINDOWS}, not {text!r}")
    return int(text)


def _version(text: str) -> int | None:
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) < 2**31:
        raise InputError(f"version: a version number, not {text!r}")
    return int(text)


def _day(text: str | None, name: str, *, end: bool = False) -> datetime | None:
    """A date (YYYY-MM-DD, the whole day; ``end``: through its end) or an ISO time."""
    if not text:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            if not 1970 <= day.year <= 9000:
                raise ValueError(text)
            moment = datetime.combine(day, time(), UTC)
            return moment + timedelta(days=1) if end else moment
        return _moment(text, name)
    except ValueError:
        raise InputError(f"{name}: a date like 2013-03-01, not {text!r}") from None


def _moment(text: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"{name}: an ISO 8601 time like 2013-03-04T00:00:00Z, not {text!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
