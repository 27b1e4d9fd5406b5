"""``--json`` of status, runs, failures list and check: valid against the shipped schemas, and true.

Every document comes from the real commands over a state DB that real `syncd sync` runs wrote
against the sandbox (the ops template tenant), and is checked twice: against its JSON Schema
(the contract scripts rely on) and against what the state DB and the demo source say happened.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from syncd.cli.json_output import schema_path
from syncd.demo import Invalid
from tests.ops.conftest import TENANT, OpsTenant

COMMANDS = ("status", "runs", "failures", "check")


def validated(command: str, output: str) -> dict[str, Any]:
    """The whole of stdout is one JSON document, valid against the command's schema."""
    document: dict[str, Any] = json.loads(output)
    schema = json.loads(schema_path(command).read_text(encoding="utf-8"))
    errors = sorted(Draft202012Validator(schema).iter_errors(document), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)
    assert document["version"] == 1
    return document


def parsed(moment: str) -> datetime:
    assert moment.endswith("Z"), moment
    return datetime.fromisoformat(moment)


@pytest.mark.parametrize("command", COMMANDS)
def test_each_schema_is_a_valid_json_schema_shipped_in_the_package(command: str) -> None:
    schema = json.loads(schema_path(command).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["properties"]["version"] == {
        "const": 1,
        "description": schema["properties"]["version"]["description"],
    }


def test_the_schemas_refuse_what_they_do_not_describe() -> None:
    """The schemas are strict, so the validation in the other tests can fail."""
    schema = json.loads(schema_path("runs").read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema)
    run = {
        "tenant": "acme",
        "id": 1,
        "stream": "customers",
        "mode": "incremental",
        "trigger": "cli",
        "status": "crashed",
        "started_at": "2026-12-01T00:00:00Z",
        "finished_at": "2026-12-01T00:00:00.5Z",  # when it was last seen
        "seconds": 0.5,
        "counters": {"created": 1},
        "requests": 0,
        "error": "process died: its lease expired: nobody holds the tenant lock; last seen …",
        "job_id": None,
        "last_seen_at": "2026-12-01T00:00:00.5Z",
    }
    good = {"version": 1, "generated_at": "2026-12-01T00:00:01.5Z", "runs": [run]}
    assert validator.is_valid(good)
    for broken in (
        {**good, "version": 2},
        {**good, "runs": [{**run, "status": "done"}]},
        {**good, "runs": [{**run, "started_at": "2026-12-01 00:00:00"}]},  # not ISO 8601 UTC
        {**good, "runs": [{**run, "started_at": "2026-12-01T01:00:00+01:00"}]},
        {**good, "runs": [{**run, "surprise": 1}]},
        {**good, "runs": [{k: v for k, v in run.items() if k != "job_id"}]},  # null, never missing
        {**good, "runs": [{k: v for k, v in run.items() if k != "last_seen_at"}]},
    ):
        assert not validator.is_valid(broken), broken


def test_runs_json_lists_the_runs_the_sync_recorded_newest_first(ops_tenant: OpsTenant) -> None:
    recorded = {run.id: run for run in ops_tenant.runs()}
    result = ops_tenant.ok("runs", "-c", str(ops_tenant.folder), "--json")
    document = validated("runs", result.stdout)

    listed = document["runs"]
    assert [run["id"] for run in listed] == sorted(recorded, reverse=True)
    for run in listed:
        row = recorded[run["id"]]
        assert (run["tenant"], run["stream"], run["status"]) == (TENANT, row.stream, row.status)
        assert (run["mode"], run["trigger"], run["job_id"]) == ("incremental", "cli", None)
        assert parsed(run["started_at"]) == row.started_at
        assert row.finished_at is not None
        assert parsed(run["finished_at"]) == row.finished_at
        assert run["requests"] == row.counters["requests"] > 0
        assert run["counters"] == {k: v for k, v in row.counters.items() if k != "requests"}
    customers = next(run for run in listed if run["stream"] == "customers")
    assert customers["status"] == "partial"
    assert customers["counters"]["rejected"] == len(ops_tenant.invalid("customers"))

    one = ops_tenant.ok(
        "runs", "-c", str(ops_tenant.folder), "--json", "--stream", "companies", "--limit", "1"
    )
    assert [run["stream"] for run in validated("runs", one.stdout)["runs"]] == ["companies"]
    none = ops_tenant.ok("runs", "-c", str(ops_tenant.folder), "--json", "--status", "fenced")
    assert validated("runs", none.stdout)["runs"] == []


def test_an_aborted_run_is_listed_with_its_error_and_no_password(ops_tenant: OpsTenant) -> None:
    ops_tenant.extra_env["THULIUM_PASSWORD"] = "wrong-Secret-77"
    aborted = ops_tenant.cli("sync", "--config", str(ops_tenant.path), "--full", "--stream", "companies")
    assert aborted.exit_code == 1, aborted.output

    result = ops_tenant.ok("runs", "-c", str(ops_tenant.folder), "--json", "--status", "aborted")
    [run] = validated("runs", result.stdout)["runs"]
    assert (run["stream"], run["mode"], run["status"]) == ("companies", "full", "aborted")
    assert "401" in run["error"] or "credentials" in run["error"]
    assert "wrong-Secret-77" not in result.stdout

    status = validated("status", ops_tenant.ok("status", "-c", str(ops_tenant.folder), "--json").stdout)
    [tenant] = status["tenants"]
    assert tenant["health"]["level"] == "failing"
    assert tenant["health"]["findings"][0]["rule"] == "F1"
    companies = next(s for s in tenant["streams"] if s["stream"] == "companies")
    assert companies["last_run"]["id"] == run["id"]


def test_failures_json_lists_every_failure_the_sync_recorded(ops_tenant: OpsTenant) -> None:
    result = ops_tenant.ok("failures", "list", "-c", str(ops_tenant.folder), "--json", "--limit", "1000")
    document = validated("failures", result.stdout)

    expected = ops_tenant.expected_kinds()
    listed = {(f["stream"], f["source_key"]): f for f in document["failures"]}
    assert {key: f["kind"] for key, f in listed.items()} == expected
    assert document["total"] == len(expected)
    assert document["status"] == "open"
    stamps = [parsed(f["last_failed_at"]) for f in document["failures"]]
    assert stamps == sorted(stamps, reverse=True)
    (refused,) = ops_tenant.invalid("companies", Invalid.DUPLICATE_NIP)
    permanent = listed["companies", refused]
    assert permanent["http_status"] == 400
    assert permanent["operation"] == "create"
    assert permanent["message"] == "Company with given NIP already exists."
    assert all(f["status"] == "open" and f["resolved_at"] is None for f in listed.values())

    two = ops_tenant.ok("failures", "list", "-c", str(ops_tenant.folder), "--json", "--limit", "2").stdout
    short = validated("failures", two)
    assert len(short["failures"]) == 2
    assert short["total"] == len(expected)
    assert short["limit"] == 2


def test_failures_json_keeps_stdout_to_the_document_and_warns_on_stderr(ops_tenant: OpsTenant) -> None:
    """The console script in a real process: a skipped broken tenant file is said on stderr only."""
    (ops_tenant.folder / "broken.toml").write_text("[thulium\n", encoding="utf-8")
    done = ops_tenant.syncd(
        "failures", "list", "--config", str(ops_tenant.folder), "--json", "--kind", "permanent"
    )
    assert done.returncode == 0, done.stderr
    document = validated("failures", done.stdout)
    assert [f["kind"] for f in document["failures"]] == ["permanent"]
    assert "skipped" in done.stderr
    assert "broken.toml" in done.stderr


def test_status_json_has_each_stream_with_its_last_run_counts_and_health(ops_tenant: OpsTenant) -> None:
    (ops_tenant.folder / "broken.toml").write_text("[thulium\n", encoding="utf-8")
    result = ops_tenant.ok("status", "-c", str(ops_tenant.folder), "--json")
    document = validated("status", result.stdout)

    by_name = {tenant["name"]: tenant for tenant in document["tenants"]}
    assert set(by_name) == {TENANT, "broken"}
    broken = by_name["broken"]
    assert broken["health"]["level"] == "failing"
    assert "not valid TOML" in broken["error"]
    assert broken["streams"] == []
    assert broken["jobs"] == []

    acme = by_name[TENANT]
    assert acme["error"] is None
    assert acme["jobs"] == []
    assert acme["lock"] == {"holder": None, "text": "no broker running"}
    assert acme["health"]["level"] == "degraded"
    assert [(f["rule"], f["level"]) for f in acme["health"]["findings"]] == [("D2", "degraded")]
    assert acme["health"]["reason"].startswith("companies: 1 permanent failure")
    newest = {run.stream: run for run in ops_tenant.runs()}  # ordered by id: the last one wins
    streams = {s["stream"]: s for s in acme["streams"]}
    assert list(streams) == ["companies", "customers", "campaign:00001", "campaign:00002"]
    for name, stream in streams.items():
        assert stream["last_run"]["id"] == newest[name].id
        assert stream["last_run"]["status"] == newest[name].status
    failed = {name: len(ops_tenant.invalid(name)) for name in ("companies", "customers")}
    assert streams["customers"]["counts"]["failed"] == failed["customers"]
    assert streams["companies"]["counts"]["failed"] == failed["companies"]
    assert streams["customers"]["counts"]["linked"] > 0
    cursor = streams["customers"]["cursor"]
    assert cursor is not None
    assert cursor["key"]
    assert cursor["updated_at"]
    assert streams["campaign:00001"]["cursor"] is None


def test_check_json_names_the_problem_keys_of_a_broken_tenant(ops_tenant: OpsTenant) -> None:
    with sqlite3.connect(ops_tenant.root / "source.sqlite") as db:
        db.execute("ALTER TABLE customers RENAME COLUMN email TO mail")
    text = ops_tenant.path.read_text(encoding="utf-8")
    ops_tenant.path.write_text(
        text.replace('outbound_id = "00002"', 'outbound_id = "00009"'), encoding="utf-8"
    )
    (ops_tenant.folder / "broken.toml").write_text("[thulium\n", encoding="utf-8")

    result = ops_tenant.cli("check", "-c", str(ops_tenant.folder), "--json")
    assert result.exit_code == 1, result.output
    document = validated("check", result.stdout)

    assert document["ok"] is False
    by_name = {tenant["name"]: tenant for tenant in document["tenants"]}
    acme = by_name[TENANT]
    assert [(p["section"], p["key"]) for p in acme["problems"]] == [
        ("source", "customers.fields.email"),
        ("thulium", "campaigns[1].outbound_id"),
    ]
    assert 'source column "email" not found' in acme["problems"][0]["message"]
    assert acme["problems"][1]["line"] == (
        f"{ops_tenant.path}: campaigns[1].outbound_id: "
        "Thulium has no campaign 00009 (it has: 00001, 00002, 00003)"
    )
    assert [(s["section"], s["ok"]) for s in acme["sections"]] == [
        ("source", False),
        ("state", True),
        ("thulium", False),
    ]
    assert "at the newest revision" in acme["sections"][1]["summary"]
    assert acme["sections"][0]["summary"] is None  # it would say every mapped column is there
    broken = by_name["broken"]
    assert broken["ok"] is False
    assert broken["sections"] == []
    assert [p["section"] for p in broken["problems"]] == ["file"]


def test_check_json_of_a_clean_tenant_exits_0_and_masks_the_source_password(ops_tenant: OpsTenant) -> None:
    clean = ops_tenant.cli("check", "-c", str(ops_tenant.path), "--json")
    assert clean.exit_code == 0, clean.output
    [tenant] = validated("check", clean.stdout)["tenants"]
    assert tenant["ok"]
    assert tenant["problems"] == []
    assert all(section["ok"] and section["summary"] for section in tenant["sections"])

    text = ops_tenant.path.read_text(encoding="utf-8")
    ops_tenant.path.write_text(text.replace(f'url = "{ops_tenant.source_url}"', 'url_env = "ACME_SOURCE"'))
    ops_tenant.extra_env["ACME_SOURCE"] = "postgresql+psycopg://erp:Pa55-word-x@127.0.0.1:1/erp"
    down = ops_tenant.cli("check", "-c", str(ops_tenant.path), "--json")
    assert down.exit_code == 1
    [tenant] = validated("check", down.stdout)["tenants"]
    assert [(p["section"], p["key"]) for p in tenant["problems"]] == [("source", "source.url_env")]
    assert "Pa55-word-x" not in down.stdout
