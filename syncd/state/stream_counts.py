"""What ``syncd status`` counts per stream without loading any rows: links by state, open failures by kind.

A view across the links, the failure log and the campaign members, read in one place so the
status command needs no SQL of its own. A campaign stream's "links" are its members.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from syncd.engine.campaigns.run import CAMPAIGN_PREFIX
from syncd.state import models
from syncd.state.members import MemberStore
from syncd.state.repository import PENDING, SYNCED
from syncd.state.scope import TenantScoped
from syncd.vocabulary import PENDING_KINDS, FailureKind


@dataclass(frozen=True, slots=True)
class StreamCounts:
    linked: int  # links in state 'synced'
    pending: int  # links whose create may or may not have reached Thulium
    failed: int  # open failures of any kind (warnings are not failures)
    retryable: int  # open failures a later run will retry by itself
    warnings: int = 0  # rows synced with a warning (a customer sent without its company)


class StreamCounter(TenantScoped):
    def counts(self, stream: str) -> StreamCounts:
        by_state = self._links_by_state(stream)
        by_kind = self._open_by_kind(stream)
        warnings = by_kind.pop(FailureKind.WARNING, 0)
        return StreamCounts(
            linked=by_state.get(SYNCED, 0),
            pending=by_state.get(PENDING, 0),
            failed=sum(by_kind.values()),
            retryable=sum(by_kind.get(kind, 0) for kind in PENDING_KINDS),
            warnings=warnings,
        )

    def _links_by_state(self, stream: str) -> dict[str, int]:
        if stream.startswith(CAMPAIGN_PREFIX):
            members = MemberStore(self.sessions, self.tenant)
            return {SYNCED: members.count(stream.removeprefix(CAMPAIGN_PREFIX))}
        link = models.Link
        query = select(link.state, func.count()).where(link.tenant == self.tenant, link.stream == stream)
        with self.sessions() as session:
            return {state: n for state, n in session.execute(query.group_by(link.state))}

    def _open_by_kind(self, stream: str) -> dict[str, int]:
        failure = models.Failure
        query = select(failure.kind, func.count()).where(
            failure.tenant == self.tenant, failure.stream == stream, failure.resolved_at.is_(None)
        )
        with self.sessions() as session:
            return {kind: n for kind, n in session.execute(query.group_by(failure.kind))}
