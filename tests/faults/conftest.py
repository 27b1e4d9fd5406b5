"""Prints the figures table of every fault scenario that ran, after the session."""

from __future__ import annotations

import pytest

from tests.faults.figures import HEADER, REPORT


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not REPORT:
        return
    terminalreporter.section("fault scenarios: convergence figures")
    terminalreporter.write_line(HEADER)
    terminalreporter.write_line("|---|---|---|---|---|---|---|---|---|")
    for figures in REPORT:
        terminalreporter.write_line(figures.row())
