"""Control API for what Thulium does on its own: the webhook target, agents' notes and the dialer.

Kept apart from ``control.py`` (state, faults, agent edits) because these calls make the sandbox talk back
to the client (webhooks) rather than only change what the client will read.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from syncd.sandbox.json_http import json_response
from syncd.sandbox.thulium.dialer import run_dialer
from syncd.sandbox.thulium.errors import ApiError
from syncd.sandbox.thulium.middleware import SANDBOX_KEY
from syncd.sandbox.thulium.params import json_object, no_content
from syncd.sandbox.thulium.runtime import Sandbox
from syncd.sandbox.thulium.store import CampaignRecord, Outbound
from syncd.sandbox.thulium.views import Includes, record_view
from syncd.sandbox.thulium.webhook_events import (
    CUSTOMER_NOTE_SAVED,
    OUTBOUND_RECORD_SAVED,
    customer_note_saved,
    outbound_record_saved,
)
from syncd.sandbox.thulium.webhooks import WebhookTarget

routes = web.RouteTableDef()
DEFAULT_FLUSH_TIMEOUT_S = 30.0


def _sb(request: web.Request) -> Sandbox:
    return request.app[SANDBOX_KEY]


def emit_record_saved(
    sb: Sandbox,
    ob: Outbound,
    rec: CampaignRecord,
    *,
    agent_login: str,
    previous_status_id: int | None,
    connection_id: str = "",
) -> None:
    fields = outbound_record_saved(
        sb.store,
        ob,
        rec,
        agent_login=agent_login,
        previous_status_id=previous_status_id,
        connection_id=connection_id,
    )
    sb.webhooks.emit(OUTBOUND_RECORD_SAVED, fields)


# ---------------------------------------------------------------------------------------------- webhooks
@routes.get("/_sandbox/webhooks")
async def webhook_config(request: web.Request) -> web.Response:
    hooks = _sb(request).webhooks
    target = None if hooks.target is None else hooks.target.to_json()
    return json_response({"target": target, "pending": hooks.pending(), "sent": len(hooks.sent)})


@routes.post("/_sandbox/webhooks")
async def set_webhooks(request: web.Request) -> web.Response:
    target = WebhookTarget.from_json(await json_object(request))
    _sb(request).webhooks.configure(target)
    return json_response(target.to_json())


@routes.delete("/_sandbox/webhooks")
async def stop_webhooks(request: web.Request) -> web.Response:
    """Stops new events; deliveries already queued still go out (as fired events would)."""
    _sb(request).webhooks.configure(None)
    return no_content()


@routes.get("/_sandbox/webhooks/sent")
async def webhooks_sent(request: web.Request) -> web.Response:
    since = int(request.query.get("since", 0))
    return json_response([d.to_json() for d in _sb(request).webhooks.sent if d.seq > since])


@routes.post("/_sandbox/webhooks/flush")
async def flush_webhooks(request: web.Request) -> web.Response:
    hooks = _sb(request).webhooks
    timeout_s = float((await json_object(request)).get("timeout_s", DEFAULT_FLUSH_TIMEOUT_S))
    if not await hooks.flush(timeout_s):
        raise ApiError.one(504, f"Webhook deliveries still pending after {timeout_s:g} s.")
    return json_response({"sent": len(hooks.sent), "pending": hooks.pending()})


@routes.post("/_sandbox/webhooks/replay")
async def replay_webhook(request: web.Request) -> web.Response:
    seq = (await json_object(request)).get("seq")
    delivery = _sb(request).webhooks.replay(None if seq is None else int(seq))
    return json_response(delivery.to_json(), status=201)


# ---------------------------------------------------------------------------------------------- agents
@routes.post("/_sandbox/agents/notes")
async def agent_note(request: web.Request) -> web.Response:
    """An agent writes a note on a customer card (Thulium answers with CUSTOMER_NOTE_SAVED)."""
    sb = _sb(request)
    body = await json_object(request)
    cust = sb.store.get_customer(int(body["customer_id"]))
    content, agent = body.get("content"), body.get("agent_login")
    if not isinstance(content, str) or not content.strip():
        raise ApiError.one(400, "Field content is required.")
    if not isinstance(agent, str) or not agent:
        raise ApiError.one(400, "Field agent_login is required.")
    cust.notes.append(content)
    sb.webhooks.emit(CUSTOMER_NOTE_SAVED, customer_note_saved(cust.customer_id, agent, content))
    return json_response({"customer_id": cust.customer_id, "notes": len(cust.notes)}, status=201)


# ---------------------------------------------------------------------------------------------- dialer
def _statuses_param(raw: Any) -> list[str] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise ApiError.one(400, "Field system_statuses must be a list.")
    return [str(s) for s in raw]


@routes.post("/_sandbox/dialer/run")
async def dialer_run(request: web.Request) -> web.Response:
    sb = _sb(request)
    body = await json_object(request)
    outbound_id = str(body["outbound_id"])
    outcomes = run_dialer(
        sb.store,
        outbound_id,
        count=int(body.get("count", 10)),
        seed=int(body.get("seed", 0)),
        system_statuses=_statuses_param(body.get("system_statuses")),
    )
    ob = sb.store.get_outbound(outbound_id)
    for done in outcomes:
        emit_record_saved(
            sb,
            ob,
            done.record,
            agent_login=done.agent_login,
            previous_status_id=done.previous_status_id,
            connection_id=done.connection_id,
        )
    records = [record_view(sb.store, done.record, Includes({})) for done in outcomes]
    return json_response({"count": len(records), "records": records})
