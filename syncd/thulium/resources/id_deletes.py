"""Batch deletes whose ids travel in the query string (``?customer_id[]=13&customer_id[]=14``).

The document does not bound the query string, but front proxies do (~8 KB): the ids are sent in as many
requests as keep each request line under ``max_url_bytes``, and a 414 all the same (a proxy stricter than
that) halves the request. Deletes are idempotent, so a later request failing after an earlier one went through
loses nothing: its items are sent again and answer "not found".
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from syncd.thulium.encoding import check_unique, int_id
from syncd.thulium.errors import ThuliumRequestTooLarge
from syncd.thulium.parsing import keyed_results
from syncd.thulium.schemas import ItemResult
from syncd.thulium.session import ApiSession

_ID_PARAM = "customer_id%5B%5D="


def delete_by_ids(
    session: ApiSession, endpoint: str, path: str, customer_ids: Sequence[int]
) -> dict[int, ItemResult]:
    """Results keyed by customer id, whatever number of requests it took."""
    ids = [int_id(i) for i in customer_ids]
    check_unique(ids)
    results: dict[int, ItemResult] = {}
    for chunk in _url_chunks(session, path, ids):
        results.update(_delete_chunk(session, endpoint, path, chunk))
    return results


def _delete_chunk(session: ApiSession, endpoint: str, path: str, ids: list[int]) -> dict[int, ItemResult]:
    query = [("customer_id[]", str(i)) for i in ids]
    try:
        response = session.call("DELETE", endpoint, path, params=query, identifiers=[str(i) for i in ids])
    except ThuliumRequestTooLarge:
        if len(ids) == 1:
            raise
        half = len(ids) // 2
        return {
            **_delete_chunk(session, endpoint, path, ids[:half]),
            **_delete_chunk(session, endpoint, path, ids[half:]),
        }
    return keyed_results(response, ids, "DELETE", path)


def _url_chunks(session: ApiSession, path: str, ids: list[int]) -> Iterator[list[int]]:
    """The longest runs of ``ids`` whose ``DELETE <target> HTTP/1.1`` line fits the bound."""
    base = len(session.request_target("DELETE", path)) + len("DELETE  HTTP/1.1")
    chunk: list[int] = []
    size = base
    for customer_id in ids:
        cost = len(_ID_PARAM) + len(str(customer_id)) + 1  # "customer_id%5B%5D=13" and its "?" or "&"
        if chunk and size + cost > session.max_url_bytes:
            yield chunk
            chunk, size = [], base
        chunk.append(customer_id)
        size += cost
    if chunk:
        yield chunk
