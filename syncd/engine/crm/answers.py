"""Thulium's answers to finished calls, turned into outcomes and the items that go round again.

Apart from the sequencer so that reading an answer (which lookup answer belongs to which item,
what a result count that does not match means) is not mixed with when calls are sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from syncd.engine.crm.dispatch import LOOKUPS, Call
from syncd.engine.crm.outcomes import CommitBuilder, Item, Outcomes
from syncd.engine.crm.plan import StreamSpec
from syncd.engine.errors import RunAborted
from syncd.engine.ports import CrmResult
from syncd.engine.resolve import decide


class IdFloor:
    """The newest Thulium id known to exist (see ``Op.floor``): a create sent now lands above it, so a
    later settle of an unknown create searches only above it."""

    def __init__(self) -> None:
        self.newest: int | None = None

    def note(self, ids: Iterable[int]) -> None:
        newest = max(ids, default=None)
        if newest is not None and (self.newest is None or newest > self.newest):
            self.newest = newest


class Answers:
    def __init__(self, spec: StreamSpec, outcomes: Outcomes, floor: IdFloor) -> None:
        self.spec, self.outcomes, self.floor = spec, outcomes, floor

    def settle(self, call: Call, answer: Any, builder: CommitBuilder) -> list[Item]:
        """``answer`` None: the lookup failed (only a lookup may fail without ending the run)."""
        kind, items = call
        if kind in LOOKUPS:
            return self.looked_up(kind, items, answer, builder)
        return self.resolve(kind, items, answer, builder)

    def looked_up(self, kind: str, items: list[Item], answer: Any, builder: CommitBuilder) -> list[Item]:
        """A failed lookup (``answer`` None) sends its items round again, a bounded number of times."""
        if kind == "lookup":
            return self.outcomes.looked_up(items[0], answer, builder)
        again: list[Item] = []
        for item in items:
            found = None if answer is None else answer.get(self.spec.identifier(item.op.key), [])
            if found:
                self.floor.note({record.thulium_id for record in found})
            again.extend(self.outcomes.looked_up(item, found, builder))
        return again

    def resolve(
        self, kind: str, items: list[Item], results: list[CrmResult], builder: CommitBuilder
    ) -> list[Item]:
        if len(results) != len(items):
            raise RunAborted(f"Crm adapter returned {len(results)} results for {len(items)} items")
        again: list[Item] = []
        for item, result in zip(items, results, strict=True):
            operation = "delete" if kind == "purge" else item.op.kind
            again.extend(self.outcomes.resolve(item, decide(operation, result.status), result, builder))
        if kind == "create":
            self.floor.note(result.thulium_id for result in results if result.thulium_id is not None)
        return again
