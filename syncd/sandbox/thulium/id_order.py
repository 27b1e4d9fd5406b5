"""The live ids of one kind of record in ascending order, so a page of a list costs O(page), not O(N).

A list sorted by id answers ``offset`` paging only by walking it from the start; at a million records the
sandbox spent more time finding each page than syncd spent on it, and the benchmark's curve was the
sandbox's. The ids are kept in blocks of bounded size: reaching position k walks the block lengths (a few
hundred at 1M records), a delete moves at most one block's tail, and ids handed out in order are appended.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator

BLOCK = 1000  # a block splits at twice this size


class IdOrder:
    def __init__(self, block: int = BLOCK) -> None:
        self._block = block
        self._blocks: list[list[int]] = []
        self._maxes: list[int] = []  # the last id of each block, to find an id's block by bisect
        self._len = 0

    def __len__(self) -> int:
        return self._len

    def __contains__(self, record_id: object) -> bool:
        if not isinstance(record_id, int):
            return False
        at = bisect.bisect_left(self._maxes, record_id)
        if at == len(self._blocks):
            return False
        block = self._blocks[at]
        pos = bisect.bisect_left(block, record_id)
        return pos < len(block) and block[pos] == record_id

    def add(self, record_id: int) -> None:
        if not self._blocks:
            self._blocks.append([record_id])
            self._maxes.append(record_id)
        elif record_id > self._maxes[-1]:
            self._blocks[-1].append(record_id)  # the usual case: ids are handed out in order
            self._maxes[-1] = record_id
            self._split(len(self._blocks) - 1)
        else:
            at = bisect.bisect_left(self._maxes, record_id)
            block = self._blocks[at]
            pos = bisect.bisect_left(block, record_id)
            if pos < len(block) and block[pos] == record_id:
                return
            block.insert(pos, record_id)
            self._split(at)
        self._len += 1

    def discard(self, record_id: int) -> None:
        at = bisect.bisect_left(self._maxes, record_id)
        if at == len(self._blocks):
            return
        block = self._blocks[at]
        pos = bisect.bisect_left(block, record_id)
        if pos == len(block) or block[pos] != record_id:
            return
        del block[pos]
        self._len -= 1
        if not block:
            del self._blocks[at]
            del self._maxes[at]
        else:
            self._maxes[at] = block[-1]

    def _split(self, at: int) -> None:
        block = self._blocks[at]
        half = self._block
        if len(block) < 2 * half:
            return
        self._blocks[at : at + 1] = [block[:half], block[half:]]
        self._maxes[at : at + 1] = [block[half - 1], block[-1]]

    def ascending(self, start: int = 0) -> Iterator[int]:
        """The ids from position ``start`` on (0 = the smallest id)."""
        if start < 0:
            start = 0
        for block in self._blocks:
            if start >= len(block):
                start -= len(block)
                continue
            yield from block[start:]
            start = 0

    def descending(self, start: int = 0) -> Iterator[int]:
        """The ids from position ``start`` counted from the largest id (0 = the largest) down."""
        if start < 0:
            start = 0
        for block in reversed(self._blocks):
            if start >= len(block):
                start -= len(block)
                continue
            yield from reversed(block[: len(block) - start])
            start = 0

    def page(self, offset: int, limit: int, *, descending: bool = False) -> list[int]:
        ids = self.descending(offset) if descending else self.ascending(offset)
        out: list[int] = []
        for record_id in ids:
            if len(out) == limit:
                break
            out.append(record_id)
        return out
