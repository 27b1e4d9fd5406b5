"""The console's pure parts: who a header makes the caller, CSRF tokens, the day's chart."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime, timedelta

import pytest

from syncd.settings import ProcessSettings
from syncd.web.console.auth import ANONYMOUS, ConsoleAuth, Role
from syncd.web.console.charts import HEIGHT, hourly
from syncd.web.console.csrf import CsrfKey, loopback, same_origin

NOW = datetime(2026, 12, 2, 12, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_console_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings read SYNCD_* from the environment: a credential exported in the shell must not count."""
    for name in list(os.environ):
        if name.startswith("SYNCD_CONSOLE_"):
            monkeypatch.delenv(name)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_with_no_credential_set_everyone_is_the_operator() -> None:
    auth = ConsoleAuth.from_settings(ProcessSettings())
    assert not auth.enabled
    assert auth.principal(None) is ANONYMOUS
    assert ANONYMOUS.may_act


def test_each_credential_gives_its_own_role_and_nothing_else() -> None:
    settings = ProcessSettings(
        console_operator_password="op", console_viewer_password="vw", console_viewer_token="tok"
    )
    auth = ConsoleAuth.from_settings(settings)
    operator, viewer = auth.principal(basic("operator", "op")), auth.principal(basic("viewer", "vw"))
    assert operator is not None
    assert operator.role is Role.OPERATOR
    assert viewer is not None
    assert viewer.role is Role.VIEWER
    assert not viewer.may_act
    token = auth.principal("Bearer tok")
    assert token is not None
    assert token.role is Role.VIEWER
    for wrong in (None, basic("viewer", "op"), basic("operator", "vw"), "Bearer op", "Bearer ", "Digest x"):
        assert auth.principal(wrong) is None, wrong


def test_an_empty_token_variable_opens_nothing() -> None:
    auth = ConsoleAuth.from_settings(
        ProcessSettings(console_operator_password="op", console_operator_token="")
    )
    assert auth.principal("Bearer ") is None


def test_csrf_tokens_are_bound_to_the_caller_and_the_key() -> None:
    settings = ProcessSettings(console_operator_password="op", console_secret="k1")
    auth = ConsoleAuth.from_settings(settings)
    operator = auth.principal(basic("operator", "op"))
    assert operator is not None
    key, same_key, other_key = (
        CsrfKey(settings),
        CsrfKey(settings),
        CsrfKey(ProcessSettings(console_secret="k2")),
    )
    token = key.token(operator)
    assert same_key.valid(operator, token), "two web processes with one SYNCD_CONSOLE_SECRET agree"
    assert not other_key.valid(operator, token)
    assert not key.valid(ANONYMOUS, token)
    assert not key.valid(operator, None)
    assert CsrfKey(ProcessSettings()).token(operator) != CsrfKey(ProcessSettings()).token(operator)
    notice = key.sign("3 failures resolved")
    assert key.signed("3 failures resolved", notice)
    assert not key.signed("4 failures resolved", notice)
    assert notice not in token, "no caller's token is the notice key"


def test_an_origin_must_be_this_site() -> None:
    assert same_origin(None, "127.0.0.1:8000", "http")
    assert same_origin("http://127.0.0.1:8000", "127.0.0.1:8000", "http")
    assert same_origin("http://LOCALHOST:8000", "localhost:8000", "http")
    assert not same_origin("http://evil.example", "127.0.0.1:8000", "http")
    assert not same_origin("http://127.0.0.1:8001", "127.0.0.1:8000", "http")
    assert not same_origin("https://127.0.0.1:8000", "127.0.0.1:8000", "http")
    assert not same_origin("null", "127.0.0.1:8000", "http")


def test_only_this_machine_is_loopback() -> None:
    for host in ("127.0.0.1", "127.0.0.1:8000", "localhost:8000", "LOCALHOST", "[::1]:8000", "[::1]"):
        assert loopback(host), host
    for other in (None, "", "evil.example", "evil.example:8000", "127.0.0.1.evil.example", "[::2]:80"):
        assert not loopback(other), other


def test_a_day_of_runs_falls_into_hourly_buckets() -> None:
    samples = [
        (NOW - timedelta(minutes=5), 10.0),
        (NOW - timedelta(minutes=20), 5.0),
        (NOW - timedelta(hours=3, minutes=10), 7.0),
        (NOW - timedelta(hours=25), 99.0),  # older than a day: left out
    ]
    total = hourly(samples, NOW, total=True)
    longest = hourly(samples, NOW, total=False)
    assert total.values[-1] == 15.0
    assert longest.values[-1] == 10.0
    assert total.values[-4] == 7.0
    assert total.total == 22.0
    points = [tuple(map(float, p.split(","))) for p in total.points().split()]
    assert len(points) == 24
    assert min(y for _, y in points) == 1.0, "the peak hour touches the top"
    assert points[0][1] == HEIGHT - 1, "an empty hour lies on the bottom"
