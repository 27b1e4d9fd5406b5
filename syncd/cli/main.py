"""The `syncd` command line: one entry point for ops, the demo and the daemon's helpers."""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from syncd.cli.options import fail
from syncd.settings import ConfigError, ProcessSettings, Tenant, parse_tenant_file
from syncd.settings.loader import state_url_of

log = logging.getLogger("syncd.cli.main")

app = typer.Typer(
    help="Keep a Thulium CRM an exact mirror of your database.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def setup(
    debug: Annotated[
        bool, typer.Option("--debug", help="Log at DEBUG and show the traceback of any error.")
    ] = False,
) -> None:
    from syncd.app.explain import DEBUG_ENV
    from syncd.observability.logs import configure_logging

    if debug:
        os.environ[DEBUG_ENV] = "1"  # child processes (`syncd up`) inherit it
        os.environ["SYNCD_LOG_LEVEL"] = "DEBUG"
    configure_logging(ProcessSettings().log_level)


db_app = typer.Typer(help="State DB schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Tenant file; the url of its state section is used.", dir_okay=False),
]
UrlOption = Annotated[
    str | None, typer.Option("--url", help="State DB URL (overrides --config and SYNCD_STATE_URL).")
]


def resolve_state_url(config: Path | None, url: str | None) -> str:
    if url:
        return url
    if config is not None:
        try:
            tenant_file = parse_tenant_file(config)
        except ConfigError as exc:
            raise fail(str(exc)) from None
        return state_url_of(tenant_file, ProcessSettings())
    return ProcessSettings().default_state_url()


@db_app.command("upgrade")
def db_upgrade(
    config: ConfigOption = None,
    url: UrlOption = None,
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Create or upgrade the state DB schema (no option: every tenant's state DB and the default one)."""
    from syncd.state import migrate
    from syncd.worker.startup import state_urls

    if config or url:
        state_url = resolve_state_url(config, url)
        with state_db_errors(state_url):
            migrate.upgrade(state_url, revision)
            typer.echo(f"state DB at revision {migrate.current_revision(state_url)}")
        return
    for state_url in state_urls(ProcessSettings()):
        with state_db_errors(state_url):
            migrate.upgrade(state_url, revision)
            typer.echo(f"{mask(state_url)}: state DB at revision {migrate.current_revision(state_url)}")


def mask(url: str) -> str:
    from syncd.source.probe import mask_url

    return mask_url(url)


@contextmanager
def state_db_errors(url: str) -> Iterator[None]:
    """A ``db`` command's database is the state DB: say so, with its URL masked, in one line."""
    from syncd.source.probe import first_line
    from syncd.state.errors import NotADatabaseUrl, StateDbError

    try:
        yield
    except NotADatabaseUrl:
        raise fail(f"{mask(url)!r} is not a SQLAlchemy URL (e.g. postgresql+psycopg://...)") from None
    except StateDbError as exc:
        raise fail(f"cannot reach the state DB {mask(url)}: {first_line(exc)}") from None


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. base.")],
    config: ConfigOption = None,
    url: UrlOption = None,
) -> None:
    """Downgrade the state DB schema (base drops every syncd table)."""
    from syncd.state import migrate

    state_url = resolve_state_url(config, url)
    with state_db_errors(state_url):
        migrate.downgrade(state_url, revision)
        typer.echo(f"state DB at revision {migrate.current_revision(state_url)}")


@db_app.command("current")
def db_current(config: ConfigOption = None, url: UrlOption = None) -> None:
    """Show the state DB's revision and the newest one this syncd knows."""
    from syncd.state import migrate

    state_url = resolve_state_url(config, url)
    with state_db_errors(state_url):
        typer.echo(f"current: {migrate.current_revision(state_url)}  head: {migrate.head_revision()}")


@app.command("sandbox")
def sandbox(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 picks a free one).")] = 8765,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    seed_file: Annotated[
        Path | None, typer.Option(help="JSON with campaigns, statuses and custom fields to start with.")
    ] = None,
    latency_ms: Annotated[int, typer.Option(help="Added latency per request.")] = 0,
    jitter_ms: Annotated[int, typer.Option(help="Random extra latency, up to this.")] = 0,
    seed: Annotated[int, typer.Option(help="Random seed for jitter and fault injection.")] = 0,
    capacity: Annotated[
        int | None,
        typer.Option(min=1, help="Serve at most this many API requests at once; the rest queue."),
    ] = None,
    queue_limit: Annotated[
        int | None,
        typer.Option(min=0, help="With --capacity: this many may wait, past that 429 (default: K)."),
    ] = None,
    user: Annotated[str, typer.Option(help="API user the sandbox accepts.")] = "api_user",
    profile: Annotated[
        str,
        typer.Option(
            help="How to read what the vendor document leaves open: default (the kind readings) or "
            "adversarial (every unkind one: no rollback on a 5xx, an 8 KB URL limit, cascading company "
            "deletes, ...)."
        ),
    ] = "default",
) -> None:
    """Run the Thulium API simulator (password from SYNCD_SANDBOX_PASSWORD, default sandbox-secret)."""
    options = dict(locals())  # this command's parameters, named as config_from_options reads them
    from syncd.sandbox import config_from_options, run_sandbox

    try:
        config = config_from_options(options)
    except ValueError as exc:  # the profile, or a queue without a capacity: this command reads no file
        hint = "--queue-limit" if "--queue-limit" in str(exc) else "--profile"
        raise typer.BadParameter(str(exc), param_hint=hint) from None
    run_sandbox(config, print_port=True)


@app.command("sync")
def sync(
    config: Annotated[Path, typer.Option("--config", "-c", help="Tenant file.", dir_okay=False)],
    stream: Annotated[
        list[str] | None,
        typer.Option(
            "--stream",
            help="Only this stream (companies, customers, campaigns, connections, chats_summary, "
            "agents_work, wolkvox_chats); repeatable.",
        ),
    ] = None,
    full: Annotated[bool, typer.Option("--full", help="Full reconcile: read both sides completely.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the plan; write nothing anywhere.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Allow a full reconcile to delete many records.")
    ] = False,
    wait: Annotated[
        float | None,
        typer.Option(help="Seconds to wait while a daemon run holds the tenant (default: lock TTL + 5)."),
    ] = None,
) -> None:
    """Sync one tenant now, in-process (no broker). Exit 0: all synced, 2: some rows failed, 1: aborted."""
    from rich.console import Console

    from syncd.app.attempts import Attempt, attempted_runtime
    from syncd.app.collector import freeze_start_up
    from syncd.app.exclusive import exclusive_run
    from syncd.app.lease import TenantBusy
    from syncd.app.resync import check_streams
    from syncd.app.sync import sync_tenant
    from syncd.cli.report import print_outcome, progress_reporter
    from syncd.settings import load_tenant
    from syncd.source.errors import SourceMissing
    from syncd.state import migrate

    try:
        tenant = load_tenant(config)
        stream = check_streams(stream)
    except (ConfigError, ValueError) as exc:
        raise fail(str(exc)) from None
    state_url = dry_run_state_url(tenant.state_url) if dry_run else tenant.state_url
    stop_on_problems(tenant, state_url, None if dry_run else (stream, full))
    migrate.upgrade_if_needed(state_url)
    freeze_start_up()
    console = Console()
    try:
        with exclusive_run(ProcessSettings(), tenant, state_url, enabled=not dry_run, wait=wait) as lease:
            attempt = Attempt(full=full, dry_run=dry_run)
            with (
                attempted_runtime(tenant, state_url, attempt=attempt, lease=lease, streams=stream) as runtime,
                progress_reporter(console) as progress,
            ):
                outcome = sync_tenant(
                    runtime, streams=stream, full=full, dry_run=dry_run, force=force, progress=progress
                )
    except TenantBusy as exc:
        raise fail(f"{exc}; the daemon is syncing it now (try again later, or `syncd resync`)") from None
    except SourceMissing as exc:
        raise fail(f"{tenant.path}: {exc}") from None
    print_outcome(outcome, console)
    raise typer.Exit(outcome.exit_code)


def stop_on_problems(
    tenant: Tenant, state_url: str, attempt: tuple[list[str] | None, bool] | None = None
) -> None:
    """The local part of ``syncd check`` before the first write: a mistake is said once, in its words.

    ``attempt`` (streams, full) records the stopped attempt as aborted runs (``syncd.app.attempts``).
    """
    from syncd.app.attempts import record_refused_attempt
    from syncd.app.preflight import local_problems
    from syncd.vocabulary import Trigger

    problems = local_problems(tenant, state_url)
    if problems:
        lines = [problem.render(tenant.path) for problem in problems]
        if attempt is not None:
            record_refused_attempt(tenant, state_url, attempt[0], lines, full=attempt[1], trigger=Trigger.CLI)
        count = f"{len(problems)} problem{'' if len(problems) == 1 else 's'}"
        raise fail("\n".join([*lines, f"{tenant.name}: not synced, nothing written ({count})"]))


def dry_run_state_url(url: str) -> str:
    """The real state DB when it exists and is current; otherwise a throwaway one, so nothing is created."""
    from syncd.app.state_views import UNUSABLE_DB_ERRORS
    from syncd.state import migrate

    try:
        if migrate.is_current(url):
            return url
    except UNUSABLE_DB_ERRORS:
        log.debug("state DB not usable for a dry run; planning as a first run")
    return throwaway_state_url()


def throwaway_state_url() -> str:
    import atexit
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="syncd-dry-run-")
    atexit.register(shutil.rmtree, folder, True)
    return f"sqlite:///{folder}/state.sqlite"


def register_daemon_commands() -> None:
    from syncd.cli import check, daemon, failures, init, runs

    daemon.register(app)
    init.register(app)
    check.register(app)
    failures.register(app)
    runs.register(app)


register_daemon_commands()


def main() -> None:
    """The ``syncd`` command: an error that escapes a command is said in a few lines, not a traceback."""
    from syncd.app.explain import debugging, explain

    try:
        app()
    except Exception as exc:
        if debugging():
            raise
        typer.echo(explain(exc), err=True)
        raise SystemExit(1) from None
    finally:
        # The interpreter's last collections at exit walk every object the imports made (over 100,000):
        # a fifth of a second of a `syncd sync` with nothing to do. What a command opened its with-blocks
        # have closed by now, so nothing left needs the collector to exit right.
        gc.freeze()
