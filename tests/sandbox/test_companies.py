"""Companies: string ids on create, company = customer record, nip uniqueness, delete detaches members."""

from __future__ import annotations

import httpx

from tests.sandbox.conftest import assert_error_body


def test_create_company_and_its_customer_record(api: httpx.Client) -> None:
    resp = api.post(
        "companies",
        json={"name": "Thulium", "nip": "6783144527", "identifier": "C-1", "address": {"city": "Krakow"}},
    )
    assert resp.status_code == 201
    body = resp.json()
    assert set(body) == {"company_id", "customer_id"}
    assert all(isinstance(v, str) for v in body.values())
    assert body["company_id"] != body["customer_id"]
    company_id, customer_id = int(body["company_id"]), int(body["customer_id"])
    listed = api.get("companies", params={"include_address": "true"}).json()
    assert listed[0]["company_id"] == company_id
    assert listed[0]["customer_id"] == customer_id
    assert listed[0]["name"] == "Thulium"
    assert listed[0]["address"]["city"] == "Krakow"
    one = api.get(f"companies/{company_id}").json()
    assert one["name"] == "Thulium"
    assert "identifier" not in one
    assert "emails" not in one
    as_customer = api.get("customers", params={"company_flag": "true"}).json()
    assert [c["customer_id"] for c in as_customer] == [customer_id]
    assert as_customer[0]["company_flag"] is True
    assert api.get("customers", params={"company_flag": "false"}).json() == []


def test_company_validation(api: httpx.Client) -> None:
    assert_error_body(api.post("companies", json={"nip": "1"}), 400, "Name is required.")
    assert api.post("companies", json={"name": "A", "nip": "1"}).status_code == 201
    assert_error_body(
        api.post("companies", json={"name": "B", "nip": "1"}), 400, "Company with given NIP already exists."
    )
    b = int(api.post("companies", json={"name": "B"}).json()["company_id"])
    assert_error_body(api.put(f"companies/{b}", json={"nip": "1"}), 400)
    assert_error_body(api.get("companies/9999"), 404, "Company not found.")


def test_member_customer_and_delete_detaches(api: httpx.Client) -> None:
    company_id = int(api.post("companies", json={"name": "ACME"}).json()["company_id"])
    cid = int(
        api.post("customers", json={"surname": "K", "company_id": str(company_id)}).json()["customer_id"]
    )
    members = api.get("customers", params={"company_id": company_id, "company_flag": "false"}).json()
    assert [m["customer_id"] for m in members] == [cid]
    assert members[0]["company_id"] == company_id
    assert api.delete(f"companies/{company_id}").status_code == 204
    assert api.get(f"customers/{cid}").json()["company_id"] == ""
    assert api.get("companies").json() == []
    assert len(api.get("customers").json()) == 1


def test_companies_limit_and_order(api: httpx.Client) -> None:
    for name in ("b", "a", "c"):
        api.post("companies", json={"name": name})
    assert [c["name"] for c in api.get("companies", params={"order": "-name"}).json()] == ["c", "b", "a"]
    assert_error_body(api.get("companies", params={"limit": 1001}), 400)
