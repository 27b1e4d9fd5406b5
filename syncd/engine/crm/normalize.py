"""Source row → Thulium payload, or a rejection with the key and a reason.

The payload is canonical (same data, same dict, same hash), so an unchanged row costs no
request on the next run however the source spells its values.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from syncd.engine.crm.contact import InvalidValue
from syncd.engine.crm.payload import cleaner_for
from syncd.engine.records import SourceRow

Kind = Literal["customer", "company"]
REQUIRED: dict[Kind, str] = {"customer": "surname", "company": "name"}
LIST_FIELDS = ("email", "phone_number")
# Python's own messages quote the offending value (repr): the quoted parts are dropped from a reason
# (a quote after a letter is an apostrophe, as in "can't").
QUOTED = re.compile(r"(?<!\w)(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")")
MAX_REASON = 300


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A source value the database driver could not hand over (text that is not valid UTF-8, a date out of
    Python's range). The source reader puts it in place of the value so the row is rejected with a
    reason instead of failing the whole read, page after page, run after run."""

    reason: str


@dataclass(frozen=True, slots=True)
class Normalized:
    key: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Rejection:
    key: str
    reason: str


@dataclass(frozen=True, slots=True)
class FieldRule:
    """One mapped field: where its value is read, how it is cleaned, where it goes in the payload."""

    target: str
    column: str
    clean: Callable[[Any], Any]
    head: str  # the payload key: the target itself, or the part before its first dot
    part: str | None  # the nested name under ``head`` ("address.city" -> "city"), None for a plain field


class FieldRules(Mapping[str, str]):
    """A stream's mapping (Thulium field → column) with each field's rule looked up once per stream,
    not once per row and field: at a million rows the lookups cost more than the cleaning."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        self._fields = dict(fields)
        self.rules = tuple(rule_for(target, column) for target, column in self._fields.items())

    def __getitem__(self, target: str) -> str:
        return self._fields[target]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        return f"FieldRules({self._fields!r})"


def rule_for(target: str, column: str) -> FieldRule:
    head, dot, rest = target.partition(".")
    return FieldRule(target, column, cleaner_for(target), head if dot else target, rest if dot else None)


def field_rules(fields: Mapping[str, str]) -> FieldRules:
    return fields if isinstance(fields, FieldRules) else FieldRules(fields)


def normalize(row: SourceRow, fields: Mapping[str, str], kind: Kind) -> Normalized | Rejection:
    """Build the payload for ``row`` from its mapped columns (``fields``: Thulium field → column).

    The targets were checked when the tenant file was loaded, so every one has a cleaning rule.
    """
    values = row.values
    if any(type(value) is Unreadable for value in values.values()):
        return Rejection(row.key, unreadable_columns(row, fields))
    payload: dict[str, Any] = {}
    reasons: list[str] = []
    for rule in field_rules(fields).rules:
        try:
            cleaned = rule.clean(values.get(rule.column))
        except ValueError as exc:
            reasons.append(f"{rule.target}: {reason_of(exc)}")
            continue
        if cleaned is None:
            continue
        if rule.part is None:
            payload[rule.head] = cleaned
        else:
            payload.setdefault(rule.head, {})[rule.part] = cleaned
    if reasons:
        return Rejection(row.key, "; ".join(reasons))
    payload = compact(payload)
    required = REQUIRED[kind]
    if required not in payload:
        return Rejection(row.key, f"{required}: missing (Thulium requires it)")
    return Normalized(row.key, payload)


def reason_of(exc: ValueError) -> str:
    """Our own rules say why without the value; anything else is shown as its lower-cased message."""
    return str(exc) if isinstance(exc, InvalidValue) else str(exc).lower()


def unreadable_columns(row: SourceRow, fields: Mapping[str, str]) -> str:
    """Why the row could not be read, per value (named as the Thulium field it maps to); "" if it could."""
    targets = {column: target for target, column in fields.items()}
    return "; ".join(
        f"{targets.get(column, column)}: unreadable in the source ({value.reason})"
        for column, value in row.values.items()
        if isinstance(value, Unreadable)
    )


def compact(payload: dict[str, Any]) -> dict[str, Any]:
    """Drop empty nested parts; a single phone or e-mail is sent as a plain string."""
    result: dict[str, Any] = {}
    for name, value in payload.items():
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if v is not None}
            if not value:
                continue
        if name in LIST_FIELDS and len(value) == 1:
            value = value[0]
        result[name] = value
    return result


def content_hash(payload: Mapping[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def describe_error(exc: BaseException) -> str:
    """``Type: message`` with the quoted parts (where Python and drivers put the value) left out, so a
    reason that ends up in logs and in the failures table carries no personal data."""
    message = QUOTED.sub("'…'", str(exc))
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    if len(text) > MAX_REASON:
        text = text[: MAX_REASON - 1] + "…"
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
