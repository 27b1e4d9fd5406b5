"""outbounds, crm_outbounds (single and batch) and customer_id_by_outbound_status."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web

from syncd.engine.wallclock import wall_clock_now
from syncd.sandbox.json_http import json_response
from syncd.sandbox.thulium.errors import CODE_BAD_PARAM, CODE_VALIDATION, ApiError, ErrorItem
from syncd.sandbox.thulium.middleware import SANDBOX_KEY, decision_of
from syncd.sandbox.thulium.params import json_body, json_object, list_param, no_content, order_keys, page
from syncd.sandbox.thulium.seed import default_statuses
from syncd.sandbox.thulium.store import (
    FINAL_SYSTEM_STATUSES,
    MSG_CUSTOMER_NOT_FOUND,
    CampaignRecord,
    Outbound,
    Store,
)
from syncd.sandbox.thulium.views import Includes, outbound_view, record_view, status_view

routes = web.RouteTableDef()
DIALERS = ("predictive", "progressive", "preview")
MSG_UNAVAILABLE = "Service temporarily unavailable."


def _store(request: web.Request) -> Store:
    return request.app[SANDBOX_KEY].store


def _customer_id(request: web.Request) -> int:
    try:
        return int(request.match_info["customer_id"])
    except ValueError:
        raise ApiError.one(404, "Record not found.") from None


# ---------------------------------------------------------------------------------------------- outbounds
@routes.get("/api/outbounds")
async def list_outbounds(request: web.Request) -> web.Response:
    return json_response([outbound_view(ob) for ob in _store(request).outbounds.values()])


@routes.get("/api/outbounds/{id}/statuses")
async def outbound_statuses(request: web.Request) -> web.Response:
    ob = _store(request).get_outbound(request.match_info["id"])
    return json_response([status_view(s) for s in ob.statuses])


@routes.get("/api/outbounds/{id}/stats")
async def outbound_stats(request: web.Request) -> web.Response:
    store = _store(request)
    ob = store.get_outbound(request.match_info["id"])
    records = list(store.records.get(ob.id, {}).values())
    done = sum(1 for r in records if store.record_status(r).system_status in FINAL_SYSTEM_STATUSES)
    percent = round(100.0 * done / len(records), 2) if records else 0
    return json_response({"id": ob.id, "records_count": len(records), "completion_percent": percent})


def _outbound_errors(body: dict[str, Any], store: Store) -> list[ErrorItem]:
    errors: list[ErrorItem] = []
    if not str(body.get("name") or "").strip():
        errors.append(ErrorItem("Name is required."))
    if body.get("dialer") not in DIALERS:
        errors.append(ErrorItem("Dialer must be one of: predictive, progressive, preview."))
    if not isinstance(body.get("crm"), bool):
        errors.append(ErrorItem("Field crm is required and must be a boolean."))
    code = body.get("id")
    if code is not None and (not isinstance(code, str) or len(code) != 5):
        errors.append(ErrorItem("Outbound id must have five characters."))
    elif code is not None and code in store.outbounds:
        errors.append(ErrorItem("Outbound with given id already exists."))
    for key, low, high in (("order", 1, 99999), ("parity", 1, 100)):
        if key in body:
            value = body[key]
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                errors.append(ErrorItem(f"Field {key} must be an integer between {low} and {high}."))
    return errors


@routes.post("/api/outbounds")
async def create_outbound(request: web.Request) -> web.Response:
    store = _store(request)
    body = await json_object(request)
    errors = _outbound_errors(body, store)
    if errors:
        raise ApiError(400, errors)
    ob = Outbound(
        id=str(body.get("id") or store.next_outbound_code()),
        outbound_id=0,
        name=str(body["name"]),
        crm=bool(body["crm"]),
        dialer=str(body["dialer"]),
        order=int(body.get("order", 50)),
        parity=int(body.get("parity", 50)),
        active=bool(body.get("active", True)),
        start_date=str(body.get("start_date") or wall_clock_now().date().isoformat()),
        end_date=str(body.get("end_date") or ""),
        group_id=body.get("group_id"),
        parameters=dict(body.get("parameters") or {}),
        statuses=default_statuses(store),
    )
    store.add_outbound(ob)
    return json_response({"id": ob.id, "outbound_id": str(ob.outbound_id)}, status=201)


# ---------------------------------------------------------------------------------------------- crm records
def _date_filter(query: Any, name: str) -> str | None:
    value = query.get(name)
    if value in (None, ""):
        return None
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise ApiError.one(400, f"Wrong format of {name}. Expected YYYY-MM-DD.", CODE_BAD_PARAM) from None
    return str(value)


def _in_range(value: str, low: str | None, high: str | None) -> bool:
    day = value[:10]
    if (low or high) and not day:
        return False
    return (low is None or day >= low) and (high is None or day <= high)


def _filter_records(store: Store, ob: Outbound, query: Any) -> list[CampaignRecord]:
    items = list(store.records[ob.id].values())
    status_ids = list_param(query, "status_id")
    if status_ids:
        items = [r for r in items if str(r.status_id) in status_ids]
    systems = list_param(query, "system_status")
    if systems:
        items = [r for r in items if store.record_status(r).system_status in systems]
    cf, ct = _date_filter(query, "create_date_from"), _date_filter(query, "create_date_to")
    items = [r for r in items if _in_range(r.create_date, cf, ct)]
    lf, lt = _date_filter(query, "call_date_from"), _date_filter(query, "call_date_to")
    items = [r for r in items if _in_range(r.call_date, lf, lt)]
    for _key, desc in order_keys(query, ("next_call_date",)):
        items.sort(key=lambda r: r.next_call_date, reverse=desc)
    return items


@routes.get("/api/crm_outbounds/{id}/records")
async def list_records(request: web.Request) -> web.Response:
    store = _store(request)
    ob = store.get_crm_outbound(request.match_info["id"])
    limit, offset = page(request.query, maximum=100)
    items = _filter_records(store, ob, request.query)
    inc = Includes(dict(request.query))
    result = [record_view(store, r, inc) for r in items[offset : offset + limit]]
    return json_response({"count": len(items), "result": result})


@routes.post("/api/crm_outbounds/{id}/records")
async def add_record(request: web.Request) -> web.Response:
    store = _store(request)
    rec, created = store.add_record(request.match_info["id"], await json_object(request))
    if not created:
        raise ApiError.one(400, "Record already exists in the outbound.", CODE_VALIDATION)
    return json_response({"record_id": str(rec.record_id)}, status=201)


@routes.get("/api/crm_outbounds/{id}/records/{customer_id}")
async def get_record(request: web.Request) -> web.Response:
    store = _store(request)
    rec = store.get_record(request.match_info["id"], _customer_id(request))
    return json_response(record_view(store, rec, Includes(dict(request.query))))


@routes.put("/api/crm_outbounds/{id}/records/{customer_id}")
async def update_record(request: web.Request) -> web.Response:
    body = await json_object(request)
    _store(request).update_record(request.match_info["id"], _customer_id(request), body)
    return no_content()


@routes.delete("/api/crm_outbounds/{id}/records/{customer_id}")
async def delete_record(request: web.Request) -> web.Response:
    _store(request).delete_record(request.match_info["id"], _customer_id(request))
    return no_content()


@routes.post("/api/crm_outbounds/{id}/records/{customer_id}/copy_notes")
async def copy_notes(request: web.Request) -> web.Response:
    store = _store(request)
    await json_body(request)
    rec = store.get_record(request.match_info["id"], _customer_id(request))
    cust = store.customers.get(rec.customer_id)
    if cust is not None and rec.last_note:
        cust.notes.append(rec.last_note)
    return json_response({}, status=201)


# ---------------------------------------------------------------------------------------------- batch records
@routes.post("/api/batch/crm_outbounds/{id}/records")
async def batch_add_records(request: web.Request) -> web.Response:
    store = _store(request)
    ob = store.get_crm_outbound(request.match_info["id"])
    body = await json_object(request)
    records = body.get("records")
    if not isinstance(records, list):
        raise ApiError.one(400, "Field records is required and must be a list.")
    decision = decision_of(request)
    out: dict[str, Any] = {}
    for item in records:
        key = str(item.get("customer_id", "")) if isinstance(item, dict) else ""
        if decision is not None and decision.item_hit():
            out[key] = {"http_status": 503, "status": "FAILED", "message": MSG_UNAVAILABLE}
            continue
        try:
            rec, created = store.add_record(ob.id, item)
        except ApiError as err:
            message = err.errors[0].message if err.errors else "Error."
            if message == MSG_CUSTOMER_NOT_FOUND:  # the document prints one wording; a real one may differ
                message = store.readings.customer_not_found_message
            out[key] = {"http_status": 400, "status": "FAILED", "message": message}
            continue
        if created:
            out[key] = {"http_status": 201, "record_id": rec.record_id, "status": "ADDED"}
        else:
            out[key] = {"http_status": 400, "record_id": rec.record_id, "status": "ALREADY_EXISTS"}
    return json_response(out, status=207)


@routes.delete("/api/batch/crm_outbounds/{id}/records")
async def batch_delete_records(request: web.Request) -> web.Response:
    store = _store(request)
    ob = store.get_crm_outbound(request.match_info["id"])
    ids = list_param(request.query, "customer_id")
    if not ids:
        raise ApiError.one(400, "Parameter customer_id[] is required.")
    decision = decision_of(request)
    out: dict[str, Any] = {}
    for raw in ids:
        if decision is not None and decision.item_hit():
            out[raw] = {"http_status": 503, "status": "FAILED", "message": MSG_UNAVAILABLE}
            continue
        try:
            rec = store.records[ob.id].get(int(raw))
        except ValueError:
            rec = None
        if rec is None:
            out[raw] = {"http_status": 404, "status": "NOT_EXIST"}
        elif rec.in_call:
            out[raw] = {"http_status": 400, "record_id": rec.record_id, "status": "CALL_IN_PROGRESS"}
        else:
            del store.records[ob.id][rec.customer_id]
            out[raw] = {"http_status": 200, "record_id": rec.record_id, "status": "REMOVED"}
    return json_response(out, status=207)


# ---------------------------------------------------------------------------------------------- lookup
@routes.get("/api/customer_id_by_outbound_status")
async def customer_ids_by_status(request: web.Request) -> web.Response:
    """Pairs ``outbound_id[i]`` with ``status_id[i]`` as the document's example does; with unequal lists,
    every listed status is looked up in every listed campaign."""
    store = _store(request)
    outbounds = list_param(request.query, "outbound_id")
    statuses = list_param(request.query, "status_id")
    if not outbounds or not statuses:
        raise ApiError.one(400, "Parameters outbound_id[] and status_id[] are required.", CODE_BAD_PARAM)
    pairs = (
        list(zip(outbounds, statuses, strict=True))
        if len(outbounds) == len(statuses)
        else [(o, s) for o in outbounds for s in statuses]
    )
    found: set[int] = set()
    for code, status in pairs:
        for rec in store.records.get(code, {}).values():
            if str(rec.status_id) == status:
                found.add(rec.customer_id)
    return json_response({"customer_id": sorted(found)})
