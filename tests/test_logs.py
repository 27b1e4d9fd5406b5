"""Logging set-up: one pipeline for stdlib and structlog, JSON or console, and the lines syncd writes."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
import structlog
from pydantic import ValidationError

from syncd.app.runtime import TenantRuntime
from syncd.app.sync import finish
from syncd.engine.ports import Commit, FailureRecord
from syncd.observability.logs import (
    CHATTY_LOGGERS,
    HANDLER_NAME,
    QUIET_LOGGERS,
    REDACTED_EMAIL,
    REDACTED_PHONE,
    configure_logging,
    renderer_for,
)
from syncd.settings import ProcessSettings
from syncd.state import migrate
from syncd.state.db import make_engine, session_factory
from syncd.state.repository import StateStore
from syncd.vocabulary import FailureKind


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide state; put it back for the other tests."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    names = (*QUIET_LOGGERS, *CHATTY_LOGGERS)
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, saved in levels.items():
        logging.getLogger(name).setLevel(saved)
    structlog.reset_defaults()


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_stdlib_lines_are_json_with_common_fields_first_and_extras_as_fields() -> None:
    out = io.StringIO()
    configure_logging("INFO", "json", stream=out)
    logging.getLogger("syncd.test").info("run finished", extra={"tenant": "acme", "counters": {"read": 3}})
    logging.getLogger("syncd.test").debug("not at INFO")
    [line] = lines(out)
    assert list(line)[:4] == ["timestamp", "level", "logger", "event"]
    assert (line["level"], line["logger"], line["event"]) == ("info", "syncd.test", "run finished")
    assert line["tenant"] == "acme"
    assert line["counters"] == {"read": 3}
    assert line["timestamp"].endswith("Z")


def test_structlog_lines_take_the_same_pipeline_and_redaction() -> None:
    out = io.StringIO()
    configure_logging("DEBUG", "json", stream=out)
    structlog.get_logger("syncd.native").debug(
        "saved", email="a@b.pl", phone="601 234 567", request_id="5367845040112", note="call 601-234-567"
    )
    [line] = lines(out)
    assert (line["level"], line["logger"], line["event"]) == ("debug", "syncd.native", "saved")
    assert (line["email"], line["phone"], line["note"]) == (
        REDACTED_EMAIL,
        REDACTED_PHONE,
        f"call {REDACTED_PHONE}",
    )
    assert line["request_id"] == "5367845040112"


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_tracebacks_are_text_and_redacted_in_both_formats(fmt: str) -> None:
    out = io.StringIO()
    configure_logging("INFO", fmt, stream=out)
    payload = {"email": "jan@wp.pl", "phone": "+48 601 234 567"}  # a local a pretty traceback would show
    try:
        raise ValueError(f"Thulium said no to {payload['email']} at {payload['phone']} password=hunter22")
    except ValueError:
        logging.getLogger("syncd.test").exception("request failed")
    text = out.getvalue()
    assert "Traceback" in text
    assert "ValueError" in text
    assert REDACTED_EMAIL in text
    assert REDACTED_PHONE in text
    for leak in ("jan@wp.pl", "601 234 567", "hunter22"):
        assert leak not in text


def test_console_lines_are_key_value_in_field_order_without_colours_off_a_terminal() -> None:
    out = io.StringIO()
    configure_logging("INFO", "console", stream=out)
    logging.getLogger("syncd.sync").info("run finished", extra={"tenant": "acme", "stream": "customers"})
    text = out.getvalue()
    assert "run finished" in text
    assert "[syncd.sync]" in text
    assert text.index("tenant=acme") < text.index("stream=customers")
    assert "\x1b[" not in text


def test_console_lines_have_colours_on_a_terminal() -> None:
    out = Tty()
    configure_logging("INFO", "console", stream=out)
    logging.getLogger("syncd.sync").warning("run finished")
    assert "\x1b[" in out.getvalue()


def test_auto_is_console_on_a_terminal_and_json_otherwise() -> None:
    assert renderer_for("auto", Tty()) == "console"
    assert renderer_for("auto", io.StringIO()) == "json"
    assert renderer_for("json", Tty()) == "json"
    assert renderer_for("console", io.StringIO()) == "console"


def test_the_format_comes_from_syncd_log_format(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCD_LOG_FORMAT", "console")
    assert ProcessSettings().log_format == "console"
    assert ProcessSettings.model_fields["log_format"].default == "auto"
    monkeypatch.setenv("SYNCD_LOG_FORMAT", "xml")
    with pytest.raises(ValidationError):
        ProcessSettings()


def test_configuring_again_replaces_only_its_own_handler() -> None:
    other = logging.NullHandler()
    logging.getLogger().addHandler(other)
    configure_logging("INFO", "json", stream=io.StringIO())
    configure_logging("DEBUG", "console", stream=io.StringIO())
    mine = [h for h in logging.getLogger().handlers if h.get_name() == HANDLER_NAME]
    assert len(mine) == 1
    assert other in logging.getLogger().handlers
    assert logging.getLogger().level == logging.DEBUG


def test_the_handler_follows_sys_stderr_as_it_is_at_each_line(capsys: pytest.CaptureFixture[str]) -> None:
    """pytest and typer's CliRunner swap stderr; a handler bound to an old one writes to a closed stream."""
    configure_logging("INFO", "json")
    logging.getLogger("syncd.test").info("to the current stderr")
    assert "to the current stderr" in capsys.readouterr().err


def test_libraries_that_log_data_stay_at_warning_even_at_debug() -> None:
    configure_logging("DEBUG", "json", stream=io.StringIO())
    for name in QUIET_LOGGERS:
        assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING, name
    assert logging.getLogger("celery.app.trace").getEffectiveLevel() == logging.DEBUG
    configure_logging("INFO", "json", stream=io.StringIO())
    assert logging.getLogger("celery.app.trace").getEffectiveLevel() == logging.WARNING


def test_celery_hands_its_logging_set_up_to_syncd() -> None:
    """With a setup_logging receiver Celery installs no handler of its own: its lines take our formatter."""
    from celery import signals

    from syncd.worker.app import setup_logging

    answered = signals.setup_logging.send(
        sender=None, loglevel=logging.INFO, logfile=None, format="", colorize=False
    )
    assert any(receiver is setup_logging for receiver, _ in answered)
    assert [h.get_name() for h in logging.getLogger().handlers].count(HANDLER_NAME) == 1


# ---- the run line and the failure line ---------------------------------------------------------------------


def test_a_run_ends_with_one_structured_line(caplog: pytest.LogCaptureFixture) -> None:
    runtime = SimpleNamespace(
        tenant=SimpleNamespace(name="acme"),
        client=SimpleNamespace(requests_sent=21),
        store=SimpleNamespace(finish_run=lambda *args: None),
    )
    counters = {"read": 2000, "created": 1940, "rejected": 60}
    with caplog.at_level(logging.INFO, logger="syncd.sync"):
        finish(
            cast(TenantRuntime, runtime), "customers", None, counters, None, False, 0, 0.3141, {}, "abc123"
        )
    [record] = [r for r in caplog.records if r.getMessage() == "run finished"]
    fields = record.__dict__
    assert (fields["tenant"], fields["stream"], fields["status"]) == ("acme", "customers", "partial")
    assert fields["counters"] == counters
    assert fields["requests"] == 21
    assert (fields["seconds"], fields["job_id"], fields["run_id"]) == (0.314, "abc123", None)
    assert "error" not in fields


def test_each_recorded_failure_logs_its_ids_but_not_thuliums_message(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    store = StateStore(session_factory(engine), "acme")
    failures = [
        FailureRecord("k1", "create", FailureKind.REJECTED, "phone_number: not numeric"),
        FailureRecord(
            "k2", "create", FailureKind.PERMANENT, "Customer Jan Kowalski exists", 400, "53678450401cf"
        ),
        FailureRecord("k3", "update", FailureKind.RETRYABLE, "503 from Thulium", 503, "00001aaaabbbb"),
    ]
    with caplog.at_level(logging.INFO, logger="syncd.failures"):
        store.commit("customers", Commit(failures=failures))
    engine.dispose()
    records = [r for r in caplog.records if r.getMessage() == "record failed"]
    assert [r.__dict__["source_key"] for r in records] == ["k1", "k2", "k3"]
    assert [r.levelno for r in records] == [logging.WARNING, logging.WARNING, logging.INFO]
    first, second, _ = (r.__dict__ for r in records)
    assert first["reason"] == "phone_number: not numeric"  # syncd's own reasons never hold the value
    assert (second["kind"], second["http_status"], second["request_id"]) == (
        "permanent",
        400,
        "53678450401cf",
    )
    assert "reason" not in second
    assert all("Kowalski" not in str(r.__dict__) for r in records)
