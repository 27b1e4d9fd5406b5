"""The console's routes: GET pages for anyone the auth lets in, POST actions for operators only.

Every POST is checked three ways before it changes anything: the caller may act (operator), the
``Origin`` is this site's, and the form's CSRF token is the caller's. After an action the browser
is redirected (303) to a page that says what happened; the notice is signed with the CSRF key, so
a link cannot make the console say something it did not do.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp_jinja2
import jinja2
from aiohttp import hdrs, web

from syncd.app.state_views import UNUSABLE_DB_ERRORS, StateViews
from syncd.observability.logs import register_secret
from syncd.settings import ConfigError, ProcessSettings
from syncd.vocabulary import JobStatus, RunStatus
from syncd.web.console import actions, pages
from syncd.web.console.auth import ConsoleAuth, Principal
from syncd.web.console.csrf import FIELD, CsrfKey, loopback, same_origin
from syncd.web.daemon_sender import DaemonSender

log = logging.getLogger("syncd.web.console")

NEEDED = "credentials required"
OPEN_ONLY_HERE = (
    "the console has no credentials set, so it answers only at 127.0.0.1 or localhost: "
    "set SYNCD_CONSOLE_OPERATOR_PASSWORD (or another SYNCD_CONSOLE_* credential) to serve it at this address"
)
NEVER_RAN = "no state yet: the tenant has never run (`syncd sync`, or wait for the daemon's first run)"
CSP = "; ".join(
    (
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "img-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
FAILURE_KINDS = ("retryable", "waiting", "permanent", "rejected", "warning")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Console:
    settings: ProcessSettings
    views: StateViews
    sender: DaemonSender
    auth: ConsoleAuth
    csrf: CsrfKey


CONSOLE_KEY = web.AppKey("console", Console)
PRINCIPAL_KEY = web.RequestKey("principal", Principal)


def add_console(
    app: web.Application, settings: ProcessSettings, views: StateViews, sender: DaemonSender
) -> None:
    console = Console(settings, views, sender, ConsoleAuth.from_settings(settings), CsrfKey(settings))
    register_secret(*console.auth.secrets)  # never in a log line, whatever library quotes them
    if settings.console_secret is not None:
        register_secret(settings.console_secret.get_secret_value())
    app[CONSOLE_KEY] = console
    app.on_response_prepare.append(_protect)
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("syncd.web.console", "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(age=pages.age, span=pages.span, redacted=pages.redacted)
    env.globals.update(
        FAILURE_KINDS=FAILURE_KINDS, RUN_STATUSES=tuple(RunStatus), JOB_STATUSES=tuple(JobStatus)
    )
    router = app.router
    router.add_get("/", guarded(overview))
    router.add_get("/tenants/{tenant}", guarded(tenant))
    router.add_get("/tenants/{tenant}/failures", guarded(failures))
    router.add_get("/tenants/{tenant}/failure", guarded(failure))
    router.add_post("/tenants/{tenant}/failures/retry", guarded(retry, act=True))
    router.add_post("/tenants/{tenant}/failures/resolve", guarded(resolve, act=True))
    router.add_post("/tenants/{tenant}/resync", guarded(resync, act=True))
    if console.auth.enabled:
        log.info("console: credentials required (viewer and operator roles)")
    else:
        log.warning("console: no SYNCD_CONSOLE_* credentials set, so anyone who reaches this port may act")


def guarded(handler: Handler, *, act: bool = False) -> Handler:
    async def run(request: web.Request) -> web.StreamResponse:
        console = request.app[CONSOLE_KEY]
        principal = console.auth.principal(request.headers.get(hdrs.AUTHORIZATION))
        if principal is None:
            raise web.HTTPUnauthorized(headers={hdrs.WWW_AUTHENTICATE: console.auth.challenge}, text=NEEDED)
        if not console.auth.enabled and not loopback(request.host):
            raise web.HTTPForbidden(text=OPEN_ONLY_HERE)
        request[PRINCIPAL_KEY] = principal
        if act:
            await refuse_forged(request, console, principal)
        try:
            return await handler(request)
        except pages.UnknownTenant as exc:
            raise web.HTTPNotFound(text=f"no tenant {exc.args[0]!r} is served here") from None
        except pages.BrokenTenant as exc:
            return render(request, "error.html", title=exc.name, error=exc.error)
        except pages.NeverRan as exc:
            return render(request, "error.html", title=str(exc), error=NEVER_RAN, status=404)
        except (ValueError, ConfigError) as exc:  # a filter the CLI would refuse too, in its words
            return render(request, "error.html", title="Not understood", error=str(exc), status=400)
        except UNUSABLE_DB_ERRORS as exc:
            error = f"state DB unreadable ({type(exc).__name__})"
            return render(request, "error.html", title="State DB", error=error, status=503)

    return run


async def _protect(request: web.Request, response: web.StreamResponse) -> None:
    """Console pages are never framed (clickjacking), run no script and post only to themselves."""
    if request.path == "/" or request.path.startswith("/tenants"):
        response.headers[hdrs.CACHE_CONTROL] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"


async def refuse_forged(request: web.Request, console: Console, principal: Principal) -> None:
    if not principal.may_act:
        raise web.HTTPForbidden(text="read-only: this role may look, not act")
    origin = request.headers.get(hdrs.ORIGIN)
    expected = console.settings.console_origin
    if expected is not None and origin and origin.rstrip("/").lower() != expected.rstrip("/").lower():
        raise web.HTTPForbidden(text="refused: the form was posted from another site")
    if expected is None and not same_origin(origin, request.host, request.scheme):
        raise web.HTTPForbidden(text="refused: the form was posted from another site")
    form = await request.post()
    given = form.get(FIELD)
    if not console.csrf.valid(principal, given if isinstance(given, str) else None):
        raise web.HTTPForbidden(text="refused: the form's CSRF token is missing or not yours")


def context(request: web.Request, **values: Any) -> dict[str, Any]:
    console = request.app[CONSOLE_KEY]
    principal: Principal = request[PRINCIPAL_KEY]
    notice = request.query.get("notice", "")
    return {
        "principal": principal,
        "may_act": principal.may_act,
        "csrf_field": FIELD,
        "csrf_token": console.csrf.token(principal),
        "notice": notice if console.csrf.signed(notice, request.query.get("sig", "")) else "",
        **values,
    }


def render(request: web.Request, template: str, *, status: int = 200, **values: Any) -> web.Response:
    return aiohttp_jinja2.render_template(template, request, context(request, **values), status=status)


def after(request: web.Request, path: str, done: actions.Done) -> web.HTTPSeeOther:
    console = request.app[CONSOLE_KEY]
    params = {"notice": done.said, "sig": console.csrf.sign(done.said)}
    return web.HTTPSeeOther(f"{path}?{urlencode(params)}")


# -- pages ----------------------------------------------------------------------------------


async def overview(request: web.Request) -> web.StreamResponse:
    console = request.app[CONSOLE_KEY]
    try:
        cards = await asyncio.to_thread(pages.overview, console.settings, console.views)
    except ConfigError as exc:
        return render(request, "error.html", title="No tenants", error=str(exc))
    return render(request, "overview.html", title="Tenants", cards=cards)


async def tenant(request: web.Request) -> web.StreamResponse:
    console, name = request.app[CONSOLE_KEY], request.match_info["tenant"]
    runs = pages.RunFilter(request.query.get("stream", ""), request.query.get("status", ""))
    job_status = request.query.get("job_status", "")
    page = await asyncio.to_thread(pages.tenant_page, console.settings, console.views, name, runs, job_status)
    return render(request, "tenant.html", title=name, page=page, runs_filter=runs, job_status=job_status)


def failure_filter(values: Any) -> pages.FailureFilter:
    return pages.FailureFilter(
        stream=values.get("stream", ""),
        kind=values.get("kind", ""),
        status=values.get("status", "open") or "open",
        older_than=values.get("older_than", ""),
        newer_than=values.get("newer_than", ""),
    )


async def failures(request: web.Request) -> web.StreamResponse:
    console, name = request.app[CONSOLE_KEY], request.match_info["tenant"]
    chosen = failure_filter(request.query)
    try:
        page = await asyncio.to_thread(pages.failures_page, console.settings, console.views, name, chosen)
    except ValueError as exc:
        return render(request, "error.html", title=f"{name}: failures", error=str(exc), status=400)
    except UNUSABLE_DB_ERRORS as exc:
        return render(
            request, "error.html", title=f"{name}: failures", error=f"state DB: {type(exc).__name__}"
        )
    return render(request, "failures.html", title=f"{name}: failures", page=page, chosen=chosen)


async def failure(request: web.Request) -> web.StreamResponse:
    console, name = request.app[CONSOLE_KEY], request.match_info["tenant"]
    stream, key = request.query.get("stream", ""), request.query.get("key", "")
    row = await asyncio.to_thread(pages.failure_detail, console.settings, console.views, name, stream, key)
    if row is None:
        raise web.HTTPNotFound(text=f"no failure recorded for key {key!r} in {stream!r}")
    return render(request, "failure.html", title=f"{name}: {stream} {key}", tenant=name, row=row)


# -- actions --------------------------------------------------------------------------------


async def retry(request: web.Request) -> web.StreamResponse:
    return await failure_action(request, "retry")


async def resolve(request: web.Request) -> web.StreamResponse:
    return await failure_action(request, "resolve")


async def failure_action(request: web.Request, action: str) -> web.StreamResponse:
    console, name = request.app[CONSOLE_KEY], request.match_info["tenant"]
    form = await request.post()
    chosen = failure_filter(form)
    keys = [str(value) for value in form.getall("failure", [])]
    every = _count(form.get("every"))
    try:
        if action == "retry":
            done = await asyncio.to_thread(
                actions.retry, console.settings, console.views, console.sender, name, chosen, keys, every
            )
        else:
            done = await asyncio.to_thread(
                actions.resolve, console.settings, console.views, name, chosen, keys, every
            )
    except ValueError as exc:
        done = actions.Done(f"{action} refused: {exc}")
    line = {"tenant": name, "action": action, "principal": request[PRINCIPAL_KEY].name}
    log.info("console action", extra={**line, "job_id": done.job_id})
    raise after(request, f"/tenants/{quote(name)}/failures", done)


def _count(value: object) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() else None


async def resync(request: web.Request) -> web.StreamResponse:
    console, name = request.app[CONSOLE_KEY], request.match_info["tenant"]
    form = await request.post()
    stream = str(form.get("stream", "") or "") or None
    full = form.get("kind") == "full"
    try:
        done = await asyncio.to_thread(
            actions.resync, console.settings, console.sender, name, full=full, stream=stream
        )
    except ValueError as exc:
        done = actions.Done(f"resync refused: {exc}")
    line = {"tenant": name, "action": "resync", "principal": request[PRINCIPAL_KEY].name}
    log.info("console action", extra={**line, "job_id": done.job_id})
    raise after(request, f"/tenants/{quote(name)}", done)
