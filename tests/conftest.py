"""Shared fixtures: the sandbox (a real Thulium simulator over HTTP), real state databases, a real Redis.

The fault scenarios' figures table is printed here, by the controlling process: under pytest-xdist the
workers run the scenarios and append their rows to a file this process names before they start.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Each report carries its test's timeout, so the controller can tell which ran near theirs."""
    outcome = yield
    marker = item.get_closest_marker("timeout")
    timeout = float(marker.args[0]) if marker and marker.args else float(item.config.getini("timeout"))
    outcome.get_result().user_properties.append(("timeout", timeout))  # type: ignore[attr-defined]


NEAR_TIMEOUT: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    timeout = dict(report.user_properties).get("timeout")
    if report.when == "call" and isinstance(timeout, float) and report.duration > timeout / 2:
        NEAR_TIMEOUT.append(f"{report.nodeid}: {report.duration:.1f} s of its {timeout:.0f} s timeout")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """A test that ran past half its timeout will time out on a slower day: it is named here."""
    if NEAR_TIMEOUT:
        terminalreporter.section("tests that ran past half their timeout")
        for line in NEAR_TIMEOUT:
            terminalreporter.write_line(line)
    else:
        terminalreporter.write_line("no test ran past half its timeout")
    rows = recorded_rows()
    if not rows:
        return
    terminalreporter.section("fault scenarios: convergence figures")
    terminalreporter.write_line(HEADER)
    terminalreporter.write_line("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        terminalreporter.write_line(row)
