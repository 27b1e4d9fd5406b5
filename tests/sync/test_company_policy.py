"""Issue 15: a customer never waits on a company whose fate is known, with incremental runs only.

Every valid customer is in Thulium — those whose company was rejected, refused, deleted or is absent without
one, each with a warning — and a company that arrives later brings its customers' links along, without a
full reconcile and without those customer rows changing. Run under the sandbox's kind readings and under the
adversarial profile (a company delete that takes its customers with it, no rollback on a 5xx, …).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from syncd.demo import generate_source, mutate, write_demo_config
from syncd.demo.rows import Invalid
from syncd.sandbox import SandboxProcess
from syncd.state.db import make_engine
from tests.sync.conftest import DemoTenant
from tests.sync.convergence import assert_exact, converge_check
from tests.sync.test_acceptance import open_failures
from tests.waiting import HEAVY

PROFILES = ["default", "adversarial"]


@pytest.fixture(params=PROFILES)
def big_tenant(request: pytest.FixtureRequest, tmp_path: Path, sandbox: SandboxProcess) -> DemoTenant:
    sandbox.control.use_profile(request.param)
    source_url = f"sqlite:///{tmp_path / 'source.sqlite'}"
    state_url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    demo = generate_source(source_url, customers=3000, companies=150, invalid_fraction=0.03, seed=15)
    path = write_demo_config(
        tmp_path / "acme.toml", source_url, sandbox.url, user=sandbox.user, state_url=state_url, campaigns=()
    )
    with path.open("a") as tenant_file:
        tenant_file.write("\n[sync]\nmax_in_flight = 2\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}
    env.update(
        THULIUM_PASSWORD=sandbox.password, SYNCD_LOG_LEVEL="WARNING", SYNCD_VAR_DIR=str(tmp_path / "v")
    )
    return DemoTenant(path, source_url, state_url, demo, sandbox, env)


def check(demo: DemoTenant, invalid_companies: set[str], invalid_customers: set[str]) -> set[str]:
    """Exact, with every detached customer shown as a warning; returns the detached keys."""
    invalid = {"companies": invalid_companies, "customers": invalid_customers}
    with demo.client() as client:
        figures = converge_check(demo.tenant(), client, invalid)
    assert_exact(figures)
    detached = set(figures["customers"].detached)
    assert set(open_failures(demo, warnings=True)) == {f"customers:{key}" for key in detached}
    expected = {f"{s}:{k}" for s, keys in invalid.items() for k in keys}
    assert set(open_failures(demo)) == expected, "warnings are not failures of the customers"
    return detached


def execute(demo: DemoTenant, statement: str, **params: object) -> None:
    engine = make_engine(demo.source_url)
    with engine.begin() as conn:
        conn.execute(text(statement), params)
    engine.dispose()


@HEAVY
def test_customers_of_unavailable_companies_go_without_them_and_get_them_when_they_come(
    big_tenant: DemoTenant,
) -> None:
    demo = big_tenant.demo
    assert big_tenant.sync().returncode == 2, "the broken rows are reported"
    detached = check(big_tenant, set(demo.invalid_companies), set(demo.invalid_customers))
    assert detached == set(demo.detached_customers), "every customer of a broken or missing company"
    broken_company_customers = {k for k, c in demo.detached_customers.items() if c in demo.invalid_companies}
    assert broken_company_customers, "some customers work for a broken company"

    # A mutation round: customer updates, soft deletes and inserts; a broken company repaired; a company
    # soft-deleted with its employees still living; a new company with new employees; incremental only.
    change = mutate(
        big_tenant.source_url, seed=15, updates=0.05, soft_deletes=0.01, hard_deletes=0, inserts=40
    )
    now = change.max_updated_at + timedelta(seconds=1)
    repaired = next(k for k, p in sorted(demo.invalid_companies.items()) if p is Invalid.MISSING_NAME)
    execute(
        big_tenant,
        "UPDATE companies SET name = 'Naprawiona sp. z o.o.', updated_at = :t WHERE id = :k",
        t=now,
        k=int(repaired),
    )
    gone = next(
        c for c in sorted(set(demo.valid_company_keys) - set(demo.detached_customers.values())) if c != "1"
    )
    execute(big_tenant, "UPDATE companies SET deleted = 1, updated_at = :t WHERE id = :k", t=now, k=int(gone))
    execute(
        big_tenant,
        "INSERT INTO companies (id, name, nip, updated_at, deleted) VALUES (9001, 'Nowa Firma', NULL, :t, 0)",
        t=now,
    )
    for key in (9101, 9102):
        execute(
            big_tenant,
            "INSERT INTO customers (id, first_name, last_name, company_id, updated_at, deleted) "
            "VALUES (:k, 'Jan', 'Nowy', 9001, :t, 0)",
            k=key,
            t=now,
        )
    employees_of_gone = {
        k
        for (k,) in _rows(
            big_tenant, "SELECT id FROM customers WHERE company_id = :c AND deleted = 0", c=int(gone)
        )
    }
    assert employees_of_gone, "the deleted company had employees"
    before = customer_ids(big_tenant)

    assert big_tenant.sync().returncode == 2
    assert big_tenant.sync().returncode == 0, "a second incremental run: nothing left to do"
    invalid_companies = set(demo.invalid_companies) - {repaired}
    invalid_customers = set(demo.invalid_customers) - set(change.soft_deleted)
    detached = check(big_tenant, invalid_companies, invalid_customers)
    repaired_customers = {k for k, c in demo.detached_customers.items() if c == repaired}
    assert repaired_customers, "linked to the repaired company"
    assert not repaired_customers & detached, "linked to the repaired company"
    living = {str(k) for k in employees_of_gone} - invalid_customers
    assert living <= detached, "the deleted company's employees stay, without it"
    after = customer_ids(big_tenant)
    assert {k: after[k] for k in living} == {k: before[k] for k in living}, (
        "the very same records: none went with its company and came back as a new one"
    )
    assert not {"9101", "9102"} & detached


def customer_ids(demo: DemoTenant) -> dict[str, int]:
    engine = make_engine(demo.state_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT source_key, thulium_id FROM links WHERE stream = 'customers'"))
        found = {str(key): int(thulium_id) for key, thulium_id in rows}
    engine.dispose()
    return found


def _rows(demo: DemoTenant, statement: str, **params: object) -> list[tuple[object, ...]]:
    engine = make_engine(demo.source_url)
    with engine.connect() as conn:
        found = [tuple(row) for row in conn.execute(text(statement), params)]
    engine.dispose()
    return found
