"""Real daemon processes for tests: `syncd worker` / `syncd beat` against a real Redis.

Each process logs to a file in the test's folder; a failing assertion shows the tails, since
a daemon test that fails without its workers' logs cannot be diagnosed.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from sqlalchemy import select

from syncd.app import tenant_lease as lease
from syncd.app.broker_client import connect_redis
from syncd.demo import DemoSource, generate_source, write_demo_config
from syncd.sandbox import SandboxProcess
from syncd.settings import ProcessSettings, Tenant, load_tenant
from syncd.state import models
from syncd.state.db import make_engine, session_factory
from syncd.state.jobs import JobInfo, JobStore
from tests.sync.convergence import StreamFigures, converge_check, patient_client
from tests.waiting import PATIENCE, wait_until

SYNCD = str(Path(sys.executable).parent / "syncd")
T = TypeVar("T")


@dataclass
class DaemonTenant:
    name: str
    path: Path
    state_url: str
    demo: DemoSource
    sandbox: SandboxProcess
    env: dict[str, str]

    def tenant(self) -> Tenant:
        return load_tenant(self.path, ProcessSettings(), env=self.env)

    def figures(self) -> dict[str, StreamFigures]:
        invalid = {
            "companies": set(self.demo.invalid_companies),
            "customers": set(self.demo.invalid_customers),
        }
        with patient_client(self.sandbox) as client:
            return converge_check(self.tenant(), client, invalid)

    def converged(self) -> bool:
        return all(f.exact for f in self.figures().values())

    def jobs(self) -> list[JobInfo]:
        engine = make_engine(self.state_url)
        try:
            return JobStore(session_factory(engine), self.name).recent(1000)
        finally:
            engine.dispose()

    def job(self, job_id: str) -> JobInfo:
        found = [j for j in self.jobs() if j.id == job_id]
        assert found, f"no job {job_id}"
        return found[0]

    def links(self) -> list[models.Link]:
        engine = make_engine(self.state_url)
        try:
            with session_factory(engine)() as session:
                return list(session.scalars(select(models.Link).where(models.Link.tenant == self.name)))
        finally:
            engine.dispose()

    def runs(self) -> list[models.Run]:
        engine = make_engine(self.state_url)
        try:
            with session_factory(engine)() as session:
                query = select(models.Run).where(models.Run.tenant == self.name).order_by(models.Run.id)
                return list(session.scalars(query))
        finally:
            engine.dispose()


@dataclass
class Daemon:
    root: Path
    env: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    tenants: dict[str, DaemonTenant] = field(default_factory=dict)

    @property
    def tenant_dir(self) -> Path:
        return self.root / "tenants"

    def add_tenant(
        self,
        name: str,
        sandbox: SandboxProcess,
        *,
        customers: int = 600,
        interval: int = 60,
        seed: int = 1,
        state_url: str | None = None,
        invalid_fraction: float = 0.03,
    ) -> DaemonTenant:
        source_url = f"sqlite:///{self.root / f'{name}-source.sqlite'}"
        state_url = state_url or f"sqlite:///{self.root / 'state.sqlite'}"  # shared by every tenant
        demo = generate_source(
            source_url,
            customers=customers,
            companies=customers // 10,
            invalid_fraction=invalid_fraction,
            seed=seed,
        )
        path = write_demo_config(
            self.tenant_dir / f"{name}.toml",
            source_url,
            sandbox.url,
            user=sandbox.user,
            state_url=state_url,
            interval=interval,
            campaigns=(),
        )
        tenant = DaemonTenant(name, path, state_url, demo, sandbox, self.env)
        self.tenants[name] = tenant
        return tenant

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        with (self.root / f"{name}.log").open("ab") as log:  # the child writes through its own copy
            process = subprocess.Popen(
                [SYNCD, *args],
                env=env or self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes[name] = process
        return process

    def worker(self, name: str = "worker", concurrency: int = 2) -> subprocess.Popen[bytes]:
        return self.start(name, "worker", "--concurrency", str(concurrency))

    def beat(self, name: str = "beat") -> subprocess.Popen[bytes]:
        return self.start(name, "beat")

    def syncd(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [SYNCD, *args], env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )

    def signal(self, name: str, signum: int) -> None:
        os.killpg(self.processes[name].pid, signum)

    def stop(self, name: str, timeout: float = 20) -> None:
        process = self.processes[name]
        if process.poll() is None:
            self.signal(name, signal.SIGTERM)
            self.signal(name, signal.SIGCONT)  # a paused (SIGSTOP) process handles SIGTERM once woken
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.signal(name, signal.SIGKILL)
                process.wait()

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)

    def logs(self) -> str:
        tails = []
        for name in self.processes:
            text = (self.root / f"{name}.log").read_text(errors="replace")
            tails.append(f"--- {name} ---\n{text[-3000:]}")
        return "\n".join(tails)

    def wait_for(self, what: str, check: Callable[[], T | None], timeout: float = PATIENCE) -> T:
        return wait_until(what, check, timeout, poll=0.25, context=self.logs)


def daemon_env(root: Path, broker_url: str, **overrides: str) -> dict[str, str]:
    env = {
        **os.environ,
        "SYNCD_CONFIG_DIR": str(root / "tenants"),
        "SYNCD_BROKER_URL": broker_url,
        "SYNCD_VAR_DIR": str(root / "var"),
        "SYNCD_STATE_URL": f"sqlite:///{root / 'state.sqlite'}",
        "SYNCD_TICK_SECONDS": "0.5",
        "SYNCD_VISIBILITY_TIMEOUT": "12",
        "SYNCD_LOCK_TTL": "3",
        "SYNCD_SOFT_SHUTDOWN_SECONDS": "1",
        "SYNCD_LOG_LEVEL": "INFO",
        "THULIUM_PASSWORD": "sandbox-secret",
    }
    env.update(overrides)
    return env


def overlapping(runs: list[models.Run]) -> list[tuple[int, int]]:
    """Pairs of runs of one tenant whose [started, finished] intervals intersect."""
    spans = sorted((r.started_at, r.finished_at or r.started_at, r.id) for r in runs)
    return [(a[2], b[2]) for a, b in itertools.pairwise(spans) if b[0] < a[1]]


def resync(daemon: Daemon, tenant: DaemonTenant, *args: str) -> str:
    """``syncd resync`` on the live daemon; returns the queued job's id."""
    result = daemon.syncd("resync", "--config", str(tenant.path), *args)
    assert result.returncode == 0, result.stderr
    match = re.search(r"queued job (\w+) \(runs follow\) for tenant", result.stdout)
    assert match, result.stdout
    return match.group(1)


def job_ended(tenant: DaemonTenant, job_id: str, *statuses: str) -> bool:
    return tenant.job(job_id).status in (statuses or ("ok", "partial"))


def lease_holder(tenant: DaemonTenant) -> str | None:
    """The token of the tenant's last lease in the state DB: it stays there after the run ends."""
    engine = make_engine(tenant.state_url)
    try:
        with session_factory(engine)() as session:
            return session.scalar(select(models.Lease.holder).where(models.Lease.tenant == tenant.name))
    finally:
        engine.dispose()


def lock_holder(tenant: DaemonTenant) -> str | None:
    with connect_redis(tenant.env["SYNCD_BROKER_URL"]) as client:
        return lease.lock_holder(client, tenant.name)
