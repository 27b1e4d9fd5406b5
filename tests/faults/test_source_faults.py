"""Reliability, source side: rows that poison a run, and rows that land behind the cursor.

Scenario numbers are the issue's ("Reliability suite"):

- 13: source values the code never expected. SQLite stores any type in any column: text that is not
  valid UTF-8 made the driver fail the whole page on every run (exit 1, nothing behind it ever synced),
  and a BLOB in a text column was sent to Thulium as Python's ``b'...'`` spelling of it. Both must end
  as rejected failures with their key and a reason without the value, while everything else syncs.
- 14: rows whose ``updated_at`` puts them behind the stored cursor: stamped with the cursor's exact
  ``updated_at`` (keys below and above the cursor's key), or committed by a late transaction with an
  older ``updated_at`` while a run is under way. The tenant's ``lookback_seconds`` window must bring
  them in.

Each scenario ends with the convergence figures of ``tests/faults/figures.py``.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from syncd.engine.crm.normalize import Unreadable
from syncd.engine.errors import SourceUnavailable
from syncd.engine.records import Position
from syncd.settings.tenant import StreamSection
from syncd.source import SqlSource
from syncd.state.db import make_engine, session_factory
from syncd.state.failure_log import FailureRow
from syncd.state.repository import StateStore
from tests.faults import test_process_faults as process_faults
from tests.faults.figures import assert_passed, measure, open_failures
from tests.faults.processes import (
    invalid_rows,
    slow_batches,
    slow_posts,
    sqlite_path,
)
from tests.state.helpers import failure_log
from tests.sync.conftest import DemoTenant
from tests.waiting import wait_until

demo = process_faults.demo  # the demo tenant: 600 customers, 60 companies, 3 % invalid rows
Sync, rerun = process_faults.Sync, process_faults.rerun

NOT_UTF8 = "CAST(x'4eff7761' AS TEXT)"  # "N", a byte no UTF-8 text has, "wa"
LOOKBACK = 600  # seconds: the demo's timestamps are a minute or so apart


# -- helpers ----------------------------------------------------------------------------------------------


def execute(demo: DemoTenant, sql: str, *params: Any) -> None:
    with sqlite3.connect(sqlite_path(demo.source_url)) as connection:
        connection.execute(sql, params)


def customers_by_position(demo: DemoTenant) -> list[tuple[str, str]]:
    """(key, updated_at) of the live customers that can be synced, in the reader's keyset order."""
    valid = set(demo.demo.valid_customer_keys)
    with sqlite3.connect(sqlite_path(demo.source_url)) as connection:
        rows = connection.execute(
            "SELECT id, updated_at FROM customers WHERE NOT deleted ORDER BY updated_at, id"
        )
        return [(str(key), stamp) for key, stamp in rows if str(key) in valid]


@contextlib.contextmanager
def state_store(demo: DemoTenant) -> Iterator[StateStore]:
    engine = make_engine(demo.state_url)
    try:
        yield StateStore(session_factory(engine), "acme")
    finally:
        engine.dispose()


def cursor_of(demo: DemoTenant, stream: str = "customers") -> Position:
    with state_store(demo) as store:
        position = store.cursor(stream)
    assert position is not None, f"{stream} has a cursor after a sync"
    return position


def failures_of(demo: DemoTenant, stream: str = "customers") -> dict[str, FailureRow]:
    with state_store(demo) as store:
        return {f.source_key: f for f in failure_log(store).open_failures(stream)}


def sync(demo: DemoTenant, *args: str) -> int:
    """A `syncd sync` that must finish: 0, or 2 when it met rows it rejected or could not sync."""
    result = demo.sync(*args, timeout=120)
    assert result.returncode in (0, 2), result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode


def writes(demo: DemoTenant) -> int:
    return int(demo.sandbox.control.counts()["writes"])


def held_customers(demo: DemoTenant) -> dict[str, dict[str, Any]]:
    """Identifier -> the customer record Thulium holds."""
    return {
        str(record["identifier"]): record
        for record in demo.sandbox.control.state()["customers"]
        if not record["company_flag"] and record["identifier"]
    }


def shifted(stamp: str, seconds: int) -> str:
    """A demo timestamp (``YYYY-MM-DD HH:MM:SS.ffffff``) moved by ``seconds``, in the same layout."""
    moment = datetime.fromisoformat(stamp) + timedelta(seconds=seconds)
    return moment.isoformat(sep=" ", timespec="microseconds")


def with_lookback(demo: DemoTenant, seconds: int) -> None:
    config = demo.path.read_text()
    section = '[customers]\ntable = "customers"\n'
    assert section in config
    demo.path.write_text(config.replace(section, f"{section}lookback_seconds = {seconds}\n", 1))


def report(scenario: str, demo: DemoTenant, started: float, extra: dict[str, set[str]]) -> None:
    """The figures, with ``extra`` failures expected on top of the demo's invalid rows."""
    invalid = invalid_rows(demo.demo)
    for stream, keys in extra.items():
        invalid[stream] = invalid[stream] | keys
    with demo.client() as client:
        figures = measure(scenario, demo.tenant(), client, invalid, demo.state_url, started)
    assert_passed(figures)


# -- 13: poison rows ----------------------------------------------------------------------------------------


def test_13_poison_rows_are_rejected_with_their_reason_and_everything_else_syncs(demo: DemoTenant) -> None:
    """The undecodable row comes first in keyset order, so before the fix not one customer was synced."""
    (poison, _), (blob, _) = customers_by_position(demo)[:2]
    execute(demo, f"UPDATE customers SET last_name = {NOT_UTF8} WHERE id = ?", int(poison))
    execute(demo, "UPDATE customers SET first_name = x'00ff' WHERE id = ?", int(blob))
    with (
        pytest.raises(sqlite3.OperationalError, match="Could not decode to UTF-8"),  # the fault is real
        sqlite3.connect(sqlite_path(demo.source_url)) as connection,
    ):
        connection.execute("SELECT last_name FROM customers WHERE id = ?", (int(poison),)).fetchall()

    started = time.monotonic()
    result = rerun(demo)
    assert "Traceback" not in result.stderr, result.stderr
    failures = failures_of(demo)
    assert {key: failures[key].kind for key in (poison, blob)} == {poison: "rejected", blob: "rejected"}
    assert failures[poison].message == (
        "surname: unreadable in the source "
        "(OperationalError: Could not decode to UTF-8 column '…' with text '…')"
    )
    assert failures[blob].message == "name: is binary data, not UTF-8 text"
    for line in (result.stdout + result.stderr).splitlines():  # the values, raw or JSON-escaped
        assert not any(part in line for part in ("\ufffd", "\\ufffd", "\\x00\\xff")), line
    assert poison not in held_customers(demo)
    assert blob not in held_customers(demo)
    report("13 poison rows: undecodable text, a BLOB", demo, started, {"customers": {poison, blob}})

    before = writes(demo)
    assert sync(demo) == 0, "nothing changed: nothing read, nothing sent, the poison rows least of all"
    assert writes(demo) == before
    assert failures_of(demo)[poison].attempts == 1
    assert sync(demo, "--full") == 2, "the full reconcile reads every row again"
    assert writes(demo) == before, "and still sends nothing for them"
    assert failures_of(demo)[poison].attempts == 2, "the failure counts how often the row was met"

    # Bug (a): once the rows are deleted from the source, the full reconcile resolves their failures.
    execute(demo, "DELETE FROM customers WHERE id IN (?, ?)", int(poison), int(blob))
    sync(demo)
    assert {poison, blob} <= set(failures_of(demo)), "an incremental run cannot see a hard delete"
    sync(demo, "--full")
    expected = {f"{s}:{key}" for s, keys in invalid_rows(demo.demo).items() for key in keys}
    assert open_failures(demo.state_url, "acme")[0] == expected


# -- 14: rows behind the cursor -----------------------------------------------------------------------------


def test_14a_rows_stamped_with_the_cursors_own_updated_at_are_synced(demo: DemoTenant) -> None:
    with_lookback(demo, LOOKBACK)
    positions = customers_by_position(demo)
    middle = positions[len(positions) // 2][0]  # an old row changed last: the cursor's key is a middle one
    execute(
        demo,
        "UPDATE customers SET segment = 'touched', updated_at = ? WHERE id = ?",
        shifted(positions[-1][1], 1),
        int(middle),
    )
    rerun(demo)
    cursor = cursor_of(demo)
    assert str(cursor.key) == middle
    keys = [key for key, _ in customers_by_position(demo)]
    below = [key for key in keys if int(key) < int(cursor.key)][:3]
    above = [key for key in keys if int(key) > int(cursor.key)][:3]
    assert len(below) == len(above) == 3, "the demo has customers on both sides of the cursor's key"
    started = time.monotonic()
    for key in below + above:
        execute(
            demo,
            "UPDATE customers SET street = ?, updated_at = ? WHERE id = ?",
            f"Tied {key}",
            cursor.updated_at,
            int(key),
        )
    sync(demo)
    held = held_customers(demo)
    assert {key: held[key]["address"]["street"] for key in below + above} == {
        k: f"Tied {k}" for k in below + above
    }
    highest = max(int(key) for key in above)
    assert cursor_of(demo) == Position(cursor.updated_at, highest), "the tie's last key, never one below"
    report("14a rows stamped with the cursor's updated_at", demo, started, {})


def test_14b_rows_committed_late_behind_a_running_sync_are_synced_by_the_next_run(
    demo: DemoTenant, tmp_path: Path
) -> None:
    """While a run is held up by slow batches, rows are written with an ``updated_at`` older than the
    newest row it read: a transaction that stamped them when it began and committed late."""
    with_lookback(demo, LOOKBACK)
    rerun(demo)
    positions = customers_by_position(demo)
    changed = [key for key, _ in positions[::3]][:200]  # two batches of updates for the next run
    newest = positions[-1][1]
    for key in changed:
        newest = shifted(newest, 1)
        execute(demo, "UPDATE customers SET segment = 'moved', updated_at = ? WHERE id = ?", newest, int(key))

    control = demo.sandbox.control
    slow_batches(control, delay_ms=2000, method="PUT")
    running = Sync(demo, tmp_path / "sync.log")
    wait_until(
        "an update batch to be applied", lambda: slow_posts(control, method="PUT"), 60, context=running.output
    )
    started = time.monotonic()
    late_stamp = shifted(newest, -120)  # behind the newest row the run has read, inside the window
    late_update = [key for key, _ in positions[1::3]][:5]
    for key in late_update:
        execute(
            demo,
            "UPDATE customers SET street = ?, updated_at = ? WHERE id = ?",
            f"Late {key}",
            late_stamp,
            int(key),
        )
    template = positions[-1][0]
    late_insert = str(max(int(key) for key in demo.demo.customer_keys) + 1)
    execute(
        demo,
        "INSERT INTO customers (id, first_name, last_name, email, phone, city, street, segment, "
        "company_id, updated_at, deleted) SELECT ?, first_name, 'Late', email, phone, city, street, "
        "segment, company_id, ?, deleted FROM customers WHERE id = ?",
        int(late_insert),
        late_stamp,
        int(template),
    )
    assert running.wait(timeout=120) in (0, 2), running.output()
    control.clear_faults()
    cursor = cursor_of(demo)
    assert cursor.updated_at > late_stamp, "the late rows landed behind the cursor the run committed"
    held = held_customers(demo)
    assert late_insert not in held, "the run's upper bound was fixed before they were written"

    sync(demo)
    held = held_customers(demo)
    assert {key: held[key]["address"]["street"] for key in late_update} == {
        k: f"Late {k}" for k in late_update
    }
    assert held[late_insert]["surname"] == "Late"
    report("14b rows committed late behind a running sync", demo, started, {})


# -- the reader: a value the driver cannot convert costs its row, not the page -----------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def source_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    url = (
        f"sqlite:///{tmp_path / 'source.sqlite'}"
        if request.param == "sqlite"
        else str(request.getfixturevalue("postgres_url"))
    )
    engine = people_table(url)
    try:
        yield engine
    finally:
        engine.dispose()


def people_table(url: str) -> Engine:
    """30 rows, one second apart, in a source whose columns are read exactly as the driver returns them."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE people "
                "(id INTEGER PRIMARY KEY, updated_at TEXT, deleted INTEGER, name TEXT, born DATE)"
            )
        )
        for key in range(1, 31):
            connection.execute(
                text("INSERT INTO people VALUES (:key, :stamp, 0, :name, '2000-01-01')"),
                {"key": key, "stamp": f"2024-05-01 12:00:{key:02d}", "name": f"Nowak {key}"},
            )
    return engine


def poison(engine: Engine, key: int) -> str:
    """Make row ``key`` unreadable for the driver; returns the column that is."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(text(f"UPDATE people SET name = {NOT_UTF8} WHERE id = :key"), {"key": key})
            return "name"
        connection.execute(text("UPDATE people SET born = 'infinity' WHERE id = :key"), {"key": key})
        return "born"


PEOPLE = StreamSection(
    table="people",
    key="id",
    updated_at="updated_at",
    deleted="deleted",
    fields={"surname": "name", "birthdate": "born"},
    lookback_seconds=0,  # only the cursor's own second is read again
)


def test_the_reader_returns_an_unreadable_value_in_place_and_reads_every_other_row(
    source_engine: Engine,
) -> None:
    column = poison(source_engine, 7)
    poison(source_engine, 8)
    source = SqlSource(source_engine, {"people": PEOPLE}, page_size=10)
    rows = list(source.read_changed("people", None))
    assert [row.key for row in rows] == [str(key) for key in range(1, 31)], "every row, once, in keyset order"
    unreadable = {row.key: row.values[column] for row in rows if isinstance(row.values[column], Unreadable)}
    assert set(unreadable) == {"7", "8"}
    assert all("'…'" in value.reason and "Nowak" not in value.reason for value in unreadable.values())
    assert rows[6].values["name" if column == "born" else "born"] is not None, "its other values are read"
    assert [row.key for row in source.read_keys("people", ["6", "7", "9"])] == ["6", "7", "9"]
    after = list(source.read_changed("people", rows[5].position))
    assert [row.key for row in after] == [str(key) for key in range(6, 31)]  # from the cursor's own second


def test_a_row_the_reader_cannot_place_in_keyset_order_stops_the_read(tmp_path: Path) -> None:
    """Its ``updated_at`` cannot be read, so no later row can be read past it: the read fails with the
    driver's words and the run aborts, every run, until the row is fixed (reported, not skipped silently)."""
    engine = people_table(f"sqlite:///{tmp_path / 'source.sqlite'}")
    try:
        with engine.begin() as connection:
            connection.execute(text(f"UPDATE people SET updated_at = {NOT_UTF8} WHERE id = 7"))
        source = SqlSource(engine, {"people": PEOPLE}, page_size=10)
        with pytest.raises(
            SourceUnavailable, match=r"reading the source database failed .*Could not decode to UTF-8"
        ) as raised:
            list(source.read_changed("people", None))
        assert isinstance(raised.value.__cause__, OperationalError), "the driver's error is kept as the cause"
        assert "with text '…'" in str(raised.value), "the row's value stays out of the message"
    finally:
        engine.dispose()


def test_a_mapped_column_that_went_away_ends_the_read_in_words_and_rejects_no_row(
    source_engine: Engine,
) -> None:
    """The column is missing from every row alike, so no row is to blame: salvage must not split the
    page down to single rows (that rejected every row, or recursed without end on an empty page)."""
    gone = PEOPLE.model_copy(update={"fields": {"surname": "name", "email": "e_mail"}})
    source = SqlSource(source_engine, {"people": gone}, page_size=10)
    with pytest.raises(SourceUnavailable, match="reading the source database failed") as raised:
        list(source.read_changed("people", None))
    assert "e_mail" in str(raised.value)
    with pytest.raises(SourceUnavailable):
        source.read_keys("people", ["1", "2"])
