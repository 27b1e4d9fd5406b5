"""The failures module's own rules, and the same commands on a PostgreSQL state DB."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from syncd.app.failure_queries import parse_duration
from syncd.app.failure_retry import sync_streams
from syncd.sandbox import SandboxProcess
from syncd.state.failure_log import FailureQuery
from tests.ops.conftest import synced_tenant


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("7d", timedelta(days=7)),
        ("1w", timedelta(weeks=1)),
        ("1h30m", timedelta(minutes=90)),
        (" 45S ", timedelta(seconds=45)),
    ],
)
def test_durations_ops_type(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "7", "d", "2 h", "1.5h", "-1d", "3x", "1h 30m"])
def test_anything_else_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_state_streams_map_to_the_sync_streams_that_settle_them_in_sync_order() -> None:
    assert sync_streams(["campaign:00002", "customers", "campaign:00001", "companies"]) == [
        "companies",
        "customers",
        "campaigns",
    ]
    assert sync_streams([]) == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"status": "closed"}, "unknown status"),
        ({"kinds": ("fatal",)}, "unknown kind"),
        ({"limit": 0}, "limit"),
    ],
)
def test_a_query_refuses_what_would_silently_match_nothing(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FailureQuery(**changes)  # type: ignore[arg-type]


@pytest.mark.postgres
def test_the_commands_on_a_postgresql_state_db(
    tmp_path: Path, sandbox: SandboxProcess, postgres_url: str
) -> None:
    tenant = synced_tenant(tmp_path, sandbox, state_url=postgres_url)
    folder = str(tenant.folder)
    exported = json.loads(tenant.ok("failures", "export", "-c", folder, "--format", "json").stdout)
    assert {(r["stream"], r["source_key"]): r["kind"] for r in exported} == tenant.expected_kinds()
    total = len(exported)
    assert f"{total} of {total} open failures" in tenant.ok("failures", "list", "-c", folder).stdout
    assert "health: degraded" in tenant.ok("status", "-c", folder).stdout

    tenant.ok("failures", "retry", "-c", folder, "--kind", "permanent", "--no-run")
    assert {f.kind for f in tenant.failures().values()} == {"rejected", "retryable"}
    tenant.ok("failures", "resolve", "-c", folder, "--older-than", "0s", "--yes")
    assert all(f.resolved_at is not None for f in tenant.failures().values())
    assert "no open failures match" in tenant.ok("failures", "list", "-c", folder).stdout
    warned = tenant.ok("failures", "list", "-c", folder, "--kind", "warning").stdout
    assert "sent without its company" in warned, "warnings stay, listed on their own"
    assert "health: ok" in tenant.ok("status", "-c", folder).stdout
    assert "created=" in tenant.ok("runs", "-c", folder, "--stream", "customers").stdout
