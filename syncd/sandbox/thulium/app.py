"""Application assembly and the blocking/async entry points (``run_sandbox`` is what the CLI calls)."""

from __future__ import annotations

import functools
from collections.abc import Callable

from aiohttp import web

from syncd.sandbox.serving import announce_port, run_until_signalled, serve_runner
from syncd.sandbox.thulium.config import SandboxConfig
from syncd.sandbox.thulium.middleware import SANDBOX_KEY, api_middleware
from syncd.sandbox.thulium.routes import (
    campaigns,
    companies,
    connections,
    control,
    control_events,
    customers,
    reports,
)
from syncd.sandbox.thulium.runtime import Sandbox

PORT_LINE_PREFIX = "SANDBOX_PORT="
MAX_LINE_BYTES = 1024 * 1024


def build_app(config: SandboxConfig) -> web.Application:
    app = web.Application(
        middlewares=[control.control_middleware, api_middleware], client_max_size=64 * 1024**2
    )
    app[SANDBOX_KEY] = Sandbox(config)
    for table in (
        customers.routes,
        companies.routes,
        campaigns.routes,
        connections.routes,
        reports.routes,
        control.routes,
        control_events.routes,
    ):
        app.add_routes(table)
    app.on_cleanup.append(_close_webhooks)
    return app


async def _close_webhooks(app: web.Application) -> None:
    await app[SANDBOX_KEY].webhooks.close()


async def serve(config: SandboxConfig, *, ready: Callable[[int], None] | None = None) -> None:
    """Runs until cancelled. ``ready`` receives the bound port (useful with port 0)."""
    # aiohttp's own parser refuses request lines over 8190 bytes with a bare 400; the URL bound is a
    # reading of its own (readings.max_url_bytes), so the server itself must not impose one.
    runner = web.AppRunner(
        build_app(config),
        access_log=None,
        shutdown_timeout=0.5,
        handler_cancellation=True,
        max_line_size=MAX_LINE_BYTES,
    )
    await serve_runner(runner, config.host, config.port, ready=ready)


def run_sandbox(config: SandboxConfig, *, print_port: bool) -> None:
    """Blocking entry point of both command lines (see ``config_from_options``); ``print_port`` announces
    the bound port on stdout, for a launcher that asked for port 0."""
    ready = functools.partial(announce_port, PORT_LINE_PREFIX) if print_port else None
    run_until_signalled(serve(config, ready=ready))
