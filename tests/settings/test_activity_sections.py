"""The [activity] sections: the example's block loads when enabled, and each mistake names its key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from syncd.settings import ConfigError, ProcessSettings, load_tenant

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example.toml"
ENV = {"THULIUM_PASSWORD": "s3cret", "ACME_WOLKVOX_TOKEN": "wv-token", "ACME_ANALYTICS_URL": "sqlite:///a.db"}


def activity_example(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    """The example with its [activity] block uncommented, then ``edits`` (regex, replacement) applied."""
    text = EXAMPLE.read_text(encoding="utf-8")
    head, _, block = text.partition("# [activity]")
    block = re.sub(r"^# ", "", "# [activity]" + block, flags=re.M)
    text = head + block
    for old, new in edits:
        assert re.search(old, text, flags=re.M), f"no {old!r} in the activity example"
        text = re.sub(old, new, text, count=1, flags=re.M)
    path = tmp_path / "acme.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path, env: dict[str, str] = ENV) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_tenant(path, ProcessSettings(), env=env)
    return [f"{p.key}: {p.problem}" for p in info.value.problems]


def test_the_documented_activity_block_loads(tmp_path: Path) -> None:
    tenant = load_tenant(activity_example(tmp_path), ProcessSettings(), env=ENV)
    activity = tenant.config.activity
    assert activity is not None
    assert list(activity.sections()) == ["connections", "chats_summary", "agents_work", "wolkvox_chats"]
    assert activity.table_of("agents_work") == "thulium_agents_work"
    assert tenant.wolkvox_token is not None
    assert tenant.wolkvox_token.get_secret_value() == "wv-token"
    assert tenant.analytics_url is not None
    assert "wv-token" not in repr(tenant)


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (
            (r"^agent_group_ids = .*$", ""),
            "activity.agents_work: Thulium's agents_work_report needs agent_logins or agent_group_ids; "
            "give one of them",
        ),
        (
            (r'^aggregate_by = "day".*$', 'aggregate_by = "fortnight"'),
            "activity.chats_summary.aggregate_by: expected",
        ),
        ((r'^timezone = "UTC".*$', 'timezone = "Mars/Olympus"'), "activity.timezone: an IANA time zone"),
        ((r"^window_days = 1 .*$", "window_days = 40"), "activity.wolkvox_chats.window_days: expected"),
        (
            (r"^overlap_minutes = 60", "overlap_minute = 60"),
            "activity.connections.overlap_minute: unknown key",
        ),
        (
            (r'^table = "thulium_chats_summary"', 'table = "thulium_connections"'),
            "activity: each activity stream needs a table of its own",
        ),
        (
            (r'^table = "thulium_connections"', 'table = "calls; drop"'),
            "activity.connections.table: expected",
        ),
    ],
)
def test_a_mistake_names_its_key(tmp_path: Path, edit: tuple[str, str], problem: str) -> None:
    found = problems_of(activity_example(tmp_path, edit))
    assert any(line.startswith(problem) for line in found), found


def test_a_missing_wolkvox_token_names_its_variable(tmp_path: Path) -> None:
    env = {k: v for k, v in ENV.items() if k != "ACME_WOLKVOX_TOKEN"}
    assert problems_of(activity_example(tmp_path), env) == [
        "activity.wolkvox_chats.token_env: environment variable ACME_WOLKVOX_TOKEN is not set"
    ]
