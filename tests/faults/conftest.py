"""Fault scenarios run under the sandbox's kind readings of what the vendor document leaves open, and again
under the adversarial profile (no rollback on a 5xx, a proxy's 8 KB URL limit, company deletes that take
their customers, ``company_flag=false`` read as PHP reads it, a reworded "not found", …): a scenario that
passes only on the kind readings leans on something Thulium never promised.

A few scenarios inject nothing a reading changes — process kills, Redis restarts, 429s (refused before
anything is applied), literal SQL in keys, webhook credentials — and their runs would be the same under
either profile; they run once, under the adversarial one, to keep the suite's time for the scenarios where
a reading does change what Thulium does. ``SYNCD_FAULTS_EVERY_PROFILE=1`` runs every one under both.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from syncd.sandbox import SandboxProcess
from syncd.sandbox.thulium.readings import PROFILES
from tests.faults.figures import PROFILE_ENV

READING_BLIND = {
    "test_daemon_faults": None,  # every scenario: kills, pauses and restarts, no Thulium fault
    "test_crashed_runs": None,  # SIGKILL mid-batch: the unkind profile is the harder reading of it
    "test_pacing_faults": {"test_6_429_with_retry_after_on_30_percent_of_requests"},
    "test_agents_and_security": {
        "test_sql_in_source_keys_and_values_is_stored_literally",
        "test_a_webhook_without_its_credentials_is_refused_and_records_nothing",
    },
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "sandbox" not in metafunc.fixturenames:
        return
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    every = os.environ.get("SYNCD_FAULTS_EVERY_PROFILE") == "1"
    blind = (
        not every
        and module in READING_BLIND
        and (READING_BLIND[module] is None or metafunc.function.__name__ in (READING_BLIND[module] or ()))
    )
    metafunc.parametrize("sandbox_profile", ["adversarial"] if blind else sorted(PROFILES))


@pytest.fixture
def sandbox(sandbox_process: SandboxProcess, sandbox_profile: str) -> Iterator[SandboxProcess]:
    """The session's sandbox, reset, reading the document the way this run of the scenario says."""
    sandbox_process.control.reset()
    sandbox_process.control.use_profile(sandbox_profile)
    os.environ[PROFILE_ENV] = sandbox_profile  # the figures table names the profile of each row
    yield sandbox_process
    os.environ.pop(PROFILE_ENV, None)
