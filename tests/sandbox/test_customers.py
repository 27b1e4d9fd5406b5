"""Pins the documented shapes and quirks of customers and batch/customers."""

from __future__ import annotations

import httpx

from syncd.sandbox import SandboxProcess
from tests.sandbox.conftest import assert_error_body


def _create(api: httpx.Client, **fields: object) -> int:
    resp = api.post("customers", json={"surname": "Kowalski", **fields})
    assert resp.status_code == 201, resp.text
    return int(resp.json()["customer_id"])


def test_post_customer_returns_string_id_and_get_returns_int(api: httpx.Client) -> None:
    resp = api.post("customers", json={"surname": "Kowalski", "phone_number": ["333444555", "123432234"]})
    assert resp.status_code == 201
    body = resp.json()
    assert list(body) == ["customer_id"]
    assert isinstance(body["customer_id"], str)
    listed = api.get("customers").json()
    assert isinstance(listed, list)
    assert len(listed) == 1
    item = listed[0]
    assert item["customer_id"] == int(body["customer_id"])
    assert item["company_id"] == ""
    assert item["identifier"] == ""
    assert item["company_flag"] is False
    assert item["phone_number"] == "333444555"
    assert item["phone_numbers"] == ["333444555", "123432234"]
    assert item["email"] == ""
    assert item["emails"] == []
    assert "address" not in item
    assert "custom_fields" not in item


def test_email_and_phone_accept_string_or_list(api: httpx.Client) -> None:
    cid = _create(api, email="jan@foo.bar", phone_number="222333444")
    item = api.get("customers", params={"identifier": ""}).json()[0]
    assert item["customer_id"] == cid
    assert (item["email"], item["emails"]) == ("jan@foo.bar", ["jan@foo.bar"])
    assert api.put(f"customers/{cid}", json={"email": ["a@b.pl", "c@d.pl"]}).status_code == 204
    item = api.get("customers").json()[0]
    assert (item["email"], item["emails"]) == ("a@b.pl", ["a@b.pl", "c@d.pl"])


def test_single_get_has_the_narrower_documented_shape(api: httpx.Client) -> None:
    cid = _create(api, email="jan@foo.bar")
    one = api.get(f"customers/{cid}").json()
    assert one["customer_id"] == cid
    assert one["company_flag"] == ""
    assert one["company_id"] == ""
    for absent in ("emails", "birthdate", "gender", "homepage", "nip"):
        assert absent not in one
    assert_error_body(api.get("customers/99999"), 404, "Customer not found.")


def test_validation_messages(api: httpx.Client) -> None:
    assert_error_body(api.post("customers", json={"name": "Jan"}), 400, "Surname is required.")
    assert_error_body(
        api.post("customers", json={"surname": "K", "phone_number": "12-34"}),
        400,
        "Phone number must be numeric.",
    )
    assert_error_body(
        api.post("customers", json={"surname": "K", "email": "nope"}), 400, "Wrong format of e-mail address."
    )
    assert_error_body(
        api.post("customers", json={"surname": "K", "company_id": 999}), 400, "Company not found."
    )
    # several errors at once
    resp = api.post("customers", json={"phone_number": "x", "email": "y"})
    assert_error_body(resp, 400)
    assert len(resp.json()["errors"]) == 3
    assert_error_body(api.put("customers/99999", json={"surname": "X"}), 404, "Customer not found.")


def test_invalid_json_and_auth_and_unknown_route(api: httpx.Client, sandbox: SandboxProcess) -> None:
    resp = api.post("customers", content=b"{not json", headers={"Content-Type": "application/json"})
    assert_error_body(resp, 400)
    assert_error_body(httpx.get(sandbox.url + "/customers"), 401)
    assert_error_body(httpx.get(sandbox.url + "/customers", auth=(sandbox.user, "wrong")), 401)
    assert_error_body(api.get("no_such_thing"), 404)
    a, b = (api.get("customers/1").json()["request_id"] for _ in range(2))
    assert a != b


def test_filters_and_paging(api: httpx.Client) -> None:
    a = _create(api, identifier="A1", phone_number="111", custom_fields={"Segment": "gold"}, nip="5")
    b = _create(api, surname="Nowak", custom_fields={"Segment": "silver"})
    c = _create(api, surname="Abacki", identifier="C1", email="c@x.pl")

    def ids(**params: object) -> list[int]:
        resp = api.get("customers", params=params)  # type: ignore[arg-type]
        assert resp.status_code == 200, resp.text
        return [x["customer_id"] for x in resp.json()]

    assert ids() == [a, b, c]
    assert ids(identifier="A1") == [a]
    assert ids(identifier="") == [b]
    assert ids(phone_number="") == [b, c]
    assert ids(email="C@X.PL") == [c]
    assert ids(**{"custom_fields[Segment][0]": "gold", "custom_fields[Segment][1]": "silver"}) == [a, b]
    assert ids(**{"custom_fields[Segment]": "silver"}) == [b]
    assert ids(order="surname") == [c, a, b]
    assert ids(order="-customer_id") == [c, b, a]
    assert ids(limit=1, offset=1) == [b]
    assert ids(limit=1000) == [a, b, c]
    assert_error_body(api.get("customers", params={"limit": 1001}), 400, "Limit must be between 1 and 1000.")
    assert_error_body(api.get("customers", params={"order": "email"}), 400)
    # percent-encoded brackets, as httpx sends them
    assert api.get("customers?custom_fields%5BSegment%5D%5B0%5D=gold").json()[0]["customer_id"] == a


def test_custom_fields_created_cleared_and_listed(api: httpx.Client) -> None:
    cid = _create(api, custom_fields={"Segment": "gold", "Brand New": "x"})
    groups = api.get("customer_field_groups").json()
    names = [f["name"] for g in groups for f in g["fields"]]
    assert "Brand New" in names
    assert "Segment" in names
    item = api.get("customers", params={"include_custom_fields": "true"}).json()[0]
    assert item["custom_fields"]["Brand New"] == "x"
    assert item["custom_fields"]["Notes"] is None
    assert api.put(f"customers/{cid}", json={"custom_fields": {"Segment": ""}}).status_code == 204
    item = api.get(f"customers/{cid}", params={"include_custom_fields": "1"}).json()
    assert item["custom_fields"]["Segment"] is None
    assert item["custom_fields"]["Brand New"] == "x"


def test_address_include_flags(api: httpx.Client) -> None:
    _create(api, address={"city": "Krakow", "street": "Zlotej Jesieni"})
    item = api.get("customers", params={"include_address": "true"}).json()[0]
    assert item["address"]["city"] == "Krakow"
    assert item["address"]["flat"] is None
    assert set(item["address"]) == {
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
    }
    assert "invoice_address" not in item


def test_batch_post_keyed_by_position_strings(api: httpx.Client) -> None:
    resp = api.post(
        "batch/customers",
        json={"customers": [{"surname": "Kowalski"}, {"phone_number": "333x"}, {"surname": "Nowak"}]},
    )
    assert resp.status_code == 207
    body = resp.json()
    assert list(body) == ["0", "1", "2"]
    assert body["0"]["http_status"] == 201
    assert isinstance(body["0"]["customer_id"], str)
    assert body["1"] == {"http_status": 400, "message": "Surname is required."}
    assert len(api.get("customers").json()) == 2


def test_batch_put_and_delete_keyed_by_customer_id(api: httpx.Client) -> None:
    cid = _create(api)
    resp = api.put(
        "batch/customers",
        json={
            "customers": [
                {"customer_id": str(cid), "surname": "Nowy"},
                {"customer_id": "99999", "surname": "X"},
                {"customer_id": cid, "phone_number": "abc"},
            ]
        },
    )
    assert resp.status_code == 207
    body = resp.json()
    assert body[str(cid)] == {
        "http_status": 400,
        "message": "Phone number must be numeric.",
    }  # last item wins key
    assert body["99999"] == {"http_status": 404, "message": "Customer not found."}
    assert api.get(f"customers/{cid}").json()["surname"] == "Nowy"
    resp = api.delete("batch/customers", params=[("customer_id[]", str(cid)), ("customer_id[]", "99999")])
    assert resp.status_code == 207
    assert resp.json() == {
        str(cid): {"http_status": 204},
        "99999": {"http_status": 404, "message": "Customer not found."},
    }
    assert api.get("customers").json() == []


def test_delete_customer_removes_campaign_records(api: httpx.Client, sandbox: SandboxProcess) -> None:
    cid = _create(api)
    assert api.post("crm_outbounds/00001/records", json={"customer_id": cid}).status_code == 201
    assert api.delete(f"customers/{cid}").status_code == 204
    assert api.get("crm_outbounds/00001/records").json() == {"count": 0, "result": []}
    assert sandbox.control.state()["records"]["00001"] == []
