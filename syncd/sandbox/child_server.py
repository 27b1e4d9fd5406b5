"""Both ends of running a simulator as a child process, kept together because they share one small protocol:
the child binds port 0 and prints ``<PREFIX><port>`` as its first stdout line, then serves until SIGTERM;
the launcher waits for that line, and ends the child with SIGTERM (then SIGKILL if it hangs)."""

from __future__ import annotations

import abc
import asyncio
import contextlib
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import TracebackType
from typing import IO, Any, ClassVar, Generic, Protocol, Self, TypeVar

from aiohttp import web

START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 5.0


# --- child side ---------------------------------------------------------------------------------------


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


# --- launcher side ------------------------------------------------------------------------------------


class _Closeable(Protocol):
    def close(self) -> None: ...


ControlT = TypeVar("ControlT", bound=_Closeable)


class ChildServer(abc.ABC, Generic[ControlT]):
    """A simulator in its own process, so the code under test talks to it over real sockets and a hung or
    killed client never takes the simulator down with it. Subclasses say only what differs: the module to
    run, its extra arguments and environment, and the control client."""

    module: ClassVar[str]
    """Run as ``python -m <module> --host <host> --port 0 <extra args>``."""
    slug: ClassVar[str]
    """Names the temp dir and the log file."""
    display_name: ClassVar[str]
    """Names the server in error messages."""
    port_line_prefix: ClassVar[str]
    start_error: ClassVar[type[RuntimeError]]

    def __init__(self, *, host: str) -> None:
        self.host = host
        self.port = 0
        self.log_path: Path | None = None
        self._proc: subprocess.Popen[str] | None = None
        self._control: ControlT | None = None
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None

    @abc.abstractmethod
    def _extra_args(self, tmp: Path) -> list[str]:
        """``tmp`` lives as long as the process, for files the child reads at startup."""

    @abc.abstractmethod
    def _extra_env(self) -> dict[str, str]:
        """For secrets, which must not show in argv (``ps`` shows argv)."""

    @abc.abstractmethod
    def _connect(self) -> ControlT: ...

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def control(self) -> ControlT:
        if self._control is None:
            raise self.start_error(f"{self.display_name} is not running")
        return self._control

    def start(self) -> Self:
        self._tmpdir = tempfile.TemporaryDirectory(prefix=f"syncd-{self.slug}-")
        tmp = Path(self._tmpdir.name)
        cmd = [sys.executable, "-m", self.module, "--host", self.host, "--port", "0", *self._extra_args(tmp)]
        env = {**os.environ, **self._extra_env()}
        self.log_path = tmp / f"{self.slug}.log"
        with self.log_path.open("w", encoding="utf-8") as log_file:
            self._proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log_file, env=env, text=True)
        self.port = self._wait_for_port(self._proc)
        self._control = self._connect()
        return self

    def _wait_for_port(self, proc: subprocess.Popen[str]) -> int:
        lines: queue.Queue[str | None] = queue.Queue()
        assert proc.stdout is not None
        threading.Thread(target=_drain, args=(proc.stdout, lines), daemon=True).start()
        try:
            line = lines.get(timeout=START_TIMEOUT_S)
        except queue.Empty:
            line = None
        if line is None or not line.startswith(self.port_line_prefix):
            # Read before stop(): stopping deletes the temp dir, log included.
            detail = self.log_path.read_text(encoding="utf-8")[-2000:] if self.log_path else ""
            self.stop()
            raise self.start_error(
                f"{self.display_name} did not start (first line {line!r}); stderr:\n{detail}"
            )
        return int(line[len(self.port_line_prefix) :])

    def stop(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT_S)
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _drain(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    """Hands over the first line and keeps reading, so the child never blocks on a full pipe; closes the pipe
    at its end (the child gone), which nothing else could do safely while this thread reads it."""
    first = True
    with stream:
        for line in stream:
            if first:
                lines.put(line.strip())
                first = False
    if first:
        lines.put(None)
