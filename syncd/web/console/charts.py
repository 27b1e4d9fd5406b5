"""A day of runs as 24 hourly buckets, drawn as an inline SVG sparkline: no script, no chart library.

A page an ops person glances at needs the shape (did syncing stop at 03:00? are runs getting
longer?), not axes; the numbers are in the tables and in the title of each chart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

HOURS = 24
WIDTH, HEIGHT = 120, 24


@dataclass(frozen=True)
class Series:
    values: tuple[float, ...]  # oldest hour first; the last is the hour now running

    @property
    def peak(self) -> float:
        return max(self.values, default=0.0)

    @property
    def total(self) -> float:
        return sum(self.values)

    def points(self) -> str:
        """The SVG polyline's points, scaled to the peak (a flat line along the bottom when all 0)."""
        peak = self.peak or 1.0
        step = WIDTH / max(len(self.values) - 1, 1)
        return " ".join(
            f"{i * step:.1f},{HEIGHT - 1 - (value / peak) * (HEIGHT - 2):.1f}"
            for i, value in enumerate(self.values)
        )


def hourly(samples: Iterable[tuple[datetime, float]], now: datetime, *, total: bool) -> Series:
    """Each sample into the hour it started in; per hour the sum (``total``) or the largest."""
    buckets = [0.0] * HOURS
    start = now - timedelta(hours=HOURS)
    for moment, value in samples:
        index = int((moment - start).total_seconds() // 3600)
        if 0 <= index < HOURS:
            buckets[index] = buckets[index] + value if total else max(buckets[index], value)
    return Series(tuple(buckets))
