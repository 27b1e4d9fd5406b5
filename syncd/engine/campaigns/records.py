"""A campaign record as Thulium last showed it: what polls and webhooks bring back.

One shape for both sources, so the members table and the write-back table are updated
by the same code whichever way the news arrived. ``None`` means "not said" (a webhook
carries only some fields); ``""`` is Thulium's own empty value and is kept as such.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

OUTCOME_FIELDS = (
    "status_id",
    "status",
    "system_status",
    "call_date",
    "create_date",
    "next_call_date",
    "agent_login",
    "agent_name",
    "last_note",
    "record_order",
)


@dataclass(frozen=True, slots=True)
class RecordState:
    record_id: int | None
    customer_id: int | None = None
    status_id: int | None = None
    status: str | None = None
    system_status: str | None = None
    call_date: str | None = None
    create_date: str | None = None
    next_call_date: str | None = None
    agent_login: str | None = None
    agent_name: str | None = None
    last_note: str | None = None
    record_order: int | None = None

    def said(self) -> dict[str, Any]:
        """The outcome fields this news carries (a poll says all of them, a webhook some)."""
        values = asdict(self)
        return {name: values[name] for name in OUTCOME_FIELDS if values[name] is not None}


@dataclass(frozen=True, slots=True)
class KeyedState:
    """A record matched to the source key syncd put it there for."""

    key: str
    customer_id: int
    state: RecordState
