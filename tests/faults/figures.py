"""The figures every fault scenario reports, Jepsen-style: what was attempted and how it ended.

A scenario passes with 0 lost, 0 duplicated, 0 stale, 0 unexpected, and failures recorded
equal to exactly the invalid rows. Every scenario adds its line to ``REPORT`` (and, under
pytest-xdist, to the file ``FIGURES_FILE`` names, since workers do not share memory); the
faults conftest prints the table at the end of the session, so a reader sees the figures,
not just a green dot.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from sqlalchemy import select

from syncd.settings import Tenant
from syncd.state.db import make_engine, session_factory
from syncd.state.models import Failure
from syncd.thulium import ThuliumClient
from tests.sync.convergence import StreamFigures, converge_check

HEADER = (
    "| scenario | attempted | ok | lost | duplicated | stale | unexpected "
    "| failures recorded (expected) | converged after |"
)


@dataclass
class Figures:
    scenario: str
    attempted: int = 0
    ok: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    failures: set[str] = field(default_factory=set)  # "stream:key" of open failures
    expected_failures: set[str] = field(default_factory=set)
    warnings: set[str] = field(default_factory=set)  # "stream:key" of open warnings (sent without company)
    expected_warnings: set[str] = field(default_factory=set)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        clean = not (self.lost or self.duplicated or self.stale or self.unexpected)
        return clean and self.failures == self.expected_failures and self.warnings == self.expected_warnings

    def row(self) -> str:
        failures = f"{len(self.failures)} ({len(self.expected_failures)})"
        return (
            f"| {self.scenario} | {self.attempted} | {self.ok} | {len(self.lost)} | {len(self.duplicated)} "
            f"| {len(self.stale)} | {len(self.unexpected)} | {failures} | {self.seconds:.1f} s |"
        )

    def explain(self) -> str:
        extra = sorted(self.failures - self.expected_failures)[:5]
        missing = sorted(self.expected_failures - self.failures)[:5]
        return (
            f"{self.row()}\nexamples: lost {self.lost[:3]}, duplicated {self.duplicated[:3]}, "
            f"stale {self.stale[:3]}, unexpected {self.unexpected[:3]}; "
            f"failures not expected {extra}, expected but not recorded {missing}; warnings not expected "
            f"{sorted(self.warnings - self.expected_warnings)[:5]}, expected but not recorded "
            f"{sorted(self.expected_warnings - self.warnings)[:5]}"
        )


REPORT: list[Figures] = []


def measure(
    scenario: str,
    tenant: Tenant,
    client: ThuliumClient,
    invalid: dict[str, set[str]],
    state_url: str,
    started: float,
    *,
    report: bool = True,
) -> Figures:
    """Compare Thulium with the source and the state DB's open failures; ``started``: time.monotonic()
    when the fault began (the figure is the time until this check found it converged). ``report=False``:
    a check that polls, whose row would only repeat the final one."""
    streams = converge_check(tenant, client, invalid)
    figures = Figures(scenario, seconds=time.monotonic() - started)
    for stream in streams.values():
        add(figures, stream)
    figures.failures, figures.warnings = open_failures(state_url, tenant.name)
    figures.expected_failures = {f"{stream}:{key}" for stream, keys in invalid.items() for key in keys}
    figures.expected_warnings = {f"{name}:{key}" for name, s in streams.items() for key in s.detached}
    if report:
        record(figures)
    return figures


FIGURES_FILE = "SYNCD_TEST_FIGURES_FILE"  # set by the controlling pytest process, inherited by xdist workers
PROFILE_ENV = (
    "SYNCD_TEST_SANDBOX_PROFILE"  # set by the faults' sandbox fixture: which readings a row ran under
)


def record(figures: Figures) -> None:
    profile = os.environ.get(PROFILE_ENV)
    if profile and profile != "default":
        figures.scenario = f"{figures.scenario} [{profile}]"
    REPORT.append(figures)
    path = os.environ.get(FIGURES_FILE)
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(figures.row() + "\n")


def recorded_rows() -> list[str]:
    path = os.environ.get(FIGURES_FILE)
    if path and os.path.exists(path):
        with open(path, encoding="utf-8") as lines:
            return [line.rstrip("\n") for line in lines if line.strip()]
    return [figures.row() for figures in REPORT]


def add(figures: Figures, stream: StreamFigures) -> None:
    figures.attempted += stream.expected
    figures.ok += stream.expected - len(stream.lost) - len(stream.stale)
    figures.lost += stream.lost
    figures.duplicated += stream.duplicated
    figures.stale += stream.stale
    figures.unexpected += stream.unexpected


def open_failures(state_url: str, tenant: str) -> tuple[set[str], set[str]]:
    """("stream:key" of open failures, of open warnings)."""
    engine = make_engine(state_url)
    try:
        with session_factory(engine)() as session:
            rows = session.execute(
                select(Failure.stream, Failure.source_key, Failure.kind).where(
                    Failure.tenant == tenant, Failure.resolved_at.is_(None)
                )
            )
            found = [(f"{stream}:{key}", kind) for stream, key, kind in rows]
    finally:
        engine.dispose()
    return {k for k, kind in found if kind != "warning"}, {k for k, kind in found if kind == "warning"}


def assert_passed(figures: Figures) -> None:
    assert figures.passed, figures.explain()
