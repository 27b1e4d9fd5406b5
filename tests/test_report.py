"""What `syncd sync` and `syncd status` print: source keys are data, never rich markup."""

from __future__ import annotations

import io

from rich.console import Console

from syncd.app.sync import StreamOutcome, TenantOutcome
from syncd.app.tenant_status import StreamStatus
from syncd.cli.report import print_outcome
from syncd.cli.status_tables import streams_table
from syncd.state.stream_counts import StreamCounts


def test_preview_keys_are_printed_as_they_are_even_when_they_look_like_markup() -> None:
    keys = ["a[/]b", "[bold]x[/bold]", "1'; DROP TABLE customers; --"]
    outcome = TenantOutcome(
        "acme", [StreamOutcome("customers", "dry-run", {"created": 3}, 0, 0.1, {"create": keys})]
    )
    out = io.StringIO()
    print_outcome(outcome, Console(file=out, width=200, color_system=None))
    assert f"customers: would create e.g. keys {', '.join(keys)}" in out.getvalue()


def test_status_prints_a_cursor_that_ends_in_a_markup_like_key_as_it_is() -> None:
    cursor = "2026-11-29 07:00:00 | a[/]b"
    streams = [StreamStatus("customers", cursor, None, StreamCounts(1, 0, 0, 0))]
    out = io.StringIO()
    Console(file=out, width=200, color_system=None).print(streams_table(streams))
    assert "a[/]b" in out.getvalue()
