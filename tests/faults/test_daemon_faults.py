"""Reliability, daemon level: workers stopped or paused mid-run, the broker restarted or gone for a
while, two beats at once. Real `syncd worker` / `syncd beat` processes, real Redis, real state DBs.

Scenario numbers are the issue's ("Reliability suite"). Each waits (bounded) for the daemon to
converge and reports its figures; it passes only with 0 lost / duplicated / stale / unexpected and
the open failures being exactly the demo's invalid rows.
"""

from __future__ import annotations

import itertools
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncd.broker.redis_broker import EmbeddedRedis
from syncd.demo import mutate
from syncd.sandbox import SandboxProcess
from tests.daemon.harness import Daemon, job_ended, lease_holder, lock_holder, overlapping, resync
from tests.faults.processes import (
    dangling_links,
    holder_mid_batch,
    jobs_of,
    running_daemon,
    settle,
    slow_batches,
    slow_posts,
)
from tests.waiting import wait_until


@pytest.fixture
def daemon(tmp_path: Path, redis_url: str) -> Iterator[Daemon]:
    with running_daemon(tmp_path, redis_url) as running:
        yield running


def test_3_sigterm_mid_batch_the_worker_shuts_down_warm_and_the_run_resumes(
    daemon: Daemon, sandbox: SandboxProcess
) -> None:
    """A deploy: SIGTERM to the process group of the worker holding the run (systemd's default
    KillMode; Ctrl-C does the same with SIGINT) while a batch's answer is held back. The main process
    shuts down warm; in the pool process billiard turns SIGTERM into SystemExit, which stops the run
    without committing what was in flight. The task is requeued (reject on worker lost), the other
    worker resumes it and adopts what the stopped attempt had sent.

    (SIGTERM to the main process alone, as `docker stop` sends it, lets the run finish before the
    worker exits: nothing to resume.)"""
    acme = daemon.add_tenant("acme", sandbox, customers=400, seed=31)
    control = sandbox.control
    slow_batches(control, delay_ms=2500)
    job = resync(daemon, acme)  # queued first: the workers start with the test already watching
    daemon.worker("w1", concurrency=1)
    daemon.worker("w2", concurrency=1)
    victim = holder_mid_batch(daemon, acme)
    started = time.monotonic()
    daemon.signal(victim, signal.SIGTERM)
    daemon.processes[victim].wait(timeout=30)
    assert dangling_links(acme.state_url, "acme", control) == {}, "no half commit"
    control.clear_faults()
    wait_until("the requeued run", lambda: job_ended(acme, job), 60, context=daemon.logs)
    assert acme.job(job).attempts == 2
    customers = [run for run in acme.runs() if run.job_id == job and run.stream == "customers"]
    assert len(customers) == 2, "the stopped attempt's run, and the resumed one"
    assert customers[1].counters.get("adopted"), "it found what the stopped attempt had sent, and adopted it"
    settle(daemon, acme, "3 SIGTERM worker mid-batch (deploy)", started)


def test_10_redis_restarted_with_a_task_queued_then_gone_mid_run(
    tmp_path: Path, short_var_dir: Path, sandbox: SandboxProcess
) -> None:
    """The embedded Redis (append-only file, as `syncd up` runs it): restarted while a run waits in the
    queue; later stopped, past the lock TTL (2 s here), while a scheduled run is mid-batch: that
    run stops sending once its lease may have lapsed, and the schedule carries on once Redis is back."""
    broker = EmbeddedRedis(short_var_dir)
    broker.ensure_running()
    with running_daemon(tmp_path, broker.url, SYNCD_LOCK_TTL="2") as daemon:
        acme = daemon.add_tenant("acme", sandbox, customers=300, interval=1, seed=10)
        control = sandbox.control
        job = resync(daemon, acme)
        started = time.monotonic()
        broker.stop()
        broker.ensure_running()
        daemon.worker(concurrency=1)
        daemon.beat()
        wait_until("the queued run, after the restart", lambda: job_ended(acme, job), 60, context=daemon.logs)
        assert acme.job(job).attempts == 1, "delivered once: the queued task survived the restart"
        settle(daemon, acme, "10a Redis restarted, a run queued", started)

        # five batches (four creates, one update), answers 6 s late; Redis stops once the first is seen
        # and stays down until the run has ended: the lease (last renewed before the outage, 2 s TTL)
        # cannot be renewed, so by the first answer it has lapsed (whenever, within 4 s, the test saw
        # the request) and the fifth batch is never sent; the run is fenced
        slow_batches(control, delay_ms=6000, method="*")
        control.reset_counts()
        mutate(acme.demo.url, seed=11, updates=0.05, soft_deletes=0, hard_deletes=0, inserts=400)
        wait_until("a scheduled run mid-batch", lambda: slow_posts(control, method="*"), context=daemon.logs)
        started = time.monotonic()
        broker.stop()
        fenced = lambda: "fenced" in [job.status for job in acme.jobs()]  # noqa: E731
        wait_until("the run mid-batch to be fenced, Redis down", fenced, 60, context=daemon.logs)
        broker.ensure_running()
        control.clear_faults()
        settle(daemon, acme, "10b Redis gone mid-run until it fenced", started)
        statuses = [job.status for job in acme.jobs()]
        assert "fenced" in statuses, statuses
        assert "dead" not in statuses, statuses


def test_11_a_paused_lock_holder_is_fenced_when_it_wakes(daemon: Daemon, sandbox: SandboxProcess) -> None:
    """SIGSTOP the worker holding the run until its lock expires; another worker takes the tenant;
    SIGCONT while the new holder is mid-run. The paused run wakes up with answers to write down: its
    commit is refused (fencing epoch), its run ends `fenced`, and it sends nothing more.

    It is paused while every batch it sent is held by the sandbox, so it is not inside a state DB
    transaction (a paused SQLite writer would hold the whole DB; tests/daemon covers a pause at any
    point on PostgreSQL)."""
    daemon.env.update(SYNCD_VISIBILITY_TIMEOUT="90", SYNCD_LOCK_TTL="2")  # no redelivery of the paused task
    acme = daemon.add_tenant("acme", sandbox, customers=400, seed=41)
    control = sandbox.control
    slow_batches(control, delay_ms=2000, method="*")  # the new holder's PUTs too: it is seen mid-run
    # each job is queued before the worker that takes it starts, so the test is watching when it runs
    stale = resync(daemon, acme)
    daemon.worker("w1", concurrency=1)
    paused = holder_mid_batch(daemon, acme)
    started = time.monotonic()
    daemon.signal(paused, signal.SIGSTOP)
    wait_until("its lock to expire", lambda: lock_holder(acme) is None, context=daemon.logs)
    fresh = resync(daemon, acme)
    daemon.worker("w2", concurrency=1)
    # the new holder's epoch is in the state DB: from now on the paused run's commits are refused
    new_epoch = lambda: f":{fresh}:" in (lease_holder(acme) or "")  # noqa: E731
    wait_until("a new holder's epoch", new_epoch, context=daemon.logs)
    daemon.signal(paused, signal.SIGCONT)
    wait_until(
        "the paused run to be fenced", lambda: job_ended(acme, stale, "fenced"), 60, context=daemon.logs
    )
    control.clear_faults()
    wait_until("the new holder's run", lambda: job_ended(acme, fresh), 60, context=daemon.logs)
    stale_runs = {run.stream: run.status for run in acme.runs() if run.job_id == stale}
    assert stale_runs["customers"] == "fenced", f"paused in customers, fenced there: {stale_runs}"
    assert "no longer current" in (acme.job(stale).error or ""), "its commit was refused by the epoch check"
    settle(daemon, acme, "11 SIGSTOP lock holder past TTL, SIGCONT", started)


def test_12_two_beats_cause_no_duplicate_runs(daemon: Daemon, sandbox: SandboxProcess) -> None:
    """A second beat started by mistake: twice the ticks, one job per schedule slot, runs never overlap."""
    interval = 1
    acme = daemon.add_tenant("acme", sandbox, customers=300, interval=interval, seed=12)
    started = time.monotonic()
    daemon.worker(concurrency=2)
    daemon.beat("beat1")
    daemon.beat("beat2")

    def scheduled() -> list[float]:
        jobs = [j for j in jobs_of(acme) if j.trigger == "schedule" and j.status not in ("queued", "running")]
        return sorted(j.created_at.timestamp() for j in jobs)

    wait_until("five scheduled slots", lambda: len(scheduled()) >= 5, 60, poll=0.25, context=daemon.logs)
    gaps = [b - a for a, b in itertools.pairwise(scheduled())]
    assert min(gaps) >= interval * 0.75, f"two jobs for one slot: {gaps}"
    assert overlapping(acme.runs()) == []
    assert all(daemon.processes[beat].poll() is None for beat in ("beat1", "beat2")), "both beats ticked on"
    settle(daemon, acme, "12 two beats", started)
