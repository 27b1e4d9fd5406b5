"""``syncd init`` as a user runs it: a real process on a real SQLite or PostgreSQL table with Polish column
names, then ``syncd check`` and ``syncd sync`` of the file it wrote against the sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Boolean, Column, DateTime, Integer, MetaData, String, Table, create_engine, insert

from syncd.engine.wallclock import wall_clock
from syncd.sandbox import SandboxProcess
from syncd.settings import parse_tenant_file

SYNCD = Path(sys.executable).parent / "syncd"

CUSTOMER_FIELDS = {
    "name": "imie",
    "surname": "nazwisko",
    "nip": "nip",
    "email": "mail",
    "phone_number": "telefon",
    "address.street": "ulica",
    "address.city": "miasto",
}
KLIENCI = [
    {"id": 1, "imie": "Zofia", "nazwisko": "Wójcik", "telefon": "600 100 200", "mail": "zofia@example.pl",
     "miasto": "Kraków", "ulica": "Floriańska 1", "nip": "5260000011", "firma_id": 10, "usuniety": False},
    {"id": 2, "imie": "Łukasz", "nazwisko": "Żółć", "telefon": "+48 601-200-300", "mail": "LUKASZ@example.pl",
     "miasto": "Gdańsk", "ulica": "Długa 5", "nip": None, "firma_id": None, "usuniety": False},
    {"id": 3, "imie": "Anna", "nazwisko": "Usunięta", "telefon": None, "mail": None,
     "miasto": None, "ulica": None, "nip": None, "firma_id": None, "usuniety": True},
]  # fmt: skip


def make_source(url: str, *, timestamp: bool = True) -> None:
    """Companies ``firmy`` and customers ``klienci``, named as a Polish shop names them."""
    metadata = MetaData()

    def stamp() -> list[Column[Any]]:
        return [Column("zmodyfikowano", DateTime, nullable=False)] if timestamp else []

    firmy = Table(
        "firmy",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("nazwa", String(200), nullable=False),
        Column("nip", String(20)),
        *stamp(),
        Column("usuniety", Boolean, nullable=False),
    )
    klienci = Table(
        "klienci",
        metadata,
        Column("id", Integer, primary_key=True),
        *(
            Column(name, String(200))
            for name in ("imie", "nazwisko", "telefon", "mail", "miasto", "ulica", "nip")
        ),
        Column("kolor_oczu", String(20)),
        Column("firma_id", Integer),
        *stamp(),
        Column("usuniety", Boolean, nullable=False),
    )
    engine = create_engine(url)
    metadata.create_all(engine)
    when = {"zmodyfikowano": wall_clock(2026, 11, 1, 8, 0, 0)} if timestamp else {}
    with engine.begin() as conn:
        conn.execute(insert(firmy), [{"id": 10, "nazwa": "Piekarnia Sp. z o.o.", "nip": "5260000010",
                                      "usuniety": False, **when}])  # fmt: skip
        conn.execute(insert(klienci), [{**row, "kolor_oczu": "zielone", **when} for row in KLIENCI])
    engine.dispose()


@dataclass
class Init:
    tmp_path: Path
    sandbox: SandboxProcess
    env: dict[str, str]

    @property
    def output(self) -> Path:
        return self.tmp_path / "config" / "sklep.toml"

    def options(self, source: str, *, table: str | None = "klienci", companies: bool = True) -> list[str]:
        args = ["--source", source, "--thulium-url", self.sandbox.url, "--thulium-user", self.sandbox.user]
        args += ["--password-env", "THULIUM_PASSWORD", "--output", str(self.output), "--yes"]
        if table is not None:
            args += ["--table", table]
        return args + (["--companies-table", "firmy"] if companies else [])

    def run(
        self, command: str, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SYNCD), command, *args],
            capture_output=True,
            text=True,
            timeout=120,
            env=env or self.env,
            check=False,
            cwd=self.tmp_path,
        )


@pytest.fixture
def init(tmp_path: Path, sandbox: SandboxProcess) -> Init:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}
    env.update(
        THULIUM_PASSWORD=sandbox.password, SYNCD_LOG_LEVEL="WARNING", SYNCD_VAR_DIR=str(tmp_path / "var")
    )
    return Init(tmp_path, sandbox, env)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def polish_source(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    url = (
        f"sqlite:///{tmp_path / 'sklep.sqlite'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    make_source(str(url))
    return str(url)


def held_customers(sandbox: SandboxProcess) -> dict[str, dict[str, Any]]:
    return {c["identifier"]: c for c in sandbox.control.state()["customers"] if not c.get("company_flag")}


def test_init_writes_a_file_that_passes_check_and_syncs(init: Init, polish_source: str) -> None:
    done = init.run("init", *init.options(polish_source))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "sklep: OK" in done.stdout, "syncd check ran on the file and passed"

    config = parse_tenant_file(init.output)
    assert config.customers is not None
    assert config.companies is not None
    customers, companies = config.customers, config.companies
    assert (customers.table, customers.key, customers.updated_at, customers.deleted) == (
        "klienci", "id", "zmodyfikowano", "usuniety",
    )  # fmt: skip
    assert customers.company_key == "firma_id"
    assert customers.fields == CUSTOMER_FIELDS
    assert (companies.table, companies.key, companies.fields) == (
        "firmy",
        "id",
        {"name": "nazwa", "nip": "nip"},
    )
    text = init.output.read_text(encoding="utf-8")
    assert "# primary key" in text
    assert '# "kolor_oczu" (' in text, "the column left out is listed"
    assert init.sandbox.password not in text, "no secret is written"

    synced = init.run("sync", "--config", str(init.output))
    assert synced.returncode == 0, synced.stdout + synced.stderr
    held = held_customers(init.sandbox)
    assert set(held) == {"1", "2"}, "the soft-deleted row is not sent"
    zofia, lukasz = held["1"], held["2"]
    assert (zofia["name"], zofia["surname"], zofia["emails"], zofia["phones"], zofia["nip"]) == (
        "Zofia", "Wójcik", ["zofia@example.pl"], ["600100200"], "5260000011",
    )  # fmt: skip
    assert zofia["address"] == {"city": "Kraków", "street": "Floriańska 1"}
    held_companies = [c for c in init.sandbox.control.state()["customers"] if c.get("company_flag")]
    assert [(c["identifier"], c["surname"]) for c in held_companies] == [("10", "Piekarnia Sp. z o.o.")]
    assert zofia["company_id"] == held_companies[0]["company_id"], "the customer names its company"
    assert (lukasz["surname"], lukasz["emails"], lukasz["phones"]) == (
        "Żółć",
        ["lukasz@example.pl"],
        ["601200300"],
    )


def test_a_table_without_a_timestamp_says_what_to_add_and_writes_nothing(init: Init, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sklep.sqlite'}"
    make_source(url, timestamp=False)
    done = init.run("init", *init.options(url, companies=False))
    assert done.returncode == 1
    assert "customers: table klienci has no usable change timestamp" in done.stderr
    assert "ALTER TABLE klienci ADD COLUMN updated_at TIMESTAMP" in done.stderr
    assert "CREATE TRIGGER klienci_touch AFTER UPDATE ON klienci" in done.stderr
    assert f"No tenant file was written to {init.output}" in done.stderr
    assert not init.output.exists()


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_query_is_reflected_by_its_result_columns(
    init: Init, tmp_path: Path, database: str, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'sklep.sqlite'}"
        if database == "sqlite"
        else str(request.getfixturevalue("postgres_url"))
    )
    make_source(url)
    # A literal colon in the query is text, not a parameter.
    query = (
        "SELECT k.id, k.imie, k.nazwisko, k.mail, k.zmodyfikowano, k.usuniety FROM klienci k "
        "WHERE k.mail LIKE '%:x%' OR k.mail IS NOT NULL"
    )
    done = init.run("init", *init.options(url, table=None, companies=False), "--query", query)
    assert done.returncode == 0, done.stdout + done.stderr
    config = parse_tenant_file(init.output)
    assert config.customers is not None
    assert config.customers.query == query
    assert (config.customers.key, config.customers.updated_at, config.customers.deleted) == (
        "id",
        "zmodyfikowano",
        "usuniety",
    )
    assert config.customers.fields == {"name": "imie", "surname": "nazwisko", "email": "mail"}
    text = init.output.read_text(encoding="utf-8")
    assert "a query has no primary key: check it is unique" in text
    typed = database == "postgres"  # PostgreSQL names a query's column types; SQLite does not
    assert ("TIMESTAMP named like a change time" in text) is typed

    synced = init.run("sync", "--config", str(init.output))
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert set(held_customers(init.sandbox)) == {"1", "2"}


def test_an_existing_file_is_kept_unless_forced(init: Init, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sklep.sqlite'}"
    make_source(url)
    init.output.parent.mkdir()
    init.output.write_text("# mine\n", encoding="utf-8")
    done = init.run("init", *init.options(url))
    assert done.returncode == 1
    assert (
        f"{init.output} exists; syncd init does not overwrite it (give --force to replace it)" in done.stderr
    )
    assert init.output.read_text(encoding="utf-8") == "# mine\n"
    forced = init.run("init", *init.options(url), "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert parse_tenant_file(init.output).customers is not None


def test_missing_options_are_named(init: Init) -> None:
    done = init.run("init", "--source", "sqlite:///x.sqlite", "--table", "klienci", "--yes")
    assert done.returncode == 1
    assert (
        "missing --thulium-url, --thulium-user, --password-env (or --password-file), --output;" in done.stderr
    )
    unasked = init.run("init", *[a for a in init.options("sqlite:///x.sqlite") if a != "--yes"])
    assert unasked.returncode == 1
    assert "missing --yes (not a terminal: nothing can be asked)" in unasked.stderr
    assert not init.output.exists()


def test_a_password_in_the_source_url_is_refused_and_url_env_is_written(init: Init, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sklep.sqlite'}"
    make_source(url)
    secret = "postgresql+psycopg://syncd:s3cret@db.example:5432/sklep"
    done = init.run("init", *init.options(secret))
    assert done.returncode == 1
    assert "--source-env" in done.stderr
    assert "s3cret" not in done.stderr + done.stdout
    args = [a for a in init.options(url) if a not in ("--source", url)]
    by_env = init.run("init", *args, "--source-env", "SKLEP_URL", env={**init.env, "SKLEP_URL": url})
    assert by_env.returncode == 0, by_env.stdout + by_env.stderr
    config = parse_tenant_file(init.output)
    assert (config.source.url, config.source.url_env) == (None, "SKLEP_URL")


def test_the_exit_code_is_the_checks(init: Init, tmp_path: Path) -> None:
    """The file is right, the environment is not yet: written, and the check's problem is said."""
    url = f"sqlite:///{tmp_path / 'sklep.sqlite'}"
    make_source(url)
    env = {k: v for k, v in init.env.items() if k != "THULIUM_PASSWORD"}
    done = init.run("init", *init.options(url), env=env)
    assert done.returncode == 1
    assert (
        f"{init.output}: thulium.password_env: environment variable THULIUM_PASSWORD is not set"
        in done.stdout
    )
    assert parse_tenant_file(init.output).customers is not None
