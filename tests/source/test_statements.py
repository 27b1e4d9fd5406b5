"""Query streams, read_keys, quoting and bound parameters, and page-by-page fetching."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Column, DateTime, Engine, Integer, MetaData, String, Table, inspect

from syncd.settings.tenant import CustomersSection
from syncd.source import SqlSource
from tests.source.helpers import at, insert, keys, make_table, read_all, recorded, source, stream

INJECTION = "1'; DROP TABLE people; --"


def test_query_stream_reads_the_columns_the_query_returns(engine: Engine) -> None:
    table = make_table(engine, extra=("name", "segment"))
    insert(
        engine,
        table,
        [
            {"id": i, "updated_at": at(i), "name": f"n{i}", "segment": "vip" if i % 2 else "std"}
            for i in range(1, 8)
        ],
    )
    query = """
        SELECT id AS person_id, updated_at AS changed, deleted AS gone, upper(name) AS full_name,
               segment
        FROM people WHERE segment = 'vip' AND name <> 'ten :o''clock' AND name LIKE 'n%' ;
    """
    section = stream(
        query=query, key="person_id", updated_at="changed", deleted="gone", fields={"name": "full_name"}
    )
    src = source(engine, section, page_size=2)
    rows = read_all(src)
    assert keys(rows) == ["1", "3", "5", "7"]
    assert rows[0].values == {"full_name": "N1"}
    assert keys(read_all(src, rows[1].position)) == ["3", "5", "7"]
    assert keys(src.read_keys("people", ["7", "2", "3"])) == ["7", "3"]


def test_read_keys_with_integer_keys(engine: Engine) -> None:
    table = make_table(engine)
    insert(engine, table, [{"id": i, "updated_at": at(i), "deleted": i == 3} for i in range(1, 1300)])
    src = source(engine)
    with recorded(engine) as statements:
        rows = src.read_keys("people", ["3", "1299", "5000", "abc", "007", "3", "12"])
    assert keys(rows) == ["3", "1299", "12"]
    assert rows[0].deleted is True
    assert rows[0].position.key == 3
    wanted = [str(i) for i in range(1, 1300)]
    with recorded(engine) as statements:
        assert keys(src.read_keys("people", wanted)) == wanted
    selects = [s for s, _ in statements if "IN" in s]
    assert len(selects) == 3  # 500 + 500 + 299
    assert all(len(params) <= 500 for _, params in statements)


def test_read_keys_with_text_keys_that_look_like_numbers(engine: Engine) -> None:
    table = make_table(engine, key_type=String(40))
    insert(engine, table, [{"id": k, "updated_at": at(1)} for k in ("007", "7", "a-1", INJECTION)])
    src = source(engine, keys_per_statement=2)
    assert keys(src.read_keys("people", ["7", "007", INJECTION, "missing"])) == ["7", "007", INJECTION]
    assert src.read_keys("people", []) == []


def test_quoted_names_and_injection_looking_values_are_bound(engine: Engine) -> None:
    table = Table(
        "Customer Data; DROP",
        MetaData(),
        Column("select", String(60), primary_key=True),
        Column("Updated At", DateTime()),
        Column("is deleted", String(5)),
        Column("Last-Name", String(60)),
    )
    table.create(engine)
    insert(
        engine,
        table,
        [
            {"select": INJECTION, "Updated At": at(1), "is deleted": "no", "Last-Name": "O'Brien"},
            {"select": "b", "Updated At": at(1), "is deleted": "yes", "Last-Name": 'Ro"b'},
        ],
    )
    section = stream(
        "Customer Data; DROP",
        key="select",
        updated_at="Updated At",
        deleted="is deleted",
        fields={"surname": "Last-Name"},
    )
    src = SqlSource(engine, {"people": section}, page_size=1)
    with recorded(engine) as statements:
        rows = read_all(src)
        again = read_all(src, rows[0].position)
        found = src.read_keys("people", [INJECTION])
    assert [(r.key, r.deleted, r.values["Last-Name"]) for r in rows] == [
        (INJECTION, False, "O'Brien"),
        ("b", True, 'Ro"b'),
    ]
    assert keys(again) == [INJECTION, "b"]
    assert keys(found) == [INJECTION]
    assert not any("DROP TABLE" in s or "O'Brien" in s for s, _ in statements)
    assert set(inspect(engine).get_table_names()) == {"Customer Data; DROP"}


def test_pages_are_fetched_one_statement_at_a_time(engine: Engine) -> None:
    table = make_table(engine)
    insert(engine, table, [{"id": i, "updated_at": at(i // 4)} for i in range(25)])
    src = source(engine, page_size=4)
    with recorded(engine) as statements:
        iterator = src.read_changed("people", None)
        assert len(statements) == 1  # max(updated_at), fixed at the call
        first_page = [next(iterator) for _ in range(4)]
        assert len(statements) == 3  # then the NULL-updated_at rows (none) and the first page
        rest = list(iterator)
    assert len(first_page) + len(rest) == 25
    pages = [(s, p) for s, p in statements if re.search(r"\bLIMIT\b", s) and "IS NULL" not in s]
    assert len(pages) == 7  # 6 full pages of 4 and one of 1
    for statement, params in pages:
        values = params.values() if isinstance(params, dict) else params
        # The page size is a bound LIMIT; a next page asks for one row more: the last one, read again.
        assert 4 in values or 5 in values, statement


def test_rows_per_statement_never_exceed_the_page_size(engine: Engine) -> None:
    table = make_table(engine)
    insert(engine, table, [{"id": i, "updated_at": at(i % 3)} for i in range(50)])
    src = source(engine, page_size=7)
    fetched: list[int] = []
    original = src._fetch

    def counting(stmt, *args):  # type: ignore[no-untyped-def]
        page = original(stmt, *args)
        fetched.append(len(page))
        return page

    src._fetch = counting  # type: ignore[method-assign]
    assert len(read_all(src)) == 50
    # Each next page re-reads the previous page's last row (and drops it): at most one row more.
    assert max(fetched) <= 8
    assert sum(fetched) <= 50 + len(fetched)


def test_for_tenant_builds_the_companies_and_customers_streams(engine: Engine) -> None:
    from syncd.settings.tenant import TenantFile

    config = TenantFile.model_validate(
        {
            "thulium": {"url": "http://x/api", "user": "u", "password_env": "P"},
            "source": {"url": "sqlite://"},
            "customers": CustomersSection(
                table="people", key="id", updated_at="updated_at", fields={"surname": "name"}
            ).model_dump(),
        }
    )
    table = make_table(engine)
    insert(engine, table, [{"id": 1, "updated_at": at(1), "name": "x"}])
    src = SqlSource.for_tenant(engine, config, page_size=10)
    assert keys(src.read_changed("customers", None)) == ["1"]
    with pytest.raises(KeyError, match="customers"):
        src.read_changed("companies", None)


def test_page_size_must_be_positive(engine: Engine) -> None:
    with pytest.raises(ValueError, match="page_size must be at least 1"):
        SqlSource(engine, {}, page_size=0)
    with pytest.raises(ValueError, match="keys_per_statement must be between 1 and 500"):
        SqlSource(engine, {}, keys_per_statement=501)


def test_integer_column_sorts_numerically(engine: Engine) -> None:
    table = Table(
        "numbers", MetaData(), Column("id", Integer, primary_key=True), Column("updated_at", DateTime())
    )
    table.create(engine)
    insert(engine, table, [{"id": i, "updated_at": at(0)} for i in (10, 9, 100, 2)])
    src = SqlSource(engine, {"n": stream("numbers", deleted=None, fields={})}, page_size=1)
    assert keys(src.read_changed("n", None)) == ["2", "9", "10", "100"]
