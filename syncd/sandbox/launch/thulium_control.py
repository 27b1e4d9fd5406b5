"""Typed client for the sandbox control API (/_sandbox/), used by tests, the demo and benchmarks."""

from __future__ import annotations

from typing import Any

from syncd.sandbox.launch.control_client import ControlClient, ControlError
from syncd.sandbox.thulium.capacity import CapacityLimit
from syncd.sandbox.thulium.faults import FaultConfig, FaultKind, FaultRule, RateLimit
from syncd.sandbox.thulium.readings import Readings


class SandboxControlError(ControlError):
    pass


class SandboxControl(ControlClient):
    prefix = "/_sandbox"
    error = SandboxControlError

    # ------------------------------------------------------------------ lifecycle / inspection
    def reset(self, *, seed: bool = True, startup_faults: bool = True) -> None:
        self._call("POST", "/reset", json={"seed": seed, "startup_faults": startup_faults})

    # ------------------------------------------------------------------ readings of the vendor document
    def readings(self) -> Readings:
        return Readings.from_json(self._call("GET", "/readings"))

    def set_readings(self, **switches: Any) -> Readings:
        """Change some switches (see ``syncd.sandbox.thulium.readings``); the rest stay. A reset restores the
        startup profile."""
        return Readings.from_json(self._call("PATCH", "/readings", json=switches))

    def use_profile(self, name: str) -> Readings:
        return Readings.from_json(self._call("PUT", "/readings", json={"profile": name}))

    def state(self) -> dict[str, Any]:
        """customers, companies, custom_fields, outbounds, records {outbound: [...]}, connections."""
        data: dict[str, Any] = self._call("GET", "/state")
        return data

    def counts(self) -> dict[str, Any]:
        """{"by_route": {"POST batch/customers": 3, ...}, "total": n, "writes": n}"""
        data: dict[str, Any] = self._call("GET", "/counts")
        return data

    def count(self, method: str, route: str) -> int:
        return int(self.counts()["by_route"].get(f"{method.upper()} {route}", 0))

    def reset_counts(self) -> None:
        """Clears the counters and the request log (state and faults stay)."""
        self._call("POST", "/counts/reset")

    def log(self, since: int = 0) -> list[dict[str, Any]]:
        """Entries: seq, t (epoch s), method, path, query, route, status (None = no response), duration_ms,
        faults, request_id."""
        data: list[dict[str, Any]] = self._call("GET", "/log", params={"since": since})
        return data

    # ------------------------------------------------------------------ faults
    def faults(self) -> FaultConfig:
        return FaultConfig.from_json(_without_fired(self._call("GET", "/faults")))

    def fault_state(self) -> dict[str, Any]:
        """Raw config including each rule's ``fired`` counter."""
        data: dict[str, Any] = self._call("GET", "/faults")
        return data

    def set_faults(self, config: FaultConfig | dict[str, Any]) -> None:
        body = config.to_json() if isinstance(config, FaultConfig) else config
        self._call("PUT", "/faults", json=_without_fired(body))

    def add_fault(
        self,
        kind: FaultKind,
        *,
        probability: float = 1.0,
        method: str = "*",
        path: str = "*",
        count: int | None = None,
        status: int = 500,
        retry_after: int = 1,
        delay_ms: int = 0,
        item_probability: float = 1.0,
        after: str = "",
        after_count: int = 0,
    ) -> None:
        """``after``/``after_count``: the rule fires only once more than ``after_count`` requests
        ``after`` ("METHOD path-glob") have arrived, so a fault can begin at a point of a run."""
        rule = FaultRule(
            kind, probability, method, path, count, status, retry_after, delay_ms, item_probability
        )
        rule.after, rule.after_count = after, after_count
        body = rule.to_json()
        body.pop("fired")
        body.pop("arrivals")
        self._call("POST", "/faults/rules", json=body)

    def set_latency(self, latency_ms: int, jitter_ms: int = 0) -> None:
        cfg = self.fault_state()
        cfg.update(latency_ms=latency_ms, jitter_ms=jitter_ms)
        self.set_faults(cfg)

    def set_rate_limit(self, rps: float | None, burst: int = 1) -> None:
        cfg = self.fault_state()
        cfg["rate_limit"] = None if rps is None else {"rps": rps, "burst": burst}
        self.set_faults(cfg)

    def set_capacity(self, limit: int | None, queue_limit: int | None = None, retry_after: int = 1) -> None:
        """At most ``limit`` requests served at once, ``queue_limit`` more waiting (None: as many as
        ``limit``), a 429 with ``retry_after`` past that; ``limit`` None serves any number again."""
        cfg = self.fault_state()
        cfg["capacity"] = None if limit is None else CapacityLimit(limit, queue_limit, retry_after).to_json()
        self.set_faults(cfg)

    def capacity(self) -> dict[str, Any]:
        """{"limit": {...} | None, "serving", "waiting", "served", "queued", "rejected", "peak_serving",
        "peak_waiting"}: counted since the capacity was last set (or the last reset)."""
        data: dict[str, Any] = self._call("GET", "/capacity")
        return data

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    # ------------------------------------------------------------------ dialer
    def set_record(self, outbound_id: str, customer_id: int, **fields: Any) -> dict[str, Any]:
        """Fields: status_id | system_status, call_date ("now" allowed), last_note, agent_login, agent_name,
        next_call_date, order, in_call. Returns the record as GET crm_outbounds/:id/records/:cid shows it."""
        data: dict[str, Any] = self._call("PATCH", f"/records/{outbound_id}/{customer_id}", json=fields)
        return data

    def set_in_call(self, outbound_id: str, customer_id: int, in_call: bool = True) -> None:
        self.set_record(outbound_id, customer_id, in_call=in_call)

    def run_dialer(
        self, outbound_id: str, *, count: int = 10, seed: int = 0, system_statuses: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """Calls up to ``count`` TO_CALL records, each ending in a random outcome status of the campaign
        (deterministic per seed), and fires OUTBOUND_RECORD_SAVED for each. Returns the changed records."""
        body: dict[str, Any] = {"outbound_id": outbound_id, "count": count, "seed": seed}
        if system_statuses is not None:
            body["system_statuses"] = system_statuses
        records: list[dict[str, Any]] = self._call("POST", "/dialer/run", json=body)["records"]
        return records

    # ------------------------------------------------------------------ agents
    def agent_create_customer(self, fields: dict[str, Any]) -> int:
        return int(self._call("POST", "/customers", json=fields)["customer_id"])

    def agent_edit_customer(self, customer_id: int, fields: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = self._call("PATCH", f"/customers/{customer_id}", json=fields)
        return data

    def agent_delete_customer(self, customer_id: int) -> None:
        self._call("DELETE", f"/customers/{customer_id}")

    def agent_create_company(self, fields: dict[str, Any]) -> tuple[int, int]:
        """Returns (company_id, customer_id)."""
        data = self._call("POST", "/companies", json=fields)
        return int(data["company_id"]), int(data["customer_id"])

    def agent_edit_company(self, company_id: int, fields: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = self._call("PATCH", f"/companies/{company_id}", json=fields)
        return data

    def agent_delete_company(self, company_id: int) -> None:
        self._call("DELETE", f"/companies/{company_id}")

    def agent_add_note(self, customer_id: int, content: str, *, agent_login: str = "j.kowalski") -> None:
        """Fires CUSTOMER_NOTE_SAVED."""
        body = {"customer_id": customer_id, "agent_login": agent_login, "content": content}
        self._call("POST", "/agents/notes", json=body)

    # ------------------------------------------------------------------ webhooks
    def set_webhook(
        self,
        url: str,
        *,
        user: str = "",
        password: str = "",
        encoding: str = "json",
        actions: list[str] | None = None,
        api_writes: bool = False,
        timeout_s: float = 5.0,
    ) -> dict[str, Any]:
        """Starts sending webhooks to ``url`` (Basic auth when ``user`` is set; ``encoding`` json | form;
        ``actions`` = only these). Returns the target without the password."""
        body: dict[str, Any] = {
            "url": url,
            "user": user,
            "password": password,
            "encoding": encoding,
            "actions": actions,
            "api_writes": api_writes,
            "timeout_s": timeout_s,
        }
        data: dict[str, Any] = self._call("POST", "/webhooks", json=body)
        return data

    def webhook_status(self) -> dict[str, Any]:
        """{"target": {...} | None, "pending": n, "sent": n}"""
        data: dict[str, Any] = self._call("GET", "/webhooks")
        return data

    def stop_webhooks(self) -> None:
        self._call("DELETE", "/webhooks")

    def webhooks_sent(self, since: int = 0) -> list[dict[str, Any]]:
        """Entries: seq, t, action, url, encoding, body, replay, done, status (None = unreachable), error,
        delivered_at."""
        data: list[dict[str, Any]] = self._call("GET", "/webhooks/sent", params={"since": since})
        return data

    def flush_webhooks(self, timeout_s: float = 30.0) -> None:
        """Returns once every queued delivery has been attempted; raises if that takes over ``timeout_s``."""
        self._call("POST", "/webhooks/flush", json={"timeout_s": timeout_s}, timeout=timeout_s + 5.0)

    def replay_webhook(self, seq: int | None = None) -> dict[str, Any]:
        """Queues a duplicate of delivery ``seq`` (default: the last one). Returns the new log entry."""
        body = {} if seq is None else {"seq": seq}
        data: dict[str, Any] = self._call("POST", "/webhooks/replay", json=body)
        return data

    # ------------------------------------------------------------------ seeding
    def add_outbound(
        self,
        outbound_id: str,
        *,
        name: str = "",
        crm: bool = True,
        statuses: list[dict[str, Any]] | None = None,
    ) -> None:
        """statuses: [{"status_id": 40, "system_status": "TO_CALL", "name": "New"}, ...] (default: one per
        system status)."""
        body: dict[str, Any] = {"id": outbound_id, "name": name or f"Campaign {outbound_id}", "crm": crm}
        if statuses is not None:
            body["statuses"] = statuses
        self._call("POST", "/outbounds", json=body)

    def add_connections(self, connections: list[dict[str, Any]]) -> None:
        self._call("POST", "/connections", json={"connections": connections})

    def load_seed(self, doc: dict[str, Any]) -> None:
        self._call("POST", "/seed", json=doc)

    # ------------------------------------------------------------------ activity (reports)
    def generate_activity(
        self, date_from: str, *, days: int = 1, per_day: int = 20, seed: int = 0, until: str | None = None
    ) -> dict[str, int]:
        """Same arguments, same data, so report figures can be pinned. ``until`` (YYYY-MM-DD HH:MM:SS) stops
        the last day there, to test a day that is still open. Returns how many were added of: connections,
        chats, agent_calls, agent_actions, sessions, pauses."""
        body: dict[str, Any] = {"date_from": date_from, "days": days, "per_day": per_day, "seed": seed}
        if until is not None:
            body["until"] = until
        data: dict[str, int] = self._call("POST", "/activity/generate", json=body)
        return data

    def add_activity(
        self,
        *,
        agents: list[dict[str, Any]] | None = None,
        chats: list[dict[str, Any]] | None = None,
        agent_calls: list[dict[str, Any]] | None = None,
        agent_actions: list[dict[str, Any]] | None = None,
        sessions: list[dict[str, Any]] | None = None,
        pauses: list[dict[str, Any]] | None = None,
    ) -> dict[str, int]:
        """Exact events for tests that pin one figure (fields as in ``activity()``, omitted ones default).
        Agents are added or replaced by login. Returns how many of each kind were added."""
        kinds = {
            "agents": agents,
            "chats": chats,
            "agent_calls": agent_calls,
            "agent_actions": agent_actions,
            "sessions": sessions,
            "pauses": pauses,
        }
        body = {k: v for k, v in kinds.items() if v is not None}
        data: dict[str, int] = self._call("POST", "/activity/events", json=body)
        return data

    def activity(self) -> dict[str, list[dict[str, Any]]]:
        """The raw events the reports are computed from, to check a report against: agents, chats,
        agent_calls, agent_actions, sessions, pauses (connections are in ``state()``)."""
        data: dict[str, list[dict[str, Any]]] = self._call("GET", "/activity")
        return data


def _without_fired(cfg: dict[str, Any]) -> dict[str, Any]:
    out = dict(cfg)
    out["rules"] = [{k: v for k, v in r.items() if k != "fired"} for r in cfg.get("rules", [])]
    return out


__all__ = ["FaultConfig", "FaultRule", "RateLimit", "SandboxControl", "SandboxControlError"]
