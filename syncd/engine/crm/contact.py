"""Cleaning rules for phone numbers and e-mail addresses.

Thulium accepts only digits in phone numbers, so a number is normalised when that loses
nothing: spaces, dashes, dots and brackets go, the Polish prefix ``+48`` / ``0048`` goes
(Thulium stores Polish numbers without it), and any other ``+`` becomes ``00``. Anything
that is still not all digits is rejected rather than guessed at.
"""

from __future__ import annotations

import re

from syncd.errors import Skippable

LIST_SEPARATORS = re.compile(r"[,;/|\n]+")
PHONE_NOISE = re.compile(r"[\s\-.()]+")
EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;.]+$")
MIN_PHONE_DIGITS = 3
MAX_PHONE_DIGITS = 20


class InvalidValue(ValueError, Skippable):
    """A value that cannot be sent; the message never contains the value itself (it is personal data)."""


def split_list(text: str) -> list[str]:
    return [part.strip() for part in LIST_SEPARATORS.split(text) if part.strip()]


def normalize_phone(raw: str) -> str:
    digits = PHONE_NOISE.sub("", raw)
    if digits.startswith("+48"):
        digits = digits[3:]
    elif digits.startswith("0048"):
        digits = digits[4:]
    elif digits.startswith("+"):
        digits = "00" + digits[1:]
    if not digits.isdigit() or not digits.isascii():
        raise InvalidValue("not numeric after removing spaces, dashes, brackets and the country prefix")
    if not MIN_PHONE_DIGITS <= len(digits) <= MAX_PHONE_DIGITS:
        raise InvalidValue(f"has {len(digits)} digits, expected {MIN_PHONE_DIGITS} to {MAX_PHONE_DIGITS}")
    return digits


def normalize_email(raw: str) -> str:
    address = raw.strip().lower()
    if not EMAIL.match(address):
        raise InvalidValue("is not a well-formed e-mail address")
    return address


def unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))
