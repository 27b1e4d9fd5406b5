"""Thulium's error envelope, shared by every route so all failures look alike to the client."""

from __future__ import annotations

import itertools
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

_counter = itertools.count(1)

# Numeric codes are not documented per message; these are stable within the sandbox so tests can pin them.
CODE_AUTH = 100001
CODE_NOT_FOUND = 100404
CODE_METHOD = 100405
CODE_INVALID_JSON = 100400
CODE_BAD_PARAM = 100410
CODE_SERVER = 100500
CODE_UNAVAILABLE = 100503
CODE_RATE = 100429
CODE_VALIDATION = 111111
CODE_CONFLICT = 222222


def new_request_id() -> str:
    """Thulium ids look like ``53678450401cf`` (13 hex chars); support asks for them, so never reuse one."""
    return f"{next(_counter):05x}{secrets.token_hex(4)}"


@dataclass(frozen=True)
class ErrorItem:
    message: str
    code: int = CODE_VALIDATION

    def as_json(self) -> dict[str, Any]:
        return {"message": self.message, "code": self.code}


@dataclass
class ApiError(Exception):
    """Raised anywhere inside a route; the middleware renders it in the documented envelope."""

    status: int
    errors: list[ErrorItem] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def one(cls, status: int, message: str, code: int = CODE_VALIDATION) -> ApiError:
        return cls(status, [ErrorItem(message, code)])

    def with_headers(self, headers: dict[str, str]) -> ApiError:
        self.headers.update(headers)
        return self

    def __str__(self) -> str:
        return f"{self.status}: " + "; ".join(e.message for e in self.errors)


def error_body(errors: list[ErrorItem]) -> dict[str, Any]:
    return {"request_id": new_request_id(), "errors": [e.as_json() for e in errors]}


def error_response(err: ApiError) -> web.Response:
    return web.Response(
        status=err.status,
        text=json.dumps(error_body(err.errors)),
        content_type="application/json",
        headers=err.headers,
    )
