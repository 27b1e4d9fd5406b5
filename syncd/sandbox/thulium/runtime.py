"""The one mutable object of a running sandbox: state, faults, counters, the request log and webhooks.

Kept apart from aiohttp so reset semantics live in one place and tests of the pieces need no server.
"""

from __future__ import annotations

import copy
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass, field
from typing import Any

from syncd.sandbox.thulium.config import SandboxConfig
from syncd.sandbox.thulium.faults import FaultConfig, FaultEngine
from syncd.sandbox.thulium.readings import Readings
from syncd.sandbox.thulium.seed import load_seed, read_seed_file
from syncd.sandbox.thulium.store import Store
from syncd.sandbox.thulium.webhooks import WebhookEmitter

LOG_CAPACITY = 50_000


@dataclass
class LogEntry:
    seq: int
    t: float  # wall-clock arrival (time.time())
    method: str
    path: str
    query: str
    route: str
    status: int | None = None  # None: no response was sent (lost response, hang, still running)
    duration_ms: float | None = None
    faults: list[str] = field(default_factory=list)
    request_id: str | None = None


class RequestLog:
    def __init__(self) -> None:
        self.entries: deque[LogEntry] = deque(maxlen=LOG_CAPACITY)
        self._seq = 0

    def start(self, method: str, path: str, query: str, route: str) -> LogEntry:
        self._seq += 1
        entry = LogEntry(self._seq, time.time(), method, path, query, route)
        self.entries.append(entry)
        return entry

    def since(self, seq: int) -> list[dict[str, Any]]:
        return [asdict(e) for e in self.entries if e.seq > seq]


class Counters:
    def __init__(self) -> None:
        self.by_route: Counter[str] = Counter()
        self.total = 0
        self.writes = 0

    def add(self, method: str, route: str) -> None:
        self.by_route[f"{method} {route}"] += 1
        self.total += 1
        if method not in ("GET", "HEAD", "OPTIONS"):
            self.writes += 1

    def as_json(self) -> dict[str, Any]:
        return {"by_route": dict(sorted(self.by_route.items())), "total": self.total, "writes": self.writes}


class Sandbox:
    def __init__(self, config: SandboxConfig) -> None:
        """``config.faults`` and ``config.readings`` are what a reset restores."""
        self.config = config
        self.seed_doc = read_seed_file(config.seed_file)
        self.store = Store(config.readings)
        self.faults = FaultEngine()
        self.counters = Counters()
        self.log = RequestLog()
        self.webhooks = WebhookEmitter()
        self.reset()

    def reset(self, *, apply_seed: bool = True, startup_faults: bool = True) -> None:
        """Back to a fresh instance. Startup faults (CLI/--faults-file) come back by default so a
        benchmark's latency survives the per-test reset; pass startup_faults=False for none at all.
        The webhook target is dropped too: the receiver of the previous test is gone."""
        self.store = Store(self.config.readings if startup_faults else Readings())
        self.webhooks.reset()
        if apply_seed:
            load_seed(self.store, self.seed_doc)
        self.counters = Counters()
        self.log = RequestLog()
        base = copy.deepcopy(self.config.faults) if startup_faults else FaultConfig()
        self.faults.configure(base)

    @property
    def readings(self) -> Readings:
        return self.store.readings

    @readings.setter
    def readings(self, readings: Readings) -> None:
        self.store.readings = readings
