"""The item decision table, row by row."""

from __future__ import annotations

import pytest

from syncd.engine.resolve import Decision, ItemStatus, Operation, decide, verified

CASES: list[tuple[Operation, ItemStatus, Decision]] = [
    ("create", ItemStatus(201), Decision.OK),
    ("create", ItemStatus(400, message="Phone number must be numeric."), Decision.DEAD),
    # "An internal error while processing": no rollback promised, so a create's 5xx is looked up.
    ("create", ItemStatus(503), Decision.UNKNOWN),
    ("create", ItemStatus(500), Decision.UNKNOWN),
    ("create", ItemStatus(429), Decision.RETRY),
    ("create", ItemStatus(None, message="missing from the response"), Decision.UNKNOWN),
    ("update", ItemStatus(204), Decision.OK),
    ("update", ItemStatus(404, message="Customer not found."), Decision.GONE),
    ("update", ItemStatus(400), Decision.DEAD),
    ("update", ItemStatus(502), Decision.RETRY),
    ("update", ItemStatus(None), Decision.UNKNOWN),
    ("delete", ItemStatus(204), Decision.OK),
    ("delete", ItemStatus(404, message="Customer not found."), Decision.OK),
    ("delete", ItemStatus(503), Decision.RETRY),
    ("add_member", ItemStatus(201, "ADDED"), Decision.OK),
    ("add_member", ItemStatus(400, "ALREADY_EXISTS"), Decision.OK),
    ("add_member", ItemStatus(400, "FAILED", "Customer not found."), Decision.STALE_LINK),
    # Words we do not know (a reworded release, Accept-Language): ask whether the customer exists first.
    ("add_member", ItemStatus(400, "FAILED", "The customer does not exist."), Decision.VERIFY),
    ("add_member", ItemStatus(400, "FAILED", "Status not found."), Decision.VERIFY),
    ("add_member", ItemStatus(404, "FAILED", "Nie znaleziono klienta."), Decision.VERIFY),
    ("add_member", ItemStatus(404), Decision.VERIFY),
    ("add_member", ItemStatus(503, "FAILED", "Service temporarily unavailable."), Decision.RETRY),
    ("add_member", ItemStatus(403, "FAILED", "Forbidden."), Decision.DEAD),
    ("add_member", ItemStatus(503), Decision.RETRY),
    ("remove_member", ItemStatus(200, "REMOVED"), Decision.OK),
    ("remove_member", ItemStatus(404, "NOT_EXIST"), Decision.OK),
    ("remove_member", ItemStatus(400, "CALL_IN_PROGRESS"), Decision.RETRY_LATER),
    ("remove_member", ItemStatus(200, "CALL_IN_PROGRESS"), Decision.RETRY_LATER),
    ("remove_member", ItemStatus(None), Decision.UNKNOWN),
    ("create", ItemStatus(403), Decision.DEAD),
    ("create", ItemStatus(200), Decision.OK),
]


@pytest.mark.parametrize(("operation", "item", "decision"), CASES)
def test_decision_table(operation: Operation, item: ItemStatus, decision: Decision) -> None:
    assert decide(operation, item) is decision


@pytest.mark.parametrize(
    ("exists", "decision"),
    [(True, Decision.DEAD), (False, Decision.STALE_LINK), (None, Decision.RETRY)],
)
def test_a_verified_add_is_decided_by_whether_its_customer_exists(
    exists: bool | None, decision: Decision
) -> None:
    assert verified(exists) is decision
