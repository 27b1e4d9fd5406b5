"""Bodies of the webhooks the sandbox sends, field for field as the vendor document lists them.

Only documented fields are sent: no delivery id (none is documented, so a receiver must dedupe on content)
and no ``customer_id`` in OUTBOUND_RECORD_SAVED (the document lists it for OUTBOUND_COMPLETED and
PREVIEW_RECORD but not there, so a receiver must map ``record_id`` to a customer itself).
Absent values are ``""`` as elsewhere in Thulium, except ``previous_status_id`` whose documented example is
NULL (JSON null; an empty value in a form body). We read that example (a MY_RECORD save with no previous
status) as a record's first save: a record still in its fresh TO_CALL status has no previous status.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from syncd.engine.wallclock import wall_clock_now
from syncd.sandbox.thulium.store import CampaignRecord, Customer, Outbound, Store

WEBHOOK_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"

CUSTOMER_CREATED = "CUSTOMER_CREATED"
CUSTOMER_NOTE_SAVED = "CUSTOMER_NOTE_SAVED"
OUTBOUND_RECORD_SAVED = "OUTBOUND_RECORD_SAVED"


def webhook_date(moment: dt.datetime | None = None) -> str:
    return (moment or wall_clock_now()).strftime(WEBHOOK_DATE_FORMAT)


def with_seconds(value: str) -> str:
    """Records store ``YYYY-MM-DD hh:mm``; the webhook example prints next_call_date with seconds."""
    return f"{value}:00" if len(value) == len("YYYY-MM-DD hh:mm") else value


def customer_created(cust: Customer) -> dict[str, Any]:
    return {
        "customer_id": cust.customer_id,
        "company_id": cust.company_id if cust.company_id is not None else "",
        "date": webhook_date(),
    }


def customer_note_saved(customer_id: int, agent_login: str, content: str) -> dict[str, Any]:
    return {
        "agent_login": agent_login,
        "customer_id": customer_id,
        "content": content,
        "date": webhook_date(),
    }


def outbound_record_saved(
    store: Store,
    ob: Outbound,
    rec: CampaignRecord,
    *,
    agent_login: str,
    previous_status_id: int | None,
    connection_id: str = "",
) -> dict[str, Any]:
    """``agent_login`` is who saved the record; ``assigned_agent_login`` is the record's owner, which only a
    MY_RECORD status has. ``previous_status_id`` is the status before the save."""
    system_status = store.record_status(rec).system_status
    cust = store.customers.get(rec.customer_id)
    return {
        "id": ob.id,
        "name": ob.name,
        "record_id": rec.record_id,
        "phone_number": cust.phones[0] if cust is not None and cust.phones else "",
        "agent_login": agent_login,
        "date": webhook_date(),
        "system_status": system_status,
        "status_id": rec.status_id,
        "connection_id": connection_id,
        "next_call_date": with_seconds(rec.next_call_date),
        "assigned_agent_login": rec.agent_login if system_status == "MY_RECORD" else "",
        "previous_status_id": _previous_status(ob, previous_status_id),
    }


def _previous_status(ob: Outbound, status_id: int | None) -> int | None:
    status = None if status_id is None else ob.status(status_id)
    return None if status is None or status.system_status == "TO_CALL" else status.status_id
