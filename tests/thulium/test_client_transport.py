"""The client's status handling and parsing, in-process: ``httpx.MockTransport`` plays Thulium.

The sandbox tests (``test_endpoints``, ``test_failures``) prove the client against a faithful server over
real HTTP; these pin each row of the status table and each resource's reading of an answer, including
answers the sandbox never gives (a proxy's HTML, a 302, ids that cannot be read), without a server or a
real sleep.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from syncd.thulium import (
    CampaignRecordPayload,
    CompanyIds,
    CustomerPayload,
    CustomerUpdate,
    OutcomeUnknown,
    RetryPolicy,
    ThuliumAuthError,
    ThuliumClient,
    ThuliumError,
    ThuliumGatewayError,
    ThuliumNotFound,
    ThuliumProtocolError,
    ThuliumRejected,
    ThuliumRequestTooLarge,
    ThuliumUnavailable,
)

BASE = "https://thulium.test/api/"
NO_WAIT = RetryPolicy(max_attempts=3, base_delay=0.0, max_backoff=0.0, max_total_delay=10.0)

Connect = Callable[..., ThuliumClient]
Answer = httpx.Response | type[httpx.TransportError] | Callable[[httpx.Request], httpx.Response]


class Thulium:
    """Answers requests from a script, in order (the last answer repeats), and keeps every request."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, type):
            raise answer("scripted transport failure", request=request)
        return answer if isinstance(answer, httpx.Response) else answer(request)

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)

    def query(self, index: int = -1) -> list[tuple[str, str]]:
        return list(self.requests[index].url.params.multi_items())


class Seen:
    """A ``RequestObserver`` and a learning ``RequestGate`` at once: what the client told them."""

    def __init__(self) -> None:
        self.done: list[tuple[str, int | None]] = []
        self.retries: list[tuple[str, str]] = []
        self.gated: list[tuple[str, str]] = []
        self.learned: list[int | None] = []

    def request_done(self, endpoint: str, status: int | None, seconds: float) -> None:
        self.done.append((endpoint, status))

    def retrying(self, endpoint: str, reason: str) -> None:
        self.retries.append((endpoint, reason))

    def before_request(self, method: str, path: str) -> None:
        self.gated.append((method, path))

    def after_response(self, status: int | None, retry_after: float | None) -> None:
        self.learned.append(status)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def connect(sleeps: list[float]) -> Iterator[Connect]:
    """Clients on an in-process Thulium that retry at once, their sleeps recorded."""
    made: list[ThuliumClient] = []

    def make(thulium: Thulium, **kwargs: Any) -> ThuliumClient:
        kwargs.setdefault("retry", NO_WAIT)
        client = ThuliumClient(
            BASE, "api_user", "secret", transport=httpx.MockTransport(thulium), sleep=sleeps.append, **kwargs
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def error(status: int, *messages: str, request_id: str = "rid-1", **headers: str) -> httpx.Response:
    """Thulium's own error body."""
    errors = [{"message": m, "code": 7} for m in messages]
    return httpx.Response(status, json={"request_id": request_id, "errors": errors}, headers=headers)


def html(status: int) -> httpx.Response:
    return httpx.Response(status, text="<html>Bad Gateway</html>", headers={"Content-Type": "text/html"})


OUTBOUNDS = httpx.Response(200, json=[{"id": "00001", "name": "Sales", "crm": "1"}])


# ---- the request path: what reaches Thulium -------------------------------------------------------------


def test_requests_carry_credentials_and_language_and_are_counted(
    connect: Connect,
) -> None:
    thulium = Thulium(OUTBOUNDS)
    client = connect(thulium, accept_language="pl")
    client.campaigns.all()
    (request,) = thulium.requests
    assert str(request.url) == BASE + "outbounds"
    assert request.headers["Authorization"] == httpx.BasicAuth("api_user", "secret")._auth_header
    assert request.headers["Accept-Language"] == "pl"
    assert client.request_counts() == {"GET outbounds": 1}
    assert client.requests_sent == 1


def test_gate_and_observer_hear_every_attempt(connect: Connect) -> None:
    seen = Seen()
    client = connect(Thulium(error(503, "busy"), OUTBOUNDS), gate=seen, observer=seen)
    assert [o.id for o in client.campaigns.all()] == ["00001"]
    assert seen.gated == [("GET", "outbounds"), ("GET", "outbounds")]
    assert seen.learned == [503, 200]
    assert seen.done == [("GET outbounds", 503), ("GET outbounds", 200)]
    assert seen.retries == [("GET outbounds", "503")]


def test_observer_may_be_set_after_the_client_is_built(connect: Connect) -> None:
    seen = Seen()
    client = connect(Thulium(OUTBOUNDS))
    client.observer = seen
    client.campaigns.all()
    assert client.observer is seen
    assert seen.done == [("GET outbounds", 200)]


def test_a_gate_that_refuses_stops_the_request_before_it_is_sent(
    connect: Connect,
) -> None:
    class Closed:
        def before_request(self, method: str, path: str) -> None:
            raise RuntimeError("circuit open")

    thulium = Thulium(OUTBOUNDS)
    with pytest.raises(RuntimeError, match="circuit open"):
        connect(thulium, gate=Closed()).campaigns.all()
    assert thulium.requests == []


# ---- whole-request statuses ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "raised", "text"),
    [
        (error(400, "Invalid parameter"), ThuliumRejected, "GET outbounds → 400: Invalid parameter"),
        (error(422, "Bad value"), ThuliumRejected, "→ 422: Bad value [request_id=rid-1]"),
        (html(400), ThuliumGatewayError, "not Thulium's JSON error (text/html)"),
        (error(401, "Unauthorized"), ThuliumAuthError, "credentials of API user 'api_user' (401)"),
        (error(403, "Forbidden"), ThuliumAuthError, "not allowed to call GET outbounds (403)"),
        (error(404, "No such thing"), ThuliumNotFound, "GET outbounds → 404: No such thing"),
        (error(410, "Gone"), ThuliumNotFound, "→ 410: Gone"),
        (error(413), ThuliumRequestTooLarge, "too large"),
        (httpx.Response(302, headers={"Location": "/login"}), ThuliumProtocolError, "redirects are not"),
    ],
)
def test_a_status_that_retrying_cannot_fix_is_raised_at_once(
    connect: Connect, answer: httpx.Response, raised: type[ThuliumError], text: str
) -> None:
    thulium = Thulium(answer)
    with pytest.raises(raised) as caught:
        connect(thulium).campaigns.all()
    assert text in str(caught.value)
    assert (caught.value.method, caught.value.path) == ("GET", "outbounds")
    assert len(thulium.requests) == 1


def test_an_error_body_is_kept_on_the_exception(connect: Connect) -> None:
    with pytest.raises(ThuliumNotFound) as caught:
        connect(Thulium(error(404, "Customer not found", request_id="r-42"))).customers.get(13)
    assert caught.value.status_code == 404
    assert caught.value.messages == ["Customer not found"]
    assert caught.value.codes == [7]
    assert caught.value.request_id == "r-42"
    assert caught.value.path == "customers/13"


def test_429_waits_at_least_retry_after(connect: Connect, sleeps: list[float]) -> None:
    thulium = Thulium(error(429, "Too many requests", **{"Retry-After": "2"}), OUTBOUNDS)
    assert [o.name for o in connect(thulium).campaigns.all()] == ["Sales"]
    assert sleeps == [2.0]
    assert len(thulium.requests) == 2


def test_429_asking_beyond_the_budget_gives_up_at_once(connect: Connect, sleeps: list[float]) -> None:
    thulium = Thulium(error(429, "Slow down", request_id="r-9", **{"Retry-After": "60"}))
    with pytest.raises(ThuliumUnavailable) as caught:
        connect(thulium).campaigns.all()
    assert "asked to wait 60.0 s, beyond the retry budget" in str(caught.value)
    assert (caught.value.retry_after, caught.value.last_status, caught.value.attempts) == (60.0, 429, 1)
    assert caught.value.request_id == "r-9"
    assert sleeps == []


@pytest.mark.parametrize("status", [408, 500, 502, 503, 504, 505])
def test_a_read_is_retried_on_transient_statuses_until_the_budget_is_spent(
    connect: Connect, status: int
) -> None:
    thulium = Thulium(error(status, "try later"))
    with pytest.raises(ThuliumUnavailable) as caught:
        connect(thulium).campaigns.all()
    assert "gave up after 3 attempt(s)" in str(caught.value)
    assert (caught.value.attempts, caught.value.last_status) == (3, status)
    assert len(thulium.requests) == 3


@pytest.mark.parametrize("status", [500, 503, 504])
def test_a_create_answered_5xx_is_outcome_unknown_and_never_sent_again(connect: Connect, status: int) -> None:
    thulium = Thulium(error(status, "internal"))
    with pytest.raises(OutcomeUnknown) as caught:
        connect(thulium).customers.create(CustomerPayload(surname="Nowak", identifier="SRC-1"))
    assert caught.value.identifiers == ("SRC-1",)
    assert caught.value.status_code == status
    assert "may or may not have been applied" in str(caught.value)
    assert len(thulium.requests) == 1


def test_an_update_answered_500_is_sent_again(connect: Connect) -> None:
    thulium = Thulium(error(500, "internal"), httpx.Response(204))
    connect(thulium).customers.update(13, CustomerPayload(name="Anna"))
    assert [r.method for r in thulium.requests] == ["PUT", "PUT"]
    assert thulium.body() == {"name": "Anna"}


def test_an_update_answered_504_is_outcome_unknown(connect: Connect) -> None:
    thulium = Thulium(error(504, "gateway timeout"))
    with pytest.raises(OutcomeUnknown) as caught:
        connect(thulium).companies.update(7, {"name": "ACME"})
    assert caught.value.identifiers == ("7",)
    assert caught.value.path == "companies/7"
    assert len(thulium.requests) == 1


def test_a_campaign_batch_add_answered_500_is_sent_again(connect: Connect) -> None:
    added = httpx.Response(207, json={"13": {"http_status": 201, "status": "ADDED", "record_id": 5}})
    thulium = Thulium(error(500, "internal"), added)
    results = connect(thulium).campaign_records.batch_add("00001", [CampaignRecordPayload(customer_id=13)])
    assert results[13].record_id == 5
    assert len(thulium.requests) == 2


# ---- transport failures ----------------------------------------------------------------------------------


@pytest.mark.parametrize("failure", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout])
def test_a_request_that_never_left_is_sent_again_even_a_create(
    connect: Connect, failure: type[httpx.TransportError]
) -> None:
    thulium = Thulium(failure, httpx.Response(201, json={"customer_id": "13"}))
    assert connect(thulium).customers.create({"surname": "Nowak"}) == 13
    assert len(thulium.requests) == 2


def test_an_unreachable_server_is_unavailable_without_a_status(connect: Connect) -> None:
    seen = Seen()
    with pytest.raises(ThuliumUnavailable) as caught:
        connect(Thulium(httpx.ConnectError), observer=seen).campaigns.all()
    assert caught.value.last_status is None
    assert "could not reach Thulium (ConnectError" in str(caught.value)
    assert seen.done == [("GET outbounds", None)] * 3
    assert seen.retries == [("GET outbounds", "transport")] * 2


@pytest.mark.parametrize("failure", [httpx.ReadTimeout, httpx.RemoteProtocolError])
def test_a_read_whose_answer_was_lost_is_read_again(
    connect: Connect, failure: type[httpx.TransportError]
) -> None:
    thulium = Thulium(failure, OUTBOUNDS)
    assert [o.id for o in connect(thulium).campaigns.all()] == ["00001"]
    assert len(thulium.requests) == 2


@pytest.mark.parametrize("failure", [httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError])
def test_a_write_whose_answer_was_lost_is_outcome_unknown(
    connect: Connect, failure: type[httpx.TransportError]
) -> None:
    thulium = Thulium(failure)
    with pytest.raises(OutcomeUnknown) as caught:
        connect(thulium).customers.batch_create([{"surname": "A", "identifier": "a-1"}, {"surname": "B"}])
    assert caught.value.identifiers == ("a-1",)
    assert f"its response was lost ({failure.__name__})" in str(caught.value)
    assert len(thulium.requests) == 1


# ---- bodies that are not what the document promises -----------------------------------------------------


@pytest.mark.parametrize(
    "cut", [httpx.Response(200, text='[{"id": "000'), html(200), httpx.Response(200, content=b"")]
)
def test_a_read_whose_body_is_not_json_is_read_again(connect: Connect, cut: httpx.Response) -> None:
    thulium = Thulium(cut, OUTBOUNDS)
    assert [o.id for o in connect(thulium).campaigns.all()] == ["00001"]
    assert len(thulium.requests) == 2


def test_a_read_whose_body_is_never_json_is_unavailable(connect: Connect) -> None:
    with pytest.raises(ThuliumUnavailable) as caught:
        connect(Thulium(html(200))).campaigns.all()
    assert "with a body that is not JSON" in str(caught.value)


def test_json_of_the_wrong_shape_is_a_protocol_error_that_echoes_no_values(
    connect: Connect,
) -> None:
    leaked = httpx.Response(200, json=[{"customer_id": "not-a-number", "email": "anna@example.com"}])
    thulium = Thulium(leaked)
    with pytest.raises(ThuliumProtocolError) as caught:
        connect(thulium).customers.page()
    assert "GET customers: unexpected response shape (0.customer_id:" in str(caught.value)
    assert "anna@example.com" not in str(caught.value)
    assert "not-a-number" not in str(caught.value)
    assert len(thulium.requests) == 1


@pytest.mark.parametrize("body", [{}, {"customer_id": ""}, {"customer_id": None}, None])
def test_a_create_answered_without_a_readable_id_is_outcome_unknown(connect: Connect, body: Any) -> None:
    thulium = Thulium(httpx.Response(201, json=body))
    with pytest.raises(OutcomeUnknown) as caught:
        connect(thulium).customers.create(CustomerPayload(surname="Nowak", identifier="SRC-1"))
    assert "answered 201 without a readable customer_id" in str(caught.value)
    assert caught.value.identifiers == ("SRC-1",)
    assert caught.value.status_code == 201


# ---- customers and companies ----------------------------------------------------------------------------


def test_a_page_of_customers_sends_its_filters_and_reads_lenient_fields(
    connect: Connect,
) -> None:
    row = {"customer_id": "13", "surname": "Nowak", "company_id": "", "company_flag": "", "custom_fields": []}
    thulium = Thulium(httpx.Response(200, json=[row]))
    (found,) = connect(thulium).customers.page(
        identifier="",
        company_flag=False,
        include_custom_fields=True,
        include_address=False,
        custom_fields={"Segment": ["gold", "silver"], "Source ID": "7"},
        limit=50,
        order="-customer_id",
    )
    assert (found.customer_id, found.surname, found.company_id, found.company_flag) == (
        13,
        "Nowak",
        None,
        False,
    )
    assert found.custom_fields is None
    assert thulium.query() == [
        ("identifier", ""),
        ("company_flag", "false"),
        ("include_custom_fields", "true"),
        ("limit", "50"),
        ("offset", "0"),
        ("order", "-customer_id"),
        ("custom_fields[Segment][0]", "gold"),
        ("custom_fields[Segment][1]", "silver"),
        ("custom_fields[Source ID]", "7"),
    ]


@pytest.mark.parametrize(
    ("resource", "id_field"), [("customers", "customer_id"), ("companies", "company_id")]
)
def test_iter_pages_by_offset_in_id_order_until_a_short_page(
    connect: Connect, resource: str, id_field: str
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        return httpx.Response(200, json=[{id_field: i} for i in range(offset + 1, min(offset + 2, 5) + 1)])

    thulium = Thulium(answer)
    records = getattr(connect(thulium), resource)
    assert [getattr(r, id_field) for r in records.iter(page_size=2, group="VIP")] == [1, 2, 3, 4, 5]
    assert [(q["offset"], q["order"], q["group"]) for q in (r.url.params for r in thulium.requests)] == [
        ("0", id_field, "VIP"),
        ("2", id_field, "VIP"),
        ("4", id_field, "VIP"),
    ]


def test_find_keeps_only_exact_identifiers(connect: Connect) -> None:
    loose = [{"customer_id": 1, "identifier": "SRC-1"}, {"customer_id": 2, "identifier": "src-1"}]
    thulium = Thulium(httpx.Response(200, json=loose))
    assert [c.customer_id for c in connect(thulium).customers.find("SRC-1", include_address=True)] == [1]
    assert ("identifier", "SRC-1") in thulium.query()
    assert ("include_address", "true") in thulium.query()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.customers.find(""), "identifier must not be empty"),
        (lambda c: c.customers.page(limit=1001), "limit must be between 1 and 1000"),
        (lambda c: c.companies.page(company_id=3), "GET companies takes no filter company_id"),
        (lambda c: c.customers.get(0), "not an id: 0"),
        (lambda c: c.companies.delete("7; DROP"), "not an id"),
        (lambda c: c.customers.batch_delete([5, 5]), r"duplicate customer ids in one batch: \[5\]"),
        (lambda c: c.customers.batch_update([{"name": "x"}]), "every batch update item needs a customer_id"),
        (lambda c: c.campaign_records.page("00001", limit=101), "between 1 and 100"),
        (lambda c: c.campaign_records.batch_add("00001", [{}]), "every campaign record needs a customer_id"),
        (lambda c: c.campaigns.stats(""), "empty path segment"),
        (lambda c: c.reports.connections(limit=0), "between 1 and 100"),
    ],
)
def test_what_cannot_be_a_right_request_is_refused_before_sending(
    connect: Connect, call: Callable[[ThuliumClient], object], message: str
) -> None:
    thulium = Thulium(OUTBOUNDS)
    with pytest.raises(ValueError, match=message):
        call(connect(thulium))
    assert thulium.requests == []


def test_get_sends_only_the_includes_asked_for(connect: Connect) -> None:
    thulium = Thulium(httpx.Response(200, json={"company_id": 7, "customer_id": "8", "name": "ACME"}))
    company = connect(thulium).companies.get(7, include_custom_fields=False, include_address=True)
    assert (company.company_id, company.customer_id, company.name) == (7, 8, "ACME")
    assert thulium.requests[0].url.path == "/api/companies/7"
    assert thulium.query() == [("include_address", "true")]


def test_a_company_create_reads_both_ids(connect: Connect) -> None:
    thulium = Thulium(httpx.Response(201, json={"company_id": "7", "customer_id": "8"}))
    assert connect(thulium).companies.create({"name": "ACME", "identifier": "C-1"}) == CompanyIds(
        company_id=7, customer_id=8
    )
    assert thulium.body() == {"name": "ACME", "identifier": "C-1"}


def test_a_company_create_without_both_ids_is_outcome_unknown(connect: Connect) -> None:
    with pytest.raises(OutcomeUnknown) as caught:
        connect(Thulium(httpx.Response(201, json={"company_id": "7"}))).companies.create(
            {"identifier": "C-1"}
        )
    assert "POST companies answered 201 without readable ids (customer_id: Field required)" in str(
        caught.value
    )
    assert caught.value.identifiers == ("C-1",)


def test_delete_sends_the_id_in_the_path(connect: Connect) -> None:
    thulium = Thulium(httpx.Response(204))
    connect(thulium).customers.delete(13)
    assert (thulium.requests[0].method, thulium.requests[0].url.path) == ("DELETE", "/api/customers/13")


# ---- 207 multi-status bodies ----------------------------------------------------------------------------


def test_a_partial_207_keyed_by_position_leaves_missing_items_unknown(
    connect: Connect,
) -> None:
    partial = {"0": {"http_status": 201, "customer_id": "13"}, "9": {"http_status": 201, "customer_id": "99"}}
    thulium = Thulium(httpx.Response(207, json=partial))
    first, second = connect(thulium).customers.batch_create(
        [CustomerPayload(surname="A"), CustomerPayload(surname="B")]
    )
    assert (first.key, first.http_status, first.customer_id) == ("0", 201, 13)
    assert (second.key, second.http_status) == ("1", None)
    assert second.message == "item missing from the 207 response; outcome unknown"
    assert thulium.body() == {"customers": [{"surname": "A"}, {"surname": "B"}]}


def test_a_207_body_that_is_not_an_object_leaves_every_item_unknown(
    connect: Connect,
) -> None:
    results = connect(Thulium(httpx.Response(207, text='{"0": {"http_st'))).customers.batch_create(
        [{"surname": "A"}, {"surname": "B"}]
    )
    assert [r.http_status for r in results] == [None, None]
    assert {r.message for r in results} == {"response body is not a JSON object; outcome unknown"}


def test_a_207_keyed_by_id_matches_keys_as_integers(connect: Connect) -> None:
    answer = {
        "013": {"http_status": 200},
        "14": {"http_status": 400, "errors": [{"message": "Invalid email"}]},
        "15": "garbage",
    }
    thulium = Thulium(httpx.Response(207, json=answer))
    results = connect(thulium).customers.batch_update(
        [
            CustomerUpdate(customer_id=13, name="A"),
            {"customer_id": 14},
            {"customer_id": "15"},
            {"customer_id": 16},
        ]
    )
    assert results[13].http_status == 200
    assert results[13].customer_id == 13
    assert (results[14].http_status, results[14].message) == (400, "Invalid email")
    assert results[15].http_status is None
    assert "not a JSON object" in (results[15].message or "")
    assert results[16].http_status is None
    assert "missing" in (results[16].message or "")
    assert [item["customer_id"] for item in thulium.body()["customers"]] == ["13", "14", "15", "16"]


def test_a_batch_delete_is_split_to_keep_each_url_under_the_bound(
    connect: Connect,
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        ids = request.url.params.get_list("customer_id[]")
        return httpx.Response(207, json={i: {"http_status": 204} for i in ids})

    thulium = Thulium(answer)
    ids = list(range(1000, 1100))
    results = connect(thulium, max_url_bytes=512).customers.batch_delete(ids)
    assert sorted(results) == ids
    assert {r.http_status for r in results.values()} == {204}
    assert len(thulium.requests) > 1
    assert all(len(r.url.raw_path) + len("DELETE  HTTP/1.1") <= 512 for r in thulium.requests)
    assert [int(i) for r in thulium.requests for i in r.url.params.get_list("customer_id[]")] == ids


def test_a_batch_delete_answered_414_is_sent_again_in_halves(connect: Connect) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        ids = request.url.params.get_list("customer_id[]")
        if len(ids) > 2:
            return error(414, "URI too long")
        return httpx.Response(207, json={i: {"http_status": 204} for i in ids})

    thulium = Thulium(answer)
    results = connect(thulium).campaign_records.batch_remove("00001", [1, 2, 3, 4])
    assert sorted(results) == [1, 2, 3, 4]
    assert [len(r.url.params.get_list("customer_id[]")) for r in thulium.requests] == [4, 2, 2]
    assert {r.url.path for r in thulium.requests} == {"/api/batch/crm_outbounds/00001/records"}


def test_a_single_id_still_too_large_is_raised(connect: Connect) -> None:
    with pytest.raises(ThuliumRequestTooLarge):
        connect(Thulium(error(414, "URI too long"))).customers.batch_delete([13])


# ---- custom fields, campaigns and their records ---------------------------------------------------------


@pytest.mark.parametrize("envelope", [False, True])
def test_custom_field_groups_come_bare_or_in_an_envelope(connect: Connect, envelope: bool) -> None:
    groups = [
        {"name": "Main", "fields": [{"name": "Segment"}, {"name": "Notes"}]},
        {"name": "Empty", "fields": ""},
    ]
    body: Any = {"count": 2, "result": groups} if envelope else groups
    client = connect(Thulium(httpx.Response(200, json=body)))
    assert client.custom_fields.names() == {"Segment", "Notes"}
    assert [g.fields for g in client.custom_fields.groups()][1] == []


def test_campaign_statuses_and_stats(connect: Connect) -> None:
    thulium = Thulium(
        httpx.Response(200, json=[{"status_id": "3", "name": "Callback", "system_status": ""}]),
        httpx.Response(200, json={"id": 2, "records_count": "5", "completion_percent": 12.5}),
    )
    client = connect(thulium)
    (status,) = client.campaigns.statuses("00002")
    assert (status.status_id, status.name, status.system_status) == (3, "Callback", None)
    stats = client.campaigns.stats("00002")
    assert (stats.id, stats.records_count, stats.completion_percent) == ("00002", 5, 12.5)
    assert [r.url.path for r in thulium.requests] == [
        "/api/outbounds/00002/statuses",
        "/api/outbounds/00002/stats",
    ]


def test_a_page_of_campaign_records(connect: Connect) -> None:
    page = {"count": 150, "result": [{"customer_id": 13, "record_id": "5", "call_date": ""}]}
    thulium = Thulium(httpx.Response(200, json=page))
    found = connect(thulium).campaign_records.page(
        "00001", limit=10, status_ids=[3, 4], call_date_from="2024-05-01", include_customer=False
    )
    assert found.count == 150
    assert [(r.customer_id, r.record_id, r.call_date) for r in found.result] == [(13, 5, None)]
    assert thulium.query() == [
        ("limit", "10"),
        ("offset", "0"),
        ("call_date_from", "2024-05-01"),
        ("status_id[]", "3"),
        ("status_id[]", "4"),
    ]


def test_campaign_record_writes(connect: Connect) -> None:
    thulium = Thulium(httpx.Response(201, json={"record_id": "5"}), httpx.Response(204))
    client = connect(thulium)
    assert client.campaign_records.create("00001", CampaignRecordPayload(customer_id=13, status_id=3)) == 5
    client.campaign_records.update("00001", 13, {"customer_id": 13, "status_id": 4})
    assert [(r.method, r.url.path) for r in thulium.requests] == [
        ("POST", "/api/crm_outbounds/00001/records"),
        ("PUT", "/api/crm_outbounds/00001/records/13"),
    ]
    assert thulium.body(0) == {"customer_id": 13, "status_id": 3}
    assert thulium.body(1) == {"status_id": 4}  # the customer id travels in the path only


def test_campaign_batch_add_results_by_customer_id(connect: Connect) -> None:
    answer = {
        "13": {"http_status": 201, "status": "ADDED", "record_id": "5"},
        "14": {"http_status": 400, "status": "ALREADY_EXISTS", "record_id": 6},
    }
    thulium = Thulium(httpx.Response(207, json=answer))
    results = connect(thulium).campaign_records.batch_add("00001", [{"customer_id": 13}, {"customer_id": 14}])
    assert [(r.status, r.record_id) for r in results.values()] == [("ADDED", 5), ("ALREADY_EXISTS", 6)]
    assert thulium.requests[0].url.path == "/api/batch/crm_outbounds/00001/records"


# ---- activity ------------------------------------------------------------------------------------------


def test_a_page_of_connections(connect: Connect) -> None:
    body = {"count": 3, "result": [{"connection_id": 11, "duration": "40", "tags": "vip", "user_login": ""}]}
    thulium = Thulium(httpx.Response(200, json=body))
    page = connect(thulium).reports.connections(
        date_from="2024-05-02",
        date_to="2024-05-04 23:59",
        tags=["a"],
        include_tags=True,
        include_topics=False,
    )
    (call,) = page.result
    assert (page.count, call.connection_id, call.duration, call.tags, call.user_login) == (
        3,
        "11",
        40,
        ["vip"],
        None,
    )
    assert thulium.query() == [
        ("date_from", "2024-05-02"),
        ("date_to", "2024-05-04 23:59"),
        ("include_tags", "true"),
        ("limit", "100"),
        ("offset", "0"),
        ("tags[]", "a"),
    ]


def test_connection_rows_keep_rows_as_sent_and_drop_non_objects(
    connect: Connect,
) -> None:
    body = {"count": "7", "result": [{"connection_id": "x", "odd": True}, "junk"]}
    rows = connect(Thulium(httpx.Response(200, json=body))).reports.connection_rows(
        date_from="2024-05-02", date_to="2024-05-03"
    )
    assert rows == (7, [{"connection_id": "x", "odd": True}])


@pytest.mark.parametrize("body", [[{"agent": "a"}, 3], {"count": 1, "result": [{"agent": "a"}, 3]}])
def test_report_rows_come_bare_or_in_an_envelope(connect: Connect, body: Any) -> None:
    thulium = Thulium(httpx.Response(200, json=body))
    client = connect(thulium)
    assert client.reports.rows("agents_work_report", [("date_from", "2024-05-02")]) == [{"agent": "a"}]
    assert thulium.query() == [("date_from", "2024-05-02")]
    assert client.request_counts() == {"GET agents_work_report": 1}


@pytest.mark.parametrize(
    ("call", "text"),
    [
        (lambda c: c.reports.rows("chats/reports/summary", []), "GET chats/reports/summary: expected a list"),
        (lambda c: c.reports.agent_logins(), "GET agents: expected a list"),
        (lambda c: c.reports.connection_rows(date_from="a", date_to="b"), "expected {count, result}"),
    ],
)
def test_activity_bodies_of_the_wrong_shape_are_protocol_errors(
    connect: Connect, call: Callable[[ThuliumClient], object], text: str
) -> None:
    with pytest.raises(ThuliumProtocolError, match=text):
        call(connect(Thulium(httpx.Response(200, json={"result": "none"}))))


def test_agent_logins_are_sorted_unique_and_leave_out_the_automat(
    connect: Connect,
) -> None:
    agents = [
        {"login": "jan"},
        {"login": " anna "},
        {"login": None, "name": "Automat"},
        {"login": "jan"},
        "x",
    ]
    assert connect(Thulium(httpx.Response(200, json=agents))).reports.agent_logins() == ["anna", "jan"]
