"""``syncd up``: the whole daemon on one machine, in one command, stopped with one Ctrl-C.

It runs the same processes as the Procfile (worker, beat, web) and, for the demo, the
sandbox and a freshly generated source. The demo starts from scratch each time because the
sandbox keeps its records in memory: an old state DB would believe in records it no longer has.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from syncd.broker.redis_broker import EmbeddedRedis
from syncd.settings import ProcessSettings

STOP_GRACE_SECONDS = 15.0


def syncd_command() -> str:
    beside = Path(sys.executable).parent / "syncd"
    return str(beside) if beside.exists() else (shutil.which("syncd") or "syncd")


@dataclass
class Stack:
    settings: ProcessSettings
    demo: bool
    sandbox_port: int
    web_port: int
    interval: int
    customers: int
    sandbox_profile: str = "default"
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    stopping: bool = False

    @property
    def var_dir(self) -> Path:
        return self.settings.var_dir.resolve()

    def run(self) -> int:
        taken = taken_ports(self.ports())
        if taken:
            print("\n".join(taken), file=sys.stderr)
            return 1
        signal.signal(signal.SIGTERM, self.on_signal)
        signal.signal(signal.SIGINT, self.on_signal)
        embedded = None if self.settings.broker_url else EmbeddedRedis(self.var_dir)
        started_broker = False
        try:
            env = self.environment()
            if embedded is not None:
                started_broker = embedded.ensure_running()
                env["SYNCD_BROKER_URL"] = embedded.url
            if self.demo:
                self.start_demo(env)
            for name in ("worker", "beat", "web"):
                self.spawn(name, [syncd_command(), *self.command_args(name)], env)
            self.banner(env)
            return self.supervise()
        finally:
            self.stop_children()
            if embedded is not None and started_broker:
                embedded.stop()

    def ports(self) -> list[Port]:
        web = Port(self.web_port, "the web process (/health, /metrics, webhooks)", "--web-port", "WEB_PORT")
        if not self.demo:
            return [web]
        return [
            Port(self.sandbox_port, "the sandbox (Thulium simulator)", "--sandbox-port", "SANDBOX_PORT"),
            web,
        ]

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env["SYNCD_VAR_DIR"] = str(self.var_dir)
        return env

    def command_args(self, name: str) -> list[str]:
        if name == "web":
            return ["web", "--port", str(self.web_port)]
        return [name]

    # -- the demo ------------------------------------------------------------------------------
    def start_demo(self, env: dict[str, str]) -> None:
        from syncd.demo import generate_source, write_demo_config

        password = env.setdefault("SYNCD_SANDBOX_PASSWORD", "sandbox-secret")
        env["THULIUM_PASSWORD"] = password
        argv = [
            syncd_command(),
            "sandbox",
            "--port",
            str(self.sandbox_port),
            "--profile",
            self.sandbox_profile,
        ]
        self.spawn("sandbox", argv, env)
        demo_dir = self.var_dir / "demo"
        shutil.rmtree(demo_dir, ignore_errors=True)
        tenants = demo_dir / "tenants"
        source_url = f"sqlite:///{demo_dir / 'source.sqlite'}"
        generate_source(source_url, customers=self.customers, companies=max(1, self.customers // 10))
        write_demo_config(
            tenants / "demo.toml",
            source_url,
            f"http://127.0.0.1:{self.sandbox_port}/api",
            state_url=f"sqlite:///{demo_dir / 'state.sqlite'}",
            interval=self.interval,
        )
        env["SYNCD_CONFIG_DIR"] = str(tenants)
        wait_for_port(self.sandbox_port, self.children["sandbox"])

    def banner(self, env: dict[str, str]) -> None:
        config = env.get("SYNCD_CONFIG_DIR", str(self.settings.config_dir))
        lines = [
            "syncd is up: worker, beat and web"
            + (" with the sandbox and a demo tenant" if self.demo else ""),
            f"  watch it:   syncd status --config {config}",
            f"  resync:     syncd resync --config {config}/demo.toml --full" if self.demo else "",
            f"  health:     curl http://127.0.0.1:{self.web_port}/health",
            f"  sandbox:    curl http://127.0.0.1:{self.sandbox_port}/_sandbox/counts" if self.demo else "",
            "  stop it:    Ctrl-C (or SIGTERM to this process)",
        ]
        print("\n".join(line for line in lines if line), flush=True)

    # -- processes -----------------------------------------------------------------------------
    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.children[name] = subprocess.Popen(argv, env=env, start_new_session=True)

    def supervise(self) -> int:
        while not self.stopping:
            for name, child in self.children.items():
                if child.poll() is not None:
                    print(f"syncd up: {name} exited with {child.returncode}; stopping", file=sys.stderr)
                    return 1
            time.sleep(0.5)
        return 0

    def on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping = True

    def stop_children(self) -> None:
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS + self.settings.soft_shutdown_seconds
        for child in self.children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()


@dataclass(frozen=True)
class Port:
    number: int
    serves: str
    option: str
    make_variable: str


def taken_ports(ports: list[Port], host: str = "127.0.0.1") -> list[str]:
    """Checked before anything starts: a taken port found later kills one child after the banner."""
    return [
        f"port {port.number} on {host} is taken; it is for {port.serves}: stop what listens there, or "
        f"choose another with `syncd up {port.option} N` (`make run {port.make_variable}=N`)"
        for port in ports
        if not bindable(host, port.number)
    ]


def bindable(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a TIME_WAIT leftover is not "taken"
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def wait_for_port(port: int, child: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"the sandbox exited with {child.returncode} (is port {port} free?)")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the sandbox did not listen on port {port} within {timeout:.0f} s")
