"""The Source port: keyset reads of a tenant's rows, held by the fake and by SqlSource."""

from __future__ import annotations

from tests.contracts.conftest import STREAM, SourceRows, position_of


def keys_read(rows: SourceRows, after_key: str | None = None) -> list[str]:
    after = None if after_key is None else position_of(rows.source, after_key)
    return [row.key for row in rows.source.read_changed(STREAM, after)]


def test_a_whole_read_is_in_updated_at_then_key_order_deleted_rows_included(rows: SourceRows) -> None:
    rows.put("b", 2, name="Bee")
    rows.put("a", 2, name="Ant")
    rows.put("c", 1, deleted=True)
    read = list(rows.source.read_changed(STREAM, None))
    assert [(row.key, row.deleted) for row in read] == [("c", True), ("a", False), ("b", False)]
    assert read[1].values["name"] == "Ant"


def test_a_read_from_a_cursor_starts_at_the_cursors_own_updated_at(rows: SourceRows) -> None:
    """Not after the cursor's key: a row committed late with the cursor's timestamp must arrive."""
    for tick, key in enumerate(["a", "b", "c", "d"], start=1):
        rows.put(key, tick)
    assert keys_read(rows, after_key="b") == ["b", "c", "d"]
    rows.put("a", 10)  # changed since: it moves behind the cursor's end
    assert keys_read(rows, after_key="b") == ["b", "c", "d", "a"]


def test_a_lookback_window_reads_again_what_was_stamped_that_long_before_the_cursor(rows: SourceRows) -> None:
    for tick, key in enumerate(["a", "b", "c", "d", "e"], start=1):
        rows.put(key, tick * 10)
    rows.look_back(20)  # the cursor is at e (50): what is stamped after 30
    assert keys_read(rows, after_key="e") == ["d", "e"]


def test_keys_read_by_key_leave_missing_ones_out(rows: SourceRows) -> None:
    rows.put("a", 1, name="Ant")
    rows.put("b", 2, name="Bee")
    found = rows.source.read_keys(STREAM, ["b", "nope", "a"])
    assert sorted((row.key, row.values["name"]) for row in found) == [("a", "Ant"), ("b", "Bee")]


def test_a_row_stamped_past_the_clock_is_read_ahead_with_a_note_not_by_the_keyset(rows: SourceRows) -> None:
    rows.put("a", 1)
    rows.put("future", 2, ahead=True)
    assert keys_read(rows) == ["a"]
    (ahead,) = rows.source.read_ahead(STREAM)
    assert ahead.key == "future"
    assert ahead.note
    assert "ahead" in ahead.note
