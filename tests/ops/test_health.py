"""The health verdict as a pure function: small literal facts in, a level and a one-line reason out."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from syncd.app.health_verdict import (
    DEGRADED,
    FAILING,
    OK,
    JobFacts,
    Policy,
    StreamFacts,
    TenantFacts,
    Verdict,
    span,
    unavailable,
    verdict,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
POLICY = Policy(
    interval=timedelta(seconds=60),
    retry_interval=timedelta(seconds=300),
    park_for=timedelta(minutes=5),
    lock_limit=timedelta(hours=1),
)


def ago(**kwargs: float) -> datetime:
    return NOW - timedelta(**kwargs)


def healthy_stream(name: str = "customers") -> StreamFacts:
    return StreamFacts(name, last_status="ok", last_success=ago(seconds=30))


def facts(*streams: StreamFacts, **changes: object) -> TenantFacts:
    base = TenantFacts(NOW, POLICY, streams or (healthy_stream("companies"), healthy_stream()))
    return replace(base, **changes)  # type: ignore[arg-type]


def rules(result: Verdict) -> list[str]:
    return [finding.rule for finding in result.findings]


def test_all_streams_recent_and_nothing_waiting_is_ok() -> None:
    result = verdict(facts(jobs=[JobFacts("j2", "ok"), JobFacts("j1", "partial")], managed_since=ago(days=3)))
    assert (result.level, result.findings) == (OK, ())
    assert result.reason == "every stream synced within its interval; nothing waits for a person"


def test_rejected_rows_alone_leave_a_tenant_ok() -> None:
    """Rejected rows are the source's data quality; they are not in the facts the verdict judges."""
    assert verdict(facts(replace(healthy_stream(), last_status="partial"))).level == OK


@pytest.mark.parametrize("status", ["aborted", "fenced", "crashed"])
def test_a_stream_whose_last_run_broke_is_failing(status: str) -> None:
    broken = StreamFacts(
        "customers",
        last_status=status,
        last_error="ThuliumAuthError: 401\ntrace",
        last_success=ago(seconds=30),
    )
    result = verdict(facts(healthy_stream("companies"), broken))
    assert result.level == FAILING
    assert result.reason == f"customers: last run {status}: ThuliumAuthError: 401"


def test_a_dead_job_after_the_last_good_one_is_failing_until_a_job_goes_through() -> None:
    jobs = [JobFacts("j3", "skipped"), JobFacts("j2", "dead", attempts=4), JobFacts("j1", "ok")]
    result = verdict(facts(jobs=jobs))
    assert result.level == FAILING
    assert result.reason == "job j2 dead-lettered after 4 deliveries"
    assert verdict(facts(jobs=[JobFacts("j4", "ok"), *jobs])).level == OK


def test_jobs_failing_with_no_success_within_three_intervals_is_failing() -> None:
    stale = [
        replace(healthy_stream(name), last_success=ago(seconds=181)) for name in ("companies", "customers")
    ]
    jobs = [
        JobFacts("j9", "running"),
        JobFacts("j8", "failed", error="OperationalError: unable to open database"),
    ]
    result = verdict(facts(*stale, jobs=jobs, managed_since=ago(days=1)))
    assert result.level == FAILING
    assert result.reason == (
        "no successful run for 3m (> 3 x interval 1m) and job j8 failed: "
        "OperationalError: unable to open database"
    )
    assert rules(result) == ["F3"]  # the stale streams and the failed job restate it: not repeated


def test_one_failed_job_after_a_recent_success_is_only_degraded() -> None:
    jobs = [JobFacts("j8", "failed", error="OperationalError: timeout")]
    result = verdict(facts(jobs=jobs, managed_since=ago(days=1)))
    assert result.level == DEGRADED
    assert result.reason == "last job j8 failed: OperationalError: timeout"


def test_never_succeeded_and_failing_jobs_say_never() -> None:
    never = StreamFacts("customers", last_status=None)
    result = verdict(facts(never, jobs=[JobFacts("j1", "aborted", error="campaigns: no status 3")]))
    assert result.level == FAILING
    assert result.reason == "no successful run ever and job j1 aborted: campaigns: no status 3"


def test_permanent_failures_degrade() -> None:
    refused = replace(healthy_stream("companies"), permanent=2)
    result = verdict(facts(refused, healthy_stream()))
    assert result.level == DEGRADED
    assert (
        result.reason
        == "companies: 2 permanent failures refused by Thulium (syncd failures list --kind permanent)"
    )


def test_retries_degrade_only_after_two_retry_rounds() -> None:
    def pending(minutes: float) -> Verdict:
        stream = replace(healthy_stream(), pending=3, oldest_pending=ago(minutes=minutes))
        return verdict(facts(stream))

    assert pending(9).level == OK  # 2 x max(retry_interval 5m, park 5m) = 10m
    late = pending(11)
    assert late.level == DEGRADED
    assert late.reason == "customers: 3 retryable/waiting failures, oldest open 11m"


def test_a_lock_held_past_the_visibility_timeout_degrades() -> None:
    held = {"lock_holder": "host:1:job:ab", "lock_since": ago(minutes=61)}
    result = verdict(facts(**held))
    assert result.level == DEGRADED
    assert result.reason == "lock held by host:1:job:ab for 61m (limit 60m)"
    assert verdict(facts(lock_holder="host:1:job:ab", lock_since=ago(minutes=59))).level == OK


def test_a_daemon_tenant_with_a_stale_stream_is_degraded_unless_a_run_holds_the_lock() -> None:
    stale = replace(healthy_stream(), last_success=ago(minutes=10))
    never = StreamFacts("campaign:00001")
    result = verdict(facts(healthy_stream("companies"), stale, never, managed_since=ago(days=1)))
    assert result.level == DEGRADED
    assert [f.reason for f in result.findings] == [
        "customers: no successful run for 10m (interval 1m)",
        "campaign:00001: never synced (interval 1m)",
    ]
    assert result.reason == "customers: no successful run for 10m (interval 1m) (+1 more)"
    busy = facts(
        healthy_stream("companies"),
        stale,
        managed_since=ago(days=1),
        lock_holder="w:1:j:x",
        lock_since=ago(minutes=9),
    )
    assert verdict(busy).level == OK


def test_staleness_needs_a_daemon_that_has_had_time_to_run() -> None:
    stale = replace(healthy_stream(), last_success=ago(days=2))
    assert verdict(facts(stale)).level == OK  # synced by hand only: no schedule to fall behind
    assert verdict(facts(stale, managed_since=ago(seconds=100))).level == OK  # the daemon just started
    assert verdict(facts(stale, managed_since=ago(seconds=200))).level == DEGRADED


def test_findings_come_most_severe_first() -> None:
    broken = StreamFacts("customers", last_status="aborted", permanent=1, last_success=ago(seconds=30))
    result = verdict(facts(healthy_stream("companies"), broken))
    assert rules(result) == ["F1", "D2"]
    assert result.reason.endswith("(+1 more)")


def test_a_tenant_that_cannot_be_read_is_failing_and_one_that_never_ran_degraded() -> None:
    assert unavailable("state DB unreadable (OperationalError)").level == FAILING
    never = unavailable("no state yet", never_ran=True)
    assert (never.level, never.reason) == (DEGRADED, "no state yet")


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "0s"), (59, "59s"), (60, "1m"), (119, "1m"), (7199, "119m"), (7200, "2h"), (172800, "2d")],
)
def test_spans_are_short(seconds: int, shown: str) -> None:
    assert span(timedelta(seconds=seconds)) == shown
