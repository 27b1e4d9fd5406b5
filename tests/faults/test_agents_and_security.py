"""Reliability: agents at work in Thulium between runs (scenario 16), and the security checks.

Scenario 16 is the issue's ("Reliability suite"): agents edit and delete synced records and type in
records of their own. An incremental run cannot see any of it — it reads the source rows changed since
its cursor (and the failures due for a retry), never Thulium — so it sends nothing; the full reconcile
scans Thulium and repairs it. The security checks: a webhook without the right credentials records
nothing, and SQL in a source key or value is data, never code, from the source to Thulium and back out
of the CLI.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    MetaData,
    String,
    Table,
    func,
    inspect,
    select,
    table,
)

from syncd.demo import schema
from syncd.demo.store import open_engine
from syncd.engine.wallclock import wall_clock
from syncd.sandbox import SandboxControl, SandboxProcess
from syncd.settings import ProcessSettings, load_tenant
from syncd.state.db import make_engine, session_factory
from syncd.state.models import CampaignMember, Failure, Link
from tests.faults.processes import dangling_links, runs_of
from tests.faults.test_process_faults import demo, report, rerun
from tests.sync.conftest import SYNCD, DemoTenant
from tests.sync.convergence import assert_exact, converge_check, patient_client
from tests.waiting import HEAVY
from tests.web.test_webhooks import HOOK_USER, Deployment, deploy, deployment

__all__ = ["demo", "deploy", "deployment"]  # fixtures shared with the scenarios and tests they come from

Record = dict[str, Any]
TENANT = "acme"

# ---- scenario 16: agents edit, delete and create in Thulium between runs -----------------------------------


@dataclass
class AgentWork:
    """What the agents did, and to which Thulium records."""

    edited: list[str] = field(default_factory=list)  # source keys
    deleted: dict[str, int] = field(default_factory=dict)  # source key -> the deleted customer_id
    renamed_company: str = ""
    deleted_company: tuple[str, int] = ("", 0)  # source key, the deleted company_id
    own: dict[int, Record] = field(default_factory=dict)  # their own records, as they left them


# A mapped field changed, one emptied, a custom field and a phone; job_title is no mapped field.
CUSTOMER_EDITS: list[Record] = [
    {"surname": "Zmieniony", "job_title": "typed by an agent"},
    {"email": "agent.typed@example.com", "address": {"city": "Agentowo", "street": ""}},
    {"custom_fields": {"Segment": "agent-vip"}, "phone_number": "999888777"},
]
UNMAPPED = ("job_title", "typed by an agent")
OWN_RECORDS: list[Record] = [
    {"surname": "Walk-in", "phone_number": "600100200"},  # no identifier at all
    {"surname": "Referral", "identifier": "agent-7"},  # an identifier no source row has
]


def people(control: SandboxControl) -> dict[str, list[Record]]:
    """Thulium's person records (a company's own record left out), by identifier."""
    found: dict[str, list[Record]] = {}
    for record in control.state()["customers"]:
        if not record["company_flag"]:
            found.setdefault(record["identifier"], []).append(record)
    return found


def companies(control: SandboxControl) -> dict[str, Record]:
    """A company's own customer record (its ``company_id`` set), by identifier."""
    return {r["identifier"]: r for r in control.state()["customers"] if r["company_flag"]}


def record_of(control: SandboxControl, customer_id: int) -> Record | None:
    return next((r for r in control.state()["customers"] if r["customer_id"] == customer_id), None)


def links_of(state_url: str, stream: str) -> dict[str, int | None]:
    """Source key -> Thulium id of the tenant's synced links."""
    engine = make_engine(state_url)
    try:
        with session_factory(engine)() as session:
            query = select(Link.source_key, Link.thulium_id).where(
                Link.tenant == TENANT, Link.stream == stream, Link.state == "synced"
            )
            return {key: thulium_id for key, thulium_id in session.execute(query)}
    finally:
        engine.dispose()


def source_rows(demo: DemoTenant, rows_of: Table) -> dict[str, Record]:
    engine = open_engine(demo.source_url)
    try:
        with engine.connect() as connection:
            return {str(row["id"]): dict(row) for row in connection.execute(select(rows_of)).mappings()}
    finally:
        engine.dispose()


def add_customer(demo: DemoTenant, key: int) -> Record:
    """A new source row, changed after every row the demo holds (so an incremental run reads it)."""
    row: Record = {
        "id": key,
        "first_name": "Ala",
        "last_name": "Nowicka",
        "email": f"ala.nowicka{key}@example.com",
        "phone": "600 700 800",
        "city": "Radom",
        "street": "ul. Nowa 1",
        "segment": "new",
        "company_id": None,
        "updated_at": demo.demo.max_updated_at + timedelta(minutes=1),
        "deleted": False,
    }
    engine = open_engine(demo.source_url)
    try:
        with engine.begin() as connection:
            connection.execute(schema.customers.insert(), [row])
    finally:
        engine.dispose()
    return row


def busiest_companies(demo: DemoTenant) -> list[str]:
    """Valid company keys, those with the most members first: deleting one detaches customers."""
    members: dict[str, int] = {}
    for row in source_rows(demo, schema.customers).values():
        if row["company_id"] is not None:
            members[str(row["company_id"])] = members.get(str(row["company_id"]), 0) + 1
    valid = [key for key in demo.demo.valid_company_keys if key in members]
    return sorted(valid, key=lambda key: -members[key])


def agents_at_work(demo: DemoTenant) -> AgentWork:
    """Three customers deleted (two of them in campaign 00001), three edited, a company renamed and
    one deleted (Thulium detaches its members), and two records of the agents' own."""
    control = demo.sandbox.control
    held = people(control)
    members = set(demo.demo.campaign_members["00001"])
    keys = [key for key in demo.demo.valid_customer_keys if key in held]
    work = AgentWork()
    doomed = [k for k in keys if k in members][:2] + [k for k in keys if k not in members][:1]
    for key in doomed:
        work.deleted[key] = held[key][0]["customer_id"]
        control.agent_delete_customer(work.deleted[key])
    work.edited = [key for key in keys if key not in work.deleted][: len(CUSTOMER_EDITS)]
    for key, edit in zip(work.edited, CUSTOMER_EDITS, strict=True):
        control.agent_edit_customer(held[key][0]["customer_id"], edit)
    held_companies = companies(control)
    work.renamed_company, gone = busiest_companies(demo)[:2]
    control.agent_edit_company(held_companies[work.renamed_company]["company_id"], {"name": "Renamed"})
    work.deleted_company = (gone, held_companies[gone]["company_id"])
    control.agent_delete_company(work.deleted_company[1])
    for fields in OWN_RECORDS:
        customer_id = control.agent_create_customer(fields)
        work.own[customer_id] = record_of(control, customer_id) or {}
    return work


def last_runs(demo: DemoTenant) -> dict[str, dict[str, int]]:
    """Each stream's counters in its latest run."""
    return {run.stream: run.counters for run in runs_of(demo.state_url, TENANT)}


def campaign_customer_ids(control: SandboxControl, outbound_id: str) -> set[int]:
    return {int(record["customer_id"]) for record in control.state()["records"].get(outbound_id, [])}


def take_out_of_view(control: SandboxControl, work: AgentWork) -> None:
    """``converge_check`` counts every record whose identifier the source does not expect as unexpected —
    the empty identifier and foreign ones too (tests/sync/convergence.py, ``found.unexpected``). The
    agents' own records are not syncd's: their fate is asserted by the test, then they leave the view."""
    for customer_id in work.own:
        control.agent_delete_customer(customer_id)


def assert_nothing_repaired(
    demo: DemoTenant, before: dict[str, Any], writes: int, *, dangling_customers: int
) -> None:
    """What the incremental run did: changed nothing (no row changed in the source), wrote nothing to Thulium,
    and left the links naming the records the agents deleted."""
    control = demo.sandbox.control
    assert control.counts()["writes"] == writes, "an incremental run sends nothing"
    assert control.state()["customers"] == before["customers"], "the agents' edits and deletes stand"
    runs = last_runs(demo)
    # It reads the lookback window again (120 s by default), rows unchanged since: they cost no request.
    for stream in ("companies", "customers"):
        assert [runs[stream][n] for n in ("created", "updated", "deleted")] == [0, 0, 0], runs
    assert runs["campaign:00001"]["kept"] == runs["campaign:00001"]["wanted"], "its members as it knew them"
    expected = {"companies": 1, "customers": dangling_customers}
    assert dangling_links(demo.state_url, TENANT, control) == expected


def assert_repaired(demo: DemoTenant, work: AgentWork) -> None:
    control = demo.sandbox.control
    held, source = people(control), source_rows(demo, schema.customers)
    links = links_of(demo.state_url, "customers")
    for key in work.edited:
        [record] = held[key]
        assert (record["surname"], record["address"].get("city")) == (
            source[key]["last_name"],
            source[key]["city"],
        ), key
    unmapped = held[work.edited[0]][0]
    assert unmapped[UNMAPPED[0]] == UNMAPPED[1], "source wins on mapped fields only"
    for key, old_id in work.deleted.items():
        assert len(held[key]) == 1, f"customer {key} re-created once"
        assert held[key][0]["customer_id"] != old_id
        assert links[key] == held[key][0]["customer_id"]
    in_campaign = [
        held[key][0]["customer_id"] for key in work.deleted if key in demo.demo.campaign_members["00001"]
    ]
    assert set(in_campaign) <= campaign_customer_ids(control, "00001"), "re-created members are back in it"
    company_key, old_company = work.deleted_company
    company = companies(control)
    assert company[company_key]["company_id"] != old_company
    assert links_of(demo.state_url, "companies")[company_key] == company[company_key]["company_id"]
    assert company[work.renamed_company]["surname"] != "Renamed", "a company's name is the source's"
    assert dangling_links(demo.state_url, TENANT, control) == {}, "every link names a live record"
    for customer_id, record in work.own.items():
        assert record_of(control, customer_id) == record, "the agents' own records are left alone"


@HEAVY
def test_16_agents_edits_and_deletes_are_repaired_by_the_full_reconcile(demo: DemoTenant) -> None:
    """Agents edit and delete synced customers and companies and add records of their own; one of them
    carries the identifier of a customer the source gets only after the incremental run."""
    control = demo.sandbox.control
    rerun(demo)
    synced_people = set(people(control))
    work = agents_at_work(demo)
    # Under the unkind reading of DELETE companies/:id, the agent's company delete took its employees too.
    cascaded = synced_people - set(people(control)) - set(work.deleted)
    assert bool(cascaded) == (control.readings().company_delete == "cascade")
    new_key = str(max(int(key) for key in demo.demo.customer_keys) + 1)
    typed_in = control.agent_create_customer({"surname": "Typed in", "identifier": new_key})
    started = time.monotonic()
    before, writes = control.state(), control.counts()["writes"]

    incremental = demo.sync(timeout=120)
    assert incremental.returncode == 0, f"nothing read, nothing failed\n{incremental.stdout}"
    assert_nothing_repaired(demo, before, writes, dangling_customers=3 + len(cascaded))

    row = add_customer(demo, int(new_key))
    full = demo.sync("--full", timeout=120)
    assert full.returncode == 2, f"the demo's invalid rows make it partial\n{full.stdout}{full.stderr}"
    runs = last_runs(demo)
    recreated = len(work.deleted) + len(cascaded)
    assert (runs["customers"]["created"], runs["companies"]["created"]) == (recreated, 1), runs
    assert runs["customers"]["adopted"] == 1, runs
    assert_repaired(demo, work)
    [adopted] = people(control)[new_key]
    assert adopted["customer_id"] == typed_in, "the agent's record is adopted, not duplicated"
    assert (adopted["surname"], adopted["name"]) == (row["last_name"], row["first_name"])
    assert links_of(demo.state_url, "customers")[new_key] == typed_in
    take_out_of_view(control, work)
    report("16 agents edit/delete/create in Thulium; `sync --full`", demo, started)


@HEAVY
def test_16_a_record_agents_typed_in_before_its_source_row_synced_is_kept_by_the_full_reconcile(
    demo: DemoTenant,
) -> None:
    """An agent types in a new customer under the source's key while the same customer is added to the
    source. An incremental run does not read Thulium, so it creates syncd's own record next to it (a
    lookup per new row would cost a request per insert); the full reconcile then keeps the agent's
    (older) record, gives it the row's fields, moves the link to it and purges syncd's."""
    control = demo.sandbox.control
    rerun(demo)
    new_key = str(max(int(key) for key in demo.demo.customer_keys) + 1)
    typed_in = control.agent_create_customer({"surname": "Typed in", "identifier": new_key})
    started = time.monotonic()
    row = add_customer(demo, int(new_key))

    assert demo.sync(timeout=120).returncode == 0
    assert len(people(control)[new_key]) == 2, "the incremental run does not look for agents' records"
    full = demo.sync("--full", timeout=120)
    assert full.returncode == 2, full.stdout
    [kept] = people(control)[new_key]
    assert kept["customer_id"] == typed_in, "the full reconcile keeps the agent's record"
    assert (kept["surname"], kept["name"]) == (row["last_name"], row["first_name"])
    assert links_of(demo.state_url, "customers")[new_key] == typed_in
    report("16 agent's record under a new source key, then `sync --full`", demo, started)


# ---- security: webhooks need their credentials ---------------------------------------------------------


@pytest.mark.parametrize("auth", [None, (HOOK_USER, "wrong-password")], ids=["no auth", "wrong password"])
def test_a_webhook_without_its_credentials_is_refused_and_records_nothing(
    deployment: Deployment, auth: tuple[str, str] | None
) -> None:
    """The web app served for real (tests/web's deployment); the same event with the right credentials
    is recorded, so the empty table is the refusal's doing."""
    event = {"action": "CUSTOMER_CREATED", "customer_id": 1}
    refused = deployment.post_json(event, auth=auth)
    assert refused.status_code == 401
    assert deployment.events() == []
    assert deployment.post_json(event).json() == {"status": "recorded"}
    assert len(deployment.events()) == 1


# ---- security: SQL in source keys and values is data -------------------------------------------------

FIRM = "1'; DROP TABLE firms; --"
PERSON = "1'; DROP TABLE customers; --"
QUOTED = '" OR 1=1 --'
INVALID = "'); DELETE FROM failures; -- 100%_[/]"  # LIKE wildcards and rich markup as well
BOBBY = "Robert'); DROP TABLE links;--"
EMAIL = 'robert\')--"or"1=1@example.com'  # the e-mail rules allow no space, comma or semicolon
OUTBOUND = "00001"

sql_metadata = MetaData()
firms = Table(
    "firms",
    sql_metadata,
    Column("ref", String(100), primary_key=True),
    Column("title", String(200)),
    Column("changed", DateTime, nullable=False),
    Column("gone", Boolean, nullable=False),
)
persons = Table(
    "persons",
    sql_metadata,
    Column("ref", String(100), primary_key=True),
    Column("last_name", String(200)),
    Column("first_name", String(200)),
    Column("email", String(200)),
    Column("firm", String(100)),
    Column("changed", DateTime, nullable=False),
    Column("gone", Boolean, nullable=False),
)
SQL_TENANT = """
[thulium]
url = {thulium_url}
user = {thulium_user}
password_env = "THULIUM_PASSWORD"

[source]
url = {source_url}

[state]
url = {state_url}

[companies]
table = "firms"
key = "ref"
updated_at = "changed"
deleted = "gone"
fields = {{ name = "title" }}

[customers]
table = "persons"
key = "ref"
updated_at = "changed"
deleted = "gone"
company_key = "firm"
fields = {{ surname = "last_name", name = "first_name", email = "email" }}

[[campaigns]]
outbound_id = "{outbound}"
query = "SELECT ref AS key FROM persons WHERE NOT gone"
"""
WHEN = wall_clock(2024, 1, 1, 8, 0)


@dataclass
class SqlTenant:
    path: Path
    source_url: str
    state_url: str
    env: dict[str, str]

    def syncd(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SYNCD), *args, "--config", str(self.path)],
            capture_output=True,
            text=True,
            timeout=120,
            env=self.env,
            check=False,
        )


@pytest.fixture
def sql_tenant(tmp_path: Path, sandbox: SandboxProcess) -> SqlTenant:
    """A tenant whose source keys are text: a company and customers keyed and named with SQL."""
    source_url = f"sqlite:///{tmp_path / 'source.sqlite'}"
    engine = open_engine(source_url)
    try:
        sql_metadata.create_all(engine)
        with engine.begin() as connection:
            connection.execute(
                firms.insert(), [{"ref": FIRM, "title": BOBBY, "changed": WHEN, "gone": False}]
            )
            connection.execute(
                persons.insert(),
                [
                    person(PERSON, BOBBY, QUOTED, EMAIL, FIRM, minutes=1),
                    person(QUOTED, "x' OR '1'='1", BOBBY, None, None, minutes=2),
                    person(INVALID, None, QUOTED, None, None, minutes=3),  # no surname: a failure
                ],
            )
    finally:
        engine.dispose()
    state_url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    path = tmp_path / f"{TENANT}.toml"
    path.write_text(
        SQL_TENANT.format(
            thulium_url=json.dumps(sandbox.url),
            thulium_user=json.dumps(sandbox.user),
            source_url=json.dumps(source_url),
            state_url=json.dumps(state_url),
            outbound=OUTBOUND,
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}
    env.update(THULIUM_PASSWORD=sandbox.password, SYNCD_VAR_DIR=str(tmp_path / "var"))
    return SqlTenant(path, source_url, state_url, env)


def person(
    key: str, surname: str | None, name: str, email: str | None, firm: str | None, minutes: int
) -> Record:
    return {
        "ref": key,
        "last_name": surname,
        "first_name": name,
        "email": email,
        "firm": firm,
        "changed": WHEN + timedelta(minutes=minutes),
        "gone": False,
    }


def table_rows(url: str) -> dict[str, int]:
    """Every table of a database, with its row count."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            counts: dict[str, int] = {}
            for name in inspect(connection).get_table_names():
                counts[name] = connection.execute(select(func.count()).select_from(table(name))).scalar_one()
            return counts
    finally:
        engine.dispose()


def state_keys(state_url: str) -> dict[str, set[str]]:
    """Source keys the state DB holds, per table and stream."""
    engine = make_engine(state_url)
    try:
        with session_factory(engine)() as session:
            found: dict[str, set[str]] = {}
            for name, model in (("links", Link), ("failures", Failure)):
                for stream, key in session.execute(select(model.stream, model.source_key)):
                    found.setdefault(f"{name} {stream}", set()).add(key)
            members = select(CampaignMember.outbound_id, CampaignMember.source_key)
            for outbound_id, key in session.execute(members):
                found.setdefault(f"campaign_members {outbound_id}", set()).add(key)
            return found
    finally:
        engine.dispose()


def assert_thulium_holds_the_literal_strings(control: SandboxControl) -> None:
    held = people(control)
    assert set(held) == {PERSON, QUOTED}, "no record for the rejected row, none under another name"
    [customer], [quoted] = held[PERSON], held[QUOTED]
    firm = companies(control)[FIRM]
    assert (customer["surname"], customer["name"], customer["emails"]) == (BOBBY, QUOTED, [EMAIL])
    assert customer["company_id"] == firm["company_id"]
    assert firm["surname"] == BOBBY
    assert (quoted["surname"], quoted["name"]) == ("x' OR '1'='1", BOBBY)
    in_campaign = {record["customer_id"] for record in control.state()["records"][OUTBOUND]}
    assert in_campaign == {customer["customer_id"], quoted["customer_id"]}


@HEAVY
def test_sql_in_source_keys_and_values_is_stored_literally(
    sql_tenant: SqlTenant, sandbox: SandboxProcess
) -> None:
    """Keys and values that would end or widen a statement if pasted into SQL reach Thulium, the state DB
    and the CLI's output unchanged, and every table keeps its rows."""
    preview = sql_tenant.syncd("sync", "--dry-run")
    assert "Traceback" not in preview.stderr, preview.stderr
    assert "1'; DROP TABLE firms; --" in preview.stdout, "the preview prints keys as they are"
    sync = sql_tenant.syncd("sync")
    assert sync.returncode == 2, f"the row without a surname makes it partial\n{sync.stdout}{sync.stderr}"
    assert_thulium_holds_the_literal_strings(sandbox.control)
    tenant = load_tenant(sql_tenant.path, ProcessSettings(), env=sql_tenant.env)
    with patient_client(sandbox) as client:
        assert_exact(converge_check(tenant, client, {"customers": {INVALID}}))

    listed = sql_tenant.syncd("failures", "list")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert INVALID in listed.stdout, listed.stdout + listed.stderr
    exported = sql_tenant.syncd("failures", "export", "--format", "json")
    assert exported.returncode == 0, exported.stderr
    assert {(f["stream"], f["source_key"]) for f in json.loads(exported.stdout)} == {
        ("customers", INVALID),
        (f"campaign:{OUTBOUND}", INVALID),  # waits for the customer the source cannot give
    }
    shown = sql_tenant.syncd("failures", "show", INVALID, "--stream", "customers")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert INVALID in shown.stdout, shown.stdout + shown.stderr
    retried = sql_tenant.syncd("failures", "retry", "--here", "--stream", "customers", INVALID)
    assert retried.returncode == 2, (
        f"re-read by its key, still without a surname\n{retried.stdout}{retried.stderr}"
    )
    [retry_run] = [run for run in runs_of(sql_tenant.state_url, TENANT) if run.stream == "customers"][-1:]
    # The row found by its key, besides the rows its incremental read takes again behind the cursor.
    assert retry_run.counters["read"] >= 1, "the source row found by its key"
    status = sql_tenant.syncd("status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert INVALID in status.stdout, status.stdout + status.stderr

    assert table_rows(sql_tenant.source_url) == {"firms": 1, "persons": 3}
    state = table_rows(sql_tenant.state_url)
    assert (state["links"], state["failures"], state["campaign_members"]) == (3, 2, 2), state
    assert state_keys(sql_tenant.state_url) == {
        "links companies": {FIRM},
        "links customers": {PERSON, QUOTED},
        "failures customers": {INVALID},
        f"failures campaign:{OUTBOUND}": {INVALID},
        f"campaign_members {OUTBOUND}": {PERSON, QUOTED},
    }
    assert_thulium_holds_the_literal_strings(sandbox.control)
