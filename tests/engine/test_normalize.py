"""Table-driven tests of source row → Thulium payload."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from syncd.engine.crm.normalize import Normalized, Rejection, content_hash, normalize
from syncd.engine.records import Position, SourceRow
from syncd.engine.wallclock import wall_clock

CUSTOMER_FIELDS = {
    "name": "first_name",
    "surname": "last_name",
    "email": "email",
    "phone_number": "phone",
    "address.city": "city",
    "custom_fields.Segment": "segment",
    "custom_fields.Plan v2.1": "plan",
    "vip": "vip",
    "birthdate": "born",
}


def row(**values: Any) -> SourceRow:
    return SourceRow(
        key="42", position=Position(None, 42), deleted=False, values={"last_name": "Nowak", **values}
    )


def payload_of(**values: Any) -> dict[str, Any]:
    result = normalize(row(**values), CUSTOMER_FIELDS, "customer")
    assert isinstance(result, Normalized), result
    return result.payload


def reason_of(**values: Any) -> str:
    result = normalize(row(**values), CUSTOMER_FIELDS, "customer")
    assert isinstance(result, Rejection), result
    assert result.key == "42"
    return result.reason


@pytest.mark.parametrize(
    ("raw", "sent"),
    [
        ("600100200", "600100200"),
        ("+48 600 100 200", "600100200"),
        ("0048600100200", "600100200"),
        ("600-100-200", "600100200"),
        ("(22) 333 44 55", "223334455"),
        ("+44 20 7946 0958", "00442079460958"),
        (600100200, "600100200"),
        ("600100200, 500200300", ["600100200", "500200300"]),
        ("600100200; +48600100200", "600100200"),
    ],
)
def test_phone_numbers_are_normalised_losslessly(raw: Any, sent: Any) -> None:
    assert payload_of(phone=raw)["phone_number"] == sent


@pytest.mark.parametrize("raw", ["12ab34", "600 100 200 wew. 12", "+", "12", "٣٣٣٣٣٣"])
def test_phone_numbers_that_stay_non_numeric_are_rejected(raw: str) -> None:
    reason = reason_of(phone=raw)
    assert reason.startswith("phone_number: ")
    assert raw not in reason


@pytest.mark.parametrize(
    ("raw", "sent"),
    [
        ("  Jan.Kowalski@Foo.PL ", "jan.kowalski@foo.pl"),
        ("a@x.pl, B@Y.pl", ["a@x.pl", "b@y.pl"]),
        ("a@x.pl; a@x.pl", "a@x.pl"),
    ],
)
def test_emails_are_trimmed_and_lower_cased(raw: str, sent: Any) -> None:
    assert payload_of(email=raw)["email"] == sent


@pytest.mark.parametrize("raw", ["jan@@x.pl", "jan.x.pl", "jan@x", "a@x.pl, broken"])
def test_malformed_emails_are_rejected_without_echoing_them(raw: str) -> None:
    reason = reason_of(email=raw)
    assert reason == "email: is not a well-formed e-mail address"


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"last_name": None}, "surname: missing (Thulium requires it)"),
        ({"last_name": "   "}, "surname: missing (Thulium requires it)"),
        ({"vip": "maybe"}, "vip: is not a yes/no value"),
    ],
)
def test_rows_that_cannot_be_sent_are_rejected(values: dict[str, Any], reason: str) -> None:
    assert reason_of(**values) == reason


def test_text_is_trimmed_and_empty_means_absent() -> None:
    payload = payload_of(first_name="  Jan ", city="", segment="  ", email=None)
    assert payload == {"name": "Jan", "surname": "Nowak"}


def test_nested_and_custom_fields_keep_their_names() -> None:
    payload = payload_of(city="Kraków", segment="gold", plan=3, vip=1, born=wall_clock(1980, 5, 17))
    assert payload == {
        "surname": "Nowak",
        "address": {"city": "Kraków"},
        "custom_fields": {"Segment": "gold", "Plan v2.1": "3"},
        "vip": True,
        "birthdate": "1980-05-17",
    }


@pytest.mark.parametrize(
    ("raw", "sent"), [(date(2020, 1, 2), "2020-01-02"), (Decimal("12.50"), "12.5"), (7.0, "7")]
)
def test_non_text_values_get_a_stable_text_form(raw: Any, sent: str) -> None:
    assert payload_of(segment=raw)["custom_fields"]["Segment"] == sent


def test_company_needs_a_name() -> None:
    company = SourceRow(key="c1", position=Position(None, 1), deleted=False, values={"nm": " ", "nip": "123"})
    result = normalize(company, {"name": "nm", "nip": "nip"}, "company")
    assert result == Rejection("c1", "name: missing (Thulium requires it)")


def test_same_data_spelt_differently_hashes_the_same() -> None:
    a = payload_of(first_name="Jan", phone="+48 600 100 200", email="JAN@X.PL")
    b = payload_of(first_name=" Jan", phone="600-100-200", email="jan@x.pl ")
    assert content_hash(a) == content_hash(b)
    assert content_hash(a) != content_hash(payload_of(first_name="Jan", phone="600100201", email="jan@x.pl"))
