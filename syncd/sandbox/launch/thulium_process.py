"""Start the Thulium sandbox as a separate process (see ``ChildServer`` for why)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from syncd.sandbox.launch.child_process import ChildServer
from syncd.sandbox.launch.thulium_control import SandboxControl
from syncd.sandbox.thulium.app import PORT_LINE_PREFIX
from syncd.sandbox.thulium.config import DEFAULT_PASSWORD, DEFAULT_USER, PASSWORD_ENV
from syncd.sandbox.thulium.faults import FaultConfig
from syncd.sandbox.thulium.readings import Readings


class SandboxProcess(ChildServer[SandboxControl]):
    """``with SandboxProcess() as sb: httpx.get(sb.url + "/customers", auth=(sb.user, sb.password))``"""

    module = "syncd.sandbox"
    slug = "sandbox"
    display_name = "sandbox"
    port_line_prefix = PORT_LINE_PREFIX

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
        profile: str = "default",
        readings: Readings | dict[str, Any] | None = None,
        capacity: int | None = None,
        queue_limit: int | None = None,
    ) -> None:
        """``capacity``: at most this many requests served at once, ``queue_limit`` more waiting (default: as
        many), 429 past that (see ``syncd.sandbox.thulium.capacity``)."""
        super().__init__(host=host)
        self.profile = profile
        self.readings = readings
        self.latency_ms = latency_ms
        self.jitter_ms = jitter_ms
        self.seed = seed
        self.seed_file = seed_file
        self.faults = faults
        self.user = user
        self.password = password
        self.capacity = capacity
        self.queue_limit = queue_limit

    @property
    def url(self) -> str:
        return f"{self.base_url}/api"

    def _extra_args(self, tmp: Path) -> list[str]:
        args = ["--user", self.user, "--seed", str(self.seed)]
        args += ["--latency-ms", str(self.latency_ms), "--jitter-ms", str(self.jitter_ms)]
        args += ["--profile", self.profile]
        if self.capacity is not None:
            args += ["--capacity", str(self.capacity)]
        if self.queue_limit is not None:
            args += ["--queue-limit", str(self.queue_limit)]
        if self.readings is not None:
            readings_path = tmp / "readings.json"
            body = self.readings.to_json() if isinstance(self.readings, Readings) else self.readings
            readings_path.write_text(json.dumps(body), encoding="utf-8")
            args += ["--readings-file", str(readings_path)]
        if self.seed_file is not None:
            args += ["--seed-file", str(self.seed_file)]
        if self.faults is not None:
            faults_path = tmp / "faults.json"
            body = self.faults.to_json() if isinstance(self.faults, FaultConfig) else self.faults
            faults_path.write_text(json.dumps(body), encoding="utf-8")
            args += ["--faults-file", str(faults_path)]
        return args

    def _extra_env(self) -> dict[str, str]:
        return {PASSWORD_ENV: self.password}

    def _connect(self) -> SandboxControl:
        return SandboxControl(self.base_url)
