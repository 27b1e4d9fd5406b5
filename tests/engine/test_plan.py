"""The planner's rules, each on plain data."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from syncd.engine.crm.normalize import content_hash
from syncd.engine.crm.plan import Op, PageContext, StreamSpec, clearing_payload, plan_page, sent_above
from syncd.engine.ports import FailureRecord, Link
from syncd.engine.records import Position, SourceRow
from syncd.vocabulary import FailureKind

SPEC = StreamSpec(
    name="customers",
    kind="customer",
    fields={"surname": "last", "phone_number": "phone", "address.city": "city"},
    company_key="company",
    identifier_prefix="crm-",
)


def row(key: str, deleted: bool = False, **values: Any) -> SourceRow:
    return SourceRow(key, Position(1, key), deleted, {"last": "Nowak", **values})


def expected_hash(**payload: Any) -> str:
    return content_hash({"surname": "Nowak", **payload})


def test_new_row_is_created_with_its_identifier() -> None:
    plan = plan_page([row("1", phone="600-100-200")], SPEC, PageContext(links={}))
    [op] = plan.ops
    assert (op.kind, op.key, op.thulium_id) == ("create", "1", None)
    assert op.payload == {"surname": "Nowak", "phone_number": "600100200", "identifier": "crm-1"}
    assert op.payload_hash == expected_hash(phone_number="600100200", identifier="crm-1")


def test_unchanged_row_costs_nothing_and_changed_row_is_updated() -> None:
    same = expected_hash(identifier="crm-1")
    links = {"1": Link("1", 501, same), "2": Link("2", 502, "old-hash")}
    plan = plan_page([row("1"), row("2")], SPEC, PageContext(links=links))
    assert [op.key for op in plan.unchanged] == ["1"]
    [op] = plan.ops
    assert (op.kind, op.key, op.thulium_id) == ("update", "2", 502)


def test_invalid_row_is_rejected_with_key_and_reason() -> None:
    plan = plan_page([row("1", last=None), row("2", phone="12ab")], SPEC, PageContext(links={}))
    assert [(f.source_key, f.kind, f.message) for f in plan.failures] == [
        ("1", "rejected", "surname: missing (Thulium requires it)"),
        (
            "2",
            "rejected",
            "phone_number: not numeric after removing spaces, dashes, brackets and the country prefix",
        ),
    ]
    assert plan.ops == []


def test_customer_gets_its_companys_thulium_id() -> None:
    ctx = PageContext(links={}, company_links={"7": Link("7", 31, "h")})
    [op] = plan_page([row("1", company=7)], SPEC, ctx).ops
    assert op.payload is not None
    assert op.payload["company_id"] == 31


def test_only_a_create_waits_for_a_company_on_its_way() -> None:
    """A company in the source with no failure is coming: a new customer waits for it, but a synced
    customer's changes go out at once, without the company, and the row is read again next run."""
    ctx = PageContext(links={"2": Link("2", 502, "old")}, companies_in_source={"7"})
    plan = plan_page([row("1", company="7"), row("2", company="7", phone="600100200")], SPEC, ctx)
    assert [(f.source_key, f.kind, f.message) for f in plan.failures] == [
        ("1", "waiting", "waiting for company 7 to be synced to Thulium")
    ]
    [update] = plan.ops
    assert (update.kind, update.key, update.company_key) == ("update", "2", "7")
    assert update.payload is not None
    assert "company_id" not in update.payload
    assert update.note is not None
    assert update.note.kind == "waiting"
    assert clearing_payload(update.payload, SPEC)["company_id"] == ""  # detached from any old company


@pytest.mark.parametrize(
    ("ctx", "why"),
    [
        (PageContext(links={}), "company 8 does not exist in the source"),
        (PageContext(links={}, companies_deleted={"8"}), "company 8 is deleted in the source"),
        (
            PageContext(links={}, companies_in_source={"8"}, companies_blocked={"8"}),
            "company 8 failed to sync (see its failure in the companies stream)",
        ),
    ],
    ids=["absent", "deleted", "rejected-or-refused"],
)
def test_a_customer_never_waits_for_a_company_that_will_not_come(ctx: PageContext, why: str) -> None:
    [op] = plan_page([row("1", company="8")], SPEC, ctx).ops
    assert (op.kind, op.company_key) == ("create", "8")
    assert op.payload == {"surname": "Nowak", "identifier": "crm-1"}
    assert op.note is not None
    assert (op.note.kind, op.note.message) == (
        "warning",
        f"sent without its company: {why}; linked once the company is in Thulium",
    )


def test_moving_between_two_unavailable_companies_is_a_change() -> None:
    """The payload is the same without either company; the hash still tells the rows apart, so the link
    learns which company the row names now and a company that arrives later finds its customer."""
    first = plan_page([row("1", company="8")], SPEC, PageContext(links={})).ops[0]
    link = Link("1", 501, first.payload_hash, company_key="8")
    [moved] = plan_page([row("1", company="9")], SPEC, PageContext(links={"1": link})).ops
    assert (moved.kind, moved.company_key) == ("update", "9")
    [same] = plan_page([row("1", company="8")], SPEC, PageContext(links={"1": link})).unchanged
    assert same.note is not None
    assert same.note.kind == "warning"


def test_source_delete_deletes_linked_records_only() -> None:
    links = {"1": Link("1", 501, "h")}
    plan = plan_page([row("1", deleted=True), row("2", deleted=True)], SPEC, PageContext(links=links))
    assert [(op.kind, op.key, op.thulium_id) for op in plan.ops] == [("delete", "1", 501)]
    assert plan.settled_deletes == ["2"]


def test_ignore_policy_keeps_thulium_records_of_deleted_rows() -> None:
    spec = StreamSpec("customers", "customer", SPEC.fields, on_source_delete="ignore")
    plan = plan_page([row("1", deleted=True)], spec, PageContext(links={"1": Link("1", 501, "h")}))
    assert plan.ops == []
    assert plan.settled_deletes == ["1"]


def test_permanently_failed_content_is_not_resent_until_it_changes() -> None:
    failed = expected_hash(identifier="crm-1")
    ctx = PageContext(links={}, failed_hashes={"1": failed, "2": "other"})
    plan = plan_page([row("1"), row("2")], SPEC, ctx)
    assert [op.key for op in plan.ops] == ["2"]


def test_creates_after_an_unknown_outcome_look_the_record_up_first() -> None:
    [op] = plan_page([row("1")], SPEC, PageContext(links={}, lookup_first={"1"})).ops
    assert op.lookup_first


def test_clearing_payload_empties_mapped_fields_the_source_lost() -> None:
    wire = clearing_payload({"surname": "Nowak", "identifier": "crm-1"}, SPEC)
    assert wire == {
        "surname": "Nowak",
        "identifier": "crm-1",
        "phone_number": "",
        "address": {"city": ""},
        "company_id": "",
    }


def test_sent_above_is_replace_of_the_floor_for_every_field() -> None:
    note = FailureRecord("c-1", "upsert", FailureKind.WARNING, "its company is on its way")
    op = Op(
        *("update", "c-1", {"name": "Ann"}, "hash-1", 41, 42),
        lookup_first=True,
        adopted=True,
        repair=True,
        purge=True,
        floor=7,
        company_key="co-9",
        note=note,
    )
    stamped = sent_above(op, 1234)
    assert stamped == replace(op, floor=1234)
    assert stamped is not op
    assert op.floor == 7
