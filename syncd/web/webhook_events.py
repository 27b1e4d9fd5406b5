"""What a Thulium webhook says, independent of how it was encoded: parsing, identity and meaning.

The vendor document does not say whether events come as JSON or as a form, so both are read
into one shape — every value a string, as a form would carry it (``None`` becomes ``""``, the
way the sandbox renders a JSON null in a form) — and everything after parsing works on that
shape. That is also what makes the digest encoding-blind: Thulium sends no delivery id, so
an event is known by the SHA-256 of its canonical content, and the JSON and the form rendering
of one event must hash the same.

Pure: no I/O. Errors carry a short reason that never quotes a value (bodies hold phone
numbers, e-mails and note texts).
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any

from syncd.engine.campaigns.records import RecordState
from syncd.errors import Skippable

CUSTOMER_CREATED = "CUSTOMER_CREATED"
CUSTOMER_NOTE_SAVED = "CUSTOMER_NOTE_SAVED"
OUTBOUND_RECORD_SAVED = "OUTBOUND_RECORD_SAVED"

FORM = "application/x-www-form-urlencoded"
# No Content-Type, or one that says nothing: a sender that forgot it is still read (JSON if it looks like it).
UNLABELLED = frozenset({"", "text/plain", "application/octet-stream"})
ACTION = re.compile(r"^[A-Za-z0-9_]{1,40}$")  # webhook_events.action is 40 characters
DECIMAL_ID = re.compile(r"^\d{1,18}$")  # fits a BIGINT
MAX_STATUS_ID = 2**31 - 1  # campaign_members.status_id is an INTEGER
OUTBOUND_ID = re.compile(r"^\w{1,5}$")  # webhook_events.outbound_id is 5 characters
# Webhooks print dates with seconds; campaign records store minutes (see the sandbox's with_seconds).
EVENT_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2})(:\d{2})?$")
MY_RECORD = "MY_RECORD"


class BadEvent(ValueError, Skippable):
    """A body syncd cannot act on; ``reason`` is safe to send back and to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Event:
    action: str
    fields: dict[str, str]  # the whole body, ``action`` included, every value a string
    digest: str

    @property
    def outbound_id(self) -> str | None:
        """OUTBOUND_RECORD_SAVED names its campaign ``id``; other events may say ``outbound_id``."""
        key = "id" if self.action == OUTBOUND_RECORD_SAVED else "outbound_id"
        value = self.fields.get(key, "")
        return value if OUTBOUND_ID.match(value) else None

    @property
    def record_id(self) -> int | None:
        return _decimal(self.fields.get("record_id"))

    @property
    def customer_id(self) -> int | None:
        return _decimal(self.fields.get("customer_id"))


def parse_event(content_type: str, body: bytes) -> Event:
    fields = _fields(content_type, body)
    action = fields.get("action", "").strip()
    if not action:
        raise BadEvent("no action")
    if not ACTION.match(action):
        raise BadEvent("action is not an event name")
    event = Event(action, fields, digest(fields))
    if action == OUTBOUND_RECORD_SAVED:
        record_saved(event)  # reject a record event syncd could not apply before it is recorded
    return event


def digest(fields: dict[str, str]) -> str:
    canonical = json.dumps(sorted(fields.items()), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def record_saved(event: Event) -> tuple[str, RecordState]:
    """The campaign id and what OUTBOUND_RECORD_SAVED tells of the record, as a poll would read it.

    Only fields that always equal the record's own are set; the rest stay ``None`` (not said):
    - ``status_id``, ``system_status``: the record's status after the save;
    - ``next_call_date``: the record's, printed with seconds (cut to the record's minutes);
    - ``agent_login`` only for ``MY_RECORD``, from ``assigned_agent_login`` (the record's owner).
      The event's ``agent_login`` is whoever saved the record, who need not be its agent.
    Not set: ``call_date`` (the event's ``date`` is when the record was saved, not called), the
    status name, the note, the agent's name. There is no ``customer_id``: members are matched
    by ``record_id``.
    """
    outbound_id = event.outbound_id
    record_id = event.record_id
    if outbound_id is None or record_id is None:
        raise BadEvent(f"{OUTBOUND_RECORD_SAVED} needs a campaign id and a numeric record_id")
    fields = event.fields
    status_id = fields.get("status_id", "")
    if status_id and not DECIMAL_ID.match(status_id):
        raise BadEvent("status_id is not a number")
    if status_id and int(status_id) > MAX_STATUS_ID:
        raise BadEvent("status_id is out of range")  # a PostgreSQL INTEGER column would refuse it: a 500
    system_status = fields.get("system_status") or None
    agent_login = fields.get("assigned_agent_login") if system_status == MY_RECORD else None
    state = RecordState(
        record_id=record_id,
        status_id=int(status_id) if status_id else None,
        system_status=system_status,
        next_call_date=_record_date(fields.get("next_call_date")),
        agent_login=agent_login,
    )
    return outbound_id, state


def _record_date(value: str | None) -> str | None:
    """``""`` is the record's empty date and is said; a value in an unknown format is not said."""
    if value is None:
        return None
    if value == "":
        return ""
    match = EVENT_DATE.match(value)
    return match.group(1) if match else None


def _decimal(value: str | None) -> int | None:
    return int(value) if value is not None and DECIMAL_ID.match(value) else None


def _fields(content_type: str, body: bytes) -> dict[str, str]:
    media, _, params = content_type.partition(";")
    media = media.strip().lower()
    if media == "application/json" or media.endswith("+json"):
        return _json_fields(body)
    if media == FORM:
        return _form_fields(body, _charset(params))
    if media in UNLABELLED:
        return _json_fields(body) if body.lstrip().startswith(b"{") else _form_fields(body, "utf-8")
    raise BadEvent("unsupported content type: send JSON or application/x-www-form-urlencoded")


def _json_fields(body: bytes) -> dict[str, str]:
    if nesting_depth(body) > MAX_NESTING:
        raise BadEvent(f"body nests deeper than {MAX_NESTING} levels")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # ValueError: also a number too long to convert (over 4300 digits)
        raise BadEvent("body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadEvent("body is not a JSON object")
    fields = {str(key): _text(value) for key, value in data.items()}
    if not encodable(fields):
        raise BadEvent("body is not valid JSON: a \\u escape is half a character")
    return fields


def encodable(fields: dict[str, str]) -> bool:
    """JSON may escape half a surrogate pair (``"\\ud800"``): text no UTF-8 digest or database can hold."""
    try:
        for key, value in fields.items():
            key.encode("utf-8")
            value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


MAX_NESTING = 32  # Thulium's events are flat; a body nested thousands deep would exhaust the parser's stack


def nesting_depth(body: bytes) -> int:
    """How deep ``[`` and ``{`` nest outside strings, measured before parsing (the parser recurses)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def _text(value: Any) -> str:
    """Scalars as a form would carry them; a nested value (none documented) in a canonical JSON form."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return str(value)


def _form_fields(body: bytes, charset: str) -> dict[str, str]:
    try:
        text = body.decode(charset)
        pairs = urllib.parse.parse_qsl(
            text, keep_blank_values=True, strict_parsing=bool(text), encoding=charset, errors="strict"
        )
    except (UnicodeError, LookupError, ValueError):  # UnicodeError: also a codec's own (idna)
        raise BadEvent("body is not valid form data") from None
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            raise BadEvent("a form field is given twice")
        fields[key] = value
    return fields


def _charset(params: str) -> str:
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"') or "utf-8"
            try:
                name = codecs.lookup(charset).name
                b"".decode(name)  # rot13, base64, zlib are codecs but no text encodings: LookupError
            except LookupError:
                raise BadEvent("unknown charset") from None
            return name
    return "utf-8"
