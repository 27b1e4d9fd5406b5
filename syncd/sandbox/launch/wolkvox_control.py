"""Typed client for the Wolkvox simulator's control API (/_control/), used by tests."""

from __future__ import annotations

from typing import Any

from syncd.sandbox.launch.control_client import ControlClient, ControlError


class WolkvoxControlError(ControlError):
    pass


class WolkvoxControl(ControlClient):
    """Typed client for ``/_control/`` (not subject to the limits, not logged)."""

    prefix = "/_control"
    error = WolkvoxControlError

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

    def freeze_clock(self) -> None:
        """Stops the clock the interval rule reads; ``advance_clock`` then moves it on."""
        self._call("PUT", "/clock", json={"frozen": True})

    def advance_clock(self, seconds: float) -> None:
        self._call("PUT", "/clock", json={"advance": seconds})

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
