"""The protocols the engine drives; adapters in syncd.source, syncd.state and syncd.thulium implement them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

from syncd.engine.records import Position, SourceRow


class Source(Protocol):
    """Read-only access to one tenant's source database, per stream ("companies", "customers")."""

    def read_changed(self, stream: str, after: Position | None) -> Iterator[SourceRow]:
        """Rows with ``(updated_at, key) > after`` in that order, soft-deleted ones included.

        The upper bound is fixed when the call starts (rows committed later wait for the
        next run), the stream's lookback window is re-read, and rows are streamed in pages.
        ``after=None`` reads the whole stream, which is what a full reconcile does.
        """
        ...

    def read_keys(self, stream: str, keys: Iterable[str]) -> list[SourceRow]:
        """The current rows for these keys (missing keys are simply absent)."""
        ...
