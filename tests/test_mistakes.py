"""The first mistakes a newcomer makes, each through ``syncd sync`` and through the daemon (``syncd up``):
a short message naming the file, key and column, exit code 1, no traceback, no secret, no file created.

One table drives both paths. The daemon serves every broken tenant at once, as a real one would
serve a folder where one tenant file is wrong: each broken tenant's job must end with its own
problem, and the daemon must say nothing else about it than that (no traceback in any log).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy.exc import SQLAlchemyError

from syncd.demo import generate_source
from syncd.demo.config import demo_config
from syncd.sandbox import SandboxProcess
from syncd.state.db import make_engine, session_factory
from syncd.state.jobs import JobStore
from tests.daemon.harness import SYNCD

SOURCE_PASSWORD = "s3cret-source-pw"
STATE_PASSWORD = "s3cret-state-pw"
THULIUM_PASSWORD = "sandbox-secret"
MAX_MESSAGE_LINES = 4


@dataclass(frozen=True)
class Mistake:
    name: str
    edit: Callable[[str, Path], str]  # the tenant file's text, the test folder -> the broken text
    names: tuple[str, ...]  # what the message must say: keys, columns, paths
    env: dict[str, str] = field(default_factory=dict)
    creates_nothing: str | None = None  # a path (relative to the test folder) that must not appear
    daemon: bool = True  # the daemon's path runs it too (a dead Thulium only costs retries there)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens once the socket is closed


def replace_once(old: str, new: str) -> Callable[[str, Path], str]:
    def edit(text: str, _root: Path) -> str:
        assert old in text, old
        return text.replace(old, new, 1)

    return edit


def source_url(url: Callable[[Path], str]) -> Callable[[str, Path], str]:
    def edit(text: str, root: Path) -> str:
        return re.sub(r'(?m)^url = "sqlite:///[^"]*source[^"]*"', f'url = "{url(root)}"', text)

    return edit


MISTAKES = [
    Mistake(
        "a mapped column that does not exist",
        replace_once('email = "email"', 'email = "e_mail"'),
        ("companies.fields.email", '"e_mail"', "table companies"),
    ),
    Mistake(
        "a wrong table",
        replace_once('table = "customers"', 'table = "customerz"'),
        ("customers.table", '"customerz"', "not found"),
    ),
    Mistake(
        "a wrong updated_at column",
        replace_once('updated_at = "updated_at"', 'updated_at = "changed_at"'),
        ("companies.updated_at", '"changed_at"'),
    ),
    Mistake(
        "a SQLite source path that does not exist",
        source_url(lambda root: f"sqlite:///{root / 'typo' / 'source.sqlite'}"),
        ("source.url", "typo/source.sqlite", "does not exist"),
        creates_nothing="typo",
    ),
    Mistake(
        "a PostgreSQL source that is down",
        source_url(
            lambda _root: f"postgresql+psycopg://syncd:{SOURCE_PASSWORD}@127.0.0.1:{closed_port()}/src"
        ),
        ("source.url", "cannot reach the source database"),
    ),
    Mistake(
        "a state DB that is down",
        lambda text, _root: re.sub(
            r'(?m)^url = "sqlite:///[^"]*state[^"]*"',
            f'url = "postgresql+psycopg://syncd:{STATE_PASSWORD}@127.0.0.1:{closed_port()}/state"',
            text,
        ),
        ("state.url", "cannot reach the state DB"),
    ),
    Mistake(
        "a wrong Thulium password",
        replace_once('password_env = "THULIUM_PASSWORD"', 'password_env = "WRONG_PASSWORD"'),
        ("thulium.password_env", "WRONG_PASSWORD", "refused the credentials"),
        env={"WRONG_PASSWORD": "not-the-password"},
    ),
    Mistake(
        "a password variable set but empty",
        replace_once('password_env = "THULIUM_PASSWORD"', 'password_env = "EMPTY_PASSWORD"'),
        ("thulium.password_env", "EMPTY_PASSWORD", "empty"),
        env={"EMPTY_PASSWORD": ""},
    ),
    Mistake(
        "a Thulium URL where nothing listens",
        lambda text, _root: re.sub(
            r'(?m)^url = "http://[^"]*"', f'url = "http://127.0.0.1:{closed_port()}/api"', text
        ),
        ("thulium.url", "cannot reach Thulium"),
        daemon=False,
    ),
    Mistake(
        "a key misspelt in the tenant file",
        replace_once('table = "companies"', 'tabel = "companies"'),
        ("companies.tabel",),
    ),
]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('mistakes-source') / 'source.sqlite'}"
    generate_source(url, customers=60, companies=6)
    return url


def tenant_text(source: str, sandbox: SandboxProcess, root: Path, name: str) -> str:
    return demo_config(
        source, sandbox.url, state_url=f"sqlite:///{root / f'{name}-state.sqlite'}", interval=3600
    )


def write_tenant(root: Path, name: str, mistake: Mistake, text: str) -> Path:
    path = root / "tenants" / f"{name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(mistake.edit(text, root))
    return path


def message_lines(output: str) -> list[str]:
    """What the user is told; log records (one JSON object per line) are the log stream, not the message."""
    return [line for line in output.splitlines() if line.strip() and not line.startswith("{")]


def assert_said_well(output: str, mistake: Mistake, path: Path) -> None:
    assert "Traceback" not in output, output
    for secret in (SOURCE_PASSWORD, STATE_PASSWORD, THULIUM_PASSWORD, "not-the-password"):
        assert secret not in output, f"{secret!r} leaked: {output}"
    for record in (line for line in output.splitlines() if line.startswith("{")):
        json.loads(record)  # every log line is one whole record: nothing multi-line slipped in
    said = "\n".join(message_lines(output))
    for name in (path.name, *mistake.names):
        assert name in said, f"{name!r} not in the message:\n{said}"
    assert "campaigns: aborted" not in said, "a tenant-wide problem is not one stream's"


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.name for m in MISTAKES])
def test_syncd_sync_says_the_mistake_in_a_few_lines(
    mistake: Mistake, source: str, sandbox: SandboxProcess, tmp_path: Path
) -> None:
    path = write_tenant(tmp_path, "acme", mistake, tenant_text(source, sandbox, tmp_path, "acme"))
    env = {**os.environ, "THULIUM_PASSWORD": THULIUM_PASSWORD, **mistake.env}
    env.pop("SYNCD_DEBUG", None)
    held = customers_held(sandbox)
    result = subprocess.run(
        [SYNCD, "sync", "--config", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert_said_well(output, mistake, path)
    assert len(message_lines(output)) <= MAX_MESSAGE_LINES, output
    if mistake.creates_nothing:
        assert not (tmp_path / mistake.creates_nothing).exists(), "reading created the source"
    assert customers_held(sandbox) == held, "nothing was written to Thulium"


def customers_held(sandbox: SandboxProcess) -> int:
    return len(sandbox.control.state()["customers"])


def test_an_error_no_command_foresaw_is_one_line_and_debug_shows_its_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SYNCD_DEBUG", "SYNCD_LOG_LEVEL")}
    state = f"sqlite:///{tmp_path / 'state.sqlite'}"
    (tmp_path / "acme.toml").write_text(
        demo_config("sqlite:///src.sqlite", "http://127.0.0.1:1/api", state_url=state)
    )
    target = tmp_path / "no-such-folder" / "failures.csv"

    def export(*flags: str) -> subprocess.CompletedProcess[str]:
        argv = [SYNCD, *flags, "failures", "export", "--config", str(tmp_path), "--output", str(target)]
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)

    plain, debug = export(), export("--debug")
    assert plain.returncode == 1
    assert debug.returncode == 1
    said = message_lines(plain.stderr)
    assert said[-1] == f"{target}: No such file or directory", plain.stderr
    assert len(said) <= 2, plain.stderr
    assert "Traceback" in debug.stderr, "--debug keeps the traceback for a bug report"


def test_a_state_db_command_names_the_state_db_it_cannot_reach(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://syncd:{STATE_PASSWORD}@127.0.0.1:{closed_port()}/state"
    tenant = tmp_path / "acme.toml"
    tenant.write_text(demo_config("sqlite:///src.sqlite", "http://127.0.0.1:1/api", state_url=url))
    said_by_db = "cannot reach the state DB postgresql+psycopg://syncd:***@"
    commands = {
        ("db", "current", "--url", url): said_by_db,
        ("db", "upgrade", "--url", url): said_by_db,
        ("runs", "--config", str(tenant)): f"tenant acme: {said_by_db}",
        ("failures", "list", "--config", str(tenant)): f"tenant acme: {said_by_db}",
    }
    for command, start in commands.items():
        result = subprocess.run([SYNCD, *command], capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        said = message_lines(result.stderr)
        assert len(said) == 1, (command, result.stderr)
        assert said[0].startswith(start), (command, result.stderr)
        assert STATE_PASSWORD not in result.stderr + result.stdout
        assert "Traceback" not in result.stderr


# ---- the daemon ---------------------------------------------------------------------------------------


@pytest.fixture
def daemon_up(
    source: str, sandbox: SandboxProcess, short_var_dir: Path, redis_url: str
) -> Iterator[tuple[Path, dict[str, Path], Callable[[], str]]]:
    """``syncd up --no-demo`` over a folder of broken tenants, one per daemon-path mistake."""
    root = short_var_dir
    paths = {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}
    env.update(
        SYNCD_CONFIG_DIR=str(root / "tenants"),
        SYNCD_VAR_DIR=str(root / "var"),
        SYNCD_BROKER_URL=redis_url,
        SYNCD_TICK_SECONDS="0.5",
        SYNCD_SOFT_SHUTDOWN_SECONDS="1",
        THULIUM_PASSWORD=THULIUM_PASSWORD,
    )
    for index, mistake in enumerate(m for m in MISTAKES if m.daemon):
        name = f"t{index}"
        paths[mistake.name] = write_tenant(root, name, mistake, tenant_text(source, sandbox, root, name))
        env.update(mistake.env)
    log = root / "up.log"
    with log.open("wb") as out:
        up = subprocess.Popen(
            [SYNCD, "up", "--no-demo", "--web-port", str(closed_port())],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield root, paths, lambda: log.read_text(errors="replace")
    finally:
        os.killpg(up.pid, signal.SIGINT)
        up.wait(timeout=60)


def finished_job_error(state_db: Path, tenant: str) -> str | None:
    if not state_db.exists():
        return None
    engine = make_engine(f"sqlite:///{state_db}")
    try:
        jobs = JobStore(session_factory(engine), tenant).recent(10)
    except SQLAlchemyError:
        return None  # not created yet by the worker's start
    finally:
        engine.dispose()
    done = [job for job in jobs if job.status not in ("queued", "running")]
    return None if not done else (done[0].error or f"status {done[0].status}, no error")


def log_error_of(logs: Callable[[], str], name: str) -> str | None:
    """The ``error`` field of the first log record that names ``name``."""
    for line in logs().splitlines():
        if line.startswith("{") and name in line:
            error = json.loads(line).get("error")
            if error and name in error:
                return str(error)
    return None


def wait_until(
    what: str, found: Callable[[], str | None], logs: Callable[[], str], timeout: float = 90
) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}\n{logs()[-6000:]}")


def test_the_daemon_says_each_tenants_mistake_on_its_job_and_logs_no_traceback(
    daemon_up: tuple[Path, dict[str, Path], Callable[[], str]],
) -> None:
    root, paths, logs = daemon_up
    for mistake in (m for m in MISTAKES if m.daemon):
        path = paths[mistake.name]
        if mistake.name in (
            "a state DB that is down",
            "a key misspelt in the tenant file",
            "a password variable set but empty",
        ):
            # no job can be recorded for it: the daemon's log line is where it is said
            said = wait_until(f"the log naming {path.name}", partial(log_error_of, logs, path.name), logs)
        else:
            state_db = root / f"{path.stem}-state.sqlite"
            said = wait_until(
                f"a finished job of {path.stem}", partial(finished_job_error, state_db, path.stem), logs
            )
        assert_said_well(said, mistake, path)
        if mistake.creates_nothing:
            assert not (root / mistake.creates_nothing).exists(), "reading created the source"
    assert "Traceback" not in logs()
