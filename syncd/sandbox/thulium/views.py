"""JSON shapes as the vendor document prints them (ints in GET, ``company_id: ""``, null address parts)."""

from __future__ import annotations

from typing import Any

from syncd.sandbox.thulium.store import CampaignRecord, Company, Customer, Outbound, Status, Store

ADDRESS_OUTPUT_KEYS = (
    "street",
    "building",
    "flat",
    "postcode",
    "city",
    "post_office",
    "borough",
    "county",
    "voivodship",
    "country",
)


class Includes:
    """The ``include_*`` query flags shared by customers, companies and campaign records."""

    def __init__(self, query: dict[str, str]) -> None:
        def flag(name: str) -> bool:
            return query.get(name, "").lower() in ("true", "1", "yes")

        self.custom_fields = flag("include_custom_fields")
        self.address = flag("include_address")
        self.invoice_address = flag("include_invoice_address")
        self.mail_drop_address = flag("include_mail_drop_address")
        self.customer = flag("include_customer")


def _address(raw: dict[str, str]) -> dict[str, str | None]:
    return {k: (raw.get(k) or None) for k in ADDRESS_OUTPUT_KEYS}


def _extras(store: Store, cust: Customer, inc: Includes, out: dict[str, Any]) -> dict[str, Any]:
    if inc.address:
        out["address"] = _address(cust.address)
    if inc.invoice_address:
        out["invoice_address"] = _address(cust.invoice_address)
    if inc.mail_drop_address:
        out["mail_drop_address"] = _address(cust.mail_drop_address)
    if inc.custom_fields:
        # Every defined field is listed; unset ones are null (the document's "ID": null).
        out["custom_fields"] = {name: cust.custom_fields.get(name) for name in store.custom_fields}
    return out


def _contact(cust: Customer) -> dict[str, Any]:
    """The first phone and e-mail on their own, then all of them: customers and companies print them alike."""
    return {
        "phone_number": cust.phones[0] if cust.phones else "",
        "phone_numbers": list(cust.phones),
        "email": cust.emails[0] if cust.emails else "",
        "emails": list(cust.emails),
    }


def customer_view(store: Store, cust: Customer, inc: Includes) -> dict[str, Any]:
    out: dict[str, Any] = {
        "customer_id": cust.customer_id,
        "name": cust.name,
        "surname": cust.surname,
        **_contact(cust),
        "company_id": cust.company_id if cust.company_id is not None else "",
        "identifier": cust.identifier,
        "type": cust.type,
        "group": cust.group,
        "company_flag": cust.company_flag,
        "birthdate": cust.birthdate,
        "gender": cust.gender,
        "homepage": cust.homepage,
        "nip": cust.nip,
        "account_manager": cust.account_manager,
        "updated_at": cust.updated_at,
    }
    return _extras(store, cust, inc, out)


# GET customers/:id prints a narrower object than the list: no emails/birthdate/gender/homepage/nip and
# company_flag "" (we keep `true` for company records: a bare "" there would hide what the record is).
SINGLE_CUSTOMER_OMITS = ("emails", "birthdate", "gender", "homepage", "nip")
# GET companies/:id likewise has no identifier, phones or emails.
SINGLE_COMPANY_OMITS = ("identifier", "phone_number", "phone_numbers", "email", "emails")


def single_customer_view(store: Store, cust: Customer, inc: Includes) -> dict[str, Any]:
    out = customer_view(store, cust, inc)
    for key in SINGLE_CUSTOMER_OMITS:
        out.pop(key, None)
    out["company_flag"] = True if cust.company_flag else ""
    return out


def single_company_view(store: Store, comp: Company, inc: Includes) -> dict[str, Any]:
    out = company_view(store, comp, inc)
    for key in SINGLE_COMPANY_OMITS:
        out.pop(key, None)
    return out


def company_view(store: Store, comp: Company, inc: Includes) -> dict[str, Any]:
    cust = store.customers[comp.customer_id]
    out: dict[str, Any] = {
        "name": cust.surname,
        "company_id": comp.company_id,
        "customer_id": comp.customer_id,
        "identifier": cust.identifier,
        **_contact(cust),
        "type": cust.type,
        "group": cust.group,
        "nip": cust.nip,
        "account_manager": cust.account_manager,
    }
    return _extras(store, cust, inc, out)


def outbound_view(ob: Outbound) -> dict[str, Any]:
    return {"id": ob.id, "name": ob.name, "crm": ob.crm, "order": ob.order, "parity": ob.parity}


def status_view(st: Status) -> dict[str, Any]:
    # (!) status_id is a string here but an int inside campaign records — as documented.
    return {
        "system_status": st.system_status,
        "status_id": str(st.status_id),
        "dictionary_status_id": st.dictionary_status_id,
        "name": st.name,
    }


def record_view(store: Store, rec: CampaignRecord, inc: Includes) -> dict[str, Any]:
    cust = store.customers.get(rec.customer_id)
    status = store.record_status(rec)
    out: dict[str, Any] = {
        "record_id": rec.record_id,
        "phone_number": cust.phones[0] if cust and cust.phones else "",
        "system_status": status.system_status,
        "status": status.name,
        "status_id": rec.status_id,
        "call_date": rec.call_date,
        "create_date": rec.create_date,
        "next_call_date": rec.next_call_date,
        "agent_name": rec.agent_name,
        "agent_login": rec.agent_login,
        "customer_id": rec.customer_id,
        "last_note": rec.last_note,
        "order": rec.order if rec.order is not None else "",
    }
    if inc.customer and cust is not None:
        out["customer"] = customer_view(store, cust, inc)
    return out
