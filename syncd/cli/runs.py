"""``syncd runs``: the run history per tenant and stream, newest first (``syncd.app.run_history``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from syncd.cli.failure_tables import make_console
from syncd.cli.options import JsonOption, StreamOption, TenantOption, TenantsOption, chosen_scopes, fail
from syncd.cli.run_tables import runs_table


def register(app: typer.Typer) -> None:
    app.command("runs")(runs)


def runs(
    config: TenantsOption = None,
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
    from syncd.app.failure_queries import run_query
    from syncd.app.run_history import close_crashed_runs, merge_newest

    try:
        query = run_query(stream, status, limit)
    except ValueError as exc:
        raise fail(str(exc)) from None
    with chosen_scopes(config, tenant) as (settings, scopes):
        close_crashed_runs(settings, [(s.stores.sessions, s.name) for s in scopes], "syncd runs")
        rows = merge_newest([s.runs.find(query) for s in scopes], limit)
    if json_output:
        from syncd.cli.json_output import dumps, runs_document

        typer.echo(dumps(runs_document(rows, datetime.now(UTC))))
        return
    console = make_console()
    if not rows:
        console.print("no runs match")
        return
    console.print(runs_table(rows))
