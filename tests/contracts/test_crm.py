"""The Crm port: what the engine may rely on from Thulium, held by the fake and by ThuliumCrm over
the sandbox. Outcomes are compared as the engine reads them (``decide``), not as raw statuses."""

from __future__ import annotations

from syncd.engine.ports import Crm, CrmResult
from syncd.engine.resolve import Decision, Operation, decide


def decisions(operation: Operation, results: list[CrmResult]) -> list[Decision]:
    return [decide(operation, result.status) for result in results]


def created(crm: Crm, *identifiers: str) -> list[int]:
    results = crm.create("customers", [{"identifier": key, "surname": f"S-{key}"} for key in identifiers])
    assert decisions("create", results) == [Decision.OK] * len(identifiers)
    ids = [result.thulium_id for result in results]
    assert all(isinstance(thulium_id, int) for thulium_id in ids)
    return [thulium_id for thulium_id in ids if thulium_id is not None]


def surname_of(crm: Crm, identifier: str) -> list[str]:
    return [str(record.fields.get("surname")) for record in crm.find("customers", identifier)]


def test_creates_answer_in_input_order_and_each_is_found_by_its_identifier(crm: Crm) -> None:
    assert crm.max_batch("customers") >= 1
    first, second = created(crm, "contract-1", "contract-2")
    assert first != second
    (found,) = crm.find("customers", "contract-2")
    assert (found.thulium_id, found.identifier, found.fields.get("surname")) == (
        second,
        "contract-2",
        "S-contract-2",
    )
    assert crm.find("customers", "contract-nobody") == []


def test_an_update_is_what_a_later_find_sees(crm: Crm) -> None:
    (thulium_id,) = created(crm, "contract-3")
    results = crm.update("customers", [(thulium_id, {"identifier": "contract-3", "surname": "Renamed"})])
    assert decisions("update", results) == [Decision.OK]
    assert surname_of(crm, "contract-3") == ["Renamed"]


def test_an_update_of_a_record_thulium_no_longer_has_is_gone(crm: Crm) -> None:
    (thulium_id,) = created(crm, "contract-4")
    assert decisions("delete", crm.delete("customers", [thulium_id])) == [Decision.OK]
    results = crm.update("customers", [(thulium_id, {"identifier": "contract-4", "surname": "X"})])
    assert decisions("update", results) == [Decision.GONE]
    assert crm.find("customers", "contract-4") == []


def test_deleting_what_is_already_gone_is_done(crm: Crm) -> None:
    (thulium_id,) = created(crm, "contract-5")
    crm.delete("customers", [thulium_id])
    assert decisions("delete", crm.delete("customers", [thulium_id])) == [Decision.OK]


def test_settle_finds_every_record_an_unknown_create_may_have_made(crm: Crm) -> None:
    """Every record newer than the floor, by identifier; older ones may come along (the adapter reads a
    page that reaches down to the floor), and the engine must not count on either way."""
    (old,) = created(crm, "contract-6")
    (new,) = created(crm, "contract-7")
    found = crm.settle("customers", ["contract-6", "contract-7", "contract-nobody"], floor=old)
    newer = {
        key: [record.thulium_id for record in records if record.thulium_id > old]
        for key, records in found.items()
    }
    assert newer == {"contract-6": [], "contract-7": [new], "contract-nobody": []}
    assert found["contract-nobody"] == []
