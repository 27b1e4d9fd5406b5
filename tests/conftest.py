"""Shared fixtures: the sandbox (a real Thulium simulator over HTTP), real state databases, a real Redis.

The fault scenarios' figures table is printed here, by the controlling process: under pytest-xdist the
workers run the scenarios and append their rows to a file this process names before they start.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests.faults.figures import FIGURES_FILE, HEADER, recorded_rows

pytest_plugins = ["tests.fixtures.sandbox", "tests.fixtures.databases", "tests.fixtures.redis"]


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return  # an xdist worker: it inherited the controller's file
    handle, path = tempfile.mkstemp(prefix="syncd-figures-", suffix=".md")
    os.close(handle)
    os.environ[FIGURES_FILE] = path


def pytest_unconfigure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput") and (path := os.environ.pop(FIGURES_FILE, None)):
        Path(path).unlink(missing_ok=True)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    rows = recorded_rows()
    if not rows:
        return
    terminalreporter.section("fault scenarios: convergence figures")
    terminalreporter.write_line(HEADER)
    terminalreporter.write_line("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        terminalreporter.write_line(row)
