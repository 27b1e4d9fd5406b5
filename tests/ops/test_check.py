"""``syncd check`` against real parts: the sandbox over HTTP, a generated SQLite source, real state DBs.

Each broken tenant file is the clean demo tenant with one thing changed, so a test proves both
that the problem is found (exit 1, file and dotted key, a message that says what to fix) and
that nothing else is reported for it.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from syncd.app.check import split_campaign_problems
from syncd.cli.main import app
from syncd.demo import generate_source, write_demo_config
from syncd.sandbox import SandboxProcess
from syncd.settings.errors import ConfigProblem
from syncd.state import migrate

SYNCD = Path(sys.executable).parent / "syncd"
SOURCE_COLUMNS = (
    "id, first_name, last_name, email, phone, city, street, segment, company_id, updated_at, deleted"
)


@dataclass
class Tenant:
    """The demo tenant file (50 customers) pointed at the session's sandbox, and how to run the check."""

    path: Path
    source_file: Path
    source_url: str
    state_file: Path
    sandbox: SandboxProcess
    env: dict[str, str]

    def edit(self, old: str, new: str) -> None:
        text = self.path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} is not in the demo tenant file"
        self.path.write_text(text.replace(old, new, 1), encoding="utf-8")

    def check(self, target: Path | None = None, **env: str) -> Result:
        """``syncd check`` in this process (fast); the console script itself is run by one test below."""
        return CliRunner().invoke(
            app, ["check", "--config", str(target or self.path)], env={**self.env, **env}
        )

    def problems(self, result: Result) -> list[str]:
        return [line for line in result.stdout.splitlines() if line.startswith(f"{self.path}: ")]


@pytest.fixture
def tenant(tmp_path: Path, sandbox: SandboxProcess) -> Tenant:
    source_file, state_file = tmp_path / "source.sqlite", tmp_path / "state.sqlite"
    source_url = f"sqlite:///{source_file}"
    generate_source(source_url, customers=50, companies=10, invalid_fraction=0.0, seed=7)
    path = write_demo_config(
        tmp_path / "acme.toml",
        source_url,
        sandbox.url,
        user=sandbox.user,
        state_url=f"sqlite:///{state_file}",
    )
    env = {"THULIUM_PASSWORD": sandbox.password, "SYNCD_VAR_DIR": str(tmp_path / "var")}
    sandbox.control.reset_counts()
    return Tenant(path, source_file, source_url, state_file, sandbox, env)


def test_the_clean_demo_tenant_passes_and_nothing_is_written(tenant: Tenant) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")} | tenant.env
    result = subprocess.run(
        [str(SYNCD), "check", "--config", str(tenant.path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"acme: OK ({tenant.path})"
    assert "companies (table companies) and customers (table customers) have every mapped column" in lines[1]
    assert "2 campaign queries run and return key" in lines[1]
    assert "is empty; the first sync or `syncd db upgrade` creates it" in lines[2]
    assert "2 campaigns (00001, 00002) exist" in lines[3]
    assert "custom field Segment exists" in lines[3]
    counts = tenant.sandbox.control.counts()
    assert counts["total"] > 0
    assert counts["writes"] == 0
    assert not tenant.state_file.exists(), "a check must not create the state DB"


def test_a_wrong_password_is_refused_by_name(tenant: Tenant) -> None:
    result = tenant.check(THULIUM_PASSWORD="not-the-password")
    assert result.exit_code == 1
    assert tenant.problems(result) == [
        f"{tenant.path}: thulium.password_env: Thulium refused the credentials of user {tenant.sandbox.user} "
        f"(401 at {tenant.sandbox.url}): check thulium.user and the password in environment variable "
        "THULIUM_PASSWORD"
    ]
    assert "not-the-password" not in result.stdout


def test_an_unreachable_source_is_reported_without_its_password_and_the_rest_still_probed(
    tenant: Tenant,
) -> None:
    tenant.edit(f'url = "{tenant.source_url}"', 'url_env = "ACME_SOURCE_URL"')
    result = tenant.check(ACME_SOURCE_URL="postgresql+psycopg://syncd:s3cret-pw@127.0.0.1:1/erp")
    assert result.exit_code == 1
    [problem] = tenant.problems(result)
    assert problem.startswith(f"{tenant.path}: source.url_env: cannot reach the source database: ")
    assert "Connection refused" in problem
    assert "s3cret-pw" not in result.stdout
    assert tenant.sandbox.control.counts()["total"] > 0, "Thulium is probed although the source is down"


def test_a_missing_source_file_is_reported_and_not_created(tenant: Tenant) -> None:
    tenant.source_file.unlink()
    result = tenant.check()
    assert result.exit_code == 1
    assert tenant.problems(result) == [
        f"{tenant.path}: source.url: source database {tenant.source_url}: "
        f"SQLite file {tenant.source_file} does not exist (relative paths start from the working "
        "directory); nothing is created by reading"
    ]
    assert not tenant.source_file.exists()


def test_a_missing_source_column_names_the_mapping_and_the_columns_there_are(tenant: Tenant) -> None:
    with sqlite3.connect(tenant.source_file) as db:
        db.execute("ALTER TABLE customers RENAME COLUMN email TO mail")
    result = tenant.check()
    assert result.exit_code == 1
    assert tenant.problems(result) == [
        f'{tenant.path}: customers.fields.email: source column "email" not found in table customers '
        f"(it has: {SOURCE_COLUMNS.replace('email', 'mail')})"
    ]


def test_a_missing_table_and_a_broken_campaign_query_are_both_reported(tenant: Tenant) -> None:
    tenant.edit('table = "companies"', 'table = "company"')
    tenant.edit("campaign_targets t JOIN", "campaign_target t JOIN")
    result = tenant.check()
    assert result.exit_code == 1
    assert tenant.problems(result) == [
        f'{tenant.path}: companies.table: table "company" not found in the source database '
        "(it has: campaign_targets, companies, customers)",
        f"{tenant.path}: campaigns[0].query: the query fails: "
        "(sqlite3.OperationalError) no such table: campaign_target",
    ]


def test_an_unknown_campaign_is_named_with_the_ones_thulium_has(tenant: Tenant) -> None:
    tenant.edit('outbound_id = "00002"', 'outbound_id = "00009"')
    result = tenant.check()
    assert result.exit_code == 1
    assert tenant.problems(result) == [
        f"{tenant.path}: campaigns[1].outbound_id: Thulium has no campaign 00009 "
        "(it has: 00001, 00002, 00003)"
    ]


def test_an_unknown_initial_status_lists_the_campaigns_statuses(tenant: Tenant) -> None:
    tenant.edit('outbound_id = "00002"', 'outbound_id = "00002"\ninitial_status_id = 3')
    result = tenant.check()
    assert result.exit_code == 1
    [problem] = tenant.problems(result)
    assert problem.startswith(
        f"{tenant.path}: campaigns[1].initial_status_id: campaign 00002 has no status 3 "
        "(its statuses: 10 New (TO_CALL), 11 In progress (IN_PROGRESS), "
    )


def test_a_custom_field_thulium_lacks_is_reported_with_the_ones_it_has(tenant: Tenant) -> None:
    tenant.edit('"custom_fields.Segment"', '"custom_fields.Segmnet"')
    result = tenant.check()
    assert result.exit_code == 1
    assert tenant.problems(result) == [
        f'{tenant.path}: customers.fields.custom_fields.Segmnet: Thulium has no custom field "Segmnet" and '
        "would silently create it on the first sync (it has: Notes, Segment, Source ID)"
    ]
    assert "Segmnet" not in tenant.sandbox.control.state()["custom_fields"]


def test_a_state_db_behind_asks_for_an_upgrade(tenant: Tenant) -> None:
    state_url = f"sqlite:///{tenant.state_file}"
    migrate.upgrade(state_url, "0001")
    result = tenant.check()
    assert result.exit_code == 1
    assert tenant.problems(result) == [
        f"{tenant.path}: state.url: state DB {state_url} is at revision 0001, behind "
        f"{migrate.head_revision()}: run `syncd db upgrade --config {tenant.path}`"
    ]


def test_a_file_that_does_not_load_contacts_nothing(tenant: Tenant) -> None:
    tenant.edit("[companies]", '[sync]\nbatch_size = "lots"\n\n[companies]')
    tenant.source_file.unlink()  # would be a problem, were the source probed
    result = tenant.check()
    assert result.exit_code == 1
    assert tenant.problems(result) == [
        f"{tenant.path}: sync.batch_size: expected a valid integer, unable to parse string as an integer; "
        "got 'lots'"
    ]
    assert tenant.sandbox.control.counts()["total"] == 0


def test_every_tenant_of_a_folder_is_checked_on_its_own(tenant: Tenant) -> None:
    broken = tenant.path.with_name("broken.toml")
    broken.write_text(
        tenant.path.read_text(encoding="utf-8").replace('"custom_fields.Segment"', '"custom_fields.Notez"'),
        encoding="utf-8",
    )
    result = tenant.check(tenant.path.parent)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == f"acme: OK ({tenant.path})"
    assert f"{broken}: customers.fields.custom_fields.Notez: Thulium has no custom field" in result.stdout
    assert lines[-1] == "broken: 1 problem"


def test_campaign_problems_are_split_per_key_even_when_a_message_holds_a_semicolon() -> None:
    joined = (
        "campaigns[0].outbound_id: campaign 00003 (CSV) is not fed from the CRM (crm: false); only CRM "
        "campaigns take records; campaigns[1].outbound_id: Thulium has no campaign 00009 (it has: 00001)"
    )
    assert split_campaign_problems(joined) == [
        ConfigProblem(
            "campaigns[0].outbound_id",
            "campaign 00003 (CSV) is not fed from the CRM (crm: false); only CRM campaigns take records",
        ),
        ConfigProblem("campaigns[1].outbound_id", "Thulium has no campaign 00009 (it has: 00001)"),
    ]
