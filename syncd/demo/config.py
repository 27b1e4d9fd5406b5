"""The tenant file for the demo: the example mapping, pointed at a generated source and a Thulium."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TypedDict, Unpack

from syncd.demo.generate import CAMPAIGN_SHARES


def _toml_string(value: str) -> str:
    # A JSON string literal is a valid TOML basic string (same escapes, \uXXXX included).
    return json.dumps(value)


def demo_config(
    source_url: str,
    thulium_url: str,
    *,
    user: str = "api_user",
    password_env: str = "THULIUM_PASSWORD",
    state_url: str | None = None,
    campaigns: Iterable[str] = tuple(CAMPAIGN_SHARES),
    interval: int | None = None,
) -> str:
    lines = [
        "# syncd demo tenant, written by `syncd up` (`make run`). The password is read from the environment.",
        "",
        "[thulium]",
        f"url = {_toml_string(thulium_url)}",
        f"user = {_toml_string(user)}",
        f"password_env = {_toml_string(password_env)}",
        "",
        "[source]",
        f"url = {_toml_string(source_url)}",
        "",
    ]
    if state_url is not None:
        lines += ["[state]", f"url = {_toml_string(state_url)}", ""]
    if interval is not None:
        lines += ["[schedule]", f"interval = {int(interval)}", ""]
    lines += [
        "[companies]",
        'table = "companies"',
        'key = "id"',
        'updated_at = "updated_at"',
        'deleted = "deleted"',
        "",
        "[companies.fields]",
        'name = "name"',
        'nip = "nip"',
        'email = "email"',
        'phone_number = "phone"',
        '"address.city" = "city"',
        '"address.street" = "street"',
        "",
        "[customers]",
        'table = "customers"',
        'key = "id"',
        'updated_at = "updated_at"',
        'deleted = "deleted"',
        'company_key = "company_id"',
        "",
        "[customers.fields]",
        'name = "first_name"',
        'surname = "last_name"',
        'email = "email"',
        'phone_number = "phone"',
        '"address.city" = "city"',
        '"address.street" = "street"',
        '"custom_fields.Segment" = "segment"',
    ]
    for outbound_id in campaigns:
        if not (len(outbound_id) == 5 and outbound_id.isdigit()):
            raise ValueError(f"a campaign id is five digits, got {outbound_id!r}")
        query = (
            "SELECT t.customer_id AS key FROM campaign_targets t JOIN customers c ON c.id = t.customer_id "
            "WHERE t.outbound_id = :outbound_id AND NOT c.deleted"
        )
        lines += [
            "",
            "[[campaigns]]",
            f"outbound_id = {_toml_string(outbound_id)}",
            f"query = {_toml_string(query)}",
        ]
    return "\n".join(lines) + "\n"


class DemoOptions(TypedDict, total=False):
    """The optional parts of the demo tenant file, as ``demo_config`` takes them."""

    user: str
    password_env: str
    state_url: str | None
    campaigns: Iterable[str]
    interval: int | None


def write_demo_config(
    path: Path | str, source_url: str, thulium_url: str, **options: Unpack[DemoOptions]
) -> Path:
    """Write the demo tenant file (creating its folder) and return its path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(demo_config(source_url, thulium_url, **options), encoding="utf-8")
    return target
