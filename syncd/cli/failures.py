"""``syncd failures list|show|retry|resolve|export``: the typer commands.

Which tenants a command covers is ``syncd.app.tenant_scopes``' (``--config`` file or folder, else
SYNCD_CONFIG_DIR; ``--tenant`` narrows it to one); the queries and updates are the state layer's
(``syncd.state.failure_log``), asked through ``syncd.app.failure_queries``; the tables are
``syncd.cli.failure_tables``'.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from syncd.cli.failure_selection import Selection, selecting
from syncd.cli.failure_tables import breakdown, failure_details, failures_table, make_console
from syncd.cli.options import (
    JsonOption,
    KeysArgument,
    StreamOption,
    TenantOption,
    TenantsOption,
    chosen_scopes,
    fail,
)
from syncd.settings import ConfigError

if TYPE_CHECKING:  # every `syncd` command loads this module: the rest is imported when a command runs
    from rich.console import Console

    from syncd.app.state_views import FailureRow
    from syncd.app.tenant_scopes import Scope
    from syncd.settings import ProcessSettings

LIST_LIMIT = 50
FORMATS = ("csv", "json")

failures_app = typer.Typer(
    help="Rows that could not be synced: list, show, retry, resolve, export.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add ``failures`` (a group) to the main app."""
    app.add_typer(failures_app, name="failures")


# -- failures --------------------------------------------------------------------------------------


@failures_app.command("list")
@selecting(status=True)
def list_failures(
    *,
    selection: Selection,
    limit: Annotated[int, typer.Option(help="Show at most this many, newest first.")] = LIST_LIMIT,
    json_output: JsonOption = False,
) -> None:
    """Failures, newest first: tenant, stream, key, kind, HTTP status, attempts and Thulium's message."""
    query, status = selection.query(limit=limit), selection.status
    now = datetime.now(UTC)
    with chosen_scopes(selection.config, selection.tenant) as (_, scopes):
        rows = [row for s in scopes for row in s.failures.find(query, now)]
        total = sum(s.failures.count(query, now) for s in scopes)
    rows.sort(key=lambda row: row.last_failed_at, reverse=True)
    rows = rows[:limit]
    if json_output:
        from syncd.cli.json_output import dumps, failures_document

        typer.echo(dumps(failures_document(rows, total, status, limit, now)))
        return
    console = make_console()
    if not rows:
        console.print(f"no {status} failures match" if status != "all" else "no failures match")
        return
    console.print(failures_table(rows, now))
    more = f" (--limit {total} to see all)" if total > len(rows) else ""
    console.print(f"{len(rows)} of {total} {'' if status == 'all' else status + ' '}failures{more}")


@failures_app.command("show")
def show_failure(
    key: Annotated[str, typer.Argument(help="The row's source key.")],
    config: TenantsOption = None,
    tenant: TenantOption = None,
    stream: StreamOption = None,
) -> None:
    """Every column of one failure (open or resolved), including Thulium's request id and the next attempt."""
    query = Selection(stream=stream, status="all").query(keys=[key])
    now = datetime.now(UTC)
    with chosen_scopes(config, tenant) as (_, scopes):
        rows = [row for s in scopes for row in s.failures.find(query, now)]
    if not rows:
        raise fail(f"no failure recorded for key {key!r}")
    if len(rows) > 1:
        places = ", ".join(f"{row.tenant} {row.stream}" for row in rows)
        raise fail(f"key {key!r} has failures in {places}; name one with --tenant and --stream")
    make_console().print(failure_details(rows[0], now))


@failures_app.command("retry")
@selecting()
def retry(
    keys: KeysArgument = None,
    *,
    selection: Selection,
    here: Annotated[
        bool, typer.Option("--here", help="Run the sync in this process even when a daemon is live.")
    ] = False,
    no_run: Annotated[
        bool, typer.Option("--no-run", help="Only make them due; the next scheduled run retries them.")
    ] = False,
) -> None:
    """Make the chosen open failures due now and run them again (on the daemon if live, else here).

    A permanent or rejected failure becomes retryable, so it is re-read from the source and
    sent even if the row did not change. Exit 0/2/1 like `syncd sync` when run here.
    """
    from syncd.broker.redis_broker import live_broker_url

    query = selection.query(keys=keys)
    now = datetime.now(UTC)
    console = make_console()
    code = 0
    with chosen_scopes(selection.config, selection.tenant) as (settings, scopes):
        chosen = {s.name: s.failures.retry(query, now) for s in scopes}
        if not any(chosen.values()):
            console.print("no open failures match")
            return
        for scope in scopes:
            if chosen[scope.name]:
                console.print(f"tenant {scope.name}: {breakdown(chosen[scope.name])} due now")
        if no_run:
            console.print("the next run of each stream retries them (the daemon: within retry_interval)")
            return
        broker = None if here else live_broker_url(settings)
        for scope in scopes:
            if chosen[scope.name]:
                code = max(code, retry_run(settings, scope, chosen[scope.name], broker, console))
    raise typer.Exit(code)


@failures_app.command("resolve")
@selecting()
def resolve(
    keys: KeysArgument = None,
    *,
    selection: Selection,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Mark the chosen open failures resolved: leave them be. A row that fails again reopens its failure."""
    query = selection.query(keys=keys)
    now = datetime.now(UTC)
    with chosen_scopes(selection.config, selection.tenant) as (_, scopes):
        counts = {s.name: s.failures.count(query, now) for s in scopes}
        total = sum(counts.values())
        if not total:
            typer.echo("no open failures match")
            return
        per_tenant = ", ".join(f"{name}: {n}" for name, n in counts.items() if n)
        if not yes:
            typer.confirm(f"Resolve {total} open failures ({per_tenant})?", abort=True)
        done = {s.name: s.failures.resolve(query, now) for s in scopes}
    for name, rows in done.items():
        if rows:
            typer.echo(f"tenant {name}: {breakdown(rows)} resolved")


@failures_app.command("export")
@selecting(status=True)
def export(
    format: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to this file (default: stdout).", dir_okay=False),
    ] = None,
    *,
    selection: Selection,
    limit: Annotated[int | None, typer.Option(help="At most this many, newest first.")] = None,
) -> None:
    """Every column of the chosen failures as CSV or JSON (times in UTC, ISO 8601)."""
    from syncd.cli.failure_export import export_failures

    if format not in FORMATS:
        raise fail(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}")
    query = selection.query(limit=limit)
    now = datetime.now(UTC)
    with chosen_scopes(selection.config, selection.tenant) as (_, scopes):
        rows = [row for s in scopes for row in s.failures.find(query, now)]
    if limit is not None:
        rows = sorted(rows, key=lambda row: row.last_failed_at, reverse=True)[:limit]
    if output is None:
        export_failures(rows, format, sys.stdout)
        return
    with output.open("w", encoding="utf-8", newline="") as out:
        count = export_failures(rows, format, out)
    typer.echo(f"exported {count} failures to {output}", err=True)


# -- retry runs ------------------------------------------------------------------------------------


def retry_run(
    settings: ProcessSettings, scope: Scope, rows: list[FailureRow], broker: str | None, console: Console
) -> int:
    """Queue or run the streams the retried rows belong to; returns an exit code like `syncd sync`."""
    from syncd.app.failure_retry import queue_retry, run_retry_here, sync_streams
    from syncd.app.lease import TenantBusy
    from syncd.cli.daemon import daemon_dispatch
    from syncd.cli.report import print_outcome

    streams = sync_streams(row.stream for row in rows)
    try:
        if broker is not None:
            job = queue_retry(scope.ref, streams, daemon_dispatch(settings)(broker))
            scope_text = f"incremental ({', '.join(streams)})"
            console.print(f"queued job {job.id} (runs follow) for tenant {scope.name}: {scope_text}")
            return 0
        outcome = run_retry_here(settings, scope.ref, streams)
    except (ConfigError, ValueError) as exc:
        raise fail(str(exc)) from None
    except TenantBusy as exc:
        raise fail(f"{exc}; the daemon is syncing it now (try again later, or without --here)") from None
    print_outcome(outcome, console)
    console.print(f"tenant {scope.name}: {still_failing(scope, rows)}")
    return outcome.exit_code


def still_failing(scope: Scope, rows: list[FailureRow]) -> str:
    """After the run: how many of the retried rows are settled, and why the others still fail."""
    from syncd.app.state_views import FailureQuery

    query = FailureQuery(keys=tuple({row.source_key for row in rows}))
    retried = {(row.stream, row.source_key) for row in rows}
    left = [
        row
        for row in scope.failures.find(query, datetime.now(UTC))
        if (row.stream, row.source_key) in retried
    ]
    settled = len(rows) - len(left)
    return f"{settled} of {len(rows)} retried failures settled" + (
        f"; still failing: {breakdown(left)}" if left else ""
    )
