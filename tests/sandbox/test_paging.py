"""Offset paging and filtered lists of customers and companies, now that a page is read from the id order and
an index instead of a sort of every record: the same answers as a sort, at the edges too."""

from __future__ import annotations

import httpx

from tests.sandbox.conftest import assert_error_body


def _create(api: httpx.Client, **fields: object) -> int:
    resp = api.post("customers", json={"surname": "K", **fields})
    assert resp.status_code == 201, resp.text
    return int(resp.json()["customer_id"])


def _company(api: httpx.Client, **fields: object) -> tuple[int, int]:
    resp = api.post("companies", json=fields)
    assert resp.status_code == 201, resp.text
    return int(resp.json()["company_id"]), int(resp.json()["customer_id"])


def _ids(api: httpx.Client, path: str = "customers", **params: object) -> list[int]:
    resp = api.get(path, params=params)  # type: ignore[arg-type]
    assert resp.status_code == 200, resp.text
    key = "company_id" if path == "companies" else "customer_id"
    return [item[key] for item in resp.json()]


def test_a_delete_between_pages_shifts_the_later_pages(api: httpx.Client) -> None:
    made = [_create(api) for _ in range(7)]
    assert _ids(api, limit=3) == made[:3]
    assert api.delete(f"customers/{made[1]}").status_code == 204
    # offsets count the list as it is now: the first record of the old second page moved onto the first
    assert _ids(api, limit=3, offset=3) == made[4:7]
    assert _ids(api, limit=3, offset=2) == made[3:6]
    assert _ids(api, limit=3, offset=1, order="-customer_id") == [made[5], made[4], made[3]]
    later = _create(api)
    assert _ids(api, limit=3, offset=6) == [later]


def test_offsets_past_the_end_and_limits_over_the_rest(api: httpx.Client) -> None:
    made = [_create(api) for _ in range(4)]
    assert _ids(api, limit=10, offset=2) == made[2:]
    assert _ids(api, limit=2, offset=4) == []
    assert _ids(api, limit=2, offset=400) == []
    assert _ids(api, limit=2, offset=3, order="-customer_id") == [made[0]]
    assert _ids(api, limit=2, offset=4, order="-customer_id") == []
    assert_error_body(api.get("customers", params={"offset": -1}), 400)
    assert_error_body(api.get("customers", params={"limit": 0}), 400)


def test_filters_page_through_their_matches_only(api: httpx.Client) -> None:
    company_id, company_record = _company(api, name="ACME", nip="111", identifier="X")
    twins = [_create(api, identifier="X", company_id=str(company_id)) for _ in range(3)]
    other = _create(api, identifier="Y", nip="111")
    assert _ids(api, identifier="X") == [company_record, *twins]
    assert _ids(api, identifier="X", limit=2, offset=1) == twins[:2]
    assert _ids(api, identifier="X", company_flag="false", limit=2, offset=2) == [twins[2]]
    assert _ids(api, identifier="X", order="-customer_id", limit=2) == [twins[2], twins[1]]
    assert _ids(api, identifier="nobody") == []
    assert _ids(api, nip="111") == [company_record, other]
    assert _ids(api, company_id=company_id, company_flag="false") == twins
    assert _ids(api, company_id=f"0{company_id}") == []  # the filter compares text, as before
    assert _ids(api, company_id="") == [other]
    assert _ids(api, "companies", identifier="X") == [company_id]
    assert _ids(api, "companies", nip="111") == [company_id]
    assert _ids(api, "companies", identifier="Y") == []
    # an update moves a record between the index's values
    assert api.put(f"customers/{twins[0]}", json={"identifier": "Z", "company_id": ""}).status_code == 204
    assert _ids(api, identifier="X", company_flag="false") == twins[1:]
    assert _ids(api, identifier="Z") == [twins[0]]
    assert _ids(api, company_id=company_id, company_flag="false") == twins[1:]
    # a delete takes it out of the index, and a company's delete detaches its members in the index too
    assert api.delete(f"customers/{twins[1]}").status_code == 204
    assert _ids(api, identifier="X", company_flag="false") == [twins[2]]
    assert api.delete(f"companies/{company_id}").status_code == 204
    assert _ids(api, company_id=company_id) == []
    assert _ids(api, company_id="") == [twins[0], twins[2], other]
    assert _ids(api, "companies") == []


def test_a_company_nip_is_free_again_once_changed_or_deleted(api: httpx.Client) -> None:
    first, _ = _company(api, name="A", nip="42")
    assert_error_body(api.post("companies", json={"name": "B", "nip": "42"}), 400)
    _create(api, nip="42")  # a customer's nip does not count against companies
    assert api.put(f"companies/{first}", json={"nip": "43"}).status_code == 204
    second, _ = _company(api, name="B", nip="42")
    assert_error_body(api.put(f"companies/{first}", json={"nip": "42"}), 400)
    assert api.put(f"companies/{second}", json={"nip": "42"}).status_code == 204  # its own nip is not taken
    assert api.delete(f"companies/{second}").status_code == 204
    assert api.put(f"companies/{first}", json={"nip": "42"}).status_code == 204
    assert _ids(api, "companies", nip="42") == [first]
    assert _ids(api, "companies", order="-company_id", limit=1) == [first]
