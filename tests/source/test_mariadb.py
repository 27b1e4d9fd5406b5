"""MariaDB as PHP shops run it: insensitive collations, DATETIME without fractions, zero dates.

Every table here is created with the server's defaults (``utf8mb4_general_ci``) unless a test
names another collation, and rows go in under MariaDB's default, permissive ``sql_mode``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text

from syncd.engine.crm.normalize import Unreadable
from syncd.engine.records import Position, SourceRow
from syncd.source import decode_position, encode_position
from syncd.source.zero_dates import NOT_A_DATE
from tests.source.helpers import keys, read_all, source, stream

pytestmark = pytest.mark.mariadb

POLISH_AND_MIXED_CASE = ["abc", "ABD", "Łódź", "Lodz", "żaba", "Zebra", "a", "B", "ćma", "Ćwiek"]


@pytest.fixture
def maria(mariadb_url: str) -> Iterator[Engine]:
    engine = create_engine(mariadb_url)
    try:
        yield engine
    finally:
        engine.dispose()


def run(engine: Engine, *statements: str) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def people(engine: Engine, key: str = "VARCHAR(40) PRIMARY KEY", collation: str = "") -> None:
    run(
        engine,
        f"CREATE TABLE people (id {key}, updated_at DATETIME NULL, deleted BOOL NULL, name VARCHAR(200)) "
        f"CHARACTER SET utf8mb4 {collation}",
    )


def add(engine: Engine, rows: list[tuple[str, str | None, str | None]]) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO people (id, updated_at, name) VALUES (:id, :u, :n)"),
            [{"id": k, "u": u, "n": n} for k, u, n in rows],
        )


def resumes_exactly(src_rows: list[SourceRow], read: list[list[SourceRow]]) -> None:
    """Resuming from any row re-reads from the first row of its second, and nothing else twice."""
    expected = keys(src_rows)
    for row, again in zip(src_rows, read, strict=True):
        first = next(i for i, r in enumerate(src_rows) if r.position.updated_at == row.position.updated_at)
        assert keys(again) == expected[first:]


@pytest.mark.parametrize("collation", ["", "COLLATE utf8mb4_unicode_ci", "COLLATE utf8mb4_general_ci"])
@pytest.mark.parametrize("page_size", [1, 2, 3, 1000])
def test_insensitive_collations_read_every_key_once_in_the_databases_order(
    maria: Engine, collation: str, page_size: int
) -> None:
    people(maria, collation=collation)
    stamps = ["2024-05-01 12:00:00", "2024-05-01 12:00:00", "2024-05-01 12:00:01"]
    add(maria, [(k, stamps[i % 3], f"n{i}") for i, k in enumerate(POLISH_AND_MIXED_CASE)])
    src = source(maria, page_size=page_size)
    rows = read_all(src)
    assert sorted(keys(rows)) == sorted(POLISH_AND_MIXED_CASE)
    with maria.connect() as conn:
        ids = conn.execute(text("SELECT id FROM people ORDER BY updated_at, id")).scalars()
        order = [str(k) for k in ids]
    assert keys(rows) == order  # the database's order, not Python's ("ABD" < "abc" in Python)
    resumes_exactly(rows, [read_all(src, decode_position(*encode_position(r.position))) for r in rows])
    found = src.read_keys("people", ["abc", "ABC", "lodz", "Lodz", "Łódź", "zaba"])
    assert keys(found) == ["abc", "Lodz", "Łódź"]  # exact keys only, though the collation matches more


@pytest.mark.parametrize("page_size", [1, 2, 5])
def test_keys_equal_under_the_collation_are_each_read_once(maria: Engine, page_size: int) -> None:
    """A query source may hold keys that differ but compare equal (no unique index stops it)."""
    people(maria, key="INT PRIMARY KEY")
    run(maria, "ALTER TABLE people ADD COLUMN code VARCHAR(40)")
    codes = ["abc", "ABC", "Abc", "lodz", "LODZ", "a", "á", "A"]
    with maria.begin() as conn:
        conn.execute(
            text("INSERT INTO people (id, code, updated_at) VALUES (:i, :c, '2024-05-01 12:00:00')"),
            [{"i": i, "c": c} for i, c in enumerate(codes)],
        )
    section = stream(query="SELECT code, updated_at, deleted, name FROM people", key="code")
    rows = read_all(source(maria, section, page_size=page_size))
    assert sorted(keys(rows)) == sorted(codes)


@pytest.mark.parametrize("page_size", [1, 4, 7, 10, 1000])
def test_many_rows_in_one_second_of_a_datetime_without_fractions(maria: Engine, page_size: int) -> None:
    people(maria, key="INT PRIMARY KEY")
    add(maria, [(str(i), f"2024-05-01 12:00:0{i // 10}", None) for i in range(40)])
    src = source(maria, page_size=page_size)
    rows = read_all(src)
    assert keys(rows) == [str(i) for i in range(40)]
    assert all(r.position.updated_at.microsecond == 0 for r in rows)
    resumes_exactly(rows, [read_all(src, r.position) for r in rows])
    # The tie re-read: a writer committed a row with the cursor's second and a lower key after the read.
    cursor = rows[-1].position
    run(maria, "INSERT INTO people (id, updated_at) VALUES (-1, '2024-05-01 12:00:03')")
    assert keys(read_all(src, cursor)) == ["-1", *(str(i) for i in range(30, 40))]


def zero_dated(engine: Engine) -> None:
    people(engine, key="INT PRIMARY KEY")
    run(
        engine,
        "ALTER TABLE people ADD COLUMN born DATE NULL, ADD COLUMN seen DATETIME NULL",
        "INSERT INTO people (id, updated_at, born, seen, name) VALUES "
        "(1, '2024-05-01 12:00:00', '1985-02-03', '2024-01-01 10:00:00', 'a'),"
        "(2, '0000-00-00 00:00:00', '1990-01-01', NULL, 'b'),"
        "(3, NULL, NULL, NULL, 'c'),"
        "(4, '2024-05-01 12:00:01', '0000-00-00', '0000-00-00 00:00:00', 'd'),"
        "(5, '2024-05-01 12:00:02', '1985-00-00', NULL, 'e'),"
        "(6, '2024-00-00 00:00:00', NULL, NULL, 'f'),"
        "(7, '0000-00-00 00:00:00', NULL, NULL, 'g')",
    )


def test_zero_dates_in_updated_at_are_read_like_null_by_a_full_pass_only(
    maria: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    zero_dated(maria)
    src = source(maria, stream(lookback_seconds=120), page_size=2)
    with caplog.at_level(logging.WARNING, logger="syncd.source.reader"):
        rows = read_all(src)
    assert keys(rows) == ["2", "3", "6", "7", "1", "4", "5"]
    assert [r.position.updated_at for r in rows[:4]] == [None] * 4
    assert "4 rows have NULL updated_at (or a zero date)" in caplog.text
    # A run stopped inside them goes on from there; the cursor never holds a zero date.
    stopped = decode_position(*encode_position(rows[1].position))
    assert stopped == Position(None, 3)
    assert keys(read_all(src, stopped)) == ["6", "7", "1", "4", "5"]
    # Incremental reads never see them, and the lookback window arithmetic has real dates only.
    assert keys(read_all(src, rows[-1].position)) == ["1", "4", "5"]
    assert list(src.read_ahead("people")) == []


def test_zero_dates_in_mapped_columns_are_empty_and_zero_months_reject_the_row(maria: Engine) -> None:
    zero_dated(maria)
    section = stream(fields={"name": "name", "custom_fields.Born": "born", "custom_fields.Seen": "seen"})
    rows = {r.key: r for r in read_all(source(maria, section))}
    assert rows["4"].values == {"name": "d", "born": None, "seen": None}
    assert rows["1"].values["born"].isoformat() == "1985-02-03"
    assert rows["5"].values["born"] == Unreadable(NOT_A_DATE)
    assert "1985" not in NOT_A_DATE
    assert rows["5"].values["name"] == "e"
