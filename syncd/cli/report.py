"""How a sync run looks on a terminal: progress while it runs, a summary table at the end."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from syncd.app.sync import Progress as ProgressCallback
from syncd.app.sync import TenantOutcome

COLUMNS = ("read", "created", "updated", "deleted", "unchanged", "rejected", "failed", "retried", "adopted")
CAMPAIGN_COLUMNS = ("wanted", "added", "changed", "removed", "kept", "skipped", "polled", "vanished")


@contextmanager
def progress_reporter(console: Console) -> Iterator[ProgressCallback | None]:
    """A live line per stream on a terminal; nothing otherwise (the log carries one line per run)."""
    if not console.is_terminal:
        yield None
        return
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def update(stream: str, counters: dict[str, int]) -> None:
            if stream not in tasks:
                tasks[stream] = bar.add_task(stream)
            done = ", ".join(f"{name} {counters[name]}" for name in COLUMNS if counters.get(name))
            bar.update(tasks[stream], description=f"{stream}: {done}")

        yield update


def summary_table(outcome: TenantOutcome) -> Table:
    """One column per stream, one row per counter: readable on an 80-column terminal."""
    table = Table(title=f"syncd · tenant {outcome.tenant}")
    table.add_column("")
    for stream in outcome.streams:
        table.add_column(stream.stream, justify="right")
    table.add_row("status", *(s.status for s in outcome.streams))
    for name in (*COLUMNS, *CAMPAIGN_COLUMNS, "waiting", "warnings"):
        if any(name in s.counters for s in outcome.streams):
            table.add_row(name, *(str(s.counters.get(name, "")) for s in outcome.streams))
    table.add_row("API requests", *(str(s.requests) for s in outcome.streams))
    table.add_row("duration", *(f"{s.seconds:.1f}s" for s in outcome.streams))
    return table


def print_outcome(outcome: TenantOutcome, console: Console) -> None:
    """A tenant-wide problem (bad credentials, Thulium unreachable) is said once, by its key, instead
    of a table of aborted streams each repeating it."""
    if outcome.problems:
        print("\n".join([*outcome.problems, f"{outcome.tenant}: sync stopped"]), file=sys.stderr)
        return
    console.print(summary_table(outcome))
    for stream in outcome.streams:
        for operation, keys in stream.preview.items():
            console.print(f"{stream.stream}: would {operation} e.g. keys {escape(', '.join(keys))}")
        if stream.error:
            print(f"{stream.stream}: aborted: {stream.error}", file=sys.stderr)
