"""``syncd init`` on a terminal: it asks for what the options left out, with each proposal as the default."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from syncd.sandbox import SandboxProcess
from syncd.settings import parse_tenant_file
from tests.init.test_init_command import SYNCD, make_source


def run_on_a_terminal(args: list[str], answers: str, env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """The command with a pseudo-terminal for stdin and stdout; the answers are typed ahead (the terminal
    holds them until each prompt reads its line). Returns the exit code and what the terminal showed."""
    controller, terminal = os.openpty()
    process = subprocess.Popen(
        [str(SYNCD), *args], stdin=terminal, stdout=terminal, stderr=terminal, env=env, cwd=cwd
    )
    os.close(terminal)
    os.write(controller, answers.encode())
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the command exited and closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    return process.wait(timeout=60), shown.decode(errors="replace")


def test_the_prompts_default_to_the_proposals_and_take_changes(
    tmp_path: Path, sandbox: SandboxProcess
) -> None:
    url = f"sqlite:///{tmp_path / 'sklep.sqlite'}"
    make_source(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}
    env.update(
        THULIUM_PASSWORD=sandbox.password, SYNCD_VAR_DIR=str(tmp_path / "var"), TERM="dumb", COLUMNS="200"
    )
    args = ["init", "--source", url, "--table", "klienci", "--thulium-url", sandbox.url]
    answers = "\n".join(
        [
            "",  # companies table: none
            sandbox.user,  # Thulium API user
            "",  # password variable: THULIUM_PASSWORD, the default
            "",  # tenant file: config/klienci.toml, the default
            "",  # key: id, the proposal
            "",  # updated_at: zmodyfikowano, the proposal
            "none",  # soft delete: none instead of usuniety
            "n",  # change the field mapping
            "address.city =",  # drop the city
            "custom_fields.Segment = kolor_oczu",
            "bogus = imie",  # refused: not a Thulium field
            "",  # done
            "",
        ]
    )
    code, shown = run_on_a_terminal(args, answers, env, tmp_path)
    written = tmp_path / "config" / "klienci.toml"
    assert written.exists(), shown
    config = parse_tenant_file(written)
    assert config.customers is not None
    assert (config.customers.key, config.customers.updated_at, config.customers.deleted) == (
        "id",
        "zmodyfikowano",
        None,
    )
    assert "address.city" not in config.customers.fields
    assert config.customers.fields["custom_fields.Segment"] == "kolor_oczu"
    assert "bogus" not in config.customers.fields
    assert "unknown Thulium field 'bogus'" in shown
    assert "klienci: OK" in shown, shown
    assert code == 0, shown
