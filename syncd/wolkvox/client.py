"""The one Wolkvox report syncd reads: ``chat_13`` (chats closed per channel), over HTTP.

Wolkvox answers errors in the body as well as in the status; both are turned into ``WolkvoxError``
with the code and message, and the token never appears in a message or a log line.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import httpx

from syncd.engine.activity.periods import wolkvox_time
from syncd.errors import Retriable

log = logging.getLogger("syncd.wolkvox")
REPORT_PATH = "/api/v2/reports_manager.php"


class WolkvoxError(RuntimeError, Retriable):
    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class WolkvoxClient:
    def __init__(self, base_url: str, token: str, *, timeout: float = 60.0) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"wolkvox-token": token, "Accept": "application/json"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        )

    def close(self) -> None:
        self._http.close()

    def chats_closed_by_channel(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """``chat_13`` for ``[start, end]``: the ``data`` list as sent (``chanel`` sic, counts as text)."""
        params = {"api": "chat_13", "date_ini": wolkvox_time(start), "date_end": wolkvox_time(end)}
        try:
            response = self._http.get(REPORT_PATH, params=params)
        except httpx.HTTPError as exc:
            raise WolkvoxError(f"chat_13: {type(exc).__name__}") from None
        body = self._json(response)
        code = str(body.get("code", "")) if isinstance(body, dict) else ""
        if response.status_code != 200 or code not in ("200", ""):
            message = body.get("error") or body.get("msg") if isinstance(body, dict) else None
            log.warning("wolkvox chat_13 refused", extra={"status": response.status_code, "code": code})
            raise WolkvoxError(
                f"chat_13: HTTP {response.status_code}, code {code or '-'}: {message or 'no message'}",
                status=response.status_code,
                code=code or None,
            )
        data = body.get("data") if isinstance(body, dict) else None
        if data is None:
            return []
        if not isinstance(data, list):
            raise WolkvoxError("chat_13: data is not a list", status=response.status_code, code=code)
        return data

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise WolkvoxError(
                f"chat_13: HTTP {response.status_code}, the body is not JSON", status=response.status_code
            ) from None
