"""Closed chats, the one kind of data the Wolkvox simulator serves (``chat_13`` counts them per channel)."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from syncd.engine.wallclock import parse_wall_clock

CHANNELS = ("facebook", "instagram", "web", "whatsapp")
CHANNEL_WEIGHTS = (20, 10, 25, 45)
STORE_FORMAT = "%Y-%m-%d %H:%M:%S"


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
