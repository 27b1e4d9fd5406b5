"""``client.campaigns``: the outbound campaigns (``outbounds``), their statuses and their counts — what a
campaign rule is checked against before its records are touched."""

from __future__ import annotations

from pydantic import TypeAdapter

from syncd.thulium.encoding import segment
from syncd.thulium.parsing import validate
from syncd.thulium.schemas import Outbound, OutboundStats, OutboundStatus
from syncd.thulium.session import Resource

_OUTBOUNDS = TypeAdapter(list[Outbound])
_STATUSES = TypeAdapter(list[OutboundStatus])
_STATS = TypeAdapter(OutboundStats)


class Campaigns(Resource):
    def all(self) -> list[Outbound]:
        """``GET outbounds``: every campaign, CRM or not."""
        return validate(_OUTBOUNDS, self._session.get("GET outbounds", "outbounds"), "GET", "outbounds")

    def statuses(self, outbound_id: str) -> list[OutboundStatus]:
        path = f"outbounds/{segment(outbound_id)}/statuses"
        return validate(_STATUSES, self._session.get("GET outbounds/:id/statuses", path), "GET", path)

    def stats(self, outbound_id: str) -> OutboundStats:
        path = f"outbounds/{segment(outbound_id)}/stats"
        return validate(_STATS, self._session.get("GET outbounds/:id/stats", path), "GET", path)
