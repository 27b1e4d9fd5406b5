"""The HTTP-call retry level (one of the three in DESIGN.md): tenacity with full-jitter backoff and
``Retry-After``.

Only ``RetryableFailure`` is retried — ``status`` decides what is retryable, this module only decides *when*
and *how often*. Two bounds apply: the number of attempts and the total time spent sleeping, so a run never
hangs on a server that keeps answering 503. A ``Retry-After`` is a floor, never shortened: if honouring it
would break the sleep budget the client gives up at once (``ThuliumUnavailable.retry_after`` tells the caller
how long to wait).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import tenacity

from syncd.thulium.errors import RetryableFailure, ThuliumUnavailable

log = logging.getLogger("syncd.thulium")

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` counts the first try; ``max_total_delay`` bounds the sum of all sleeps (seconds)."""

    max_attempts: int = 5
    base_delay: float = 0.5
    max_backoff: float = 30.0
    max_total_delay: float = 120.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_backoff < 0 or self.max_total_delay < 0:
            raise ValueError("retry delays must not be negative")

    def backoff(self, failed_attempts: int) -> float:
        """Full jitter (AWS architecture blog): uniform in [0, min(cap, base·2^(n-1))] — spreads retrying
        workers."""
        ceiling = min(self.max_backoff, self.base_delay * (2 ** (failed_attempts - 1)))
        return self.rng.uniform(0.0, ceiling)


def _failure(state: tenacity.RetryCallState) -> RetryableFailure | None:
    exc = state.outcome.exception() if state.outcome is not None else None
    return exc if isinstance(exc, RetryableFailure) else None


class _Wait(tenacity.wait.wait_base):
    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        delay = self.policy.backoff(retry_state.attempt_number)
        failure = _failure(retry_state)
        if failure is not None and failure.retry_after is not None:
            delay = max(delay, failure.retry_after)
        return delay


class _Stop(tenacity.stop.stop_base):
    """Stop on the attempt bound, or when the next sleep would overrun the total sleep budget."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        if retry_state.attempt_number >= self.policy.max_attempts:
            return True
        return retry_state.idle_for + retry_state.upcoming_sleep > self.policy.max_total_delay


def _log_before_sleep(retry_state: tenacity.RetryCallState) -> None:
    failure = _failure(retry_state)
    if failure is not None:
        line = {"method": failure.method, "path": failure.path, "attempt": retry_state.attempt_number}
        line.update(in_seconds=round(retry_state.upcoming_sleep, 2), error=str(failure))
        log.info("retrying a Thulium request", extra=line)


def _before_sleep(on_retry: Callable[[RetryableFailure], None]) -> Callable[[tenacity.RetryCallState], None]:
    def before_sleep(retry_state: tenacity.RetryCallState) -> None:
        _log_before_sleep(retry_state)
        failure = _failure(retry_state)
        if failure is not None:
            on_retry(failure)

    return before_sleep


def call_with_retries(
    attempt: Callable[[], T],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[RetryableFailure], None] | None = None,
) -> T:
    """Run ``attempt`` until it returns, raises a non-retryable error, or the policy gives up.

    A fresh ``Retrying`` per call keeps concurrent calls from different threads independent.
    ``on_retry`` hears of each failure that is about to be retried (for metrics).
    """
    attempts = 0

    def counted() -> T:
        nonlocal attempts
        attempts += 1
        return attempt()

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(RetryableFailure),
        wait=_Wait(policy),
        stop=_Stop(policy),
        sleep=sleep,
        before_sleep=_log_before_sleep if on_retry is None else _before_sleep(on_retry),
        reraise=True,
    )
    try:
        return retrying(counted)
    except RetryableFailure as last:
        budget_hit = attempts < policy.max_attempts
        reason = (
            f"the server asked to wait {last.retry_after:.1f} s, beyond the retry budget"
            if budget_hit and last.retry_after is not None
            else f"gave up after {attempts} attempt(s)"
        )
        raise ThuliumUnavailable(
            f"Thulium unavailable for {last.method} {last.path}: {reason}; last failure: {last}",
            method=last.method,
            path=last.path,
            attempts=attempts,
            status_code=last.status_code,
            request_id=last.request_id,
            retry_after=last.retry_after,
        ) from last
