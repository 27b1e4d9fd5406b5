"""Planning a campaign's membership from a rule's rows, the members table and the customer links."""

from __future__ import annotations

from syncd.engine.campaigns.plan import Member, Rule, Wanted, fields_hash, plan_campaign

RULE = Rule("00002", initial_status_id=3)
LINKED = {"1": 101, "2": 102, "3": 103, "4": 104}


def sent(key: str, customer_id: int, **fields: object) -> Member:
    values = {"status_id": 3, **fields}
    return Member(
        key, customer_id, record_id=900 + customer_id, sent_hash=fields_hash(values), sent_status_id=3
    )


def test_new_keys_are_added_with_the_initial_status_and_the_rule_fields() -> None:
    plan = plan_campaign(
        RULE, [Wanted("1"), Wanted("2", order=5, next_call_date="2026-12-01 10:00")], {}, LINKED
    )
    assert [(op.key, op.customer_id, dict(op.fields)) for op in plan.add] == [
        ("1", 101, {"status_id": 3}),
        ("2", 102, {"status_id": 3, "order": 5, "next_call_date": "2026-12-01 10:00"}),
    ]
    assert not (plan.change)
    assert not (plan.remove)
    assert not (plan.waiting)


def test_a_key_whose_customer_is_not_linked_yet_waits() -> None:
    plan = plan_campaign(RULE, [Wanted("9")], {}, LINKED)
    assert plan.waiting == ["9"]
    assert not plan.add


def test_members_the_rule_no_longer_selects_are_removed_unless_the_rule_keeps_them() -> None:
    members = {"1": sent("1", 101), "2": sent("2", 102)}
    plan = plan_campaign(RULE, [Wanted("1")], members, LINKED)
    assert [(op.key, op.customer_id) for op in plan.remove] == [("2", 102)]
    keeping = plan_campaign(Rule("00002", remove_when_absent=False, initial_status_id=3), [], members, LINKED)
    assert keeping.remove == []


def test_an_unchanged_member_costs_nothing() -> None:
    plan = plan_campaign(RULE, [Wanted("1")], {"1": sent("1", 101)}, LINKED)
    assert plan.kept == ["1"]
    assert not (plan.add)
    assert not (plan.change)
    assert not (plan.remove)


def test_changed_rule_fields_are_sent_for_an_unworked_record() -> None:
    plan = plan_campaign(RULE, [Wanted("1", order=7)], {"1": sent("1", 101)}, LINKED)
    assert [(op.key, dict(op.fields)) for op in plan.change] == [("1", {"status_id": 3, "order": 7})]


def test_a_record_the_dialer_or_an_agent_worked_is_not_reset() -> None:
    for worked in (
        Member("1", 101, 1, fields_hash({"status_id": 3}), 3, status_id=5, system_status="NO_CALL"),
        Member("1", 101, 1, fields_hash({"status_id": 3}), 3, status_id=8, system_status="MY_RECORD"),
        Member("1", 101, 1, fields_hash({"status_id": 3}), 3, status_id=4, system_status="TO_CALL"),
    ):
        assert worked.worked
        plan = plan_campaign(RULE, [Wanted("1", status_id=3, order=9)], {"1": worked}, LINKED)
        assert plan.kept == ["1"]
        assert not plan.change
        explicit = Rule("00002", initial_status_id=3, reset_worked=True)
        assert [
            op.key for op in plan_campaign(explicit, [Wanted("1", order=9)], {"1": worked}, LINKED).change
        ] == ["1"]


def test_a_re_created_customer_moves_its_record() -> None:
    plan = plan_campaign(RULE, [Wanted("1")], {"1": sent("1", 555)}, LINKED)
    assert [(op.key, op.customer_id) for op in plan.remove] == [("1", 555)]
    assert [(op.key, op.customer_id) for op in plan.add] == [("1", 101)]


def test_a_key_listed_twice_by_the_rule_is_planned_once() -> None:
    plan = plan_campaign(RULE, [Wanted("1"), Wanted("1", order=3)], {}, LINKED)
    assert [op.key for op in plan.add] == ["1"]


def test_without_an_initial_status_a_plain_member_sends_only_its_customer() -> None:
    plan = plan_campaign(Rule("00002"), [Wanted("4")], {}, LINKED)
    assert [(op.key, dict(op.fields)) for op in plan.add] == [("4", {})]
    unchanged = plan_campaign(Rule("00002"), [Wanted("4")], {"4": Member("4", 104, 1)}, LINKED)
    assert unchanged.kept == ["4"]
