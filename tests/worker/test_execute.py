"""One delivery of a job, in-process, against real Redis, a real state DB and the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from syncd.app.tenant_lease import tenant_lease
from syncd.demo import generate_source, write_demo_config
from syncd.sandbox import SandboxProcess
from syncd.settings import ProcessSettings
from syncd.state import migrate
from syncd.state.db import make_engine, session_factory
from syncd.state.jobs import JobStore
from syncd.worker.execute import execute_job


@pytest.fixture
def settings(tmp_path: Path, sandbox: SandboxProcess, monkeypatch: pytest.MonkeyPatch) -> ProcessSettings:
    monkeypatch.setenv("THULIUM_PASSWORD", sandbox.password)
    source_url = f"sqlite:///{tmp_path / 'source.sqlite'}"
    state_url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    generate_source(source_url, customers=100, companies=10, invalid_fraction=0, seed=4)
    write_demo_config(
        tmp_path / "tenants" / "acme.toml", source_url, sandbox.url, state_url=state_url, campaigns=()
    )
    migrate.upgrade(state_url)
    return ProcessSettings(config_dir=tmp_path / "tenants", state_url=state_url, max_deliveries=2, lock_ttl=5)


@pytest.fixture
def jobs(settings: ProcessSettings) -> Iterator[JobStore]:
    engine = make_engine(settings.default_state_url())
    yield JobStore(session_factory(engine), "acme")
    engine.dispose()


def test_a_job_syncs_the_tenant_and_records_ok(
    settings: ProcessSettings, redis_client: redis.Redis, jobs: JobStore, sandbox: SandboxProcess
) -> None:
    job = jobs.create("incremental", "resync")
    assert execute_job(settings, redis_client, "acme", job.id) == "ok"
    assert jobs.get(job.id).status == "ok"  # type: ignore[union-attr]
    assert len(sandbox.control.state()["customers"]) == 110


def test_a_job_delivered_again_after_it_finished_does_nothing(
    settings: ProcessSettings, redis_client: redis.Redis, jobs: JobStore, sandbox: SandboxProcess
) -> None:
    job = jobs.create("incremental", "resync")
    execute_job(settings, redis_client, "acme", job.id)
    sandbox.control.reset_counts()
    assert execute_job(settings, redis_client, "acme", job.id) == "ok"
    assert sandbox.control.counts()["total"] == 0
    assert jobs.get(job.id).attempts == 1  # type: ignore[union-attr]


def test_a_poison_job_is_dead_lettered_after_max_deliveries_without_running(
    settings: ProcessSettings, redis_client: redis.Redis, jobs: JobStore, sandbox: SandboxProcess
) -> None:
    job = jobs.create("full", "resync")
    for _ in range(settings.max_deliveries):
        jobs.begin_attempt(job.id, holder="a worker that died mid-run")
    assert execute_job(settings, redis_client, "acme", job.id) == "dead"
    dead = jobs.get(job.id)
    assert dead is not None
    assert dead.status == "dead"
    assert "delivered 3 times" in (dead.error or "")
    assert sandbox.control.counts()["writes"] == 0


def test_a_trigger_that_finds_the_tenant_busy_is_recorded_as_skipped(
    settings: ProcessSettings, redis_client: redis.Redis, jobs: JobStore, sandbox: SandboxProcess
) -> None:
    job = jobs.create("incremental", "schedule")
    sessions = session_factory(make_engine(settings.default_state_url()))
    with tenant_lease(redis_client, sessions, "acme", "other-job", ttl=5):
        assert execute_job(settings, redis_client, "acme", job.id) == "skipped"
    skipped = jobs.get(job.id)
    assert skipped is not None
    assert "other-job" in (skipped.error or "")
    assert sandbox.control.counts()["writes"] == 0


def test_an_unknown_tenant_is_reported_not_raised(
    settings: ProcessSettings, redis_client: redis.Redis
) -> None:
    assert execute_job(settings, redis_client, "nobody", "0123456789ab") == "config-error"
