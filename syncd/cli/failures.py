"""``syncd failures list|show|retry|resolve|export`` and ``syncd runs``: the typer layer.

Tenants are found as ``syncd status`` finds them (``--config`` file or folder, else
SYNCD_CONFIG_DIR), so one command covers every tenant a deployment serves; ``--tenant``
narrows it to one. A broken tenant file is reported and skipped, never fatal for the others.
The queries and updates are the state layer's (``syncd.state.failure_log``, ``syncd.state.run_log``).
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from syncd.cli.daemon import JsonOption, fail, settings_for
from syncd.engine.campaigns.run import CAMPAIGN_PREFIX
from syncd.settings import ConfigError
from syncd.settings.activity import ACTIVITY_STREAMS
from syncd.vocabulary import PENDING_KINDS

if TYPE_CHECKING:  # every `syncd` command loads this module: the rest is imported when a command runs
    from rich.console import Console
    from rich.table import Table

    from syncd.settings import ProcessSettings
    from syncd.settings.discovery import TenantRef
    from syncd.state.db import StateDb
    from syncd.state.failure_log import FailureLog, FailureQuery, FailureRow
    from syncd.state.run_log import RunLog, RunRecord

LIST_LIMIT = 50
MESSAGE_CHARS = 60
FIXED_STREAMS = ("companies", "customers")
FORMATS = ("csv", "json")

failures_app = typer.Typer(
    help="Rows that could not be synced: list, show, retry, resolve, export.", no_args_is_help=True
)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Tenant file or folder (default: SYNCD_CONFIG_DIR, else ./config)."),
]
TenantOption = Annotated[
    str | None, typer.Option("--tenant", help="Only this tenant (its file name without .toml).")
]
StreamOption = Annotated[
    list[str] | None,
    typer.Option("--stream", help="companies, customers or campaign:<outbound_id>; repeatable."),
]
KindOption = Annotated[
    list[str] | None,
    typer.Option(
        "--kind",
        help="rejected, permanent, retryable or waiting (the default: all four), or warning "
        "(customers synced without their company); repeatable.",
    ),
]
StatusOption = Annotated[str, typer.Option("--status", help="open, resolved or all.")]
OlderOption = Annotated[
    str | None, typer.Option("--older-than", help="Failing for longer than this (30m, 2h, 7d).")
]
NewerOption = Annotated[
    str | None, typer.Option("--newer-than", help="Failing for less than this (30m, 2h, 7d).")
]
KeysArgument = Annotated[list[str] | None, typer.Argument(help="Source keys (default: every match).")]


@dataclass(frozen=True)
class Scope:
    """One tenant whose state DB exists, and its state DB."""

    ref: TenantRef
    db: StateDb

    @property
    def name(self) -> str:
        return self.ref.name

    @property
    def failures(self) -> FailureLog:
        from syncd.state.failure_log import FailureLog

        return FailureLog(self.db.sessions, self.name)

    @property
    def runs(self) -> RunLog:
        from syncd.state.run_log import RunLog

        return RunLog(self.db.sessions, self.name)


def register(app: typer.Typer) -> None:
    """Add ``failures`` (a group) and ``runs`` to the main app."""
    app.add_typer(failures_app, name="failures")
    app.command("runs")(runs)


# -- failures --------------------------------------------------------------------------------------


@failures_app.command("list")
def list_failures(
    config: ConfigOption = None,
    tenant: TenantOption = None,
    stream: StreamOption = None,
    kind: KindOption = None,
    status: StatusOption = "open",
    older_than: OlderOption = None,
    newer_than: NewerOption = None,
    limit: Annotated[int, typer.Option(help="Show at most this many, newest first.")] = LIST_LIMIT,
    json_output: JsonOption = False,
) -> None:
    """Failures, newest first: tenant, stream, key, kind, HTTP status, attempts and Thulium's message."""
    query = failure_query(stream, kind, status, older_than, newer_than, limit=limit)
    now = datetime.now(UTC)
    with tenant_scopes(config, tenant) as (_, scopes):
        rows = [row for s in scopes for row in s.failures.find(query, now)]
        total = sum(s.failures.count(query, now) for s in scopes)
    rows.sort(key=lambda row: row.last_failed_at, reverse=True)
    rows = rows[:limit]
    if json_output:
        from syncd.ops.json_output import dumps, failures_document

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
    config: ConfigOption = None,
    tenant: TenantOption = None,
    stream: StreamOption = None,
) -> None:
    """Every column of one failure (open or resolved), including Thulium's request id and the next attempt."""
    query = failure_query(stream, None, "all", None, None, keys=[key])
    now = datetime.now(UTC)
    with tenant_scopes(config, tenant) as (_, scopes):
        rows = [row for s in scopes for row in s.failures.find(query, now)]
    if not rows:
        raise fail(f"no failure recorded for key {key!r}")
    if len(rows) > 1:
        places = ", ".join(f"{row.tenant} {row.stream}" for row in rows)
        raise fail(f"key {key!r} has failures in {places}; name one with --tenant and --stream")
    make_console().print(failure_details(rows[0], now))


@failures_app.command("retry")
def retry(
    keys: KeysArgument = None,
    config: ConfigOption = None,
    tenant: TenantOption = None,
    stream: StreamOption = None,
    kind: KindOption = None,
    older_than: OlderOption = None,
    newer_than: NewerOption = None,
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

    query = failure_query(stream, kind, "open", older_than, newer_than, keys=keys)
    now = datetime.now(UTC)
    console = make_console()
    code = 0
    with tenant_scopes(config, tenant) as (settings, scopes):
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
def resolve(
    keys: KeysArgument = None,
    config: ConfigOption = None,
    tenant: TenantOption = None,
    stream: StreamOption = None,
    kind: KindOption = None,
    older_than: OlderOption = None,
    newer_than: NewerOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Mark the chosen open failures resolved: leave them be. A row that fails again reopens its failure."""
    query = failure_query(stream, kind, "open", older_than, newer_than, keys=keys)
    now = datetime.now(UTC)
    with tenant_scopes(config, tenant) as (_, scopes):
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
def export(
    format: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to this file (default: stdout).", dir_okay=False),
    ] = None,
    config: ConfigOption = None,
    tenant: TenantOption = None,
    stream: StreamOption = None,
    kind: KindOption = None,
    status: StatusOption = "open",
    older_than: OlderOption = None,
    newer_than: NewerOption = None,
    limit: Annotated[int | None, typer.Option(help="At most this many, newest first.")] = None,
) -> None:
    """Every column of the chosen failures as CSV or JSON (times in UTC, ISO 8601)."""
    from syncd.ops.failures import export_failures

    if format not in FORMATS:
        raise fail(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}")
    query = failure_query(stream, kind, status, older_than, newer_than, limit=limit)
    now = datetime.now(UTC)
    with tenant_scopes(config, tenant) as (_, scopes):
        rows = [row for s in scopes for row in s.failures.find(query, now)]
    if limit is not None:
        rows = sorted(rows, key=lambda row: row.last_failed_at, reverse=True)[:limit]
    if output is None:
        export_failures(rows, format, sys.stdout)
        return
    with output.open("w", encoding="utf-8", newline="") as out:
        count = export_failures(rows, format, out)
    typer.echo(f"exported {count} failures to {output}", err=True)


# -- runs ------------------------------------------------------------------------------------------


def runs(
    config: ConfigOption = None,
    tenant: TenantOption = None,
    stream: StreamOption = None,
    status: Annotated[
        list[str] | None,
        typer.Option("--status", help="running, ok, partial, aborted, fenced or crashed; repeatable."),
    ] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many, newest first.")] = 20,
    json_output: JsonOption = False,
) -> None:
    """Run history per tenant and stream: when, mode, trigger, status, duration, what changed, job id.

    A run whose process died is closed as crashed first (once its lease is gone), so none stays running.
    """
    from syncd.ops.runs import close_crashed_runs, merge_newest
    from syncd.state.run_log import RunQuery

    try:
        query = RunQuery(tuple(check_streams(stream)), tuple(status or ()), limit)
    except ValueError as exc:
        raise fail(str(exc)) from None
    with tenant_scopes(config, tenant) as (settings, scopes):
        close_crashed_runs(settings, [(s.db.sessions, s.name) for s in scopes], "syncd runs")
        rows = merge_newest([s.runs.find(query) for s in scopes], limit)
    if json_output:
        from syncd.ops.json_output import dumps, runs_document

        typer.echo(dumps(runs_document(rows, datetime.now(UTC))))
        return
    console = make_console()
    if not rows:
        console.print("no runs match")
        return
    console.print(runs_table(rows))


# -- retry runs ------------------------------------------------------------------------------------


def retry_run(
    settings: ProcessSettings, scope: Scope, rows: list[FailureRow], broker: str | None, console: Console
) -> int:
    """Queue or run the streams the retried rows belong to; returns an exit code like `syncd sync`."""
    from syncd.cli.report import print_outcome
    from syncd.ops.failures import queue_retry, run_retry_here, sync_streams
    from syncd.worker.lease import TenantBusy

    streams = sync_streams(row.stream for row in rows)
    try:
        if broker is not None:
            job = queue_retry(settings, scope.ref, streams, broker)
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
    from syncd.state.failure_log import FailureQuery

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


# -- tenants ---------------------------------------------------------------------------------------


@contextmanager
def tenant_scopes(config: Path | None, tenant: str | None) -> Iterator[tuple[ProcessSettings, list[Scope]]]:
    """The chosen tenants that have a state DB; each state DB opened once, closed at the end."""
    from syncd.state.db import StateDbs

    settings = settings_for(config)
    dbs = StateDbs()
    try:
        scopes, unreachable = [], 0
        for ref in tenant_refs(settings, tenant):
            state = state_of(ref)
            unreachable += state == UNREACHABLE
            if state != READY:
                continue
            scopes.append(Scope(ref, dbs.get(ref.state_url)))
        if unreachable and not scopes:
            raise typer.Exit(1)  # nothing could be read, and why was said: not an empty answer
        yield settings, scopes
    finally:
        dbs.dispose()


def tenant_refs(settings: ProcessSettings, name: str | None) -> list[TenantRef]:
    from syncd.settings.discovery import tenant_files, tenant_ref

    try:
        files = tenant_files(settings.config_dir)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    if name is not None:
        files = [file for file in files if file.stem == name]
        if not files:
            raise fail(f"{settings.config_dir}: no tenant file named {name}.toml is served here")
    refs = []
    for file in files:
        try:
            refs.append(tenant_ref(file, settings))
        except ConfigError as exc:
            if name is not None:
                raise fail(str(exc)) from None
            typer.echo(f"skipped: {exc}", err=True)
    return refs


READY, EMPTY, UNREACHABLE = "ready", "empty", "unreachable"


def state_of(ref: TenantRef) -> str:
    """A tenant that never ran has no failures; an unreachable state DB is said, then skipped."""
    from syncd.source.probe import first_line, mask_url
    from syncd.state import migrate
    from syncd.state.db import UNUSABLE_DB_ERRORS

    try:
        if migrate.is_current(ref.state_url):
            return READY
    except UNUSABLE_DB_ERRORS as exc:
        shown = mask_url(ref.state_url)
        typer.echo(f"tenant {ref.name}: cannot reach the state DB {shown}: {first_line(exc)}", err=True)
        return UNREACHABLE
    typer.echo(f"tenant {ref.name}: no state yet (the tenant has never run)", err=True)
    return EMPTY


# -- options ---------------------------------------------------------------------------------------


def failure_query(
    streams: Sequence[str] | None,
    kinds: Sequence[str] | None,
    status: str,
    older_than: str | None,
    newer_than: str | None,
    *,
    keys: Sequence[str] | None = None,
    limit: int | None = None,
) -> FailureQuery:
    from syncd.ops.failures import parse_duration
    from syncd.state.failure_log import FailureQuery

    try:
        return FailureQuery(
            streams=tuple(check_streams(streams)),
            kinds=tuple(kinds or ()),
            status=status,
            older_than=None if older_than is None else parse_duration(older_than),
            newer_than=None if newer_than is None else parse_duration(newer_than),
            keys=tuple(keys or ()),
            limit=limit,
        )
    except ValueError as exc:
        raise fail(str(exc)) from None


def check_streams(streams: Sequence[str] | None) -> list[str]:
    """A typo would silently match nothing; state streams are the CRM two, one per campaign rule and the
    activity streams."""
    for stream in streams or ():
        if stream not in (*FIXED_STREAMS, *ACTIVITY_STREAMS) and not stream.startswith(CAMPAIGN_PREFIX):
            raise ValueError(
                f"unknown stream {stream!r}; expected companies, customers, campaign:<outbound_id> "
                f"or an activity stream ({', '.join(ACTIVITY_STREAMS)})"
            )
    return list(streams or ())


# -- rendering -------------------------------------------------------------------------------------


def make_console() -> Console:
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 200)


def failures_table(rows: list[FailureRow], now: datetime) -> Table:
    from rich.markup import escape
    from rich.table import Table

    table = Table("tenant", "stream", "key", "kind", "operation", "HTTP", "attempts", "since", "last failed")
    table.add_column("message", overflow="ellipsis", no_wrap=True, max_width=MESSAGE_CHARS)
    for row in rows:
        table.add_row(
            escape(row.tenant),
            escape(row.stream),
            escape(row.source_key),
            row.kind + ("" if row.resolved_at is None else " (resolved)"),
            row.operation,
            "-" if row.http_status is None else str(row.http_status),
            str(row.attempts),
            ago(row.first_failed_at, now),
            ago(row.last_failed_at, now),
            escape(row.message),
        )
    return table


def failure_details(row: FailureRow, now: datetime) -> Table:
    from rich.markup import escape
    from rich.table import Table

    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for label, value in (
        ("tenant", row.tenant),
        ("stream", row.stream),
        ("key", row.source_key),
        ("status", row.status),
        ("kind", row.kind),
        ("operation", row.operation),
        ("HTTP status", row.http_status),
        ("message", row.message),
        ("request id", row.request_id),
        ("payload hash", row.payload_hash),
        ("attempts", row.attempts),
        ("first failed", moment(row.first_failed_at, now)),
        ("last failed", moment(row.last_failed_at, now)),
        ("next attempt", moment(row.next_attempt_at, now) if row.kind in PENDING_KINDS else None),
        ("resolved", moment(row.resolved_at, now)),
    ):
        table.add_row(label, escape("-" if value is None else str(value)))
    return table


def runs_table(rows: list[RunRecord]) -> Table:
    from rich.markup import escape
    from rich.table import Table

    from syncd.ops.runs import counters_summary

    table = Table(
        "tenant", "run", "stream", "started (UTC)", "mode", "trigger", "status", "took", "changes", "API req"
    )
    table.add_column("job")
    for row in rows:
        table.add_row(
            escape(row.tenant),
            f"#{row.id}",
            escape(row.stream),
            row.started_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            row.mode,
            row.trigger,
            row.status,
            took(row),
            counters_summary(row.counters) or "-",
            str(row.requests),
            row.job_id or "-",
        )
    return table


def took(row: RunRecord) -> str:
    """A running run says when its process last showed it alive; a crashed one ran until then."""
    if row.seconds is not None:
        return f"{row.seconds:.1f}s"
    if row.last_seen_at is None:
        return "running"
    return f"running, seen {ago(row.last_seen_at, datetime.now(UTC))}"


def breakdown(rows: Sequence[FailureRow]) -> str:
    """``3 failures (customers 2, companies 1)``."""
    by_stream = Counter(row.stream for row in rows)
    parts = ", ".join(f"{stream} {count}" for stream, count in sorted(by_stream.items()))
    return f"{len(rows)} failure{'' if len(rows) == 1 else 's'} ({parts})"


def moment(value: datetime | None, now: datetime) -> str | None:
    if value is None:
        return None
    return f"{value.astimezone(UTC).isoformat(sep=' ', timespec='seconds')} ({ago(value, now)})"


def ago(value: datetime, now: datetime) -> str:
    seconds = int((now - value).total_seconds())
    if seconds < 0:
        return f"in {describe(-seconds)}"
    return f"{describe(seconds)} ago"


def describe(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"
