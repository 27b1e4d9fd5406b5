"""The launcher's side of running a simulator as a child process (the child's side, and the protocol both
keep, is ``syncd.sandbox.serving``): start it on port 0, wait for its ``<PREFIX><port>`` line, and end it with
SIGTERM (then SIGKILL if it hangs)."""

from __future__ import annotations

import abc
import os
import queue
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import IO, ClassVar, Generic, Protocol, Self, TypeVar

START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 5.0


class ChildStartError(RuntimeError):
    """One class for both simulators (the message names which): no caller treats them differently."""


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
    def pid(self) -> int | None:
        """The child's process id while it runs (a benchmark reads the child's CPU time by it)."""
        return self._proc.pid if self._proc is not None else None

    @property
    def control(self) -> ControlT:
        if self._control is None:
            raise ChildStartError(f"{self.display_name} is not running")
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
            raise ChildStartError(
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
