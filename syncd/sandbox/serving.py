"""The child's side of running a simulator in its own process (the launcher's side is
``syncd.sandbox.launch.child_process``). The protocol both sides keep: the child binds the port it is given
(0 = any free one), prints ``<PREFIX><port>`` as its first stdout line, then serves until SIGTERM.

Shared by both simulators, so each ``main`` says only its prefix and its app."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web


def announce_port(prefix: str, port: int) -> None:
    """Flushed at once: the launcher is blocked on this line, and a pipe would otherwise buffer it."""
    sys.stdout.write(f"{prefix}{port}\n")
    sys.stdout.flush()


async def serve_runner(
    runner: web.AppRunner, host: str, port: int, *, ready: Callable[[int], None] | None = None
) -> None:
    """Runs until cancelled. ``ready`` gets the port actually bound, which is what makes port 0 usable."""
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    sockets = getattr(site._server, "sockets", None) or []
    bound = int(sockets[0].getsockname()[1]) if sockets else port
    if ready is not None:
        ready(bound)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def run_until_signalled(serving: Coroutine[Any, Any, None]) -> None:
    """SIGTERM/SIGINT cancel ``serving`` instead of killing the process, so its cleanup runs and a launcher's
    ``terminate()`` ends the child promptly and quietly."""

    async def main() -> None:
        task = asyncio.ensure_future(serving)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(main())
