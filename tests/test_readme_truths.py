"""What the README and the shipped files tell a newcomer, checked against what syncd does."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from typer.main import get_command

from syncd.cli.main import app
from syncd.demo.config import demo_config
from syncd.web.webhook_events import parse_event, record_saved

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_the_readme_webhook_example_is_a_record_saved_event_of_campaign_00001() -> None:
    body = re.search(r"-d '(\{\"action\": \"OUTBOUND_RECORD_SAVED\".*?\})'", README)
    assert body, "the README shows an OUTBOUND_RECORD_SAVED body"
    event = parse_event("application/json", body.group(1).encode())
    outbound_id, state = record_saved(event)
    assert outbound_id == "00001", "its id is the campaign's"
    assert (state.record_id, state.status_id, state.system_status) == (1542, 3, "CALL")


def test_the_demo_tenant_file_names_commands_that_exist() -> None:
    commands = set(get_command(app).commands)  # type: ignore[attr-defined]
    header = demo_config("sqlite:///x.sqlite", "http://127.0.0.1:1/api").splitlines()[0]
    named = re.findall(r"`syncd (\w+)", header)
    assert named, (named, sorted(commands))
    assert set(named) <= commands, (named, sorted(commands))


def test_the_example_tenant_file_reads_the_source_make_run_generates() -> None:
    example = tomllib.loads((ROOT / "config" / "example.toml").read_text())
    assert example["source"]["url"] == "sqlite:///var/demo/source.sqlite"
    assert "var/demo/source.sqlite" in README, "the README says where `make run` puts the demo source"
