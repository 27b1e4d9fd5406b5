"""No secret and no contact data in the logs or on the broker, and the redactor that guards the logs.

The acceptance run: a demo tenant synced by ``syncd sync`` and then by the daemon (worker and beat,
a full resync), all at DEBUG with faults injected so retry and failure paths log too. Its captured
output and every key and value of the Redis broker DB (message bodies decoded) are searched for the
Thulium password, the ``Authorization: Basic`` value, and every e-mail address and phone number of
the source tables, in the forms they were typed in and as bare digits.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import create_engine, select

from syncd.demo import generate_source, schema, write_demo_config
from syncd.observability.logs import (
    REDACTED,
    REDACTED_EMAIL,
    REDACTED_PHONE,
    redact,
    redact_text,
    register_basic_auth,
)
from syncd.sandbox import SandboxProcess
from syncd.state.db import make_engine, session_factory
from syncd.state.jobs import JobStore
from syncd.worker.app import QUEUE
from tests.daemon.harness import SYNCD, Daemon, daemon_env

# ---- the redactor on tricky strings ------------------------------------------------------------------------

PHONES = [
    "+48 601 234 567",
    "601-234-567",
    "(22) 123 45 67",
    "0048601234567",
    "601234567",
    "+48601234567",
    "601.234.567",
    "+1 202 555 0123",
    "(+48) 601 234 567",
]
KEPT = [
    "2024-01-01T08:29:08.123456+00:00",  # ISO timestamp: date, time and fraction
    "2024-01-01 14:00:33.000000 / 2000",  # a cursor as `syncd status` shows it
    '["dt","2024-01-01T14:00:33"]',  # a cursor as the state DB stores it
    "1704117633000",  # epoch milliseconds (13 digits)
    "1704117633",  # epoch seconds
    "1704117633.123456",
    "1704117633000000",  # epoch microseconds: longer than any phone
    "seconds=0.123456789",
    "took 12.3456789 s",
    "request_id=5367845040112",  # Thulium request ids are 13 hex digits, sometimes all decimal
    "request_id: 5367845040112",
    "job 041853230432",
    "customerId=12345678",
    "PUT customers/1234567 status=400",  # ids in paths
    "123e4567-e89b-12d3-a456-426614174000",
    "12345678-1234-abcd-1234-123456789012",
    "127.0.0.1:8765",
    "192.168.100.200",
    "01.02.2024",
    "read 2000 created 1940",
    "1,234,567 rows",
    "pid 12345",
    "short 123456",
    "too long 1234567890123456",
    "version 5.7.0",
]


@pytest.mark.parametrize("phone", PHONES)
def test_phone_numbers_are_redacted_in_any_layout(phone: str) -> None:
    for text in (
        phone,
        f"phone: {phone}",
        f"call {phone}.",
        f"a={phone},b",
        f'{{"phone_number": "{phone}"}}',
    ):
        redacted = redact_text(text)
        assert REDACTED_PHONE in redacted, text
        assert not re.search(r"\d{3}", redacted.replace(REDACTED_PHONE, "")), (text, redacted)


@pytest.mark.parametrize("text", KEPT)
def test_ids_timestamps_and_numbers_that_are_not_phones_are_kept(text: str) -> None:
    assert redact_text(text) == text


def test_epoch_milliseconds_inside_an_iso_line_survive_next_to_a_phone() -> None:
    line = "at 2024-01-01T08:29:08.123Z (1704097748123) customer +48 601 234 567 updated 2024-01-02"
    assert redact_text(line) == (
        f"at 2024-01-01T08:29:08.123Z (1704097748123) customer {REDACTED_PHONE} updated 2024-01-02"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jan.Kowalski1@WP.PL said", f"{REDACTED_EMAIL} said"),
        ("<biuro+crm@firma-1.example.com.pl>", f"<{REDACTED_EMAIL}>"),
        ("jan@@gmail.com", REDACTED_EMAIL),
        ("write to jan@wp.pl. Next", f"write to {REDACTED_EMAIL}. Next"),
        ("mailto:ala@o2.pl?subject=x", f"mailto:{REDACTED_EMAIL}?subject=x"),
        ("syncd-host-1@%h", "syncd-host-1@%h"),  # a Celery node name pattern is no address
    ],
)
def test_email_addresses_are_redacted(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("redis://:hunter22@host:6379/0", f"redis://{REDACTED}@host:6379/0"),
        (
            "postgresql+psycopg://syncd:p4ss@db.internal/state",
            f"postgresql+psycopg://{REDACTED}@db.internal/state",
        ),
        ("Authorization: Basic YXBpX3VzZXI6c2FuZGJveC1zZWNyZXQ=", f"Authorization: Basic {REDACTED}"),
        ("{'Authorization': 'Bearer abc.def.ghi'}", f"{{'Authorization': 'Bearer {REDACTED}'}}"),
        ("headers: authorization=Token abc123def", f"headers: authorization=Token {REDACTED}"),
        ("sent Bearer eyJhbGciOi.eyJzdWIi.sig", f"sent Bearer {REDACTED}"),
        ('WWW-Authenticate: Basic realm="syncd"', 'WWW-Authenticate: Basic realm="syncd"'),
        ("password=hunter2 next", f"password={REDACTED} next"),
        ('{"password": "two words", "a": 1}', f'{{"password": "{REDACTED}", "a": 1}}'),
        ("?api_key=abc&x=1", f"?api_key={REDACTED}&x=1"),
        ("client_secret='s3cr3t'", f"client_secret='{REDACTED}'"),
        # a config error names the key, not a value: nothing to cut
        (
            "thulium.password_env: environment variable THULIUM_PASSWORD is not set",
            "thulium.password_env: environment variable THULIUM_PASSWORD is not set",
        ),
    ],
)
def test_credentials_are_redacted(text: str, expected: str) -> None:
    assert redact_text(text) == expected


def test_redacting_twice_changes_nothing_more() -> None:
    """A registered secret is cut first; the patterns must then leave its marker alone."""
    register_basic_auth("api_user", "sandbox-secret")
    texts = [
        *PHONES,
        *KEPT,
        "Authorization: Basic YXBpX3VzZXI6c2FuZGJveC1zZWNyZXQ=",
        "password=sandbox-secret",
    ]
    for text in texts:
        once = redact_text(text)
        assert redact_text(once) == once, text
    assert (
        redact_text("Authorization: Basic YXBpX3VzZXI6c2FuZGJveC1zZWNyZXQ=")
        == f"Authorization: Basic {REDACTED}"
    )
    assert redact_text("password=sandbox-secret") == f"password={REDACTED}"


def test_registered_secrets_are_cut_out_wherever_they_appear() -> None:
    register_basic_auth("api_user", "Registered-Pa55word")
    token = base64.b64encode(b"api_user:Registered-Pa55word").decode()
    text = f"library said: bad credentials Registered-Pa55word ({token})"
    assert redact_text(text) == f"library said: bad credentials {REDACTED} ({REDACTED})"


def test_the_processor_judges_values_by_their_keys_and_walks_nested_fields() -> None:
    event = {
        "event": "saved jan@wp.pl / 601 234 567",
        "password": "hunter2",
        "Authorization": "Basic abc",
        "api_key": 12345678,
        "email": "not-even-an-address",
        "phone_number": 601234567,  # an int is judged by its key
        "request_id": "5367845040112",
        "source_key": "601234567",  # a key is an id even when it is all digits
        "job_id": "041853230432",
        "counters": {"read": 12345678, "created": 2},
        "seconds": 1704117633.5,
        "contact": {"mobile": "601234567", "note": "call +48 601 234 567", "customer_id": 1234567},
        "items": ["jan@wp.pl", 3],
        "exception": 'Traceback ...\nValueError: bad "jan@wp.pl" password=x +48 601 234 567',
        "empty_token": "",
    }
    out = redact(None, "info", event)
    assert out["event"] == f"saved {REDACTED_EMAIL} / {REDACTED_PHONE}"
    assert out["password"] == out["Authorization"] == out["api_key"] == REDACTED
    assert out["email"] == REDACTED_EMAIL
    assert out["phone_number"] == REDACTED_PHONE
    assert (out["request_id"], out["source_key"], out["job_id"]) == (
        "5367845040112",
        "601234567",
        "041853230432",
    )
    assert out["counters"] == {"read": 12345678, "created": 2}
    assert out["seconds"] == 1704117633.5
    assert out["contact"] == {
        "mobile": REDACTED_PHONE,
        "note": f"call {REDACTED_PHONE}",
        "customer_id": 1234567,
    }
    assert out["items"] == [REDACTED_EMAIL, 3]
    assert out["exception"] == (
        f'Traceback ...\nValueError: bad "{REDACTED_EMAIL}" password={REDACTED} {REDACTED_PHONE}'
    )
    assert out["empty_token"] == ""


@pytest.mark.timeout(60)
def test_a_long_line_without_matches_is_redacted_and_left_as_it_was() -> None:
    """No catastrophic backtracking on long digit and word runs: such a pattern would not finish in
    hours on this line, so the timeout catches it without a wall-clock budget a busy CI could miss."""
    text = ("1-2-3-4-5-6-7-8-9-0-" * 500) + ("a.b." * 2000) + "x@" + "y" * 5000
    assert redact_text(text) == text


# ---- acceptance: a DEBUG run, its logs and the broker, searched -----------------------------------------


FAULTS = {
    "seed": 5,
    "rules": [
        {"kind": "error", "probability": 0.05, "status": 500},
        {"kind": "too_many_requests", "probability": 0.02, "retry_after": 1},
        {"kind": "item_unavailable", "path": "batch/customers", "item_probability": 0.10},
        {"kind": "lost_response", "method": "POST", "probability": 0.05},
    ],
}


@pytest.fixture
def daemon(tmp_path: Path, redis_url: str) -> Iterator[Daemon]:
    env = daemon_env(tmp_path, redis_url, SYNCD_LOG_LEVEL="DEBUG", SYNCD_LOG_FORMAT="json")
    running = Daemon(tmp_path, env)
    running.tenant_dir.mkdir()
    try:
        yield running
    finally:
        running.stop_all()


def test_debug_logs_and_broker_payloads_hold_no_secret_and_no_contact_data(
    daemon: Daemon, sandbox: SandboxProcess, redis_url: str
) -> None:
    source_url = f"sqlite:///{daemon.root / 'source.sqlite'}"
    generate_source(source_url, customers=200, companies=20, invalid_fraction=0.05, seed=7)
    tenant = write_demo_config(
        daemon.tenant_dir / "acme.toml",
        source_url,
        sandbox.url,
        user=sandbox.user,
        state_url=f"sqlite:///{daemon.root / 'state.sqlite'}",
        interval=3600,
    )
    sandbox.control.set_faults(FAULTS)
    broker = redis.Redis.from_url(redis_url)
    captured: list[str] = []

    # 1. a hand-run sync, on the console renderer (the daemon's processes log JSON)
    sync = subprocess.run(
        [SYNCD, "sync", "--config", str(tenant)],
        env={**daemon.env, "SYNCD_LOG_FORMAT": "console"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert sync.returncode in (0, 2), sync.stderr[-3000:]
    captured += [sync.stdout, sync.stderr]

    # 2. the daemon: beat queues ticks, a full resync waits on the broker, then a worker carries both;
    # the worker's first reads of customers fail as well, so its retry path logs (and is searched) too
    sandbox.control.add_fault("error", method="GET", path="customers", count=2, status=503)
    daemon.beat()
    resync = daemon.syncd("resync", "--config", str(tenant), "--full")
    assert resync.returncode == 0, resync.stderr
    captured += [resync.stdout, resync.stderr]
    job_id = re.search(r"queued job (\w+) \(runs follow\)", resync.stdout)
    assert job_id, resync.stdout
    daemon.wait_for("the resync on the broker", lambda: broker.llen(QUEUE) > 0)
    dumps = [dump_broker(broker)]
    # one at a time: with two, the tick could take the tenant first and the resync be skipped as busy
    daemon.worker(concurrency=1)
    daemon.wait_for("the resync to finish", lambda: job_done(daemon, job_id.group(1)))
    dumps.append(dump_broker(broker))
    daemon.stop_all()
    dumps.append(dump_broker(broker))
    logs = {name: (daemon.root / f"{name}.log").read_text(errors="replace") for name in ("worker", "beat")}

    # the logs are real: run and failure lines, debug lines, from every process
    assert sync.stderr.count("run finished") >= 4, sync.stderr[-3000:]
    assert "record failed" in sync.stderr, sync.stderr[-3000:]
    worker_lines = [json.loads(line) for line in logs["worker"].splitlines() if line.startswith("{")]
    assert sum(line["event"] == "run finished" for line in worker_lines) >= 4, logs["worker"][-3000:]
    assert any(line["event"] == "job finished" for line in worker_lines)
    assert any(line["level"] == "debug" for line in worker_lines)
    assert any(line["logger"].startswith("celery") for line in worker_lines)
    assert "beat" in logs["beat"].lower()
    assert any(job_id.group(1) in dump for dump in dumps[:1]), "the queued resync was on the broker"
    # the faults struck: HTTP retries in both the hand-run sync and the worker, items refused inside 207s
    *seeded, worker_reads = sandbox.control.fault_state()["rules"]
    fired = {rule["kind"]: rule["fired"] for rule in seeded}
    assert fired["error"] + fired["too_many_requests"] > 0, fired
    assert fired["item_unavailable"] > 0, fired
    assert worker_reads["fired"] == 2, worker_reads
    assert "retrying" in sync.stderr, sync.stderr[-3000:]
    assert any(
        line["event"] == "retrying a Thulium request" and line["path"] == "customers" for line in worker_lines
    )

    secrets = needles(source_url, sandbox.user, sandbox.password)
    assert len(secrets.phones) > 150
    assert len(secrets.texts) > 150
    assert secrets.hits(f"x {secrets.sample_phone} y")
    assert secrets.hits(secrets.sample_email.upper())
    haystack = "\n".join([*captured, *logs.values(), *dumps])
    assert secrets.hits(haystack) == []


def job_done(daemon: Daemon, job_id: str) -> bool:
    engine = make_engine(f"sqlite:///{daemon.root / 'state.sqlite'}")
    try:
        job = next(j for j in JobStore(session_factory(engine), "acme").recent(100) if j.id == job_id)
    finally:
        engine.dispose()
    return job.status in ("ok", "partial", "failed", "aborted", "fenced", "dead")


def dump_broker(client: redis.Redis) -> str:
    """Every key and value of the broker's DB, with kombu's base64 message bodies decoded."""
    parts: list[str] = []
    for key in client.scan_iter(count=1000):
        kind_of = client.type(key)
        kind = kind_of.decode() if isinstance(kind_of, bytes) else str(kind_of)
        raw: list[Any]
        if kind == "string":
            raw = [client.get(key)]
        elif kind == "list":
            raw = client.lrange(key, 0, -1)
        elif kind == "hash":
            raw = [item for pair in client.hgetall(key).items() for item in pair]
        elif kind == "set":
            raw = list(client.smembers(key))
        elif kind == "zset":
            raw = list(client.zrange(key, 0, -1))
        else:
            raw = []
        for value in [key, *raw]:
            if isinstance(value, bytes):
                text = value.decode("utf-8", "replace")
                parts.append(text)
                parts.extend(decoded_bodies(text))
    return "\n".join(parts)


def decoded_bodies(text: str) -> Iterator[str]:
    try:
        data: Any = json.loads(text)
    except ValueError:
        return
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("body"), str):
                try:
                    yield base64.b64decode(item["body"]).decode("utf-8", "replace")
                except ValueError:
                    yield item["body"]
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


class Needles:
    """What must not be found: literal strings (any case) and phone numbers as digits."""

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}  # lower-cased text -> what it is
        self.phones: dict[str, str] = {}  # national digits -> the phone as typed
        self.sample_phone = self.sample_email = ""

    def add_text(self, text: str, what: str) -> None:
        self.texts[text.lower()] = what

    def add_phone(self, typed: str) -> None:
        if len(typed) >= 8:  # shorter junk ("12ab34") is not distinctive: it matches hex ids by chance
            self.add_text(typed, f"phone {typed!r}")
        digits = re.sub(r"\D", "", typed)
        if len(digits) < 7:
            return
        national = re.sub(r"^(?:0048|48(?=\d{9}$))", "", digits)
        self.phones[national] = typed
        self.sample_phone = self.sample_phone or typed

    def hits(self, haystack: str) -> list[str]:
        lowered = haystack.lower()
        found = [what for text, what in self.texts.items() if text in lowered]
        # every run of digits, spaces, dashes, brackets and + as bare digits; a phone inside one is a hit
        runs = {re.sub(r"\D", "", run) for run in re.findall(r"\+?\(?\d[\d ()\-]*\d", haystack)}
        runs = {run for run in runs if len(run) >= 7}
        found += [
            f"phone {typed!r}" for national, typed in self.phones.items() if any(national in r for r in runs)
        ]
        return found


def needles(source_url: str, user: str, password: str) -> Needles:
    found = Needles()
    found.add_text(password, "the Thulium password")
    found.add_text(base64.b64encode(f"{user}:{password}".encode()).decode(), "the Authorization value")
    engine = create_engine(source_url)
    try:
        with engine.connect() as connection:
            for table in (schema.customers, schema.companies):
                for email, phone in connection.execute(select(table.c.email, table.c.phone)):
                    if email and email.strip():
                        found.add_text(email.strip(), f"e-mail {email.strip()!r}")
                        found.sample_email = found.sample_email or email.strip()
                    for typed in re.split(r"[,;/]", phone or ""):
                        if typed.strip():
                            found.add_phone(typed.strip())
    finally:
        engine.dispose()
    return found


def test_the_search_itself_finds_what_it_looks_for() -> None:
    """The acceptance test's 0 hits only mean something if the search would have found a leak."""
    found = Needles()
    found.add_phone("+48 601 234 567")
    found.add_phone("(22) 123 45 67")
    found.add_text("Jan.Kowalski@WP.pl", "e-mail")
    assert found.hits("sent 0048601234567")
    assert found.hits("sent 601-234-567")
    assert found.hits("22 1234567")
    assert found.hits("to jan.kowalski@wp.pl")
    assert found.hits(f"{REDACTED_PHONE} {REDACTED_EMAIL} 2024-01-01 14:00:33 1704117633000") == []


def test_stdlib_records_are_redacted_through_the_formatter(caplog: pytest.LogCaptureFixture) -> None:
    """The same processor on a stdlib record with an exception, as Celery or aiohttp would log it."""
    from syncd.observability.logs import make_formatter

    logger = logging.getLogger("celery.test")
    with caplog.at_level(logging.INFO, logger="celery.test"):
        try:
            raise RuntimeError("connect to redis://:hunter22@host failed for ala@o2.pl +48 601 234 567")
        except RuntimeError:
            logger.exception("task failed for %s", "ala@o2.pl", extra={"data": {"phone": "601234567"}})
    line = make_formatter("json").format(caplog.records[-1])
    data = json.loads(line)
    assert data["event"] == f"task failed for {REDACTED_EMAIL}"
    assert data["data"] == {"phone": REDACTED_PHONE}
    assert "hunter22" not in line
    assert "ala@o2.pl" not in line
    assert "601 234 567" not in line
    assert "RuntimeError" in data["exception"]
    assert REDACTED_PHONE in data["exception"]
    assert os.linesep not in line.strip()
