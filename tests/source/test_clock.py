"""The clock bound: a row stamped in the future is read by read_ahead, never becomes the cursor.

No test waits for time to pass: rows are stamped relative to the database's own clock, read
here with plain SQL, with margins of many seconds around the 60 s skew.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import BigInteger, DateTime, Engine, String, text
from sqlalchemy.types import TypeEngine

from syncd.engine.records import Position
from syncd.engine.wallclock import wall_clock, wall_clock_now
from syncd.source import decode_position, encode_position
from syncd.source.clock import DatabaseNow, clock_bound
from tests.source.helpers import insert, keys, make_table, read_all, source, stream

NOW = DatabaseNow(local=wall_clock(2026, 12, 1, 22, 30, 5), utc=datetime(2026, 12, 1, 21, 30, 5, tzinfo=UTC))
WARSAW = timezone(timedelta(hours=1))
EPOCH = int(datetime(2026, 12, 1, 21, 31, 5, tzinfo=UTC).timestamp())


@pytest.mark.parametrize(
    ("sample", "bound"),
    [
        (wall_clock(2024, 1, 1), wall_clock(2026, 12, 1, 22, 31, 5)),
        (datetime(2024, 1, 1, tzinfo=UTC), datetime(2026, 12, 1, 21, 31, 5, tzinfo=UTC)),
        (datetime(2024, 1, 1, tzinfo=WARSAW), datetime(2026, 12, 1, 22, 31, 5, tzinfo=WARSAW)),
        (date(2024, 1, 1), date(2026, 12, 1)),
        (1_700_000_000, EPOCH),
        (1_700_000_000_000, EPOCH * 1000),
        (1_700_000_000.5, float(EPOCH)),
        (Decimal("1700000000"), Decimal(f"{EPOCH}.0")),
        ("2024-01-01T08:00:00", "2026-12-01T22:31:05"),
        ("2024-01-01 08:00:00.123", "2026-12-01 22:31:05.000"),
        ("2024-01-01T08:00:00Z", "2026-12-01T21:31:05Z"),
        ("2024-01-01T08:00:00+01:00", "2026-12-01T22:31:05+01:00"),
        ("2024-01-01", "2026-12-01"),
        ("yesterday", None),
        (True, None),
    ],
)
def test_the_bound_keeps_the_columns_type_and_layout(sample: Any, bound: Any) -> None:
    got = clock_bound(sample, NOW, 60)
    assert got == bound
    assert type(got) is type(bound)


def db_now(engine: Engine) -> datetime:
    """The database's wall clock as a naive column holds it; SQLite has none: the later of UTC and local."""
    dialect = engine.dialect.name
    if dialect == "sqlite":
        return max(wall_clock_now(), datetime.now(UTC).replace(tzinfo=None))
    query = "SELECT LOCALTIMESTAMP" if dialect == "postgresql" else "SELECT NOW()"
    with engine.connect() as conn:
        value = conn.execute(text(query)).scalar()
    assert isinstance(value, datetime)
    return value


def as_epoch(moment: datetime) -> int:
    return int(moment.replace(tzinfo=UTC).timestamp()) if moment.tzinfo is None else int(moment.timestamp())


Kind = tuple[TypeEngine[Any], Callable[[datetime], Any], Callable[[Engine], datetime]]

KINDS: dict[str, Kind] = {
    "datetime": (DateTime(), lambda m: m.replace(microsecond=0), db_now),
    "iso_text": (String(40), lambda m: m.replace(microsecond=0).isoformat(), db_now),
    "epoch": (BigInteger(), as_epoch, lambda e: datetime.now(UTC)),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_row_stamped_in_the_future_is_read_ahead_and_later_changes_are_not_hidden(
    engine: Engine, kind: str
) -> None:
    column_type, stamp, clock = KINDS[kind]
    table = make_table(engine, updated_type=column_type)
    now = clock(engine)
    future = datetime(2031, 1, 1, tzinfo=now.tzinfo)
    insert(
        engine,
        table,
        [
            {"id": 1, "updated_at": stamp(now - timedelta(hours=1)), "name": "Kowalski"},
            {"id": 2, "updated_at": stamp(future), "name": "Nowak"},  # a typo, or a clock years ahead
            {"id": 3, "updated_at": stamp(now - timedelta(minutes=2)), "name": "Wiśniewska"},
        ],
    )
    src = source(engine, stream(clock_skew_seconds=60), page_size=2)
    first = read_all(src)
    assert keys(first) == ["1", "3"]
    (ahead,) = src.read_ahead("people")
    assert ahead.key == "2"
    assert ahead.values == {"name": "Nowak"}
    assert ahead.note is not None
    assert ahead.note.startswith(f"updated_at {ahead.position.updated_at} is ahead of ")
    assert ahead.note.endswith(", 60 s skew allowed): synced, but the cursor waits at the clock")
    assert "Nowak" not in ahead.note
    # A minute later an ordinary change comes in, stamped with the database's own clock.
    cursor = decode_position(*encode_position(first[-1].position))
    insert(engine, table, [{"id": 4, "updated_at": stamp(now + timedelta(seconds=1)), "name": "Zając"}])
    assert keys(read_all(src, cursor)) == ["3", "4"]
    # Within the skew is current, past it is ahead.
    insert(engine, table, [{"id": 5, "updated_at": stamp(now + timedelta(seconds=30))}])
    insert(engine, table, [{"id": 6, "updated_at": stamp(now + timedelta(seconds=600))}])
    assert keys(read_all(src, cursor)) == ["3", "4", "5"]
    assert keys(src.read_ahead("people")) == ["6", "2"]


def test_no_row_ahead_reads_nothing_ahead(engine: Engine) -> None:
    table = make_table(engine)
    assert list(source(engine).read_ahead("people")) == []
    insert(engine, table, [{"id": 1, "updated_at": db_now(engine) - timedelta(days=1)}])
    assert list(source(engine).read_ahead("people")) == []


def test_a_zero_skew_takes_the_clock_as_it_is(engine: Engine) -> None:
    table = make_table(engine)
    now = db_now(engine).replace(microsecond=0)
    insert(engine, table, [{"id": 1, "updated_at": now - timedelta(seconds=30)}])
    insert(engine, table, [{"id": 2, "updated_at": now + timedelta(seconds=30)}])
    src = source(engine, stream(clock_skew_seconds=0))
    assert keys(read_all(src)) == ["1"]
    assert keys(src.read_ahead("people")) == ["2"]
    assert keys(read_all(source(engine, stream(clock_skew_seconds=120)))) == ["1", "2"]


def test_an_aware_column_is_bounded_by_the_database_clock_in_its_zone(
    source_url: str, engine: Engine
) -> None:
    if not source_url.startswith("postgresql"):
        pytest.skip("only PostgreSQL has a time zone-aware column type")
    table = make_table(engine, updated_type=DateTime(timezone=True))
    with engine.connect() as conn:
        now = conn.execute(text("SELECT now()")).scalar()
    assert isinstance(now, datetime)
    insert(
        engine,
        table,
        [
            {"id": 1, "updated_at": now.astimezone(WARSAW) - timedelta(seconds=20)},
            {"id": 2, "updated_at": now.astimezone(WARSAW) + timedelta(hours=2)},
        ],
    )
    src = source(engine)
    assert keys(read_all(src)) == ["1"]
    (ahead,) = src.read_ahead("people")
    assert ahead.position.updated_at.utcoffset() is not None
    assert read_all(src, Position(now - timedelta(days=1), 0)) == read_all(src)
