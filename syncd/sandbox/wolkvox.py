"""A Wolkvox ``reports_manager.php`` simulator for ``api=chat_13`` (closed chats per channel, seed 003).

The vendor's consumption rules (2 simultaneous requests per token, a poll every 5 minutes, 31-day windows) are
what a poller most easily gets wrong, so they are enforced *and* measured: the control API under
``/_control/`` tells a test how close its client came to each limit. The document does not say how a breach
is answered; the refusal shapes here are the sandbox's assumption (see README.md).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import math
import random
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from aiohttp import web

from syncd.engine.wallclock import parse_wall_clock
from syncd.sandbox.web_utils import json_object, json_response

CHANNELS = ("facebook", "instagram", "web", "whatsapp")
CHANNEL_WEIGHTS = (20, 10, 25, 45)
REPORT_PATH = "/api/v2/reports_manager.php"
TOKEN_HEADER = "wolkvox-token"
TOKEN_ENV = "SYNCD_WOLKVOX_SANDBOX_TOKEN"
DEFAULT_TOKEN = "wolkvox-sandbox-token"
WIRE_FORMAT = "%Y%m%d%H%M%S"
STORE_FORMAT = "%Y-%m-%d %H:%M:%S"
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


@dataclass(frozen=True)
class ClosedChat:
    closed_at: str  # YYYY-MM-DD HH:MM:SS
    channel: str

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ClosedChat:
        closed_at = parse_wall_clock(str(raw["closed_at"]), STORE_FORMAT).strftime(STORE_FORMAT)
        channel = str(raw["channel"])
        if channel not in CHANNELS:
            raise ValueError(f"channel must be one of {CHANNELS}")
        return cls(closed_at, channel)


def generate_chats(date_from: dt.date, days: int, per_day: int, seed: int) -> list[ClosedChat]:
    """One ``Random(f"{seed}:{day}")`` per day: the same day always gets the same chats, however the days
    are split across calls."""
    out: list[ClosedChat] = []
    for n in range(days):
        day = date_from + dt.timedelta(days=n)
        rng = random.Random(f"{seed}:{day.isoformat()}")
        midnight = dt.datetime.combine(day, dt.time())
        for second in sorted(rng.randrange(86400) for _ in range(per_day)):
            channel = rng.choices(CHANNELS, weights=CHANNEL_WEIGHTS)[0]
            out.append(ClosedChat((midnight + dt.timedelta(seconds=second)).strftime(STORE_FORMAT), channel))
    return out


@dataclass
class TokenStats:
    accepted: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    max_concurrent: int = 0  # most requests open at once, refused ones included: what the client attempted
    min_gap_seconds: float | None = None  # between the starts of accepted polls
    last_start: float | None = None  # time.monotonic() of the last accepted poll

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

    def response(self) -> web.Response:
        body = {"code": str(self.status), "error": self.error, "msg": "Request refused", "data": []}
        resp = json_response(body, status=self.status)
        resp.headers.update(self.headers)
        return resp


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

    def reset(self, *, chats: bool = True, limits: bool = True) -> None:
        self.stats = {}
        self.log = deque(maxlen=LOG_CAPACITY)
        self.seq = 0
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
        now = time.monotonic()
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


WOLKVOX_KEY: web.AppKey[Wolkvox] = web.AppKey("wolkvox", Wolkvox)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
routes = web.RouteTableDef()


def _to_store(wire: str) -> str:
    return parse_wall_clock(wire, WIRE_FORMAT).strftime(STORE_FORMAT)


@routes.get(REPORT_PATH)
async def reports_manager(request: web.Request) -> web.Response:
    wv = request.app[WOLKVOX_KEY]
    q = request.query
    token = request.headers.get(TOKEN_HEADER, "")
    label = token_label(token)
    wv.seq += 1
    entry = LogEntry(
        wv.seq, time.time(), label, q.get("api", ""), q.get("date_ini", ""), q.get("date_end", "")
    )
    wv.log.append(entry)
    stats = wv.stats_for(label)
    wv.open[label] += 1
    stats.max_concurrent = max(stats.max_concurrent, wv.open[label])
    try:
        refusal = wv.admit(token, q)
        if refusal is not None:
            stats.refused[refusal.reason] += 1
            entry.outcome = refusal.reason
            resp = refusal.response()
        else:
            wv.admitted[label] += 1
            try:
                await asyncio.sleep(wv.limits.latency_ms / 1000.0)
            finally:
                wv.admitted[label] -= 1
            counts = wv.counts(_to_store(entry.date_ini), _to_store(entry.date_end))
            data = [{"chanel": c, "interaction": str(n)} for c, n in counts.items()]
            body = {"code": "200", "error": None, "msg": f"{len(data)} records were found", "data": data}
            entry.outcome = "ok"
            resp = json_response(body)
        entry.status = resp.status
        return resp
    finally:
        wv.open[label] -= 1
        entry.end = time.time()


# ============================================================================================ control
@web.middleware
async def control_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith("/_control/"):
        return await handler(request)
    try:
        return await handler(request)
    except (ValueError, KeyError, TypeError) as exc:
        return json_response({"error": f"Bad control request: {exc}"}, status=400)


def _wv(request: web.Request) -> Wolkvox:
    return request.app[WOLKVOX_KEY]


@routes.get("/_control/health")
async def health(request: web.Request) -> web.Response:
    return json_response({"ok": True})


@routes.get("/_control/stats")
async def stats(request: web.Request) -> web.Response:
    return json_response(_wv(request).stats_json())


@routes.get("/_control/log")
async def log(request: web.Request) -> web.Response:
    since = int(request.query.get("since", 0))
    return json_response([asdict(e) for e in _wv(request).log if e.seq > since])


@routes.post("/_control/reset")
async def reset(request: web.Request) -> web.Response:
    body = await json_object(request)
    _wv(request).reset(chats=bool(body.get("chats", True)), limits=bool(body.get("limits", True)))
    return json_response({"ok": True})


@routes.get("/_control/limits")
async def get_limits(request: web.Request) -> web.Response:
    return json_response(asdict(_wv(request).limits))


@routes.put("/_control/limits")
async def put_limits(request: web.Request) -> web.Response:
    wv = _wv(request)
    wv.limits = wv.limits.updated(await json_object(request))
    return json_response(asdict(wv.limits))


@routes.get("/_control/chats")
async def get_chats(request: web.Request) -> web.Response:
    return json_response([asdict(c) for c in _wv(request).chats])


@routes.post("/_control/chats")
async def add_chats(request: web.Request) -> web.Response:
    wv = _wv(request)
    items = (await json_object(request)).get("chats", [])
    new = [ClosedChat.from_json(raw) for raw in items]
    wv.chats.extend(new)
    return json_response({"added": len(new), "total": len(wv.chats)}, status=201)


@routes.post("/_control/generate")
async def generate(request: web.Request) -> web.Response:
    wv = _wv(request)
    body = await json_object(request)
    days, per_day = int(body.get("days", 1)), int(body.get("per_day", 50))
    if days < 1 or per_day < 0:
        raise ValueError("days must be >= 1 and per_day >= 0")
    date_from = dt.date.fromisoformat(str(body["date_from"]))
    new = generate_chats(date_from, days, per_day, int(body.get("seed", 0)))
    wv.chats.extend(new)
    return json_response({"added": len(new), "total": len(wv.chats)}, status=201)


def build_app(*, token: str, limits: Limits) -> web.Application:
    app = web.Application(middlewares=[control_errors])
    app[WOLKVOX_KEY] = Wolkvox(token=token, limits=limits)
    app.add_routes(routes)
    return app
