"""A campaign run over in-memory ports: what ends up in the campaign, the members table and the failures."""

from __future__ import annotations

from syncd.engine.campaigns.plan import Rule
from syncd.engine.campaigns.run import CampaignOptions, CampaignRun, campaign_stream, run_to_end
from tests.engine.campaign_fakes import FakeCampaign, FakeLinks, FakeMembers, FakeRule, FakeWriteback
from tests.engine.fakes import FakeClock, FakeStore

OUTBOUND = "00002"
STATUSES = {1: "TO_CALL", 4: "MY_RECORD", 5: "NO_CALL", 8: "CALL_NO_SOONER_THAN"}
STREAM = campaign_stream(OUTBOUND)


class World:
    def __init__(self, keys: list[str], *, linked: int | None = None) -> None:
        ids = {key: 100 + int(key) for key in keys[: len(keys) if linked is None else linked]}
        self.campaign = FakeCampaign(customers=set(ids.values()))
        self.links = FakeLinks(ids)
        self.members = FakeMembers()
        self.failures = FakeStore()
        self.rule = FakeRule([{"key": key} for key in keys])
        self.writeback = FakeWriteback()
        self.clock = FakeClock()

    def run(self, rule: Rule | None = None, **options: object) -> dict[str, int]:
        run = CampaignRun(
            rule or Rule(OUTBOUND, initial_status_id=1),
            STATUSES,
            CampaignOptions(item_backoff=0.01, **options),  # type: ignore[arg-type]
            source=self.rule,
            links=self.links,
            members=self.members,
            failures=self.failures,
            crm=self.campaign,
            clock=self.clock,
            writeback=self.writeback,
        )
        return run_to_end(run.steps(), lambda stale: self.links.repair(stale.keys))

    def in_campaign(self) -> set[int]:
        return set(self.campaign.held)

    def open_failures(self) -> dict[str, str]:
        return {key: f.kind for (stream, key), f in self.failures.failures.items() if stream == STREAM}


def test_wanted_keys_join_in_batches_and_a_second_run_sends_nothing() -> None:
    world = World(["1", "2", "3", "4", "5"])
    counters = world.run()
    assert counters["added"] == 5
    assert world.in_campaign() == {101, 102, 103, 104, 105}
    assert world.campaign.calls.count("add") == 3  # batches of 2
    assert set(world.writeback.rows) == {"1", "2", "3", "4", "5"}
    world.campaign.calls.clear()
    again = world.run()
    assert again["added"] == again["changed"] == again["removed"] == 0
    assert again["kept"] == 5
    assert world.campaign.calls == [], "within poll_every of the last poll, an unchanged rule costs nothing"
    world.clock.sleep(301)
    world.run()
    assert world.campaign.calls == ["list"], "then one poll, and still no write"


def test_already_existing_records_are_adopted_with_their_record_id() -> None:
    world = World(["1", "2"])
    world.campaign.held[101] = {"record_id": 77, "status_id": 1}
    world.run()
    assert world.members.rows["1"].record_id == 77
    assert len(world.campaign.held) == 2


def test_a_key_whose_customer_is_not_linked_waits_visibly_then_joins() -> None:
    world = World(["1", "2"], linked=1)
    counters = world.run()
    assert counters["waiting"] == 1
    assert world.open_failures() == {"2": "waiting"}
    world.links.ids["2"] = 102
    world.campaign.customers.add(102)
    world.run()
    assert world.in_campaign() == {101, 102}
    assert world.open_failures() == {}


def test_a_stale_link_is_repaired_and_the_add_retried_with_the_new_customer() -> None:
    world = World(["1"])
    world.campaign.customers.clear()  # Thulium lost the customer
    world.campaign.customers.add(555)
    world.links.relink_to["1"] = 555
    world.run()
    assert world.in_campaign() == {555}
    assert world.members.rows["1"].customer_id == 555
    assert "exists" not in world.campaign.calls, "the documented wording needs no check"


def gone_and_reworded(world: World) -> None:
    """Customer 101 is gone from Thulium, which says so in words we do not know; a repair finds 555."""
    world.campaign.not_found_message = "The customer does not exist."
    world.campaign.customers = {555}
    world.links.relink_to["1"] = 555


def test_a_reworded_not_found_costs_one_check_and_is_repaired_not_dead() -> None:
    world = World(["1"])
    gone_and_reworded(world)
    counters = world.run()
    assert world.in_campaign() == {555}
    assert world.members.rows["1"].customer_id == 555
    assert world.campaign.calls.count("exists") == 1
    assert counters["verified"] == 1
    assert counters["failed"] == 0
    assert world.open_failures() == {}


def test_a_refusal_of_an_existing_customer_is_permanent_with_thuliums_message() -> None:
    world = World(["1", "2"])
    world.campaign.refusals[101] = "Status not found."
    counters = world.run()
    assert world.in_campaign() == {102}
    assert counters["failed"] == 1
    assert world.campaign.calls.count("exists") == 1
    failure = world.failures.failures[(STREAM, "1")]
    assert (failure.kind, failure.message, failure.http_status) == ("permanent", "Status not found.", 400)
    assert world.links.ids["1"] == 101, "an existing customer's link is not touched"
    world.campaign.calls.clear()
    world.clock.sleep(301)
    assert world.run()["skipped"] == 1
    assert world.campaign.calls == ["list"]


def test_a_failed_check_is_a_retry_and_the_next_check_decides() -> None:
    world = World(["1"])
    gone_and_reworded(world)
    world.campaign.unsure_checks = 1  # GET customers/:id answers 503 once
    counters = world.run()
    assert world.in_campaign() == {555}
    assert counters["retried"] == 1
    assert counters["failed"] == 0
    assert world.campaign.calls.count("exists") == 2
    assert world.open_failures() == {}


def test_checks_that_keep_failing_leave_a_retryable_failure_never_a_dead_one() -> None:
    world = World(["1"])
    gone_and_reworded(world)
    world.campaign.unsure_checks = 99
    counters = world.run(item_attempts=3)
    assert world.in_campaign() == set()
    assert counters["failed"] == 1
    assert world.campaign.calls.count("exists") == 3
    assert world.open_failures() == {"1": "retryable"}
    world.campaign.unsure_checks = 0
    world.clock.sleep(301)
    world.run()
    assert world.in_campaign() == {555}
    assert world.open_failures() == {}


def test_leavers_are_removed_and_a_call_in_progress_is_retried_by_a_later_run() -> None:
    world = World(["1", "2", "3"])
    world.run()
    world.rule.rows = [{"key": "1"}]
    world.campaign.in_call.add(103)
    counters = world.run()
    assert counters["removed"] == 1
    assert world.in_campaign() == {101, 103}
    assert world.open_failures() == {"3": "retryable"}
    world.campaign.in_call.clear()
    world.run()
    assert world.in_campaign() == {101}
    assert world.open_failures() == {}


def test_worked_records_are_not_reset_unless_the_rule_says_so() -> None:
    world = World(["1", "2"])
    world.rule.rows = [{"key": "1", "order": 5}, {"key": "2", "order": 5}]
    world.run()
    world.campaign.held[101].update(status_id=5, system="NO_CALL")  # the dialer worked it
    world.rule.rows = [{"key": "1", "order": 9}, {"key": "2", "order": 9}]
    world.run()
    assert world.campaign.held[101]["status_id"] == 5
    assert world.campaign.held[101]["order"] == 5
    assert world.campaign.held[102]["order"] == 9
    world.run(Rule(OUTBOUND, initial_status_id=1, reset_worked=True))
    assert world.campaign.held[101]["status_id"] == 1
    assert world.campaign.held[101]["order"] == 9


def test_transient_and_lost_answers_are_sent_again_without_duplicates() -> None:
    world = World(["1", "2", "3", "4"])
    world.campaign.item_failures = [503, None, 429, None, 500]
    counters = world.run()
    assert world.in_campaign() == {101, 102, 103, 104}
    assert counters["retried"] >= 3
    assert world.open_failures() == {}


def test_a_rejected_add_is_recorded_once_and_not_resent_until_the_rule_changes() -> None:
    world = World(["1"])
    world.campaign.item_failures = [400]
    world.run()
    assert world.open_failures() == {"1": "permanent"}
    world.campaign.calls.clear()
    assert world.run()["skipped"] == 1
    assert "add" not in world.campaign.calls
    world.rule.rows = [{"key": "1", "order": 3}]
    world.run()
    assert world.in_campaign() == {101}
    assert world.open_failures() == {}


def test_bad_rule_rows_are_rejected_with_their_key_and_the_rest_goes_on() -> None:
    world = World(["1", "2", "3", "4"])
    world.rule.rows = [
        {"key": "1", "status_id": 99},
        {"key": "2", "status_id": 8},  # needs a next call date
        {"key": "3", "order": "soon"},
        {"key": "4", "status_id": 8, "next_call_date": "2026-12-01 10:30"},
    ]
    counters = world.run()
    assert counters["rejected"] == 3
    assert world.in_campaign() == {104}
    assert world.open_failures() == {"1": "rejected", "2": "rejected", "3": "rejected"}


def test_a_complete_poll_forgets_members_whose_record_vanished_and_they_join_again() -> None:
    world = World(["1", "2"])
    world.run()
    del world.campaign.held[101]  # an agent removed it in Thulium
    counters = world.run(full=True)
    assert counters["vanished"] == 1
    assert world.in_campaign() == {101, 102}


def test_a_dry_run_plans_but_writes_nothing() -> None:
    world = World(["1", "2"])
    counters = world.run(dry_run=True)
    assert counters["wanted"] == 2
    assert world.in_campaign() == set()
    assert world.members.rows == {}


def test_a_waiting_key_that_leaves_the_rule_is_no_longer_reported() -> None:
    world = World(["1", "2"], linked=1)
    world.run()
    assert world.open_failures() == {"2": "waiting"}
    world.rule.rows = [{"key": "1"}]
    world.run()
    assert world.open_failures() == {}
