"""Pure helpers: cursor serialising, delete markers, lookback arithmetic."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from syncd.engine.position_codec import decode_value, encode_value
from syncd.engine.records import Position
from syncd.engine.wallclock import wall_clock
from syncd.source import decode_position, encode_position
from syncd.source.lookback import shift_back
from syncd.source.truthy import is_deleted

VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -7,
    2**70,
    1.1,
    1e-300,
    float("inf"),
    Decimal("12.3400"),
    "",
    "2024-05-01 10:00:00.000000",
    '["dt", "not me"]',
    "zażółć",
    wall_clock(2024, 5, 1, 10, 0, 0, 123456),
    datetime(2024, 5, 1, 10, 0, tzinfo=UTC),
    datetime(2024, 5, 1, 10, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    date(2024, 2, 29),
    time(23, 59, 1),
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    b"\x00\xff",
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_values_round_trip_with_their_type(value: Any) -> None:
    back = decode_value(encode_value(value))
    assert back == value
    assert type(back) is type(value)
    if isinstance(value, datetime):
        assert back.utcoffset() == value.utcoffset()


def test_positions_round_trip_as_two_strings_that_fit_the_state_column() -> None:
    position = Position(datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC), 1234567)
    value, key = encode_position(position)
    assert isinstance(value, str)
    assert isinstance(key, str)
    assert len(value) <= 64
    assert decode_position(value, key) == position
    text_key = Position(1_714_000_000, "ABC-12")
    assert decode_position(*encode_position(text_key)) == text_key


def test_nan_round_trips_as_nan() -> None:
    back = decode_value(encode_value(float("nan")))
    assert isinstance(back, float)
    assert back != back


@pytest.mark.parametrize("bad", ["", "x", "[1]", '["nope", 1]'])
def test_garbage_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="cursor value"):
        decode_value(bad)


def test_unknown_types_are_refused_when_stored() -> None:
    with pytest.raises(TypeError):
        encode_value(object())


@pytest.mark.parametrize(
    ("marker", "deleted"),
    [
        (None, False),
        (False, False),
        (True, True),
        (0, False),
        (1, True),
        (2, True),
        (0.0, False),
        (Decimal("0"), False),
        (Decimal("1"), True),
        ("", False),
        ("  ", False),
        ("0", False),
        ("0.0", False),
        ("false", False),
        ("False", False),
        ("f", False),
        ("no", False),
        ("N", False),
        ("off", False),
        ("1", True),
        ("true", True),
        ("yes", True),
        ("t", True),
        ("y", True),
        ("X", True),
        ("2024-05-01 10:00:00", True),
        (wall_clock(2024, 5, 1), True),
        (date(2024, 5, 1), True),
        (b"1", True),
        (b"0", False),
    ],
)
def test_delete_markers(marker: Any, deleted: bool) -> None:
    assert is_deleted(marker) is deleted


@pytest.mark.parametrize(
    ("value", "shifted"),
    [
        (wall_clock(2024, 5, 1, 10, 0), wall_clock(2024, 5, 1, 9, 59)),
        (datetime(2024, 5, 1, 10, 0, tzinfo=UTC), datetime(2024, 5, 1, 9, 59, tzinfo=UTC)),
        (date(2024, 5, 1), date(2024, 4, 30)),
        (1_714_000_000, 1_713_999_940),
        (1_714_000_000_000, 1_713_999_940_000),
        (1_714_000_000.5, 1_713_999_940.5),
        (Decimal("1714000000"), Decimal("1713999940")),
        ("2024-05-01 10:00:00", "2024-05-01 09:59:00"),
        ("2024-05-01T10:00:00", "2024-05-01T09:59:00"),
        ("2024-05-01 10:00:00.000000", "2024-05-01 09:59:00.000000"),
        ("2024-05-01 10:00:00.123", "2024-05-01 09:59:00.123"),
        ("2024-05-01T00:00:30Z", "2024-04-30T23:59:30Z"),
        ("2024-05-01T10:00:00+02:00", "2024-05-01T09:59:00+02:00"),
        ("2024-05-01", "2024-04-30"),
    ],
)
def test_shift_back_keeps_type_and_layout(value: Any, shifted: Any) -> None:
    assert shift_back(value, 60) == shifted


def test_shift_back_refuses_what_it_cannot_order() -> None:
    with pytest.raises(ValueError, match="lookback_seconds"):
        shift_back("version 7", 60)
    with pytest.raises(TypeError):
        shift_back(True, 60)
