"""`syncd failures list|show|export|resolve` on the failures a real sync left in a real state DB."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from sqlalchemy import select

from syncd.demo import Invalid
from syncd.demo.schema import customers
from syncd.state.db import make_engine
from tests.ops.conftest import OpsTenant


def exported(tenant: OpsTenant, *args: str) -> list[dict[str, Any]]:
    result = tenant.ok("failures", "export", "--config", str(tenant.folder), "--format", "json", *args)
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def keys_of(rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(row["stream"], row["source_key"]) for row in rows}


def test_export_holds_every_failure_of_the_sync_with_its_kind(ops_tenant: OpsTenant) -> None:
    rows = exported(ops_tenant)
    assert {(r["stream"], r["source_key"]): r["kind"] for r in rows} == ops_tenant.expected_kinds()
    stored = ops_tenant.failures()
    for row in rows:
        failure = stored[row["stream"], row["source_key"]]
        assert row["message"] == failure.message
        assert row["request_id"] == failure.request_id
        assert row["http_status"] == failure.http_status
        assert row["first_failed_at"] == failure.first_failed_at.isoformat()
        assert row["resolved_at"] is None
    refused = [r for r in rows if r["kind"] == "permanent"]
    assert refused
    assert all(r["http_status"] == 400 and r["request_id"] for r in refused)


def test_export_as_csv_to_a_file_carries_keys_and_reasons_never_row_values(ops_tenant: OpsTenant) -> None:
    target = ops_tenant.root / "failures.csv"
    result = ops_tenant.ok(
        "failures", "export", "-c", str(ops_tenant.folder), "--format", "csv", "--output", str(target)
    )
    text = target.read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert f"exported {len(rows)} failures" in result.output
    assert keys_of(rows) == set(ops_tenant.expected_kinds())
    for value in broken_values(ops_tenant):
        assert value not in text


def broken_values(tenant: OpsTenant) -> set[str]:
    """The offending e-mails, phones and names of the broken customers, as the source holds them."""
    keys = [int(key) for key in tenant.invalid("customers")]
    engine = make_engine(tenant.source_url)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                select(customers.c.email, customers.c.phone, customers.c.last_name).where(
                    customers.c.id.in_(keys)
                )
            ).all()
    finally:
        engine.dispose()
    return {str(value).strip() for row in found for value in row if value and str(value).strip()}


def test_filters_by_stream_kind_and_age(ops_tenant: OpsTenant) -> None:
    companies = {("companies", key) for key in ops_tenant.invalid("companies")}
    customers_ = {("customers", key) for key in ops_tenant.invalid("customers")}
    assert keys_of(exported(ops_tenant, "--stream", "companies")) == companies
    assert keys_of(exported(ops_tenant, "--kind", "permanent")) == {
        ("companies", key) for key in ops_tenant.invalid("companies", Invalid.DUPLICATE_NIP)
    }
    two_days_back = "datetime(first_failed_at, '-2 days')"  # SQLite: the copy's state DB
    ops_tenant.state_sql(f"UPDATE failures SET first_failed_at = {two_days_back} WHERE stream = 'customers'")
    assert keys_of(exported(ops_tenant, "--older-than", "1d")) == customers_
    assert keys_of(exported(ops_tenant, "--newer-than", "1d")) == companies
    assert exported(ops_tenant, "--older-than", "3d") == []


def test_list_shows_a_table_and_how_many_match(ops_tenant: OpsTenant) -> None:
    total = len(ops_tenant.expected_kinds())
    full = ops_tenant.ok("failures", "list", "-c", str(ops_tenant.folder)).stdout
    assert f"{total} of {total} open failures" in full
    assert "Company with given NIP already exists." in full  # Thulium's own message
    assert "surname: missing" in full
    rejected = len(ops_tenant.invalid("customers"))
    page = ops_tenant.ok(
        "failures",
        "list",
        "-c",
        str(ops_tenant.folder),
        "--stream",
        "customers",
        "--kind",
        "rejected",
        "--limit",
        "3",
    ).stdout
    assert f"3 of {rejected} open failures (--limit {rejected} to see all)" in page
    assert "companies" not in page
    empty = ops_tenant.ok("failures", "list", "-c", str(ops_tenant.folder), "--status", "resolved").stdout
    assert "no resolved failures match" in empty


def test_list_refuses_unknown_filters(ops_tenant: OpsTenant) -> None:
    for args, message in (
        (("--kind", "bogus"), "unknown kind"),
        (("--stream", "customer"), "unknown stream"),
        (("--older-than", "3x"), "not a duration"),
        (("--status", "closed"), "unknown status"),
        (("--tenant", "nobody"), "no tenant file named nobody.toml"),
    ):
        result = ops_tenant.cli("failures", "list", "-c", str(ops_tenant.folder), *args)
        assert result.exit_code == 1, (args, result.output)
        assert message in result.output, (args, result.output)


def test_show_prints_every_column_and_asks_to_disambiguate(ops_tenant: OpsTenant) -> None:
    shared = ops_tenant.invalid("customers") & ops_tenant.invalid("companies")
    assert shared, "the demo seed is chosen so that one key fails in both streams"
    key = sorted(shared)[0]
    ambiguous = ops_tenant.cli("failures", "show", key, "-c", str(ops_tenant.folder))
    assert ambiguous.exit_code == 1
    assert "acme customers" in ambiguous.output
    assert "acme companies" in ambiguous.output

    (refused,) = ops_tenant.invalid("companies", Invalid.DUPLICATE_NIP)
    failure = ops_tenant.failures()["companies", refused]
    shown = ops_tenant.ok("failures", "show", refused, "-c", str(ops_tenant.folder), "--stream", "companies")
    fields = shown_fields(shown.stdout)
    assert fields["kind"] == "permanent"
    assert fields["status"] == "open"
    assert fields["HTTP status"] == "400"
    assert fields["attempts"] == "1"
    assert fields["request id"] == failure.request_id
    assert fields["message"] == failure.message
    assert fields["next attempt"] == "-"  # a permanent failure waits for the row to change, not for a time
    assert fields["first failed"].startswith(failure.first_failed_at.isoformat(sep=" ", timespec="seconds"))
    missing = ops_tenant.cli("failures", "show", "no-such-key", "-c", str(ops_tenant.folder))
    assert missing.exit_code == 1
    assert "no failure recorded" in missing.output


def shown_fields(stdout: str) -> dict[str, str]:
    pairs = (re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in stdout.splitlines() if line.strip())
    return {pair[0]: pair[1] for pair in pairs if len(pair) == 2}


def test_resolve_asks_first_then_closes_only_what_was_chosen(ops_tenant: OpsTenant) -> None:
    folder = str(ops_tenant.folder)
    chosen = ("failures", "resolve", "-c", folder, "--stream", "customers", "--kind", "rejected")
    declined = ops_tenant.cli(*chosen, input="n\n")
    assert declined.exit_code == 1
    assert "Resolve" in declined.output
    assert all(f.resolved_at is None for f in ops_tenant.failures().values())

    done = ops_tenant.ok(*chosen, "--yes")
    customers_ = ops_tenant.invalid("customers")
    assert f"{len(customers_)} failures (customers {len(customers_)}) resolved" in done.stdout
    after = ops_tenant.failures()
    assert {key for (stream, key), f in after.items() if f.resolved_at is not None} == customers_
    assert all(f.resolved_at is None for (stream, _), f in after.items() if stream == "companies")
    resolved = exported(ops_tenant, "--status", "resolved")
    assert keys_of(resolved) == {("customers", key) for key in customers_}
    assert all(row["resolved_at"] for row in resolved)
    again = ops_tenant.ok(*chosen, "--yes")
    assert "no open failures match" in again.stdout


def test_resolve_by_key(ops_tenant: OpsTenant) -> None:
    (refused,) = ops_tenant.invalid("companies", Invalid.DUPLICATE_NIP)
    ops_tenant.ok("failures", "resolve", refused, "-c", str(ops_tenant.folder), "--stream", "companies", "-y")
    after = ops_tenant.failures()
    assert after["companies", refused].resolved_at is not None
    assert sum(f.resolved_at is not None for f in after.values()) == 1
