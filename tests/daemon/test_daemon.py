"""The daemon under real Redis and real worker processes: scheduling, locking, redelivery."""

from __future__ import annotations

import itertools
import re
import signal
from pathlib import Path

from syncd.app import tenant_lease as lease
from syncd.app.broker_client import connect_redis
from syncd.sandbox import SandboxProcess
from syncd.state import migrate
from syncd.state.db import make_engine, session_factory
from syncd.state.jobs import JobInfo
from syncd.state.leases import current_epoch
from syncd.worker.execute import FINISHED
from tests.daemon.harness import (
    Daemon,
    DaemonTenant,
    job_ended,
    lease_holder,
    lock_holder,
    overlapping,
    resync,
)
from tests.faults.processes import holder_mid_batch, slow_batches


def writes(sandbox: SandboxProcess) -> int:
    return int(sandbox.control.counts()["writes"])


def assert_converged(tenant: DaemonTenant) -> None:
    figures = tenant.figures()
    problems = {s: f.summary() for s, f in figures.items() if not f.exact}
    examples = {s: (f.lost[:3], f.duplicated[:3], f.stale[:3], f.unexpected[:3]) for s, f in figures.items()}
    assert not problems, f"{problems}; examples (lost, dup, stale, unexpected): {examples}"


def test_two_workers_and_two_tenants_converge_without_overlapping_runs(
    daemon: Daemon, sandbox: SandboxProcess, second_sandbox: SandboxProcess
) -> None:
    acme = daemon.add_tenant("acme", sandbox, interval=2, seed=1)
    bolt = daemon.add_tenant("bolt", second_sandbox, interval=2, seed=2)
    sandbox.control.set_latency(5)
    second_sandbox.control.set_latency(5)
    daemon.worker("w1")
    daemon.worker("w2")
    daemon.beat()
    daemon.wait_for("both tenants to converge", lambda: acme.converged() and bolt.converged(), timeout=120)
    daemon.wait_for("three finished runs of each", lambda: all(finished(t) >= 3 for t in (acme, bolt)))
    for tenant in (acme, bolt):
        assert overlapping(tenant.runs()) == []
        assert {j.status for j in tenant.jobs()} <= {"ok", "partial", "queued", "running", "skipped"}
        assert_converged(tenant)


def scheduled_and_finished(tenant: DaemonTenant) -> list[JobInfo]:
    return [j for j in tenant.jobs() if j.trigger == "schedule" and j.status in FINISHED]


def took_the_lease(tenant: DaemonTenant, job_id: str) -> bool:
    """The job's worker holds the tenant's Redis lock now, or its epoch bump is in the state DB."""
    return f":{job_id}:" in (lock_holder(tenant) or "") + (lease_holder(tenant) or "")


def finished(tenant: DaemonTenant) -> int:
    return sum(job.status in ("ok", "partial") for job in tenant.jobs())


def test_resync_full_on_a_running_daemon_shows_in_status(daemon: Daemon, sandbox: SandboxProcess) -> None:
    acme = daemon.add_tenant("acme", sandbox, customers=200)
    daemon.worker()
    daemon.beat()
    daemon.wait_for("the first scheduled run", acme.converged, timeout=90)
    job_id = resync(daemon, acme, "--full")
    daemon.wait_for("the resync to finish", lambda: job_ended(acme, job_id))
    job = acme.job(job_id)
    assert (job.kind, job.trigger) == ("full", "resync")
    assert {run.mode for run in acme.runs() if run.job_id == job_id} == {"full"}
    status = daemon.syncd("status")
    assert status.returncode == 0, status.stderr
    line = next(line for line in status.stdout.splitlines() if line.startswith(f"│ {job_id} "))
    assert "resync" in line, status.stdout
    assert "full" in line, status.stdout
    customers = next(line for line in status.stdout.splitlines() if line.startswith("│ customers "))
    shown = re.search(r"#(\d+) \w+ .* job (\w+)", customers)  # the stream's last run and its job, both ids
    assert shown, status.stdout
    assert {run.id: run.job_id for run in acme.runs()}[int(shown.group(1))] == shown.group(2)
    assert "customers" in status.stdout
    assert "companies" in status.stdout


def test_a_worker_killed_mid_batch_has_its_task_redelivered_and_the_tenant_converges(
    daemon: Daemon, sandbox: SandboxProcess
) -> None:
    daemon.env["SYNCD_VISIBILITY_TIMEOUT"] = "8"
    acme = daemon.add_tenant("acme", sandbox, customers=400)
    # mid-batch is a state, not a moment: a customers batch applied, its answer held back until the kill
    slow_batches(sandbox.control, delay_ms=5000)
    job_id = resync(daemon, acme)  # queued first: the worker starts with the test already watching
    daemon.worker("w1", concurrency=1)
    holder_mid_batch(daemon, acme)
    daemon.signal("w1", signal.SIGKILL)
    daemon.processes["w1"].wait()
    sandbox.control.clear_faults()
    daemon.worker("w2", concurrency=1)
    daemon.wait_for("the redelivered job to finish", lambda: job_ended(acme, job_id), timeout=90)
    assert acme.job(job_id).attempts == 2
    assert_converged(acme)


def test_a_stale_lock_holder_cannot_commit_after_its_lease_passed_on(
    daemon: Daemon, sandbox: SandboxProcess, postgres_url: str
) -> None:
    """PostgreSQL state: a holder frozen inside a commit keeps its row locks, which SQLite cannot share.

    No invalid rows here: which of two companies sharing a NIP wins depends on creation order, and
    a fenced run legitimately changes that order.
    """
    daemon.env.update(SYNCD_VISIBILITY_TIMEOUT="90", SYNCD_LOCK_TTL="4")
    acme = daemon.add_tenant("acme", sandbox, customers=1000, state_url=postgres_url, invalid_fraction=0)
    # Slow enough that the run is still going when it is frozen, even on a loaded machine: 100 companies,
    # four at a time, 200 ms each, so the first 20 writes come seconds before the run could end.
    sandbox.control.set_latency(200)
    stale = resync(daemon, acme)  # queued first: the worker starts with the test already watching
    daemon.worker("w1", concurrency=1)
    daemon.wait_for("the first run to be mid-way", lambda: writes(sandbox) >= 20)
    daemon.signal("w1", signal.SIGSTOP)
    assert not job_ended(acme, stale, *FINISHED), "frozen mid-run"
    sandbox.control.set_latency(0)
    daemon.wait_for("the frozen holder's lock to expire", lambda: lock_holder(acme) is None)
    fresh = resync(daemon, acme)  # queued first: the new worker starts with the test already watching
    daemon.worker("w2", concurrency=1)
    # the Redis lock shows the new holder while it runs; the lease row keeps its token after it is done
    daemon.wait_for("the new holder to take the lock", lambda: took_the_lease(acme, fresh))
    daemon.signal("w1", signal.SIGCONT)
    daemon.wait_for("the new holder's run", lambda: job_ended(acme, fresh), timeout=60)
    daemon.wait_for("the stale run to be fenced", lambda: job_ended(acme, stale, "fenced"))
    assert "fenced" in {run.status for run in acme.runs() if run.job_id == stale}
    assert_converged(acme)


def test_a_second_beat_started_by_mistake_causes_no_duplicate_runs(
    daemon: Daemon, sandbox: SandboxProcess
) -> None:
    acme = daemon.add_tenant("acme", sandbox, customers=200, interval=2)
    daemon.worker()
    daemon.beat("beat1")
    daemon.beat("beat2")
    daemon.wait_for("convergence", acme.converged, timeout=90)
    done = len(scheduled_and_finished(acme))
    daemon.wait_for("four more scheduled slots", lambda: len(scheduled_and_finished(acme)) >= done + 4)
    scheduled = sorted(j.created_at for j in acme.jobs() if j.trigger == "schedule")
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(scheduled)]
    assert min(gaps) >= 1.5, gaps  # one job per 2 s slot, however many beats tick
    assert not [j for j in acme.jobs() if j.status == "skipped"]
    assert overlapping(acme.runs()) == []


def test_sigterm_mid_batch_leaves_no_half_commit_and_the_run_resumes(
    daemon: Daemon, sandbox: SandboxProcess
) -> None:
    acme = daemon.add_tenant("acme", sandbox, customers=400)
    slow_batches(sandbox.control, delay_ms=5000)  # held mid-batch until the SIGTERM, whatever the load
    job_id = resync(daemon, acme)  # queued first: the worker starts with the test already watching
    daemon.worker("w1", concurrency=1)
    holder_mid_batch(daemon, acme)
    daemon.signal("w1", signal.SIGTERM)
    daemon.processes["w1"].wait(timeout=30)
    assert_state_matches_thulium(acme, sandbox)
    sandbox.control.clear_faults()
    daemon.worker("w2", concurrency=1)
    daemon.wait_for("the run to resume and finish", lambda: job_ended(acme, job_id), timeout=90)
    assert acme.job(job_id).attempts == 2
    assert_converged(acme)


def assert_state_matches_thulium(tenant: DaemonTenant, sandbox: SandboxProcess) -> None:
    """Every committed link names a record Thulium holds; every record we made is linked or pending."""
    prefix = tenant.tenant().config.sync.identifier_prefix
    held: dict[str, dict[int, str]] = {"customers": {}, "companies": {}}
    for record in sandbox.control.state()["customers"]:
        if record["company_flag"]:
            held["companies"][record["company_id"]] = record["identifier"]
        else:
            held["customers"][record["customer_id"]] = record["identifier"]
    for stream, records in held.items():
        links = [link for link in tenant.links() if link.stream == stream]
        synced = {link.thulium_id for link in links if link.state == "synced"}
        assert synced <= set(records), f"{stream}: a committed link points at a record Thulium lacks"
        known = {prefix + link.source_key for link in links}
        orphans = set(records.values()) - known
        assert not orphans, f"{stream}: created but neither linked nor pending: {sorted(orphans)[:5]}"


def test_a_hand_run_sync_waits_its_turn_behind_a_daemon_run(daemon: Daemon, sandbox: SandboxProcess) -> None:
    acme = daemon.add_tenant("acme", sandbox, customers=100)
    migrate.upgrade(acme.state_url)
    engine = make_engine(acme.state_url)
    try:
        with connect_redis(daemon.env["SYNCD_BROKER_URL"]) as client:
            with lease.tenant_lease(client, session_factory(engine), "acme", "daemon-job", ttl=10):
                busy = daemon.syncd("sync", "--config", str(acme.path), "--wait", "0.5")
            assert busy.returncode == 1
            assert "busy" in busy.stderr
            assert "daemon-job" in busy.stderr
            assert writes(sandbox) == 0
            done = daemon.syncd("sync", "--config", str(acme.path))
        assert done.returncode == 2, done.stderr  # the demo's invalid rows
        assert current_epoch(session_factory(engine), "acme") == 2  # the hand-run sync took the lease too
    finally:
        engine.dispose()
    assert_converged(acme)


def test_one_broken_tenant_never_blocks_another(daemon: Daemon, sandbox: SandboxProcess) -> None:
    acme = daemon.add_tenant("acme", sandbox, customers=200, interval=2)
    ghost = daemon.add_tenant("ghost", sandbox, customers=10, interval=2)
    Path(ghost.demo.url.removeprefix("sqlite:///")).unlink()  # its database went away
    (daemon.tenant_dir / "typo.toml").write_text('[thulium]\nurl = "http://127.0.0.1:1/api"\n')
    daemon.worker()
    daemon.beat()
    daemon.wait_for("the healthy tenant to converge", acme.converged, timeout=90)
    daemon.wait_for(
        "the broken tenant's failed runs", lambda: any(j.status == "failed" for j in ghost.jobs())
    )
    failed = next(j for j in ghost.jobs() if j.status == "failed")
    assert "source.url: source database sqlite:" in (failed.error or ""), (
        "the job says what is wrong, not a driver error"
    )
    assert not Path(ghost.demo.url.removeprefix("sqlite:///")).exists(), "and reading created nothing"
    status = daemon.syncd("status")
    assert "tenant acme" in status.stdout
    assert "tenant ghost" in status.stdout
    assert "typo.toml" in status.stdout  # the broken file is named, not silently skipped
