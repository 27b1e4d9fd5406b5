"""Clients for the sandbox tests: one authenticated httpx client per test, over real HTTP, and a webhook
receiver the sandbox process can POST to."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from syncd.sandbox import SandboxProcess


@pytest.fixture
def api(sandbox: SandboxProcess) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=sandbox.url + "/", auth=(sandbox.user, sandbox.password), timeout=5.0
    ) as client:
        yield client


def assert_error_body(resp: httpx.Response, status: int, message: str | None = None) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"request_id", "errors"}
    assert isinstance(body["request_id"], str)
    assert len(body["request_id"]) == 13
    assert body["errors"]
    assert all(set(e) == {"message", "code"} and isinstance(e["code"], int) for e in body["errors"])
    if message is not None:
        assert message in [e["message"] for e in body["errors"]]


@dataclass(frozen=True)
class Received:
    """One webhook as the receiver saw it on the wire."""

    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data

    def form(self) -> dict[str, str]:
        pairs = urllib.parse.parse_qsl(self.body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
        return dict(pairs)


class Receiver:
    """A webhook endpoint in a thread of the test process; the sandbox process POSTs to it over TCP.
    ``status`` shapes its answers; clearing ``gate`` holds every answer until it is set again."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.status = 200
        self.gate = threading.Event()
        self.gate.set()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def bodies(self) -> list[dict[str, Any]]:
        return [r.json() for r in self.received]


def _handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            receiver.received.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
            receiver.gate.wait(timeout=30)
            self.send_response(receiver.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: pytest output is for failures."""

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()
