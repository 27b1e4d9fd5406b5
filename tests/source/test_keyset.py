"""read_changed: keyset order, ties across pages, the fixed upper bound and lookback."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from syncd.engine.records import Position
from syncd.source import SqlSource
from tests.source.helpers import at, insert, keys, make_table, read_all, source, stream


def test_full_read_is_ordered_by_updated_at_then_key(engine: Engine) -> None:
    table = make_table(engine)
    insert(
        engine,
        table,
        [
            {"id": 5, "updated_at": at(10), "name": "e"},
            {"id": 1, "updated_at": at(30), "name": "a"},
            {"id": 3, "updated_at": at(10), "name": "c"},
            {"id": 2, "updated_at": at(20), "name": "b"},
            {"id": 4, "updated_at": at(0), "name": "d"},
        ],
    )
    rows = read_all(source(engine, page_size=2))
    assert keys(rows) == ["4", "3", "5", "2", "1"]
    assert rows[0].values == {"name": "d"}
    assert rows[0].position.key == 4
    assert [r.deleted for r in rows] == [False] * 5


def test_incremental_read_starts_at_the_cursors_own_updated_at(engine: Engine) -> None:
    table = make_table(engine)
    insert(engine, table, [{"id": i, "updated_at": at(i // 3), "name": str(i)} for i in range(9)])
    src = source(engine, page_size=2)
    rows = read_all(src)
    cursor = rows[4].position  # id 4: same updated_at as 3 and 5
    assert keys(read_all(src, cursor)) == ["3", "4", "5", "6", "7", "8"]
    assert keys(read_all(src, rows[-1].position)) == ["6", "7", "8"]


def test_ties_on_updated_at_across_page_boundaries_skip_and_repeat_nothing(engine: Engine) -> None:
    table = make_table(engine)
    same = [{"id": i, "updated_at": at(100), "name": f"n{i}"} for i in range(20, 31)]
    insert(engine, table, [{"id": 1, "updated_at": at(50), "name": "x"}, *same])
    insert(engine, table, [{"id": 2, "updated_at": at(200), "name": "y"}])
    src = source(engine, page_size=2)
    expected = ["1", *(str(i) for i in range(20, 31)), "2"]
    assert keys(read_all(src)) == expected
    # Resuming from every position, as a run that stopped after any row would.
    full = read_all(src)
    for row in full:
        first = next(i for i, r in enumerate(full) if r.position.updated_at == row.position.updated_at)
        assert keys(read_all(src, row.position)) == expected[first:]


def test_upper_bound_is_fixed_when_the_call_starts(engine: Engine) -> None:
    table = make_table(engine)
    insert(engine, table, [{"id": i, "updated_at": at(i), "name": str(i)} for i in range(1, 7)])
    src = source(engine, page_size=2)
    iterator = src.read_changed("people", None)
    insert(engine, table, [{"id": 100, "updated_at": at(1000), "name": "before first page"}])
    first = [next(iterator), next(iterator)]
    insert(engine, table, [{"id": 101, "updated_at": at(1001), "name": "between pages"}])
    rest = list(iterator)
    got = first + rest
    assert keys(got) == ["1", "2", "3", "4", "5", "6"]
    assert keys(read_all(src, got[-1].position)) == ["6", "100", "101"]


def test_a_late_row_with_the_bound_timestamp_and_a_larger_key_is_not_skipped(engine: Engine) -> None:
    table = make_table(engine)
    insert(engine, table, [{"id": 1, "updated_at": at(1)}, {"id": 2, "updated_at": at(5)}])
    src = source(engine)
    first = read_all(src)
    insert(engine, table, [{"id": 3, "updated_at": at(5)}])
    assert keys(read_all(src, first[-1].position)) == ["2", "3"]


def test_lookback_rereads_the_window_first_without_duplicates(engine: Engine) -> None:
    table = make_table(engine)
    insert(engine, table, [{"id": i, "updated_at": at(i * 10), "name": str(i)} for i in range(10)])
    src = source(engine, stream(lookback_seconds=25), page_size=3)
    cursor = Position(at(60), 6)
    rows = read_all(src, cursor)
    # updated_at > 60 - 25 = 35: ids 4..6 are re-read, then 7..9 are new; each once, in order.
    assert keys(rows) == ["4", "5", "6", "7", "8", "9"]
    assert read_all(source(engine, page_size=3), cursor) == rows[2:]


def test_lookback_catches_a_row_committed_late_with_an_earlier_timestamp(engine: Engine) -> None:
    table = make_table(engine)
    insert(engine, table, [{"id": 1, "updated_at": at(0)}, {"id": 2, "updated_at": at(10)}])
    plain = source(engine)
    looking_back = source(engine, stream(lookback_seconds=60))
    cursor = read_all(plain)[-1].position
    insert(engine, table, [{"id": 3, "updated_at": at(5)}])  # an unreliable clock wrote this
    assert keys(read_all(plain, cursor)) == ["2"]  # the cursor's own second only
    assert "3" in keys(read_all(looking_back, cursor))


def test_an_empty_stream_reads_nothing(engine: Engine) -> None:
    make_table(engine)
    src = source(engine)
    assert read_all(src) == []
    assert read_all(src, Position(at(0), 1)) == []
    assert src.read_keys("people", ["1"]) == []


def test_an_unknown_stream_names_the_known_ones(engine: Engine) -> None:
    src = SqlSource(engine, {"people": stream()})
    with pytest.raises(KeyError, match="people"):
        src.read_changed("customers", None)


def test_a_row_committed_late_with_the_cursors_second_and_a_lower_key_is_read(engine: Engine) -> None:
    """Two writers stamp rows in the same second and commit in the other order."""
    table = make_table(engine)
    insert(engine, table, [{"id": 10, "updated_at": at(5)}, {"id": 30, "updated_at": at(5)}])
    src = source(engine)
    cursor = read_all(src)[-1].position
    assert cursor.key == 30
    insert(engine, table, [{"id": 20, "updated_at": at(5)}, {"id": 1, "updated_at": at(4)}])
    assert keys(read_all(src, cursor)) == ["10", "20", "30"]
    # The default lookback (120 s) also brings back the row a long transaction stamped earlier.
    assert keys(read_all(source(engine, stream(lookback_seconds=120)), cursor)) == ["1", "10", "20", "30"]
