"""The naming rules and proposals of ``syncd init``, table-driven, on columns described by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.app.scaffold.advice import missing_timestamp, trigger_example
from syncd.app.scaffold.names import (
    COMPANY_SYNONYMS,
    CUSTOMER_SYNONYMS,
    field_for,
    is_company_key_name,
    is_deleted_name,
    is_key_name,
    is_updated_name,
    plain,
)
from syncd.app.scaffold.proposal import propose
from syncd.app.scaffold.render import Connection, render_tenant_file
from syncd.settings.loader import parse_tenant_text
from syncd.source.reflect import Kind, Reflected, SourceColumn


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Data_Modyfikacji", "datamodyfikacji"),
        ("imię", "imie"),
        ("Miejscowość", "miejscowosc"),
        ("e-mail", "email"),
    ],
)
def test_names_are_compared_plain(name: str, expected: str) -> None:
    assert plain(name) == expected


@pytest.mark.parametrize(
    ("column", "field"),
    [
        ("imie", "name"),
        ("Imię", "name"),
        ("first_name", "name"),
        ("nazwisko", "surname"),
        ("last_name", "surname"),
        ("telefon", "phone_number"),
        ("nr_telefonu", "phone_number"),
        ("phone", "phone_number"),
        ("mail", "email"),
        ("E-mail", "email"),
        ("miasto", "address.city"),
        ("miejscowość", "address.city"),
        ("ulica", "address.street"),
        ("kod_pocztowy", "address.postcode"),
        ("nip", "nip"),
        ("pesel", "pesel"),
        ("data_urodzenia", "birthdate"),
        ("uwagi", "note"),
        ("kolor_oczu", None),
        ("kod", None),  # a code, not surely a postcode: no guess
    ],
)
def test_customer_columns_map_by_english_and_polish_names(column: str, field: str | None) -> None:
    assert field_for(column, CUSTOMER_SYNONYMS) == field


@pytest.mark.parametrize(("column", "field"), [("nazwa", "name"), ("nazwa_firmy", "name"), ("nip", "nip")])
def test_company_columns_map_by_name(column: str, field: str) -> None:
    assert field_for(column, COMPANY_SYNONYMS) == field


def test_role_names() -> None:
    assert is_key_name("id", None)
    assert is_key_name("klienci_id", "klienci")
    assert is_key_name("customer_id", "customers")
    assert not is_key_name("nazwisko", "klienci")
    assert all(
        is_updated_name(n) for n in ("updated_at", "zmodyfikowano", "data_modyfikacji", "Last-Modified")
    )
    assert not is_updated_name("created_at")
    assert all(is_deleted_name(n) for n in ("deleted", "is_deleted", "usuniety", "usunięty", "deleted_at"))
    assert all(is_company_key_name(n, None) for n in ("company_id", "firma_id", "id_firmy"))
    assert is_company_key_name("firmy_id", "firmy")


def column(name: str, kind: Kind = Kind.TEXT, **flags: bool | None) -> SourceColumn:
    type_name = {Kind.TEXT: "TEXT", Kind.INTEGER: "INTEGER", Kind.TIMESTAMP: "TIMESTAMP"}.get(
        kind, kind.upper()
    )
    return SourceColumn(name, kind, type_name, **flags)  # type: ignore[arg-type]


KLIENCI = (
    column("id", Kind.INTEGER, primary_key=True, nullable=False),
    column("imie"),
    column("nazwisko"),
    column("mail"),
    column("email_prywatny"),
    column("e_mail"),
    column("firma_id", Kind.INTEGER),
    column("zmodyfikowano", Kind.TIMESTAMP),
    column("usuniety", Kind.BOOLEAN),
    column("kolor_oczu"),
)


def test_a_table_proposes_each_role_with_its_reason() -> None:
    proposal = propose(
        "customers",
        Reflected(KLIENCI, "sqlite", False),
        table="klienci",
        companies_table="firmy",
        with_companies=True,
    )
    assert (proposal.key and proposal.key.column, proposal.key and proposal.key.why) == ("id", "primary key")
    assert proposal.updated_at is not None
    assert proposal.updated_at.column == "zmodyfikowano"
    assert "TIMESTAMP" in proposal.updated_at.why
    assert proposal.deleted is not None
    assert proposal.deleted.column == "usuniety"
    assert proposal.company_key is not None
    assert proposal.company_key.column == "firma_id"
    assert {t: c.column for t, c in proposal.fields.items()} == {
        "name": "imie",
        "surname": "nazwisko",
        "email": "mail",
    }
    left = {item.column.name: item.why for item in proposal.left_out()}
    assert left == {
        "email_prywatny": "no Thulium field is named like it",
        "e_mail": "named like email, which mail already fills",
        "kolor_oczu": "no Thulium field is named like it",
    }


def test_without_companies_no_company_key_is_proposed() -> None:
    proposal = propose("customers", Reflected(KLIENCI, "sqlite", False), table="klienci")
    assert proposal.company_key is None
    assert "firma_id" in {item.column.name for item in proposal.left_out()}


def test_a_key_needs_a_primary_key_or_a_unique_not_null_column_or_says_what_to_check() -> None:
    unique = (column("id", Kind.INTEGER, unique=True, nullable=False), column("nazwisko"))
    key = propose("customers", Reflected(unique, "postgresql", False), table="t").key
    assert key is not None
    assert key.why == "unique, not null, integer named like a key"
    loose = (column("id", Kind.INTEGER, nullable=True), column("nazwisko"))
    key = propose("customers", Reflected(loose, "sqlite", False), table="t").key
    assert key is not None
    assert "check it is unique" in key.why
    query = (
        column("id", Kind.UNKNOWN),
        column("nazwisko", Kind.UNKNOWN),
        column("zmodyfikowano", Kind.UNKNOWN),
    )
    proposal = propose("customers", Reflected(query, "sqlite", True), query="SELECT ...")
    assert proposal.key is not None
    assert "a query has no primary key" in proposal.key.why
    assert proposal.updated_at is not None
    assert "check it is a timestamp" in proposal.updated_at.why


def test_a_text_column_named_like_a_timestamp_is_not_one() -> None:
    cols = (column("id", Kind.INTEGER, primary_key=True), column("nazwisko"), column("zmodyfikowano"))
    reflected = Reflected(cols, "sqlite", False)
    proposal = propose("customers", reflected, table="klienci")
    assert proposal.updated_at is None
    message = missing_timestamp("table klienci", "klienci", "sqlite", [cols[2]], [])
    assert 'column "zmodyfikowano" is named like one but is TEXT' in message
    assert "ALTER TABLE klienci ADD COLUMN updated_at TIMESTAMP;" in message


@pytest.mark.parametrize(
    ("dialect", "words"),
    [
        ("postgresql", "EXECUTE FUNCTION syncd_touch()"),
        ("mysql", "ON UPDATE CURRENT_TIMESTAMP(6)"),
        ("sqlite", "AFTER UPDATE ON klienci"),
        ("mssql", "ADD COLUMN updated_at TIMESTAMP"),
    ],
)
def test_the_trigger_example_is_in_each_dialect(dialect: str, words: str) -> None:
    assert words in " ".join(trigger_example("klienci", dialect))


def test_the_rendered_file_loads_whatever_the_column_names_hold() -> None:
    odd = (
        column("Id Klienta", Kind.INTEGER, primary_key=True),
        column("nazwisko"),
        column("zmodyfikowano", Kind.TIMESTAMP),
        column('dziwna "kolumna"\nz nową linią'),
    )
    proposal = propose("customers", Reflected(odd, "sqlite", False), table='schemat.klienci "x"')
    connection = Connection(
        "https://acme.thulium.com/api", "api_user", "THULIUM_PASSWORD", None, "sqlite:///s.db", None
    )
    text = render_tenant_file(connection, [proposal])
    config = parse_tenant_text(text, Path("acme.toml"))
    assert config.customers is not None
    assert config.customers.key == "Id Klienta"
    assert config.customers.table == 'schemat.klienci "x"'
    assert config.customers.fields == {"surname": "nazwisko"}
    assert '# "dziwna \\"kolumna\\"\\nz nową linią" (TEXT): no Thulium field is named like it' in text
