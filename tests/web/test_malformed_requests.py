"""Whatever a client sends, the web process answers it with a 4xx (or its ordinary answer), never a 5xx.

Requests are written byte by byte over a real TCP connection to the real app, so a case can carry what
an HTTP library would refuse to send: header bytes that are not UTF-8, a Content-Length that is not a
number, a body declared larger than it is. The deployment is healthy (a real Redis, a migrated SQLite
state DB, a tenant file that loads), so a 5xx can only be the request's doing.
"""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from pydantic import SecretStr

from syncd.settings import ProcessSettings
from syncd.state import migrate
from tests.fixtures.redis import RedisServer
from tests.web.conftest import ServedApp

HOOK_USER, HOOK_PASSWORD, OPS_PASSWORD = "hooks", "Hook-pw-9", "Ops-pw-3"
MAX_BODY = 65536  # the default
TENANT_FILE = """
[thulium]
url = "http://127.0.0.1:9/api"
user = "api_user"
password_file = "{secrets}/thulium_password"

[source]
url = "sqlite:///{root}/source.sqlite"

[state]
url = "sqlite:///{root}/state.sqlite"

[customers]
table = "customers"
key = "id"
updated_at = "updated_at"
fields = {{ surname = "last_name" }}

[[campaigns]]
outbound_id = "00001"
query = "SELECT id AS key FROM customers"

[webhooks]
user = "{user}"
password_file = "{secrets}/hook_password"
max_body_bytes = {max_body}
"""


def b64(raw: bytes) -> bytes:
    return base64.b64encode(raw)


HOOK_AUTH = b"Basic " + b64(f"{HOOK_USER}:{HOOK_PASSWORD}".encode())
BAD_AUTH = {
    "not base64": b"Basic !!not base64!!",
    "not ASCII": b"Basic \xff\xfe\xfd",
    "not UTF-8 inside": b"Basic " + b64(b"\xff\xfe:\xc3\x28"),
    "no colon": b"Basic " + b64(b"hooks"),
    "scheme only": b"Basic",
    "another scheme": b"Digest username=hooks",
    "padding only": b"Basic ====",
    "long": b"Basic " + b"A" * 6000,
}


@dataclass(frozen=True)
class Case:
    method: str
    path: bytes
    headers: tuple[tuple[bytes, bytes], ...] = ()
    body: bytes = b""
    expected: int | tuple[int, ...] = 400  # one status, or any of these (aiohttp's own refusals vary)


def hook(
    body: bytes, content_type: bytes = b"application/json", *, auth: bytes = HOOK_AUTH, expected: int = 400
) -> Case:
    headers = ((b"Authorization", auth), (b"Content-Type", content_type))
    return Case("POST", b"/webhooks/acme", headers, body, expected)


def json_hook(body: bytes, expected: int = 400) -> Case:
    case = hook(body)
    return Case(case.method, case.path, case.headers, case.body, expected)


CASES: dict[str, Case] = {
    # -- GET /health and /metrics: query strings and headers they do not use change nothing
    "health": Case("GET", b"/health", expected=200),
    "health head": Case("HEAD", b"/health", expected=200),
    "health bad query": Case("GET", b"/health?%zz=%ff&verbose=1&details[]=x&&=", expected=200),
    "health query not UTF-8": Case("GET", b"/health?\xff\xfe=1", expected=(200, 400)),
    "health huge declared body": Case(
        "GET", b"/health", ((b"Content-Length", b"1000000000000"),), expected=200
    ),
    "health Content-Length not a number": Case("GET", b"/health", ((b"Content-Length", b"abc"),)),
    "health post": Case("POST", b"/health", expected=405),
    "metrics": Case("GET", b"/metrics", expected=200),
    "metrics bad query": Case("GET", b"/metrics?name[]=%ff&%zz", expected=200),
    "metrics openmetrics accept": Case(
        "GET", b"/metrics", ((b"Accept", b"application/openmetrics-text; version=9.9"),), expected=200
    ),
    "header too large": Case("GET", b"/health", ((b"X-Pad", b"x" * 20000),), expected=(400, 431)),
    "unknown path": Case("GET", b"/nothing-here", expected=404),
    "path not UTF-8": Case("GET", b"/health\xff", expected=(400, 404)),
    **{
        f"health auth {name}": Case("GET", b"/health", ((b"Authorization", value),), expected=200)
        for name, value in BAD_AUTH.items()
    },
    # -- POST /webhooks/<tenant>: who, then how big, then what
    **{
        f"webhook auth {name}": hook(b'{"action": "CUSTOMER_CREATED"}', auth=value, expected=401)
        for name, value in BAD_AUTH.items()
    },
    "webhook no auth": Case("POST", b"/webhooks/acme", ((b"Content-Type", b"application/json"),), b"{}", 401),
    "unknown tenant": Case("POST", b"/webhooks/nobody", ((b"Authorization", HOOK_AUTH),), b"{}", 404),
    "tenant with a NUL": Case("POST", b"/webhooks/ac%00me", ((b"Authorization", HOOK_AUTH),), b"{}", 404),
    "tenant not UTF-8": Case(
        "POST", b"/webhooks/%ff%fe", ((b"Authorization", HOOK_AUTH),), b"{}", (400, 404)
    ),
    "tenant name too long": Case(
        "POST", b"/webhooks/" + b"a" * 600, ((b"Authorization", HOOK_AUTH),), b"{}", 404
    ),
    "tenant dot dot": Case("POST", b"/webhooks/..", ((b"Authorization", HOOK_AUTH),), b"{}", (400, 404)),
    "webhook get": Case("GET", b"/webhooks/acme", expected=405),
    "declared body too large": Case(
        "POST",
        b"/webhooks/acme",
        (
            (b"Authorization", HOOK_AUTH),
            (b"Content-Type", b"application/json"),
            (b"Content-Length", b"99999999"),
        ),
        expected=413,
    ),
    "chunked body too large": Case(
        "POST",
        b"/webhooks/acme",
        (
            (b"Authorization", HOOK_AUTH),
            (b"Content-Type", b"application/json"),
            (b"Transfer-Encoding", b"chunked"),
        ),
        b"%x\r\n%s\r\n" % (MAX_BODY * 2, b"x" * (MAX_BODY * 2)),
        expected=413,
    ),
    "broken chunked encoding": Case(
        "POST",
        b"/webhooks/acme",
        ((b"Authorization", HOOK_AUTH), (b"Transfer-Encoding", b"chunked")),
        b"zz\r\nnot a chunk\r\n0\r\n\r\n",
    ),
    "bad JSON": json_hook(b'{"action": "CUSTOMER_CREATED",'),
    "JSON not an object": json_hook(b'"CUSTOMER_CREATED"'),
    "JSON nested deep": json_hook(b'{"action": "A", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
    "JSON number too long to convert": json_hook(
        b'{"action": "CUSTOMER_CREATED", "customer_id": ' + b"9" * 5000 + b"}"
    ),
    "JSON lone surrogate": json_hook(b'{"action": "CUSTOMER_CREATED", "note": "\\ud800"}'),
    "JSON not UTF-8": json_hook(b'{"action": "CUSTOMER_CREATED", "note": "\xff\xfe"}'),
    "JSON status_id out of range": json_hook(
        b'{"action": "OUTBOUND_RECORD_SAVED", "id": "00001", "record_id": "5", "status_id": "99999999999"}'
    ),
    "JSON huge float": json_hook(b'{"action": "CUSTOMER_CREATED", "x": 1e999999}', expected=200),
    "wrong content type": hook(b'{"action": "CUSTOMER_CREATED"}', b"application/xml"),
    "content type garbage": hook(b'{"action": "CUSTOMER_CREATED"}', b";;;==\xff", expected=200),  # unlabelled
    "form bad percent-encoding": hook(
        b"action=CUSTOMER_CREATED&note=%ff", b"application/x-www-form-urlencoded"
    ),
    "form unknown charset": hook(b"action=A", b"application/x-www-form-urlencoded; charset=klingon"),
    "form charset that is no text encoding": hook(
        b"action=A", b"application/x-www-form-urlencoded; charset=rot13"
    ),
    "form charset base64": hook(b"action=A", b"application/x-www-form-urlencoded; charset=base64"),
    "form charset idna": hook(b"action=" + b"a" * 100, b"application/x-www-form-urlencoded; charset=idna"),
    "form odd utf-16": hook(b"action=A", b"application/x-www-form-urlencoded; charset=utf-16"),
}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer) -> Iterator[ServedApp]:
    """One app for the whole table: only ping is asked of the broker, so a shared db is fine."""
    root = tmp_path_factory.mktemp("malformed")
    secrets, config = root / "secrets", root / "config"
    secrets.mkdir()
    config.mkdir()
    (secrets / "thulium_password").write_text("pw\n")
    (secrets / "hook_password").write_text(HOOK_PASSWORD + "\n")
    (root / "source.sqlite").touch()
    tenant = TENANT_FILE.format(secrets=secrets, root=root, user=HOOK_USER, max_body=MAX_BODY)
    (config / "acme.toml").write_text(tenant)
    migrate.upgrade(f"sqlite:///{root / 'state.sqlite'}")
    settings = ProcessSettings(
        broker_url=redis_server.db_url(redis_server.next_db()),
        state_url=f"sqlite:///{root / 'state.sqlite'}",
        config_dir=config,
        var_dir=root / "var",
        health_password=SecretStr(OPS_PASSWORD),
    )
    served = ServedApp(settings).start()
    yield served
    served.stop()


def exchange(port: int, case: Case) -> int:
    """Send the request as written and return the status code of the answer."""
    lines = [f"{case.method} ".encode() + case.path + b" HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close"]
    lines += [name + b": " + value for name, value in case.headers]
    names = {name.lower() for name, _ in case.headers}
    if case.body and b"content-length" not in names and b"transfer-encoding" not in names:
        lines.append(b"Content-Length: %d" % len(case.body))
    request = b"\r\n".join(lines) + b"\r\n\r\n" + case.body
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1."), f"no HTTP answer: {answer[:200]!r}"
    return int(status_line.split()[1])


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_malformed_request_gets_a_4xx_never_a_5xx(app: ServedApp, case: Case) -> None:
    status = exchange(app.port, case)
    assert status < 500, f"{status} for {case}"
    expected = case.expected if isinstance(case.expected, tuple) else (case.expected,)
    assert status in expected


def test_the_same_requests_well_formed_are_accepted(app: ServedApp) -> None:
    """The cases above fail for what they break, not for a broken setup."""
    assert exchange(app.port, json_hook(b'{"action": "CUSTOMER_CREATED", "customer_id": 1}', 200)) == 200
    form = hook(b"action=CUSTOMER_CREATED&customer_id=2", b"application/x-www-form-urlencoded")
    assert exchange(app.port, form) == 200
    ops = b"Basic " + b64(f"syncd:{OPS_PASSWORD}".encode())
    assert exchange(app.port, Case("GET", b"/health", ((b"Authorization", ops),))) == 200
