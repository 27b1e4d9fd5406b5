"""The sequencer against in-memory fakes: convergence, retries, ambiguity, reconcile."""

from __future__ import annotations

import pytest

from syncd.engine.errors import RunAborted
from syncd.engine.plan import StreamSpec
from syncd.engine.resolve import ItemStatus
from syncd.engine.run import RunOptions, StreamRun
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
    assert counters["read"] == 0


def test_bad_rows_are_rejected_and_the_rest_goes_on() -> None:
    world = World()
    world.customers(20)
    world.source.put("customers", "bad-phone", last="X", phone="12ab")
    world.source.put("customers", "no-surname", last="  ")
    counters = run(world)
    assert counters["created"] == 20 and counters["rejected"] == 2
    assert world.store.failure_kinds("customers") == {"bad-phone": "rejected", "no-surname": "rejected"}
    assert "bad-phone" not in world.crm.by_identifier("customers")


def test_transient_item_failures_are_resent_and_never_duplicated() -> None:
    world = World()
    world.customers(30)
    world.crm.fault = failing({"create": 7}, ItemStatus(503, message="Service unavailable"))
    counters = run(world)
    assert counters["created"] == 30 and counters["retried"] == 7 and counters["failed"] == 0
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
    assert counters["created"] == 5 and world.store.failures == {}
    world.assert_mirrored()


def test_lost_responses_are_settled_by_lookup_not_by_blind_recreate() -> None:
    world = World()
    world.customers(25)
    world.crm.fault = failing({"create": 4}, ItemStatus(None, message="outcome unknown"))
    counters = run(world)
    world.assert_mirrored()
    assert counters["adopted"] == 4 and counters["failed"] == 0
    assert sum(1 for c in world.crm.calls if c[1] == "find") == 4


def test_permanent_failure_is_recorded_once_and_resent_only_after_the_row_changes() -> None:
    world = World()
    world.customers(3)
    world.crm.fault = failing({"create": 1}, ItemStatus(400, message="Phone number must be numeric."))
    run(world)
    [(key, failure)] = [(k, f) for (_, k), f in world.store.failures.items()]
    assert failure.kind == "permanent" and failure.message == "Phone number must be numeric."
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
    assert counters["waiting"] == 1 and world.crm.by_identifier("customers") == {}
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
    assert counters["deleted"] == 2 and "5" not in world.store.links_by_stream["customers"]


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
    assert 5000 not in world.crm.records and counters["deleted"] == 1
    assert world.store.links_by_stream["customers"]["3"].thulium_id != 5000


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
    assert counters["failed"] == 1 and world.crm.identifiers("companies") == []
    [failure] = world.store.failures.values()
    assert (failure.kind, failure.message) == ("permanent", "Company with given NIP already exists.")
    assert [c[1] for c in world.crm.calls] == ["create", "find"], "looked up once, not re-sent"


def test_first_run_adopts_records_that_already_carry_our_identifier() -> None:
    world = World()
    world.customers(10)
    world.crm.records[1] = ("customers", {"identifier": "3", "surname": "Old"})
    counters = run(world)
    assert counters["adopted"] == 1 and counters["created"] == 9
    world.assert_mirrored()
    assert world.store.links_by_stream["customers"]["3"].thulium_id == 1


def test_dry_run_writes_nothing_anywhere() -> None:
    world = World()
    world.customers(12)
    counters = run(world, dry_run=True)
    assert counters["created"] == 12
    assert world.crm.writes() == 0 and world.store.commits == 0


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
