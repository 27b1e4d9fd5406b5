"""A full reconcile's end: what the source no longer has, and Thulium's second records.

Its own piece because it is the one place that decides deletes from what was *not* seen, which is
why it re-reads before it trusts an absence and refuses a mass delete without ``--force``.
"""

from __future__ import annotations

from dataclasses import dataclass

from syncd.engine.crm.options import RunOptions
from syncd.engine.crm.outcomes import CommitBuilder
from syncd.engine.crm.plan import Op, StreamSpec
from syncd.engine.crm.remote import RemoteIndex
from syncd.engine.errors import RunAborted
from syncd.engine.ports import Commit, Link, RemoteRecord, Source, Store

Strays = list[tuple[str, RemoteRecord]]


@dataclass(frozen=True, slots=True)
class FullSweep:
    """``seen``: the keys the full read saw, which the sweep extends by what it reads again."""

    spec: StreamSpec
    options: RunOptions
    source: Source
    store: Store
    remote: RemoteIndex | None
    seen: set[str]

    def deletes(self) -> list[Op]:
        """The deletes to send (none if the stream ignores source deletes); failures of rows gone from
        the source are resolved on the way, once the delete guard has passed."""
        unseen = [link for link in self.store.all_links(self.spec.name) if link.source_key not in self.seen]
        failed = self.store.open_failure_keys(self.spec.name) - self.seen
        self.recheck_unseen({link.source_key for link in unseen} | failed)
        gone = [link for link in unseen if link.source_key not in self.seen]
        strays, orphans = self.ours_without_rows()
        ops = delete_ops(gone, strays, orphans) + self.twins()
        deleting = self.spec.on_source_delete != "ignore" and len(ops) > 0
        if deleting:
            self.guard(len(ops), max(1, len(self.seen) + len(gone)))
        self.resolve_vanished(failed - self.seen)
        return ops if deleting else []

    def guard(self, doomed: int, total: int) -> None:
        if doomed > self.options.max_delete_fraction * total and not self.options.force:
            raise RunAborted(
                f"{self.spec.name}: full reconcile would delete {doomed} of {total} "
                "records "
                f"(more than max_delete_fraction = {self.options.max_delete_fraction}); "
                "check the source, then re-run with --force"
            )

    def ours_without_rows(self) -> tuple[Strays, list[RemoteRecord]]:
        """Records of ours whose row is gone: strays (a pending key) first, orphans (by prefix) besides."""
        if self.remote is None:
            return [], []
        strays = self.remote.strays(self.seen, self.spec, self.store)
        stray_ids = {record.thulium_id for _, record in strays}
        orphans = self.remote.orphans(self.seen, self.spec)
        return strays, [record for record in orphans if record.thulium_id not in stray_ids]

    def recheck_unseen(self, keys: set[str]) -> None:
        """Keys the full read did not see (linked, failed, or named by Thulium's records), looked up once
        more before anything is deleted or resolved.

        The read's upper bound is fixed when it starts, so a row changed while it reads (a page it had
        not reached yet) moves past that bound and is not seen. It is not gone: deleting its record
        would cost the customer's history in Thulium and a new record on the next run.
        """
        if self.remote is not None:
            keys = keys | (self.remote.our_keys(self.spec) - self.seen)
        if keys:
            self.seen.update(row.key for row in self.source.read_keys(self.spec.name, sorted(keys)))

    def resolve_vanished(self, keys: set[str]) -> None:
        """Open failures of rows the full read did not see: a rejected or refused row deleted from the
        source has nothing left to fix. Only after the delete guard passed, so a source that read as
        empty by mistake does not wipe the failure list with it."""
        if keys and not self.options.dry_run:
            self.store.commit(self.spec.name, CommitBuilder().resolve(sorted(keys)).build())

    def twins(self) -> list[Op]:
        """Second records under a linked row's identifier: a create of ours that landed after its
        lookup (a late answer, a fenced holder still sending), or ours next to an agent's. The linked
        record (the oldest, see ``keep_oldest``) stays."""
        shared = self.remote.shared(self.spec) if self.remote else {}
        links = self.store.links(self.spec.name, [key for key in shared if key in self.seen])
        return [
            Op("delete", key, thulium_id=record.thulium_id, purge=True)
            for key, link in links.items()
            for record in shared[key]
            if record.thulium_id != link.thulium_id
        ]


def delete_ops(gone: list[Link], strays: Strays, orphans: list[RemoteRecord]) -> list[Op]:
    ops = [Op("delete", link.source_key, thulium_id=link.thulium_id) for link in gone]
    ops += [Op("delete", key, thulium_id=record.thulium_id) for key, record in strays]
    return ops + [
        Op("delete", record.identifier, thulium_id=record.thulium_id, purge=True) for record in orphans
    ]


def keep_oldest(remote: RemoteIndex | None, spec: StreamSpec, options: RunOptions, store: Store) -> None:
    """Where several records carry a linked row's identifier, the oldest is kept: it may be one an
    agent typed in before syncd created its own (an incremental run does not read Thulium), and it
    holds what agents did with that customer. The link moves to it with no hash, so this run's read
    sends it the row's fields; the sweep purges the others."""
    shared = remote.shared(spec) if remote else {}
    if not shared or options.dry_run:
        return
    moved = []
    for key, link in store.links(spec.name, list(shared)).items():
        oldest = min(shared[key], key=lambda record: record.thulium_id)
        if oldest.thulium_id != link.thulium_id:
            moved.append(Link(key, oldest.thulium_id, None, oldest.company_customer_id))
    if moved:
        keys = [link.source_key for link in moved] if spec.kind == "company" else []
        store.commit(spec.name, Commit(links=moved, moved=keys))
