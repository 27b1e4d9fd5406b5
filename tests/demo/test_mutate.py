"""Mutations between runs, and the reader seeing exactly what changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select

from syncd.demo import generate_source, mutate
from syncd.demo import schema as s
from syncd.settings.loader import parse_tenant_file
from syncd.source import SqlSource, decode_position, encode_position
from syncd.source.lookback import shift_back
from tests.demo.checks import blank, email_ok, phone_digits


def customers(url: str) -> dict[int, Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {r.id: r for r in conn.execute(select(s.customers))}
    finally:
        engine.dispose()


def fresh(tmp_path: Path, name: str = "m") -> str:
    url = f"sqlite:///{tmp_path / name / 'source.sqlite'}"
    generate_source(url, customers=1000, companies=50, seed=5)
    return url


def test_mutation_does_what_it_reports(tmp_path: Path) -> None:
    url = fresh(tmp_path)
    before = customers(url)
    m = mutate(url, seed=1, updates=0.05, soft_deletes=0.01, hard_deletes=0.01, inserts=30, same_timestamp=4)
    after = customers(url)
    assert (len(m.updated), len(m.soft_deleted), len(m.hard_deleted), len(m.inserted)) == (50, 10, 10, 30)
    touched = [*m.updated, *m.soft_deleted, *m.hard_deleted]
    assert len(set(touched)) == len(touched)
    assert m.previous_max == max(r.updated_at for r in before.values())
    top_key = max(k for k, r in before.items() if r.updated_at == m.previous_max)

    for key in map(int, m.hard_deleted):
        assert key in before
        assert key not in after
    for key in map(int, m.soft_deleted):
        assert after[key].deleted
        assert not before[key].deleted
    for key in map(int, m.updated):
        assert after[key].street != before[key].street
        assert not after[key].deleted
    for key in map(int, m.inserted):
        row = after[key]
        assert key not in before
        assert not row.deleted
        assert not blank(row.last_name)
        assert phone_digits(row.phone)
        assert email_ok(row.email)

    changed = [*m.updated, *m.soft_deleted, *m.inserted]
    assert len(m.same_timestamp) == 4
    assert set(m.same_timestamp) <= set(changed)
    for key in map(int, m.same_timestamp):
        assert after[key].updated_at == m.previous_max
        assert key > top_key
    for key in map(int, set(changed) - set(m.same_timestamp)):
        assert after[key].updated_at > m.previous_max
    assert m.max_updated_at == max(r.updated_at for r in after.values())
    untouched = set(before) - {int(k) for k in changed} - {int(k) for k in m.hard_deleted}
    assert all(after[k] == before[k] for k in untouched)


def test_mutation_is_deterministic(tmp_path: Path) -> None:
    a, b = fresh(tmp_path, "a"), fresh(tmp_path, "b")
    assert mutate(a, seed=9) == mutate(b, seed=9)
    assert customers(a) == customers(b)
    assert mutate(a, seed=10) != mutate(b, seed=11)


def test_the_reader_sees_exactly_the_changes_after_the_last_cursor(tmp_path: Path) -> None:
    from syncd.demo import write_demo_config

    url = fresh(tmp_path)
    config = parse_tenant_file(write_demo_config(tmp_path / "demo.toml", url, "http://127.0.0.1:1/api"))
    engine = create_engine(url)
    source = SqlSource.for_tenant(engine, config, page_size=37)
    first = list(source.read_changed("customers", None))
    assert len(first) == 1000
    cursor = decode_position(*encode_position(first[-1].position))

    m = mutate(url, seed=2, same_timestamp=6)
    second = list(source.read_changed("customers", cursor))
    changed = {*m.updated, *m.soft_deleted, *m.inserted}
    # The lookback window (120 s by default) before the cursor is read again, unchanged rows too.
    window = shift_back(cursor.updated_at, 120)
    reread = {r.key for r in first if r.position.updated_at > window} - changed - set(m.hard_deleted)
    assert sorted(r.key for r in second) == sorted(changed | reread)
    assert {r.key for r in second if r.deleted} == set(m.soft_deleted)
    assert set(m.same_timestamp) <= {r.key for r in second}
    assert {r.key for r in source.read_keys("customers", m.hard_deleted)} == set()
    assert set(second[0].values) == {
        "first_name", "last_name", "email", "phone", "city", "street", "segment", "company_id",
    }  # fmt: skip
    assert len(list(source.read_changed("companies", None))) == 50
    engine.dispose()
