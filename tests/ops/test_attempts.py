"""An attempt that aborts before its first run still moves health: it is recorded as aborted runs.

Real `syncd` commands (typer's runner, in this process) on a real SQLite state DB; the wrong-password
case against the sandbox over real HTTP.
"""

from __future__ import annotations

import os
from pathlib import Path

from typer.testing import CliRunner, Result

from syncd.cli import app
from syncd.demo import write_demo_config
from tests.ops.conftest import OpsTenant

STREAMS = ("companies", "customers", "campaign:00001", "campaign:00002")


def run_cli(env: dict[str, str], *args: str) -> Result:
    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("SYNCD_")}
    return CliRunner().invoke(app, list(args), env={**unset, **env})


def header(status: str) -> str:
    return next(line for line in status.splitlines() if line.startswith("tenant acme"))


def test_a_sync_that_aborts_before_its_first_run_makes_a_never_run_tenant_failing(tmp_path: Path) -> None:
    folder, state_url = tmp_path / "tenants", f"sqlite:///{tmp_path / 'state.sqlite'}"
    missing = tmp_path / "nowhere" / "source.sqlite"
    path = write_demo_config(
        folder / "acme.toml", f"sqlite:///{missing}", "http://127.0.0.1:9/api", state_url=state_url
    )
    env = {"THULIUM_PASSWORD": "secret", "SYNCD_VAR_DIR": str(tmp_path / "var"), "SYNCD_LOG_LEVEL": "WARNING"}

    before = run_cli(env, "status", "-c", str(folder))
    assert "health: degraded — no state yet" in header(before.output), before.output

    sync = run_cli(env, "sync", "--config", str(path))
    assert sync.exit_code == 1, sync.output
    assert not missing.parent.exists()

    status = run_cli(env, "status", "-c", str(folder))
    assert status.exit_code == 0, status.output
    line = header(status.output)
    assert "health: failing — companies: last run aborted: before its first run: source.url: " in line
    assert "never" not in status.output  # every stream's last run is the aborted attempt
    runs = run_cli(env, "runs", "-c", str(folder), "--status", "aborted")
    assert runs.exit_code == 0, runs.output
    assert all(stream in runs.output for stream in STREAMS), runs.output
    assert runs.output.count(" aborted ") == len(STREAMS), runs.output


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
