"""A demo tenant (SQLite source, SQLite state) pointed at the test session's sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from syncd.demo import DemoSource, generate_source, write_demo_config
from syncd.sandbox import SandboxProcess
from syncd.settings import ProcessSettings, Tenant, load_tenant
from syncd.thulium import ThuliumClient
from tests.sync.convergence import patient_client

SYNCD = Path(sys.executable).parent / "syncd"


@dataclass
class DemoTenant:
    path: Path
    source_url: str
    state_url: str
    demo: DemoSource
    sandbox: SandboxProcess
    env: dict[str, str]

    def tenant(self) -> Tenant:
        return load_tenant(self.path, ProcessSettings(), env=self.env)

    def client(self) -> ThuliumClient:
        return patient_client(self.sandbox)

    def sync(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SYNCD), "sync", "--config", str(self.path), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env,
            check=False,
        )

    def start_sync(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(SYNCD), "sync", "--config", str(self.path), *args],
            env=self.env,
            text=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )


@pytest.fixture
def demo_tenant(tmp_path: Path, sandbox: SandboxProcess) -> DemoTenant:
    source_url = f"sqlite:///{tmp_path / 'source.sqlite'}"
    state_url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    demo = generate_source(source_url, customers=2000, companies=200, invalid_fraction=0.03, seed=3)
    path = write_demo_config(
        tmp_path / "acme.toml", source_url, sandbox.url, user=sandbox.user, state_url=state_url
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}  # no daemon of this machine's
    env.update(
        THULIUM_PASSWORD=sandbox.password, SYNCD_LOG_LEVEL="WARNING", SYNCD_VAR_DIR=str(tmp_path / "var")
    )
    return DemoTenant(path, source_url, state_url, demo, sandbox, env)
