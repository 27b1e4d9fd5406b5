"""The cleaning rules for what syncd sends to Thulium, one per field.

Validation happens here, before any request, so a bad row is rejected with a reason
instead of costing an API call and coming back as a 400. The rules are plain functions
called once per mapped field: at 10,000 rows a run, a model library's per-row machinery
cost more than the rules themselves (bench/initial_load.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from syncd.engine.crm.contact import InvalidValue, normalize_email, normalize_phone, split_list, unique

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
    if type(value) is str:  # nearly every value: one strip, and only non-ASCII text can hold a surrogate
        text = value.strip()
        if not text.isascii() and not is_valid_text(text):
            raise InvalidValue("is not valid UTF-8 text")
        return text or None
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


def clean_list(normalize: Callable[[str], str]) -> Callable[[Any], list[str] | None]:
    def validator(value: Any) -> list[str] | None:
        text = clean_text(value)
        if text is None:
            return None
        return unique([normalize(part) for part in split_list(text)]) or None

    return validator


# How each Thulium field is cleaned; every other field (and every address part and custom field) is text.
CLEANERS: dict[str, Callable[[Any], Any]] = {
    "email": clean_list(normalize_email),
    "phone_number": clean_list(normalize_phone),
    "vip": clean_bool,
}


def cleaner_for(target: str) -> Callable[[Any], Any]:
    """``target`` as mapped ("email", "address.city", "custom_fields.Segment"); nested parts are text."""
    head, dot, _ = target.partition(".")
    return clean_text if dot else CLEANERS.get(head, clean_text)
