"""Runs never lie: which running runs are dead (pure rules, literal inputs), and closing them in the
state DB (real SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from syncd.engine.ports import Commit
from syncd.state import models
from syncd.state.leases import take_epoch
from syncd.state.processes import pid_alive
from syncd.state.repository import StateStore
from syncd.state.runs import (
    UNKNOWN_LOCK,
    Crashed,
    LockSeen,
    OpenRun,
    close_crashed,
    dead_runs,
    open_runs,
    reap,
    token_process,
    touch_runs,
)
from tests.faults.processes import wait_until
from tests.state.helpers import T0, Clock

HOST = "box"
MINE, OTHER = "box:100:job1:aaaa", "box:200:job2:bbbb"


def leased(epoch: int = 3, holder: str = MINE) -> OpenRun:
    return OpenRun(1, "customers", holder, epoch, T0)


def unleased(holder: str | None = "box:4242:unleased:cccc") -> OpenRun:
    return OpenRun(2, "customers", holder, None, T0)


@pytest.mark.parametrize(
    ("run", "lock", "epoch", "alive", "reason"),
    [
        # under a lease: alive exactly while the lock holds its token and its epoch is current
        (leased(), LockSeen(True, MINE), 3, (), None),
        (leased(), LockSeen(True, None), 3, (), "its lease expired: nobody holds the tenant lock"),
        (leased(), LockSeen(True, OTHER), 4, (), "its lease (epoch 3) was taken over (epoch 4)"),
        (leased(), LockSeen(True, OTHER), 3, (), f"its lease passed to {OTHER}"),
        # the lock unreadable: only a newer epoch proves it dead; a quiet run is not a dead one
        (leased(), UNKNOWN_LOCK, 3, (), None),
        (leased(), UNKNOWN_LOCK, 5, (), "its lease (epoch 3) was taken over (epoch 5)"),
        # its process is alive but lost the lock (paused past the TTL): the lease is gone all the same
        (leased(), LockSeen(True, None), 3, (100,), "its lease expired: nobody holds the tenant lock"),
        # outside any lease: judged by its process, on this host only
        (unleased(), UNKNOWN_LOCK, None, (4242,), None),
        (unleased(), UNKNOWN_LOCK, None, (), "its process 4242 on box is gone (it held no lease)"),
        (unleased(), LockSeen(True, None), 7, (), "its process 4242 on box is gone (it held no lease)"),
        (unleased("elsewhere:4242:unleased:cccc"), UNKNOWN_LOCK, None, (), None),
        (unleased(None), UNKNOWN_LOCK, None, (), None),  # a run from before holders were recorded
        (unleased("not-a-token"), UNKNOWN_LOCK, None, (), None),
    ],
)
def test_a_run_is_dead_only_once_its_lease_is_gone(
    run: OpenRun, lock: LockSeen, epoch: int | None, alive: tuple[int, ...], reason: str | None
) -> None:
    found = dead_runs([run], lock, epoch, HOST, lambda pid: pid in alive)
    assert [c.reason for c in found] == ([] if reason is None else [reason])


def test_tokens_name_their_host_and_pid() -> None:
    assert token_process("box.example:123:job1:ab12cd34") == ("box.example", 123)
    assert token_process("box:123:cli") is None
    assert token_process(None) is None


def test_a_killed_process_is_dead_even_before_it_is_waited_for() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert pid_alive(child.pid)
        os.kill(child.pid, signal.SIGKILL)  # not waited for: a zombie, still listed in /proc (state Z)
        wait_until("the killed child to count as dead", lambda: not pid_alive(child.pid), timeout=30)
        assert Path(f"/proc/{child.pid}").exists()
    finally:
        child.wait()
    assert not pid_alive(child.pid)
    assert pid_alive(os.getpid())


# -- the state DB ----------------------------------------------------------------------------------


def run_row(sessions: sessionmaker[Session], run_id: int) -> models.Run:
    with sessions() as session:
        return session.scalars(select(models.Run).where(models.Run.id == run_id)).one()


def test_a_run_records_its_holder_and_is_seen_at_start_each_commit_and_each_renewal(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    epoch = take_epoch(sessions, "acme", MINE)
    store = StateStore(sessions, "acme", clock=clock, epoch=epoch)
    run_id = store.start_run("customers", "schedule", "incremental", job_id="job1")
    row = run_row(sessions, run_id)
    assert (row.holder, row.epoch, row.last_seen_at) == (MINE, epoch, T0)
    store.commit("customers", Commit())
    committed = clock.tick(seconds=30)
    store.commit("customers", Commit())
    assert run_row(sessions, run_id).last_seen_at == committed
    renewed = clock.tick(seconds=30)
    assert touch_runs(sessions, "acme", MINE, renewed) == 1
    assert touch_runs(sessions, "acme", OTHER, clock.tick(seconds=30)) == 0
    assert run_row(sessions, run_id).last_seen_at == renewed
    store.finish_run(run_id, "ok", {})
    assert touch_runs(sessions, "acme", MINE, clock.tick(seconds=30)) == 0  # finished: no longer seen


def test_a_run_outside_any_lease_names_this_process(sessions: sessionmaker[Session]) -> None:
    run_id = StateStore(sessions, "acme").start_run("customers", "cli", "incremental")
    row = run_row(sessions, run_id)
    assert row.epoch is None
    assert token_process(row.holder) is not None
    assert token_process(row.holder) == (socket.gethostname(), os.getpid())


def test_closing_a_dead_run_keeps_when_it_was_last_seen_and_spares_a_run_that_finished(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    epoch = take_epoch(sessions, "acme", MINE)
    store = StateStore(sessions, "acme", clock=clock, epoch=epoch)
    dead = store.start_run("companies", "schedule", "incremental")
    done = store.start_run("customers", "schedule", "incremental")
    seen = clock.tick(seconds=20)
    assert touch_runs(sessions, "acme", MINE, seen) == 2
    found = {run.id: run for run in open_runs(sessions, "acme")}
    store.finish_run(done, "ok", {})  # finishes between the look and the close
    crashed = [Crashed(found[dead], "its lease expired"), Crashed(found[done], "its lease expired")]
    closed = close_crashed(sessions, "acme", crashed, "syncd status")
    assert [c.run.id for c in closed] == [dead]
    row = run_row(sessions, dead)
    assert (row.status, row.finished_at) == ("crashed", seen)
    assert row.error == (
        "process died: its lease expired; last seen 2026-03-01 09:00:20+00:00; closed by syncd status"
    )
    assert run_row(sessions, done).status == "ok"
    assert open_runs(sessions, "acme") == []


def test_reap_closes_the_runs_of_a_taken_over_lease_and_leaves_the_live_one(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    old = StateStore(sessions, "acme", clock=clock, epoch=take_epoch(sessions, "acme", OTHER))
    old_run = old.start_run("customers", "schedule", "incremental")
    new = StateStore(sessions, "acme", clock=clock, epoch=take_epoch(sessions, "acme", MINE))
    new_run = new.start_run("companies", "cli", "incremental")
    other_tenant = StateStore(sessions, "bolt", clock=clock, epoch=take_epoch(sessions, "bolt", OTHER))
    other_tenant.start_run("customers", "schedule", "incremental")
    closed = reap(sessions, "acme", lambda: LockSeen(True, MINE), "the next run")
    assert [c.run.id for c in closed] == [old_run]
    assert run_row(sessions, old_run).status == "crashed"
    assert run_row(sessions, new_run).status == "running"
    assert [r.stream for r in open_runs(sessions, "bolt")] == ["customers"]  # another tenant's lock


def test_an_attempt_that_aborted_before_its_runs_is_an_aborted_run_of_each_stream(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    store = StateStore(sessions, "acme", clock=clock)
    ids = store.record_aborted_attempt(["companies", "customers"], "cli", "full", "source: no such table")
    rows = [run_row(sessions, run_id) for run_id in ids]
    assert [(r.stream, r.status, r.mode, r.trigger) for r in rows] == [
        ("companies", "aborted", "full", "cli"),
        ("customers", "aborted", "full", "cli"),
    ]
    assert {(r.started_at, r.finished_at, r.error) for r in rows} == {(T0, T0, "source: no such table")}
    assert open_runs(sessions, "acme") == []
