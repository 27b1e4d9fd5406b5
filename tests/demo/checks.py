"""Rough validity rules for the demo data, standing in for the real normaliser in these tests."""

from __future__ import annotations

import re
from typing import Any

EMAIL = re.compile(r"^[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$")
PHONE_SEPARATORS = re.compile(r"[\s\-()]")


def phone_digits(text: str) -> list[str] | None:
    """Each number as nine digits, or None if any part is not a phone number."""
    numbers = []
    for part in text.split(","):
        raw = PHONE_SEPARATORS.sub("", part)
        for prefix in ("+48", "0048"):
            if raw.startswith(prefix):
                raw = raw[len(prefix) :]
        if not (raw.isdigit() and len(raw) == 9):
            return None
        numbers.append(raw)
    return numbers


def email_ok(text: str | None) -> bool:
    return text is None or bool(EMAIL.match(text.strip().lower()))


def nip_ok(text: str) -> bool:
    if not (len(text) == 10 and text.isdigit()):
        return False
    weights = (6, 5, 7, 2, 3, 4, 5, 6, 7)
    return sum(w * int(d) for w, d in zip(weights, text, strict=False)) % 11 == int(text[9])


def blank(value: Any) -> bool:
    return value is None or not str(value).strip()
