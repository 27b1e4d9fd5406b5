"""Seed documents (JSON): campaigns with statuses, custom fields, and optionally CRM data and connections.

The same loader serves the startup ``--seed-file``, reset, and the control API, so a seed file is also the
simplest way to describe a test scenario.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from syncd.sandbox.thulium.store import SYSTEM_STATUSES, Outbound, Status, Store

DEFAULT_SEED_NAME = "default_seed.json"


def default_seed() -> dict[str, Any]:
    text = resources.files("syncd.sandbox.thulium").joinpath(DEFAULT_SEED_NAME).read_text(encoding="utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


def read_seed_file(path: Path | None) -> dict[str, Any]:
    if path is None:
        return default_seed()
    doc: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    return doc


def outbound_from_json(store: Store, raw: dict[str, Any]) -> Outbound:
    statuses = [
        Status(
            status_id=int(s["status_id"]),
            system_status=str(s["system_status"]),
            name=str(s.get("name", s["system_status"])),
            dictionary_status_id=None
            if s.get("dictionary_status_id") is None
            else int(s["dictionary_status_id"]),
        )
        for s in raw.get("statuses", [])
    ]
    for st in statuses:
        if st.system_status not in SYSTEM_STATUSES:
            raise ValueError(f"unknown system_status {st.system_status!r}")
    if not statuses:
        statuses = default_statuses(store)
    code = str(raw.get("id") or store.next_outbound_code())
    if len(code) != 5:
        raise ValueError(f"outbound id must have five characters: {code!r}")
    return Outbound(
        id=code,
        outbound_id=0,
        name=str(raw.get("name", f"Campaign {code}")),
        crm=bool(raw.get("crm", True)),
        dialer=str(raw.get("dialer", "preview")),
        order=int(raw.get("order", 50)),
        parity=int(raw.get("parity", 50)),
        active=bool(raw.get("active", True)),
        start_date=str(raw.get("start_date", "")),
        end_date=str(raw.get("end_date", "")),
        group_id=raw.get("group_id"),
        parameters=dict(raw.get("parameters") or {}),
        statuses=statuses,
    )


def default_statuses(store: Store) -> list[Status]:
    """One status per system status, with ids unique across the instance (as Thulium's are)."""
    used = [s.status_id for ob in store.outbounds.values() for s in ob.statuses]
    base = max(used, default=0)
    names = {
        "TO_CALL": "New",
        "IN_PROGRESS": "In progress",
        "CALL": "Call again",
        "MY_RECORD": "Callback (agent)",
        "NO_CALL": "Do not call",
        "ABANDONED_AFTER_N_TRIES": "Abandoned after 3 tries",
        "CALL_NO_SOONER_THAN": "Call later",
        "CALL_PROGRESSIVE": "Progressive",
    }
    return [Status(base + i + 1, s, names[s]) for i, s in enumerate(SYSTEM_STATUSES)]


def load_seed(store: Store, doc: dict[str, Any]) -> None:
    store.ensure_custom_fields([str(n) for n in doc.get("custom_fields", [])])
    for raw in doc.get("outbounds", []):
        store.add_outbound(outbound_from_json(store, raw))
    for raw in doc.get("companies", []):
        store.create_company(raw)
    for raw in doc.get("customers", []):
        store.create_customer(raw)
    for raw in doc.get("records", []):
        rec, _ = store.add_record(str(raw["outbound_id"]), raw)
        for key in ("call_date", "last_note", "in_call"):
            if key in raw:
                setattr(rec, key, raw[key])
    for raw in doc.get("connections", []):
        store.connections.append(normalize_connection(raw))


CONNECTION_DEFAULTS: dict[str, Any] = {
    "date": "",
    "src": "",
    "dst": "",
    "disposition": "ANSWERED",
    "duration": 0,
    "billsec": 0,
    "operator": "siptrunk",
    "filename": "",
    "user": "",
    "user_login": "",
    "dst_user": "",
    "dst_user_login": "",
    "customer_id": None,
    "outbound_id": "",
    "connection_id": "",
    "type": "OUTBOUND",
    "queue_id": None,
    "topic_id": None,
    "tags": [],
    "disconnected_by": "Agent",
    "transferred_to": "",
}


def normalize_connection(raw: dict[str, Any]) -> dict[str, Any]:
    out = dict(CONNECTION_DEFAULTS)
    out.update(raw)
    out["tags"] = list(out.get("tags") or [])
    return out
