"""/health against a real Redis and real state databases: what it reports, and what it must never show."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from syncd.broker.redis_broker import EmbeddedRedis
from syncd.settings import ProcessSettings
from syncd.web.app import create_app
from tests.fixtures.redis import RedisServer
from tests.waiting import wait_until

SECRET = "Hunter2-state-secret"
OPS_USER, OPS_PASSWORD = "ops", "Ops-health-pw-42"
TENANT = """
[thulium]
url = "http://127.0.0.1:8765/api"
user = "api_user"
password_file = "{password_file}"

[source]
url = "sqlite:///{source}"

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
"""
SERVE = """
import sys
from syncd.settings import ProcessSettings
from syncd.web.app import serve
serve(ProcessSettings(), "127.0.0.1", int(sys.argv[1]))
"""


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


OPS = basic(OPS_USER, OPS_PASSWORD)


def get_health(
    settings: ProcessSettings, headers: dict[str, str] | None = OPS
) -> tuple[int, dict[str, Any], str]:
    """Over real HTTP on 127.0.0.1; with the ops credentials unless told otherwise."""

    async def probe() -> tuple[int, str]:
        async with TestClient(TestServer(create_app(settings))) as client:
            response = await client.get("/health", headers=headers)
            assert response.headers["Cache-Control"] == "no-store"
            return response.status, await response.text()

    status, body = asyncio.run(probe())
    return status, json.loads(body), body


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    path = tmp_path / "config"
    path.mkdir()
    (tmp_path / "thulium_password").write_text("pw\n")
    return path


def write_tenant(config_dir: Path, name: str, state_url: str) -> None:
    body = TENANT.format(
        password_file=config_dir.parent / "thulium_password",
        source=config_dir.parent / "source.sqlite",
        state_url=state_url,
    )
    (config_dir / f"{name}.toml").write_text(body)


@pytest.fixture
def settings(tmp_path: Path, config_dir: Path, redis_url: str) -> ProcessSettings:
    write_tenant(config_dir, "acme", f"sqlite:///{tmp_path / 'acme-state.sqlite'}")
    return ProcessSettings(
        broker_url=redis_url,
        state_url=f"sqlite:///{tmp_path / 'state.sqlite'}",
        config_dir=config_dir,
        var_dir=tmp_path / "var",
        health_user=OPS_USER,
        health_password=SecretStr(OPS_PASSWORD),
    )


def test_all_ok(settings: ProcessSettings, tmp_path: Path) -> None:
    status, body, _ = get_health(settings)

    assert status == 200
    assert body == {
        "status": "ok",
        "checks": {"broker": "ok", "state": "ok", "tenants": "ok"},
        "broker": "ok",
        "state": {
            f"sqlite:///{tmp_path / 'state.sqlite'}": "ok",
            f"sqlite:///{tmp_path / 'acme-state.sqlite'}": "ok",
        },
        "tenants": {"acme.toml": "ok"},
    }


def test_unreachable_broker_is_503(settings: ProcessSettings) -> None:
    port = closed_port()
    status, body, _ = get_health(settings.model_copy(update={"broker_url": f"redis://127.0.0.1:{port}/0"}))

    assert status == 503
    assert body["status"] == "degraded"
    assert body["broker"].startswith("ConnectionError")
    assert str(port) in body["broker"]
    assert set(body["state"].values()) == {"ok"}


def test_broker_answers_again_after_a_restart(settings: ProcessSettings, redis_server: RedisServer) -> None:
    redis_server.restart()
    assert get_health(settings)[0] == 200


def test_broken_tenant_file_is_reported_not_fatal(settings: ProcessSettings, config_dir: Path) -> None:
    (config_dir / "broken.toml").write_text("[thulium\n")
    (config_dir / "example.toml").write_text("ignored = true\n")

    status, body, _ = get_health(settings)

    assert status == 503
    assert body["broker"] == "ok"
    assert body["tenants"]["acme.toml"] == "ok"
    assert body["tenants"]["broken.toml"].startswith("(syntax): not valid TOML")
    assert "example.toml" not in body["tenants"]


def test_empty_config_dir_is_reported(settings: ProcessSettings, config_dir: Path) -> None:
    (config_dir / "acme.toml").unlink()

    status, body, _ = get_health(settings)

    assert status == 503
    assert body["tenants"] == {str(config_dir): "*.toml: no tenant files found in this directory"}


def test_state_passwords_never_appear(settings: ProcessSettings, config_dir: Path) -> None:
    port = closed_port()
    default_url = f"postgresql+psycopg://syncd:{SECRET}@127.0.0.1:{port}/state"
    write_tenant(config_dir, "beta", f"postgresql+psycopg://beta:{SECRET}-beta@127.0.0.1:{port}/beta")

    status, body, text = get_health(settings.model_copy(update={"state_url": default_url}))

    assert status == 503
    assert SECRET not in text
    assert body["state"][f"postgresql+psycopg://syncd:***@127.0.0.1:{port}/state"].startswith(
        "OperationalError"
    )
    assert f"postgresql+psycopg://beta:***@127.0.0.1:{port}/beta" in body["state"]
    assert body["tenants"] == {"acme.toml": "ok", "beta.toml": "ok"}


def test_broker_password_never_appears(settings: ProcessSettings) -> None:
    broker = f"redis://:{SECRET}@127.0.0.1:{closed_port()}/0"
    status, _, text = get_health(settings.model_copy(update={"broker_url": broker}))
    assert status == 503
    assert SECRET not in text


def test_embedded_broker_is_checked_but_never_started(settings: ProcessSettings, short_var_dir: Path) -> None:
    embedded = settings.model_copy(update={"broker_url": None, "var_dir": short_var_dir})

    status, body, _ = get_health(embedded)
    assert status == 503
    assert "redis.sock" in body["broker"]
    assert not EmbeddedRedis(short_var_dir).running()

    EmbeddedRedis(short_var_dir).ensure_running()
    assert get_health(embedded)[1]["broker"] == "ok"


def test_serve_answers_and_exits_cleanly_on_sigterm(settings: ProcessSettings) -> None:
    port = closed_port()
    env = {
        **os.environ,
        "SYNCD_BROKER_URL": str(settings.broker_url),
        "SYNCD_STATE_URL": settings.default_state_url(),
        "SYNCD_CONFIG_DIR": str(settings.config_dir),
        "SYNCD_VAR_DIR": str(settings.var_dir),
    }
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(port)], env=env, stderr=subprocess.PIPE)
    try:
        response = wait_for_health(f"http://127.0.0.1:{port}/health", proc)
        assert response.status_code == 200
        assert response.json()["status"] == "ok"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stderr is not None
        proc.stderr.close()


def wait_for_health(url: str, proc: subprocess.Popen[bytes]) -> httpx.Response:
    def answered() -> httpx.Response | None:
        if proc.poll() is not None:
            stderr = proc.stderr.read().decode() if proc.stderr else ""
            raise AssertionError(f"web process exited before answering on {url}; stderr:\n{stderr}")
        return httpx.get(url, timeout=10)

    return wait_until(
        f"the web process to answer on {url}", answered, poll=0.1, ignoring=(httpx.TransportError,)
    )


@pytest.fixture
def leaky(settings: ProcessSettings, config_dir: Path) -> ProcessSettings:
    """A deployment whose details would say a lot: a failing state DB, a broken and a good tenant file."""
    (config_dir / "broken.toml").write_text("[thulium\n")
    default_url = f"postgresql+psycopg://syncd:{SECRET}@127.0.0.1:{closed_port()}/state"
    return settings.model_copy(update={"state_url": default_url})


PUBLIC = {"status": "degraded", "checks": {"broker": "ok", "state": "failing", "tenants": "failing"}}
NOT_CREDENTIALS = {
    "none": None,
    "wrong password": basic(OPS_USER, "guess"),
    "wrong user": basic("admin", OPS_PASSWORD),
    "not base64": {"Authorization": "Basic !!not-base64!!"},
    "no colon": {"Authorization": "Basic " + base64.b64encode(OPS_PASSWORD.encode()).decode()},
    "not UTF-8": {"Authorization": "Basic " + base64.b64encode(b"\xff\xfe:\xc3\x28").decode()},
    "another scheme": {"Authorization": f"Bearer {OPS_PASSWORD}"},
    "empty": {"Authorization": ""},
}


@pytest.mark.parametrize("headers", NOT_CREDENTIALS.values(), ids=NOT_CREDENTIALS.keys())
def test_without_valid_credentials_health_says_only_ok_or_failing_per_check(
    leaky: ProcessSettings, tmp_path: Path, headers: dict[str, str] | None
) -> None:
    status, body, text = get_health(leaky, headers)

    assert status == 503  # what load balancers act on does not depend on credentials
    assert body == PUBLIC
    for detail in (
        str(tmp_path),
        "sqlite",
        "postgresql",
        "127.0.0.1",
        "acme",
        "broken",
        ".toml",
        "Error",
        SECRET,
    ):
        assert detail not in text


def test_the_ops_credentials_get_every_detail(
    leaky: ProcessSettings, tmp_path: Path, config_dir: Path
) -> None:
    status, body, text = get_health(leaky)

    assert status == 503
    assert body["status"] == "degraded"
    assert body["checks"] == PUBLIC["checks"]
    [failing] = [url for url, result in body["state"].items() if result != "ok"]
    assert failing.startswith("postgresql+psycopg://syncd:***@127.0.0.1:")
    assert body["state"][failing].startswith("OperationalError")
    assert body["state"][f"sqlite:///{tmp_path / 'acme-state.sqlite'}"] == "ok"
    assert body["tenants"]["acme.toml"] == "ok"
    assert body["tenants"]["broken.toml"].startswith("(syntax): not valid TOML")
    assert SECRET not in text
    assert OPS_PASSWORD not in text


def test_with_no_ops_password_set_nobody_gets_the_details(leaky: ProcessSettings) -> None:
    unset = leaky.model_copy(update={"health_password": None})
    assert get_health(unset, OPS)[1] == PUBLIC
    assert get_health(unset, basic("syncd", ""))[1] == PUBLIC
    empty = leaky.model_copy(update={"health_password": SecretStr(""), "health_user": "syncd"})
    assert get_health(empty, basic("syncd", ""))[1] == PUBLIC
