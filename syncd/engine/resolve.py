"""What one item of a batch response means for the sync: the ONE table of item decisions.

The Thulium client parses responses and decides what a whole request's status means; this
module decides what each item's status means for the row behind it. Nothing else in syncd
looks at an item's http_status.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Literal

Operation = Literal["create", "update", "delete", "add_member", "remove_member"]


class Decision(Enum):
    OK = "ok"  # Thulium holds what we sent (or the delete is done): write the link
    RETRY = "retry"  # transient: send again in a later batch, a bounded number of times
    RETRY_LATER = "retry_later"  # transient but slow to clear (a call in progress): park for a later run
    DEAD = "dead"  # permanent: record the failure for a human; retried when the source row changes
    GONE = "gone"  # the record was deleted in Thulium behind our back: apply on_thulium_delete
    STALE_LINK = "stale_link"  # our customer link points at a record that no longer exists: repair it
    # A campaign add refused in words we do not know (another language, a reworded release): ask
    # Thulium whether the customer still exists, then decide by ``verified``.
    VERIFY = "verify"
    UNKNOWN = (
        "unknown"  # the response did not say: reconcile by looking the record up, never re-create blindly
    )


@dataclass(frozen=True, slots=True)
class ItemStatus:
    """The parts of a per-item result that decide its fate."""

    http_status: int | None
    status: str | None = None  # crm_outbounds batch items: ADDED, ALREADY_EXISTS, REMOVED, ...
    message: str | None = None


CUSTOMER_NOT_FOUND = "Customer not found."

# Explicit rows first; the status classes below catch what the table does not name.
TABLE: dict[tuple[Operation, int | None, str | None], Decision] = {
    ("create", 201, None): Decision.OK,
    ("update", 204, None): Decision.OK,
    ("update", 404, None): Decision.GONE,
    ("delete", 204, None): Decision.OK,
    ("delete", 404, None): Decision.OK,
    ("add_member", 201, "ADDED"): Decision.OK,
    ("add_member", 400, "ALREADY_EXISTS"): Decision.OK,
    ("add_member", 400, "FAILED"): Decision.VERIFY,
    ("add_member", 404, None): Decision.VERIFY,
    ("remove_member", 200, "REMOVED"): Decision.OK,
    ("remove_member", 404, "NOT_EXIST"): Decision.OK,
}
RETRYABLE = frozenset({408, 409, 423, 425, 429})

# What a VERIFY item means once Thulium said whether its customer exists (None: the check itself failed).
VERIFIED: dict[bool | None, Decision] = {
    True: Decision.DEAD,  # the customer is there: an ordinary refusal, Thulium's message stands
    False: Decision.STALE_LINK,  # the customer is gone (404/410): the same repair as "Customer not found."
    None: Decision.RETRY,  # could not tell: send the add again later, never give up on a guess
}


def decide(operation: Operation, item: ItemStatus) -> Decision:
    if item.http_status is None:
        return Decision.UNKNOWN
    if operation == "create" and item.http_status >= 500:
        return Decision.UNKNOWN  # "an internal error while processing": no rollback promised, look it up
    if item.status == "CALL_IN_PROGRESS":
        return Decision.RETRY_LATER
    if operation == "add_member" and item.status == "FAILED" and item.message == CUSTOMER_NOT_FOUND:
        return Decision.STALE_LINK
    for status in (item.status, None):
        decision = TABLE.get((operation, item.http_status, status))
        if decision is not None:
            return decision
    return by_class(item.http_status)


def verified(exists: bool | None) -> Decision:
    """The decision for a VERIFY item, given whether its customer exists in Thulium."""
    return VERIFIED[exists]


def by_class(http_status: int) -> Decision:
    if 200 <= http_status < 300:
        return Decision.OK
    if http_status in RETRYABLE or http_status >= 500:
        return Decision.RETRY
    return Decision.DEAD
