"""In-memory Thulium state: customers, companies, custom fields, campaigns and their records, connections.

All mutation goes through ``Store`` so the API routes and the control API (agents, dialer) share one set of
rules (e.g. deleting a customer also removes its campaign records, like Thulium's "deletes its dependants").
The aiohttp loop is single-threaded and handlers do not await while mutating, so every request is atomic.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from syncd.engine.wallclock import parse_wall_clock, wall_clock_now
from syncd.sandbox.thulium.activity.events import Activity
from syncd.sandbox.thulium.errors import CODE_NOT_FOUND, CODE_VALIDATION, ApiError, ErrorItem
from syncd.sandbox.thulium.field_index import FieldIndex
from syncd.sandbox.thulium.id_order import IdOrder
from syncd.sandbox.thulium.readings import Readings
from syncd.sandbox.thulium.validation import ADDRESS_KINDS, parse_company, parse_customer

SYSTEM_STATUSES = (
    "TO_CALL",
    "IN_PROGRESS",
    "CALL",
    "MY_RECORD",
    "NO_CALL",
    "ABANDONED_AFTER_N_TRIES",
    "CALL_NO_SOONER_THAN",
    "CALL_PROGRESSIVE",
)
# Statuses after which the dialer will not call again: they count as "completed" in outbound stats.
FINAL_SYSTEM_STATUSES = frozenset({"NO_CALL", "ABANDONED_AFTER_N_TRIES"})

MSG_CUSTOMER_NOT_FOUND = "Customer not found."
MSG_COMPANY_NOT_FOUND = "Company not found."

# Distinct id ranges make a client that mixes up company_id and customer_id fail loudly instead of by luck.
FIRST_CUSTOMER_ID = 100
FIRST_COMPANY_ID = 1
FIRST_RECORD_ID = 200
FIRST_OUTBOUND_INTERNAL_ID = 10


def now_text(seconds: bool = True) -> str:
    fmt = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return wall_clock_now().strftime(fmt)


@dataclass
class Customer:
    customer_id: int
    surname: str = ""
    name: str = ""
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    company_id: int | None = None
    identifier: str = ""
    type: str = ""
    group: str = ""
    gender: str = ""
    homepage: str = ""
    birthdate: str = ""
    nip: str = ""
    note: str = ""
    pesel: str = ""
    job: str = ""
    job_title: str = ""
    account_manager: str = ""
    vip: bool = False
    company_flag: bool = False
    address: dict[str, str] = field(default_factory=dict)
    invoice_address: dict[str, str] = field(default_factory=dict)
    mail_drop_address: dict[str, str] = field(default_factory=dict)
    custom_fields: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    updated_at: str = ""


@dataclass
class Company:
    """A company's data lives on its own customer record (company_flag = true); this row ties the two ids."""

    company_id: int
    customer_id: int


@dataclass
class Status:
    status_id: int
    system_status: str
    name: str
    dictionary_status_id: int | None = None


@dataclass
class Outbound:
    id: str
    outbound_id: int
    name: str
    crm: bool
    dialer: str = "preview"
    order: int = 50
    parity: int = 50
    active: bool = True
    start_date: str = ""
    end_date: str = ""
    group_id: int | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    statuses: list[Status] = field(default_factory=list)

    def status(self, status_id: int) -> Status | None:
        return next((s for s in self.statuses if s.status_id == status_id), None)

    def first_status(self, system_status: str) -> Status | None:
        return next((s for s in self.statuses if s.system_status == system_status), None)


@dataclass
class CampaignRecord:
    record_id: int
    outbound_id: str
    customer_id: int
    status_id: int
    create_date: str
    call_date: str = ""
    next_call_date: str = ""
    agent_login: str = ""
    agent_name: str = ""
    last_note: str = ""
    order: int | None = None
    dictionary_status_id: int | None = None
    in_call: bool = False


class Store:
    def __init__(self, readings: Readings | None = None) -> None:
        self.customers: dict[int, Customer] = {}
        self.companies: dict[int, Company] = {}
        self.custom_fields: list[str] = []
        self.outbounds: dict[str, Outbound] = {}
        self.records: dict[str, dict[int, CampaignRecord]] = {}
        self.connections: list[dict[str, Any]] = []
        # Kept beside the dicts so a list page, a lookup and a uniqueness check cost what they return (see
        # id_order.py and field_index.py); every change to a customer goes through _apply or _drop_customer.
        self.customer_order = IdOrder()
        self.company_order = IdOrder()
        self.by_identifier = FieldIndex[str]()
        self.by_nip = FieldIndex[str]()
        self.by_company = FieldIndex[int | None]()
        self.company_of_customer: dict[int, int] = {}
        # Raw chats and agent activity; the report endpoints aggregate them on every read.
        self.activity = Activity()
        # Where the vendor document is silent, which way this instance reads it (see readings.py).
        self.readings = readings or Readings()
        # Each id is handed out once, in order: a delete never frees one.
        self._customer_ids = itertools.count(FIRST_CUSTOMER_ID)
        self._company_ids = itertools.count(FIRST_COMPANY_ID)
        self._record_ids = itertools.count(FIRST_RECORD_ID)
        self._outbound_ids = itertools.count(FIRST_OUTBOUND_INTERNAL_ID)

    @property
    def readings(self) -> Readings:
        return self._readings

    @readings.setter
    def readings(self, readings: Readings) -> None:
        self._readings = readings
        self.activity.play_namesakes(readings.namesake_agents)

    # ----------------------------------------------------------------- custom fields
    def ensure_custom_fields(self, names: list[str]) -> None:
        """Thulium creates a custom field the first time a write names it (typos become junk fields)."""
        for name in names:
            if name not in self.custom_fields:
                self.custom_fields.append(name)

    # ----------------------------------------------------------------- customers
    def company_exists(self, company_id: int) -> bool:
        return company_id in self.companies

    def get_customer(self, customer_id: int) -> Customer:
        cust = self.customers.get(customer_id)
        if cust is None:
            raise ApiError.one(404, MSG_CUSTOMER_NOT_FOUND, CODE_NOT_FOUND)
        return cust

    def _index(self, cust: Customer) -> None:
        self.by_identifier.add(cust.identifier, cust.customer_id)
        self.by_nip.add(cust.nip, cust.customer_id)
        self.by_company.add(cust.company_id, cust.customer_id)

    def _unindex(self, cust: Customer) -> None:
        self.by_identifier.discard(cust.identifier, cust.customer_id)
        self.by_nip.discard(cust.nip, cust.customer_id)
        self.by_company.discard(cust.company_id, cust.customer_id)

    def _apply(self, target: Customer, changes: dict[str, Any]) -> None:
        self._unindex(target)
        try:
            self._change(target, changes)
        finally:
            self._index(target)

    def _change(self, target: Customer, changes: dict[str, Any]) -> None:
        for key, value in changes.items():
            if key == "custom_fields":
                self.ensure_custom_fields(list(value))
                for fname, fval in value.items():
                    if fval == "":
                        target.custom_fields.pop(fname, None)
                    else:
                        target.custom_fields[fname] = fval
            elif key in ADDRESS_KINDS:
                addr: dict[str, str] = getattr(target, key)
                addr.update(value)
            else:
                setattr(target, key, copy.deepcopy(value))
        target.updated_at = now_text()

    def validate_customer(self, data: Any, *, creating: bool) -> dict[str, Any]:
        changes, errors = parse_customer(data, creating=creating, company_exists=self.company_exists)
        if errors:
            raise ApiError(400, errors)
        return changes

    def create_customer(self, data: Any) -> Customer:
        changes = self.validate_customer(data, creating=True)
        cust = Customer(customer_id=next(self._customer_ids))
        self._apply(cust, changes)
        self.customers[cust.customer_id] = cust
        self.customer_order.add(cust.customer_id)
        return cust

    def update_customer(self, customer_id: int, data: Any) -> Customer:
        cust = self.get_customer(customer_id)
        changes = self.validate_customer(data, creating=False)
        if cust.company_flag:
            changes.pop("company_id", None)
        self._apply(cust, changes)
        return cust

    def delete_customer(self, customer_id: int) -> None:
        cust = self.get_customer(customer_id)
        if cust.company_flag:
            company_id = self.company_of_customer.get(customer_id)
            if company_id is not None:
                self.delete_company(company_id)
                return
        self._drop_customer(customer_id)

    def _drop_customer(self, customer_id: int) -> None:
        cust = self.customers.pop(customer_id, None)
        if cust is not None:
            self._unindex(cust)
            self.customer_order.discard(customer_id)
        for records in self.records.values():
            records.pop(customer_id, None)

    # ----------------------------------------------------------------- companies
    def get_company(self, company_id: int) -> Company:
        comp = self.companies.get(company_id)
        if comp is None:
            raise ApiError.one(404, MSG_COMPANY_NOT_FOUND, CODE_NOT_FOUND)
        return comp

    def _nip_taken_by_other(self, exclude_company: int | None) -> Callable[[str], bool]:
        def taken(nip: str) -> bool:
            for customer_id in self.by_nip.ids(nip):
                company_id = self.company_of_customer.get(customer_id)
                if company_id is not None and company_id != exclude_company:
                    return True
            return False

        return taken

    @staticmethod
    def _company_changes(changes: dict[str, Any]) -> dict[str, Any]:
        """The company name is shown as the surname of its customer record (surname is the display field)."""
        if "name" in changes:
            changes["surname"] = changes.pop("name")
        return changes

    def create_company(self, data: Any) -> Company:
        changes, errors = parse_company(data, creating=True, nip_taken=self._nip_taken_by_other(None))
        if errors:
            raise ApiError(400, errors)
        company_id = next(self._company_ids)
        cust = Customer(customer_id=next(self._customer_ids), company_flag=True, company_id=company_id)
        self._apply(cust, self._company_changes(changes))
        self.customers[cust.customer_id] = cust
        self.customer_order.add(cust.customer_id)
        comp = Company(company_id=company_id, customer_id=cust.customer_id)
        self.companies[company_id] = comp
        self.company_order.add(company_id)
        self.company_of_customer[cust.customer_id] = company_id
        return comp

    def update_company(self, company_id: int, data: Any) -> Company:
        comp = self.get_company(company_id)
        changes, errors = parse_company(data, creating=False, nip_taken=self._nip_taken_by_other(company_id))
        if errors:
            raise ApiError(400, errors)
        self._apply(self.customers[comp.customer_id], self._company_changes(changes))
        return comp

    def delete_company(self, company_id: int) -> None:
        """ "Removes the company and all its dependants": by default members are detached (company_id
        becomes ""); with the ``cascade`` reading (the unkind reading) they are deleted with it."""
        comp = self.get_company(company_id)
        members = [self.customers[i] for i in sorted(self.by_company.ids(company_id))]
        for cust in members:
            if cust.company_flag:
                continue
            if self.readings.company_delete == "cascade":
                self._drop_customer(cust.customer_id)
            else:
                self._unindex(cust)
                cust.company_id = None
                cust.updated_at = now_text()
                self._index(cust)
        self._drop_customer(comp.customer_id)
        del self.companies[company_id]
        self.company_order.discard(company_id)
        del self.company_of_customer[comp.customer_id]

    # ----------------------------------------------------------------- outbounds
    def get_outbound(self, outbound_id: str) -> Outbound:
        ob = self.outbounds.get(outbound_id)
        if ob is None:
            raise ApiError.one(404, "Outbound not found.", CODE_NOT_FOUND)
        return ob

    def get_crm_outbound(self, outbound_id: str) -> Outbound:
        ob = self.get_outbound(outbound_id)
        if not ob.crm:
            raise ApiError.one(400, "Outbound is not fed from CRM.", CODE_VALIDATION)
        return ob

    def next_outbound_code(self) -> str:
        n = 1
        while f"{n:05d}" in self.outbounds:
            n += 1
        return f"{n:05d}"

    def add_outbound(self, ob: Outbound) -> Outbound:
        ob.outbound_id = next(self._outbound_ids)
        self.outbounds[ob.id] = ob
        self.records.setdefault(ob.id, {})
        return ob

    # ----------------------------------------------------------------- campaign records
    def record_errors(
        self, ob: Outbound, data: dict[str, Any], *, existing: CampaignRecord | None
    ) -> list[ErrorItem]:
        status: Status | None = None
        if data.get("status_id") not in (None, ""):
            status = _named_status(ob, data["status_id"])
            if status is None:
                return [ErrorItem("Status not found.", CODE_NOT_FOUND)]
        elif existing is not None:
            status = ob.status(existing.status_id)
        system = status.system_status if status else "TO_CALL"
        agent = data.get("agent_login", existing.agent_login if existing else "")
        next_call = data.get("next_call_date", existing.next_call_date if existing else "")
        return [*_required_for_status(system, agent, next_call), *_malformed_fields(next_call, data)]

    def _apply_record(self, ob: Outbound, rec: CampaignRecord, data: dict[str, Any]) -> None:
        if data.get("status_id") not in (None, ""):
            rec.status_id = int(data["status_id"])
        if "dictionary_status_id" in data:
            d = data["dictionary_status_id"]
            rec.dictionary_status_id = None if d in (None, "") else int(d)
        if "agent_login" in data:
            rec.agent_login = str(data["agent_login"] or "")
            rec.agent_name = rec.agent_login.replace(".", " ").title() if rec.agent_login else ""
        if "next_call_date" in data:
            rec.next_call_date = str(data["next_call_date"] or "")
        if "order" in data:
            rec.order = None if data["order"] in (None, "") else int(data["order"])

    def add_record(self, outbound_id: str, data: Any) -> tuple[CampaignRecord, bool]:
        """Returns (record, created). An existing record is returned untouched with created=False."""
        ob = self.get_crm_outbound(outbound_id)
        if not isinstance(data, dict):
            raise ApiError.one(400, "Invalid data format.")
        try:
            customer_id = int(data.get("customer_id"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ApiError.one(400, "Field customer_id is required.") from None
        if customer_id not in self.customers:
            raise ApiError.one(400, MSG_CUSTOMER_NOT_FOUND, CODE_NOT_FOUND)
        existing = self.records[outbound_id].get(customer_id)
        if existing is not None:
            return existing, False
        errors = self.record_errors(ob, data, existing=None)
        if errors:
            raise ApiError(400, errors)
        default = ob.first_status("TO_CALL") or ob.statuses[0]
        rec = CampaignRecord(
            record_id=next(self._record_ids),
            outbound_id=outbound_id,
            customer_id=customer_id,
            status_id=default.status_id,
            create_date=now_text(seconds=False),
        )
        self._apply_record(ob, rec, data)
        self.records[outbound_id][customer_id] = rec
        return rec, True

    def get_record(self, outbound_id: str, customer_id: int) -> CampaignRecord:
        self.get_crm_outbound(outbound_id)
        rec = self.records[outbound_id].get(customer_id)
        if rec is None:
            raise ApiError.one(404, "Record not found.", CODE_NOT_FOUND)
        return rec

    def update_record(self, outbound_id: str, customer_id: int, data: Any) -> CampaignRecord:
        ob = self.get_crm_outbound(outbound_id)
        rec = self.get_record(outbound_id, customer_id)
        if not isinstance(data, dict):
            raise ApiError.one(400, "Invalid data format.")
        errors = self.record_errors(ob, data, existing=rec)
        if errors:
            raise ApiError(400, errors)
        self._apply_record(ob, rec, data)
        return rec

    def delete_record(self, outbound_id: str, customer_id: int) -> CampaignRecord:
        rec = self.get_record(outbound_id, customer_id)
        if rec.in_call:
            raise ApiError.one(400, "Record is in a call right now and cannot be deleted.", CODE_VALIDATION)
        del self.records[outbound_id][customer_id]
        return rec

    def record_status(self, rec: CampaignRecord) -> Status:
        ob = self.outbounds[rec.outbound_id]
        return ob.status(rec.status_id) or Status(rec.status_id, "TO_CALL", "")

    # ----------------------------------------------------------------- dump
    def dump(self) -> dict[str, Any]:
        return {
            "customers": [asdict(c) for c in self.customers.values()],
            "companies": [asdict(c) for c in self.companies.values()],
            "custom_fields": list(self.custom_fields),
            "outbounds": [asdict(o) for o in self.outbounds.values()],
            "records": {k: [asdict(r) for r in v.values()] for k, v in self.records.items()},
            "connections": copy.deepcopy(self.connections),
        }


def _named_status(ob: Outbound, status_id: Any) -> Status | None:
    try:
        return ob.status(int(status_id))
    except (TypeError, ValueError):
        return None


def _required_for_status(system: str, agent: Any, next_call: Any) -> list[ErrorItem]:
    """A status that hands the record to an agent, or defers it, needs the agent and the date."""
    errors: list[ErrorItem] = []
    if system == "MY_RECORD" and not agent:
        errors.append(ErrorItem("Agent login is required for status MY_RECORD.", CODE_VALIDATION))
    if system in ("MY_RECORD", "CALL_NO_SOONER_THAN") and not next_call:
        errors.append(ErrorItem(f"Next call date is required for status {system}.", CODE_VALIDATION))
    return errors


def _malformed_fields(next_call: Any, data: dict[str, Any]) -> list[ErrorItem]:
    errors: list[ErrorItem] = []
    if next_call:
        try:
            parse_wall_clock(str(next_call), "%Y-%m-%d %H:%M")
        except ValueError:
            errors.append(
                ErrorItem("Wrong format of next_call_date. Expected YYYY-MM-DD hh:mm.", CODE_VALIDATION)
            )
    if data.get("order") not in (None, ""):
        try:
            int(data["order"])
        except (TypeError, ValueError):
            errors.append(ErrorItem("Order must be an integer.", CODE_VALIDATION))
    return errors
