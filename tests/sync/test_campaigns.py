"""Issue 5's acceptance list for the campaign feed: `syncd sync` against the sandbox over HTTP."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, delete, insert, select, text, update

from syncd.app.campaigns import check_campaigns
from syncd.app.runtime import tenant_runtime
from syncd.app.sync import TenantOutcome, sync_campaigns
from syncd.sandbox import SandboxControl
from syncd.sandbox.thulium.readings import REWORDED_NOT_FOUND
from syncd.state.db import make_engine, session_factory
from syncd.state.models import CampaignMember, Failure, Link, Run
from tests.sync.conftest import DemoTenant
from tests.waiting import HEAVY

OUTBOUND = "00002"
TO_CALL = 10
WORKED = {"MY_RECORD": 13, "NO_CALL": 14}
RULE = f'''
[[campaigns]]
outbound_id = "{OUTBOUND}"
query = 'SELECT customer_id AS key, priority AS "order" FROM rule_targets'
initial_status_id = {TO_CALL}

[campaigns.writeback]
table = "campaign_outcomes"
'''
TARGETS = Table("rule_targets", MetaData(), Column("customer_id", String(20)), Column("priority", Integer))
OUTCOME_COLUMNS = (
    "record_id",
    "customer_id",
    "status_id",
    "system_status",
    "call_date",
    "create_date",
    "next_call_date",
    "agent_login",
    "last_note",
)


def use_rule(demo: DemoTenant, keys: Iterable[str], rule: str = RULE) -> None:
    """Point the tenant at one campaign rule over a `rule_targets` table holding ``keys``."""
    text_without_demo_rules = demo.path.read_text().split("\n[[campaigns]]")[0]
    demo.path.write_text(text_without_demo_rules + rule)
    engine = make_engine(demo.source_url)
    TARGETS.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(delete(TARGETS))
        connection.execute(insert(TARGETS), [{"customer_id": key, "priority": 50} for key in keys])
    engine.dispose()


def change_targets(demo: DemoTenant, leave: Iterable[str], join: Iterable[str], priority: int) -> None:
    engine = make_engine(demo.source_url)
    with engine.begin() as connection:
        connection.execute(delete(TARGETS).where(TARGETS.c.customer_id.in_(list(leave))))
        connection.execute(insert(TARGETS), [{"customer_id": key, "priority": 50} for key in join])
        connection.execute(update(TARGETS).values(priority=priority))
    engine.dispose()


def linked_ids(demo: DemoTenant) -> dict[int, str]:
    engine = make_engine(demo.state_url)
    with session_factory(engine)() as session:
        rows = session.execute(select(Link.thulium_id, Link.source_key).where(Link.stream == "customers"))
        found = {int(thulium_id): key for thulium_id, key in rows if thulium_id is not None}
    engine.dispose()
    return found


def campaign_records(demo: DemoTenant) -> list[dict[str, object]]:
    with demo.client() as client:
        return [r.model_dump() for r in client.campaign_records.iter(OUTBOUND)]


def campaign_keys(demo: DemoTenant) -> list[str]:
    """Source keys of the campaign's records, duplicates kept (a duplicate must fail the test)."""
    keys = linked_ids(demo)
    records = campaign_records(demo)
    return [keys.get(int(str(r["customer_id"])), f"unlinked:{r['customer_id']}") for r in records]


def last_campaign_run(demo: DemoTenant) -> Run:
    engine = make_engine(demo.state_url)
    with session_factory(engine)() as session:
        query = select(Run).where(Run.stream == f"campaign:{OUTBOUND}").order_by(Run.id.desc()).limit(1)
        run = session.scalars(query).one()
    engine.dispose()
    return run


def writeback_rows(demo: DemoTenant) -> dict[int, dict[str, object]]:
    engine = make_engine(demo.source_url)
    columns = ", ".join(OUTCOME_COLUMNS)
    with engine.connect() as connection:
        rows = connection.execute(text(f"SELECT {columns} FROM campaign_outcomes"))
        found = {int(row.record_id): {c: getattr(row, c) for c in OUTCOME_COLUMNS} for row in rows}
    engine.dispose()
    return found


def sandbox_rows(demo: DemoTenant) -> dict[int, dict[str, object]]:
    """Thulium's empty value "" is NULL in the write-back table."""
    return {
        int(str(r["record_id"])): {c: None if r[c] == "" else r[c] for c in OUTCOME_COLUMNS}
        for r in campaign_records(demo)
    }


def assert_exactly(demo: DemoTenant, wanted: set[str]) -> None:
    keys = campaign_keys(demo)
    duplicated = {k: n for k, n in Counter(keys).items() if n > 1}
    assert not duplicated, f"duplicate records: {duplicated}"
    assert set(keys) == wanted, (
        f"missing {sorted(wanted - set(keys))[:5]}, unexpected {sorted(set(keys) - wanted)[:5]}"
    )


@HEAVY
def test_rule_feeds_exactly_its_rows_converges_after_a_change_and_leaves_worked_records_alone(
    demo_tenant: DemoTenant,
) -> None:
    rng = random.Random(5)
    valid = list(demo_tenant.demo.valid_customer_keys)
    chosen = rng.sample(valid, 500)
    use_rule(demo_tenant, chosen)
    first = demo_tenant.sync()
    assert first.returncode == 2, first.stderr  # the invalid customers; the campaign itself is clean
    assert last_campaign_run(demo_tenant).status == "ok"
    assert_exactly(demo_tenant, set(chosen))
    assert writeback_rows(demo_tenant) == sandbox_rows(demo_tenant)

    control = demo_tenant.sandbox.control
    dialed = control.run_dialer(OUTBOUND, count=60, seed=2, system_statuses=list(WORKED))
    worked = {int(r["customer_id"]): int(r["status_id"]) for r in dialed}
    assert len(worked) == 60
    keys_of = linked_ids(demo_tenant)
    worked_keys = {keys_of[customer_id] for customer_id in worked}
    leaving = rng.sample([k for k in chosen if k not in worked_keys], 100)
    joining = rng.sample(sorted(set(valid) - set(chosen)), 100)
    change_targets(demo_tenant, leaving, joining, priority=7)  # every row's order changes too

    second = demo_tenant.sync("--stream", "campaigns")
    assert second.returncode == 0, second.stderr
    wanted = (set(chosen) - set(leaving)) | set(joining)
    assert_exactly(demo_tenant, wanted)
    records = {int(str(r["customer_id"])): r for r in campaign_records(demo_tenant)}
    for customer_id, status_id in worked.items():
        assert records[customer_id]["status_id"] == status_id, "a worked record was reset"
    fresh = [r for cid, r in records.items() if cid not in worked]
    assert {r["order"] for r in fresh} == {7}
    assert {r["status_id"] for r in fresh} == {TO_CALL}
    assert writeback_rows(demo_tenant) == sandbox_rows(demo_tenant)

    before = int(control.counts()["writes"])
    third = demo_tenant.sync("--stream", "campaigns")
    assert third.returncode == 0, third.stderr
    assert int(control.counts()["writes"]) == before, "an unchanged rule sends no write"


def fault_hits(control: SandboxControl) -> dict[str, int]:
    return {rule["kind"]: rule["fired"] for rule in control.fault_state()["rules"]}


@HEAVY
def test_converges_without_duplicates_under_the_fault_mix(demo_tenant: DemoTenant) -> None:
    chosen = random.Random(8).sample(list(demo_tenant.demo.valid_customer_keys), 300)
    use_rule(demo_tenant, chosen[:200])
    assert demo_tenant.sync("--stream", "companies", "--stream", "customers").returncode == 2
    with demo_tenant.path.open("a") as tenant_file:
        tenant_file.write("\n[sync]\nitem_attempts = 10\nbatch_size = 20\n")  # more calls, more faults
    control = demo_tenant.sandbox.control
    control.set_faults(
        {
            "seed": 4,
            "rules": [
                {"kind": "error", "path": "*crm_outbounds*", "probability": 0.1, "status": 500},
                {
                    "kind": "too_many_requests",
                    "path": "*crm_outbounds*",
                    "probability": 0.1,
                    "retry_after": 1,
                },
                {"kind": "item_unavailable", "path": "batch/crm_outbounds/*", "item_probability": 0.1},
                {"kind": "lost_response", "path": "batch/crm_outbounds/*", "probability": 0.1},
                {"kind": "partial_207", "path": "batch/crm_outbounds/*", "probability": 0.1},
                {"kind": "malformed_207", "path": "batch/crm_outbounds/*", "probability": 0.1},
            ],
        }
    )
    demo_tenant.sync("--stream", "campaigns")
    change_targets(demo_tenant, chosen[:50], chosen[200:], priority=9)
    demo_tenant.sync("--stream", "campaigns")
    fired = fault_hits(control)
    for _ in range(4):  # the faults are random: a rare kind may need more batch calls before it shows
        if all(fired.values()):
            break
        churned = chosen[50:150]  # out and back in: about ten more batch calls, the same members after
        change_targets(demo_tenant, churned, [], priority=9)
        demo_tenant.sync("--stream", "campaigns")
        change_targets(demo_tenant, [], churned, priority=9)
        demo_tenant.sync("--stream", "campaigns")
        fired = fault_hits(control)
    assert all(fired.values()), f"every fault must have hit the campaign endpoints: {fired}"
    control.clear_faults()
    final = demo_tenant.sync("--stream", "campaigns")
    assert final.returncode == 0, final.stderr
    assert_exactly(demo_tenant, set(chosen[50:]))
    assert writeback_rows(demo_tenant) == sandbox_rows(demo_tenant)


NOT_FOUND_WORDINGS = pytest.mark.parametrize(
    "not_found_message", ["Customer not found.", REWORDED_NOT_FOUND], ids=["documented", "reworded"]
)
GET_CUSTOMER = ("GET", "customers/:id")  # how a campaign add refused in unknown words is verified


def open_failures(demo: DemoTenant, stream: str) -> dict[str, Failure]:
    engine = make_engine(demo.state_url)
    with session_factory(engine)() as session:
        query = select(Failure).where(Failure.stream == stream, Failure.resolved_at.is_(None))
        found = {f.source_key: f for f in session.scalars(query)}
    engine.dispose()
    return found


@NOT_FOUND_WORDINGS
def test_a_stale_customer_link_is_repaired_and_the_record_added(
    demo_tenant: DemoTenant, not_found_message: str
) -> None:
    control = demo_tenant.sandbox.control
    control.set_readings(customer_not_found_message=not_found_message)
    valid = list(demo_tenant.demo.valid_customer_keys)
    use_rule(demo_tenant, valid[:20])
    assert demo_tenant.sync().returncode == 2
    keys_of = {key: thulium_id for thulium_id, key in linked_ids(demo_tenant).items()}
    newcomer = valid[20]
    control.agent_delete_customer(keys_of[newcomer])  # behind syncd's back
    change_targets(demo_tenant, [], [newcomer], priority=50)
    control.reset_counts()
    result = demo_tenant.sync("--stream", "campaigns")
    assert result.returncode == 0, result.stderr
    assert_exactly(demo_tenant, set(valid[:21]))
    relinked = {key: thulium_id for thulium_id, key in linked_ids(demo_tenant).items()}[newcomer]
    assert relinked != keys_of[newcomer]
    checks = 0 if not_found_message == "Customer not found." else 1  # unknown words cost one check
    assert control.count(*GET_CUSTOMER) == checks
    assert open_failures(demo_tenant, f"campaign:{OUTBOUND}") == {}, "nothing is dead-lettered"
    left = open_failures(demo_tenant, "customers").get(newcomer)
    assert left is None or left.kind == "warning", (left.kind, left.message)  # the repair left nothing


REFUSED_STATUS = 99  # the campaign had it when syncd checked at start; an admin removed it since
STATUS_RULE = RULE.replace(
    'priority AS "order"', f"CASE WHEN priority = 1 THEN {REFUSED_STATUS} END AS status_id"
)


@NOT_FOUND_WORDINGS
def test_a_refused_add_of_an_existing_customer_stays_a_permanent_failure_after_one_check(
    demo_tenant: DemoTenant, not_found_message: str
) -> None:
    control = demo_tenant.sandbox.control
    control.set_readings(customer_not_found_message=not_found_message)
    valid = list(demo_tenant.demo.valid_customer_keys)
    use_rule(demo_tenant, valid[:5], STATUS_RULE)
    assert demo_tenant.sync("--stream", "companies", "--stream", "customers").returncode == 2
    refused = valid[0]
    engine = make_engine(demo_tenant.source_url)
    with engine.begin() as connection:
        connection.execute(update(TARGETS).where(TARGETS.c.customer_id == refused).values(priority=1))
    engine.dispose()
    linked_before = linked_ids(demo_tenant)
    control.reset_counts()

    assert sync_campaigns_seeing_a_removed_status(demo_tenant) == 2
    assert_exactly(demo_tenant, set(valid[1:5]))
    assert control.count(*GET_CUSTOMER) == 1, "exactly one verification request"
    failure = open_failures(demo_tenant, f"campaign:{OUTBOUND}")[refused]
    assert (failure.kind, failure.message, failure.http_status) == ("permanent", "Status not found.", 400)
    assert linked_ids(demo_tenant) == linked_before, "an existing customer's link is left alone"

    control.reset_counts()
    sync_campaigns_seeing_a_removed_status(demo_tenant)  # the rule unchanged: not sent, not checked again
    assert control.count(*GET_CUSTOMER) == 0
    assert control.count("POST", "batch/crm_outbounds/:id/records") == 0
    assert refused in open_failures(demo_tenant, f"campaign:{OUTBOUND}")


def sync_campaigns_seeing_a_removed_status(demo: DemoTenant) -> int:
    """The campaign rule run in-process as ``sync_tenant`` runs it, with the statuses its start check
    would have seen before the campaign lost status ``REFUSED_STATUS``: a status syncd believes in but
    Thulium refuses is how a real add fails for a customer that does exist."""
    tenant = demo.tenant()
    with tenant_runtime(tenant) as runtime:
        statuses = check_campaigns(runtime.client, tenant.config.campaigns, str(tenant.path))
        believed = {OUTBOUND: {**statuses[OUTBOUND], REFUSED_STATUS: "TO_CALL"}}
        outcomes = sync_campaigns(runtime, believed, full=False, dry_run=False, trigger="cli", job_id=None)
    return TenantOutcome(tenant.name, outcomes).exit_code


def test_a_record_deleted_in_thulium_is_added_again_by_the_full_run(demo_tenant: DemoTenant) -> None:
    valid = list(demo_tenant.demo.valid_customer_keys)
    use_rule(demo_tenant, valid[:30])
    demo_tenant.sync()
    keys_of = {key: thulium_id for thulium_id, key in linked_ids(demo_tenant).items()}
    with demo_tenant.client() as client:
        client.campaign_records.delete(OUTBOUND, keys_of[valid[3]])
    assert demo_tenant.sync("--stream", "campaigns", "--full").returncode == 0
    assert_exactly(demo_tenant, set(valid[:30]))
    engine = make_engine(demo_tenant.state_url)
    with session_factory(engine)() as session:
        members = session.scalars(select(CampaignMember.source_key)).all()
    engine.dispose()
    assert sorted(members) == sorted(valid[:30])


def test_an_unknown_campaign_or_status_fails_at_start_and_writes_nothing(demo_tenant: DemoTenant) -> None:
    control = demo_tenant.sandbox.control
    use_rule(demo_tenant, ["1"], RULE.replace(f'"{OUTBOUND}"', '"00009"'))
    result = demo_tenant.sync()
    assert result.returncode == 1
    assert "campaigns[0].outbound_id: Thulium has no campaign 00009" in result.stderr
    use_rule(demo_tenant, ["1"], RULE.replace(f"initial_status_id = {TO_CALL}", "initial_status_id = 3"))
    result = demo_tenant.sync()
    assert result.returncode == 1
    assert f"campaigns[0].initial_status_id: campaign {OUTBOUND} has no status 3" in result.stderr
    use_rule(demo_tenant, ["1"], RULE.replace(f'"{OUTBOUND}"', '"00003"'))
    result = demo_tenant.sync()
    assert result.returncode == 1
    assert "is not fed from the CRM" in result.stderr
    assert int(control.counts()["writes"]) == 0


def test_a_rule_query_without_a_key_column_stops_the_sync_before_any_write_with_a_clear_message(
    demo_tenant: DemoTenant,
) -> None:
    """The sync runs the local part of `syncd check` first: a rule query that cannot work is a
    mistake in the tenant file, said in check's words, before anything is written."""
    use_rule(demo_tenant, ["1"], RULE.replace("customer_id AS key", "customer_id"))
    result = demo_tenant.sync()
    assert result.returncode == 1
    assert "campaigns[0].query: returns no `key` column (it returns customer_id, order)" in result.stderr
    assert int(demo_tenant.sandbox.control.counts()["writes"]) == 0
