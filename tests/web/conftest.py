"""The web app served for real on a free 127.0.0.1 port, from an event loop in a thread of the test process.

A thread rather than a child process so the test can read the same state DB files while the app
runs; over real TCP so the sandbox process can post its webhooks to it like Thulium would.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from aiohttp import web

from syncd.settings import ProcessSettings
from syncd.web.app import create_app

T = TypeVar("T")
START_TIMEOUT_S = 30.0


class ServedApp:
    def __init__(self, settings: ProcessSettings) -> None:
        self.settings = settings
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="syncd-web", daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServedApp:
        self._thread.start()
        self.port = self._call(self._start())
        return self

    def stop(self) -> None:
        try:
            if self._runner is not None:
                self._call(self._runner.cleanup())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=START_TIMEOUT_S)
            self._loop.close()

    async def _start(self) -> int:
        self._runner = web.AppRunner(create_app(self.settings))
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        _host, port, *_ = self._runner.addresses[0]
        return int(port)

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=START_TIMEOUT_S)
