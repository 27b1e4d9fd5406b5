"""Fixtures for daemon tests: a folder of tenant files, a real Redis, a second Thulium account."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from syncd.sandbox import SandboxProcess
from tests.daemon.harness import Daemon, daemon_env


@pytest.fixture
def daemon(tmp_path: Path, redis_url: str) -> Iterator[Daemon]:
    running = Daemon(tmp_path, daemon_env(tmp_path, redis_url))
    running.tenant_dir.mkdir()
    try:
        yield running
    finally:
        running.stop_all()


@pytest.fixture(scope="session")
def second_sandbox_process() -> Iterator[SandboxProcess]:
    with SandboxProcess(seed=0) as proc:
        yield proc


@pytest.fixture
def second_sandbox(second_sandbox_process: SandboxProcess) -> SandboxProcess:
    """Another tenant's Thulium account: a second simulator, fresh for every test."""
    second_sandbox_process.control.reset()
    return second_sandbox_process
