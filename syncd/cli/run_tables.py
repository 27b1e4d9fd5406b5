"""``syncd runs`` as text, and the summary of what a run changed that ``syncd status`` shows too."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from syncd.app.times import ago

if TYPE_CHECKING:  # every `syncd` command loads this module: rich is imported when a table is drawn
    from rich.table import Table

    from syncd.app.state_views import RunRecord

SUMMARY_COUNTERS = ("created", "updated", "deleted", "added", "changed", "removed", "rejected", "failed")


def counters_summary(counters: dict[str, Any]) -> str:
    """The non-zero counters that say what a run changed or could not change, in a fixed order."""
    return " ".join(f"{name}={counters[name]}" for name in SUMMARY_COUNTERS if counters.get(name))


def runs_table(rows: list[RunRecord]) -> Table:
    from rich.markup import escape
    from rich.table import Table

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
