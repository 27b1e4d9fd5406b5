"""The generated demo source: deterministic, with exactly the reported rows broken."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, select

from syncd.demo import Invalid, generate_source
from syncd.demo import schema as s
from tests.demo.checks import blank, email_ok, nip_ok, phone_digits


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.c))]
                for t in (s.companies, s.customers, s.campaign_targets)
            }
    finally:
        engine.dispose()


def url(tmp_path: Path, name: str) -> str:
    return f"sqlite:///{tmp_path / name / 'source.sqlite'}"


def test_same_seed_same_database_other_seed_other_data(tmp_path: Path) -> None:
    a = generate_source(url(tmp_path, "a"), customers=300, companies=40, seed=7)
    b = generate_source(url(tmp_path, "b"), customers=300, companies=40, seed=7)
    c = generate_source(url(tmp_path, "c"), customers=300, companies=40, seed=8)
    assert dump(a.url) == dump(b.url)
    assert a.invalid_customers == b.invalid_customers
    assert a.campaign_members == b.campaign_members
    assert dump(a.url) != dump(c.url)


def test_schema_matches_the_example_config(tmp_path: Path) -> None:
    demo = generate_source(url(tmp_path, "x"), customers=10, companies=3)
    names = inspect(create_engine(demo.url))
    assert set(names.get_table_names()) == {"companies", "customers", "campaign_targets"}
    assert [c["name"] for c in names.get_columns("customers")] == [
        "id", "first_name", "last_name", "email", "phone", "city", "street", "segment", "company_id",
        "updated_at", "deleted",
    ]  # fmt: skip
    assert names.get_foreign_keys("customers") == []


@pytest.mark.parametrize("fraction", [0.0, 0.03, 0.2])
def test_invalid_rows_are_the_reported_ones_in_the_asked_share(tmp_path: Path, fraction: float) -> None:
    demo = generate_source(
        url(tmp_path, "f"), customers=1000, companies=100, invalid_fraction=fraction, seed=3
    )
    company_keys = set(demo.company_keys)
    dangling = {k for k, company in demo.detached_customers.items() if company not in company_keys}
    assert len(demo.invalid_customers) + len(dangling) == round(1000 * fraction)
    assert len(demo.invalid_companies) == round(100 * fraction)
    kinds = Counter(demo.invalid_customers.values())
    kinds[Invalid.UNKNOWN_COMPANY] = len(dangling)
    if fraction:
        assert set(kinds) == {
            Invalid.MISSING_SURNAME,
            Invalid.BAD_PHONE,
            Invalid.BAD_EMAIL,
            Invalid.UNKNOWN_COMPANY,
        }
        assert max(kinds.values()) - min(kinds.values()) <= 1
        assert set(demo.invalid_companies.values()) == {Invalid.MISSING_NAME, Invalid.DUPLICATE_NIP}
        # Customers of a broken company are not broken themselves: they go to Thulium without it.
        assert {c for c in demo.detached_customers.values() if c in demo.invalid_companies}

    data = dump(demo.url)
    companies = {str(r[0]): r for r in data["companies"]}
    valid_company_ids = {int(k) for k in demo.valid_company_keys}
    valid_nips = [companies[k][2] for k in demo.valid_company_keys]
    assert len(set(valid_nips)) == len(valid_nips)
    assert all(nip_ok(n) for n in valid_nips)
    for key, row in companies.items():
        problem = demo.invalid_companies.get(key)
        assert blank(row[1]) == (problem is Invalid.MISSING_NAME)
        if problem is Invalid.DUPLICATE_NIP:
            assert row[2] in valid_nips
            assert key not in demo.valid_company_keys

    for row in data["customers"]:
        key, _, last_name, email, phone, *_rest = row
        company_id = row[8]
        problem = demo.invalid_customers.get(str(key))
        assert blank(last_name) == (problem is Invalid.MISSING_SURNAME), row
        assert (phone_digits(phone) is None) == (problem is Invalid.BAD_PHONE), row
        assert (not email_ok(email)) == (problem is Invalid.BAD_EMAIL), row
        detached = company_id is not None and company_id not in valid_company_ids and problem is None
        assert detached == (str(key) in demo.detached_customers), row
        assert problem is not Invalid.UNKNOWN_COMPANY


def test_realistic_variety(tmp_path: Path) -> None:
    demo = generate_source(url(tmp_path, "v"), customers=2000, companies=200, seed=0)
    rows = dump(demo.url)["customers"]
    valid = [r for r in rows if str(r[0]) not in demo.invalid_customers]
    phones = [r[4] for r in valid]
    assert any(p.startswith("+48 ") for p in phones)
    assert any(p.startswith("0048") for p in phones)
    assert any(p.startswith("(") for p in phones)
    assert any(len(p) == 11 and p.count("-") == 2 for p in phones)
    assert any(p.isdigit() and len(p) == 9 for p in phones)
    assert any(len(phone_digits(p) or []) == 2 for p in phones)
    emails = [r[3] for r in valid if r[3]]
    assert any(e != e.strip() for e in emails)
    assert any(e.strip() != e.strip().lower() for e in emails)
    assert any(r[8] is None for r in valid)
    assert any(r[8] is not None for r in valid)
    assert all(r[10] is False or r[10] == 0 for r in rows)
    stamps = [r[9] for r in sorted(rows)]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) < len(stamps)
    assert demo.max_updated_at == max(stamps)
    members = demo.campaign_members["00001"]
    assert len(members) == round(len(valid) * 0.10)
    assert set(members) <= set(demo.valid_customer_keys)


def test_regenerating_replaces_the_tables(tmp_path: Path) -> None:
    target = url(tmp_path, "r")
    generate_source(target, customers=50, companies=5, seed=1)
    demo = generate_source(target, customers=20, companies=2, seed=2)
    data = dump(target)
    assert len(data["customers"]) == 20
    assert len(data["companies"]) == 2
    assert demo.customer_keys == tuple(str(i) for i in range(1, 21))
