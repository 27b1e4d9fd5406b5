"""What one campaign rule asks of Thulium: records to add, change and remove.

Pure planning, like ``plan.py`` for customers: the rule's rows, what the state DB knows of
each member and which customers are linked go in; a plan comes out. Two rules shape it:
a member is added only once its customer is linked (until then it waits), and a record
the dialer or an agent has worked is never reset unless the rule says ``reset_worked``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

FRESH_STATUSES = (None, "TO_CALL")  # nobody has touched a record in these


@dataclass(frozen=True, slots=True)
class Wanted:
    """One row of a rule's query: a source key and the record fields the rule chooses to set."""

    key: str
    status_id: int | None = None
    order: int | None = None
    next_call_date: str | None = None
    agent_login: str | None = None

    def fields(self, initial_status_id: int | None) -> dict[str, Any]:
        values = {
            "status_id": self.status_id if self.status_id is not None else initial_status_id,
            "order": self.order,
            "next_call_date": self.next_call_date,
            "agent_login": self.agent_login,
        }
        return {name: value for name, value in values.items() if value is not None}


@dataclass(frozen=True, slots=True)
class Member:
    """What the state DB knows of a key's record in the campaign."""

    key: str
    customer_id: int
    record_id: int | None = None
    sent_hash: str | None = None  # hash of the fields we last sent
    sent_status_id: int | None = None  # the status we set, to tell our status from the dialer's
    status_id: int | None = None  # the status last seen (poll or webhook)
    system_status: str | None = None

    @property
    def worked(self) -> bool:
        if self.system_status not in FRESH_STATUSES:
            return True
        return self.status_id is not None and self.status_id != self.sent_status_id


@dataclass(frozen=True, slots=True)
class MemberOp:
    key: str
    customer_id: int
    fields: Mapping[str, Any] = field(default_factory=dict)
    fields_hash: str | None = None


@dataclass(frozen=True, slots=True)
class Placed:
    """A record Thulium confirmed in the campaign (added, adopted or changed)."""

    key: str
    customer_id: int
    record_id: int | None
    sent_hash: str | None
    sent_status_id: int | None


@dataclass(slots=True)
class CampaignPlan:
    add: list[MemberOp] = field(default_factory=list)
    change: list[MemberOp] = field(default_factory=list)
    remove: list[MemberOp] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # wanted, but the customer is not linked yet
    kept: list[str] = field(default_factory=list)  # wanted and already right (or worked: left alone)


@dataclass(frozen=True, slots=True)
class Rule:
    outbound_id: str
    remove_when_absent: bool = True
    initial_status_id: int | None = None
    reset_worked: bool = False


def fields_hash(fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def plan_campaign(
    rule: Rule,
    wanted: Iterable[Wanted],
    members: Mapping[str, Member],
    customer_ids: Mapping[str, int],
) -> CampaignPlan:
    plan = CampaignPlan()
    seen: set[str] = set()
    for row in wanted:
        if row.key in seen:
            continue  # a rule returning a key twice means it once
        seen.add(row.key)
        plan_wanted(rule, row, members.get(row.key), customer_ids.get(row.key), plan)
    if rule.remove_when_absent:
        plan.remove.extend(
            MemberOp(key, member.customer_id) for key, member in members.items() if key not in seen
        )
    return plan


def plan_wanted(
    rule: Rule, row: Wanted, member: Member | None, customer_id: int | None, plan: CampaignPlan
) -> None:
    fields = row.fields(rule.initial_status_id)
    digest = fields_hash(fields)
    if customer_id is None:
        plan.waiting.append(row.key)
        return
    if member is None:
        plan.add.append(MemberOp(row.key, customer_id, fields, digest))
        return
    if member.customer_id != customer_id:
        # the customer was re-created in Thulium: its old record belongs to a record we no longer link
        plan.remove.append(MemberOp(row.key, member.customer_id))
        plan.add.append(MemberOp(row.key, customer_id, fields, digest))
        return
    if member.sent_hash == digest or not fields or (member.worked and not rule.reset_worked):
        plan.kept.append(row.key)
        return
    plan.change.append(MemberOp(row.key, customer_id, fields, digest))
