"""What the README, the docs site (docs/*.md) and the shipped files tell a newcomer, checked against what
syncd does."""

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
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# The README and every page of the docs site: a check of what "the docs" say reads them all, so it holds
# wherever a paragraph moves between them.
DOCS = "\n".join(path.read_text() for path in DOC_FILES)


def test_the_docs_webhook_example_is_a_record_saved_event_of_campaign_00001() -> None:
    body = re.search(r"-d '(\{\"action\": \"OUTBOUND_RECORD_SAVED\".*?\})'", DOCS)
    assert body, "the docs (Running the daemon → Webhooks) show an OUTBOUND_RECORD_SAVED body"
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


# -- the docs cannot drift from the code ------------------------------------------------------------

README_MAX_LINES = 250  # issue 19: a README a newcomer reads in ten minutes; the reference lives in docs/


def code_of(text: str) -> list[str]:
    """The fenced blocks and inline code spans of a markdown text: where a command or a variable is named."""
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    # a block's comments are prose ("# drop every syncd table")
    blocks = [re.sub(r"(^|\s)# .*$", "", block, flags=re.MULTILINE) for block in blocks]
    prose = re.sub(r"^```[^\n]*\n.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    return blocks + re.findall(r"`([^`\n]+)`", prose)


def named_commands(text: str) -> set[tuple[str, str | None]]:
    """Every `syncd COMMAND [SUBCOMMAND]` in the code of a text (options and placeholders are not named)."""
    named: set[tuple[str, str | None]] = set()
    for code in code_of(text):
        for command, sub in re.findall(r"(?<![\w./-])syncd ([a-z][a-z_-]*)(?: ([a-z][a-z_-]*))?", code):
            named.add((command, sub or None))
    return named


def test_every_syncd_command_the_docs_name_exists() -> None:
    root = get_command(app)
    commands = root.commands  # type: ignore[attr-defined]
    named = named_commands(DOCS)
    assert ("sync", None) in named or any(c == "sync" for c, _ in named), "the extraction finds commands"
    unknown = []
    for command, sub in sorted(named, key=str):
        if command not in commands:
            unknown.append(f"syncd {command}")
            continue
        group = getattr(commands[command], "commands", None)
        if group and sub is not None and sub not in group:
            unknown.append(f"syncd {command} {sub} (it has: {', '.join(sorted(group))})")
    assert not unknown, f"the README or docs/*.md name commands syncd does not have: {unknown}"


def variables_the_code_reads() -> set[str]:
    """Every SYNCD_* variable: the process settings' fields, and the names the code reads itself."""
    from syncd.settings.process import ProcessSettings

    prefix = ProcessSettings.model_config.get("env_prefix", "")
    assert prefix == "SYNCD_"
    known = {prefix + name.upper() for name in ProcessSettings.model_fields}
    for source in (ROOT / "syncd").rglob("*.py"):
        known |= set(re.findall(r"[\"'](SYNCD_[A-Z0-9_]+)[\"']", source.read_text()))
    return known


def named_variables(text: str) -> set[str]:
    named = set(re.findall(r"\bSYNCD_[A-Z][A-Z0-9_]*[A-Z0-9]\b", text))
    # `SYNCD_CONSOLE_OPERATOR_USER` / `_PASSWORD` names SYNCD_CONSOLE_OPERATOR_PASSWORD too
    for stem, suffix in re.findall(r"`(SYNCD_[A-Z0-9_]+?)_[A-Z]+` / `(_[A-Z0-9_]+)`", text):
        named.add(stem + suffix)
    return named


def test_every_syncd_variable_the_docs_name_is_read_by_syncd() -> None:
    known = variables_the_code_reads()
    assert {"SYNCD_STATE_URL", "SYNCD_DEBUG", "SYNCD_SANDBOX_PASSWORD"} <= known, sorted(known)
    named = named_variables(DOCS)
    assert "SYNCD_CONSOLE_OPERATOR_PASSWORD" in named, "the extraction reads the `… / `_PASSWORD` form"
    unknown = sorted(named - known)
    assert not unknown, f"the README or docs/*.md name variables syncd never reads: {unknown}"


def test_every_process_setting_is_in_the_configuration_table() -> None:
    from syncd.settings.process import ProcessSettings

    table = named_variables((ROOT / "docs" / "configuration.md").read_text())
    missing = sorted(
        f"SYNCD_{name.upper()}"
        for name in ProcessSettings.model_fields
        if f"SYNCD_{name.upper()}" not in table
    )
    assert not missing, f"docs/configuration.md's process settings table lacks {missing}"


def test_the_readme_is_short_and_its_links_lead_somewhere() -> None:
    lines = README.count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move reference text to a page of docs/"
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README):
        if re.match(r"[a-z]+:", target):
            continue
        assert (ROOT / target).exists(), f"README.md links to {target}, which does not exist"
    pages = {path.name for path in (ROOT / "docs").glob("*.md")}
    nav = (ROOT / "mkdocs.yml").read_text()
    assert all(f": {page}" in nav for page in pages), "every page of docs/ is in mkdocs.yml's nav"
