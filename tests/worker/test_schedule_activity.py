"""Activity streams keep their own schedule: the daemon's tick queues them as jobs of their own."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import redis
from sqlalchemy import text

from syncd.demo import generate_source, write_demo_config
from syncd.engine.wallclock import wall_clock_now
from syncd.sandbox import SandboxProcess
from syncd.settings import ProcessSettings
from syncd.settings.discovery import find_tenant
from syncd.state import migrate
from syncd.state.db import make_engine, session_factory
from syncd.state.jobs import JobStore
from syncd.state.types import utcnow
from syncd.worker.execute import execute_job
from syncd.worker.schedule import plan_tenant

ACTIVITY = f"""
[activity]
[activity.connections]
interval = 300
start = {wall_clock_now().date() - timedelta(days=1)}
[activity.chats_summary]
interval = 3600
"""


@pytest.fixture
def settings(tmp_path: Path, sandbox: SandboxProcess, monkeypatch: pytest.MonkeyPatch) -> ProcessSettings:
    monkeypatch.setenv("THULIUM_PASSWORD", sandbox.password)
    source_url = f"sqlite:///{tmp_path / 'source.sqlite'}"
    state_url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    generate_source(source_url, customers=50, companies=5, invalid_fraction=0, seed=4)
    path = write_demo_config(
        tmp_path / "tenants" / "acme.toml", source_url, sandbox.url, state_url=state_url, campaigns=()
    )
    with path.open("a", encoding="utf-8") as file:
        file.write(ACTIVITY)
    migrate.upgrade(state_url)
    return ProcessSettings(config_dir=tmp_path / "tenants", state_url=state_url, max_deliveries=2, lock_ttl=5)


def test_activity_streams_are_queued_on_their_own_interval_and_run_as_jobs(
    settings: ProcessSettings, redis_client: redis.Redis, sandbox: SandboxProcess
) -> None:
    tenant = find_tenant("acme", settings.config_dir, settings)
    queued: list[str] = []
    assert plan_tenant(tenant, lambda _tenant, job_id: queued.append(job_id), utcnow()) is not None
    engine = make_engine(settings.default_state_url())
    jobs = JobStore(session_factory(engine), "acme")
    try:
        streams = [jobs.get(job_id).streams for job_id in queued]  # type: ignore[union-attr]
        # the CRM job names its streams, so it does not also read the reports every minute
        assert streams == [("companies", "customers"), ("connections",), ("chats_summary",)]
        again: list[str] = []
        plan_tenant(tenant, lambda _tenant, job_id: again.append(job_id), utcnow())
        assert again == []  # nothing is due again within its interval

        sandbox.control.generate_activity(
            str(wall_clock_now().date() - timedelta(days=1)), days=1, per_day=10, seed=3
        )
        for job_id in queued:
            assert execute_job(settings, redis_client, "acme", job_id) == "ok"
        with make_engine(tenant.source_url.get_secret_value()).connect() as connection:
            stored = connection.execute(text("SELECT count(*) FROM thulium_connections")).scalar_one()
        assert stored == len(sandbox.control.state()["connections"]) > 0
    finally:
        engine.dispose()
