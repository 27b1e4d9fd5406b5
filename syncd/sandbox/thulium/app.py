"""Application assembly and the blocking/async entry points (``run_sandbox`` is what the CLI calls)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from syncd.sandbox.serving import announce_port, run_until_signalled, serve_runner
from syncd.sandbox.thulium.faults import FaultConfig
from syncd.sandbox.thulium.middleware import SANDBOX_KEY, api_middleware
from syncd.sandbox.thulium.readings import Readings, profile
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
from syncd.sandbox.thulium.seed import read_seed_file

DEFAULT_USER = "api_user"
DEFAULT_PASSWORD = "sandbox-secret"
PASSWORD_ENV = "SYNCD_SANDBOX_PASSWORD"
PORT_LINE_PREFIX = "SANDBOX_PORT="
MAX_LINE_BYTES = 1024 * 1024


@dataclass
class SandboxConfig:
    host: str = "127.0.0.1"
    port: int = 0
    seed_file: Path | None = None
    user: str = DEFAULT_USER
    password: str = DEFAULT_PASSWORD
    faults: FaultConfig = field(default_factory=FaultConfig)
    readings: Readings = field(default_factory=Readings)


def build_app(config: SandboxConfig) -> web.Application:
    app = web.Application(
        middlewares=[control.control_middleware, api_middleware], client_max_size=64 * 1024**2
    )
    app[SANDBOX_KEY] = Sandbox(
        user=config.user,
        password=config.password,
        seed_doc=read_seed_file(config.seed_file),
        startup_faults=config.faults,
        startup_readings=config.readings,
    )
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
    readings: Readings | None = None,
) -> None:
    """Blocking entry point for the CLI. CLI latency/jitter/seed override the same keys of ``faults``."""
    fault_config = faults or FaultConfig()
    fault_config.latency_ms = latency_ms or fault_config.latency_ms
    fault_config.jitter_ms = jitter_ms or fault_config.jitter_ms
    fault_config.seed = seed or fault_config.seed
    config = SandboxConfig(
        host=host,
        port=port,
        seed_file=seed_file,
        user=user,
        password=password,
        faults=fault_config,
        readings=readings or Readings(),
    )
    ready = functools.partial(announce_port, PORT_LINE_PREFIX) if print_port else None
    run_until_signalled(serve(config, ready=ready))


def load_readings(profile_name: str, readings_file: Path | None) -> Readings:
    """A profile, with any switch a readings file sets on top of it."""
    base = profile(profile_name)
    if readings_file is None:
        return base
    return Readings.from_json(json.loads(Path(readings_file).read_text(encoding="utf-8")), base)


def load_faults_file(path: Path | None) -> FaultConfig | None:
    if path is None:
        return None
    return FaultConfig.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
