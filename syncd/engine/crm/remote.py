"""Thulium's records of a stream, read once by a full or first run: what to adopt, repair and purge."""

from __future__ import annotations

import pickle
from collections.abc import Iterable
from dataclasses import dataclass, replace

from syncd.engine.crm.compare import differs
from syncd.engine.crm.options import RunOptions
from syncd.engine.crm.plan import Op, StreamSpec, clearing_payload
from syncd.engine.ports import RemoteRecord, Store

# One record as the index holds it: identifier, company customer id, which read set (an index into the
# index's own list), the fields pickled. All atoms, so the cycle collector stops tracking the tuple.
Row = tuple[str, int | None, int, bytes]


@dataclass(slots=True)
class RemoteIndex:
    """Thulium's records of a stream, indexed for adoption and repair.

    A full reconcile holds every record of the stream for its whole run, so the index keeps each one
    compact and rebuilds a ``RemoteRecord`` only when asked: its fields pickled (2.8 kB of dicts, lists and
    strings per record become ~0.3 kB of bytes), its read set shared with every record read alike, the
    identifier index holding ids. Millions of small containers also made every full collection of the
    cycle collector walk them all. ``bench/remote_memory.py`` measures the bytes per record.
    """

    _rows: dict[int, Row]
    _by_identifier: dict[str, tuple[int, ...]]
    _reads: list[frozenset[str] | None]

    @classmethod
    def build(cls, records: Iterable[RemoteRecord]) -> RemoteIndex:
        rows: dict[int, Row] = {}
        by_identifier: dict[str, tuple[int, ...]] = {}
        reads: list[frozenset[str] | None] = []
        read_index: dict[frozenset[str] | None, int] = {}
        for record in records:
            read = read_index.get(record.read)
            if read is None:
                read = read_index[record.read] = len(reads)
                reads.append(record.read)
            fields = pickle.dumps(dict(record.fields), protocol=pickle.HIGHEST_PROTOCOL)
            rows[record.thulium_id] = (record.identifier, record.company_customer_id, read, fields)
            if record.identifier:
                by_identifier[record.identifier] = (
                    *by_identifier.get(record.identifier, ()),
                    record.thulium_id,
                )
        return cls(rows, by_identifier, reads)

    def ids(self) -> Iterable[int]:
        return self._rows.keys()

    def get(self, thulium_id: int) -> RemoteRecord | None:
        row = self._rows.get(thulium_id)
        if row is None:
            return None
        identifier, company_customer_id, read, fields = row
        return RemoteRecord(
            thulium_id, identifier, pickle.loads(fields), company_customer_id, self._reads[read]
        )

    def named(self, identifier: str) -> list[RemoteRecord]:
        """The records read under ``identifier``, in the order they were read (a record read twice, once
        under another identifier, is still listed under this one, as it was read here)."""
        found = []
        for thulium_id in self._by_identifier.get(identifier, ()):
            record = self.get(thulium_id)
            if record is not None:
                found.append(
                    record if record.identifier == identifier else replace(record, identifier=identifier)
                )
        return found

    def adopt(self, op: Op, spec: StreamSpec) -> Op:
        matches = sorted(self.named(spec.identifier(op.key)), key=lambda r: r.thulium_id)
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
        record = self.get(op.thulium_id or 0)
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
        return {i[len(prefix) :] for i in self._by_identifier if i.startswith(prefix)}

    def strays(self, seen: set[str], spec: StreamSpec, store: Store) -> list[tuple[str, RemoteRecord]]:
        """Records a run created and died before linking (their key is still pending) whose source row is
        gone since: ours to delete even without an identifier prefix."""
        keys = self.our_keys(spec) - seen
        pending = store.pending_keys(spec.name, keys) if keys else set()
        return [(key, record) for key in sorted(pending) for record in self.named(spec.identifier(key))]

    def shared(self, spec: StreamSpec) -> dict[str, list[RemoteRecord]]:
        """Source key -> its records, for our identifiers that more than one record carries."""
        prefix = spec.identifier_prefix
        return {
            identifier[len(prefix) :]: self.named(identifier)
            for identifier, ids in self._by_identifier.items()
            if len(ids) > 1 and identifier.startswith(prefix)
        }

    def orphans(self, seen: set[str], spec: StreamSpec) -> list[RemoteRecord]:
        if not spec.identifier_prefix:
            return []
        prefix = spec.identifier_prefix
        return [
            record
            for identifier in self._by_identifier
            if identifier.startswith(prefix) and identifier[len(prefix) :] not in seen
            for record in self.named(identifier)
        ]
