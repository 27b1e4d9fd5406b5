"""Start the Wolkvox simulator as a separate process (see ``ChildServer`` for why) and drive its control
API. Each process gets a fresh random token, so a client that ignores the configured token fails."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import httpx

from syncd.sandbox.launch.child_process import START_TIMEOUT_S as START_TIMEOUT_S  # re-exported
from syncd.sandbox.launch.child_process import ChildServer
from syncd.sandbox.wolkvox.main import PORT_LINE_PREFIX
from syncd.sandbox.wolkvox.state import REPORT_PATH, TOKEN_ENV, token_label


class WolkvoxStartError(RuntimeError):
    pass


class WolkvoxControlError(RuntimeError):
    pass


class WolkvoxControl:
    """Typed client for ``/_control/`` (not subject to the limits, not logged)."""

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self._http = httpx.Client(base_url=base_url.rstrip("/") + "/_control", timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None) -> Any:
        resp = self._http.request(method, path, json=json, params=params)
        if resp.status_code >= 400:
            raise WolkvoxControlError(f"{method} /_control{path} -> {resp.status_code}: {resp.text}")
        return resp.json()

    def health(self) -> bool:
        return bool(self._call("GET", "/health")["ok"])

    def reset(self, *, chats: bool = True, limits: bool = True) -> None:
        """Clears stats, the log and the interval clock; ``chats`` drops the data, ``limits`` restores the
        startup limits. Requests still open keep counting against concurrency."""
        self._call("POST", "/reset", json={"chats": chats, "limits": limits})

    def stats(self) -> dict[str, Any]:
        """{"tokens": {label: {accepted, refused {reason: n}, max_concurrent, min_gap_seconds, in_flight}},
        "accepted", "refused" {reason: n}, "limits"}"""
        data: dict[str, Any] = self._call("GET", "/stats")
        return data

    def token_stats(self, label: str) -> dict[str, Any]:
        """One token's figures; all zero for a token never seen."""
        empty = {"accepted": 0, "refused": {}, "max_concurrent": 0, "min_gap_seconds": None, "in_flight": 0}
        data: dict[str, Any] = self.stats()["tokens"].get(label, empty)
        return data

    def log(self, since: int = 0) -> list[dict[str, Any]]:
        """Entries: seq, start, end (None while open), token (label), api, date_ini, date_end, status,
        outcome ("ok" or the refusal reason)."""
        data: list[dict[str, Any]] = self._call("GET", "/log", params={"since": since})
        return data

    def limits(self) -> dict[str, Any]:
        data: dict[str, Any] = self._call("GET", "/limits")
        return data

    def set_limits(
        self,
        *,
        min_poll_seconds: float | None = None,
        latency_ms: int | None = None,
        max_concurrent: int | None = None,
    ) -> dict[str, Any]:
        given = {
            "min_poll_seconds": min_poll_seconds,
            "latency_ms": latency_ms,
            "max_concurrent": max_concurrent,
        }
        data: dict[str, Any] = self._call(
            "PUT", "/limits", json={k: v for k, v in given.items() if v is not None}
        )
        return data

    def chats(self) -> list[dict[str, str]]:
        """Raw closed chats: {"closed_at": "YYYY-MM-DD HH:MM:SS", "channel"}."""
        data: list[dict[str, str]] = self._call("GET", "/chats")
        return data

    def add_chats(self, chats: list[dict[str, str]]) -> int:
        return int(self._call("POST", "/chats", json={"chats": chats})["added"])

    def generate(self, date_from: str, *, days: int = 1, per_day: int = 50, seed: int = 0) -> int:
        """Same arguments, same chats. Returns how many were added."""
        body = {"date_from": date_from, "days": days, "per_day": per_day, "seed": seed}
        return int(self._call("POST", "/generate", json=body)["added"])


class WolkvoxProcess(ChildServer[WolkvoxControl]):
    """``with WolkvoxProcess(min_poll_seconds=1) as wv: httpx.get(wv.url, params=..., headers=wv.headers)``"""

    module = "syncd.sandbox.wolkvox.main"
    slug = "wolkvox"
    display_name = "wolkvox sandbox"
    port_line_prefix = PORT_LINE_PREFIX
    start_error = WolkvoxStartError

    def __init__(
        self,
        *,
        min_poll_seconds: float = 300.0,
        latency_ms: int = 0,
        max_concurrent: int = 2,
        token: str | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__(host=host)
        self.min_poll_seconds = min_poll_seconds
        self.latency_ms = latency_ms
        self.max_concurrent = max_concurrent
        self.token = token or secrets.token_urlsafe(24)

    @property
    def url(self) -> str:
        """The report endpoint (``…/api/v2/reports_manager.php``)."""
        return self.base_url + REPORT_PATH

    @property
    def headers(self) -> dict[str, str]:
        return {"wolkvox-token": self.token}

    @property
    def token_label(self) -> str:
        """How stats and the log name this process's token."""
        return token_label(self.token)

    def _extra_args(self, tmp: Path) -> list[str]:
        return [
            "--min-poll-seconds",
            str(self.min_poll_seconds),
            "--latency-ms",
            str(self.latency_ms),
            "--max-concurrent",
            str(self.max_concurrent),
        ]

    def _extra_env(self) -> dict[str, str]:
        return {TOKEN_ENV: self.token}

    def _connect(self) -> WolkvoxControl:
        return WolkvoxControl(self.base_url)
