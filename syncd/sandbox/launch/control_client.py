"""What the two control clients (``SandboxControl``, ``WolkvoxControl``) share: an httpx client on the control
prefix, and one rule for a refusal, raised with method, path, status and body so that a failing test says
what the simulator answered."""

from __future__ import annotations

from typing import Any, ClassVar, Self

import httpx


class ControlError(RuntimeError):
    pass


class ControlClient:
    prefix: ClassVar[str]
    """The control API's path below the server root (``/_sandbox``, ``/_control``)."""
    error: ClassVar[type[ControlError]]

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        """``base_url`` is the server root, e.g. ``http://127.0.0.1:43121``."""
        self._http = httpx.Client(base_url=base_url.rstrip("/") + self.prefix, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def health(self) -> bool:
        """Both control APIs answer ``GET health`` with ``{"ok": true}``."""
        return bool(self._call("GET", "/health")["ok"])

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Any:
        extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        resp = self._http.request(method, path, json=json, params=params, **extra)
        if resp.status_code >= 400:
            raise self.error(f"{method} {self.prefix}{path} -> {resp.status_code}: {resp.text}")
        return resp.json() if resp.content else None
