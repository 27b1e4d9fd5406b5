"""Pydantic models of what syncd sends to Thulium, with the cleaning rules as validators.

Validation happens here, before any request, so a bad row is rejected with a reason
instead of costing an API call and coming back as a 400.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict

from syncd.engine.contact import InvalidValue, normalize_email, normalize_phone, split_list, unique

# Lone surrogates: what a driver decoding with "surrogateescape" makes of bytes that are not UTF-8. Such a
# string cannot be encoded again (for Thulium, the hash, the state DB), so it is refused as a value.
SURROGATES = re.compile("[\ud800-\udfff]")


def is_valid_text(text: str) -> bool:
    return SURROGATES.search(text) is None


def clean_text(value: Any) -> str | None:
    """Trim; empty means absent. Dates become ISO strings, numbers their plain text, bytes (a BLOB where
    text was expected) their UTF-8 text: never Python's ``b'...'`` spelling of them."""
    if value is None:
        return None
    if isinstance(value, bytes | bytearray | memoryview):
        value = decode_bytes(value)
    if isinstance(value, datetime):
        value = value.date() if value.time() == datetime.min.time() else value
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, Decimal):
        value = format(value.normalize(), "f")
    text = str(value).strip()
    if not is_valid_text(text):
        raise InvalidValue("is not valid UTF-8 text")
    return text or None


def decode_bytes(value: bytes | bytearray | memoryview) -> str:
    try:
        return bytes(value).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidValue("is binary data, not UTF-8 text") from None


def clean_bool(value: Any) -> bool | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in {"1", "true", "t", "yes", "y"}:
            return True
        if lowered in {"0", "false", "f", "no", "n"}:
            return False
        raise InvalidValue("is not a yes/no value")
    return bool(value)


def clean_list(normalize: Any) -> Any:
    def validator(value: Any) -> list[str] | None:
        text = clean_text(value)
        if text is None:
            return None
        return unique([normalize(part) for part in split_list(text)]) or None

    return validator


Text = Annotated[str | None, BeforeValidator(clean_text)]
Flag = Annotated[bool | None, BeforeValidator(clean_bool)]
Phones = Annotated[list[str] | None, BeforeValidator(clean_list(normalize_phone))]
Emails = Annotated[list[str] | None, BeforeValidator(clean_list(normalize_email))]


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid")

    street: Text = None
    building: Text = None
    flat: Text = None
    postcode: Text = None
    city: Text = None
    post_office: Text = None
    borough: Text = None
    county: Text = None
    voivodship: Text = None
    country: Text = None


class Common(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Emails = None
    phone_number: Phones = None
    type: Text = None
    group: Text = None
    nip: Text = None
    note: Text = None
    account_manager: Text = None
    vip: Flag = None
    address: Address | None = None
    invoice_address: Address | None = None
    mail_drop_address: Address | None = None
    custom_fields: dict[str, Text] | None = None


class CustomerPayload(Common):
    surname: Text = None
    name: Text = None
    gender: Text = None
    homepage: Text = None
    birthdate: Text = None
    pesel: Text = None
    job: Text = None
    job_title: Text = None


class CompanyPayload(Common):
    name: Text = None
