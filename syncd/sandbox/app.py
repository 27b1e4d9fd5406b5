"""Application assembly and the blocking/async entry points (``run_sandbox`` is what the CLI calls)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from syncd.sandbox import (
    control,
    control_events,
    routes_activity,
    routes_campaigns,
    routes_companies,
    routes_customers,
)
from syncd.sandbox.faults import FaultConfig
from syncd.sandbox.middleware import SANDBOX_KEY, api_middleware
from syncd.sandbox.runtime import Sandbox
from syncd.sandbox.seed import read_seed_file

DEFAULT_USER = "api_user"
DEFAULT_PASSWORD = "sandbox-secret"
PASSWORD_ENV = "SYNCD_SANDBOX_PASSWORD"
PORT_LINE_PREFIX = "SANDBOX_PORT="


@dataclass
class SandboxConfig:
    host: str = "127.0.0.1"
    port: int = 0
    seed_file: Path | None = None
    user: str = DEFAULT_USER
    password: str = DEFAULT_PASSWORD
    faults: FaultConfig = field(default_factory=FaultConfig)


def build_app(config: SandboxConfig) -> web.Application:
    app = web.Application(
        middlewares=[control.control_middleware, api_middleware], client_max_size=64 * 1024**2
    )
    app[SANDBOX_KEY] = Sandbox(
        user=config.user,
        password=config.password,
        seed_doc=read_seed_file(config.seed_file),
        startup_faults=config.faults,
    )
    for table in (
        routes_customers.routes,
        routes_companies.routes,
        routes_campaigns.routes,
        routes_activity.routes,
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
    runner = web.AppRunner(
        build_app(config), access_log=None, shutdown_timeout=0.5, handler_cancellation=True
    )
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port)
    await site.start()
    server = site._server
    sockets = getattr(server, "sockets", None) or []
    port = int(sockets[0].getsockname()[1]) if sockets else config.port
    if ready is not None:
        ready(port)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def _print_port(port: int) -> None:
    sys.stdout.write(f"{PORT_LINE_PREFIX}{port}\n")
    sys.stdout.flush()


def run_sandbox(
    host: str,
    port: int,
    seed_file: Path | None,
    latency_ms: int,
    jitter_ms: int,
    seed: int,
    user: str,
    password: str,
    print_port: bool,
    faults: FaultConfig | None = None,
) -> None:
    """Blocking entry point for the CLI. CLI latency/jitter/seed override the same keys of ``faults``."""
    fault_config = faults or FaultConfig()
    fault_config.latency_ms = latency_ms or fault_config.latency_ms
    fault_config.jitter_ms = jitter_ms or fault_config.jitter_ms
    fault_config.seed = seed or fault_config.seed
    config = SandboxConfig(
        host=host, port=port, seed_file=seed_file, user=user, password=password, faults=fault_config
    )

    async def main() -> None:
        task = asyncio.ensure_future(serve(config, ready=_print_port if print_port else None))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(main())


def load_faults_file(path: Path | None) -> FaultConfig | None:
    if path is None:
        return None
    return FaultConfig.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
