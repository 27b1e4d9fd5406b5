"""Fault injection: what can go wrong between syncd and Thulium, reproducibly.

Pure Python (no aiohttp) so the control client can build the same objects it sends. All randomness comes
from one ``random.Random(seed)``: the same seed and the same sequence of requests give the same faults.
"""

from __future__ import annotations

import fnmatch
import math
import random
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, cast

from syncd.sandbox.thulium.capacity import Capacity, CapacityLimit

FaultKind = Literal[
    "error",  # answer `status` (500) BEFORE applying anything
    "too_many_requests",  # 429 + Retry-After BEFORE applying
    "hang",  # accept and never answer (sleeps delay_ms, default one hour); nothing applied
    "item_unavailable",  # inside a 207: an item answers 503 and is NOT applied
    "lost_response",  # apply, then drop the TCP connection without a response
    "slow",  # apply, then wait delay_ms before answering
    "malformed_207",  # apply, then send a truncated (invalid JSON) body
    "partial_207",  # apply, then leave some item keys out of the 207 body
]
PRE_KINDS: tuple[str, ...] = ("error", "too_many_requests", "hang")
KINDS: tuple[str, ...] = (
    *PRE_KINDS,
    "item_unavailable",
    "lost_response",
    "slow",
    "malformed_207",
    "partial_207",
)
DEFAULT_HANG_MS = 3_600_000


@dataclass
class FaultRule:
    kind: FaultKind
    probability: float = 1.0
    method: str = "*"  # HTTP method or "*"
    path: str = "*"  # fnmatch glob on the path after /api/, e.g. "batch/customers" or "customers/*"
    count: int | None = None  # fire at most this many times (None = unlimited)
    status: int = 500  # for "error"
    retry_after: int = 1  # seconds, for "too_many_requests"
    delay_ms: int = 0  # for "slow" and "hang" (hang defaults to one hour)
    item_probability: float = 1.0  # share of items hit by item_unavailable / partial_207
    fired: int = 0
    # A storm that starts at a point of the run rather than at a moment a test has to catch in time:
    # the rule sleeps until more than `after_count` requests "METHOD path-glob" `after` have arrived.
    after: str = ""
    after_count: int = 0
    arrivals: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.count is not None and self.fired >= self.count:
            return False
        if not self._armed(method, path):
            return False
        if self.method not in ("*", method.upper()):
            return False
        return fnmatch.fnmatchcase(path, self.path)

    def _armed(self, method: str, path: str) -> bool:
        """Counts this request when it matches ``after``: ``decide`` asks once per request and rule."""
        if not self.after:
            return True
        after_method, _, after_path = self.after.partition(" ")
        if after_method in ("*", method.upper()) and fnmatch.fnmatchcase(path, after_path):
            self.arrivals += 1
        return self.arrivals > self.after_count

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> FaultRule:
        kind = str(raw.get("kind", ""))
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(KINDS)}")
        allowed = set(cls.__dataclass_fields__)
        unknown = set(raw) - allowed
        if unknown:
            raise ValueError(f"unknown fault rule keys: {sorted(unknown)}")
        rule = cls(**{k: v for k, v in raw.items() if k not in ("fired", "arrivals")})
        rule.kind = cast(FaultKind, kind)
        rule.method = rule.method.upper() if rule.method != "*" else "*"
        return rule


@dataclass
class RateLimit:
    rps: float
    burst: int = 1


@dataclass
class FaultConfig:
    latency_ms: int = 0
    jitter_ms: int = 0
    seed: int = 0
    rate_limit: RateLimit | None = None
    rules: list[FaultRule] = field(default_factory=list)
    capacity: CapacityLimit | None = None  # at most this many served at once (see capacity.py)

    def to_json(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "jitter_ms": self.jitter_ms,
            "seed": self.seed,
            "rate_limit": asdict(self.rate_limit) if self.rate_limit else None,
            "rules": [r.to_json() for r in self.rules],
            "capacity": self.capacity.to_json() if self.capacity else None,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> FaultConfig:
        allowed = {"latency_ms", "jitter_ms", "seed", "rate_limit", "rules", "capacity"}
        unknown = set(raw) - allowed
        if unknown:
            raise ValueError(f"unknown fault config keys: {sorted(unknown)}")
        rl = raw.get("rate_limit")
        capacity = raw.get("capacity")
        return cls(
            latency_ms=int(raw.get("latency_ms", 0)),
            jitter_ms=int(raw.get("jitter_ms", 0)),
            seed=int(raw.get("seed", 0)),
            rate_limit=RateLimit(rps=float(rl["rps"]), burst=int(rl.get("burst", 1))) if rl else None,
            rules=[FaultRule.from_json(r) for r in raw.get("rules", [])],
            capacity=CapacityLimit.from_json(capacity) if capacity else None,
        )


class TokenBucket:
    def __init__(self, limit: RateLimit, clock: Any = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self.tokens = float(limit.burst)
        self.stamp = clock()

    def take(self) -> int | None:
        """None when allowed, else the whole seconds until a token is available (the Retry-After value)."""
        now = self._clock()
        self.tokens = min(float(self.limit.burst), self.tokens + (now - self.stamp) * self.limit.rps)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return None
        return max(1, math.ceil((1.0 - self.tokens) / self.limit.rps))


@dataclass
class Decision:
    """The faults chosen for one request, decided once when it arrives (keeps the RNG sequence stable)."""

    pre: FaultRule | None = None
    item_unavailable: FaultRule | None = None
    post: list[FaultRule] = field(default_factory=list)
    rng: random.Random | None = None

    def item_hit(self) -> bool:
        rule = self.item_unavailable
        return rule is not None and self.rng is not None and self.rng.random() < rule.item_probability

    def post_rule(self, kind: str) -> FaultRule | None:
        return next((r for r in self.post if r.kind == kind), None)

    def names(self) -> list[str]:
        out: list[str] = [self.pre.kind] if self.pre else []
        if self.item_unavailable:
            out.append("item_unavailable")
        out.extend(r.kind for r in self.post)
        return out


class FaultEngine:
    def __init__(self, config: FaultConfig | None = None) -> None:
        self.configure(config or FaultConfig())

    def configure(self, config: FaultConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.bucket = TokenBucket(config.rate_limit) if config.rate_limit else None
        # Requests already holding or awaiting a slot finish on the gate they entered.
        self.capacity = Capacity(config.capacity)

    def add_rule(self, rule: FaultRule) -> None:
        self.config.rules.append(rule)

    def latency_s(self) -> float:
        c = self.config
        if c.latency_ms <= 0 and c.jitter_ms <= 0:
            return 0.0
        jitter = self.rng.uniform(0, c.jitter_ms) if c.jitter_ms > 0 else 0.0
        return max(0.0, (c.latency_ms + jitter) / 1000.0)

    def rate_limited(self) -> int | None:
        return self.bucket.take() if self.bucket else None

    def _fires(self, rule: FaultRule) -> bool:
        if rule.probability >= 1.0 or self.rng.random() < rule.probability:
            rule.fired += 1
            return True
        return False

    def decide(self, method: str, path: str) -> Decision:
        decision = Decision(rng=self.rng)
        rules = [r for r in self.config.rules if r.matches(method, path)]
        for rule in rules:
            if rule.kind in PRE_KINDS and self._fires(rule):
                decision.pre = rule
                return decision
        seen: set[str] = set()
        for rule in rules:
            if rule.kind in PRE_KINDS or rule.kind in seen:
                continue
            if self._fires(rule):
                seen.add(rule.kind)
                if rule.kind == "item_unavailable":
                    decision.item_unavailable = rule
                else:
                    decision.post.append(rule)
        return decision
