"""`syncd failures retry`: a retried key is really re-read and re-sent, here or by the daemon."""

from __future__ import annotations

from datetime import UTC, datetime

from syncd.app.broker_client import connect_redis
from syncd.demo import Invalid
from syncd.state.db import make_engine, session_factory
from syncd.state.jobs import JobStore
from syncd.state.leases import current_epoch
from syncd.worker.app import QUEUE
from tests.ops.conftest import TENANT, OpsTenant


def sandbox_customer(tenant: OpsTenant, key: str) -> dict[str, object] | None:
    """The sandbox's record for a source key (the demo tenant's identifier is the bare key)."""
    found = [c for c in tenant.sandbox.control.state()["customers"] if c.get("identifier") == key]
    assert len(found) <= 1, found
    return found[0] if found else None


def test_a_fixed_row_is_sent_by_retry_here_though_its_timestamp_did_not_move(fresh_tenant: OpsTenant) -> None:
    folder = str(fresh_tenant.folder)
    key = sorted(fresh_tenant.invalid("customers", Invalid.MISSING_SURNAME))[0]
    fresh_tenant.source_sql("UPDATE customers SET last_name = 'Fixed' WHERE id = :id", id=int(key))

    fresh_tenant.cli("sync", "--config", str(fresh_tenant.path))  # a plain run does not re-read it
    assert fresh_tenant.failures()["customers", key].resolved_at is None
    assert sandbox_customer(fresh_tenant, key) is None

    result = fresh_tenant.ok("failures", "retry", key, "-c", folder, "--stream", "customers", "--here")
    assert "1 failure (customers 1) due now" in result.stdout
    assert "1 of 1 retried failures settled" in result.stdout
    record = sandbox_customer(fresh_tenant, key)
    assert record is not None
    assert record["surname"] == "Fixed"
    assert fresh_tenant.failures()["customers", key].resolved_at is not None
    assert [run.trigger for run in fresh_tenant.runs()][-1] == "retry"


def test_a_refused_row_is_sent_again_unchanged_and_stays_refused(fresh_tenant: OpsTenant) -> None:
    (key,) = fresh_tenant.invalid("companies", Invalid.DUPLICATE_NIP)
    before = fresh_tenant.failures()["companies", key]
    fresh_tenant.sandbox.control.reset_counts()

    result = fresh_tenant.cli(
        "failures",
        "retry",
        "-c",
        str(fresh_tenant.folder),
        "--stream",
        "companies",
        "--kind",
        "permanent",
        "--here",
    )
    assert result.exit_code == 2, result.output  # like `syncd sync`: finished with a failed row
    assert "still failing: 1 failure (companies 1)" in result.stdout
    assert fresh_tenant.sandbox.control.count("POST", "companies") == 1  # re-sent exactly once
    after = fresh_tenant.failures()["companies", key]
    assert (after.kind, after.http_status, after.attempts) == ("permanent", 400, before.attempts + 1)
    assert after.resolved_at is None
    assert after.request_id != before.request_id
    assert after.payload_hash == before.payload_hash  # held back again until the row changes


def test_with_a_live_daemon_retry_queues_an_incremental_run(ops_tenant: OpsTenant, redis_url: str) -> None:
    ops_tenant.extra_env["SYNCD_BROKER_URL"] = redis_url
    rejected = ops_tenant.invalid("customers")
    result = ops_tenant.ok(
        "failures", "retry", "-c", str(ops_tenant.folder), "--stream", "customers", "--kind", "rejected"
    )
    job_id = result.stdout.split("queued job ", 1)[1].split()[0]
    engine = make_engine(ops_tenant.state_url)
    try:
        job = JobStore(session_factory(engine), TENANT).get(job_id)
    finally:
        engine.dispose()
    assert job is not None
    assert (job.kind, job.trigger, job.streams, job.status) == (
        "incremental",
        "retry",
        ("customers",),
        "queued",
    )
    client = connect_redis(redis_url)
    try:
        assert client.llen(QUEUE) == 1
    finally:
        client.close()
    due = {key: f for (stream, key), f in ops_tenant.failures().items() if stream == "customers"}
    assert set(due) == rejected
    now = datetime.now(UTC)
    for failure in due.values():
        assert failure.kind == "retryable"
        assert failure.payload_hash is None
        assert failure.next_attempt_at is not None
        assert failure.next_attempt_at <= now


def test_retry_here_next_to_a_live_daemon_takes_the_tenant_lease(
    fresh_tenant: OpsTenant, redis_url: str
) -> None:
    fresh_tenant.extra_env["SYNCD_BROKER_URL"] = redis_url
    (key,) = fresh_tenant.invalid("companies", Invalid.MISSING_NAME)
    fresh_tenant.source_sql("UPDATE companies SET name = 'Fixed sp. z o.o.' WHERE id = :id", id=int(key))
    fresh_tenant.ok(
        "failures", "retry", key, "-c", str(fresh_tenant.folder), "--stream", "companies", "--here"
    )
    assert fresh_tenant.failures()["companies", key].resolved_at is not None
    engine = make_engine(fresh_tenant.state_url)
    try:
        assert current_epoch(session_factory(engine), TENANT) == 1  # the run was fenced like a daemon run
    finally:
        engine.dispose()


def test_no_run_only_makes_them_due(ops_tenant: OpsTenant) -> None:
    result = ops_tenant.ok("failures", "retry", "-c", str(ops_tenant.folder), "--no-run")
    assert f"{len(ops_tenant.expected_kinds())} failures" in result.stdout
    assert all(f.kind in ("retryable", "waiting") for f in ops_tenant.failures().values())
    assert len(ops_tenant.runs()) == 4  # the first sync's runs only
    nothing = ops_tenant.ok("failures", "retry", "-c", str(ops_tenant.folder), "--kind", "permanent")
    assert "no open failures match" in nothing.stdout
