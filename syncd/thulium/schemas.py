"""Pydantic models for what Thulium sends back and what syncd sends to it.

Response models are lenient on purpose: the documentation is loose about types (ids are ints in reads but
strings in write responses, ``company_id`` is ``""`` when absent, ``company_flag`` is a bool or ``""``, PHP
may encode an empty object as ``[]``) and an unexpected-but-harmless variation must not stop a sync. Unknown
fields are kept (``extra="allow"``). Request models are strict (``extra="forbid"``) so a typo in a mapping
fails here, before it reaches Thulium — which would silently create a custom field or ignore the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _blank_to_none(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value


def _to_text(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return str(value)
    return value


def _to_blank_text(value: Any) -> Any:
    return _blank_to_none(_to_text(value))


def _to_flag(value: Any) -> Any:
    if value is None:
        return False
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("", "0", "false", "no", "n"):
            return False
        if text in ("1", "true", "yes", "y", "t"):
            return True
    return value


def _to_text_list(value: Any) -> Any:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [_to_text(v) for v in value if v is not None]
    return value


def _to_mapping_or_none(value: Any) -> Any:
    # PHP's json_encode turns an empty associative array into [].
    if value == [] or value == "":
        return None
    return value


def _to_mapping(value: Any) -> Any:
    if value is None or value == [] or value == "":
        return {}
    return value


def _to_list(value: Any) -> Any:
    return [] if value is None or value == "" else value


def _to_outbound_id(value: Any) -> Any:
    # Campaign ids are five-character strings; an int would have lost its leading zeros.
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:05d}"
    return value


Text = Annotated[str | None, BeforeValidator(_to_text)]
"""A string field; numbers are stringified, ``""`` kept (it can mean "cleared")."""
BlankText = Annotated[str | None, BeforeValidator(_to_blank_text)]
"""A string where ``""`` only means "absent" (dates, logins)."""
OptInt = Annotated[int | None, BeforeValidator(_blank_to_none)]
Flag = Annotated[bool, BeforeValidator(_to_flag)]
TextList = Annotated[list[str], BeforeValidator(_to_text_list)]
OutboundId = Annotated[str, BeforeValidator(_to_outbound_id)]


class _Response(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Address(_Response):
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


OptAddress = Annotated[Address | None, BeforeValidator(_to_mapping_or_none)]
CustomFields = Annotated[dict[str, Any] | None, BeforeValidator(_to_mapping_or_none)]


class _Party(_Response):
    """What Thulium reads back for customers and companies alike (a company is also a customer record)."""

    name: Text = None
    identifier: Text = None
    phone_number: Text = None
    phone_numbers: TextList = Field(default_factory=list)
    email: Text = None
    emails: TextList = Field(default_factory=list)
    type: Text = None
    group: Text = None
    nip: Text = None
    account_manager: BlankText = None
    address: OptAddress = None
    invoice_address: OptAddress = None
    mail_drop_address: OptAddress = None
    custom_fields: CustomFields = None


class Customer(_Party):
    """A CRM customer. ``custom_fields``/addresses are ``None`` unless requested with the include flags."""

    customer_id: int
    surname: Text = None
    company_id: OptInt = None
    company_flag: Flag = False
    birthdate: BlankText = None
    gender: Text = None
    homepage: Text = None
    updated_at: BlankText = None


class Company(_Party):
    """A company; it is also a customer record (``customer_id``)."""

    company_id: int
    customer_id: OptInt = None


class CompanyIds(BaseModel):
    """``POST companies`` answers with two ids (as strings); both are needed — customers join via
    ``company_id``."""

    model_config = ConfigDict(frozen=True)

    company_id: int
    customer_id: int


class Outbound(_Response):
    id: OutboundId
    name: Text = None
    crm: Flag = False
    order: OptInt = None
    parity: OptInt = None


class OutboundStatus(_Response):
    system_status: BlankText = None
    status_id: int
    dictionary_status_id: OptInt = None
    name: Text = None


class OutboundStats(_Response):
    id: OutboundId
    records_count: int = 0
    completion_percent: float = 0.0


class CampaignRecord(_Response):
    """A customer's record in a CRM-fed campaign; dates stay Thulium's ``YYYY-MM-DD hh:mm`` strings (no
    zone)."""

    record_id: OptInt = None
    customer_id: int
    phone_number: Text = None
    system_status: BlankText = None
    status: Text = None
    status_id: OptInt = None
    call_date: BlankText = None
    create_date: BlankText = None
    next_call_date: BlankText = None
    agent_name: BlankText = None
    agent_login: BlankText = None
    last_note: Text = None
    order: OptInt = None


class Connection(_Response):
    """One call from ``GET connections``; only the fields syncd may use are typed, the rest stay as extras."""

    connection_id: Text = None
    date: BlankText = None
    src: Text = None
    dst: Text = None
    disposition: BlankText = None
    duration: OptInt = None
    billsec: OptInt = None
    type: BlankText = None
    user_login: BlankText = None
    customer_id: OptInt = None
    outbound_id: BlankText = None
    queue_id: OptInt = None
    tags: TextList = Field(default_factory=list)
    disconnected_by: BlankText = None


class CustomField(_Response):
    name: str


class CustomFieldGroup(_Response):
    name: Text = None
    fields: Annotated[list[CustomField], BeforeValidator(_to_list)] = Field(default_factory=list)


ItemT = TypeVar("ItemT", bound=BaseModel)


class Page(BaseModel, Generic[ItemT]):
    """A ``{"count", "result"}`` envelope; ``count`` is the total matching the filters, not the page size."""

    model_config = ConfigDict(frozen=True)

    count: int
    result: list[ItemT]


class ItemResult(BaseModel):
    """One entry of a 207 multi-status body, parsed but not judged (``engine/resolve.py`` decides what it
    means).

    ``key`` is the response key (a position for batch creates, a customer id otherwise). ``http_status`` is
    ``None`` when the item is missing from the response or unreadable — its outcome is unknown and ``message``
    says why.
    """

    model_config = ConfigDict(frozen=True)

    key: str
    http_status: int | None
    message: str | None = None
    customer_id: int | None = None
    record_id: int | None = None
    status: str | None = None

    @property
    def unknown(self) -> bool:
        return self.http_status is None


def as_int(value: object) -> int | None:
    """Thulium sends ids and codes as ints or numeric strings; anything else is no id."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def parse_item(key: str, raw: object, *, customer_id: int | None = None, missing: str) -> ItemResult:
    """Read one 207 entry; ``customer_id`` fills in the id when the key itself is the customer id."""
    if raw is None:
        return ItemResult(key=key, http_status=None, message=missing, customer_id=customer_id)
    if not isinstance(raw, Mapping):
        return ItemResult(
            key=key,
            http_status=None,
            message="item in the 207 response is not a JSON object; outcome unknown",
            customer_id=customer_id,
        )
    status = as_int(raw.get("http_status"))
    message = raw.get("message")
    text: str | None = message if isinstance(message, str) else None
    errors = raw.get("errors")
    if text is None and isinstance(errors, list):
        parts = [str(e.get("message")) if isinstance(e, Mapping) else str(e) for e in errors]
        text = "; ".join(p for p in parts if p) or None
    if status is None:
        text = "item in the 207 response has no http_status; outcome unknown" + (f" ({text})" if text else "")
    item_status = raw.get("status")
    return ItemResult(
        key=key,
        http_status=status,
        message=text,
        customer_id=as_int(raw.get("customer_id")) if raw.get("customer_id") is not None else customer_id,
        record_id=as_int(raw.get("record_id")),
        status=item_status if isinstance(item_status, str) else None,
    )


# ---- request payloads --------------------------------------------------------------------------------------


class _Payload(BaseModel):
    """Serialised with ``exclude_none``: leave a field ``None`` to not send it, set ``""`` to clear it in
    Thulium."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class AddressPayload(_Payload):
    street: str | None = None
    building: str | None = None
    flat: str | None = None
    postcode: str | None = None
    city: str | None = None
    country: str | None = None


class _PartyPayload(_Payload):
    """What ``POST/PUT customers`` and ``POST/PUT companies`` both take.

    (!) A ``custom_fields`` key that does not exist in Thulium is *created* by Thulium; check names against
    ``client.custom_fields.names()`` before sending.
    """

    name: str | None = None
    nip: str | None = None
    email: str | list[str] | None = None
    phone_number: str | list[str] | None = None
    type: str | None = None
    group: str | None = None
    identifier: str | None = None
    note: str | None = None
    custom_fields: dict[str, str] | None = None
    fill_read_only_custom_fields: bool | None = None
    account_manager: str | None = None
    vip: bool | None = None
    address: AddressPayload | None = None
    invoice_address: AddressPayload | None = None
    mail_drop_address: AddressPayload | None = None


class CustomerPayload(_PartyPayload):
    """Fields of ``POST/PUT customers`` and batch items. ``surname`` is required by Thulium on create."""

    surname: str | None = None
    company_id: int | None = None
    gender: str | None = None
    homepage: str | None = None
    birthdate: str | None = None
    pesel: str | None = None
    job: str | None = None
    job_title: str | None = None


class CustomerUpdate(CustomerPayload):
    """One item of ``PUT batch/customers``: the fields to change plus the Thulium id they apply to."""

    customer_id: int


class CompanyPayload(_PartyPayload):
    """Fields of ``POST/PUT companies``. ``name`` is required on create; a given ``nip`` must be unique."""


class CampaignRecordPayload(_Payload):
    """A CRM campaign record. ``customer_id`` is required in POST bodies; PUT carries it in the path instead.

    ``agent_login`` is required for MY_RECORD; ``next_call_date`` (``YYYY-MM-DD hh:mm``) for MY_RECORD and
    CALL_NO_SOONER_THAN.
    """

    customer_id: int | None = None
    status_id: int | None = None
    dictionary_status_id: int | None = None
    agent_login: str | None = None
    next_call_date: str | None = None
    order: int | None = None
