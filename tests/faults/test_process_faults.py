"""Reliability, process level: a `syncd sync` (or a worker) dies, or its state DB stops taking writes,
at a chosen point of a batch's life; the next run must converge with nothing lost or duplicated.

Scenario numbers are the issue's ("Reliability suite"). Each ends with ``measure`` on a fresh look at
Thulium, the source and the state DB, and passes only with 0 lost / duplicated / stale / unexpected and
the open failures being exactly the demo's invalid rows.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncd.demo import generate_source, write_demo_config
from syncd.sandbox import SandboxProcess
from syncd.state.db import SQLITE_BUSY_TIMEOUT_MS
from tests.daemon.harness import Daemon, job_ended, resync
from tests.faults.figures import assert_passed, measure
from tests.faults.processes import (
    applied_batch,
    dangling_links,
    held_identifiers,
    holder_mid_batch,
    in_limbo,
    invalid_rows,
    links_by_state,
    running_daemon,
    runs_of,
    settle,
    slow_batches,
    slow_posts,
    write_lock,
)
from tests.sync.conftest import SYNCD, DemoTenant
from tests.waiting import wait_until

FAILED = "state DB write failed"  # syncd's log line when a commit cannot get through
CUSTOMERS = 600  # six batches of 100: four in flight at once; the fifth (full) goes out on the first answer


@pytest.fixture
def demo(tmp_path: Path, sandbox: SandboxProcess) -> DemoTenant:
    """The demo tenant (with its two campaign rules), scaled down, SQLite source and state."""
    source_url = f"sqlite:///{tmp_path / 'source.sqlite'}"
    state_url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    source = generate_source(
        source_url, customers=CUSTOMERS, companies=CUSTOMERS // 10, invalid_fraction=0.03, seed=21
    )
    path = write_demo_config(
        tmp_path / "acme.toml", source_url, sandbox.url, user=sandbox.user, state_url=state_url
    )
    with path.open("a", encoding="utf-8") as tenant_file:
        tenant_file.write("\n[sync]\nmax_in_flight = 4\n")  # these kills count on a fixed window
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}  # no daemon of this machine's
    env.update(
        THULIUM_PASSWORD=sandbox.password, SYNCD_LOG_LEVEL="WARNING", SYNCD_VAR_DIR=str(tmp_path / "var")
    )
    return DemoTenant(path, source_url, state_url, source, sandbox, env)


class Sync:
    """A `syncd sync` in the background, its stderr kept in a file for the failure message."""

    def __init__(self, demo: DemoTenant, log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [str(SYNCD), "sync", "--config", str(demo.path)], env=demo.env, stdout=out, stderr=out
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"syncd sync did not end within {timeout:.0f} s\n{self.output()}") from None


def report(scenario: str, demo: DemoTenant, started: float) -> None:
    with demo.client() as client:
        figures = measure(scenario, demo.tenant(), client, invalid_rows(demo.demo), demo.state_url, started)
    assert_passed(figures)


def rerun(demo: DemoTenant) -> subprocess.CompletedProcess[str]:
    result = demo.sync(timeout=120)
    # 2 when this run meets the demo's invalid rows first; 0 when the run before it had already said so
    assert result.returncode in (0, 2), f"{result.stdout}{result.stderr}"
    return result


def test_1_sigkill_after_a_batch_is_sent_before_its_answer(demo: DemoTenant, tmp_path: Path) -> None:
    """The sandbox applies every customers batch and holds its answer 5 s; syncd dies meanwhile."""
    control = demo.sandbox.control
    slow_batches(control, delay_ms=5000)
    sync = Sync(demo, tmp_path / "sync.log")
    wait_until("a customers batch to be applied", lambda: applied_batch(control), 60, context=sync.output)
    started = time.monotonic()
    sync.kill()
    assert not any(entry["status"] for entry in slow_posts(control)), "no answer went out before the kill"
    limbo = in_limbo(demo.state_url, "acme", control)
    assert limbo, "Thulium holds records the state DB has as pending"
    assert limbo == held_identifiers(control), "Thulium holds records the state DB has as pending"
    control.clear_faults()
    rerun(demo)
    killed = next(run for run in runs_of(demo.state_url, "acme") if run.stream == "customers")
    assert killed.status == "crashed", "the next sync closed the dead one's run (no daemon: by its pid)"
    assert "(it held no lease)" in (killed.error or "")
    assert "closed by the next run" in (killed.error or "")
    report("1 SIGKILL `syncd sync`: batch sent, unanswered", demo, started)


def test_2_sigkill_after_the_answer_before_the_state_commit(demo: DemoTenant, tmp_path: Path) -> None:
    """The answers come back while the test holds the state DB's write lock; syncd dies in its commit."""
    control = demo.sandbox.control
    slow_batches(control, delay_ms=1500)
    sync = Sync(demo, tmp_path / "sync.log")
    wait_until("a customers batch to be applied", lambda: applied_batch(control), 60, context=sync.output)
    in_flight = demo.tenant().config.sync.window
    with write_lock(demo.state_url):
        started = time.monotonic()
        # a batch beyond the first `in_flight` goes out only once syncd has read an answer; it writes
        # the answers down right after sending it, and that commit waits on the lock
        more = lambda: len(slow_posts(control)) > in_flight  # noqa: E731
        wait_until("syncd to read an answer and send the next batch", more, context=sync.output)
        sync.kill()
    assert any(entry["status"] for entry in slow_posts(control)[:in_flight]), "an answer went out first"
    assert "synced" not in links_by_state(demo.state_url, "acme"), "no customer commit got through"
    limbo = in_limbo(demo.state_url, "acme", control)
    assert limbo, "Thulium holds records the state DB has as pending"
    assert limbo == held_identifiers(control), "Thulium holds records the state DB has as pending"
    control.clear_faults()
    rerun(demo)
    report("2 SIGKILL `syncd sync`: answered, before commit", demo, started)


def test_15_state_db_unavailable_after_thulium_accepted_a_batch(demo: DemoTenant, tmp_path: Path) -> None:
    """The write lock is held past syncd's busy timeout: the commit fails; the run must abort cleanly."""
    control = demo.sandbox.control
    slow_batches(control, delay_ms=1500)
    sync = Sync(demo, tmp_path / "sync.log")
    wait_until("a customers batch to be applied", lambda: applied_batch(control), 60, context=sync.output)
    with write_lock(demo.state_url):
        started = time.monotonic()
        busy = SQLITE_BUSY_TIMEOUT_MS / 1000
        gave_up = lambda: FAILED in sync.output()  # noqa: E731
        wait_until("syncd to give up on the state DB", gave_up, busy * 2 + 10, context=sync.output)
    assert sync.wait(timeout=60) == 1, f"an aborted run exits 1\n{sync.output()}"
    assert "Traceback" not in sync.output(), sync.output()
    customers = [run for run in runs_of(demo.state_url, "acme") if run.stream == "customers"]
    assert [run.status for run in customers] == ["aborted"], "its end is recorded once the DB is back"
    assert "state DB unavailable" in (customers[0].error or "")
    assert dangling_links(demo.state_url, "acme", control) == {}, "no link to a record Thulium lacks"
    limbo = in_limbo(demo.state_url, "acme", control)
    assert limbo, "what Thulium accepted is pending, not lost"
    assert limbo == held_identifiers(control), "what Thulium accepted is pending, not lost"
    control.clear_faults()
    rerun(demo)
    report("15 state DB locked past its busy timeout, after Thulium accepted", demo, started)


@pytest.fixture
def daemon(tmp_path: Path, redis_url: str) -> Iterator[Daemon]:
    # redelivery after 8 s: longer than the lock TTL (3 s), so the new delivery finds the tenant free; and a
    # run may take 6 s (Celery's soft time limit is 3/4 of it) before it is stopped, even on a loaded machine
    with running_daemon(tmp_path, redis_url, SYNCD_VISIBILITY_TIMEOUT="8") as running:
        yield running


def test_1_sigkill_a_daemon_worker_after_a_batch_is_sent(daemon: Daemon, sandbox: SandboxProcess) -> None:
    """The worker holding the run is SIGKILLed (pool and all) while its batch's answer is held back;
    the other worker gets the task again after the visibility timeout and resumes the run."""
    acme = daemon.add_tenant("acme", sandbox, customers=400, seed=22)
    control = sandbox.control
    slow_batches(control, delay_ms=5000)
    job = resync(daemon, acme)  # queued first: the workers start with the test already watching
    daemon.worker("w1", concurrency=1)
    daemon.worker("w2", concurrency=1)
    victim = holder_mid_batch(daemon, acme)
    started = time.monotonic()
    daemon.signal(victim, signal.SIGKILL)
    daemon.processes[victim].wait(timeout=10)
    assert not any(entry["status"] for entry in slow_posts(control)), "no answer went out before the kill"
    limbo = in_limbo(acme.state_url, "acme", control)
    assert limbo, "Thulium holds records the state DB has as pending"
    assert limbo == held_identifiers(control), "Thulium holds records the state DB has as pending"
    control.clear_faults()
    wait_until("the redelivered run", lambda: job_ended(acme, job), 60, context=daemon.logs)
    assert acme.job(job).attempts == 2
    settle(daemon, acme, "1 SIGKILL daemon worker: batch sent, unanswered", started)
