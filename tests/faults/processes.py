"""Helpers for the process- and daemon-level fault scenarios: where to strike, and how to tell it struck.

The scenarios kill, stop or starve real syncd processes at chosen points of a batch's life:
- *sent, unanswered*: the sandbox's ``slow`` fault applies a batch, then holds its answer; the
  request log shows the batch arrived (``faults`` holds "slow") while its ``status`` is still None;
- *answered, uncommitted*: the test holds the SQLite state DB's write lock (``BEGIN IMMEDIATE``), so
  whatever syncd settles from an answer cannot be written down.

``in_limbo`` then proves the fault landed where it was meant to: keys the state DB still has as
*pending* creates while Thulium already holds their records.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from syncd.demo import DemoSource
from syncd.sandbox import SandboxControl
from syncd.state.db import make_engine, session_factory
from syncd.state.jobs import JobInfo
from syncd.state.models import Link, Run
from tests.daemon.harness import Daemon, DaemonTenant, daemon_env, lock_holder
from tests.faults.figures import Figures, measure
from tests.sync.convergence import patient_client
from tests.waiting import wait_until as wait_until  # re-exported: tests import it from here too

BATCH = "batch/customers"


def invalid_rows(demo: DemoSource) -> dict[str, set[str]]:
    """The rows of the demo source that must end as failures (and nowhere in Thulium)."""
    return {"companies": set(demo.invalid_companies), "customers": set(demo.invalid_customers)}


# -- the sandbox side ------------------------------------------------------------------------


def slow_batches(control: SandboxControl, delay_ms: int, path: str = BATCH, method: str = "POST") -> None:
    """Every ``method`` request to ``path`` is applied at once and answered ``delay_ms`` later."""
    control.set_faults({"rules": [{"kind": "slow", "method": method, "path": path, "delay_ms": delay_ms}]})


def slow_posts(control: SandboxControl, path: str = BATCH, method: str = "POST") -> list[dict[str, Any]]:
    """Requests to ``path`` the sandbox applied and holds (or held) the answer of, oldest first."""
    return [
        entry
        for entry in control.log()
        if method in ("*", entry["method"]) and entry["path"] == path and "slow" in entry["faults"]
    ]


def held_identifiers(control: SandboxControl, stream: str = "customers") -> set[str]:
    """Identifiers of the records Thulium holds for ``stream`` (companies are flagged customers)."""
    company = stream == "companies"
    return {
        str(record["identifier"])
        for record in control.state()["customers"]
        if bool(record["company_flag"]) == company and record["identifier"]
    }


def applied_batch(control: SandboxControl) -> bool:
    """A slowed batch arrived and Thulium applied it (its answer is still held back)."""
    return bool(slow_posts(control)) and bool(held_identifiers(control))


# -- the state DB side -----------------------------------------------------------------------


def sqlite_path(url: str) -> str:
    assert url.startswith("sqlite:///"), url
    return url.removeprefix("sqlite:///")


@contextlib.contextmanager
def write_lock(state_url: str) -> Iterator[None]:
    """Hold the SQLite state DB's write lock: every commit syncd tries meanwhile waits on it.

    WAL mode lets syncd keep reading (plans, lookups); only writers queue behind this lock,
    for up to syncd's busy timeout (``syncd.state.db.SQLITE_BUSY_TIMEOUT_MS``).
    """
    connection = sqlite3.connect(sqlite_path(state_url), timeout=10, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            connection.execute("ROLLBACK")
    finally:
        connection.close()


def links_by_state(state_url: str, tenant: str, stream: str = "customers") -> dict[str, set[str]]:
    engine = make_engine(state_url)
    try:
        with session_factory(engine)() as session:
            query = select(Link.state, Link.source_key).where(Link.tenant == tenant, Link.stream == stream)
            found: dict[str, set[str]] = {}
            for state, key in session.execute(query):
                found.setdefault(state, set()).add(key)
            return found
    finally:
        engine.dispose()


def in_limbo(state_url: str, tenant: str, control: SandboxControl, prefix: str = "") -> set[str]:
    """Customers Thulium created that the state DB still has as pending: sent, applied, not committed."""
    pending = links_by_state(state_url, tenant).get("pending", set())
    held = held_identifiers(control)
    return {key for key in pending if prefix + key in held}


def dangling_links(state_url: str, tenant: str, control: SandboxControl) -> dict[str, int]:
    """Per stream, committed links that name a record Thulium does not hold: a half commit."""
    held: dict[str, set[int]] = {"customers": set(), "companies": set()}
    for record in control.state()["customers"]:
        if record["company_flag"]:
            held["companies"].add(int(record["company_id"]))
        else:
            held["customers"].add(int(record["customer_id"]))
    engine = make_engine(state_url)
    try:
        with session_factory(engine)() as session:
            query = select(Link.stream, Link.thulium_id).where(Link.tenant == tenant, Link.state == "synced")
            dangling: dict[str, int] = {}
            for stream, thulium_id in session.execute(query):
                if stream in held and int(thulium_id or 0) not in held[stream]:
                    dangling[stream] = dangling.get(stream, 0) + 1
            return dangling
    finally:
        engine.dispose()


def runs_of(state_url: str, tenant: str) -> list[Run]:
    engine = make_engine(state_url)
    try:
        with session_factory(engine)() as session:
            return list(session.scalars(select(Run).where(Run.tenant == tenant).order_by(Run.id)))
    finally:
        engine.dispose()


# -- convergence -----------------------------------------------------------------------------


def settle(
    daemon: Daemon, tenant: DaemonTenant, scenario: str, started: float, timeout: float = 60
) -> Figures:
    """Wait (bounded) until the daemon converged, then report the scenario's figures."""
    invalid = invalid_rows(tenant.demo)
    with patient_client(tenant.sandbox) as client:

        def converged() -> bool:
            try:
                tenant_now, state_url = tenant.tenant(), tenant.state_url
                figures = measure(scenario, tenant_now, client, invalid, state_url, started, report=False)
            except DBAPIError:  # the daemon has not created the state DB's tables yet
                return False
            return figures.passed

        with contextlib.suppress(AssertionError):  # measure says what is missing
            wait_until(f"{scenario}: convergence", converged, timeout, poll=0.5)
        figures = measure(scenario, tenant.tenant(), client, invalid, tenant.state_url, started)
    assert figures.passed, f"{figures.explain()}\n{daemon.logs()}"
    return figures


# -- the daemon ------------------------------------------------------------------------------


@contextlib.contextmanager
def running_daemon(root: Path, broker_url: str, **env: str) -> Iterator[Daemon]:
    """tests/daemon's harness in ``root``; its workers and beats are killed afterwards."""
    daemon = Daemon(root, daemon_env(root, broker_url, **env))
    daemon.tenant_dir.mkdir()
    try:
        yield daemon
    finally:  # nothing left to check: SIGKILL every process group at once, no graceful waits
        for name, process in daemon.processes.items():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    daemon.signal(name, signal.SIGKILL)
        for process in daemon.processes.values():
            process.wait(timeout=30)


def jobs_of(tenant: DaemonTenant) -> list[JobInfo]:
    """The tenant's jobs, newest first; none while the daemon has not created the state DB's tables yet."""
    try:
        return tenant.jobs()
    except DBAPIError:
        return []


def holder_mid_batch(daemon: Daemon, tenant: DaemonTenant) -> str:
    """Once a customers batch is applied with its answer held back: the worker holding the run.

    Start the workers after ``resync``: a `syncd resync` on a loaded machine may take seconds to exit,
    and a worker already running would have its batch applied, and answered, before anyone looks.
    """
    control = tenant.sandbox.control
    wait_until("a customers batch to be applied", lambda: applied_batch(control), context=daemon.logs)
    holder = wait_until("the lock holder", lambda: holding_worker(daemon, tenant), context=daemon.logs)
    assert not all(entry["status"] for entry in slow_posts(control)), "found while its answer is still held"
    return holder


def holding_worker(daemon: Daemon, tenant: DaemonTenant) -> str | None:
    """The name of the worker whose pool process holds the tenant's lock (token: host:pid:job:suffix)."""
    token = lock_holder(tenant)
    if token is None:
        return None
    pid = int(token.rsplit(":", 3)[1])
    try:
        group = os.getpgid(pid)  # each worker runs in its own session: its pool shares its group
    except ProcessLookupError:
        return None
    return next((name for name, p in daemon.processes.items() if p.pid == group), None)
