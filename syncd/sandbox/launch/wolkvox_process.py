"""Start the Wolkvox simulator as a separate process (see ``ChildServer`` for why). Each process gets a fresh
random token, so a client that ignores the configured token fails."""

from __future__ import annotations

import secrets
from pathlib import Path

from syncd.sandbox.launch.child_process import ChildServer
from syncd.sandbox.launch.wolkvox_control import WolkvoxControl
from syncd.sandbox.wolkvox.main import PORT_LINE_PREFIX
from syncd.sandbox.wolkvox.state import REPORT_PATH, TOKEN_ENV, token_label


class WolkvoxProcess(ChildServer[WolkvoxControl]):
    """``with WolkvoxProcess(min_poll_seconds=1) as wv: httpx.get(wv.url, params=..., headers=wv.headers)``"""

    module = "syncd.sandbox.wolkvox"
    slug = "wolkvox"
    display_name = "wolkvox sandbox"
    port_line_prefix = PORT_LINE_PREFIX

    def __init__(
        self,
        *,
        min_poll_seconds: float = 300.0,
        latency_ms: int = 0,
        max_concurrent: int = 2,
        token: str | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__(host=host)
        self.min_poll_seconds = min_poll_seconds
        self.latency_ms = latency_ms
        self.max_concurrent = max_concurrent
        self.token = token or secrets.token_urlsafe(24)

    @property
    def url(self) -> str:
        """The report endpoint (``…/api/v2/reports_manager.php``)."""
        return self.base_url + REPORT_PATH

    @property
    def headers(self) -> dict[str, str]:
        return {"wolkvox-token": self.token}

    @property
    def token_label(self) -> str:
        """How stats and the log name this process's token."""
        return token_label(self.token)

    def _extra_args(self, tmp: Path) -> list[str]:
        return [
            "--min-poll-seconds",
            str(self.min_poll_seconds),
            "--latency-ms",
            str(self.latency_ms),
            "--max-concurrent",
            str(self.max_concurrent),
        ]

    def _extra_env(self) -> dict[str, str]:
        return {TOKEN_ENV: self.token}

    def _connect(self) -> WolkvoxControl:
        return WolkvoxControl(self.base_url)
