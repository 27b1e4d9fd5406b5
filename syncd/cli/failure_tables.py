"""``syncd failures`` as text: the list, one failure's every column, and the per-stream breakdown."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from syncd.app.times import ago, moment
from syncd.vocabulary import PENDING_KINDS

if TYPE_CHECKING:  # every `syncd` command loads this module: rich is imported when a table is drawn
    from rich.console import Console
    from rich.table import Table

    from syncd.app.state_views import FailureRow

MESSAGE_CHARS = 60


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


def breakdown(rows: Sequence[FailureRow]) -> str:
    """``3 failures (customers 2, companies 1)``."""
    by_stream = Counter(row.stream for row in rows)
    parts = ", ".join(f"{stream} {count}" for stream, count in sorted(by_stream.items()))
    return f"{len(rows)} failure{'' if len(rows) == 1 else 's'} ({parts})"
