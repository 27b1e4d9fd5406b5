"""Thulium read shapes → payload shape (pure; no sandbox)."""

from __future__ import annotations

from typing import Any

import pytest

from syncd.engine.ports import RemoteRecord
from syncd.thulium.remote import remote_fields, remote_record
from syncd.thulium.schemas import Company, Customer

EMPTY_ADDRESS = dict.fromkeys(
    (
        "street",
        "building",
        "flat",
        "postcode",
        "city",
        "post_office",
        "borough",
        "county",
        "voivodship",
        "country",
    )
)


def customer(**fields: Any) -> Customer:
    base: dict[str, Any] = {
        "customer_id": 273,
        "name": "",
        "surname": "Kowalski",
        "phone_number": "",
        "phone_numbers": [],
        "email": "",
        "emails": [],
        "company_id": "",
        "identifier": "",
        "type": "",
        "group": "",
        "company_flag": False,
        "birthdate": "",
        "gender": "",
        "homepage": "",
        "nip": "",
        "account_manager": "",
        "updated_at": "2024-05-01 10:00:00",
    }
    return Customer.model_validate(base | fields)


def test_documented_example_in_payload_shape() -> None:
    record = customer(
        name="Jan",
        phone_number="222333444",
        phone_numbers=["222333444", "213443523"],
        email="jan.kowalski@foo.bar",
        emails=["jan.kowalski@foo.bar", "j.kowalski@foo.bar"],
        identifier="C-1",
        address=EMPTY_ADDRESS | {"street": "Polna", "city": "Gdańsk", "flat": ""},
        custom_fields={"ID": None, "Segment": "gold", "Notes": "", "Score": 7},
    )
    assert remote_fields(record) == {
        "identifier": "C-1",
        "name": "Jan",
        "surname": "Kowalski",
        "phone_number": ["222333444", "213443523"],
        "email": ["jan.kowalski@foo.bar", "j.kowalski@foo.bar"],
        "address": {"street": "Polna", "city": "Gdańsk"},
        "custom_fields": {"Segment": "gold", "Score": "7"},
    }


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"phone_number": "601", "phone_numbers": []}, {"phone_number": ["601"]}),
        ({"email": "a@b.pl"}, {"email": ["a@b.pl"]}),
        ({"phone_numbers": ["601", ""], "phone_number": "601"}, {"phone_number": ["601"]}),
        ({"company_id": 5}, {"company_id": 5}),
        ({"company_id": "12"}, {"company_id": 12}),
        ({"company_id": None}, {}),
        ({"address": EMPTY_ADDRESS}, {}),
        ({"address": []}, {}),  # PHP's empty object
        ({"custom_fields": {"ID": None, "Notes": "  "}}, {}),
        ({"invoice_address": {"city": "Łódź"}}, {"invoice_address": {"city": "Łódź"}}),
        ({"mail_drop_address": {"postcode": "00-001"}}, {"mail_drop_address": {"postcode": "00-001"}}),
        ({"nip": "  ", "gender": "", "homepage": None}, {}),
        ({"birthdate": "1980-02-03", "nip": "5260001111"}, {"birthdate": "1980-02-03", "nip": "5260001111"}),
        (
            {"note": "returned by some instances", "vip": True},
            {"note": "returned by some instances", "vip": True},
        ),
        ({"vip": "0"}, {"vip": False}),
        ({"vip": "maybe"}, {}),
        ({"job_title": "CEO", "unknown_extra": "ignored"}, {"job_title": "CEO"}),
    ],
)
def test_customer_values(fields: dict[str, Any], expected: dict[str, Any]) -> None:
    result = remote_fields(customer(**fields))
    assert result.pop("surname") == "Kowalski"
    assert result == expected


def test_text_kept_as_thulium_holds_it() -> None:
    # No trimming: a stray space in Thulium is a difference the engine must see to repair.
    assert remote_fields(customer(name=" Jan "))["name"] == " Jan "


def test_company_in_payload_shape() -> None:
    record = Company.model_validate(
        {
            "name": "Acme",
            "company_id": 4,
            "customer_id": 104,
            "identifier": "K-4",
            "phone_number": "58123",
            "phone_numbers": ["58123"],
            "email": "",
            "emails": [],
            "type": "",
            "group": "B2B",
            "nip": "5260001111",
            "account_manager": "",
            "custom_fields": {"Segment": None},
        }
    )
    assert remote_fields(record) == {
        "identifier": "K-4",
        "name": "Acme",
        "group": "B2B",
        "nip": "5260001111",
        "phone_number": ["58123"],
    }
    found = remote_record(record)
    assert found == RemoteRecord(
        thulium_id=4, identifier="K-4", fields=remote_fields(record), company_customer_id=104, read=found.read
    )
    assert found.read is not None
    assert {"email", "phone_number", "custom_fields"} <= found.read
    assert "note" not in found.read, "a company read carries no note: it cannot be compared"


def test_customer_record_ids() -> None:
    found = remote_record(customer(identifier="", company_id=3))
    assert found == RemoteRecord(
        thulium_id=273, identifier="", fields={"surname": "Kowalski", "company_id": 3}, read=found.read
    )
    assert found.company_customer_id is None
