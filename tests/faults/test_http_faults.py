"""Reliability, HTTP level: Thulium answers late, never, in pieces or garbled (scenarios 4, 5, 8 and 9).

Scenario numbers are the issue's ("Reliability suite"). Whatever Thulium did with a write it did not
answer, syncd must find out by looking the record up (GET customers?identifier=...), never by sending
the create again blind: a second create is a duplicate the agents see. Each scenario ends with the
convergence figures (0 lost / duplicated / stale / unexpected, the open failures being exactly the rows
that cannot sync) and, before them, checks on the sandbox's own record of what arrived:

- *ids consumed*: Thulium numbers every record it creates (customers and companies alike) from one
  sequence, and the numbers only grow. Two probes around a run count every record it created, those
  deleted again since included, so "created == held" proves no create landed twice, even one purged later.
- *lookups*: the request log's GETs by identifier, the only way syncd may settle an unknown outcome.

Faults are bounded by ``count`` so that no item can meet one on each of its ``item_attempts`` (5): an item
that fails five times in a run is parked for five minutes by design, which a test cannot wait out. The
rules that may strike one item again (on its re-send) fire at most four times between them.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy import func, select, update

from syncd.demo import rows, schema
from syncd.demo.rows import Invalid
from syncd.demo.store import insert_rows, open_engine
from syncd.sandbox import SandboxControl
from syncd.state.db import make_engine, session_factory
from syncd.state.models import Failure, Link
from tests.faults import test_process_faults as process_faults
from tests.faults.figures import assert_passed, measure
from tests.faults.processes import invalid_rows, runs_of
from tests.sync.conftest import DemoTenant

demo = process_faults.demo  # the demo tenant: 600 customers, 60 companies, 3 % invalid rows
rerun, report = process_faults.rerun, process_faults.report

TENANT = "acme"
BATCH = "batch/customers"
READ_TIMEOUT = 1.0  # seconds: the tenant's, set small so a fault can outlast it cheaply
PAST_READ_TIMEOUT_MS = 2500  # a hang or a slow answer the client gives up on
FIRST_PAGE_BATCH = 100  # the demo's batch_size: the first customer batches of a run are full ones

Record = dict[str, Any]


# -- the tenant and its source ------------------------------------------------------------------------------


def set_read_timeout(demo: DemoTenant, seconds: float) -> None:
    """Edit the written tenant file, as an operator would."""
    text = demo.path.read_text(encoding="utf-8")
    demo.path.write_text(text.replace("[thulium]\n", f"[thulium]\nread_timeout = {seconds}\n", 1))
    assert demo.tenant().config.thulium.read_timeout == seconds


def later(demo: DemoTenant) -> datetime:
    """A moment after every row of the source: a row stamped with it is read by the next incremental run."""
    engine = open_engine(demo.source_url)
    try:
        with engine.connect() as connection:
            newest = max(
                connection.execute(select(func.max(table.c.updated_at))).scalar_one()
                for table in (schema.customers, schema.companies)
            )
    finally:
        engine.dispose()
    assert isinstance(newest, datetime)
    return newest + timedelta(minutes=1)


def move(demo: DemoTenant, table: str, keys: Collection[str], **values: Any) -> None:
    """Change rows the way the source's application would: new values (a new street by default), a newer
    updated_at."""
    rows_of = schema.metadata.tables[table]
    changes = {"street": rows_of.c.street + " (moved)", "updated_at": later(demo), **values}
    engine = open_engine(demo.source_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                update(rows_of).where(rows_of.c.id.in_([int(k) for k in keys])).values(changes)
            )
    finally:
        engine.dispose()


def add_customers(
    demo: DemoTenant, first_key: int, companies: list[int], seed: int, problem: Invalid | None = None
) -> list[str]:
    """One new demo customer per entry of ``companies`` (a company key, or 0 for none), keys from
    ``first_key``; ``problem`` breaks each the way the demo breaks its invalid rows."""
    rng = random.Random(seed)
    stamp = later(demo)
    new: list[Record] = []
    for key, company in enumerate(companies, start=first_key):
        row = rows.customer(rng, key, stamp, [company] if company else [], with_company=1.0)
        new.append(row if problem is None else rows.break_customer(rng, row, problem, 0))
    engine = open_engine(demo.source_url)
    try:
        with engine.begin() as connection:
            insert_rows(connection, schema.customers, new)
    finally:
        engine.dispose()
    return [str(row["id"]) for row in new]


def updatable(demo: DemoTenant, count: int, avoid: Collection[str] = ()) -> list[str]:
    """Valid customer keys (those Thulium holds after a clean sync), spread over the whole source."""
    keys = [key for key in demo.demo.valid_customer_keys if key not in avoid]
    return keys[:: max(1, len(keys) // count)][:count]


# -- the sandbox's record of what arrived -------------------------------------------------------------------


def next_customer_id(control: SandboxControl) -> int:
    """The id Thulium gives the next record it creates (a probe record, deleted at once)."""
    probe = control.agent_create_customer({"surname": "Probe"})
    control.agent_delete_customer(probe)
    return probe + 1


def held(control: SandboxControl) -> Counter[str]:
    """Records per identifier, customers and company records alike (a company's record and a customer may
    share a key: they are told apart)."""
    return Counter(
        ("company:" if record["company_flag"] else "") + str(record["identifier"])
        for record in control.state()["customers"]
        if record["identifier"]
    )


def held_from(control: SandboxControl, first_id: int) -> int:
    """Records Thulium holds that were created from ``first_id`` on."""
    return sum(1 for record in control.state()["customers"] if int(record["customer_id"]) >= first_id)


def created_since(control: SandboxControl, first_id: int) -> int:
    """Records Thulium created from ``first_id`` until now, deleted ones included (the probe excluded)."""
    return next_customer_id(control) - 1 - first_id


def last_seq(control: SandboxControl) -> int:
    return max((int(entry["seq"]) for entry in control.log()), default=0)


def requests(control: SandboxControl, method: str, path: str, since: int = 0) -> list[Record]:
    return [e for e in control.log(since) if e["method"] == method and e["path"] == path]


def looked_up(control: SandboxControl, path: str, since: int = 0) -> Counter[str]:
    """Identifiers syncd looked up by ``GET path?identifier=...``, with how often."""
    found: Counter[str] = Counter()
    for entry in requests(control, "GET", path, since):
        found.update(parse_qs(entry["query"]).get("identifier", []))
    return found


def newest_reads(control: SandboxControl, path: str, since: int = 0) -> Counter[str]:
    """Reads of Thulium's newest records (``order=-customer_id``): how a batch of unknown creates is
    settled in one request."""
    found: Counter[str] = Counter()
    for entry in requests(control, "GET", path, since):
        found.update(o for o in parse_qs(entry["query"]).get("order", []) if o.startswith("-"))
    return found


def fired(control: SandboxControl) -> list[int]:
    """How often each fault rule fired, in the order they were set."""
    return [int(rule["fired"]) for rule in control.fault_state()["rules"]]


def set_rules(control: SandboxControl, seed: int, *rules: Record) -> None:
    control.set_faults({"seed": seed, "rules": list(rules)})


# -- the state DB -------------------------------------------------------------------------------------------


def thulium_ids(state_url: str, stream: str) -> dict[str, int]:
    engine = make_engine(state_url)
    try:
        with session_factory(engine)() as session:
            query = select(Link.source_key, Link.thulium_id).where(
                Link.tenant == TENANT, Link.stream == stream, Link.state == "synced"
            )
            return {key: int(thulium_id or 0) for key, thulium_id in session.execute(query)}
    finally:
        engine.dispose()


def failures(state_url: str, stream: str) -> dict[str, Failure]:
    """The stream's open failures by source key."""
    engine = make_engine(state_url)
    try:
        with session_factory(engine)() as session:
            query = select(Failure).where(
                Failure.tenant == TENANT, Failure.stream == stream, Failure.resolved_at.is_(None)
            )
            return {failure.source_key: failure for failure in session.scalars(query)}
    finally:
        engine.dispose()


def last_counters(demo: DemoTenant, stream: str) -> dict[str, int]:
    return [run.counters for run in runs_of(demo.state_url, TENANT) if run.stream == stream][-1]


def synced(demo: DemoTenant, *args: str, exit_code: int = 0) -> None:
    """A `syncd sync` that must end with ``exit_code``: 0 all synced, 2 some rows cannot sync."""
    result = demo.sync(*args, timeout=120)
    assert result.returncode == exit_code, f"{result.stdout}{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr


# -- scenario 4: no answer ----------------------------------------------------------------------------------


def test_4_creates_that_hang_past_the_read_timeout_or_lose_their_answer(demo: DemoTenant) -> None:
    """The first two customer batches hang (nothing applied), the next two are applied and their
    connections dropped; four company creates, picked at random, meet the same. Each unknown outcome is
    looked up: a hung create is sent again, a dropped one adopted — never created twice."""
    set_read_timeout(demo, READ_TIMEOUT)
    control = demo.sandbox.control
    first_id = next_customer_id(control)
    hang = {"kind": "hang", "method": "POST", "delay_ms": PAST_READ_TIMEOUT_MS}
    lost = {"kind": "lost_response", "method": "POST"}
    set_rules(
        control,
        4,
        {**hang, "path": BATCH, "count": 2},
        {**lost, "path": BATCH, "count": 2},
        {**hang, "path": "companies", "count": 1, "probability": 0.25},
        {**lost, "path": "companies", "count": 3, "probability": 0.25},
    )
    started = time.monotonic()
    synced(demo, exit_code=2)
    assert fired(control) == [2, 2, 1, 3], "every fault struck"
    control.clear_faults()

    dropped = [e for e in requests(control, "POST", BATCH) if "lost_response" in e["faults"]]
    assert len(dropped) == 2, "two answers never came"
    assert all(e["status"] is None for e in dropped), "two answers never came"
    customers = looked_up(control, "customers") + newest_reads(control, "customers")
    assert sum(customers.values()) >= 4, "every one of the four unanswered batches settled by a read"
    companies = looked_up(control, "companies") + newest_reads(control, "companies")
    assert sum(companies.values()) >= 4, "every unanswered company create settled by a read"
    assert created_since(control, first_id) == held_from(control, first_id), "no record was created twice"
    assert max(held(control).values()) == 1
    report("4 hang past read timeout, dropped connections", demo, started)


# -- scenario 5: updates answered too late ------------------------------------------------------------------


def test_5_updates_answered_after_the_read_timeout(demo: DemoTenant) -> None:
    """The first PUT of each path is never answered (nothing applied), then half of them are applied and
    answered only after the client gave up: an unanswered update is sent again (it is safe to repeat) until
    Thulium says it holds it, and never turned into a create."""
    set_read_timeout(demo, READ_TIMEOUT)
    control = demo.sandbox.control
    rerun(demo)
    customers, companies = updatable(demo, 150), list(demo.demo.valid_company_keys[::10])
    move(demo, "customers", customers)
    move(demo, "companies", companies)
    first_id, since = next_customer_id(control), last_seq(control)
    hang = {"kind": "hang", "method": "PUT", "delay_ms": PAST_READ_TIMEOUT_MS, "count": 1}
    slow = {"kind": "slow", "method": "PUT", "delay_ms": PAST_READ_TIMEOUT_MS, "probability": 0.5, "count": 3}
    paths = (BATCH, "companies/*")
    set_rules(control, 3, *({**hang, "path": path} for path in paths), *({**slow, "path": p} for p in paths))
    started = time.monotonic()
    synced(demo)
    hung, late = fired(control)[:2], fired(control)[2:]
    assert hung == [1, 1], f"both update paths hung once and answered late: {fired(control)}"
    assert all(late), f"both update paths hung once and answered late: {fired(control)}"
    control.clear_faults()

    assert not requests(control, "POST", BATCH, since), "no update was sent as a create"
    assert not requests(control, "POST", "companies", since)
    assert created_since(control, first_id) == 0
    counters = {stream: last_counters(demo, stream) for stream in ("customers", "companies")}
    assert counters["customers"]["updated"] == len(customers), counters
    assert counters["companies"]["updated"] == len(companies), counters
    report("5 updates answered past the read timeout", demo, started)


# -- scenario 8: 207s mixing item outcomes ------------------------------------------------------------------


def company_without_members(demo: DemoTenant) -> str:
    """A valid company, its members moved out before the first sync: an agent may delete it in Thulium
    without detaching anyone the measure would then find stale."""
    company = demo.demo.valid_company_keys[1]
    engine = open_engine(demo.source_url)
    try:
        with engine.begin() as connection:
            c = schema.customers
            connection.execute(update(c).where(c.c.company_id == int(company)).values(company_id=None))
    finally:
        engine.dispose()
    return company


def test_8_207s_mixing_created_updated_refused_gone_and_unavailable_items(demo: DemoTenant) -> None:
    """One run's batches answer 201/204 for most items, 404 for customers agents deleted (updated rows:
    re-created), 400 for new customers of a company agents deleted (refused: recorded once), and 503 for
    about a third of the items of the first four batches (sent again). Successes are never sent again.

    Rows broken the way the demo breaks its invalid ones never reach Thulium (syncd rejects them before
    sending), so the 400s come from what only Thulium knows: the company is gone.
    """
    control = demo.sandbox.control
    gone_company = company_without_members(demo)
    rerun(demo)
    deleted = updatable(demo, 5)
    changed = updatable(demo, 40, avoid=deleted)
    customer_ids = thulium_ids(demo.state_url, "customers")
    for key in deleted:
        control.agent_delete_customer(customer_ids[key])
    control.agent_delete_company(thulium_ids(demo.state_url, "companies")[gone_company])
    move(demo, "customers", [*deleted, *changed])
    others = [int(k) for k in demo.demo.valid_company_keys if k != gone_company]
    first_key = len(demo.demo.customer_keys) + 1
    new = add_customers(demo, first_key, [0, *others[:29]], seed=8)
    refused = add_customers(demo, first_key + 30, [int(gone_company)] * 4, seed=9)
    broken = add_customers(demo, first_key + 34, [0], seed=10, problem=Invalid.BAD_EMAIL)
    broken += add_customers(demo, first_key + 35, [0], seed=11, problem=Invalid.MISSING_SURNAME)
    first_id = next_customer_id(control)
    set_rules(control, 8, {"kind": "item_unavailable", "path": BATCH, "count": 4, "item_probability": 0.3})
    started = time.monotonic()
    synced(demo, "--stream", "customers", exit_code=2)
    assert fired(control) == [4], "four 207s carried unavailable items"
    control.clear_faults()

    creates = len(new) + len(deleted)
    assert created_since(control, first_id) == held_from(control, first_id) == creates, "each landed once"
    assert max(held(control).values()) == 1
    counters = last_counters(demo, "customers")
    assert (counters["created"], counters["updated"]) == (creates, len(changed)), counters
    assert (counters["rejected"], counters["failed"]) == (len(broken), len(refused)), counters
    assert_refused_once(demo, refused)

    # The agents' company deletion was meant: the source deletes it too. Its refused customers stay failed.
    move(demo, "companies", [gone_company], deleted=True)
    # Exit 0: the broken rows are the newest, on the cursor's own second, which every incremental run reads
    # again (rows committed out of order in that second); unchanged since their rejection, they are not
    # reported twice.
    synced(demo, exit_code=0)
    assert_refused_once(demo, refused)
    invalid = invalid_rows(demo.demo)
    invalid["customers"] |= {*refused, *broken}
    scenario = "8 207s mixing 201/204, 400, 404 and 503 items"
    with demo.client() as client:
        figures = measure(scenario, demo.tenant(), client, invalid, demo.state_url, started)
    assert_passed(figures)


def assert_refused_once(demo: DemoTenant, keys: list[str]) -> None:
    """Each row Thulium refused with a 400 has one open failure, recorded once: it was not sent again."""
    found = failures(demo.state_url, "customers")
    for key in keys:
        failure = found.get(key)
        assert failure is not None, f"customer {key}: no failure recorded"
        described = (failure.operation, failure.kind, failure.http_status, failure.attempts)
        assert described == ("create", "permanent", 400, 1), f"customer {key}: {described} {failure.message}"


# -- scenario 9: 207 bodies that cannot be read -------------------------------------------------------------


def test_9_malformed_and_partial_207_bodies_on_creates_and_updates(demo: DemoTenant) -> None:
    """Every item of a 207 cut off mid-body, and the items a 207 leaves out, have unknown outcomes: a create
    is looked up (Thulium applied it: adopted, never created again), an update is sent again."""
    control = demo.sandbox.control
    first_id = next_customer_id(control)
    malformed = {"kind": "malformed_207", "path": BATCH, "count": 2}
    partial = {"kind": "partial_207", "path": BATCH, "count": 4, "item_probability": 0.3}
    set_rules(control, 9, {**malformed, "method": "POST"}, {**partial, "method": "POST"})
    started = time.monotonic()
    synced(demo, exit_code=2)
    assert fired(control) == [2, 4]
    control.clear_faults()
    # the first two batches came back cut off (and with items left out), the next two with items left out
    reads = sum(looked_up(control, "customers").values()) + sum(newest_reads(control, "customers").values())
    assert 1 <= reads <= 12, f"{reads} reads for 2 unreadable batches and 4 with items left out: a read or "
    "two of the newest records per batch, not a lookup per item"
    assert created_since(control, first_id) == held_from(control, first_id), "no create landed twice"
    assert max(held(control).values()) == 1
    report("9 malformed/partial 207 bodies on creates", demo, started)

    changed = updatable(demo, 250)
    move(demo, "customers", changed)
    first_id, since = next_customer_id(control), last_seq(control)
    set_rules(
        control, 99, {**malformed, "method": "PUT", "count": 1}, {**partial, "method": "PUT", "count": 3}
    )
    started = time.monotonic()
    synced(demo)
    assert fired(control) == [1, 3], "one 207 cut off, three with items left out"
    control.clear_faults()
    sent = requests(control, "PUT", BATCH, since)
    assert len(sent) > 3, "the items of the unreadable answers were sent again (three batches at first)"
    assert not requests(control, "POST", BATCH, since), "no update was sent as a create"
    assert created_since(control, first_id) == 0
    assert last_counters(demo, "customers")["updated"] == len(changed)
    report("9 malformed/partial 207 bodies on updates", demo, started)
