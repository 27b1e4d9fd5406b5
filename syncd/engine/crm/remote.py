"""Thulium's records of a stream, read once by a full or first run: what to adopt, repair and purge."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from syncd.engine.crm.compare import differs
from syncd.engine.crm.options import RunOptions
from syncd.engine.crm.plan import Op, StreamSpec, clearing_payload
from syncd.engine.ports import RemoteRecord, Store


@dataclass(slots=True)
class RemoteIndex:
    """Thulium's records of a stream, indexed for adoption and repair."""

    by_id: dict[int, RemoteRecord]
    by_identifier: dict[str, list[RemoteRecord]]

    @classmethod
    def build(cls, records: Iterable[RemoteRecord]) -> RemoteIndex:
        by_id: dict[int, RemoteRecord] = {}
        by_identifier: dict[str, list[RemoteRecord]] = {}
        for record in records:
            by_id[record.thulium_id] = record
            if record.identifier:
                by_identifier.setdefault(record.identifier, []).append(record)
        return cls(by_id, by_identifier)

    def adopt(self, op: Op, spec: StreamSpec) -> Op:
        matches = sorted(self.by_identifier.get(spec.identifier(op.key), []), key=lambda r: r.thulium_id)
        if not matches:
            return op
        record = matches[0]
        return replace(
            op,
            kind="update",
            thulium_id=record.thulium_id,
            company_customer_id=record.company_customer_id,
            adopted=True,
            lookup_first=False,
        )

    def repair(self, op: Op, spec: StreamSpec, options: RunOptions) -> Op | None:
        """An unchanged row whose Thulium record was deleted or edited behind our back."""
        record = self.by_id.get(op.thulium_id or 0)
        if record is None:
            if options.on_thulium_delete != "recreate":
                return None
            return replace(op, kind="create", thulium_id=None, company_customer_id=None, repair=True)
        if options.on_thulium_edit == "source_wins" and differs(
            clearing_payload(op.payload or {}, spec), record.fields, record.read
        ):
            return replace(op, repair=True)
        return None

    def our_keys(self, spec: StreamSpec) -> set[str]:
        """Source keys that records' identifiers name (every identifier, without a prefix)."""
        prefix = spec.identifier_prefix
        return {i[len(prefix) :] for i in self.by_identifier if i.startswith(prefix)}

    def strays(self, seen: set[str], spec: StreamSpec, store: Store) -> list[tuple[str, RemoteRecord]]:
        """Records a run created and died before linking (their key is still pending) whose source row is
        gone since: ours to delete even without an identifier prefix."""
        keys = self.our_keys(spec) - seen
        pending = store.pending_keys(spec.name, keys) if keys else set()
        return [
            (key, record) for key in sorted(pending) for record in self.by_identifier[spec.identifier(key)]
        ]

    def shared(self, spec: StreamSpec) -> dict[str, list[RemoteRecord]]:
        """Source key -> its records, for our identifiers that more than one record carries."""
        prefix = spec.identifier_prefix
        return {
            identifier[len(prefix) :]: records
            for identifier, records in self.by_identifier.items()
            if len(records) > 1 and identifier.startswith(prefix)
        }

    def orphans(self, seen: set[str], spec: StreamSpec) -> list[RemoteRecord]:
        if not spec.identifier_prefix:
            return []
        prefix = spec.identifier_prefix
        return [
            record
            for identifier, records in self.by_identifier.items()
            if identifier.startswith(prefix) and identifier[len(prefix) :] not in seen
            for record in records
        ]
