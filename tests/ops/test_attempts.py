"""An attempt that aborts before its first run still moves health: it is recorded as aborted runs.

Real `syncd` commands (typer's runner, in this process) on a real SQLite state DB; the wrong-password
case against the sandbox over real HTTP.
"""

from __future__ import annotations

import os
from pathlib import Path

from typer.testing import CliRunner, Result

from syncd.cli.main import app
from syncd.demo import write_demo_config
from tests.ops.conftest import OpsTenant

STREAMS = ("companies", "customers", "campaign:00001", "campaign:00002")


def run_cli(env: dict[str, str], *args: str) -> Result:
    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("SYNCD_")}
    return CliRunner().invoke(app, list(args), env={**unset, **env})


def header(status: str) -> str:
    return next(line for line in status.splitlines() if line.startswith("tenant acme"))


def test_a_sync_stopped_before_its_first_run_leaves_a_never_run_tenant_without_state(tmp_path: Path) -> None:
    """The pre-flight stops it and nothing is created, so health stays "no state yet" (never "ok")."""
    folder, state = tmp_path / "tenants", tmp_path / "state.sqlite"
    missing = tmp_path / "nowhere" / "source.sqlite"
    path = write_demo_config(
        folder / "acme.toml", f"sqlite:///{missing}", "http://127.0.0.1:9/api", state_url=f"sqlite:///{state}"
    )
    env = {"THULIUM_PASSWORD": "secret", "SYNCD_VAR_DIR": str(tmp_path / "var"), "SYNCD_LOG_LEVEL": "WARNING"}
    sync = run_cli(env, "sync", "--config", str(path))
    assert sync.exit_code == 1, sync.output
    assert not missing.parent.exists()
    assert not state.exists()
    status = run_cli(env, "status", "-c", str(folder))
    assert "health: degraded — no state yet" in header(status.output), status.output


def test_a_sync_stopped_before_its_first_run_makes_a_tenant_that_ran_failing(ops_tenant: OpsTenant) -> None:
    """The tenant synced fine before; now its source is gone: the attempt is an aborted run of each stream."""
    before = {run.id for run in ops_tenant.runs()}
    assert "health: failing" not in header(ops_tenant.ok("status", "-c", str(ops_tenant.folder)).stdout)
    missing = ops_tenant.root / "nowhere" / "source.sqlite"
    sandbox = ops_tenant.sandbox
    write_demo_config(
        ops_tenant.path,
        f"sqlite:///{missing}",
        sandbox.url,
        user=sandbox.user,
        state_url=ops_tenant.state_url,
    )
    sync = ops_tenant.cli("sync", "--config", str(ops_tenant.path))
    assert sync.exit_code == 1, sync.output
    new = [run for run in ops_tenant.runs() if run.id not in before]
    assert sorted(run.stream for run in new) == sorted(STREAMS)
    assert {run.status for run in new} == {"aborted"}
    assert all((run.error or "").startswith("before its first run: ") for run in new)
    assert all(str(missing) in (run.error or "") for run in new)
    status = ops_tenant.ok("status", "-c", str(ops_tenant.folder)).stdout
    assert "health: failing — companies: last run aborted: before its first run: " in header(status)
    runs = ops_tenant.ok("runs", "-c", str(ops_tenant.folder), "--status", "aborted").stdout
    assert runs.count(" aborted ") == len(STREAMS), runs


def test_a_dry_run_that_aborts_records_nothing(tmp_path: Path) -> None:
    folder, state_url = tmp_path / "tenants", f"sqlite:///{tmp_path / 'state.sqlite'}"
    source = f"sqlite:///{tmp_path / 'nowhere' / 'source.sqlite'}"
    path = write_demo_config(folder / "acme.toml", source, "http://127.0.0.1:9/api", state_url=state_url)
    env = {"THULIUM_PASSWORD": "secret", "SYNCD_VAR_DIR": str(tmp_path / "var")}
    assert run_cli(env, "sync", "--config", str(path), "--dry-run").exit_code == 1
    assert "no state yet" in header(run_cli(env, "status", "-c", str(folder)).output)


def test_a_refused_campaign_check_is_an_aborted_run_of_every_stream_it_stopped(ops_tenant: OpsTenant) -> None:
    """The campaign check runs first and stops the whole sync: no stream ran, each shows why."""
    ops_tenant.extra_env["THULIUM_PASSWORD"] = "wrong"
    before = {run.id for run in ops_tenant.runs()}
    aborted = ops_tenant.cli("sync", "--config", str(ops_tenant.path))
    assert aborted.exit_code == 1, aborted.output
    new = [run for run in ops_tenant.runs() if run.id not in before]
    assert sorted(run.stream for run in new) == sorted(STREAMS)
    assert {run.status for run in new} == {"aborted"}
    assert all((run.error or "").startswith("before its first run: ") for run in new)
    status = ops_tenant.ok("status", "-c", str(ops_tenant.folder)).stdout
    assert "health: failing — companies: last run aborted: before its first run" in header(status)
