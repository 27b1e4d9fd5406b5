"""The web process: an aiohttp app that orchestrators and load balancers probe, and Thulium posts to.

It never starts the embedded broker, only looks at it: the worker owns the broker, and a
health probe that started one would report healthy exactly when the worker is missing. The
webhook receiver likewise hands runs only to a broker that is already up.
"""

from __future__ import annotations

from aiohttp import web

from syncd.settings import ProcessSettings
from syncd.web.health import StateEngines, check_health
from syncd.web.webhooks import ROUTE as WEBHOOK_ROUTE
from syncd.web.webhooks import WEBHOOKS_KEY, WebhookReceiver, close_receiver, receive_webhook

SETTINGS_KEY = web.AppKey("settings", ProcessSettings)
ENGINES_KEY = web.AppKey("state_engines", StateEngines)
SHUTDOWN_TIMEOUT_S = 5.0


def create_app(settings: ProcessSettings) -> web.Application:
    app = web.Application()
    app[SETTINGS_KEY] = settings
    app[ENGINES_KEY] = StateEngines()
    app[WEBHOOKS_KEY] = WebhookReceiver(settings, app[ENGINES_KEY])
    app.on_cleanup.append(close_receiver)
    app.on_cleanup.append(_dispose_engines)
    add_routes(app)
    return app


def add_routes(app: web.Application) -> None:
    from syncd.web.metrics import add_metrics_route

    app.router.add_get("/health", health)
    app.router.add_post(WEBHOOK_ROUTE, receive_webhook)
    add_metrics_route(app)


def serve(settings: ProcessSettings, host: str, port: int) -> None:
    """Blocks until SIGTERM or SIGINT, which aiohttp turns into a graceful exit (returns normally)."""
    web.run_app(create_app(settings), host=host, port=port, print=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S)


async def health(request: web.Request) -> web.Response:
    result = await check_health(request.app[SETTINGS_KEY], request.app[ENGINES_KEY])
    return web.json_response(result.to_json(), status=200 if result.ok else 503)


async def _dispose_engines(app: web.Application) -> None:
    app[ENGINES_KEY].dispose()
