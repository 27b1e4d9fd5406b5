"""The one way a test waits: on a state or an event, never on time passing.

``wait_until`` polls a predicate (a row in the state DB, a line in a log, a sandbox counter, a
process's exit) and returns its first truthy result. The timeout is only a bound for a test that
would otherwise hang: it is generous (half the default test timeout), so a loaded machine makes a
test slower, never red. A wait that needs a different bound says why.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")

# pyproject's pytest timeout is 120 s; no single wait should come near it
PATIENCE = 60.0


def wait_until(
    what: str,
    check: Callable[[], T | None],
    timeout: float = PATIENCE,
    poll: float = 0.05,
    context: Callable[[], str] = lambda: "",
    ignoring: tuple[type[BaseException], ...] = (),
) -> T:
    """``check()``'s first truthy result, or an AssertionError naming ``what`` (and ``context()``).

    ``ignoring``: exceptions that mean "not yet" (a server that is not listening yet).
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except ignoring:
            result = None
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{context()}")
        time.sleep(poll)


# A test whose work is many whole `syncd` processes one after another (or thousands of engine steps): each
# start costs about half a second of CPU, so at `-n 8` on 2 CPUs, with other work on the machine, such a test
# legitimately takes minutes. Its bound says so, rather than sitting near the default 120 s.
HEAVY = pytest.mark.timeout(300)
