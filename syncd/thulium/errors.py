"""Exceptions raised by the Thulium client.

The hierarchy mirrors what the caller must *do*, not which HTTP status came back:

- ``ThuliumAuthError``     — fix the configuration; retrying cannot help, every other request fails too.
- ``ThuliumRejected`` / ``ThuliumNotFound`` — permanent for this request; the engine dead-letters or adopts.
- ``ThuliumUnavailable``   — transient, but the client already spent its retry budget; retry the run later.
- ``OutcomeUnknown``       — a write left this machine and its answer was lost; reconcile before re-sending.
- ``ThuliumProtocolError`` — a success status with a body that does not match the documented shape.

Messages never contain request bodies or credentials: the bodies hold phone numbers and e-mail addresses, and
the exceptions end up in logs and in the state DB's ``failures`` table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NotRequired, TypedDict, Unpack

from syncd.errors import Fatal, Retriable, Skippable, SyncdError


@dataclass(frozen=True)
class ErrorDetail:
    """One entry of Thulium's ``errors`` list; ``code`` is Thulium's own error number, not an HTTP status."""

    message: str
    code: int | None = None


class ThuliumError(SyncdError):
    """Base of everything the client raises on purpose; ``method``/``path`` locate the request (no query
    string)."""

    def __init__(self, message: str, *, method: str, path: str) -> None:
        super().__init__(message)
        self.method = method
        self.path = path


class ThuliumAPIError(ThuliumError):
    """Thulium answered with an error status; carries its parsed error body so it can be stored and
    reported."""

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        status_code: int,
        errors: Sequence[ErrorDetail] = (),
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, method=method, path=path)
        self.status_code = status_code
        self.errors: tuple[ErrorDetail, ...] = tuple(errors)
        self.request_id = request_id

    @property
    def messages(self) -> list[str]:
        return [e.message for e in self.errors]

    @property
    def codes(self) -> list[int]:
        return [e.code for e in self.errors if e.code is not None]


class ThuliumAuthError(ThuliumAPIError, Fatal):
    """401/403: the API user or its permissions are wrong. Fatal for the whole run, never retried."""


class ThuliumPermanentError(ThuliumAPIError, Skippable):
    """A request Thulium will refuse again if sent unchanged (validation error, missing object, …)."""


class ThuliumRejected(ThuliumPermanentError):
    """400 (and any other 4xx without a more specific meaning): the request itself is wrong."""


class ThuliumNotFound(ThuliumPermanentError):
    """404 (or 410): the resource or the object does not exist."""


class LastAnswer(TypedDict):
    """Where a transient failure happened and what the server said last, as both transient errors take it."""

    method: str
    path: str
    status_code: NotRequired[int | None]
    request_id: NotRequired[str | None]
    retry_after: NotRequired[float | None]


class TransientFailure(ThuliumError, Retriable):
    """One shape for an attempt that failed in a way safe to repeat, and for the retry budget running out."""

    def __init__(self, message: str, **answer: Unpack[LastAnswer]) -> None:
        super().__init__(message, method=answer["method"], path=answer["path"])
        self.status_code = answer.get("status_code")
        self.request_id = answer.get("request_id")
        self.retry_after = answer.get("retry_after")


class ThuliumUnavailable(TransientFailure):
    """Transient failures (429, 5xx, unreachable) outlasted the retry budget; the request was not applied.

    ``retry_after`` is the server's last ``Retry-After`` in seconds when it asked for more patience than the
    budget allowed — the caller can schedule the next run accordingly.
    """

    def __init__(self, message: str, *, attempts: int, **answer: Unpack[LastAnswer]) -> None:
        super().__init__(message, **answer)
        self.attempts = attempts

    @property
    def last_status(self) -> int | None:
        """The last attempt's HTTP status; ``None`` when Thulium could not be reached at all."""
        return self.status_code


class OutcomeUnknown(ThuliumError, Retriable):
    """A write (POST/PUT/DELETE) left this machine but its response was lost: it may or may not have been
    applied.

    Never retried by the client, because re-sending a create could make a duplicate. ``identifiers`` names
    what was sent (customer identifiers for creates, customer ids for updates/deletes/campaign records) so the
    engine can look the records up and adopt or re-send them.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        identifiers: Sequence[str] = (),
        status_code: int | None = None,
    ) -> None:
        super().__init__(message, method=method, path=path)
        self.identifiers: tuple[str, ...] = tuple(identifiers)
        self.status_code = status_code


class ThuliumProtocolError(ThuliumError, Fatal):
    """A success status whose body is not what the documentation promises (not JSON, wrong shape)."""


class ThuliumGatewayError(ThuliumError, Fatal):
    """A 4xx that is not Thulium's API speaking (no JSON error body): a proxy or gateway in front of it
    refused the request. It says nothing about the items the request carried, so it is never blamed on
    them; it stops the run with its reason."""

    def __init__(self, message: str, *, method: str, path: str, status_code: int) -> None:
        super().__init__(message, method=method, path=path)
        self.status_code = status_code


class ThuliumRequestTooLarge(ThuliumGatewayError):
    """413 or 414: the request (its URL or its body) is bigger than something in front of Thulium takes.

    Nothing was applied; the same items sent in smaller requests may go through.
    """


class RetryableFailure(TransientFailure):
    """Internal signal from ``status`` to ``retry``: this attempt failed in a way that is safe to repeat.

    Never escapes the client — exhausted retries become ``ThuliumUnavailable``.
    """
