"""Single demo rows, valid or broken in exactly one way.

Each invalid row has one problem only, so the reason reported for it is the reason a
validator must find; the rest of the row stays plausible.
"""

from __future__ import annotations

import random
from datetime import datetime
from enum import StrEnum
from typing import Any

from syncd.demo import faker


class Invalid(StrEnum):
    MISSING_SURNAME = "missing_surname"
    BAD_PHONE = "bad_phone"
    BAD_EMAIL = "bad_email"
    UNKNOWN_COMPANY = "unknown_company"
    MISSING_NAME = "missing_name"
    DUPLICATE_NIP = "duplicate_nip"


CUSTOMER_PROBLEMS = (Invalid.MISSING_SURNAME, Invalid.BAD_PHONE, Invalid.BAD_EMAIL, Invalid.UNKNOWN_COMPANY)
COMPANY_PROBLEMS = (Invalid.MISSING_NAME, Invalid.DUPLICATE_NIP)

BAD_PHONES = ("12ab34", "600-1OO-200", "tel. 600 abc")
BLANKS = (None, "", "   ")

Row = dict[str, Any]


def customer(
    rng: random.Random, key: int, updated_at: datetime, company_ids: list[int], *, with_company: float = 0.75
) -> Row:
    first, last = rng.choice(faker.FIRST_NAMES), rng.choice(faker.LAST_NAMES)
    if first.endswith("a") and last.endswith("ki"):
        last = last[:-1] + "a"  # Kowalski → Kowalska
    two_phones = rng.random() < 0.08
    phone = f"{faker.phone(rng)}, {faker.phone(rng)}" if two_phones else faker.phone(rng)
    local = f"{first}.{last}{key}".lower()
    return {
        "id": key,
        "first_name": first,
        "last_name": last,
        "email": faker.email(rng, local) if rng.random() < 0.85 else None,
        "phone": phone,
        "city": rng.choice(faker.CITIES),
        "street": faker.street(rng),
        "segment": rng.choice(faker.SEGMENTS),
        "company_id": rng.choice(company_ids) if company_ids and rng.random() < with_company else None,
        "updated_at": updated_at,
        "deleted": False,
    }


def break_customer(rng: random.Random, row: Row, problem: Invalid, missing_company: int) -> Row:
    local = f"{row['first_name']}.{row['last_name']}{row['id']}".lower()
    local = faker.ascii_fold(local)
    if problem is Invalid.MISSING_SURNAME:
        return {**row, "last_name": rng.choice(BLANKS)}
    if problem is Invalid.BAD_PHONE:
        return {**row, "phone": rng.choice(BAD_PHONES)}
    if problem is Invalid.BAD_EMAIL:
        domain = rng.choice(faker.DOMAINS)
        return {**row, "email": rng.choice((f"{local}@@{domain}", f"{local}.{domain}", f"{local}@"))}
    if problem is Invalid.UNKNOWN_COMPANY:
        return {**row, "company_id": missing_company}
    raise ValueError(f"{problem} is not a customer problem")


def company(rng: random.Random, key: int, updated_at: datetime, nip: str) -> Row:
    owner = rng.choice(faker.LAST_NAMES)
    name = f"{rng.choice(faker.COMPANY_KINDS)} {owner} {rng.choice(faker.COMPANY_FORMS)}".strip()
    slug = faker.ascii_fold(owner).lower()
    return {
        "id": key,
        "name": name,
        "nip": nip,
        "email": faker.email(rng, "biuro", f"{slug}{key}.pl"),
        "phone": faker.phone(rng),
        "city": rng.choice(faker.CITIES),
        "street": faker.street(rng),
        "updated_at": updated_at,
        "deleted": False,
    }
