"""The remote index keeps records compactly (pickled fields, shared read sets, ids by identifier): what it
hands back must be the records it was given, whichever way they are asked for."""

from __future__ import annotations

from syncd.engine.crm.plan import StreamSpec
from syncd.engine.crm.remote import RemoteIndex
from syncd.engine.ports import RemoteRecord

SPEC = StreamSpec(name="customers", kind="customer", fields={"surname": "last"}, identifier_prefix="crm-")
READ = frozenset({"surname", "address", "custom_fields"})
FIELDS = {
    "surname": "Wąs",
    "phone_number": ["+48 600", "+48 601"],
    "address": {"city": "Kraków"},
    "custom_fields": {"Segment": "gold", "Tags": ["a", "b"]},
    "vip": True,
    "company_id": 7,
}


def test_records_come_back_as_they_went_in() -> None:
    records = [
        RemoteRecord(100, "crm-1", FIELDS, read=READ),
        RemoteRecord(101, "crm-2", {"surname": "B"}, company_customer_id=9, read=frozenset(READ)),
        RemoteRecord(102, "", {"surname": "C"}),
    ]
    index = RemoteIndex.build(records)
    assert sorted(index.ids()) == [100, 101, 102]
    assert [index.get(r.thulium_id) for r in records] == records
    assert index.get(999) is None
    assert index.named("crm-1") == [records[0]]
    assert index.named("") == []  # a record without an identifier is found by id only
    assert index.our_keys(SPEC) == {"1", "2"}


def test_several_records_under_one_identifier_in_read_order() -> None:
    first, second = RemoteRecord(205, "crm-1", {"surname": "A"}), RemoteRecord(200, "crm-1", {"surname": "B"})
    index = RemoteIndex.build([first, second, RemoteRecord(300, "crm-3", {})])
    assert index.named("crm-1") == [first, second]
    assert index.shared(SPEC) == {"1": [first, second]}
    assert index.orphans({"3"}, SPEC) == [first, second]
    assert index.orphans({"1", "3"}, SPEC) == []


def test_a_record_read_twice_is_listed_under_each_identifier_it_was_read_with() -> None:
    """Offset pages can show a record twice; if an agent renamed it in between, each list keeps it."""
    before, after = RemoteRecord(100, "crm-1", {"surname": "A"}), RemoteRecord(100, "crm-9", {"surname": "Z"})
    index = RemoteIndex.build([before, after])
    assert index.get(100) == after
    assert [(r.thulium_id, r.identifier) for r in index.named("crm-1")] == [(100, "crm-1")]
    assert index.named("crm-9") == [after]
