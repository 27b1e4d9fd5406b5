"""The daemon's commands: worker, beat, web, up, resync, status, broker.

Kept apart from ``cli.py`` so the one-shot commands load without Celery; each command
imports what it needs when it runs.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from syncd.cli.options import JsonOption, TenantsOption, fail, settings_for
from syncd.settings import ConfigError, ProcessSettings

if TYPE_CHECKING:
    from syncd.app.resync import Dispatch, HandOff


def worker(
    concurrency: Annotated[
        int | None, typer.Option(help="Parallel tenant runs (SYNCD_WORKER_CONCURRENCY).")
    ] = None,
    config: TenantsOption = None,
) -> None:
    """Run a Celery worker: it carries tenant runs and beat's ticks."""
    from syncd.worker.app import configure
    from syncd.worker.startup import prepare

    settings = settings_for(config)
    if concurrency is not None:
        settings = settings.model_copy(update={"worker_concurrency": concurrency})
    app = configure(settings, prepare(settings))
    name = f"syncd-{socket.gethostname()}-{os.getpid()}@%h"
    app.worker_main(
        ["worker", f"--loglevel={settings.log_level}", "-n", name, "--without-gossip", "--without-mingle"]
    )


def beat(config: TenantsOption = None) -> None:
    """Run the scheduler: a tick every SYNCD_TICK_SECONDS; due times live in the state DB."""
    from syncd.worker.app import configure
    from syncd.worker.startup import prepare

    settings = settings_for(config)
    app = configure(settings, prepare(settings))
    app.start(["beat", f"--loglevel={settings.log_level}", "--scheduler", "celery.beat:Scheduler"])


def web(
    port: Annotated[int, typer.Option(envvar="PORT", help="Port to listen on.")] = 8000,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    config: TenantsOption = None,
) -> None:
    """Serve the console (/), /health, /metrics and the Thulium webhook receiver (POST /webhooks/<tenant>)."""
    from syncd.web.app import serve

    serve(settings_for(config), host, port)


def resync(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Tenant file.", dir_okay=False)
    ] = None,
    tenant: Annotated[str | None, typer.Option(help="Tenant name, looked up in SYNCD_CONFIG_DIR.")] = None,
    full: Annotated[bool, typer.Option("--full", help="Full reconcile instead of incremental.")] = False,
    stream: Annotated[
        list[str] | None, typer.Option("--stream", help="Only this stream; repeatable.")
    ] = None,
) -> None:
    """Queue a job on the live daemon and print its id; its runs (one per stream) follow in `syncd runs`."""
    from syncd.app.resync import enqueue_resync

    settings = ProcessSettings()
    try:
        job = enqueue_resync(
            settings,
            config=config,
            tenant=tenant,
            full=full,
            streams=stream,
            dispatch=daemon_dispatch(settings),
        )
    except (ConfigError, ValueError) as exc:
        raise fail(str(exc)) from None
    scope = ", ".join(job.streams) if job.streams else "all streams"
    typer.echo(f"queued job {job.id} (runs follow) for tenant {job.tenant}: {job.kind} ({scope})")


def daemon_dispatch(settings: ProcessSettings) -> Dispatch:
    """What hands a recorded job to the daemon on a broker; Celery loads only when a run is queued."""

    def dispatch(broker: str) -> HandOff:
        from syncd.worker.app import run_hand_off

        return run_hand_off(settings, broker)

    return dispatch


def status(config: TenantsOption = None, json_output: JsonOption = False) -> None:
    """Per tenant and stream: cursor, last run, pending and failed rows, lock holder, recent jobs."""
    from rich.console import Console

    from syncd.app.tenant_status import gather_status
    from syncd.cli.status_tables import render_status

    settings = settings_for(config)
    try:
        tenants = gather_status(settings)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    if json_output:
        from syncd.cli.json_output import dumps, status_document
        from syncd.state.types import utcnow

        typer.echo(dumps(status_document(tenants, utcnow())))
        return
    render_status(tenants, Console(width=None if sys.stdout.isatty() else 200))


def up(
    demo: Annotated[bool, typer.Option("--demo/--no-demo", help="Generate a demo source and tenant.")] = True,
    sandbox_port: Annotated[int, typer.Option(help="Port of the sandbox (Thulium simulator).")] = 8765,
    web_port: Annotated[int, typer.Option(help="Port of the web process (/health).")] = 8000,
    interval: Annotated[int, typer.Option(help="The demo tenant's sync interval in seconds.")] = 10,
    customers: Annotated[int, typer.Option(help="Demo source size.")] = 2000,
    sandbox_profile: Annotated[
        str, typer.Option(help="The sandbox's readings of the vendor document: default or adversarial.")
    ] = "default",
) -> None:
    """Start everything on this machine: (the sandbox and a demo,) an embedded Redis, worker, beat and web."""
    from syncd.cli.up import Stack

    stack = Stack(ProcessSettings(), demo, sandbox_port, web_port, interval, customers, sandbox_profile)
    code = stack.run()
    raise typer.Exit(code)


broker_app = typer.Typer(
    help="The embedded Redis used when SYNCD_BROKER_URL is not set.", no_args_is_help=True
)


@broker_app.command("url")
def broker_url_command() -> None:
    """Print the broker URL this process would use."""
    from syncd.broker.redis_broker import broker_url

    typer.echo(broker_url(ProcessSettings()))


@broker_app.command("stop")
def broker_stop() -> None:
    """Stop the embedded Redis (queued tasks persist in var/redis and come back with it)."""
    from syncd.broker.redis_broker import EmbeddedRedis

    EmbeddedRedis(ProcessSettings().var_dir).stop()
    typer.echo("embedded Redis stopped")


def register(app: typer.Typer) -> None:
    for command in (worker, beat, web, resync, status, up):
        app.command(command.__name__)(command)
    app.add_typer(broker_app, name="broker")
