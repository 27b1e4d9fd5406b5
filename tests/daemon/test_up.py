"""`syncd up`, the README's main command: the whole daemon from nothing, then a clean stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

import httpx

from syncd.broker.redis_broker import EmbeddedRedis
from syncd.sandbox import SandboxControl
from tests.daemon.harness import SYNCD
from tests.waiting import wait_until


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_syncd_up_starts_everything_syncs_the_demo_and_stops_cleanly(short_var_dir: Path) -> None:
    sandbox_port, web_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}
    env.update(SYNCD_VAR_DIR=str(short_var_dir), SYNCD_TICK_SECONDS="1", SYNCD_SOFT_SHUTDOWN_SECONDS="2")
    log = short_var_dir / "up.log"
    argv = [SYNCD, "up", "--sandbox-port", str(sandbox_port), "--web-port", str(web_port)]
    with log.open("wb") as out:
        up = subprocess.Popen(
            [*argv, "--interval", "3", "--customers", "300"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    control = SandboxControl(f"http://127.0.0.1:{sandbox_port}")
    try:
        wait_until(
            "the demo customers in the sandbox",
            lambda: len(customers(control)) >= 280,
            90,
            poll=0.5,
            context=lambda: log.read_text(errors="replace")[-4000:],
            ignoring=(httpx.HTTPError,),  # the sandbox is not listening yet
        )
        tenants = short_var_dir / "demo" / "tenants"
        status = subprocess.run(
            [SYNCD, "status", "--config", str(tenants)], env=env, capture_output=True, text=True, check=False
        )
        assert status.returncode == 0, status.stderr
        assert "tenant demo" in status.stdout
        assert "customers" in status.stdout
        assert "schedule" in status.stdout  # the runs came from beat, not from a manual trigger
        health = httpx.get(f"http://127.0.0.1:{web_port}/health", timeout=5)
        assert health.status_code == 200, health.text
    finally:
        control.close()
        os.killpg(up.pid, signal.SIGINT)
        code = up.wait(timeout=60)
    assert code == 0, log.read_text(errors="replace")[-4000:]
    assert not EmbeddedRedis(short_var_dir).running()
    for port in (sandbox_port, web_port):
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still served after stop"


def customers(control: SandboxControl) -> list[object]:
    state = control.state()
    return [c for c in state["customers"] if not c.get("company_flag")]
