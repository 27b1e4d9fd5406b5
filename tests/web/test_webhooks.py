"""``POST /webhooks/{tenant}`` end to end: the sandbox process plays Thulium and posts its webhooks over real
HTTP to the web app served on 127.0.0.1; the state DB (SQLite, and PostgreSQL where it matters) and the
write-back table are read afterwards to see what the events did."""

from __future__ import annotations

import base64
import json
import logging
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from syncd.app.runtime import STREAM_ORDER
from syncd.sandbox import SandboxProcess
from syncd.settings import ProcessSettings
from syncd.source.writeback import writeback_table
from syncd.state import migrate, models
from syncd.state.db import make_engine, session_factory
from syncd.state.jobs import JobStore
from syncd.state.members import MemberStore, Placed
from syncd.thulium import ThuliumClient
from syncd.thulium.schemas import CampaignRecord
from syncd.worker.app import QUEUE
from tests.web.conftest import ServedApp

TENANT = "acme"
HOOK_USER = "thulium-hooks"
HOOK_PASSWORD = "Hook-pass-7f3"
WRITEBACK = "campaign_outcomes"
MAX_BODY = 2048
TENANT_FILE = """
[thulium]
url = "{thulium_url}"
user = "{thulium_user}"
password_file = "{thulium_password}"

[source]
url = "{source_url}"

[state]
url = "{state_url}"

[customers]
table = "customers"
key = "id"
updated_at = "updated_at"
fields = {{ surname = "last_name" }}

[[campaigns]]
outbound_id = "00001"
query = "SELECT id AS key FROM customers"

[campaigns.writeback]
table = "{writeback}"

[[campaigns]]
outbound_id = "00002"
query = "SELECT id AS key FROM customers"
{webhooks}"""
WEBHOOKS = """
[webhooks]
user = "{user}"
password_file = "{password_file}"
max_body_bytes = {max_body}
"""


@dataclass
class Deployment:
    """One tenant served by a real web app, its Thulium being the sandbox."""

    sandbox: SandboxProcess
    thulium: ThuliumClient
    app: ServedApp
    config_dir: Path
    state_url: str
    source_url: str
    engines: list[Engine] = field(default_factory=list)

    @property
    def hook_url(self) -> str:
        return f"{self.app.url}/webhooks/{TENANT}"

    @property
    def sessions(self) -> sessionmaker[Session]:
        if not self.engines:
            self.engines.append(make_engine(self.state_url))
        return session_factory(self.engines[0])

    def listen(self, *, encoding: str = "json", user: str = HOOK_USER, password: str = HOOK_PASSWORD) -> None:
        self.sandbox.control.set_webhook(self.hook_url, user=user, password=password, encoding=encoding)

    def place(self, outbound_id: str, count: int, *, known: bool = True) -> list[int]:
        """Adds ``count`` new customers to the campaign in the sandbox; ``known``: as syncd's members."""
        customer_ids = [
            self.thulium.customers.create(
                {"surname": f"Member {outbound_id}-{i}", "phone_number": f"6001002{i:02}"}
            )
            for i in range(count)
        ]
        results = self.thulium.campaign_records.batch_add(
            outbound_id, [{"customer_id": c} for c in customer_ids]
        )
        if known:
            placed = [Placed(f"key-{c}", c, results[c].record_id, "hash", None) for c in customer_ids]
            MemberStore(self.sessions, TENANT).commit(outbound_id, placed, [])
        return customer_ids

    def dial(self, outbound_id: str, count: int, *system_statuses: str, seed: int = 1) -> None:
        self.sandbox.control.run_dialer(
            outbound_id, count=count, seed=seed, system_statuses=list(system_statuses) or None
        )

    def flush(self) -> list[dict[str, Any]]:
        """Waits for every delivery; returns the sandbox's log of them."""
        self.sandbox.control.flush_webhooks()
        return self.sandbox.control.webhooks_sent()

    def records(self, outbound_id: str) -> dict[int, CampaignRecord]:
        """What ``GET crm_outbounds/:id/records`` says, by customer id."""
        return {r.customer_id: r for r in self.thulium.campaign_records.iter(outbound_id)}

    def events(self) -> list[models.WebhookEvent]:
        with self.sessions() as session:
            query = select(models.WebhookEvent).order_by(models.WebhookEvent.id)
            return list(session.scalars(query))

    def members(self, outbound_id: str) -> dict[int, models.CampaignMember]:
        member = models.CampaignMember
        with self.sessions() as session:
            query = select(member).where(member.tenant == TENANT, member.outbound_id == outbound_id)
            return {m.customer_id or 0: m for m in session.scalars(query)}

    def writeback(self) -> dict[tuple[str, int], dict[str, Any]]:
        """The write-back table's rows; none when the table has not been created."""
        engine = make_engine(self.source_url)
        try:
            if not inspect(engine).has_table(WRITEBACK):
                return {}
            with engine.connect() as connection:
                rows = connection.execute(select(writeback_table(WRITEBACK))).mappings()
                return {(row["outbound_id"], row["customer_id"]): dict(row) for row in rows}
        finally:
            engine.dispose()

    def post(
        self,
        content: bytes | Iterator[bytes],
        content_type: str = "application/json",
        *,
        auth: tuple[str, str] | None = (HOOK_USER, HOOK_PASSWORD),
        tenant: str = TENANT,
    ) -> httpx.Response:
        headers = {"Content-Type": content_type}
        with httpx.Client(timeout=10, auth=auth) as client:  # auth None: no Authorization header
            return client.post(f"{self.app.url}/webhooks/{tenant}", content=content, headers=headers)

    def post_json(self, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
        return self.post(json.dumps(body).encode(), "application/json", **kwargs)

    def post_form(self, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
        fields = {key: "" if value is None else str(value) for key, value in body.items()}
        return self.post(
            urllib.parse.urlencode(fields).encode(), "application/x-www-form-urlencoded", **kwargs
        )

    def write_tenant(self, *, webhooks: bool = True, user: str = HOOK_USER, name: str = TENANT) -> None:
        secrets = self.config_dir.parent
        (secrets / "thulium_password").write_text(self.sandbox.password)
        (secrets / "hook_password").write_text(HOOK_PASSWORD + "\n")
        section = WEBHOOKS.format(user=user, password_file=secrets / "hook_password", max_body=MAX_BODY)
        body = TENANT_FILE.format(
            thulium_url=self.sandbox.url,
            thulium_user=self.sandbox.user,
            thulium_password=secrets / "thulium_password",
            source_url=self.source_url,
            state_url=self.state_url,
            writeback=WRITEBACK,
            webhooks=section if webhooks else "",
        )
        (self.config_dir / f"{name}.toml").write_text(body)

    def close(self) -> None:
        self.app.stop()
        self.thulium.close()
        for engine in self.engines:
            engine.dispose()


Deploy = Callable[..., Deployment]


@pytest.fixture
def deploy(tmp_path: Path, sandbox: SandboxProcess) -> Iterator[Deploy]:
    made: list[Deployment] = []

    def make(state_url: str | None = None, broker_url: str | None = None) -> Deployment:
        state_url = state_url or f"sqlite:///{tmp_path / 'state.sqlite'}"
        config_dir = tmp_path / "config"
        config_dir.mkdir()
        migrate.upgrade(state_url)  # the test reads and seeds it before the app has seen an event
        settings = ProcessSettings(
            state_url=state_url, broker_url=broker_url, config_dir=config_dir, var_dir=tmp_path / "var"
        )
        deployment = Deployment(
            sandbox=sandbox,
            thulium=ThuliumClient(sandbox.url, sandbox.user, sandbox.password),
            app=ServedApp(settings),
            config_dir=config_dir,
            state_url=state_url,
            source_url=f"sqlite:///{tmp_path / 'source.sqlite'}",
        )
        deployment.write_tenant()
        deployment.app.start()
        made.append(deployment)
        return deployment

    yield make
    for deployment in made:
        deployment.close()


@pytest.fixture
def deployment(deploy: Deploy) -> Deployment:
    return deploy()


def expected_writeback(outbound_id: str, record: CampaignRecord) -> dict[str, Any]:
    """The write-back row of a record only webhooks have told about: what they say equals the record;
    what they do not say (call date, note, agent name, status name) is not there yet."""
    my_record = record.system_status == "MY_RECORD"
    return {
        "outbound_id": outbound_id,
        "source_key": f"key-{record.customer_id}",
        "customer_id": record.customer_id,
        "record_id": record.record_id,
        "status_id": record.status_id,
        "system_status": record.system_status,
        "next_call_date": record.next_call_date,
        "agent_login": record.agent_login if my_record else None,
        "status": None,
        "call_date": None,
        "create_date": None,
        "agent_name": None,
        "last_note": None,
        "record_order": None,
    }


def without_synced_at(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key != "synced_at"}


def assert_members_match(deployment: Deployment, outbound_id: str) -> None:
    records = deployment.records(outbound_id)
    for customer_id, member in deployment.members(outbound_id).items():
        record = records[customer_id]
        assert (member.record_id, member.status_id, member.system_status) == (
            record.record_id,
            record.status_id,
            record.system_status,
        )
        if record.system_status == "MY_RECORD":
            assert member.agent_login == record.agent_login
        assert member.call_date is None, "not in the event: not set"
        assert member.last_note is None, "not in the event: not set"


def test_dialer_outcomes_as_json_update_members_and_writeback(deploy: Deploy, state_url: str) -> None:
    deployment = deploy(state_url)
    customers = deployment.place("00001", 6)
    deployment.listen()
    deployment.dial("00001", 2, "MY_RECORD")  # an owner and a next call date
    deployment.dial("00001", 2, "CALL_NO_SOONER_THAN")  # a next call date, no owner
    deployment.dial("00001", 2, "NO_CALL", "CALL")  # neither
    sent = deployment.flush()

    assert [(d["action"], d["status"]) for d in sent] == [("OUTBOUND_RECORD_SAVED", 200)] * 6
    records = deployment.records("00001")
    assert {r.system_status for r in records.values()} >= {"MY_RECORD", "CALL_NO_SOONER_THAN"}
    written = deployment.writeback()
    assert {key: without_synced_at(row) for key, row in written.items()} == {
        ("00001", c): expected_writeback("00001", records[c]) for c in customers
    }
    assert all(records[c].next_call_date for c in customers[:4]), "MY_RECORD/CALL_NO_SOONER_THAN have dates"
    assert_members_match(deployment, "00001")
    events = deployment.events()
    assert [(e.tenant, e.action, e.outcome, e.outbound_id) for e in events] == [
        (TENANT, "OUTBOUND_RECORD_SAVED", "applied", "00001")
    ] * 6
    assert {e.record_id for e in events} == {r.record_id for r in records.values()}
    assert all(e.customer_id is None for e in events), "the event names no customer"


def test_form_encoded_outcomes_update_members_and_a_campaign_without_writeback(
    deployment: Deployment,
) -> None:
    first = deployment.place("00001", 3)
    second = deployment.place("00002", 2)
    deployment.listen(encoding="form")
    deployment.dial("00001", 3, seed=7)
    deployment.dial("00002", 2, "MY_RECORD", "NO_CALL", seed=3)
    sent = deployment.flush()

    assert [d["status"] for d in sent] == [200] * 5
    assert {d["encoding"] for d in sent} == {"form"}
    records = deployment.records("00001")
    written = deployment.writeback()
    assert {key: without_synced_at(row) for key, row in written.items()} == {
        ("00001", c): expected_writeback("00001", records[c]) for c in first
    }, "campaign 00002 has no write-back table: nothing of it is written"
    assert_members_match(deployment, "00001")
    assert_members_match(deployment, "00002")
    assert {m.status_id for m in deployment.members("00002").values()} == {
        r.status_id for c, r in deployment.records("00002").items() if c in second
    }
    assert [e.outcome for e in deployment.events()] == ["applied"] * 5


def test_json_and_form_renderings_of_one_event_are_one_event(deployment: Deployment) -> None:
    deployment.place("00002", 1)
    deployment.listen()
    deployment.dial("00002", 1, "MY_RECORD")
    [delivery] = deployment.flush()
    body = delivery["body"]
    assert body["previous_status_id"] is None, "a first save: JSON null, an empty form value"

    again = deployment.post_form(body)
    assert again.status_code == 200
    assert again.json() == {"status": "duplicate"}
    assert deployment.post_json(body).json() == {"status": "duplicate"}
    assert len(deployment.events()) == 1


def test_a_replayed_event_is_processed_once(deploy: Deploy, state_url: str) -> None:
    deployment = deploy(state_url)
    [customer] = deployment.place("00001", 1)
    deployment.listen()
    deployment.dial("00001", 1, "MY_RECORD")
    [first] = deployment.flush()
    # a newer save of the same record, then Thulium delivers the first event again
    deployment.sandbox.control.set_record("00001", customer, status_id=5, saved_by="sup.x")
    deployment.flush()
    deployment.sandbox.control.replay_webhook(seq=first["seq"])
    sent = deployment.flush()

    assert [(d["replay"], d["status"]) for d in sent] == [(False, 200), (False, 200), (True, 200)]
    assert sent[2]["body"] == first["body"]
    record = deployment.records("00001")[customer]
    assert record.system_status == "NO_CALL"
    row = without_synced_at(deployment.writeback()[("00001", customer)])
    # the owner was said by the first (MY_RECORD) save and the newer save did not change it
    expected = {**expected_writeback("00001", record), "agent_login": record.agent_login}
    assert row == expected, "the stale replay did not undo the newer save"
    assert (row["status_id"], row["system_status"]) == (5, "NO_CALL")
    events = deployment.events()
    assert [e.outcome for e in events] == ["applied", "applied"]
    assert deployment.post_json(first["body"]).json() == {"status": "duplicate"}
    assert len(deployment.events()) == 2


def test_customer_events_are_recorded_by_id_and_content_is_never_logged(
    deployment: Deployment, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="syncd")
    note = "Call after 5pm, ask for Zażółć"
    deployment.listen(encoding="form")
    customer = deployment.sandbox.control.agent_create_customer(
        {"surname": "Nowak", "phone_number": "600999111", "email": "nowak@example.com"}
    )
    deployment.sandbox.control.agent_add_note(customer, note, agent_login="a.nowak")
    sent = deployment.flush()

    assert [(d["action"], d["status"]) for d in sent] == [
        ("CUSTOMER_CREATED", 200),
        ("CUSTOMER_NOTE_SAVED", 200),
    ]
    assert [(e.action, e.outcome, e.customer_id, e.record_id) for e in deployment.events()] == [
        ("CUSTOMER_CREATED", "recorded", customer, None),
        ("CUSTOMER_NOTE_SAVED", "recorded", customer, None),
    ]
    received = [r for r in caplog.records if r.getMessage() == "webhook received"]
    assert [(r.action, r.customer_id) for r in received] == [  # type: ignore[attr-defined]
        ("CUSTOMER_CREATED", customer),
        ("CUSTOMER_NOTE_SAVED", customer),
    ]
    logged = caplog.text + repr([r.__dict__ for r in caplog.records])  # the message and every field
    for secret in (note, "600999111", "nowak@example.com", HOOK_PASSWORD):
        assert secret not in logged


def test_other_actions_are_recorded(deployment: Deployment) -> None:
    body = {"action": "AGENT_COMPLETED", "connection_id": "1.2", "customer_id": 42, "agent_login": "x"}
    assert deployment.post_json(body).json() == {"status": "recorded"}
    [event] = deployment.events()
    assert (event.action, event.outcome, event.customer_id, event.outbound_id) == (
        "AGENT_COMPLETED",
        "recorded",
        42,
        None,
    )


def test_an_unknown_record_is_unmatched_and_touches_nothing(deployment: Deployment) -> None:
    deployment.place("00001", 1, known=False)
    deployment.listen()
    deployment.dial("00001", 1)
    [delivery] = deployment.flush()

    assert delivery["status"] == 200
    assert [(e.outcome, e.record_id) for e in deployment.events()] == [
        ("unmatched", delivery["body"]["record_id"])
    ]
    assert deployment.members("00001") == {}
    assert deployment.writeback() == {}
    jobs = JobStore(deployment.sessions, TENANT)
    assert jobs.recent() == [], "no broker is running here: nothing is handed off"


def test_unmatched_records_queue_one_campaigns_run(deploy: Deploy, redis_url: str) -> None:
    assert "campaigns" in STREAM_ORDER
    deployment = deploy(broker_url=redis_url)
    deployment.place("00001", 3, known=False)
    deployment.listen()
    deployment.dial("00001", 3)
    sent = deployment.flush()

    assert [d["status"] for d in sent] == [200] * 3
    assert [e.outcome for e in deployment.events()] == ["unmatched"] * 3
    [job] = JobStore(deployment.sessions, TENANT).recent()
    assert (job.trigger, job.kind, job.streams, job.status) == (
        "webhook",
        "incremental",
        ("campaigns",),
        "queued",
    )
    broker = redis.Redis.from_url(redis_url)
    try:
        [message] = [json.loads(raw) for raw in broker.lrange(QUEUE, 0, -1)]
    finally:
        broker.close()
    assert message["headers"]["task"] == "syncd.run"
    assert json.loads(base64.b64decode(message["body"]))[0] == [TENANT, job.id]


def test_missing_credentials_are_refused_before_anything_is_recorded(deployment: Deployment) -> None:
    [customer] = deployment.place("00001", 1)
    deployment.listen(user="", password="")
    deployment.dial("00001", 1)
    [delivery] = deployment.flush()

    assert delivery["status"] == 401
    response = deployment.post_json(delivery["body"], auth=None)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="syncd"'
    assert deployment.events() == []
    assert deployment.members("00001")[customer].status_id is None
    assert deployment.writeback() == {}


@pytest.mark.parametrize(
    "auth", [(HOOK_USER, "wrong"), ("someone", HOOK_PASSWORD), (HOOK_USER, ""), ("", "")], ids=repr
)
def test_wrong_credentials_are_refused(deployment: Deployment, auth: tuple[str, str]) -> None:
    response = deployment.post_json({"action": "CUSTOMER_CREATED", "customer_id": 1}, auth=auth)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="syncd"'
    assert deployment.events() == []


def test_wrong_password_from_thulium_is_refused(deployment: Deployment) -> None:
    deployment.listen(password="not-the-password")
    deployment.sandbox.control.agent_create_customer({"surname": "Refused"})
    assert [d["status"] for d in deployment.flush()] == [401]
    assert deployment.events() == []


def test_a_body_over_the_limit_is_refused_unread(deployment: Deployment) -> None:
    big = json.dumps({"action": "CUSTOMER_CREATED", "customer_id": 1, "pad": "x" * MAX_BODY}).encode()

    declared = deployment.post(big)
    chunked = deployment.post(iter([big[:1000], big[1000:]]))  # no Content-Length: counted while read
    assert (declared.status_code, chunked.status_code) == (413, 413)
    assert declared.json() == {"error": f"body larger than {MAX_BODY} bytes"}
    assert deployment.post(big, auth=None).status_code == 401, "credentials are checked first"
    assert deployment.events() == []
    fits = json.dumps({"action": "CUSTOMER_CREATED", "customer_id": 1, "pad": "x" * 1900}).encode()
    assert deployment.post(iter([fits[:10], fits[10:]])).json() == {"status": "recorded"}


@pytest.mark.parametrize(
    ("content", "content_type", "reason"),
    [
        (b"<event/>", "application/xml", "unsupported content type"),
        (b"{not json", "application/json", "body is not valid JSON"),
        (b'["OUTBOUND_RECORD_SAVED"]', "application/json", "body is not a JSON object"),
        (b'{"customer_id": 1}', "application/json", "no action"),
        (b"customer_id=1&action=", "application/x-www-form-urlencoded", "no action"),
        (b"action=A&action=B", "application/x-www-form-urlencoded", "a form field is given twice"),
        (b"action", "application/x-www-form-urlencoded", "body is not valid form data"),
        (b'{"action": "DROP TABLE;"}', "application/json", "action is not an event name"),
        (b'{"action": ' + b"[" * 1000 + b"]" * 1000 + b"}", "application/json", "body nests deeper than 32"),
        (
            b'{"action": "no event", "x": "' + b"[" * 100 + b'"}',
            "application/json",
            "action is not an event name",
        ),
        (
            b'{"action": "OUTBOUND_RECORD_SAVED", "id": "00001", "phone_number": "600100200"}',
            "application/json",
            "OUTBOUND_RECORD_SAVED needs a campaign id and a numeric record_id",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) and " " in value else None,
)
def test_unreadable_bodies_are_400_with_a_reason(
    deployment: Deployment, content: bytes, content_type: str, reason: str
) -> None:
    response = deployment.post(content, content_type)
    assert response.status_code == 400
    assert response.json()["error"].startswith(reason)
    assert "600100200" not in response.text
    assert deployment.events() == []


def test_unlabelled_bodies_are_read_as_json_or_form(deployment: Deployment) -> None:
    assert deployment.post(b'{"action": "CUSTOMER_CREATED", "customer_id": 5}', "").json() == {
        "status": "recorded"
    }
    assert deployment.post(b"action=CUSTOMER_CREATED&customer_id=5", "text/plain").json() == {
        "status": "duplicate"
    }, "the same event as the JSON one"


def test_unknown_tenant_and_tenant_without_webhooks_look_the_same(deployment: Deployment) -> None:
    deployment.write_tenant(webhooks=False, name="beta")
    unknown = deployment.post_json({"action": "CUSTOMER_CREATED"}, tenant="nobody")
    without = deployment.post_json({"action": "CUSTOMER_CREATED"}, tenant="beta")
    escape = deployment.post_json({"action": "CUSTOMER_CREATED"}, tenant="..%2Facme")

    assert (unknown.status_code, without.status_code, escape.status_code) == (404, 404, 404)
    assert unknown.content == without.content == escape.content
    assert "WWW-Authenticate" not in without.headers
    assert deployment.events() == []


def test_an_edited_tenant_file_applies_without_a_restart(deployment: Deployment) -> None:
    event = {"action": "CUSTOMER_CREATED", "customer_id": 7}
    assert deployment.post_json(event).json() == {"status": "recorded"}
    deployment.write_tenant(user="rotated-user")
    assert deployment.post_json({**event, "customer_id": 8}).status_code == 401
    response = deployment.post_json({**event, "customer_id": 8}, auth=("rotated-user", HOOK_PASSWORD))
    assert response.json() == {"status": "recorded"}
    deployment.write_tenant(webhooks=False)
    assert deployment.post_json(event).status_code == 404


def test_a_failed_event_is_not_taken_for_done(deployment: Deployment, tmp_path: Path) -> None:
    """The tenant's database is unusable: 500, and the claim is released so a later delivery is applied."""
    [customer] = deployment.place("00001", 1)
    good_source = deployment.source_url
    unusable = tmp_path / "not-a-database"
    unusable.mkdir()
    deployment.source_url = f"sqlite:///{unusable}"
    deployment.write_tenant()
    deployment.listen()
    deployment.dial("00001", 1, "CALL_NO_SOONER_THAN")
    [failed] = deployment.flush()

    assert failed["status"] == 500
    assert deployment.events() == []
    deployment.source_url = good_source
    deployment.write_tenant()
    deployment.sandbox.control.replay_webhook(seq=failed["seq"])
    assert [d["status"] for d in deployment.flush()] == [500, 200]
    assert [e.outcome for e in deployment.events()] == ["applied"]
    record = deployment.records("00001")[customer]
    assert without_synced_at(deployment.writeback()[("00001", customer)]) == expected_writeback(
        "00001", record
    )
