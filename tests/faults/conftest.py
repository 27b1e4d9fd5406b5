"""Every fault scenario runs twice: under the sandbox's kind readings of what the vendor document leaves open,
and under the adversarial profile (no rollback on a 5xx, a proxy's 8 KB URL limit, company deletes that take
their customers, ``company_flag=false`` read as PHP reads it, a reworded "not found", …). A scenario that
passes only on the kind readings leans on something Thulium never promised."""

from __future__ import annotations

import pytest

from syncd.sandbox.launcher import SandboxProcess
from syncd.sandbox.readings import PROFILES


@pytest.fixture(params=sorted(PROFILES))
def sandbox(sandbox_process: SandboxProcess, request: pytest.FixtureRequest) -> SandboxProcess:
    """The session's sandbox, reset, reading the document the way this run of the scenario says."""
    sandbox_process.control.reset()
    sandbox_process.control.use_profile(str(request.param))
    return sandbox_process
