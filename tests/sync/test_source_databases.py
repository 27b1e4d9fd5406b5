"""The demo source on SQLite, PostgreSQL and MariaDB: generated, synced, mutated, synced, exact.

The same mutations as the acceptance test, run in-process through ``sync_tenant`` against the
sandbox; only the source database differs. The demo's campaign rules are left out: their query
names its column ``key``, a reserved word in MySQL.
"""

from __future__ import annotations

from pathlib import Path

from syncd.app.runtime import tenant_runtime
from syncd.app.sync import sync_tenant
from syncd.demo import generate_source, mutate, write_demo_config
from syncd.sandbox import SandboxProcess
from syncd.settings import ProcessSettings, Tenant, load_tenant
from syncd.state import migrate
from tests.sync.convergence import assert_exact, converge_check, patient_client


def sync(tenant: Tenant, *, full: bool = False) -> int:
    with tenant_runtime(tenant) as runtime:
        return sync_tenant(runtime, streams=["companies", "customers"], full=full, force=True).exit_code


def converges(tenant: Tenant, sandbox: SandboxProcess, invalid: dict[str, set[str]]) -> None:
    with patient_client(sandbox) as client:
        assert_exact(converge_check(tenant, client, invalid))


def test_the_demo_source_converges_on_every_database(
    source_url: str, sandbox: SandboxProcess, tmp_path: Path
) -> None:
    state_url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    demo = generate_source(source_url, customers=400, companies=40, invalid_fraction=0.03, seed=3)
    path = write_demo_config(
        tmp_path / "acme.toml", source_url, sandbox.url, user=sandbox.user, state_url=state_url, campaigns=()
    )
    tenant = load_tenant(path, ProcessSettings(), env={"THULIUM_PASSWORD": sandbox.password})
    migrate.upgrade_if_needed(state_url)
    invalid = {"companies": set(demo.invalid_companies), "customers": set(demo.invalid_customers)}

    assert sync(tenant) == 2  # the deliberately invalid rows are rejected
    converges(tenant, sandbox, invalid)

    # Incremental runs alone catch up with updates, soft deletes, inserts and rows on the cursor's second.
    change = mutate(source_url, seed=5, updates=0.05, soft_deletes=0.02, hard_deletes=0, inserts=30)
    assert change.same_timestamp
    assert sync(tenant) in (0, 2)
    converges(tenant, sandbox, invalid)

    # Hard deletes are seen by the full reconcile.
    mutate(source_url, seed=6, updates=0.02, soft_deletes=0.01, hard_deletes=0.02, inserts=10)
    assert sync(tenant) in (0, 2)
    assert sync(tenant, full=True) in (0, 2)
    converges(tenant, sandbox, invalid)
