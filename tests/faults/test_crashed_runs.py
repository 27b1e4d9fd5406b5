"""Runs never lie: a `syncd sync` or a daemon worker killed with SIGKILL mid-run leaves a run that is
closed as ``crashed`` once its lease is gone (within one lease TTL), shown so by ``syncd runs`` and
``syncd status``, with health failing; the next run converges.

Real processes against a real Redis, the sandbox over real HTTP and a real SQLite state DB. The kill
lands while a customers batch is applied by the sandbox and its answer held back (``slow`` fault).
Every wait is on a state: the sandbox's request log, the Redis lock, a row of the state DB.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncd.app.broker_client import connect_redis
from syncd.app.tenant_lease import lock_key
from syncd.sandbox import SandboxProcess
from syncd.state import models
from tests.daemon.harness import Daemon, DaemonTenant, job_ended, lock_holder, resync
from tests.faults.processes import (
    applied_batch,
    holder_mid_batch,
    running_daemon,
    settle,
    slow_batches,
    wait_until,
)

TTL = 3  # SYNCD_LOCK_TTL of the harness
HOLD_MS = 60_000  # answers held far longer than the test needs: the run is surely mid-batch when killed


@pytest.fixture
def daemon(tmp_path: Path, redis_url: str) -> Iterator[Daemon]:
    # no redelivery of the killed job while the test looks: the next run is the one the test queues
    with running_daemon(
        tmp_path, redis_url, SYNCD_LOCK_TTL=str(TTL), SYNCD_VISIBILITY_TIMEOUT="60"
    ) as running:
        yield running


def running_run(tenant: DaemonTenant, holder: str, stream: str = "customers") -> models.Run | None:
    return next(
        (r for r in tenant.runs() if (r.stream, r.status, r.holder) == (stream, "running", holder)), None
    )


def run_row(tenant: DaemonTenant, run_id: int) -> models.Run:
    return next(r for r in tenant.runs() if r.id == run_id)


def line_of(output: str, run_id: int) -> str:
    """The `syncd runs` row of a run, or the `syncd status` stream row whose last run it is."""
    return next((line for line in output.splitlines() if f"#{run_id} " in line), "")


def header(status: str) -> str:
    return next(line for line in status.splitlines() if line.startswith("tenant acme"))


def kill_and_wait_for_the_lease_to_go(daemon: Daemon, name: str, tenant: DaemonTenant, token: str) -> None:
    daemon.signal(name, signal.SIGKILL)
    daemon.processes[name].wait(timeout=30)
    with connect_redis(tenant.env["SYNCD_BROKER_URL"]) as client:
        # the dead holder's lock expires by its TTL: at most one TTL from now
        assert client.get(lock_key(tenant.name)) in (None, token.encode())
        assert client.pttl(lock_key(tenant.name)) <= TTL * 1000
    wait_until("the dead holder's lock to expire", lambda: lock_holder(tenant) != token, TTL * 10)


def assert_crashed(daemon: Daemon, tenant: DaemonTenant, run: models.Run, first_look: str) -> None:
    """The first look after the lease went closes the run; both views then say crashed."""
    first = daemon.syncd(first_look)
    assert first.returncode == 0, first.stderr
    row = run_row(tenant, run.id)
    assert row.status == "crashed", (row.status, first.stdout, daemon.logs())
    assert f"closed by syncd {first_look}" in (row.error or "")
    assert "its lease expired" in (row.error or "")
    assert row.last_seen_at is not None
    assert row.finished_at == row.last_seen_at >= run.started_at
    runs = daemon.syncd("runs", "--tenant", tenant.name)
    assert " crashed " in line_of(runs.stdout, run.id), runs.stdout
    status = daemon.syncd("status")
    assert status.returncode == 0, status.stderr
    assert "health: failing — customers: last run crashed: process died" in header(status.stdout), (
        status.stdout
    )
    assert f"#{run.id} crashed" in line_of(status.stdout, run.id), status.stdout


def test_a_killed_syncd_sync_is_crashed_within_one_lease_ttl_and_the_next_sync_converges(
    daemon: Daemon, sandbox: SandboxProcess
) -> None:
    acme = daemon.add_tenant("acme", sandbox, customers=400, seed=31)
    control = sandbox.control
    slow_batches(control, delay_ms=HOLD_MS)
    daemon.start("sync", "sync", "--config", str(acme.path))
    wait_until("a customers batch to be applied", lambda: applied_batch(control), 60, context=daemon.logs)
    token = wait_until("the sync to hold the lease", lambda: lock_holder(acme), 30, context=daemon.logs)
    run = wait_until("its customers run", lambda: running_run(acme, token), 30, context=daemon.logs)
    alive = daemon.syncd("runs", "--tenant", "acme")  # a live run is never judged crashed, however quiet
    assert alive.returncode == 0, alive.stdout
    assert "crashed" not in line_of(alive.stdout, run.id), alive.stdout
    started = time.monotonic()
    kill_and_wait_for_the_lease_to_go(daemon, "sync", acme, token)
    assert_crashed(daemon, acme, run, "runs")
    control.clear_faults()
    rerun = daemon.syncd("sync", "--config", str(acme.path), timeout=180)
    assert rerun.returncode in (0, 2), f"{rerun.stdout}{rerun.stderr}"
    assert run_row(acme, run.id).status == "crashed"  # the next run leaves the closed run as it was
    settle(daemon, acme, "SIGKILL `syncd sync` under the lease: crashed, then converged", started)


def test_a_killed_daemon_worker_s_run_is_crashed_within_one_lease_ttl_and_the_next_job_converges(
    daemon: Daemon, sandbox: SandboxProcess
) -> None:
    acme = daemon.add_tenant("acme", sandbox, customers=400, seed=32)
    control = sandbox.control
    slow_batches(control, delay_ms=HOLD_MS)
    job = resync(daemon, acme)  # queued before any worker runs: nothing can be answered unwatched
    daemon.worker("w1", concurrency=1)
    daemon.worker("w2", concurrency=1)
    victim = holder_mid_batch(daemon, acme)
    token = wait_until("the holder's token", lambda: lock_holder(acme), 30, context=daemon.logs)
    run = wait_until("its customers run", lambda: running_run(acme, token), 30, context=daemon.logs)
    assert run.job_id == job
    started = time.monotonic()
    kill_and_wait_for_the_lease_to_go(daemon, victim, acme, token)
    assert_crashed(daemon, acme, run, "status")
    runs = daemon.syncd("runs", "--tenant", "acme")
    assert job in line_of(runs.stdout, run.id), runs.stdout  # the run and its job, both ids
    control.clear_faults()
    again = resync(daemon, acme)
    wait_until("the next job", lambda: job_ended(acme, again), 120, context=daemon.logs)
    assert run_row(acme, run.id).status == "crashed"
    settle(daemon, acme, "SIGKILL daemon worker: crashed, then converged", started)
