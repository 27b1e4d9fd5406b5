"""Customers and companies: one generic piece, since Thulium serves both with the same shape of endpoints.

``GET {path}`` (filters, includes, limit / offset / order), ``GET / PUT / DELETE {path}/:id``: what differs
is the path, the response schema, the id field and which filters the list takes — a ``RecordKind``. Creates
and the batch endpoints are not alike (a company create answers two ids; only customers have batches), so
they stay with ``customers.py`` and ``companies.py``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypedDict, TypeVar

from pydantic import TypeAdapter
from typing_extensions import Unpack

from syncd.thulium.encoding import (
    Payload,
    check_limit,
    custom_field_params,
    dump,
    filter_params,
    int_id,
    params,
)
from syncd.thulium.paging import paged
from syncd.thulium.parsing import validate
from syncd.thulium.session import ApiSession

T = TypeVar("T")

LIST_MAX_LIMIT = 1000


class Includes(TypedDict, total=False):
    """What a read adds to each record; sent only when true."""

    include_custom_fields: bool
    include_address: bool
    include_invoice_address: bool
    include_mail_drop_address: bool


class Filters(Includes, total=False):
    """``GET customers`` / ``GET companies`` filters; ``None`` leaves one out. (!) ``identifier=""`` and
    ``phone_number=""`` mean "has none", not "any". Only customers take ``company_id`` and ``company_flag``.
    """

    identifier: str | None
    email: str | None
    phone_number: str | None
    nip: str | None
    company_id: int | None
    company_flag: bool | None
    type: str | None
    group: str | None
    custom_fields: Mapping[str, str | Sequence[str]] | None


@dataclass(frozen=True)
class RecordKind(Generic[T]):
    """What tells customers and companies apart on the endpoints they share."""

    path: str  # "customers"
    id_field: str  # "customer_id": the stable order for offset paging
    one: TypeAdapter[T]
    many: TypeAdapter[list[T]]
    refused_filters: frozenset[str] = frozenset()


class Records(Generic[T]):
    """The endpoints customers and companies share."""

    def __init__(self, session: ApiSession, kind: RecordKind[T]) -> None:
        self._session = session
        self._kind = kind

    def page(
        self, *, limit: int = 100, offset: int = 0, order: str | None = None, **filters: Unpack[Filters]
    ) -> list[T]:
        """One page of ``GET {path}``."""
        check_limit(limit, LIST_MAX_LIMIT)
        refused = sorted(self._kind.refused_filters & {k for k, v in filters.items() if v is not None})
        if refused:
            raise ValueError(f"GET {self._kind.path} takes no filter {', '.join(refused)}")
        custom_fields = filters.pop("custom_fields", None)
        query = (
            filter_params(filters)
            + params(limit=limit, offset=offset, order=order)
            + custom_field_params(custom_fields)
        )
        path = self._kind.path
        return validate(self._kind.many, self._session.get(f"GET {path}", path, query), "GET", path)

    def iter(
        self, *, page_size: int = LIST_MAX_LIMIT, order: str | None = None, **filters: Unpack[Filters]
    ) -> Iterator[T]:
        """Every record matching ``filters``, page by page until a short page.

        Ordered by the id field by default so offset paging is stable while new records are appended.
        """
        by = order or self._kind.id_field
        yield from paged(
            lambda limit, offset: self.page(limit=limit, offset=offset, order=by, **filters), page_size
        )

    def get(self, record_id: int, **includes: Unpack[Includes]) -> T:
        """``GET {path}/:id``; raises ``ThuliumNotFound`` when it does not exist."""
        path = f"{self._kind.path}/{int_id(record_id)}"
        data = self._session.get(f"GET {self._kind.path}/:id", path, filter_params(includes))
        return validate(self._kind.one, data, "GET", path)

    def update(self, record_id: int, payload: Payload) -> None:
        path = f"{self._kind.path}/{int_id(record_id)}"
        endpoint = f"PUT {self._kind.path}/:id"
        self._session.call("PUT", endpoint, path, json=dump(payload), identifiers=[str(record_id)])

    def delete(self, record_id: int) -> None:
        path = f"{self._kind.path}/{int_id(record_id)}"
        self._session.call("DELETE", f"DELETE {self._kind.path}/:id", path, identifiers=[str(record_id)])
