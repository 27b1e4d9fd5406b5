"""The `syncd` console script as a user runs it: a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect

from syncd.state import migrate
from syncd.state.db import make_engine

SYNCD = Path(sys.executable).parent / "syncd"


def syncd(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SYNCD), *args], capture_output=True, text=True, timeout=60, env=env, check=False
    )


@pytest.mark.parametrize(
    "args", [("--help",), ("sandbox", "--help"), ("db", "--help"), ("db", "upgrade", "--help")]
)
def test_help_pages(args: tuple[str, ...]) -> None:
    result = syncd(*args)
    assert result.returncode == 0, result.stderr
    assert "Usage: syncd" in result.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("up", "--help"), "(the sandbox and a demo,)"),
        (("db", "upgrade", "--help"), "the url of its state section"),
        (("sandbox", "--help"), "adversarial"),
    ],
)
def test_help_texts_keep_every_word(args: tuple[str, ...], words: str) -> None:
    """Square brackets in a docstring are rich markup to typer: "[state]" vanished from the help."""
    result = syncd(*args, env={**os.environ, "COLUMNS": "200", "TERM": "dumb"})
    assert result.returncode == 0, result.stderr
    assert words in " ".join(result.stdout.split())


def test_db_upgrade_creates_the_schema(state_url: str) -> None:
    result = syncd("db", "upgrade", "--url", state_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"state DB at revision {migrate.head_revision()}"
    engine = make_engine(state_url)
    assert {"links", "cursors", "runs", "failures", "campaign_members"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()
    assert syncd("db", "downgrade", "base", "--url", state_url).stdout.strip() == "state DB at revision None"


def test_db_upgrade_takes_the_state_url_from_a_tenant_file(tmp_path: Path) -> None:
    state = tmp_path / "from-config.sqlite"
    tenant = tmp_path / "acme.toml"
    example = (Path(__file__).parents[1] / "config" / "example.toml").read_text(encoding="utf-8")
    tenant.write_text(example.replace("sqlite:///var/state.sqlite", f"sqlite:///{state}"), encoding="utf-8")
    result = syncd("db", "upgrade", "--config", str(tenant))
    assert result.returncode == 0, result.stderr
    assert state.exists()


def test_bad_tenant_file_exits_1_with_file_and_key(tmp_path: Path) -> None:
    tenant = tmp_path / "bad.toml"
    tenant.write_text(
        '[thulium]\nurl = "http://x/api"\nuser = "u"\npassword_env = "P"\nbogus = 1\n', encoding="utf-8"
    )
    result = syncd("db", "upgrade", "--config", str(tenant))
    assert result.returncode == 1
    assert f"{tenant}: thulium.bogus: unknown key" in result.stderr
    assert f"{tenant}: source: missing: this key is required" in result.stderr


def test_sync_with_a_missing_sqlite_source_says_so_and_creates_nothing(tmp_path: Path) -> None:
    """A mistyped source path was created as an empty database (and its folder), then a traceback."""
    from syncd.demo import write_demo_config

    source = tmp_path / "typo" / "source.sqlite"
    path = write_demo_config(
        tmp_path / "acme.toml",
        f"sqlite:///{source}",
        "http://127.0.0.1:9/api",
        state_url=f"sqlite:///{tmp_path / 'state.sqlite'}",
        campaigns=(),
    )
    env = {**os.environ, "THULIUM_PASSWORD": "x", "SYNCD_VAR_DIR": str(tmp_path / "var")}
    result = syncd("sync", "--config", str(path), env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{path}: source.url: source database sqlite:///{source}: SQLite file {source} does not exist" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) <= 2
    assert not source.parent.exists(), "nothing is created by reading"
