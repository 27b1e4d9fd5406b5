"""The protocols an activity run drives, and what writing a page of rows reports back.

syncd.state keeps the cursor and failures (``ActivityState``), syncd.source writes the
tenant's activity tables (``Sink``); time is the engine's ``Clock``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from syncd.engine.activity.convert import Row
from syncd.engine.ports import Commit
from syncd.engine.records import Position


@dataclass
class Written:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


class ActivityState(Protocol):
    def cursor(self, stream: str) -> Position | None: ...

    def commit(self, stream: str, commit: Commit) -> None: ...

    def open_failure_keys(self, stream: str) -> set[str]: ...

    def source_keys_of(self, customer_ids: Sequence[int]) -> dict[int, tuple[str, str]]: ...


class Sink(Protocol):
    def write(self, rows: Sequence[Row]) -> Written: ...
