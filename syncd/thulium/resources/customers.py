"""``client.customers``: the shared record endpoints plus what only customers have — ``batch/customers``,
a create answered with one id, and the exact lookup by identifier that settles an ambiguous create."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import TypeAdapter
from typing_extensions import Unpack

from syncd.thulium.encoding import Payload, customer_ids, dump, identifiers
from syncd.thulium.parsing import created, id_field, keyed_results, positional_results
from syncd.thulium.resources.id_deletes import delete_by_ids
from syncd.thulium.resources.records import Filters, RecordKind, Records
from syncd.thulium.schemas import Customer, ItemResult
from syncd.thulium.session import ApiSession

CUSTOMERS = RecordKind(
    path="customers",
    id_field="customer_id",
    one=TypeAdapter(Customer),
    many=TypeAdapter(list[Customer]),
)
_BATCH = "batch/customers"


class Customers(Records[Customer]):
    def __init__(self, session: ApiSession) -> None:
        super().__init__(session, CUSTOMERS)

    def find(self, identifier: str, /, **filters: Unpack[Filters]) -> list[Customer]:
        """Customers whose ``identifier`` equals ``identifier`` exactly — how an ambiguous create is
        reconciled.

        The result is re-checked client-side: the filter's matching rules (case, partial match) are
        undocumented, and adopting the wrong customer would be worse than creating none.
        """
        if not identifier:
            raise ValueError(
                "identifier must not be empty: Thulium reads an empty filter as 'has no identifier'"
            )
        filters["identifier"] = identifier
        return [c for c in self.iter(**filters) if c.identifier == identifier]

    def create(self, payload: Payload) -> int:
        """``POST customers`` → the new customer id. Raises ``OutcomeUnknown`` if the answer is lost."""
        body = dump(payload)
        sent = identifiers([body])
        response = self._session.call("POST", "POST customers", "customers", json=body, identifiers=sent)
        return created(response, id_field("customer_id"), "customer_id", "POST", "customers", sent)

    def batch_create(self, payloads: Sequence[Payload]) -> list[ItemResult]:
        """``POST batch/customers``; result ``i`` belongs to ``payloads[i]`` (Thulium keys the 207 by
        position).

        An item whose ``http_status`` is ``None`` was missing or unreadable: it may or may not have been
        created.
        """
        if not payloads:
            return []
        bodies = [dump(p) for p in payloads]
        response = self._session.call(
            "POST", f"POST {_BATCH}", _BATCH, json={"customers": bodies}, identifiers=identifiers(bodies)
        )
        return positional_results(response, len(bodies), "POST", _BATCH)

    def batch_update(self, payloads: Sequence[Payload]) -> dict[int, ItemResult]:
        """``PUT batch/customers``; every payload carries its ``customer_id``; results keyed by that id."""
        if not payloads:
            return {}
        bodies = [dump(p) for p in payloads]
        ids = customer_ids(bodies, "batch update item")
        for body in bodies:
            body["customer_id"] = str(body["customer_id"])  # as in the vendor's example
        response = self._session.call(
            "PUT", f"PUT {_BATCH}", _BATCH, json={"customers": bodies}, identifiers=[str(i) for i in ids]
        )
        return keyed_results(response, ids, "PUT", _BATCH)

    def batch_delete(self, customer_ids: Sequence[int]) -> dict[int, ItemResult]:
        """``DELETE batch/customers?customer_id[]=…``; results keyed by customer id (see ``id_deletes``)."""
        return delete_by_ids(self._session, f"DELETE {_BATCH}", _BATCH, customer_ids)
