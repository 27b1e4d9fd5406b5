"""Control API under /_sandbox/ (no auth, not counted): lets tests play the dialer and agents, set faults,
and inspect state, counters and the request log without disturbing what the client sees."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web

from syncd.sandbox.json_http import json_response
from syncd.sandbox.thulium.activity.generator import GenerateRequest, generate
from syncd.sandbox.thulium.errors import ApiError, error_response
from syncd.sandbox.thulium.faults import FaultConfig, FaultRule
from syncd.sandbox.thulium.middleware import SANDBOX_KEY
from syncd.sandbox.thulium.params import json_object, no_content
from syncd.sandbox.thulium.readings import Readings, profile
from syncd.sandbox.thulium.routes.cards import CardResource
from syncd.sandbox.thulium.routes.companies import COMPANIES
from syncd.sandbox.thulium.routes.control_events import emit_record_saved
from syncd.sandbox.thulium.routes.customers import CUSTOMERS
from syncd.sandbox.thulium.runtime import Sandbox
from syncd.sandbox.thulium.seed import load_seed, normalize_connection, outbound_from_json
from syncd.sandbox.thulium.store import Company, Customer, Store, now_text
from syncd.sandbox.thulium.views import Includes, record_view
from syncd.sandbox.thulium.webhook_events import CUSTOMER_CREATED, customer_created

CONTROL_PREFIX = "/_sandbox/"
routes = web.RouteTableDef()
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
T = TypeVar("T")
Announce = Callable[[Sandbox, T], None]
_ALL = Includes(
    {
        "include_custom_fields": "1",
        "include_address": "1",
        "include_invoice_address": "1",
        "include_mail_drop_address": "1",
    }
)


@web.middleware
async def control_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith(CONTROL_PREFIX):
        return await handler(request)
    try:
        return await handler(request)
    except ApiError as err:
        return error_response(err)
    except (ValueError, KeyError, TypeError) as exc:
        return error_response(ApiError.one(400, f"Bad control request: {exc}"))


def _sb(request: web.Request) -> Sandbox:
    return request.app[SANDBOX_KEY]


def _int(request: web.Request, name: str) -> int:
    return int(request.match_info[name])


@routes.get("/_sandbox/health")
async def health(request: web.Request) -> web.Response:
    return json_response({"ok": True})


@routes.post("/_sandbox/reset")
async def reset(request: web.Request) -> web.Response:
    body = await json_object(request)
    _sb(request).reset(
        apply_seed=bool(body.get("seed", True)), startup_faults=bool(body.get("startup_faults", True))
    )
    return json_response({"ok": True})


@routes.get("/_sandbox/state")
async def state(request: web.Request) -> web.Response:
    return json_response(_sb(request).store.dump())


@routes.get("/_sandbox/counts")
async def counts(request: web.Request) -> web.Response:
    return json_response(_sb(request).counters.as_json())


@routes.post("/_sandbox/counts/reset")
async def reset_counts(request: web.Request) -> web.Response:
    sb = _sb(request)
    sb.counters.__init__()  # type: ignore[misc]
    sb.log.__init__()  # type: ignore[misc]
    return json_response({"ok": True})


@routes.get("/_sandbox/log")
async def log(request: web.Request) -> web.Response:
    return json_response(_sb(request).log.since(int(request.query.get("since", 0))))


# -------------------------------------------------------------------------------------------- readings
@routes.get("/_sandbox/readings")
async def get_readings(request: web.Request) -> web.Response:
    return json_response(_sb(request).readings.to_json())


@routes.patch("/_sandbox/readings")
async def patch_readings(request: web.Request) -> web.Response:
    sb = _sb(request)
    sb.readings = Readings.from_json(await json_object(request), sb.readings)
    return json_response(sb.readings.to_json())


@routes.put("/_sandbox/readings")
async def put_readings(request: web.Request) -> web.Response:
    """``{"profile": "adversarial"}``, optionally with switches on top of it."""
    body = await json_object(request)
    sb = _sb(request)
    name = str(body.pop("profile", "default"))
    sb.readings = Readings.from_json(body, profile(name))
    return json_response(sb.readings.to_json())


# ---------------------------------------------------------------------------------------------- faults
@routes.get("/_sandbox/faults")
async def get_faults(request: web.Request) -> web.Response:
    return json_response(_sb(request).faults.config.to_json())


@routes.put("/_sandbox/faults")
async def put_faults(request: web.Request) -> web.Response:
    sb = _sb(request)
    sb.faults.configure(FaultConfig.from_json(await json_object(request)))
    return json_response(sb.faults.config.to_json())


@routes.post("/_sandbox/faults/rules")
async def add_rule(request: web.Request) -> web.Response:
    sb = _sb(request)
    sb.faults.add_rule(FaultRule.from_json(await json_object(request)))
    return json_response(sb.faults.config.to_json())


@routes.get("/_sandbox/capacity")
async def get_capacity(request: web.Request) -> web.Response:
    return json_response(_sb(request).faults.capacity.as_json())


@routes.delete("/_sandbox/faults")
async def clear_faults(request: web.Request) -> web.Response:
    _sb(request).faults.configure(FaultConfig())
    return no_content()


# ---------------------------------------------------------------------------------------------- dialer
@routes.patch("/_sandbox/records/{outbound_id}/{customer_id}")
async def dialer_update(request: web.Request) -> web.Response:
    """The dialer is authoritative: no MY_RECORD/next_call_date checks, any status of the campaign.
    Setting a status is an agent saving the record, so it fires OUTBOUND_RECORD_SAVED (other edits don't)."""
    sb = _sb(request)
    store = sb.store
    body = await json_object(request)
    ob = store.get_outbound(request.match_info["outbound_id"])
    rec = store.get_record(ob.id, _int(request, "customer_id"))
    previous_status_id = rec.status_id
    if "status_id" in body:
        st = ob.status(int(body["status_id"]))
        if st is None:
            raise ApiError.one(400, "Status not found.")
        rec.status_id = st.status_id
    elif "system_status" in body:
        st = ob.first_status(str(body["system_status"]))
        if st is None:
            raise ApiError.one(400, f"Outbound has no status with system_status {body['system_status']}.")
        rec.status_id = st.status_id
    for key in ("call_date", "last_note", "agent_login", "agent_name", "next_call_date"):
        if key in body:
            value = str(body[key] or "")
            setattr(rec, key, now_text(seconds=False) if key == "call_date" and value == "now" else value)
    if "order" in body:
        rec.order = None if body["order"] in (None, "") else int(body["order"])
    if "in_call" in body:
        rec.in_call = bool(body["in_call"])
    if "status_id" in body or "system_status" in body:
        agent = str(body.get("saved_by") or rec.agent_login)
        connection_id = str(body.get("connection_id") or "")
        emit_record_saved(
            sb, ob, rec, agent_login=agent, previous_status_id=previous_status_id, connection_id=connection_id
        )
    return json_response(record_view(store, rec, Includes({})))


# ---------------------------------------------------------------------------------------------- agents
def _customer_created(sb: Sandbox, cust: Customer) -> None:
    sb.webhooks.emit(CUSTOMER_CREATED, customer_created(cust))


def _company_created(sb: Sandbox, comp: Company) -> None:
    """Thulium has no webhook event for a new company."""


def _add_agent_routes(card: CardResource[T], create: Callable[[Store, Any], T], created: Announce[T]) -> None:
    """What an agent does to the cards ``card`` serves (``/_sandbox/customers`` for ``/api/customers``):
    create, edit and delete under the store's rules, answered with the whole card, with no API fault or
    count."""
    path = CONTROL_PREFIX + card.path.removeprefix("/api/")

    async def create_card(request: web.Request) -> web.Response:
        sb = _sb(request)
        item = create(sb.store, await json_object(request))
        created(sb, item)
        return json_response(card.views.item(sb.store, item, _ALL), status=201)

    async def edit_card(request: web.Request) -> web.Response:
        store = _sb(request).store
        item = card.ops.update(store, _int(request, "id"), await json_object(request))
        return json_response(card.views.item(store, item, _ALL))

    async def delete_card(request: web.Request) -> web.Response:
        card.ops.delete(_sb(request).store, _int(request, "id"))
        return no_content()

    routes.post(path)(create_card)
    routes.patch(path + "/{id}")(edit_card)
    routes.delete(path + "/{id}")(delete_card)


_add_agent_routes(CUSTOMERS, Store.create_customer, _customer_created)
_add_agent_routes(COMPANIES, Store.create_company, _company_created)


# ---------------------------------------------------------------------------------------------- seeding
@routes.post("/_sandbox/outbounds")
async def add_outbound(request: web.Request) -> web.Response:
    store = _sb(request).store
    body = await json_object(request)
    if str(body.get("id", "")) in store.outbounds:
        raise ApiError.one(400, "Outbound with given id already exists.")
    ob = store.add_outbound(outbound_from_json(store, body))
    return json_response({"id": ob.id, "outbound_id": ob.outbound_id}, status=201)


@routes.post("/_sandbox/connections")
async def add_connections(request: web.Request) -> web.Response:
    store = _sb(request).store
    body = await json_object(request)
    items: list[Any] = body.get("connections", [])
    for raw in items:
        store.connections.append(normalize_connection(dict(raw)))
    return json_response({"count": len(store.connections)}, status=201)


@routes.post("/_sandbox/seed")
async def seed(request: web.Request) -> web.Response:
    load_seed(_sb(request).store, await json_object(request))
    return json_response({"ok": True})


# ---------------------------------------------------------------------------------------------- activity
@routes.post("/_sandbox/activity/generate")
async def generate_activity(request: web.Request) -> web.Response:
    """Connections go where ``GET connections`` reads them; the other events feed the report endpoints."""
    store = _sb(request).store
    req = GenerateRequest.from_json(await json_object(request))
    customers = [(c.customer_id, c.phones[0] if c.phones else "") for c in store.customers.values()]
    taken = {str(c.get("connection_id", "")) for c in store.connections}
    batch = generate(store.activity, req, customers=customers, taken_ids=taken)
    store.connections.extend(normalize_connection(c) for c in batch.connections)
    store.activity.extend(batch)
    return json_response(batch.counts(), status=201)


@routes.post("/_sandbox/activity/events")
async def add_activity(request: web.Request) -> web.Response:
    return json_response(_sb(request).store.activity.add_json(await json_object(request)), status=201)


@routes.get("/_sandbox/activity")
async def activity(request: web.Request) -> web.Response:
    return json_response(_sb(request).store.activity.dump())
