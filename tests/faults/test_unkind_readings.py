"""Reliability under the unkind readings of what the vendor document leaves open (scenarios 16 and 17).

16. A 5xx promises no rollback: every batch create applied, then answered 500, for a whole run; then 10 % of
    all writes answered 500 after applying and 3 % of their answers lost, over five incremental runs with the
    source changing in between. No identifier may be held twice at any check, not only after a full
    reconcile, and the lookups that settle the unknown creates must cost a read per batch, not per record.
17. No URL bound is documented, but front proxies refuse request lines over 8 KB: 700 rows soft-deleted at
    once with ``batch_size = 1000`` must all be deleted by one incremental run, none filed as a failure.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from syncd.demo import generate_source, mutate, write_demo_config
from syncd.sandbox import SandboxControl, SandboxProcess
from tests.faults import test_process_faults as process_faults
from tests.faults.figures import assert_passed, measure
from tests.faults.processes import invalid_rows
from tests.faults.test_http_faults import (
    BATCH,
    created_since,
    held,
    held_from,
    looked_up,
    move,
    newest_reads,
    next_customer_id,
    synced,
)
from tests.sync.conftest import DemoTenant
from tests.waiting import HEAVY

demo = process_faults.demo  # the demo tenant: 600 customers, 60 companies, 3 % invalid rows
WRITES = ("POST", "PUT", "DELETE")


def assert_no_duplicates(control: SandboxControl, when: str) -> None:
    twice = {identifier: n for identifier, n in held(control).items() if n > 1}
    assert not twice, f"{when}: identifiers held twice: {sorted(twice)[:5]}"


def settle_reads(control: SandboxControl, since: int = 0) -> int:
    return sum(looked_up(control, "customers", since).values()) + sum(
        newest_reads(control, "customers", since).values()
    )


def unkind_writes(seed: int) -> dict[str, Any]:
    errors = [{"kind": "error", "method": m, "probability": 0.1, "status": 500} for m in WRITES]
    lost = [{"kind": "lost_response", "method": m, "probability": 0.03} for m in WRITES]
    return {"seed": seed, "rules": [*errors, *lost]}


@HEAVY
def test_16_writes_applied_then_answered_500_never_make_a_duplicate(demo: DemoTenant) -> None:
    control = demo.sandbox.control
    control.set_readings(errors_apply_writes=True)
    started = time.monotonic()
    first_id = next_customer_id(control)
    control.set_faults({"rules": [{"kind": "error", "method": "POST", "path": BATCH, "status": 500}]})
    synced(demo, exit_code=2)  # the demo's invalid rows
    control.clear_faults()
    answered_500 = [e for e in control.log() if e["path"] == BATCH and e["status"] == 500]
    created = created_since(control, first_id)  # customers and companies' own records: one id sequence
    assert answered_500, "no create landed twice, none purged"
    assert created == held_from(control, first_id), "no create landed twice, none purged"
    assert_no_duplicates(control, "after every create was answered 500")
    reads = settle_reads(control)
    assert reads <= 2 * len(answered_500), f"{reads} reads settled {len(answered_500)} batches of 500s"

    for round_no in range(5):
        mutate(
            demo.source_url, seed=160 + round_no, updates=0.05, soft_deletes=0.01, hard_deletes=0, inserts=20
        )
        control.set_faults(unkind_writes(seed=round_no))
        synced_any(demo)
        control.clear_faults()
        assert_no_duplicates(control, f"after unkind round {round_no + 1}")
    synced_any(demo)
    per_record = reads / max(1, created - len(demo.demo.company_keys))
    scenario = f"16 creates applied then 500 ({per_record:.3f} settling reads per created record)"
    invalid = invalid_rows(demo.demo)
    with demo.client() as client:
        figures = measure(scenario, demo.tenant(), client, invalid, demo.state_url, started)
    assert_passed(figures)


def synced_any(demo: DemoTenant) -> None:
    """A run under faults may leave rows for the next one (exit 2); it must not abort or crash."""
    result = demo.sync(timeout=120)
    assert result.returncode in (0, 2), f"{result.stdout}{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr


@pytest.fixture
def wide(tmp_path: Path, sandbox: SandboxProcess) -> DemoTenant:
    """900 customers in batches of up to 1,000, behind a proxy that refuses request lines over 8 KB."""
    source_url = f"sqlite:///{tmp_path / 'source.sqlite'}"
    state_url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    source = generate_source(source_url, customers=900, companies=30, invalid_fraction=0.0, seed=17)
    path = write_demo_config(
        tmp_path / "acme.toml", source_url, sandbox.url, user=sandbox.user, state_url=state_url, campaigns=()
    )
    with path.open("a") as tenant_file:
        tenant_file.write("\n[sync]\nbatch_size = 1000\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}
    env.update(
        THULIUM_PASSWORD=sandbox.password, SYNCD_LOG_LEVEL="WARNING", SYNCD_VAR_DIR=str(tmp_path / "v")
    )
    sandbox.control.set_readings(max_url_bytes=8192)
    return DemoTenant(path, source_url, state_url, source, sandbox, env)


def test_17_seven_hundred_deletes_at_once_behind_an_8_kb_url_limit(wide: DemoTenant) -> None:
    control = wide.sandbox.control
    synced(wide)
    gone = list(wide.demo.customer_keys[:700])
    move(wide, "customers", gone, deleted=True)
    started = time.monotonic()
    synced(wide)  # one incremental run: every delete went through, nothing filed as a failure
    deletes = [e for e in control.log() if e["method"] == "DELETE" and e["path"] == BATCH]
    assert len(deletes) >= 2, "no request line over the bound"
    assert {e["status"] for e in deletes} == {207}, "no request line over the bound"
    with wide.client() as client:
        figures = measure(
            "17 700 deletes at once behind an 8 KB URL limit",
            wide.tenant(),
            client,
            {},
            wide.state_url,
            started,
        )
    assert_passed(figures)
