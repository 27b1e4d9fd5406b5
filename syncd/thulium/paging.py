"""Offset paging: Thulium's lists take ``limit`` / ``offset`` and say nothing of a next page."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")


def paged(fetch: Callable[[int, int], Sequence[T]], page_size: int) -> Iterator[T]:
    """Every item of ``fetch(limit, offset)``, page after page until a short one."""
    offset = 0
    while True:
        page = fetch(page_size, offset)
        yield from page
        if len(page) < page_size:
            return
        offset += len(page)
