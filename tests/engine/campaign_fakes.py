"""In-memory stand-ins for a campaign run's ports: a Thulium campaign, the members table, links, a rule."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from syncd.engine.campaigns.plan import Member, Placed
from syncd.engine.campaigns.records import KeyedState, RecordState
from syncd.engine.ports import CrmResult
from syncd.engine.resolve import CUSTOMER_NOT_FOUND, ItemStatus


@dataclass
class FakeCampaign:
    """One CRM campaign: records by customer id, with scripted per-call failures."""

    customers: set[int]
    held: dict[int, dict[str, Any]] = field(default_factory=dict)  # records by customer id
    in_call: set[int] = field(default_factory=set)
    item_failures: list[int | None] = field(default_factory=list)  # next items' http status (None: lost)
    calls: list[str] = field(default_factory=list)
    next_record_id: int = 1
    not_found_message: str = CUSTOMER_NOT_FOUND  # how this instance words a missing customer
    refusals: dict[int, str] = field(default_factory=dict)  # customers whose add is refused, and why
    unsure_checks: int = 0  # the next customer checks that fail (GET customers/:id answered 5xx)

    def max_batch(self) -> int:
        return 2

    def add(self, outbound_id: str, records: Sequence[tuple[int, Mapping[str, Any]]]) -> list[CrmResult]:
        self.calls.append("add")
        return [self.add_one(customer_id, fields) for customer_id, fields in records]

    def add_one(self, customer_id: int, fields: Mapping[str, Any]) -> CrmResult:
        scripted = self.scripted()
        if scripted is not None:
            return scripted
        if customer_id not in self.customers:
            return CrmResult(ItemStatus(400, "FAILED", self.not_found_message))
        if customer_id in self.refusals:
            return CrmResult(ItemStatus(400, "FAILED", self.refusals[customer_id]))
        if customer_id in self.held:
            record_id = self.held[customer_id]["record_id"]
            return CrmResult(ItemStatus(400, "ALREADY_EXISTS"), thulium_id=record_id)
        self.held[customer_id] = {"record_id": self.next_record_id, "status_id": 1, **fields}
        self.next_record_id += 1
        return CrmResult(ItemStatus(201, "ADDED"), thulium_id=self.held[customer_id]["record_id"])

    def remove(self, outbound_id: str, customer_ids: Sequence[int]) -> list[CrmResult]:
        self.calls.append("remove")
        results = []
        for customer_id in customer_ids:
            scripted = self.scripted()
            if scripted is not None:
                results.append(scripted)
            elif customer_id in self.in_call:
                results.append(CrmResult(ItemStatus(400, "CALL_IN_PROGRESS")))
            elif self.held.pop(customer_id, None) is None:
                results.append(CrmResult(ItemStatus(404, "NOT_EXIST")))
            else:
                results.append(CrmResult(ItemStatus(200, "REMOVED")))
        return results

    def change(self, outbound_id: str, customer_id: int, fields: Mapping[str, Any]) -> CrmResult:
        self.calls.append("change")
        if customer_id not in self.held:
            return CrmResult(ItemStatus(404))
        self.held[customer_id].update(fields)
        return CrmResult(ItemStatus(204))

    def records(self, outbound_id: str, since: date | None) -> Iterator[RecordState]:
        self.calls.append("list")
        for customer_id, r in self.held.items():
            system = r.get("system", "TO_CALL")
            yield RecordState(r["record_id"], customer_id, status_id=r["status_id"], system_status=system)

    def newest(self, outbound_id: str, count: int) -> list[RecordState]:
        self.calls.append("newest")
        newest = sorted(self.held.items(), key=lambda item: item[1]["record_id"])[-count:]
        return [self.state(customer_id) for customer_id, _ in newest]

    def record(self, outbound_id: str, customer_id: int) -> RecordState | None:
        self.calls.append("get")
        return self.state(customer_id) if customer_id in self.held else None

    def customer_exists(self, customer_id: int) -> bool | None:
        self.calls.append("exists")
        if self.unsure_checks:
            self.unsure_checks -= 1
            return None
        return customer_id in self.customers

    def state(self, customer_id: int) -> RecordState:
        r = self.held[customer_id]
        system = r.get("system", "TO_CALL")
        return RecordState(r["record_id"], customer_id, status_id=r["status_id"], system_status=system)

    def scripted(self) -> CrmResult | None:
        if not self.item_failures:
            return None
        status = self.item_failures.pop(0)
        return CrmResult(ItemStatus(status, message="scripted"))


@dataclass
class FakeMembers:
    rows: dict[str, Member] = field(default_factory=dict)
    mark: str | None = None

    def members(self, outbound_id: str) -> dict[str, Member]:
        return dict(self.rows)

    def commit(self, outbound_id: str, placed: Sequence[Placed], removed: Sequence[str]) -> None:
        for key in removed:
            self.rows.pop(key, None)
        for p in placed:
            old = self.rows.get(p.key)
            record_id = p.record_id if p.record_id is not None else (old.record_id if old else None)
            base = (
                old if old is not None and old.customer_id == p.customer_id else Member(p.key, p.customer_id)
            )
            self.rows[p.key] = replace(
                base, record_id=record_id, sent_hash=p.sent_hash, sent_status_id=p.sent_status_id
            )

    def apply_states(self, outbound_id: str, states: Sequence[RecordState]) -> list[KeyedState]:
        by_customer = {m.customer_id: m for m in self.rows.values()}
        matched = []
        for state in states:
            member = by_customer.get(state.customer_id or -1)
            if member is None:
                continue
            self.rows[member.key] = replace(
                member,
                status_id=state.status_id,
                system_status=state.system_status,
                record_id=state.record_id,
            )
            matched.append(KeyedState(member.key, member.customer_id, state))
        return matched

    def forget(self, outbound_id: str, keys: Sequence[str]) -> None:
        self.commit(outbound_id, [], keys)

    def poll_mark(self, outbound_id: str) -> str | None:
        return self.mark

    def set_poll_mark(self, outbound_id: str, value: str) -> None:
        self.mark = value


@dataclass
class FakeLinks:
    ids: dict[str, int]
    relink_to: dict[str, int] = field(default_factory=dict)  # what a repair finds (Thulium re-created them)

    def customer_ids(self, keys: Collection[str]) -> dict[str, int]:
        return {key: self.ids[key] for key in keys if key in self.ids}

    def repair(self, keys: Collection[str]) -> dict[str, int]:
        for key in keys:
            self.ids.pop(key, None)
            if key in self.relink_to:
                self.ids[key] = self.relink_to[key]
        return self.customer_ids(keys)


@dataclass
class FakeRule:
    rows: list[dict[str, Any]] = field(default_factory=list)

    def rule_rows(self, outbound_id: str) -> Iterator[Mapping[str, Any]]:
        yield from self.rows


@dataclass
class FakeWriteback:
    rows: dict[str, RecordState] = field(default_factory=dict)

    def upsert(self, outbound_id: str, states: Sequence[KeyedState]) -> None:
        self.rows.update({keyed.key: keyed.state for keyed in states})

    def delete(self, outbound_id: str, keys: Sequence[str]) -> None:
        for key in keys:
            self.rows.pop(key, None)

    def keys(self, outbound_id: str) -> set[str]:
        return set(self.rows)
