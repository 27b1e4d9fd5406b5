"""config/prometheus/syncd-rules.yml: every alert names only series syncd exposes, says how bad, for how
long and what to do with commands that exist, and has a promtool unit test (``make rules`` runs promtool)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from typer.main import get_command

from syncd.cli.main import app
from tests.observability.promql import (
    ROOT,
    defined_families,
    exposed_series,
    problems,
    syncd_commands,
    vocabularies,
)

RULES = ROOT / "config" / "prometheus" / "syncd-rules.yml"
RULE_TESTS = ROOT / "config" / "prometheus" / "tests" / "syncd-rules.test.yml"
FAMILIES = defined_families()


def rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load(RULES.read_text())
    return [rule for group in loaded["groups"] for rule in group["rules"]]


ALERTS = {rule["alert"]: rule for rule in rules() if "alert" in rule}


def test_the_file_holds_alerts_only_each_named_once() -> None:
    assert len(ALERTS) == len(rules()) > 0


@pytest.mark.parametrize("name", sorted(ALERTS))
def test_every_alert_names_only_series_syncd_exposes(name: str) -> None:
    assert problems(ALERTS[name]["expr"], exposed_series(FAMILIES), vocabularies(FAMILIES)) == []


@pytest.mark.parametrize("name", sorted(ALERTS))
def test_every_alert_says_how_bad_for_how_long_and_what_to_run(name: str) -> None:
    rule = ALERTS[name]
    assert rule.get("for"), "a single bad scrape does not page anyone"
    assert rule["labels"]["severity"] in ("critical", "warning")
    assert rule["annotations"]["summary"]
    assert syncd_commands(rule["annotations"]["description"]), "the runbook names the syncd command to run"


def test_the_commands_the_runbooks_name_exist() -> None:
    runbooks = [rule["annotations"]["description"] for rule in ALERTS.values()]
    named = [words for runbook in runbooks for words in syncd_commands(runbook)]
    root: Any = get_command(app)  # typer's own (vendored) click types: read by duck typing
    for words in named:
        command, path = root, []
        for word in words[1:]:
            if word not in getattr(command, "commands", {}):
                break
            command = command.commands[word]
            path.append(word)
        assert path, f"{words}: not a syncd command"
        assert not hasattr(command, "commands"), f"{words}: a group, not a command"
        options = {opt for param in command.params for opt in param.opts}
        assert {w for w in words if w.startswith("-")} <= options, (words, sorted(options))


def test_every_alert_has_a_unit_test_that_fires_it_and_one_that_keeps_it_quiet() -> None:
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    cases = [case for test in tests for case in test["alert_rule_test"]]
    fired = {case["alertname"] for case in cases if case.get("exp_alerts")}
    quiet = {case["alertname"] for case in cases if not case.get("exp_alerts")}
    assert fired == quiet == set(ALERTS)
