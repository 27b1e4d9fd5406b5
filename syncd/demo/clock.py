"""Demo timestamps: never going back, and often repeating, so cursor ties are common."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

STEPS = (0, 0, 1, 1, 2, 5, 60)


class Clock:
    def __init__(self, start: datetime, rng: random.Random, steps: tuple[int, ...] = STEPS) -> None:
        self.now = start
        self.rng = rng
        self.steps = steps

    def tick(self) -> datetime:
        """The current time, then move on by 0 or more seconds."""
        current = self.now
        self.now += timedelta(seconds=self.rng.choice(self.steps))
        return current
