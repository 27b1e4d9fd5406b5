"""Issue 15 on SQLite, PostgreSQL and MariaDB, end to end, with the default tenant settings:

- keys whose order differs between the database's collation and Python's (mixed case, Polish letters),
  thousands of rows sharing one second, keyset pages split inside that second;
- a row committed out of order (the cursor's own timestamp, a lower key) arrives with the next incremental
  run;
- a row stamped 2031 is synced and reported, and an ordinary change a minute later, stamped with the
  database's own clock, still arrives with the next incremental run.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Boolean, Column, DateTime, MetaData, String, Table, create_engine, insert, text

from syncd.app.runtime import tenant_runtime
from syncd.app.sync import sync_tenant
from syncd.engine.wallclock import wall_clock, wall_clock_now
from syncd.sandbox import SandboxProcess
from syncd.settings import ProcessSettings, Tenant, load_tenant
from syncd.state import migrate
from tests.sync.convergence import assert_exact, converge_check, patient_client

WORDS = ("abc", "ABD", "Łódź", "lodz", "żaba", "Zebra", "ąbc", "Ab", "ósemka", "Ola", "ćma", "Czapla")
ROWS = 2400  # more than two keyset pages of 1,000, all stamped in two seconds
NOW = {
    "sqlite": "datetime('now', 'localtime')",
    "postgresql": "LOCALTIMESTAMP",
    "mysql": "NOW()",
}


def make_source(url: str, start: datetime) -> None:
    metadata = MetaData()
    table = Table(
        "people",
        metadata,
        Column("code", String(40), primary_key=True),
        Column("surname", String(100)),
        Column("changed", DateTime, nullable=False, index=True),
        Column("gone", Boolean, nullable=False),
    )
    engine = create_engine(url)
    metadata.create_all(engine)
    rows = [
        {
            "code": f"{WORDS[i % len(WORDS)]}{i}",
            "surname": f"Nazwisko {i}",
            "changed": start + timedelta(seconds=i * 2 // ROWS),
            "gone": False,
        }
        for i in range(ROWS)
    ]
    with engine.begin() as conn:
        conn.execute(insert(table), rows)
    engine.dispose()


def tenant_of(tmp_path: Path, source_url: str, sandbox: SandboxProcess) -> Tenant:
    path = tmp_path / "keys.toml"
    path.write_text(
        f"""
[thulium]
url = "{sandbox.url}"
user = "{sandbox.user}"
password_env = "THULIUM_PASSWORD"

[source]
url = "{source_url}"

[state]
url = "sqlite:///{tmp_path / "state.sqlite"}"

[customers]
table = "people"
key = "code"
updated_at = "changed"
deleted = "gone"

[customers.fields]
surname = "surname"
""",
        encoding="utf-8",
    )
    tenant = load_tenant(path, ProcessSettings(), env={"THULIUM_PASSWORD": sandbox.password})
    migrate.upgrade_if_needed(tenant.state_url)
    return tenant


def sync(tenant: Tenant) -> int:
    with tenant_runtime(tenant) as runtime:
        return sync_tenant(runtime).exit_code


def exact(tenant: Tenant, sandbox: SandboxProcess) -> None:
    with patient_client(sandbox) as client:
        assert_exact(converge_check(tenant, client))


def execute(url: str, statement: str, **params: object) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(statement.replace("{now}", NOW[engine.dialect.name])), params)
    engine.dispose()


def warnings(tenant: Tenant) -> dict[str, str]:
    engine = create_engine(tenant.state_url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT source_key, message FROM failures WHERE kind = 'warning' AND resolved_at IS NULL")
        )
        found = {str(key): str(message) for key, message in rows}
    engine.dispose()
    return found


def test_keys_ties_late_commits_and_a_clock_that_lies(
    source_url: str, sandbox: SandboxProcess, tmp_path: Path
) -> None:
    start = wall_clock_now().replace(microsecond=0) - timedelta(hours=1)
    make_source(source_url, start)
    tenant = tenant_of(tmp_path, source_url, sandbox)
    assert sync(tenant) == 0
    exact(tenant, sandbox)

    # Committed out of order: the cursor's own second, a key lower than the cursor's in any order.
    last = start + timedelta(seconds=1)
    execute(
        source_url,
        "INSERT INTO people (code, surname, changed, gone) VALUES ('0late', 'Spóźniony', :t, :f)",
        t=last,
        f=False,
    )
    assert sync(tenant) == 0
    exact(tenant, sandbox)

    # A writer whose clock says 2031: synced and reported, and it must hide nothing after it.
    execute(
        source_url,
        "INSERT INTO people (code, surname, changed, gone) VALUES ('future', 'Z przyszłości', :t, :f)",
        t=wall_clock(2031, 1, 1, 12, 0),
        f=False,
    )
    assert sync(tenant) == 0
    exact(tenant, sandbox)
    assert "future" in warnings(tenant)
    assert "ahead" in warnings(tenant)["future"]
    execute(source_url, "UPDATE people SET surname = 'Zmieniony', changed = {now} WHERE code = 'abc0'")
    assert sync(tenant) == 0
    exact(tenant, sandbox)
    assert set(warnings(tenant)) == {"future"}, "the 2031 row is still reported, nothing else"
