"""`syncd runs` and the health verdict of `syncd status`, on state a real sync wrote."""

from __future__ import annotations

from syncd.demo import Invalid
from tests.ops.conftest import OpsTenant


def test_runs_lists_each_stream_run_with_what_it_changed(ops_tenant: OpsTenant) -> None:
    runs = {run.stream: run for run in ops_tenant.runs()}
    assert set(runs) == {"companies", "customers", "campaign:00001", "campaign:00002"}
    listing = ops_tenant.ok("runs", "-c", str(ops_tenant.folder)).stdout
    customers = runs["customers"]
    line = next(line for line in listing.splitlines() if f"#{customers.id} " in line)
    created = customers.counters["created"]
    rejected = len(ops_tenant.invalid("customers"))
    assert f"created={created} rejected={rejected}" in line
    assert "partial" in line
    assert "incremental" in line
    assert "cli" in line
    assert f"added={runs['campaign:00001'].counters['added']}" in listing

    partial = ops_tenant.ok("runs", "-c", str(ops_tenant.folder), "--status", "partial").stdout
    assert f"#{runs['companies'].id} " in partial
    assert f"#{customers.id} " in partial
    assert "campaign:" not in partial
    one = ops_tenant.ok("runs", "-c", str(ops_tenant.folder), "--stream", "customers", "--limit", "1").stdout
    assert f"#{customers.id} " in one
    assert "companies" not in one
    bad = ops_tenant.cli("runs", "-c", str(ops_tenant.folder), "--status", "done")
    assert bad.exit_code == 1
    assert "unknown run status" in bad.output


def test_the_console_script_has_the_commands(ops_tenant: OpsTenant) -> None:
    runs = ops_tenant.syncd("runs", "--config", str(ops_tenant.folder))
    assert runs.returncode == 0, runs.stderr
    assert "customers" in runs.stdout
    assert "started (UTC)" in runs.stdout
    listed = ops_tenant.syncd("failures", "list", "--config", str(ops_tenant.folder), "--kind", "permanent")
    assert listed.returncode == 0, listed.stderr
    assert "1 of 1 open failures" in listed.stdout
    assert "Company with given NIP already exists." in listed.stdout


def test_status_calls_a_tenant_with_refused_rows_degraded_until_they_are_resolved(
    ops_tenant: OpsTenant,
) -> None:
    status = ops_tenant.ok("status", "-c", str(ops_tenant.folder)).stdout
    assert "tenant acme  lock: no broker running  health: degraded — companies: 1 permanent failure" in status
    (refused,) = ops_tenant.invalid("companies", Invalid.DUPLICATE_NIP)
    ops_tenant.ok("failures", "resolve", refused, "-c", str(ops_tenant.folder), "--stream", "companies", "-y")
    healthy = ops_tenant.ok("status", "-c", str(ops_tenant.folder)).stdout
    assert "health: ok" in healthy  # rejected rows alone are the source's data quality, not ill health


def test_status_calls_a_tenant_whose_last_run_aborted_failing(ops_tenant: OpsTenant) -> None:
    ops_tenant.extra_env["THULIUM_PASSWORD"] = "wrong"
    aborted = ops_tenant.cli("sync", "--config", str(ops_tenant.path), "--full", "--stream", "companies")
    assert aborted.exit_code == 1, aborted.output
    status = ops_tenant.ok("status", "-c", str(ops_tenant.folder)).stdout
    header = next(line for line in status.splitlines() if line.startswith("tenant acme"))
    assert "health: failing — companies: last run aborted" in header
    assert "(+1 more)" in header  # the refused company is still there, listed below
    assert "  · companies: 1 permanent failure" in status
