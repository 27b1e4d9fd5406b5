"""What a row carries: soft-delete flags, mapped values, NULL timestamps and other updated_at types."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import BigInteger, Date, DateTime, Engine, Float, Integer, String, Text, create_engine

from syncd.engine.records import Position
from syncd.engine.wallclock import wall_clock
from syncd.source import decode_position, encode_position
from tests.source.helpers import at, insert, keys, make_table, read_all, source, stream

DELETED_MARKERS: list[tuple[object, bool]] = [
    (None, False),
    ("", False),
    ("0", False),
    ("false", False),
    ("N", False),
    (" no ", False),
    ("1", True),
    ("true", True),
    ("YES", True),
    ("t", True),
    ("y", True),
    ("2024-05-01 10:00:00", True),
]


def test_soft_deleted_rows_are_returned_with_deleted_set_from_text_markers(engine: Engine) -> None:
    table = make_table(engine, deleted_type=String(40))
    insert(
        engine,
        table,
        [{"id": i, "updated_at": at(i), "deleted": marker} for i, (marker, _) in enumerate(DELETED_MARKERS)],
    )
    rows = read_all(source(engine))
    assert [r.deleted for r in rows] == [expected for _, expected in DELETED_MARKERS]


def test_boolean_and_integer_delete_columns(engine: Engine) -> None:
    table = make_table(engine, extra=("name", "flag"))
    insert(
        engine,
        table,
        [
            {"id": 1, "updated_at": at(1), "deleted": True},
            {"id": 2, "updated_at": at(2), "deleted": False},
            {"id": 3, "updated_at": at(3), "deleted": None},
        ],
    )
    assert [r.deleted for r in read_all(source(engine))] == [True, False, False]


def test_a_stream_without_a_delete_column_never_deletes(engine: Engine) -> None:
    table = make_table(engine)
    insert(engine, table, [{"id": 1, "updated_at": at(1), "deleted": True}])
    assert [r.deleted for r in read_all(source(engine, stream(deleted=None)))] == [False]


def test_values_are_raw_by_source_column_including_the_company_key(engine: Engine) -> None:
    from syncd.settings.tenant import CustomersSection

    table = make_table(engine, extra=("last_name", "phone", "company_id"))
    insert(
        engine,
        table,
        [
            {
                "id": 1,
                "updated_at": at(1),
                "last_name": " Kowalski ",
                "phone": "600-100-200",
                "company_id": "7",
            }
        ],
    )
    section = CustomersSection(
        table="people",
        key="id",
        updated_at="updated_at",
        deleted="deleted",
        company_key="company_id",
        fields={"surname": "last_name", "phone_number": "phone", "note": "phone"},
    )
    (row,) = read_all(source(engine, section))
    assert row.values == {"last_name": " Kowalski ", "phone": "600-100-200", "company_id": "7"}


def test_null_updated_at_rows_come_first_in_a_full_read_only(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    table = make_table(engine)
    insert(engine, table, [{"id": i, "updated_at": None} for i in (9, 3, 5)])
    insert(engine, table, [{"id": 1, "updated_at": at(1)}, {"id": 2, "updated_at": at(2)}])
    src = source(engine, page_size=2)
    with caplog.at_level(logging.WARNING, logger="syncd.source.reader"):
        rows = read_all(src)
    assert keys(rows) == ["3", "5", "9", "1", "2"]
    assert rows[0].position == Position(None, 3)
    assert "3 rows have NULL updated_at" in caplog.text
    assert keys(read_all(src, rows[-1].position)) == ["2"]  # the cursor's own second is read again
    # A run that stopped inside the NULL rows goes on from there, through the rest.
    assert keys(read_all(src, rows[1].position)) == ["9", "1", "2"]
    assert keys(read_all(src, decode_position(*encode_position(rows[1].position)))) == ["9", "1", "2"]


def test_only_null_updated_at_rows(engine: Engine) -> None:
    table = make_table(engine)
    insert(engine, table, [{"id": 1, "updated_at": None}])
    assert keys(read_all(source(engine))) == ["1"]


@pytest.mark.parametrize(
    ("column_type", "make"),
    [
        (Integer(), lambda i: 1_700_000_000 + i * 10),
        (BigInteger(), lambda i: 1_700_000_000_000 + i * 10_000),  # epoch milliseconds overflow INTEGER
        (Float(precision=53), lambda i: 1_700_000_000.5 + i * 10),
        (Date(), lambda i: date(2024, 1, 1) + timedelta(days=i)),
        (Text(), lambda i: (wall_clock(2024, 1, 1) + timedelta(seconds=i * 10)).isoformat()),
        (
            Text(),
            lambda i: (wall_clock(2024, 1, 1) + timedelta(seconds=i * 10)).strftime("%Y-%m-%d %H:%M:%S"),
        ),
        (DateTime(timezone=True), lambda i: datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=i * 10)),
    ],
    ids=["epoch", "epoch_ms", "float", "date", "iso_t", "iso_space", "timestamptz"],
)
def test_updated_at_types_page_resume_round_trip_and_look_back(
    engine: Engine, column_type: object, make: object
) -> None:
    assert callable(make)
    table = make_table(engine, updated_type=column_type)  # type: ignore[arg-type]
    insert(engine, table, [{"id": i, "updated_at": make(i // 2)} for i in range(8)])
    src = source(engine, page_size=3)
    rows = read_all(src)
    assert keys(rows) == [str(i) for i in range(8)]
    stored = decode_position(*encode_position(rows[2].position))
    assert stored == rows[2].position
    assert type(stored.updated_at) is type(rows[2].position.updated_at)
    # The cursor's own updated_at is read again (ids 2 and 3 share it), then the rest.
    assert keys(read_all(src, stored)) == ["2", "3", "4", "5", "6", "7"]
    # 15 seconds is longer than a 10 s step, so the previous group is re-read; a date column
    # steps back whole days, ``> day - 1`` re-reads the cursor's own day.
    looking_back = source(engine, stream(lookback_seconds=15), page_size=3)
    expected = ["4", "5", "6", "7"] if isinstance(column_type, Date) else ["2", "3", "4", "5", "6", "7"]
    assert keys(read_all(looking_back, rows[5].position)) == expected


def test_aware_cursor_on_a_timestamptz_column_in_a_non_utc_session(source_url: str) -> None:
    if not source_url.startswith("postgresql"):
        pytest.skip("SQLite has no time zone-aware column type")
    engine = create_engine(source_url, connect_args={"options": "-c timezone=America/New_York"})
    table = make_table(engine, updated_type=DateTime(timezone=True))
    warsaw = timezone(timedelta(hours=2))
    insert(
        engine,
        table,
        [
            {"id": 1, "updated_at": datetime(2024, 5, 1, 10, 0, tzinfo=warsaw)},
            {"id": 2, "updated_at": datetime(2024, 5, 1, 9, 0, 1, tzinfo=UTC)},
        ],
    )
    src = source(engine)
    first = read_all(src)[0]
    assert first.key == "1"
    assert first.position.updated_at.utcoffset() is not None
    assert keys(read_all(src, first.position)) == ["1", "2"]
    assert keys(read_all(src, decode_position(*encode_position(first.position)))) == ["1", "2"]
    engine.dispose()
