"""The ONE place that decides what a whole-request outcome means: an HTTP status or a transport failure.

Per-item statuses inside a 207 are deliberately *not* judged here — the client only parses them and
``engine/resolve.py`` decides. Keeping the whole-request table in one module means the retry policy, the
logging and the engine all agree on which failures are transient, which are permanent and which leave a
write's fate unknown.

| outcome                                       | GET          | PUT, DELETE, replayable POST| create (POST) |
|-----------------------------------------------|--------------|-----------------------------|---------------|
| 2xx (incl. 207)                               | ok           | ok                          | ok            |
| 401, 403                                      | AuthError    | AuthError                   | AuthError     |
| 404, 410                                      | NotFound     | NotFound                    | NotFound      |
| 408, 429                                      | retry        | retry                       | retry         |
| 500-503, 505+                                 | retry        | retry                       | Unknown       |
| 504 (a gateway gave up waiting for Thulium)   | retry        | Unknown                     | Unknown       |
| 413, 414 (too large for what stands in front) | TooLarge     | TooLarge                    | TooLarge      |
| other 4xx with Thulium's JSON error body      | Rejected     | Rejected                    | Rejected      |
| other 4xx without it (HTML from a proxy)      | GatewayError | GatewayError                | GatewayError  |
| 1xx, 3xx (redirects are not followed)         | Protocol     | Protocol                    | Protocol      |
| connect error/timeout, pool timeout           | retry        | retry (never sent)          | retry         |
| read/write timeout or error, dropped response | retry        | Unknown                     | Unknown       |
| 2xx whose body is not JSON (cut off)          | retry        | (each write's parser)       | (its parser)  |

(``Thulium…`` names without the prefix: ``Unknown`` is ``OutcomeUnknown``, ``TooLarge`` is
``ThuliumRequestTooLarge``, ``Protocol`` is ``ThuliumProtocolError``.)

A 5xx is "an internal error while processing the request": the document promises no rollback, so a create
answered 5xx may have been applied, and repeating it could make a duplicate — its outcome is unknown, and the
engine settles it by looking the records up. Writes that are safe to repeat (PUT, DELETE, and POSTs Thulium
answers idempotently, such as campaign batch adds with ``ALREADY_EXISTS``) are retried. 504 on any write is
the textbook lost response: the request reached Thulium, which may still be applying it.
"""

from __future__ import annotations

import email.utils
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn

import httpx

from syncd.thulium.errors import (
    ErrorDetail,
    OutcomeUnknown,
    RetryableFailure,
    ThuliumAuthError,
    ThuliumError,
    ThuliumGatewayError,
    ThuliumNotFound,
    ThuliumProtocolError,
    ThuliumRejected,
    ThuliumRequestTooLarge,
)
from syncd.thulium.schemas import as_int

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Failures where httpx guarantees the request never reached the server.
_NEVER_SENT: tuple[type[Exception], ...] = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Client-side misuse: repeating it changes nothing and nothing was sent.
_CLIENT_BUG: tuple[type[Exception], ...] = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)

_RETRYABLE_STATUSES = frozenset({408, 429})


@dataclass(frozen=True)
class RequestContext:
    """What the status decisions need to know about the request; ``path`` never includes the query string."""

    method: str
    path: str
    endpoint: str
    api_user: str
    identifiers: tuple[str, ...] = ()
    # A POST is a create unless its caller says Thulium answers a repeat of it idempotently.
    replayable_post: bool = False

    @property
    def idempotent(self) -> bool:
        return self.method in IDEMPOTENT_METHODS

    @property
    def replayable(self) -> bool:
        """Repeating it can never make a second record (reads, PUT, DELETE, idempotent POSTs)."""
        return self.method != "POST" or self.replayable_post


def thulium_error_body(response: httpx.Response) -> dict[str, Any] | None:
    """Thulium's own error body is a JSON object; a proxy's is an HTML page or nothing."""
    try:
        body: Any = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return None
    return body if isinstance(body, dict) else None


def parse_error_body(response: httpx.Response) -> tuple[list[ErrorDetail], str | None]:
    """Read Thulium's ``{"request_id", "errors": [{"message", "code"}]}``, tolerating anything else."""
    body = thulium_error_body(response)
    if body is None:
        return [], None
    rid = body.get("request_id")
    request_id = str(rid) if isinstance(rid, str | int) and not isinstance(rid, bool) and str(rid) else None
    details: list[ErrorDetail] = []
    raw_errors = body.get("errors")
    if isinstance(raw_errors, list):
        for item in raw_errors:
            if isinstance(item, dict):
                details.append(
                    ErrorDetail(message=str(item.get("message", "")), code=as_int(item.get("code")))
                )
            elif isinstance(item, str):
                details.append(ErrorDetail(message=item))
    elif isinstance(body.get("message"), str):
        details.append(ErrorDetail(message=body["message"], code=as_int(body.get("code"))))
    return details, request_id


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait per a ``Retry-After`` header (delay-seconds or HTTP-date); ``None`` if
    absent/unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def _join(details: Sequence[ErrorDetail]) -> str:
    text = "; ".join(d.message for d in details if d.message)
    return text or "no error message in the response"


def _rid(request_id: str | None) -> str:
    return f" [request_id={request_id}]" if request_id else ""


def check_response(ctx: RequestContext, response: httpx.Response) -> None:
    """Return if the whole request succeeded; otherwise raise the exception that says what to do next."""
    code = response.status_code
    if 200 <= code < 300:
        return
    details, request_id = parse_error_body(response)
    common: dict[str, Any] = {
        "method": ctx.method,
        "path": ctx.path,
        "status_code": code,
        "errors": details,
        "request_id": request_id,
    }
    if code == 401:
        raise ThuliumAuthError(
            f"Thulium rejected the credentials of API user {ctx.api_user!r} (401): "
            f"check the tenant's user / password_env{_rid(request_id)}",
            **common,
        )
    if code == 403:
        raise ThuliumAuthError(
            f"Thulium API user {ctx.api_user!r} is not allowed to call {ctx.endpoint} (403): grant it this "
            f"permission in the Thulium panel (Administration > Users > API users){_rid(request_id)}",
            **common,
        )
    if (code == 504 and not ctx.idempotent) or (code >= 500 and not ctx.replayable):
        raise OutcomeUnknown(
            f"{ctx.method} {ctx.path}: answered {code} after the request reached Thulium, which promises "
            f"no rollback; it may or may not have been applied{_rid(request_id)}",
            method=ctx.method,
            path=ctx.path,
            identifiers=ctx.identifiers,
            status_code=code,
        )
    if code in (413, 414):
        raise ThuliumRequestTooLarge(
            f"{ctx.endpoint} → {code}: the request is too large for Thulium or a proxy in front of it "
            "(nothing was applied)",
            method=ctx.method,
            path=ctx.path,
            status_code=code,
        )
    if code in _RETRYABLE_STATUSES or code >= 500:
        raise RetryableFailure(
            f"{ctx.endpoint} → {code}{_rid(request_id)}",
            method=ctx.method,
            path=ctx.path,
            status_code=code,
            request_id=request_id,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    if 400 <= code < 500 and thulium_error_body(response) is None:
        kind = response.headers.get("Content-Type", "no content type").split(";")[0]
        raise ThuliumGatewayError(
            f"{ctx.endpoint} → {code} with a body that is not Thulium's JSON error ({kind}): a proxy or "
            "gateway in front of Thulium refused the request; check thulium.url and what stands before it",
            method=ctx.method,
            path=ctx.path,
            status_code=code,
        )
    if code in (404, 410):
        raise ThuliumNotFound(f"{ctx.endpoint} → {code}: {_join(details)}{_rid(request_id)}", **common)
    if 400 <= code < 500:
        raise ThuliumRejected(f"{ctx.endpoint} → {code}: {_join(details)}{_rid(request_id)}", **common)
    raise ThuliumProtocolError(
        f"{ctx.endpoint} → unexpected HTTP {code} (redirects are not followed: check base_url)",
        method=ctx.method,
        path=ctx.path,
    )


def raise_for_transport_error(ctx: RequestContext, exc: httpx.RequestError) -> NoReturn:
    """Turn an httpx failure into retry / OutcomeUnknown / fatal according to whether the request may have
    left."""
    kind = type(exc).__name__
    if isinstance(exc, _NEVER_SENT):
        raise RetryableFailure(
            f"{ctx.endpoint}: could not reach Thulium ({kind}: {exc})", method=ctx.method, path=ctx.path
        ) from exc
    if isinstance(exc, _CLIENT_BUG):
        raise ThuliumError(
            f"{ctx.endpoint}: the request could not be built ({kind}: {exc})",
            method=ctx.method,
            path=ctx.path,
        ) from exc
    if ctx.idempotent:
        raise RetryableFailure(
            f"{ctx.endpoint}: the response was lost ({kind}: {exc})", method=ctx.method, path=ctx.path
        ) from exc
    raise OutcomeUnknown(
        f"{ctx.method} {ctx.path}: the request was sent but its response was lost ({kind}); "
        "it may or may not have been applied",
        method=ctx.method,
        path=ctx.path,
        identifiers=ctx.identifiers,
    ) from exc


def get_body(ctx: RequestContext, response: httpx.Response) -> Any:
    """A GET cut off mid-body (a dropped connection, a proxy) is read again, not taken as a broken API:
    reading is always safe to repeat."""
    try:
        return response.json()
    except ValueError:
        raise RetryableFailure(
            f"{ctx.endpoint}: HTTP {response.status_code} with a body that is not JSON (truncated?)",
            method=ctx.method,
            path=ctx.path,
            status_code=response.status_code,
        ) from None
