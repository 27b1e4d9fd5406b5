"""The sequencer against in-memory fakes: convergence, retries, ambiguity, reconcile."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import pytest

from syncd.engine.crm.normalize import Unreadable
from syncd.engine.crm.options import RunOptions
from syncd.engine.crm.plan import StreamSpec
from syncd.engine.crm.run import StreamRun
from syncd.engine.errors import RunAborted
from syncd.engine.ports import CrmResult, Payload
from syncd.engine.records import Position, SourceRow
from syncd.engine.resolve import ItemStatus
from tests.engine.fakes import Crash, FakeClock, FakeCrm, FakeSource, FakeStore, failing

CUSTOMERS = StreamSpec(
    "customers", "customer", {"surname": "last", "phone_number": "phone"}, company_key="company"
)
COMPANIES = StreamSpec("companies", "company", {"name": "name"})
FAST = RunOptions(batch_size=10, max_in_flight=3, page_size=25, item_backoff=0.0)


class World:
    def __init__(self) -> None:
        self.source, self.store, self.crm, self.clock = FakeSource(), FakeStore(), FakeCrm(), FakeClock()

    def customers(self, n: int, start: int = 0) -> None:
        for i in range(start, start + n):
            self.source.put("customers", str(i), last=f"Nowak {i}", phone=f"600{i:06d}")

    def assert_mirrored(self) -> None:
        rows = {k: r for k, r in self.source.tables["customers"].items() if not r.deleted}
        held = self.crm.by_identifier("customers")
        assert sorted(held) == sorted(rows), "Thulium holds exactly the live source rows"
        assert len(self.crm.identifiers("customers")) == len(held), "no duplicate identifiers"
        for key, row in rows.items():
            assert held[key]["surname"] == row.values["last"]


def options(**changes: object) -> RunOptions:
    from dataclasses import replace

    return replace(FAST, **changes)  # type: ignore[arg-type]


def run(world: World, spec: StreamSpec = CUSTOMERS, **changes: object) -> dict[str, int]:
    return (
        StreamRun(spec, options(**changes), world.source, world.store, world.crm, world.clock).run().counters
    )


def test_initial_sync_then_a_second_run_sends_nothing() -> None:
    world = World()
    world.customers(95)
    counters = run(world)
    assert (counters["read"], counters["created"], counters["failed"]) == (95, 95, 0)
    world.assert_mirrored()
    assert [c for c in world.crm.calls if c[1] == "create"] == [("customers", "create", 10)] * 9 + [
        ("customers", "create", 5)
    ]
    assert world.store.cursor("customers") is not None
    before = len(world.crm.calls)
    counters = run(world)
    assert len(world.crm.calls) == before
    assert (counters["read"], counters["unchanged"]) == (1, 1), "only the cursor's own row is read again"


def test_bad_rows_are_rejected_and_the_rest_goes_on() -> None:
    world = World()
    world.customers(20)
    world.source.put("customers", "bad-phone", last="X", phone="12ab")
    world.source.put("customers", "no-surname", last="  ")
    counters = run(world)
    assert counters["created"] == 20
    assert counters["rejected"] == 2
    assert world.store.failure_kinds("customers") == {"bad-phone": "rejected", "no-surname": "rejected"}
    assert "bad-phone" not in world.crm.by_identifier("customers")


def test_transient_item_failures_are_resent_and_never_duplicated() -> None:
    world = World()
    world.customers(30)
    world.crm.fault = failing({"create": 7}, ItemStatus(503, message="Service unavailable"))
    counters = run(world)
    assert counters["created"] == 30
    assert counters["retried"] == 7
    assert counters["failed"] == 0
    world.assert_mirrored()


def test_items_failing_past_the_attempt_bound_are_parked_then_retried_by_a_later_run() -> None:
    world = World()
    world.customers(5)
    world.crm.fault = failing({"create": 3 * 5}, ItemStatus(503))
    counters = run(world, item_attempts=3)
    assert counters["failed"] == 5
    assert set(world.store.failure_kinds("customers").values()) == {"retryable"}
    world.crm.fault = None
    world.clock.sleep(3600)
    counters = run(world)
    assert counters["created"] == 5
    assert world.store.failures == {}
    world.assert_mirrored()


def test_lost_responses_are_settled_by_lookup_not_by_blind_recreate() -> None:
    world = World()
    world.customers(25)
    world.crm.fault = failing({"create": 4}, ItemStatus(None, message="outcome unknown"))
    counters = run(world)
    world.assert_mirrored()
    assert counters["adopted"] == 4
    assert counters["failed"] == 0
    settles = [count for _, operation, count in world.crm.calls if operation == "settle"]
    assert sum(settles) == 4, "the batch's four unknown creates settled in one read"
    assert len(settles) == 1, "the batch's four unknown creates settled in one read"
    assert not [c for c in world.crm.calls if c[1] == "find"]


def test_permanent_failure_is_recorded_once_and_resent_only_after_the_row_changes() -> None:
    world = World()
    world.customers(3)
    world.crm.fault = failing({"create": 1}, ItemStatus(400, message="Phone number must be numeric."))
    run(world)
    [(key, failure)] = [(k, f) for (_, k), f in world.store.failures.items()]
    assert failure.kind == "permanent"
    assert failure.message == "Phone number must be numeric."
    writes = world.crm.writes()
    run(world, full=True)
    assert world.crm.writes() == writes, "unchanged failed row is not re-sent"
    world.source.put("customers", key, last="Fixed", phone="600000000")
    run(world)
    assert world.store.failures == {}
    world.assert_mirrored()


def test_customers_wait_for_their_company_then_follow_it() -> None:
    world = World()
    world.source.put("companies", "c1", name="ACME")
    world.source.put("customers", "1", last="Nowak", company="c1")
    counters = run(world)
    assert counters["waiting"] == 1
    assert world.crm.by_identifier("customers") == {}
    run(world, COMPANIES)
    counters = run(world)
    company_id = world.store.links_by_stream["companies"]["c1"].thulium_id
    assert world.crm.by_identifier("customers")["1"]["company_id"] == company_id
    assert world.store.failures == {}


def test_update_of_a_record_deleted_in_thulium_recreates_it() -> None:
    world = World()
    world.customers(3)
    run(world)
    victim = world.store.links_by_stream["customers"]["1"].thulium_id
    del world.crm.records[victim]
    world.source.put("customers", "1", last="Changed", phone="600000001")
    run(world)
    world.assert_mirrored()
    assert world.store.links_by_stream["customers"]["1"].thulium_id != victim


def test_full_reconcile_repairs_agent_edits_and_deletes_and_removes_hard_deleted_rows() -> None:
    world = World()
    world.customers(20)
    run(world)
    links = world.store.links_by_stream["customers"]
    world.crm.records[links["3"].thulium_id][1]["surname"] = "Edited by agent"
    del world.crm.records[links["4"].thulium_id]
    world.source.drop("customers", "5")
    world.source.put("customers", "6", deleted=True, last="x")
    counters = run(world, full=True)
    world.assert_mirrored()
    assert counters["deleted"] == 2
    assert "5" not in world.store.links_by_stream["customers"]


def test_full_reconcile_refuses_a_mass_delete_without_force() -> None:
    world = World()
    world.customers(20)
    run(world)
    world.source.tables["customers"].clear()
    with pytest.raises(RunAborted, match="would delete 20 of 20 records"):
        run(world, full=True)
    assert len(world.crm.by_identifier("customers")) == 20
    run(world, full=True, force=True)
    assert world.crm.by_identifier("customers") == {}


def test_full_reconcile_purges_a_second_record_under_a_linked_rows_identifier() -> None:
    """A create that landed after its lookup (a late answer, a fenced holder still sending)."""
    world = World()
    world.customers(10)
    run(world)
    world.crm.records[5000] = ("customers", {"identifier": "3", "surname": "Nowak 3"})
    counters = run(world, full=True)
    world.assert_mirrored()
    assert 5000 not in world.crm.records
    assert counters["deleted"] == 1
    assert world.store.links_by_stream["customers"]["3"].thulium_id != 5000


def test_full_reconcile_keeps_the_oldest_of_two_records_and_gives_it_the_rows_fields() -> None:
    """An agent typed the customer in before syncd's incremental run created its own: the agent's
    (older) record is the one that stays."""
    world = World()
    world.customers(10)
    run(world)
    world.crm.records[1] = ("customers", {"identifier": "3", "surname": "Typed by an agent"})
    counters = run(world, full=True)
    world.assert_mirrored()
    assert world.store.links_by_stream["customers"]["3"].thulium_id == 1
    assert counters["deleted"] == 1
    assert counters["updated"] == 1
    assert run(world, full=True)["updated"] == 0


def test_a_create_refused_because_a_racing_attempt_landed_first_is_adopted() -> None:
    """Companies: Thulium refuses a second NIP, and the record holding it may be our own."""
    world = World()
    world.source.put("companies", "7", name="Acme")
    world.source.put("companies", "8", name="Bolt")

    def racing_attempt(operation: str, _index: int) -> ItemStatus | None:
        if operation == "create" and "7" not in world.crm.by_identifier("companies"):
            world.crm.records[1] = ("companies", {"identifier": "7", "name": "Acme"})
            return ItemStatus(400, message="Company with given NIP already exists.")
        return None

    world.crm.fault = racing_attempt
    counters = run(world, COMPANIES)
    assert (counters["failed"], counters["adopted"], counters["created"]) == (0, 1, 1)
    assert world.store.links_by_stream["companies"]["7"].thulium_id == 1
    assert world.crm.identifiers("companies") == ["7", "8"]


def test_a_refused_create_with_nothing_under_its_identifier_is_recorded_with_thuliums_reason() -> None:
    world = World()
    world.source.put("companies", "7", name="Acme")
    refused = ItemStatus(400, message="Company with given NIP already exists.")
    world.crm.fault = failing({"create": 1}, refused)
    counters = run(world, COMPANIES)
    assert counters["failed"] == 1
    assert world.crm.identifiers("companies") == []
    [failure] = world.store.failures.values()
    assert (failure.kind, failure.message) == ("permanent", "Company with given NIP already exists.")
    assert [c[1] for c in world.crm.calls] == ["create", "settle"], "looked up once, not re-sent"


def test_first_run_adopts_records_that_already_carry_our_identifier() -> None:
    world = World()
    world.customers(10)
    world.crm.records[1] = ("customers", {"identifier": "3", "surname": "Old"})
    counters = run(world)
    assert counters["adopted"] == 1
    assert counters["created"] == 9
    world.assert_mirrored()
    assert world.store.links_by_stream["customers"]["3"].thulium_id == 1


def test_dry_run_writes_nothing_anywhere() -> None:
    world = World()
    world.customers(12)
    counters = run(world, dry_run=True)
    assert counters["created"] == 12
    assert world.crm.writes() == 0
    assert world.store.commits == 0


@pytest.mark.parametrize("crash_after", [1, 3, 6])
def test_a_crash_mid_run_reruns_to_the_same_end_state(crash_after: int) -> None:
    world = World()
    world.customers(60)
    world.crm.fault = failing({"create": 5}, ItemStatus(None))
    world.crm.crash_after = crash_after
    with pytest.raises(Crash):
        run(world)
    world.crm.crash_after = None
    run(world)
    world.clock.sleep(3600)
    run(world)
    world.assert_mirrored()


# -- poison rows: values the cleaning rules never expected ------------------------------------------------


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        pytest.param({"last": Decimal("sNaN")}, "cannot be planned: InvalidOperation", id="signalling-NaN"),
        pytest.param(
            {"last": "Nowak", "company": "c\udcff"},
            "cannot be planned: ValueError: the company key is not valid UTF-8 text",
            id="undecodable-company-key",
        ),
        pytest.param({"last": "N\udcffak"}, "surname: is not valid UTF-8 text", id="undecodable-text"),
        pytest.param({"last": b"\x00\xff"}, "surname: is binary data, not UTF-8 text", id="blob"),
        pytest.param(
            {"last": Unreadable("OperationalError: Could not decode to UTF-8 column '…'")},
            "surname: unreadable in the source (OperationalError: Could not decode",
            id="unreadable-by-the-driver",
        ),
    ],
)
def test_a_poison_row_is_rejected_with_its_reason_and_every_other_row_is_synced(
    values: dict[str, Any], reason: str
) -> None:
    """Each value raised out of the planner (the hash could not encode a lone surrogate, clean_text could
    not format a signalling NaN, the company lookup could not bind the key), on every run, so no row behind
    it in keyset order was ever synced; a BLOB was sent as Python's ``b'...'`` spelling of it."""
    world = World()
    world.source.put("companies", "c1", name="ACME")
    world.customers(30)
    world.source.put("customers", "poison", phone="600000000", **values)
    world.customers(30, start=30)  # behind the poison row in keyset order
    run(world, COMPANIES)
    counters = run(world)
    assert (counters["created"], counters["rejected"], counters["failed"]) == (60, 1, 0)
    failure = world.store.failures["customers", "poison"]
    assert (failure.kind, failure.operation) == ("rejected", "create")
    assert failure.message.startswith(reason), failure.message
    assert "Nowak" not in failure.message, "no row values in a reason"
    assert "\udcff" not in failure.message, "no row values in a reason"
    held = world.crm.by_identifier("customers")
    assert "poison" not in held
    assert len(held) == 60
    assert world.store.cursor("customers") == world.source.tables["customers"]["59"].position

    writes = world.crm.writes()
    for full in (False, True):
        counters = run(world, full=full)
        assert counters["created"] == 0
        assert counters["failed"] == 0
    assert world.crm.writes() == writes, "the poison row is not sent by later runs"
    assert world.store.failure_kinds("customers") == {"poison": "rejected"}

    world.source.put("customers", "poison", last="Fixed", phone="600000000")
    run(world)
    assert world.store.failures == {}
    assert "poison" in world.crm.by_identifier("customers")


# -- rows that land behind the cursor ---------------------------------------------------------------------


def test_the_lookback_window_reads_rows_stamped_behind_the_cursor_and_never_moves_it_back() -> None:
    """Rows stamped with the cursor's own ``updated_at`` and a smaller key, and rows a long transaction
    committed late with an older ``updated_at``: an exact keyset never reads them again."""
    world = World()
    world.source.lookback = 5
    world.customers(10)  # ticks 1..10, keys "0".."9"
    run(world)
    cursor = world.store.cursor("customers")
    assert cursor is not None
    world.source.put("customers", "10", stamped=cursor.updated_at, last="Tied below", phone="600000010")
    world.source.put("customers", "99", stamped=cursor.updated_at, last="Tied above", phone="600000099")
    world.source.put("customers", "late", stamped=cursor.updated_at - 3, last="Late", phone="600000011")
    world.source.put("customers", "2", stamped=cursor.updated_at - 2, last="Changed late", phone="600000002")
    counters = run(world)
    world.assert_mirrored()
    assert (counters["created"], counters["updated"]) == (3, 1)
    assert counters["unchanged"] == 5, "the window's unchanged rows are read again and cost no request"
    assert world.store.cursor("customers") == world.source.tables["customers"]["99"].position
    writes = world.crm.writes()
    run(world)
    assert world.crm.writes() == writes


def test_without_a_lookback_a_row_behind_the_cursor_waits_for_the_full_reconcile() -> None:
    world = World()
    world.customers(10)
    run(world)
    cursor = world.store.cursor("customers")
    assert cursor is not None
    world.source.put("customers", "0", stamped=cursor.updated_at - 3, last="Changed late", phone="600000000")
    run(world, full=True)
    world.assert_mirrored()
    assert world.store.cursor("customers") == cursor


# -- failures of rows deleted from the source -------------------------------------------------------------


def test_the_full_reconcile_resolves_the_failures_of_rows_gone_from_the_source() -> None:
    world = World()
    world.customers(10)
    world.source.put("customers", "invalid", last="  ")
    world.crm.fault = failing({"create": 1}, ItemStatus(400, message="Phone number must be numeric."))
    run(world)
    [refused] = [key for key, kind in world.store.failure_kinds("customers").items() if kind == "permanent"]
    assert world.store.failure_kinds("customers") == {refused: "permanent", "invalid": "rejected"}
    world.source.drop("customers", "invalid")
    world.source.drop("customers", refused)
    run(world)
    assert len(world.store.failure_kinds("customers")) == 2, "an incremental run cannot see a hard delete"
    run(world, full=True, dry_run=True)
    assert len(world.store.failure_kinds("customers")) == 2, "a dry run writes nothing"
    run(world, full=True)
    assert world.store.failure_kinds("customers") == {}
    world.assert_mirrored()


def test_a_refused_mass_delete_leaves_the_failures_open() -> None:
    """A source that reads as empty by mistake must not wipe the failure list either."""
    world = World()
    world.customers(5)
    world.source.put("customers", "invalid", last="  ")
    run(world)
    world.source.tables["customers"].clear()
    with pytest.raises(RunAborted):
        run(world, full=True)
    assert world.store.failure_kinds("customers") == {"invalid": "rejected"}


class ChangedWhileRead:
    """The fake source, whose row ``key`` is written after the reader has yielded ``after`` rows: a row
    that moves past the read's upper bound before the reader reached it."""

    def __init__(self, inner: FakeSource, key: str, after: int) -> None:
        self.inner, self.key, self.after = inner, key, after

    def read_changed(self, stream: str, after: Position | None) -> Iterator[SourceRow]:
        for count, row in enumerate(self.inner.read_changed(stream, after)):
            if count == self.after:
                self.inner.put(stream, self.key, last="Changed meanwhile", phone="600000050")
            yield row

    def read_keys(self, stream: str, keys: Iterable[str]) -> list[SourceRow]:
        return self.inner.read_keys(stream, keys)

    def read_ahead(self, stream: str) -> Iterator[SourceRow]:
        return self.inner.read_ahead(stream)


def test_a_row_changed_while_the_full_reconcile_reads_is_not_deleted_as_gone() -> None:
    """The full read did not see it (it moved past the read's upper bound), so the sweep deleted its
    record as gone from the source and the next run created a new one: the customer's history in
    Thulium lost, every full reconcile, for every row busy at that moment."""
    world = World()
    world.customers(60)
    world.source.put("customers", "invalid", last="  ")
    run(world)
    record = world.store.links_by_stream["customers"]["50"].thulium_id
    world.source.put("customers", "invalid", last="  ")  # the last row: its failure must stay open too
    source = ChangedWhileRead(world.source, "50", after=10)
    counters = (
        StreamRun(CUSTOMERS, options(full=True), source, world.store, world.crm, world.clock).run().counters
    )
    assert counters["deleted"] == 0
    assert record in world.crm.records
    assert world.store.failure_kinds("customers") == {"invalid": "rejected"}
    run(world)
    assert sorted(world.crm.by_identifier("customers")) == sorted(str(i) for i in range(60))
    assert world.store.links_by_stream["customers"]["50"].thulium_id == record
    assert world.crm.by_identifier("customers")["50"]["surname"] == "Changed meanwhile"


def test_a_customer_of_a_broken_company_goes_without_it_and_gets_it_once_the_company_is_repaired() -> None:
    """Incremental runs only: the customer row never changes, yet it gets its company; a run that dies while
    sending that update leaves the customer to be read again, not forgotten."""
    world = World()
    world.source.put("companies", "c1", name=None)  # rejected: no name
    world.source.put("customers", "1", last="Nowak", company="c1")
    run(world, COMPANIES)
    counters = run(world)
    assert (counters["created"], counters["warnings"]) == (1, 1)
    assert "company_id" not in world.crm.by_identifier("customers")["1"]
    assert world.store.failure_kinds("customers") == {"1": "warning"}

    world.source.put("companies", "c1", name="ACME")  # repaired
    run(world, COMPANIES)
    world.crm.crash_after = len(world.crm.calls)  # the customers run dies as it sends the update
    with pytest.raises(Crash):
        run(world)
    world.crm.crash_after = None
    counters = run(world)
    company_id = world.store.links_by_stream["companies"]["c1"].thulium_id
    assert counters["updated"] == 1
    assert world.crm.by_identifier("customers")["1"]["company_id"] == company_id
    assert world.store.failure_kinds("customers") == {}
    assert run(world)["updated"] == 0, "and then it is settled"


class SteppedLimit:
    """A window limit the test moves (what ``max_in_flight = "auto"`` learns, as the run sees it)."""

    def __init__(self, value: int) -> None:
        self.value = value

    def current(self) -> int:
        return self.value


class WatchedCrm(FakeCrm):
    """Counts the creates out at once; ``on_create`` runs inside each (on the engine's worker thread)."""

    def __init__(self, on_create: Callable[[int], None] = lambda _n: None) -> None:
        super().__init__()
        self.out, self.peak, self.lock, self.on_create = 0, 0, threading.Lock(), on_create

    def create(self, stream: str, payloads: Sequence[Payload]) -> list[CrmResult]:
        with self.lock:
            self.out += 1
            self.peak = max(self.peak, self.out)
            number = len([c for c in self.calls if c[1] == "create"]) + 1
        try:
            self.on_create(number)
            return super().create(stream, payloads)
        finally:
            with self.lock:
                self.out -= 1


def test_the_window_follows_the_limit_not_the_threads() -> None:
    world = World()
    world.crm = WatchedCrm()
    world.customers(100)
    limit = SteppedLimit(1)
    StreamRun(
        CUSTOMERS, options(max_in_flight=8), world.source, world.store, world.crm, world.clock, limit=limit
    ).run()
    assert world.crm.peak == 1, "8 threads, but the limit said one call at a time"
    world.assert_mirrored()


def test_a_limit_that_grows_widens_the_window_as_the_run_goes() -> None:
    """The first create raises the limit to 3; every later create then waits until three are out at once,
    which only happens if the run sends three together."""
    together = threading.Barrier(3, timeout=30)
    limit = SteppedLimit(1)

    def on_create(number: int) -> None:
        if number == 1:
            limit.value = 3
        else:
            together.wait()

    world = World()
    world.crm = WatchedCrm(on_create)
    world.customers(100)  # ten full batches: one alone, then three rounds of three
    StreamRun(
        CUSTOMERS, options(max_in_flight=8), world.source, world.store, world.crm, world.clock, limit=limit
    ).run()
    assert world.crm.peak == 3
    world.assert_mirrored()
