"""Start the sandbox as a separate process, so the code under test talks to it over real sockets and a hung
or killed client never takes the simulator down with it."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from syncd.sandbox.app import DEFAULT_PASSWORD, DEFAULT_USER, PASSWORD_ENV, PORT_LINE_PREFIX
from syncd.sandbox.client_control import SandboxControl
from syncd.sandbox.faults import FaultConfig

START_TIMEOUT_S = 20.0


class SandboxStartError(RuntimeError):
    pass


class SandboxProcess:
    """``with SandboxProcess() as sb: httpx.get(sb.url + "/customers", auth=(sb.user, sb.password))``"""

    def __init__(
        self,
        *,
        latency_ms: int = 0,
        seed: int = 0,
        seed_file: Path | None = None,
        faults: FaultConfig | dict[str, Any] | None = None,
        jitter_ms: int = 0,
        user: str = DEFAULT_USER,
        password: str = DEFAULT_PASSWORD,
        host: str = "127.0.0.1",
    ) -> None:
        self.latency_ms = latency_ms
        self.jitter_ms = jitter_ms
        self.seed = seed
        self.seed_file = seed_file
        self.faults = faults
        self.user = user
        self.password = password
        self.host = host
        self.port = 0
        self._proc: subprocess.Popen[str] | None = None
        self._control: SandboxControl | None = None
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self.log_path: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base_url}/api"

    @property
    def control(self) -> SandboxControl:
        if self._control is None:
            raise SandboxStartError("sandbox is not running")
        return self._control

    def start(self) -> SandboxProcess:
        self._tmpdir = tempfile.TemporaryDirectory(prefix="syncd-sandbox-")
        tmp = Path(self._tmpdir.name)
        cmd = [
            sys.executable,
            "-m",
            "syncd.sandbox",
            "--host",
            self.host,
            "--port",
            "0",
            "--user",
            self.user,
            "--seed",
            str(self.seed),
            "--latency-ms",
            str(self.latency_ms),
            "--jitter-ms",
            str(self.jitter_ms),
        ]
        if self.seed_file is not None:
            cmd += ["--seed-file", str(self.seed_file)]
        if self.faults is not None:
            faults_path = tmp / "faults.json"
            body = self.faults.to_json() if isinstance(self.faults, FaultConfig) else self.faults
            faults_path.write_text(json.dumps(body), encoding="utf-8")
            cmd += ["--faults-file", str(faults_path)]
        env = dict(os.environ)
        env[PASSWORD_ENV] = self.password
        self.log_path = tmp / "sandbox.log"
        log_file = self.log_path.open("w", encoding="utf-8")
        self._proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log_file, env=env, text=True)
        log_file.close()
        self.port = self._wait_for_port(self._proc)
        self._control = SandboxControl(self.base_url)
        return self

    def _wait_for_port(self, proc: subprocess.Popen[str]) -> int:
        lines: queue.Queue[str | None] = queue.Queue()
        assert proc.stdout is not None
        threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
        try:
            line = lines.get(timeout=START_TIMEOUT_S)
        except queue.Empty:
            line = None
        if line is None or not line.startswith(PORT_LINE_PREFIX):
            self.stop()
            detail = self.log_path.read_text(encoding="utf-8")[-2000:] if self.log_path else ""
            raise SandboxStartError(f"sandbox did not start (first line {line!r}); stderr:\n{detail}")
        return int(line[len(PORT_LINE_PREFIX) :].strip())

    def stop(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def __enter__(self) -> SandboxProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _pump(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    """Keeps reading stdout so the child never blocks on a full pipe."""
    first = True
    for line in stream:
        if first:
            lines.put(line.strip())
            first = False
    if first:
        lines.put(None)
