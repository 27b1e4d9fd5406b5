"""Metrics: what is counted where, the workers' multiprocess files, and the web process's ``/metrics``."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import httpx
import pytest
import redis
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from syncd.app.lease import TenantBusy
from syncd.app.runtime import TenantRuntime
from syncd.app.sync import finish
from syncd.app.tenant_lease import tenant_lease
from syncd.demo import write_demo_config
from syncd.engine.ports import Commit, FailureRecord
from syncd.engine.records import Position
from syncd.observability.metrics import API_METRICS, MultiprocessFiles, metrics_dir, serve_worker_metrics
from syncd.sandbox import SandboxProcess
from syncd.settings import ProcessSettings
from syncd.state import migrate
from syncd.state.db import make_engine, session_factory
from syncd.state.repository import StateStore
from syncd.state.runs import Crashed, close_crashed, open_runs
from syncd.thulium import ThuliumClient, ThuliumNotFound, ThuliumUnavailable
from syncd.thulium.retry import RetryPolicy
from syncd.vocabulary import FailureKind
from syncd.web.app import create_app
from syncd.web.metrics import ROUTE


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def state_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    migrate.upgrade(url)
    return url


# ---- counted in-process ------------------------------------------------------------------------------------


def test_api_requests_and_retries_are_counted_by_endpoint_template_and_status(
    sandbox: SandboxProcess,
) -> None:
    sandbox.control.add_fault("error", method="GET", path="customers", count=2, status=503)
    policy = RetryPolicy(max_attempts=3, base_delay=0)
    requests = ("syncd_api_requests_total", "GET customers")
    before = {status: sample(requests[0], endpoint=requests[1], status=status) for status in ("503", "200")}
    retries = sample("syncd_api_retries_total", endpoint="GET customers", reason="503")
    with ThuliumClient(
        sandbox.url, sandbox.user, sandbox.password, retry=policy, observer=API_METRICS, sleep=lambda _: None
    ) as client:
        client.customers.page(limit=1)
        with pytest.raises(ThuliumNotFound):
            client.customers.get(987654321)
        sandbox.control.add_fault("error", method="GET", path="customers", count=3, status=500)
        with pytest.raises(ThuliumUnavailable):
            client.customers.page(limit=1)
    assert sample(requests[0], endpoint=requests[1], status="503") - before["503"] == 2
    assert sample(requests[0], endpoint=requests[1], status="200") - before["200"] == 1
    assert sample("syncd_api_retries_total", endpoint="GET customers", reason="503") - retries == 2
    assert sample("syncd_api_retries_total", endpoint="GET customers", reason="500") >= 2
    assert sample(requests[0], endpoint="GET customers/:id", status="404") >= 1
    assert sample("syncd_api_request_duration_seconds_count", endpoint="GET customers") >= 6
    exposed = generate_latest(REGISTRY).decode()
    assert "987654321" not in exposed  # ids never become labels


def test_a_finished_run_counts_its_records_and_its_duration() -> None:
    runtime = SimpleNamespace(
        tenant=SimpleNamespace(name="metrics-run"),
        client=SimpleNamespace(requests_sent=3),
        store=SimpleNamespace(finish_run=lambda *args: None),
    )
    counters = {"read": 50, "created": 45, "rejected": 5, "updated": 0}
    finish(cast(TenantRuntime, runtime), "customers", 7, counters, None, False, 0, 2.0, {})
    labels = {"tenant": "metrics-run", "stream": "customers"}
    assert sample("syncd_records_total", **labels, outcome="created") == 45
    assert sample("syncd_records_total", **labels, outcome="rejected") == 5
    assert REGISTRY.get_sample_value("syncd_records_total", {**labels, "outcome": "updated"}) is None
    assert sample("syncd_run_duration_seconds_count", **labels, status="partial") == 1
    assert sample("syncd_run_duration_seconds_bucket", **labels, status="partial", le="2.5") == 1
    # a dry run counts nothing: it did nothing
    finish(cast(TenantRuntime, runtime), "customers", None, counters, None, True, 0, 2.0, {})
    assert sample("syncd_records_total", **labels, outcome="created") == 45


def test_recorded_failures_are_counted_by_kind(state_url: str) -> None:
    engine = make_engine(state_url)
    store = StateStore(session_factory(engine), "metrics-failures")
    failures = [FailureRecord(f"k{i}", "create", FailureKind.REJECTED, "surname: missing") for i in range(3)]
    store.commit(
        "customers",
        Commit(failures=[*failures, FailureRecord("w", "create", FailureKind.WAITING, "company")]),
    )
    engine.dispose()
    labels = {"tenant": "metrics-failures", "stream": "customers"}
    assert sample("syncd_failures_total", **labels, kind="rejected") == 3
    assert sample("syncd_failures_total", **labels, kind="waiting") == 1


def test_lock_waits_and_busy_triggers_are_counted(redis_client: redis.Redis, state_url: str) -> None:
    engine = make_engine(state_url)
    sessions = session_factory(engine)
    with (
        tenant_lease(redis_client, sessions, "metrics-lock", "job1", ttl=5),
        pytest.raises(TenantBusy),
        tenant_lease(redis_client, sessions, "metrics-lock", "job2", ttl=5),
    ):
        pass
    engine.dispose()
    assert sample("syncd_lock_busy_total", tenant="metrics-lock") == 1
    assert sample("syncd_lock_wait_seconds_count", tenant="metrics-lock") == 1


# ---- the workers' multiprocess files ----------------------------------------------------------------------

WORKER = textwrap.dedent(
    """
    import multiprocessing, sys
    from pathlib import Path
    from syncd.observability.metrics import record_run, use_multiprocess

    mode, var_dir = sys.argv[1], Path(sys.argv[2])
    use_multiprocess(var_dir)

    def run() -> None:
        record_run("acme", "customers", "ok", {"created": 10}, 1.0)

    if mode == "pool":  # like Celery's prefork pool: forked children do the runs
        children = [multiprocessing.get_context("fork").Process(target=run) for _ in range(3)]
        for child in children:
            child.start()
        for child in children:
            child.join()
    else:  # "hold": a worker that stays up until its stdin closes
        run()
        print("ready", flush=True)
        sys.stdin.read()
    """
)


def worker(mode: str, var_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, mode, str(var_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def pool(var_dir: Path) -> None:
    process = worker("pool", var_dir)
    process.communicate(timeout=30)
    assert process.returncode == 0


def created(var_dir: Path) -> float:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MultiprocessFiles(metrics_dir(var_dir)))
    labels = {"tenant": "acme", "stream": "customers", "outcome": "created"}
    return registry.get_sample_value("syncd_records_total", labels) or 0.0


def test_forked_children_write_files_that_are_summed_and_a_restart_starts_from_zero(tmp_path: Path) -> None:
    assert created(tmp_path) == 0  # no folder yet: nothing, not an error
    pool(tmp_path)
    assert created(tmp_path) == 30  # three children, each counted; the main process ran nothing
    pool(tmp_path)
    assert created(tmp_path) == 30  # no other worker was alive: the folder was emptied at start


def test_a_second_worker_starting_keeps_the_live_workers_counts(tmp_path: Path) -> None:
    holder = worker("hold", tmp_path)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        pool(tmp_path)
        assert created(tmp_path) == 40
    finally:
        holder.communicate(timeout=30)
    pool(tmp_path)
    assert created(tmp_path) == 30


def test_a_worker_can_serve_its_hosts_files_on_a_port(tmp_path: Path) -> None:
    pool(tmp_path)
    server, thread = serve_worker_metrics(metrics_dir(tmp_path), 0, addr="127.0.0.1")
    try:
        response = httpx.get(f"http://127.0.0.1:{server.server_port}/metrics", timeout=5)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert 'syncd_records_total{outcome="created",stream="customers",tenant="acme"} 30.0' in response.text


# ---- GET /metrics ------------------------------------------------------------------------------------------


def test_the_web_process_serves_worker_counters_and_state_gauges(tmp_path: Path) -> None:
    config, state_url = tmp_path / "config", f"sqlite:///{tmp_path / 'state.sqlite'}"
    write_demo_config(config / "acme.toml", "sqlite:///unused", "http://127.0.0.1:9/api", state_url=state_url)
    (config / "typo.toml").write_text("[thulium]\nurl = 3\n")
    migrate.upgrade(state_url)
    engine = make_engine(state_url)
    store = StateStore(session_factory(engine), "acme")
    run = store.start_run("customers", "cli", "incremental")
    store.finish_run(run, "partial", {"read": 1})
    store.start_run("companies", "cli", "incremental")  # its process dies; someone notices
    (lost,) = open_runs(session_factory(engine), "acme")
    close_crashed(session_factory(engine), "acme", [Crashed(lost, "its process is gone")], "a test")
    cursor = Position(datetime(2024, 1, 1, tzinfo=UTC), "42")
    store.commit(
        "customers",
        Commit(cursor=cursor, failures=[FailureRecord("k1", "create", FailureKind.REJECTED, "x")]),
    )
    engine.dispose()
    pool(tmp_path)
    settings = ProcessSettings(config_dir=config, var_dir=tmp_path, state_url=state_url)

    async def scrape() -> tuple[int, str, str]:
        from aiohttp.test_utils import TestClient, TestServer

        app = create_app(settings)
        async with TestClient(TestServer(app)) as client:
            response = await client.get(ROUTE)
            return response.status, response.headers["Content-Type"], await response.text()

    status, content_type, body = asyncio.run(scrape())
    assert status == 200, body
    assert content_type.startswith("text/plain"), body
    values = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }

    def value(name: str, **labels: str) -> float | None:
        return values.get((name, tuple(sorted(labels.items()))))

    assert value("syncd_records_total", tenant="acme", stream="customers", outcome="created") == 30
    assert value("syncd_run_duration_seconds_count", tenant="acme", stream="customers", status="ok") == 3
    lag = value("syncd_cursor_lag_seconds", tenant="acme", stream="customers")
    assert lag is not None
    assert 0 <= lag < 60
    age = value("syncd_last_success_age_seconds", tenant="acme", stream="customers")
    assert age is not None
    assert 0 <= age < 60
    assert value("syncd_open_failures", tenant="acme", stream="customers", kind="rejected") == 1
    assert value("syncd_state_up", tenant="acme") == 1
    assert value("syncd_runs", tenant="acme", stream="customers", status="partial") == 1
    assert value("syncd_runs", tenant="acme", stream="companies", status="crashed") == 1
    assert value("syncd_state_up", tenant="typo") == 0  # a broken tenant file is visible, not silent
    assert value("syncd_cursor_lag_seconds", tenant="acme", stream="companies") is None  # never moved
    assert "process_cpu_seconds_total" not in body  # the web process's own registry is not mixed in
