"""``client.companies``: the shared record endpoints plus the create, whose answer carries two ids (the
company's and the customer record Thulium keeps for it)."""

from __future__ import annotations

from pydantic import TypeAdapter

from syncd.thulium.encoding import Payload, dump, identifiers
from syncd.thulium.parsing import created
from syncd.thulium.resources.records import RecordKind, Records
from syncd.thulium.schemas import Company, CompanyIds
from syncd.thulium.session import ApiSession

COMPANIES = RecordKind(
    path="companies",
    id_field="company_id",
    one=TypeAdapter(Company),
    many=TypeAdapter(list[Company]),
    refused_filters=frozenset({"company_id", "company_flag"}),
)


class Companies(Records[Company]):
    def __init__(self, session: ApiSession) -> None:
        super().__init__(session, COMPANIES)

    def create(self, payload: Payload) -> CompanyIds:
        """``POST companies`` → both ids (the answer's strings become ints)."""
        body = dump(payload)
        sent = identifiers([body])
        response = self._session.call("POST", "POST companies", "companies", json=body, identifiers=sent)
        return created(response, CompanyIds.model_validate, "ids", "POST", "companies", sent)
