"""``client.reports``: what the activity streams read — call history (``connections``), the KPI reports and
the agents' logins those reports are asked for.

The activity stream checks each row itself (``connection_rows``, ``rows``), so one odd row is rejected alone
instead of failing its whole page; only the envelope is checked here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, TypedDict

from pydantic import TypeAdapter
from typing_extensions import Unpack

from syncd.thulium.encoding import Params, check_limit, filter_params, params
from syncd.thulium.errors import ThuliumProtocolError
from syncd.thulium.parsing import validate
from syncd.thulium.schemas import Connection, Page
from syncd.thulium.session import Resource

CONNECTIONS_MAX_LIMIT = 100
_CONNECTION_PAGE = TypeAdapter(Page[Connection])


class ConnectionFilters(TypedDict, total=False):
    """``GET connections`` filters; ``None`` leaves one out."""

    date_from: date | datetime | str | None
    date_to: date | datetime | str | None
    customer_id: int | None
    user_login: str | None
    queue_id: int | None
    topic_id: int | None
    connection_id: str | None
    src: str | None
    dst: str | None
    include_tags: bool
    include_topics: bool


class Reports(Resource):
    def connections(
        self,
        *,
        tags: Sequence[str] = (),
        limit: int = CONNECTIONS_MAX_LIMIT,
        offset: int = 0,
        **filters: Unpack[ConnectionFilters],
    ) -> Page[Connection]:
        """One page of ``GET connections`` (call history); ``count`` is all matches, ignoring ``limit``."""
        check_limit(limit, CONNECTIONS_MAX_LIMIT)
        query = filter_params(filters) + params(limit=limit, offset=offset) + [("tags[]", t) for t in tags]
        data = self._session.get("GET connections", "connections", query)
        return validate(_CONNECTION_PAGE, data, "GET", "connections")

    def connection_rows(
        self, *, date_from: str, date_to: str, offset: int = 0, limit: int = CONNECTIONS_MAX_LIMIT
    ) -> tuple[int, list[dict[str, Any]]]:
        """One page of ``GET connections`` as sent, with its ``count`` of all matches."""
        check_limit(limit, CONNECTIONS_MAX_LIMIT)
        query = params(date_from=date_from, date_to=date_to, limit=limit, offset=offset)
        body = self._session.get("GET connections", "connections", query)
        if not isinstance(body, dict) or not isinstance(body.get("result", []), list):
            raise ThuliumProtocolError(
                "GET connections: expected {count, result}", method="GET", path="connections"
            )
        rows = [row for row in body.get("result", []) if isinstance(row, dict)]
        return int(body.get("count") or 0), rows

    def rows(self, report: str, query: Params) -> list[dict[str, Any]]:
        """One page of a KPI report (``chats/reports/summary``, ``agents_work_report``): a plain list."""
        body = self._session.get(f"GET {report}", report, query)
        if isinstance(body, dict) and isinstance(body.get("result"), list):  # tolerate {count, result}
            body = body["result"]
        if not isinstance(body, list):
            raise ThuliumProtocolError(f"GET {report}: expected a list", method="GET", path=report)
        return [row for row in body if isinstance(row, dict)]

    def agent_logins(self) -> list[str]:
        """``GET agents``: the logins Thulium lists, sorted (its own "Automat", with no login, left out)."""
        body = self._session.get("GET agents", "agents")
        if not isinstance(body, list):
            raise ThuliumProtocolError("GET agents: expected a list", method="GET", path="agents")
        logins = {str(agent.get("login") or "").strip() for agent in body if isinstance(agent, dict)}
        return sorted(login for login in logins if login)
