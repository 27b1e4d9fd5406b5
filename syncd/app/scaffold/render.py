"""The text of a proposed tenant file, commented like ``config/example.toml``.

Each value carries the reason it was proposed, and each column left out is listed, so the file can be read
and corrected without syncd at hand. Strings are written as TOML basic strings (JSON's escapes are TOML's),
keys bare where TOML allows it, so any column name, Polish letters and spaces included, reads back as is.
Secrets are never values here: only the names of the variable or file that holds them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from syncd.app.scaffold.proposal import Choice, StreamProposal

COMMENT_COLUMN = 43  # where config/example.toml starts its comments
BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class Connection:
    """Where the file points: Thulium, its credentials' source, the source database (or the variable)."""

    thulium_url: str
    thulium_user: str
    password_env: str | None
    password_file: str | None
    source_url: str | None
    source_env: str | None


def render_tenant_file(connection: Connection, streams: Sequence[StreamProposal]) -> str:
    origin = " and ".join(stream.where for stream in streams)
    lines = [
        f"# syncd tenant file, written by `syncd init` from {origin}.",
        "# Each proposal says why it was made: read them, then `syncd check` and `syncd sync` with --config.",
        "# config/example.toml documents every key. Secrets never go in this file, only where to find them.",
        "",
        *thulium_section(connection),
        "",
        *source_section(connection),
        "",
        line("# [state]", "optional; else SYNCD_STATE_URL, else sqlite under ./var/"),
        '# url = "sqlite:///var/state.sqlite"',
    ]
    for stream in streams:
        lines += ["", *stream_section(stream)]
    return "\n".join(lines) + "\n"


def thulium_section(connection: Connection) -> list[str]:
    lines = [
        "[thulium]",
        line(f"url = {string(connection.thulium_url)}", "https://<name>.thulium.com/api in production"),
        line(f"user = {string(connection.thulium_user)}", "the API user created in the Thulium panel"),
    ]
    if connection.password_env is not None:
        lines.append(
            line(f"password_env = {string(connection.password_env)}", "the variable holding its password")
        )
    else:
        assert connection.password_file is not None
        lines.append(
            line(
                f"password_file = {string(connection.password_file)}",
                "the file holding its password (relative: under SYNCD_SECRETS_DIR)",
            )
        )
    return lines


def source_section(connection: Connection) -> list[str]:
    if connection.source_env is not None:
        entry = line(f"url_env = {string(connection.source_env)}", "the variable holding the URL; only read")
    else:
        assert connection.source_url is not None
        entry = line(f"url = {string(connection.source_url)}", "any SQLAlchemy URL; only read")
    return ["[source]", entry]


def stream_section(stream: StreamProposal) -> list[str]:
    name = stream.stream
    lines = [f"[{name}]"]
    if stream.table is not None:
        lines.append(f"table = {string(stream.table)}")
    else:
        assert stream.query is not None
        lines.append(line(f"query = {string(stream.query)}", "wrapped as a subquery"))
    assert stream.key is not None
    assert stream.updated_at is not None
    lines.append(choice_line("key", stream.key, "; sent to Thulium as `identifier`"))
    lines.append(choice_line("updated_at", stream.updated_at))
    if stream.deleted is not None:
        lines.append(choice_line("deleted", stream.deleted))
    else:
        lines.append(
            "# deleted: no soft-delete column found; rows deleted from the table go at the full reconcile"
        )
    if name == "customers":
        lines += company_key_lines(stream)
    lines += ["", line(f"[{name}.fields]", "Thulium field = source column")]
    for target, choice in stream.fields.items():
        extra = " (required by Thulium)" if target == stream.required else ""
        lines.append(choice_line(key(target), choice, extra))
    left_out = stream.left_out()
    if left_out:
        lines.append(
            "# Columns left out (map one by hand if Thulium should have it, "
            'e.g. "custom_fields.<Name>" = "column"):'
        )
        lines += [
            comment(f"{string(item.column.name)} ({item.column.type_name}): {item.why}") for item in left_out
        ]
    return lines


def company_key_lines(stream: StreamProposal) -> list[str]:
    if stream.company_key is not None:
        return [choice_line("company_key", stream.company_key)]
    return ["# company_key: no column named like a company's key (company_id, firma_id, ...) was found"]


def choice_line(name: str, choice: Choice, extra: str = "") -> str:
    return line(f"{name} = {string(choice.column)}", choice.why + extra)


def line(code: str, note: str) -> str:
    return f"{code.ljust(COMMENT_COLUMN - 1)} {comment(note)}" if note else code


def comment(text: str) -> str:
    """One comment line whatever the text holds: a line break in a column's name must not end it."""
    return "# " + " ".join(text.splitlines())


def string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def key(name: str) -> str:
    return name if BARE_KEY.match(name) else string(name)
