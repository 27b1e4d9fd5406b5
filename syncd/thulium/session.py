"""The one request path every resource goes through: gate → count → send → ``status`` decides → ``retry``
repeats what is safe to repeat → failures logged.

Resources (``syncd/thulium/resources/``) say *what* to ask and how to read the answer; this module alone
says how a request is sent, so retries, pacing, counting, metrics and logging behave the same for every
endpoint. It sends through an ``httpx.Client`` whose transport is the seam tests replace (as httpx's own
``BaseTransport.handle_request`` is): ``httpx.MockTransport`` runs the whole path in-process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from syncd.thulium import status
from syncd.thulium.encoding import Params
from syncd.thulium.errors import (
    OutcomeUnknown,
    RetryableFailure,
    ThuliumAuthError,
    ThuliumError,
    ThuliumNotFound,
    ThuliumUnavailable,
)
from syncd.thulium.retry import RetryPolicy, call_with_retries

log = logging.getLogger("syncd.thulium")

# What front proxies commonly take in a request line (nginx: 8 KB buffers); the document states no bound.
DEFAULT_MAX_URL_BYTES = 8192


class RequestGate(Protocol):
    """Hook called before every HTTP attempt (retries included): a shared rate limiter or circuit breaker.

    It may block to pace requests, or raise to refuse one (its exception propagates to the caller unchanged).
    A gate that learns from outcomes (429 pauses, a circuit breaker) also defines
    ``after_response(status, retry_after)``, told of every answered attempt (``status`` None: no answer);
    it must not raise.
    """

    def before_request(self, method: str, path: str) -> None: ...


class RequestObserver(Protocol):
    """Told about every HTTP attempt and every retry, by endpoint template (``PUT customers/:id``) only.

    How metrics get in without the client importing a metrics library; it must not raise.
    """

    def request_done(self, endpoint: str, status: int | None, seconds: float) -> None:
        """``status`` is None when no response came (connect error, timeout)."""

    def retrying(self, endpoint: str, reason: str) -> None:
        """``reason``: the HTTP status that is retried, or ``transport``."""


@dataclass(frozen=True)
class Timeouts:
    """Seconds. ``connect`` is short because a connect failure is always safe to retry; ``read`` covers big
    batches."""

    connect: float = 5.0
    read: float = 30.0
    write: float = 30.0
    pool: float = 10.0

    def to_httpx(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.write, pool=self.pool)


class ApiSession:
    """Sends requests for the resources of one client; safe to share between threads."""

    def __init__(
        self,
        connect: Callable[[], httpx.Client],
        user: str,
        *,
        retry: RetryPolicy | None = None,
        gate: RequestGate | None = None,
        observer: RequestObserver | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_url_bytes: int = DEFAULT_MAX_URL_BYTES,
    ) -> None:
        self.user = user
        self.max_url_bytes = max_url_bytes
        self.observer = observer
        self._connect = connect
        self._client: httpx.Client | None = None
        self._closed = False
        self._retry = retry or RetryPolicy()
        self._gate = gate
        # A gate that paces by outcomes (429 pauses, 5xx trips a breaker) also has ``after_response``.
        self._learn: Callable[[int | None, float | None], None] | None = getattr(gate, "after_response", None)
        self._sleep = sleep
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            client, self._client, self._closed = self._client, None, True
        if client is not None:
            client.close()

    @property
    def _http(self) -> httpx.Client:
        """Made on first use: a run with nothing to send never builds a connection pool or a TLS
        context (a tenth of its start-up)."""
        client = self._client
        if client is None:
            with self._lock:
                if self._closed:
                    raise RuntimeError("the Thulium client is closed")
                if self._client is None:
                    self._client = self._connect()
                client = self._client
        return client

    def request_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def requests_sent(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def request_target(self, method: str, path: str) -> bytes:
        """The request line's target for ``path`` as it would be sent (base path included, no query)."""
        return self._http.build_request(method, path).url.raw_path

    def get(self, endpoint: str, path: str, params: Params | None = None) -> Any:
        """The JSON body of a GET; a body that does not parse is read again."""
        bodies: list[Any] = []
        self.call("GET", endpoint, path, params=params, read=bodies.append)
        return bodies[-1]

    def call(
        self,
        method: str,
        endpoint: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        identifiers: Sequence[str] = (),
        read: Callable[[Any], None] | None = None,
        replayable_post: bool = False,
    ) -> httpx.Response:
        """``read`` takes the JSON body of each answered attempt; a body that does not parse is retried.
        ``replayable_post``: Thulium answers a repeat of this POST idempotently (it is not a create)."""
        ctx = status.RequestContext(
            method=method,
            path=path,
            endpoint=endpoint,
            api_user=self.user,
            identifiers=tuple(identifiers),
            replayable_post=replayable_post,
        )
        attempt_no = 0

        def attempt() -> httpx.Response:
            nonlocal attempt_no
            attempt_no += 1
            self._admit(ctx)
            try:
                response = self._send(ctx, params, json)
                if read is not None:
                    read(status.get_body(ctx, response))
            except ThuliumError as exc:
                _log_failure(exc, attempt_no)
                raise
            return response

        def retrying(failure: RetryableFailure) -> None:
            if self.observer is not None:
                reason = "transport" if failure.status_code is None else str(failure.status_code)
                self.observer.retrying(endpoint, reason)

        try:
            return call_with_retries(attempt, self._retry, sleep=self._sleep, on_retry=retrying)
        except ThuliumUnavailable as exc:
            line = {"method": method, "path": path, "status": exc.last_status, "request_id": exc.request_id}
            log.error("Thulium request gave up", extra={**line, "attempts": exc.attempts})
            raise

    def _admit(self, ctx: status.RequestContext) -> None:
        """Paced by the gate (whose refusal propagates unchanged), then counted as sent."""
        if self._gate is not None:
            self._gate.before_request(ctx.method, ctx.path)
        with self._lock:
            self._counts[ctx.endpoint] += 1

    def _send(self, ctx: status.RequestContext, params: Params | None, json: Any) -> httpx.Response:
        """One attempt, observed and judged by ``status``."""
        started = time.monotonic()
        try:
            response = self._http.request(ctx.method, ctx.path, params=tuple(params or ()), json=json)
        except httpx.RequestError as exc:
            self._observe(ctx.endpoint, None, started)
            if self._learn is not None:
                self._learn(None, None)
            status.raise_for_transport_error(ctx, exc)
        self._observe(ctx.endpoint, response.status_code, started)
        if self._learn is not None:
            self._learn(response.status_code, status.parse_retry_after(response.headers.get("Retry-After")))
        status.check_response(ctx, response)
        return response

    def _observe(self, endpoint: str, status_code: int | None, started: float) -> None:
        if self.observer is not None:
            self.observer.request_done(endpoint, status_code, time.monotonic() - started)


def _log_failure(exc: ThuliumError, attempt: int) -> None:
    """One line per failed attempt: method, path, status, request_id — never headers, bodies or query
    strings."""
    status_code = getattr(exc, "status_code", None)
    request_id = getattr(exc, "request_id", None)
    if isinstance(exc, ThuliumNotFound):
        level = logging.INFO  # routine for existence checks
    elif isinstance(exc, ThuliumAuthError | OutcomeUnknown):
        level = logging.ERROR
    else:
        level = logging.WARNING
    kind = "retryable" if isinstance(exc, RetryableFailure) else type(exc).__name__
    line = {"method": exc.method, "path": exc.path, "status": status_code, "request_id": request_id}
    log.log(level, "Thulium request failed", extra={**line, "attempt": attempt, "kind": kind})


class Resource:
    """One API area of the client: every request it makes goes down the one shared session."""

    def __init__(self, session: ApiSession) -> None:
        self._session = session
