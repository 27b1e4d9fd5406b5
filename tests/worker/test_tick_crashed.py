"""Beat's tick closes the runs whose process died, against a real Redis and a real SQLite state DB."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from sqlalchemy import select

from syncd.app.tenant_lease import lock_key, tenant_lease
from syncd.demo import write_demo_config
from syncd.settings import ProcessSettings
from syncd.state import migrate, models
from syncd.state.db import make_engine, session_factory
from syncd.state.repository import StateStore
from syncd.worker.schedule import tick


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ProcessSettings:
    monkeypatch.setenv("THULIUM_PASSWORD", "secret")
    state_url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    write_demo_config(
        tmp_path / "tenants" / "acme.toml", "sqlite:///unused", "http://127.0.0.1:9/api", state_url=state_url
    )
    migrate.upgrade(state_url)
    return ProcessSettings(config_dir=tmp_path / "tenants", state_url=state_url, lock_ttl=5)


def statuses(state_url: str) -> dict[str, tuple[str, str | None]]:
    engine = make_engine(state_url)
    try:
        with session_factory(engine)() as session:
            return {r.stream: (r.status, r.error) for r in session.scalars(select(models.Run))}
    finally:
        engine.dispose()


def test_a_tick_closes_a_run_whose_lease_is_gone_and_spares_the_live_one(
    settings: ProcessSettings, redis_client: redis.Redis
) -> None:
    state_url = settings.default_state_url()
    engine = make_engine(state_url)
    sessions = session_factory(engine)
    queued: list[str] = []
    try:
        with tenant_lease(redis_client, sessions, "acme", "dead", ttl=5) as dead:
            StateStore(sessions, "acme", epoch=dead.epoch).start_run("companies", "schedule", "full")
            redis_client.delete(lock_key("acme"))  # its process died: the lock expired
            tick(settings, lambda _tenant, job_id: queued.append(job_id), redis_client)
        with tenant_lease(redis_client, sessions, "acme", "live", ttl=5) as live:
            StateStore(sessions, "acme", epoch=live.epoch).start_run("customers", "schedule", "full")
            tick(settings, lambda _tenant, job_id: queued.append(job_id), redis_client)
            runs = statuses(state_url)
    finally:
        engine.dispose()
    status, error = runs["companies"]
    assert status == "crashed"
    assert "closed by beat" in (error or "")
    assert runs["customers"] == ("running", None)
    assert queued  # the tick still scheduled the tenant
