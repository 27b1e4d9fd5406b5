"""Payload checks for customers and companies.

Thulium validates every item of a batch on its own and reports the first problem as the item's ``message``;
these functions therefore return a list of errors instead of raising, and never touch state except for the
existence checks they receive as callables.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from syncd.sandbox.thulium.errors import CODE_CONFLICT, CODE_NOT_FOUND, CODE_VALIDATION, ErrorItem

MSG_SURNAME_REQUIRED = "Surname is required."
MSG_NAME_REQUIRED = "Name is required."
MSG_PHONE_NUMERIC = "Phone number must be numeric."
MSG_EMAIL_FORMAT = "Wrong format of e-mail address."
MSG_COMPANY_NOT_FOUND = "Company not found."
MSG_NIP_NOT_UNIQUE = "Company with given NIP already exists."
MSG_BIRTHDATE_FORMAT = "Wrong format of birthdate. Expected YYYY-MM-DD."
MSG_CUSTOM_FIELDS = "Custom fields must be an object of field name to value."
MSG_INVALID_ITEM = "Invalid data format."

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_RE = re.compile(r"^[0-9]+$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# payload key, changes key, format, message
_CONTACT_LISTS = (
    ("email", "emails", _EMAIL_RE, MSG_EMAIL_FORMAT),
    ("phone_number", "phones", _PHONE_RE, MSG_PHONE_NUMERIC),
)

TEXT_FIELDS = (
    "name",
    "surname",
    "identifier",
    "type",
    "group",
    "gender",
    "homepage",
    "birthdate",
    "nip",
    "note",
    "pesel",
    "job",
    "job_title",
    "account_manager",
)
COMPANY_TEXT_FIELDS = ("name", "identifier", "type", "group", "nip", "note", "account_manager")
ADDRESS_KINDS = ("address", "invoice_address", "mail_drop_address")
ADDRESS_INPUT_KEYS = ("street", "building", "flat", "postcode", "city", "country")


def _text(value: Any) -> str | None:
    """Numbers are accepted where text is expected (ids and NIPs are often numeric in source DBs)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return None
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def _text_list(value: Any) -> list[str] | None:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        out: list[str] = []
        for v in value:
            t = _text(v)
            if t is None:
                return None
            if t != "":
                out.append(t)
        return out
    t = _text(value)
    return None if t is None else [t]


def parse_contact_lists(data: dict[str, Any], out: dict[str, Any], errors: list[ErrorItem]) -> None:
    """E-mails and phone numbers alike: one value or a list, each value in its list's format."""
    for key, out_key, pattern, message in _CONTACT_LISTS:
        if key in data:
            values = _text_list(data[key])
            if values is None or any(not pattern.match(v) for v in values):
                errors.append(ErrorItem(message, CODE_VALIDATION))
            else:
                out[out_key] = values


def parse_custom_fields(data: dict[str, Any], out: dict[str, Any], errors: list[ErrorItem]) -> None:
    if "custom_fields" not in data:
        return
    raw = data["custom_fields"]
    if raw is None:
        return
    if not isinstance(raw, dict):
        errors.append(ErrorItem(MSG_CUSTOM_FIELDS, CODE_VALIDATION))
        return
    fields: dict[str, str] = {}
    for key, value in raw.items():
        text = "1" if value is True else "0" if value is False else _text(value)
        if text is None:
            errors.append(ErrorItem(f"Wrong value of custom field {key}.", CODE_VALIDATION))
            return
        fields[str(key)] = text
    out["custom_fields"] = fields


def parse_addresses(data: dict[str, Any], out: dict[str, Any], errors: list[ErrorItem]) -> None:
    for kind in ADDRESS_KINDS:
        if kind not in data or data[kind] is None:
            continue
        raw = data[kind]
        if not isinstance(raw, dict):
            errors.append(ErrorItem(f"Field {kind} must be an object.", CODE_VALIDATION))
            continue
        addr: dict[str, str] = {}
        for key in ADDRESS_INPUT_KEYS:
            if key in raw:
                text = _text(raw[key])
                if text is None:
                    errors.append(ErrorItem(f"Wrong value of {kind}.{key}.", CODE_VALIDATION))
                    break
                addr[key] = text
        out[kind] = addr


def _parse_text_fields(
    data: dict[str, Any], names: tuple[str, ...], out: dict[str, Any], errors: list[ErrorItem]
) -> None:
    for name in names:
        if name in data:
            text = _text(data[name])
            if text is None:
                errors.append(ErrorItem(f"Field {name} must be a string.", CODE_VALIDATION))
            else:
                out[name] = text.strip() if name in ("surname", "name") else text


def parse_company_ref(value: Any, company_exists: Callable[[int], bool]) -> tuple[int | None, bool]:
    """Returns (company id or None, ok)."""
    if value is None or value == "":
        return None, True
    if isinstance(value, bool):
        return None, False
    try:
        cid = int(value)
    except (TypeError, ValueError):
        return None, False
    return cid, company_exists(cid)


def _parse_card(data: dict[str, Any], out: dict[str, Any], errors: list[ErrorItem]) -> None:
    """What a customer card holds for customers and companies alike, checked last: VIP, custom fields and
    the addresses."""
    if "vip" in data:
        out["vip"] = bool(data["vip"])
    parse_custom_fields(data, out, errors)
    parse_addresses(data, out, errors)


Checks = Callable[[dict[str, Any], dict[str, Any], list[ErrorItem]], None]


def _parse(
    data: Any, names: tuple[str, ...], required: str, message: str, own: Checks, *, creating: bool
) -> tuple[dict[str, Any], list[ErrorItem]]:
    """Customers and companies are checked in one order: the text fields, with the one that names the record
    (a customer's surname, a company's name) required on create and never blanked, its error first (a batch
    item's message is its first error); then the kind's ``own`` checks; the card last."""
    if not isinstance(data, dict):
        return {}, [ErrorItem(MSG_INVALID_ITEM, CODE_VALIDATION)]
    out: dict[str, Any] = {}
    errors: list[ErrorItem] = []
    _parse_text_fields(data, names, out, errors)
    if (creating and not out.get(required)) or (required in out and not out[required]):
        errors.insert(0, ErrorItem(message, CODE_VALIDATION))
    own(data, out, errors)
    _parse_card(data, out, errors)
    return out, errors


def _customer_checks(
    data: dict[str, Any],
    out: dict[str, Any],
    errors: list[ErrorItem],
    *,
    company_exists: Callable[[int], bool],
) -> None:
    if out.get("birthdate") and not _DATE_RE.match(out["birthdate"]):
        errors.append(ErrorItem(MSG_BIRTHDATE_FORMAT, CODE_VALIDATION))
    parse_contact_lists(data, out, errors)
    if "company_id" in data:
        cid, ok = parse_company_ref(data["company_id"], company_exists)
        if not ok:
            errors.append(ErrorItem(MSG_COMPANY_NOT_FOUND, CODE_NOT_FOUND))
        else:
            out["company_id"] = cid


def _company_checks(
    data: dict[str, Any], out: dict[str, Any], errors: list[ErrorItem], *, nip_taken: Callable[[str], bool]
) -> None:
    if out.get("nip") and nip_taken(out["nip"]):
        errors.append(ErrorItem(MSG_NIP_NOT_UNIQUE, CODE_CONFLICT))
    parse_contact_lists(data, out, errors)


def parse_customer(
    data: Any, *, creating: bool, company_exists: Callable[[int], bool]
) -> tuple[dict[str, Any], list[ErrorItem]]:
    """Validated, normalised changes for a customer (only the keys present in the payload)."""
    own = functools.partial(_customer_checks, company_exists=company_exists)
    return _parse(data, TEXT_FIELDS, "surname", MSG_SURNAME_REQUIRED, own, creating=creating)


def parse_company(
    data: Any, *, creating: bool, nip_taken: Callable[[str], bool]
) -> tuple[dict[str, Any], list[ErrorItem]]:
    """The same for a company; its NIP must be no other company's."""
    own = functools.partial(_company_checks, nip_taken=nip_taken)
    return _parse(data, COMPANY_TEXT_FIELDS, "name", MSG_NAME_REQUIRED, own, creating=creating)
