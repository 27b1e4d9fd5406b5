"""Thulium's read shapes → the engine's payload shape, so what Thulium holds compares with what syncd sends.

Reads and writes disagree in Thulium: reads carry ``emails``/``phone_numbers`` lists next to the first value,
``company_id`` is ``""`` when absent, addresses list every part (null when unset) and custom fields list every
defined field (null when unset). A payload omits what is empty, so the conversion does too — otherwise every
record would look changed. Values are otherwise reported as Thulium holds them (no trimming, no
de-duplication): a difference the engine does not see is a difference it cannot repair.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncd.engine.ports import RemoteRecord
from syncd.thulium.schemas import Company, Customer

# Payload text keys per record kind; fields Thulium does not document on reads (note, pesel, job, ...) are
# picked up when a real instance sends them anyway (they arrive as the response models' extras).
CUSTOMER_TEXT = (
    "identifier",
    "name",
    "surname",
    "type",
    "group",
    "nip",
    "account_manager",
    "birthdate",
    "gender",
    "homepage",
    "note",
    "pesel",
    "job",
    "job_title",
)
COMPANY_TEXT = ("identifier", "name", "type", "group", "nip", "account_manager", "note")
ADDRESSES = ("address", "invoice_address", "mail_drop_address")
# payload key → (read key of the full list, read key of the first value)
LISTS = {"email": ("emails", "email"), "phone_number": ("phone_numbers", "phone_number")}

_TRUE = frozenset({"1", "true", "yes", "y", "t"})
_FALSE = frozenset({"0", "false", "no", "n", "f"})


def remote_fields(record: Customer | Company) -> dict[str, Any]:
    """The record in payload shape; empty values are omitted, as a payload never carries them."""
    data = record.model_dump()
    fields: dict[str, Any] = {}
    for key in CUSTOMER_TEXT if isinstance(record, Customer) else COMPANY_TEXT:
        text = _text(data.get(key))
        if text is not None:
            fields[key] = text
    for key, (many, one) in LISTS.items():
        values = _text_list(data.get(many)) or _text_list([data.get(one)])
        if values:
            fields[key] = values
    for key in ADDRESSES:
        parts = _non_empty(data.get(key))
        if parts:
            fields[key] = parts
    custom = _non_empty(data.get("custom_fields"))
    if custom:
        fields["custom_fields"] = custom
    vip = _flag(data.get("vip"))
    if vip is not None:
        fields["vip"] = vip
    # A company's own customer record points at itself; only a member's company_id is a payload field.
    if isinstance(record, Customer) and record.company_id is not None:
        fields["company_id"] = record.company_id
    return fields


def remote_record(record: Customer | Company) -> RemoteRecord:
    """Companies are known by ``company_id`` (what customers reference); their customer record id rides
    along."""
    if isinstance(record, Company):
        return RemoteRecord(
            thulium_id=record.company_id,
            identifier=record.identifier or "",
            fields=remote_fields(record),
            company_customer_id=record.customer_id,
            read=carried(record),
        )
    return RemoteRecord(
        thulium_id=record.customer_id,
        identifier=record.identifier or "",
        fields=remote_fields(record),
        read=carried(record),
    )


def carried(record: Customer | Company) -> frozenset[str]:
    """Payload keys the response had at all, even empty: reads carry ``emails``/``phone_numbers`` for the
    payload's ``email``/``phone_number``; whatever else came (``pesel`` from an instance that returns it)
    arrives as a model extra."""
    keys = set(record.model_fields_set) | set(record.model_extra or {})
    keys |= {payload for payload, (many, one) in LISTS.items() if many in keys or one in keys}
    return frozenset(keys)


def _text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value
    return None


def _text_list(values: Any) -> list[str]:
    if not isinstance(values, list):
        return []
    return [text for text in (_text(v) for v in values) if text is not None]


def _non_empty(mapping: Any) -> dict[str, Any]:
    """Parts of an address or the custom fields that hold a value (custom field values become text, as
    sent)."""
    if not isinstance(mapping, Mapping):
        return {}
    kept: dict[str, Any] = {}
    for key, value in mapping.items():
        if isinstance(value, bool):
            kept[str(key)] = str(value)
        elif isinstance(value, list | dict):
            if value:
                kept[str(key)] = value
        else:
            text = _text(value)
            if text is not None:
                kept[str(key)] = text
    return kept


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    return None
