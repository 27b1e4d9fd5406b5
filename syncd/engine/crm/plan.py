"""Diff a page of source rows against the links: what to create, update, delete, and what is settled already.

Pure: it gets everything it needs as arguments, so every rule is tested with plain data.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, fields, replace
from operator import attrgetter
from typing import Any, Literal

from syncd.engine.crm.normalize import (
    Kind,
    Normalized,
    Unreadable,
    content_hash,
    describe_error,
    field_rules,
    normalize,
)
from syncd.engine.crm.payload import decode_bytes, is_valid_text
from syncd.engine.ports import FailureRecord, Link, Payload
from syncd.engine.records import SourceRow
from syncd.vocabulary import FailureKind

OpKind = Literal["create", "update", "delete"]


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """One stream's mapping, as the engine needs it."""

    name: str
    kind: Kind
    fields: Mapping[str, str]
    company_key: str | None = None  # customers: source column holding the company's key
    identifier_prefix: str = ""
    on_source_delete: Literal["delete", "ignore"] = "delete"

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", field_rules(self.fields))  # each field's rule found once

    def identifier(self, key: str) -> str:
        return f"{self.identifier_prefix}{key}"


@dataclass(frozen=True, slots=True)
class Op:
    """One record to write to Thulium, with the hash of its payload for the link."""

    kind: OpKind
    key: str
    payload: Payload | None = None
    payload_hash: str | None = None
    thulium_id: int | None = None
    company_customer_id: int | None = None
    lookup_first: bool = False  # a create (or delete) whose earlier create may have landed: find it first
    adopted: bool = False  # an existing Thulium record with our identifier, taken over instead of created
    repair: bool = False  # Thulium differs from what we last sent (edited or deleted there)
    purge: bool = False  # a duplicate or orphan to delete; no link of ours points at it
    # The newest Thulium id known to exist when this create was sent (see ``Crm.settle``); None: not sent
    # by this run, so a lookup cannot read the newest records down to it.
    floor: int | None = None
    # Customers: the company key the row names, and what to record once the row is written (sent without
    # its company: a warning, or waiting for a company on its way) instead of resolving its failure.
    company_key: str | None = None
    note: FailureRecord | None = None


_OP_VALUES = attrgetter(*(f.name for f in fields(Op)))  # in __init__'s order: every field is an init field
_FLOOR = [f.name for f in fields(Op)].index("floor")


def sent_above(op: Op, floor: int | None) -> Op:
    """``replace(op, floor=floor)`` in a quarter of its time: the sending thread stamps every create."""
    values = list(_OP_VALUES(op))
    values[_FLOOR] = floor
    return Op(*values)


@dataclass(slots=True)
class PagePlan:
    ops: list[Op] = field(default_factory=list)
    unchanged: list[Op] = field(default_factory=list)  # linked with the same hash: nothing to send
    failures: list[FailureRecord] = field(default_factory=list)
    settled_deletes: list[str] = field(default_factory=list)  # deleted in the source and not in Thulium
    # Unchanged rows whose link does not know the company the row names yet (links written before syncd
    # remembered it): written down without a request, so a company that moves later finds them.
    relinked: list[Link] = field(default_factory=list)

    @property
    def resolved(self) -> list[str]:
        """Keys whose open failure, if any, is settled by this plan without a request."""
        return [op.key for op in self.unchanged if op.note is None] + self.settled_deletes

    @property
    def notes(self) -> list[FailureRecord]:
        """What unchanged rows still owe a word about (sent without their company)."""
        return [op.note for op in self.unchanged if op.note is not None]


@dataclass(frozen=True, slots=True)
class PageContext:
    """What the planner needs to know about the page's keys beyond the rows themselves."""

    links: Mapping[str, Link]
    failed_hashes: Mapping[str, str | None] = field(default_factory=dict)
    company_links: Mapping[str, Link] = field(default_factory=dict)
    companies_in_source: Collection[str] = ()  # not deleted there
    companies_deleted: Collection[str] = ()  # soft-deleted in the source
    companies_blocked: Collection[str] = ()  # rejected, or refused by Thulium: not coming until they change
    lookup_first: Collection[str] = ()
    full: bool = False  # a full reconcile: every rejected row is counted again


def plan_page(rows: list[SourceRow], spec: StreamSpec, ctx: PageContext) -> PagePlan:
    plan = PagePlan()
    for row in rows:
        try:
            if row.deleted:
                plan_delete(row.key, spec, ctx, plan)
            else:
                plan_upsert(row, spec, ctx, plan)
        except Exception as exc:  # noqa: BLE001 -- one row's values must not stop the stream
            # A value the cleaning rules never expected (a type, a codec, an overflow) would raise for this
            # row on every run and, uncaught, abort the run before any row behind it: a poison row. It is
            # rejected like an invalid one and waits for its source row to change.
            reject(plan, row, spec, ctx, unplannable(row, ctx, exc))
    return plan


def unplannable(row: SourceRow, ctx: PageContext, exc: Exception) -> FailureRecord:
    operation = "delete" if row.deleted else "update" if row.key in ctx.links else "create"
    return FailureRecord(
        row.key, operation, FailureKind.REJECTED, f"cannot be planned: {describe_error(exc)}"
    )


def reject(
    plan: PagePlan, row: SourceRow, spec: StreamSpec, ctx: PageContext, failure: FailureRecord
) -> None:
    """A rejected row read again unchanged (the lookback window re-reads recent rows every run) is said once,
    not once per run; a full reconcile counts every rejected row again."""
    digest = row_hash(row, spec)
    if not ctx.full and ctx.failed_hashes.get(row.key) == digest:
        return
    plan.failures.append(replace(failure, payload_hash=digest))


def row_hash(row: SourceRow, spec: StreamSpec) -> str:
    """The mapped columns as read, for rows that have no payload to hash."""
    columns = sorted({*spec.fields.values(), *([spec.company_key] if spec.company_key else [])})
    return content_hash({"~row": [[column, repr(row.values.get(column))] for column in columns]})


def plan_delete(key: str, spec: StreamSpec, ctx: PageContext, plan: PagePlan) -> None:
    link = ctx.links.get(key)
    if spec.on_source_delete == "ignore":
        plan.settled_deletes.append(key)
    elif link is not None:
        plan.ops.append(Op("delete", key, thulium_id=link.thulium_id))
    elif key in ctx.lookup_first:
        # No link, but a create of this row may have landed (its run died before writing the link, or its
        # answer was lost): find the record by identifier and delete what is there.
        plan.ops.append(Op("delete", key, lookup_first=True))
    else:
        plan.settled_deletes.append(key)


def plan_upsert(row: SourceRow, spec: StreamSpec, ctx: PageContext, plan: PagePlan) -> None:
    result = normalize(row, spec.fields, spec.kind)
    operation = "update" if row.key in ctx.links else "create"
    if not isinstance(result, Normalized):
        reject(plan, row, spec, ctx, FailureRecord(row.key, operation, FailureKind.REJECTED, result.reason))
        return
    payload = dict(result.payload, identifier=spec.identifier(row.key))
    link = ctx.links.get(row.key)
    company = attach_company(row, spec, ctx, payload)
    if company.note is not None and company.note.kind == FailureKind.WAITING and link is None:
        plan.failures.append(company.note)  # only a create may wait for a company on its way
        return
    digest = content_hash(hashed_content(payload, company))
    unchanged = link is not None and link.payload_hash == digest
    if not unchanged and ctx.failed_hashes.get(row.key) == digest:
        return  # failed permanently with exactly this content: wait for the source row to change
    note = with_row_note(company.note, row, "update" if link is not None else "create")
    lookup_first = link is None and row.key in ctx.lookup_first
    op = upsert_op(row.key, payload, digest, link, company.key, note, lookup_first=lookup_first)
    if link is None or not unchanged:
        plan.ops.append(op)
        return
    plan.unchanged.append(op)
    if link.company_key != company.key:
        plan.relinked.append(replace(link, company_key=company.key))


def upsert_op(
    key: str,
    payload: Payload,
    digest: str,
    link: Link | None,
    company_key: str | None,
    note: FailureRecord | None,
    *,
    lookup_first: bool,
) -> Op:
    """A create, or an update of the linked record, built once (a row's op is made a million times)."""
    if link is None:
        return Op(
            "create", key, payload, digest, lookup_first=lookup_first, company_key=company_key, note=note
        )
    return Op(
        "update",
        key,
        payload,
        digest,
        link.thulium_id,
        link.company_customer_id,
        company_key=company_key,
        note=note,
    )


@dataclass(frozen=True, slots=True)
class Company:
    """The company a customer row names, and what keeps the customer from being sent with it."""

    key: str | None = None
    linked: bool = False
    note: FailureRecord | None = None


def attach_company(row: SourceRow, spec: StreamSpec, ctx: PageContext, payload: dict[str, Any]) -> Company:
    """Set ``company_id`` from the company's link. A customer never waits for a company that will not come
    (rejected, refused, deleted or absent): it is sent without one, with a warning, and gets the link when
    the company arrives. Only a create waits for a company still on its way."""
    if spec.company_key is None:
        return Company()
    company_key = company_key_of(row, spec.company_key)
    if company_key is None:
        return Company()
    link = ctx.company_links.get(company_key)
    if link is not None:
        payload["company_id"] = link.thulium_id
        return Company(company_key, linked=True)
    operation = "update" if row.key in ctx.links else "create"
    why = company_unavailable(company_key, ctx)
    if why is None:
        message = f"waiting for company {company_key} to be synced to Thulium"
        return Company(company_key, note=FailureRecord(row.key, operation, FailureKind.WAITING, message))
    message = f"sent without its company: {why}; linked once the company is in Thulium"
    return Company(company_key, note=FailureRecord(row.key, operation, FailureKind.WARNING, message))


def with_row_note(note: FailureRecord | None, row: SourceRow, operation: str) -> FailureRecord | None:
    """What the source says of the row itself (an ``updated_at`` ahead of its clock) joins the company's
    word: one open row per key, a wait outranking a warning."""
    if row.note is None:
        return note
    if note is None:
        return FailureRecord(row.key, operation, FailureKind.WARNING, row.note)
    return replace(note, message=f"{note.message}; {row.note}")


def company_unavailable(company_key: str, ctx: PageContext) -> str | None:
    """Why the company will not come by itself; ``None`` while it is on its way (or retrying)."""
    if company_key in ctx.companies_blocked:
        return f"company {company_key} failed to sync (see its failure in the companies stream)"
    if company_key in ctx.companies_in_source:
        return None
    if company_key in ctx.companies_deleted:
        return f"company {company_key} is deleted in the source"
    return f"company {company_key} does not exist in the source"


def hashed_content(payload: dict[str, Any], company: Company) -> dict[str, Any]:
    """A customer sent without its company also hashes the company it names, so a move between two
    companies that are both unavailable still counts as a change (and its link learns the new key)."""
    if company.key is None or company.linked:
        return payload
    return {**payload, "~company": company.key}


def company_key_of(row: SourceRow, column: str) -> str | None:
    """The company key as the companies stream spells its keys; ``ValueError`` for one no key can equal."""
    value = row.values.get(column)
    if value is None or isinstance(value, Unreadable):
        return None  # an unreadable one: the row is rejected by ``normalize`` before its company matters
    if isinstance(value, bytes | bytearray | memoryview):
        value = decode_bytes(value)  # InvalidValue (a ValueError) when it is not text
    text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value).strip()
    if not is_valid_text(text):
        raise ValueError("the company key is not valid UTF-8 text")
    return text or None


def clearing_payload(payload: Payload, spec: StreamSpec) -> dict[str, Any]:
    """An update payload that also empties mapped fields the source no longer has.

    Thulium keeps fields a PUT leaves out, so an exact mirror must send them empty.
    """
    wire: dict[str, Any] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in payload.items()}
    for target in spec.fields:
        head, dot, rest = target.partition(".")
        if not dot:
            wire.setdefault(head, "")
        else:
            wire.setdefault(head, {}).setdefault(rest, "")
    if spec.company_key is not None:
        wire.setdefault("company_id", "")
    return wire
