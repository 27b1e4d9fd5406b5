"""All state of one Wolkvox simulator, and the admission of a poll: the vendor's consumption limits checked,
and measured, without aiohttp (``routes.py`` is the HTTP face)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from syncd.engine.wallclock import parse_wall_clock
from syncd.sandbox.wolkvox.chats import CHANNELS, ClosedChat

REPORT_PATH = "/api/v2/reports_manager.php"
TOKEN_HEADER = "wolkvox-token"
TOKEN_ENV = "SYNCD_WOLKVOX_SANDBOX_TOKEN"
DEFAULT_TOKEN = "wolkvox-sandbox-token"
WIRE_FORMAT = "%Y%m%d%H%M%S"
MAX_WINDOW = dt.timedelta(days=31)
LOG_CAPACITY = 50_000


def token_label(token: str) -> str:
    """Logs and stats name a token by a hash prefix: a test can match it, a leaked log can't replay it."""
    if not token:
        return "(none)"
    return "tok-" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:10]


@dataclass
class Limits:
    min_poll_seconds: float = 300.0
    latency_ms: int = 0
    max_concurrent: int = 2

    def updated(self, body: dict[str, Any]) -> Limits:
        unknown = set(body) - set(asdict(self))
        if unknown:
            raise ValueError(f"unknown limits {sorted(unknown)}")
        out = replace(
            self,
            min_poll_seconds=float(body.get("min_poll_seconds", self.min_poll_seconds)),
            latency_ms=int(body.get("latency_ms", self.latency_ms)),
            max_concurrent=int(body.get("max_concurrent", self.max_concurrent)),
        )
        if out.min_poll_seconds < 0 or out.latency_ms < 0 or out.max_concurrent < 1:
            raise ValueError("limits must be >= 0 (max_concurrent >= 1)")
        return out


@dataclass
class TokenStats:
    accepted: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    max_concurrent: int = 0  # most requests open at once, refused ones included: what the client attempted
    min_gap_seconds: float | None = None  # between the starts of accepted polls
    last_start: float | None = None  # interval_clock() of the last accepted poll

    def as_json(self, in_flight: int) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "refused": dict(sorted(self.refused.items())),
            "max_concurrent": self.max_concurrent,
            "min_gap_seconds": None if self.min_gap_seconds is None else round(self.min_gap_seconds, 4),
            "in_flight": in_flight,
        }


@dataclass
class LogEntry:
    seq: int
    start: float  # time.time()
    token: str  # label, never the token
    api: str
    date_ini: str
    date_end: str
    end: float | None = None  # None while the request is open
    status: int | None = None
    outcome: str | None = None  # "ok" or the refusal reason


@dataclass(frozen=True)
class Refusal:
    status: int
    reason: str
    error: str
    headers: dict[str, str] = field(default_factory=dict)


class Wolkvox:
    """All state of one server. The aiohttp loop is single-threaded and admission does not await, so the
    concurrency and interval checks need no lock."""

    def __init__(self, *, token: str, limits: Limits) -> None:
        self.token = token
        self.startup_limits = limits
        self.limits = replace(limits)
        self.chats: list[ClosedChat] = []
        self.stats: dict[str, TokenStats] = {}
        self.log: deque[LogEntry] = deque(maxlen=LOG_CAPACITY)
        self.seq = 0
        # Open requests survive a reset: they are still on the wire.
        self.open: Counter[str] = Counter()
        self.admitted: Counter[str] = Counter()
        # The interval rule's clock; a test freezes and advances it, so "too soon" does not depend
        # on how fast a loaded machine gets the next request across.
        self.frozen_at: float | None = None

    def interval_clock(self) -> float:
        return time.monotonic() if self.frozen_at is None else self.frozen_at

    def set_clock(self, body: dict[str, Any]) -> None:
        """``{"frozen": true}`` stops the interval clock where it is, ``{"advance": s}`` moves a stopped
        one on, ``{"frozen": false}`` lets it run again (a reset does too)."""
        unknown = set(body) - {"frozen", "advance"}
        if unknown:
            raise ValueError(f"unknown clock keys {sorted(unknown)}")
        if body.get("frozen") is True and self.frozen_at is None:
            self.frozen_at = self.interval_clock()
        if "advance" in body:
            if self.frozen_at is None:
                raise ValueError("the clock runs; freeze it before advancing it")
            self.frozen_at += float(body["advance"])
        if body.get("frozen") is False:
            self.frozen_at = None

    def reset(self, *, chats: bool = True, limits: bool = True) -> None:
        self.stats = {}
        self.log = deque(maxlen=LOG_CAPACITY)
        self.seq = 0
        self.frozen_at = None
        if chats:
            self.chats = []
        if limits:
            self.limits = replace(self.startup_limits)

    def stats_for(self, label: str) -> TokenStats:
        return self.stats.setdefault(label, TokenStats())

    def stats_json(self) -> dict[str, Any]:
        refused: Counter[str] = Counter()
        for s in self.stats.values():
            refused.update(s.refused)
        return {
            "tokens": {label: s.as_json(self.admitted[label]) for label, s in sorted(self.stats.items())},
            "accepted": sum(s.accepted for s in self.stats.values()),
            "refused": dict(sorted(refused.items())),
            "limits": asdict(self.limits),
        }

    def admit(self, token: str, query: Any) -> Refusal | None:
        """Checks in a fixed order: token, parameters, concurrency, interval. Only an accepted request counts
        as a poll, so a refused one never pushes the next allowed poll further away."""
        if not token or not hmac.compare_digest(token.encode("utf-8"), self.token.encode("utf-8")):
            return Refusal(401, "bad_token", "Invalid or missing wolkvox-token.")
        if query.get("api") != "chat_13":
            return Refusal(400, "bad_api", "Unsupported api (the sandbox serves chat_13 only).")
        try:
            low = parse_wall_clock(str(query.get("date_ini", "")), WIRE_FORMAT)
            high = parse_wall_clock(str(query.get("date_end", "")), WIRE_FORMAT)
        except ValueError:
            return Refusal(400, "bad_date", "date_ini and date_end must be YYYYmmddHHiiss.")
        if low > high:
            return Refusal(400, "inverted_window", "date_ini must not be later than date_end.")
        if high - low > MAX_WINDOW:
            return Refusal(400, "window_too_long", "The date range cannot exceed 31 days.")
        label = token_label(token)
        if self.admitted[label] >= self.limits.max_concurrent:
            return Refusal(
                429,
                "concurrency",
                f"Simultaneous consumption limit reached ({self.limits.max_concurrent} per token).",
            )
        stats = self.stats_for(label)
        now = self.interval_clock()
        if stats.last_start is not None:
            gap = now - stats.last_start
            if gap < self.limits.min_poll_seconds:
                wait = max(1, math.ceil(self.limits.min_poll_seconds - gap))
                return Refusal(
                    429,
                    "too_soon",
                    f"Polls must be at least {self.limits.min_poll_seconds:g} s apart.",
                    {"Retry-After": str(wait)},
                )
            stats.min_gap_seconds = gap if stats.min_gap_seconds is None else min(stats.min_gap_seconds, gap)
        stats.last_start = now
        stats.accepted += 1
        return None

    def counts(self, low: str, high: str) -> dict[str, int]:
        """Both bounds inclusive, to the second."""
        counts = dict.fromkeys(CHANNELS, 0)
        for chat in self.chats:
            if low <= chat.closed_at <= high:
                counts[chat.channel] += 1
        return counts
