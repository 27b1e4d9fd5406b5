"""One page of source rows into the ops to send and the commit that goes before them.

The state DB is read here (links, failures, pending marks, the companies the rows name) so that
``plan_page`` stays a pure function of rows and context, and the sequencer only orders.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from syncd.engine.crm.dispatch import call_kind
from syncd.engine.crm.options import RunOptions
from syncd.engine.crm.outcomes import CommitBuilder, Outcomes
from syncd.engine.crm.plan import Op, PageContext, PagePlan, StreamSpec, company_key_of, plan_page
from syncd.engine.crm.remote import RemoteIndex
from syncd.engine.ports import Source, Store
from syncd.engine.records import SourceRow


@dataclass(frozen=True, slots=True)
class PagePlanner:
    """``remote``: Thulium's records when this run read them (a full or first run), else None.
    ``linked``: the run's own set of keys the retry phase linked (see ``RunKeys``), read, not kept."""

    spec: StreamSpec
    options: RunOptions
    source: Source
    store: Store
    outcomes: Outcomes
    remote: RemoteIndex | None
    linked: set[str]

    def prepare(self, rows: list[SourceRow], lookup_first: bool) -> PagePlan:
        """The page's plan from what the state DB and the source say of its keys; it reads and changes
        nothing of the run's own, so it may run on a thread of its own (``ahead.PagesAhead``)."""
        keys = [row.key for row in rows]
        ctx = PageContext(
            links=self.store.links(self.spec.name, keys),
            failed_hashes=self.store.open_failure_hashes(self.spec.name, keys),
            lookup_first=set(keys) if lookup_first else self.store.pending_keys(self.spec.name, keys),
            full=self.options.full,
            **self.company_context(rows),
        )
        return plan_page(rows, self.spec, ctx)

    def finish(self, plan: PagePlan) -> list[Op]:
        """The plan counted, and the ops to send once Thulium's records are taken into account."""
        self.outcomes.count_plan(plan)
        return self.reconcile(plan)

    def commit(
        self, plan: PagePlan, ops: list[Op], rows: list[SourceRow], lookup_first: bool
    ) -> CommitBuilder:
        """What planning settled, with the page's creates marked pending.

        Marked with its plan, sending a create needs no transaction of its own; one that dies unsent
        costs the next run a lookup, never a duplicate.
        """
        commit = self.outcomes.settle_plan(plan)
        commit.pending = [op.key for op in ops if call_kind(op) == "create"]
        if lookup_first:  # the retry phase: a row read again because its company moved is planned now;
            sent = {op.key for op in ops}  # a written link clears its own flag, so only once it is written
            commit.rechecked = [row.key for row in rows if row.key not in sent]
        return commit

    def company_context(self, rows: list[SourceRow]) -> dict[str, Any]:
        if self.spec.company_key is None:
            return {}
        wanted = {k for row in rows if not row.deleted and (k := company_of(row, self.spec.company_key))}
        links = self.store.links("companies", wanted)
        missing = wanted - set(links)
        found = self.source.read_keys("companies", missing) if missing else []
        in_source = {r.key for r in found if not r.deleted}
        blocked = set(self.store.open_failure_hashes("companies", in_source)) if in_source else set()
        return {
            "company_links": links,
            "companies_in_source": in_source,
            "companies_deleted": {r.key for r in found if r.deleted},
            "companies_blocked": blocked,
        }

    def reconcile(self, plan: PagePlan) -> list[Op]:
        """With Thulium's records at hand, adopt matching records and repair edited or deleted ones."""
        if self.remote is None:
            return plan.ops
        ops = [self.remote.adopt(op, self.spec) if op.kind == "create" else op for op in plan.ops]
        # A record this run wrote itself (its retry phase, then the same row re-read as changed) is not in
        # the scan taken at the start, and must not be "repaired" into a second record.
        repairs = [
            r
            for op in plan.unchanged
            if op.key not in self.linked and (r := self.remote.repair(op, self.spec, self.options))
        ]
        self.outcomes.counters.adopted += sum(1 for op in ops if op.adopted)
        self.outcomes.counters.unchanged -= len(repairs)
        return ops + repairs


def company_of(row: SourceRow, column: str) -> str | None:
    """A company key that cannot be read counts as none here: planning rejects its row with the reason."""
    try:
        return company_key_of(row, column)
    except Exception:  # noqa: BLE001 -- as blind as plan_page's per-row guard, which records why
        return None
