"""The web process: an aiohttp app that orchestrators and load balancers probe, Thulium posts to, and
ops people look at (the console at ``/``).

It never starts the embedded broker, only looks at it: the worker owns the broker, and a
health probe that started one would report healthy exactly when the worker is missing. The
webhook receiver likewise hands runs only to a broker that is already up.
"""

from __future__ import annotations

import logging

from aiohttp import hdrs, web

from syncd.app.state_views import StateViews
from syncd.observability.logs import register_basic_auth
from syncd.settings import ProcessSettings
from syncd.web.console.routes import add_console
from syncd.web.daemon_sender import DaemonSender
from syncd.web.health import check_health, details_allowed
from syncd.web.metrics import add_metrics_route
from syncd.web.webhooks import ROUTE as WEBHOOK_ROUTE
from syncd.web.webhooks import WEBHOOKS_KEY, WebhookReceiver, close_receiver, receive_webhook

SETTINGS_KEY = web.AppKey("settings", ProcessSettings)
STATE_VIEWS_KEY = web.AppKey("state_views", StateViews)
SENDER_KEY = web.AppKey("daemon_sender", DaemonSender)
SHUTDOWN_TIMEOUT_S = 5.0

log = logging.getLogger("syncd.web")


def create_app(settings: ProcessSettings) -> web.Application:
    if settings.health_password is not None:  # never in a log line, whatever library quotes it
        register_basic_auth(settings.health_user, settings.health_password.get_secret_value())
    app = web.Application()
    app[SETTINGS_KEY] = settings
    app[STATE_VIEWS_KEY] = StateViews()
    app[SENDER_KEY] = DaemonSender(settings)
    app[WEBHOOKS_KEY] = WebhookReceiver(settings, app[STATE_VIEWS_KEY], app[SENDER_KEY])
    app.on_cleanup.append(close_receiver)
    app.on_cleanup.append(_close_sender)
    app.on_cleanup.append(_dispose_state_views)
    add_routes(app)
    add_console(app, settings, app[STATE_VIEWS_KEY], app[SENDER_KEY])
    return app


def add_routes(app: web.Application) -> None:
    app.router.add_get("/health", health)
    app.router.add_post(WEBHOOK_ROUTE, receive_webhook)
    add_metrics_route(app, app[SETTINGS_KEY], app[STATE_VIEWS_KEY])


def serve(settings: ProcessSettings, host: str, port: int) -> None:
    """Blocks until SIGTERM or SIGINT, which aiohttp turns into a graceful exit (returns normally)."""
    web.run_app(create_app(settings), host=host, port=port, print=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S)


async def health(request: web.Request) -> web.Response:
    """200 or 503 for load balancers; the body's details only for the ops credentials."""
    settings = request.app[SETTINGS_KEY]
    result = await check_health(settings, request.app[STATE_VIEWS_KEY])
    header = request.headers.get(hdrs.AUTHORIZATION)
    details = details_allowed(header, settings)
    if header is not None and not details:
        log.warning("health details refused: wrong credentials, or SYNCD_HEALTH_PASSWORD is not set")
    response = web.json_response(result.to_json(details=details), status=200 if result.ok else 503)
    response.headers[hdrs.CACHE_CONTROL] = "no-store"  # a proxy must not hand the details to the next caller
    return response


async def _close_sender(app: web.Application) -> None:
    app[SENDER_KEY].close()


async def _dispose_state_views(app: web.Application) -> None:
    app[STATE_VIEWS_KEY].dispose()
