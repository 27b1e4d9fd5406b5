"""Activity streams against the sandboxes over real HTTP, into real SQLite (and PostgreSQL) tables.

Each table is compared with the sandbox's own data: the raw events it generated, or its report read
independently by the test, with durations parsed here rather than by syncd's code.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import MetaData, Table, select

from syncd.app.activity import run_activity
from syncd.app.runtime import tenant_runtime
from syncd.app.schema import ensure_schema
from syncd.demo import generate_source, write_demo_config
from syncd.engine.wallclock import parse_wall_clock, wall_clock
from syncd.sandbox import SandboxProcess, WolkvoxProcess
from syncd.settings import ProcessSettings, load_tenant
from syncd.state import models
from syncd.state.db import make_engine, session_factory
from tests.waiting import HEAVY

SYNCD = Path(sys.executable).parent / "syncd"
TENANT = "acme"


def hms(text: str) -> int:
    hours, minutes, seconds = (int(part) for part in text.split(":"))
    return hours * 3600 + minutes * 60 + seconds


@dataclass
class World:
    root: Path
    sandbox: SandboxProcess
    source_url: str
    state_url: str
    activity: str
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return self.root / f"{TENANT}.toml"

    def configure(self, activity: str) -> None:
        write_demo_config(
            self.path,
            self.source_url,
            self.sandbox.url,
            user=self.sandbox.user,
            state_url=self.state_url,
            campaigns=(),
        )
        with self.path.open("a", encoding="utf-8") as file:
            file.write("\n" + activity)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}
        env.update(
            THULIUM_PASSWORD=self.sandbox.password,
            SYNCD_LOG_LEVEL="WARNING",
            SYNCD_VAR_DIR=str(self.root / "var"),
        )
        return {**env, **self.extra_env}

    def syncd(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SYNCD), *args, "--config", str(self.path)],
            capture_output=True,
            text=True,
            timeout=180,
            env=self.env(),
            check=False,
        )

    def sync(self, *streams: str) -> subprocess.CompletedProcess[str]:
        result = self.syncd("sync", *(part for s in streams for part in ("--stream", s)))
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    def rows(self, table: str, url: str | None = None) -> list[dict[str, Any]]:
        engine = make_engine(url or self.source_url)
        try:
            with engine.connect() as connection:
                found = Table(table, MetaData(), autoload_with=connection)
                return [dict(row) for row in connection.execute(select(found)).mappings()]
        finally:
            engine.dispose()

    def last_run(self, stream: str) -> models.Run:
        engine = make_engine(self.state_url)
        try:
            with session_factory(engine)() as session:
                query = select(models.Run).where(models.Run.stream == stream).order_by(models.Run.id.desc())
                run = session.scalars(query).first()
                assert run is not None, f"no run of {stream}"
                return run
        finally:
            engine.dispose()

    def report(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """The sandbox's report, read by the test itself in pages of 100."""
        rows: list[dict[str, Any]] = []
        with httpx.Client(base_url=self.sandbox.url, auth=(self.sandbox.user, self.sandbox.password)) as http:
            while True:
                page = http.get(path, params={**params, "limit": 100, "offset": len(rows)}).json()
                rows.extend(page)
                if len(page) < 100:
                    return rows


@pytest.fixture
def world(tmp_path: Path, sandbox: SandboxProcess) -> World:
    source_url = f"sqlite:///{tmp_path / 'source.sqlite'}"
    generate_source(source_url, customers=120, companies=12, invalid_fraction=0, seed=5)
    state_url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    return World(tmp_path, sandbox, source_url, state_url, "")


TODAY = datetime.now(UTC).date()
ACTIVITY = f"""
[activity]
timezone = "UTC"
[activity.connections]
start = {TODAY - timedelta(days=3)}
overlap_minutes = 30
[activity.chats_summary]
start = {TODAY - timedelta(days=3)}
aggregate_by = "day"
[activity.agents_work]
start = {TODAY - timedelta(days=3)}
agent_group_ids = [1, 2]
"""


def utc_now() -> datetime:
    """Thulium's zone-less local time; the tenant files here say UTC."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


@HEAVY
def test_each_stream_fills_its_table_exactly_and_a_second_run_adds_nothing(world: World) -> None:
    world.configure(ACTIVITY)
    world.sync("companies", "customers")
    now = utc_now()
    control = world.sandbox.control
    control.generate_activity(
        str(now.date() - timedelta(days=3)),
        days=4,
        per_day=40,
        seed=9,
        until=f"{now - timedelta(minutes=5):%Y-%m-%d %H:%M:%S}",
    )
    world.sync("connections", "chats_summary", "agents_work")

    # connections: every call of the sandbox, once, with its customer's source key
    state = control.state()
    key_of = {int(c["customer_id"]): c["identifier"] for c in state["customers"] if c.get("identifier")}
    expected = {c["connection_id"]: c for c in state["connections"]}
    stored = {row["connection_id"]: row for row in world.rows("thulium_connections")}
    assert set(stored) == set(expected)
    assert len(stored) >= 100
    for connection_id, call in expected.items():
        row = stored[connection_id]
        assert (row["duration"], row["billsec"], row["disposition"]) == (
            call["duration"],
            call["billsec"],
            call["disposition"],
        )
        assert row["date"] == parse_wall_clock(call["date"][:16], "%Y-%m-%d %H:%M")
        customer = int(call["customer_id"]) if call.get("customer_id") not in (None, "") else None
        assert row["customer_id"] == customer
        assert row["source_key"] == (key_of.get(customer) if customer is not None else None)
    assert any(row["source_key"] for row in stored.values())

    # reports: the table equals the sandbox's report over the same days
    window = {
        "date_from": f"{now.date() - timedelta(days=3)} 00:00:00",
        "date_to": f"{utc_now():%Y-%m-%d %H:%M:%S}",
        "aggregate_by": "day",
    }
    chats = {(r["series"], r["user_name"]): r for r in world.report("chats/reports/summary", window)}
    chat_rows = {(r["period"], r["user_name"]): r for r in world.rows("thulium_chats_summary")}
    assert set(chat_rows) == set(chats)
    assert len(chats) >= 4
    for key, raw in chats.items():
        row = chat_rows[key]
        assert (row["incoming"], row["answered"], row["abandoned"]) == (
            raw["incoming"],
            raw["answered"],
            raw["abandoned"],
        )
        assert row["chat_time_sum_s"] == hms(raw["chat_time"]["sum"])
        assert row["wait_time_max_s"] == hms(raw["wait_time"]["max"])
        assert row["rating_happy"] == raw["rating"]["rate"]["happy"]
    agents_params = {**window, "agent_group_ids[]": ["1", "2"]}
    work = {(r["period"], r["agent"]["login"]): r for r in world.report("agents_work_report", agents_params)}
    work_rows = {(r["period"], r["agent_login"]): r for r in world.rows("thulium_agents_work")}
    assert set(work_rows) == set(work)
    assert len(work) >= 4
    for key, raw in work.items():
        row = work_rows[key]
        assert row["inbound_count"] == raw["inbound"]["count"]
        assert row["inbound_sum_s"] == hms(raw["inbound"]["sum"])
        assert row["chat_closed"] == raw["chat"]["closed"]
        assert row["outbound_above_sum_s"] == hms(raw["outbound_above_threshold"]["sum"])

    # a second run adds and changes nothing
    counts = {
        t: len(world.rows(t)) for t in ("thulium_connections", "thulium_chats_summary", "thulium_agents_work")
    }
    world.sync("connections", "chats_summary", "agents_work")
    for stream in ("connections", "chats_summary", "agents_work"):
        run = world.last_run(stream)
        assert run.status == "ok", run.counters
        assert run.counters["inserted"] == 0, run.counters
        assert run.counters["updated"] == 0, run.counters
    assert counts == {t: len(world.rows(t)) for t in counts}

    # today is still open: a chat and a call that arrive later are picked up by the next run
    moment = f"{utc_now() - timedelta(minutes=2):%Y-%m-%d %H:%M:%S}"
    before = world.report("chats/reports/summary", window)
    control.add_activity(
        chats=[{"date": moment, "user_login": "anna.nowak", "answered": True, "chat_seconds": 61}]
    )
    control.add_connections(
        [
            {
                "connection_id": "999.1",
                "date": moment[:16],
                "duration": 5,
                "billsec": 3,
                "disposition": "ANSWERED",
            }
        ]
    )
    world.sync("connections", "chats_summary")
    assert "999.1" in {row["connection_id"] for row in world.rows("thulium_connections")}
    assert (
        world.last_run("chats_summary").counters["updated"]
        + world.last_run("chats_summary").counters["inserted"]
        == 1
    )
    after = {
        (r["series"], r["user_name"]): r["incoming"] for r in world.report("chats/reports/summary", window)
    }
    assert after != {(r["series"], r["user_name"]): r["incoming"] for r in before}
    assert {
        (r["period"], r["user_name"]): r["incoming"] for r in world.rows("thulium_chats_summary")
    } == after

    # status shows the streams' cursors and last runs like the others
    status = world.syncd("status")
    assert status.returncode == 0, status.stderr
    for stream in ("connections", "chats_summary", "agents_work"):
        assert stream in status.stdout
    assert f"{utc_now():%Y-%m-%d}" in status.stdout


class FixedClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


def test_a_new_day_arrives_and_the_closed_day_is_read_once_more(world: World, postgres_url: str) -> None:
    """In-process with a clock of its own (the sandbox serves whatever days it holds): day 2 is open at the
    first run, gets more chats afterwards, and the next run (on day 3) settles it and adds day 3. The
    tables go to a separate analytics database (PostgreSQL), created there by syncd."""
    world.configure(
        ACTIVITY.replace("[activity]\n", f'[activity]\nanalytics_url = "{postgres_url}"\n').replace(
            f"start = {TODAY - timedelta(days=3)}", "start = 2026-10-01"
        )
    )
    control = world.sandbox.control
    control.generate_activity("2026-10-01", days=2, per_day=30, seed=4, until="2026-10-02 12:00:00")
    tenant = load_tenant(world.path, ProcessSettings(), env=world.env())
    ensure_schema(tenant.state_url, ProcessSettings())
    clock = FixedClock(wall_clock(2026, 10, 2, 12, 0))
    with tenant_runtime(tenant) as runtime:
        for stream in ("chats_summary", "agents_work", "connections"):
            counters, error = run_activity(runtime, stream, clock)
            assert error is None
            assert counters["inserted"] > 0
            assert counters["rejected"] == 0
    first = {
        (r["period"], r["user_name"]): r["incoming"]
        for r in world.rows("thulium_chats_summary", postgres_url)
    }
    assert {period for period, _ in first} == {"2026-10-01", "2026-10-02"}

    control.add_activity(
        chats=[{"date": "2026-10-02 18:30:00", "user_login": "ewa.lis", "answered": True, "chat_seconds": 30}]
    )
    control.generate_activity("2026-10-03", days=1, per_day=30, seed=5, until="2026-10-03 12:00:00")
    clock.at = wall_clock(2026, 10, 3, 12, 0)
    with tenant_runtime(tenant) as runtime:
        _, connections_error = run_activity(runtime, "connections", clock)
        counters, error = run_activity(runtime, "chats_summary", clock)
        assert error is None
        assert connections_error is None
        assert runtime.store.cursor("chats_summary").updated_at == wall_clock(2026, 10, 3)  # type: ignore[union-attr]
    second = {
        (r["period"], r["user_name"]): r["incoming"]
        for r in world.rows("thulium_chats_summary", postgres_url)
    }
    assert {k: v for k, v in second.items() if k[0] == "2026-10-01"} == {
        k: v for k, v in first.items() if k[0] == "2026-10-01"
    }
    day2 = sum(v for k, v in second.items() if k[0] == "2026-10-02")
    assert day2 == sum(v for k, v in first.items() if k[0] == "2026-10-02") + 1
    assert any(k[0] == "2026-10-03" for k in second)
    assert counters["inserted"] >= 1
    expected = world.report(
        "chats/reports/summary",
        {"date_from": "2026-10-01", "date_to": "2026-10-03 12:00:00", "aggregate_by": "day"},
    )
    assert second == {(r["series"], r["user_name"]): r["incoming"] for r in expected}
    # the calls of all three days, once each, up to the last whole minute before the clock
    calls = {
        c["connection_id"]
        for c in world.sandbox.control.state()["connections"]
        if c["date"] < "2026-10-03 12:00"
    }
    assert {row["connection_id"] for row in world.rows("thulium_connections", postgres_url)} == calls
    assert any(
        c.startswith("2026-10-03")
        for c in {str(r["date"]) for r in world.rows("thulium_connections", postgres_url)}
    )


def test_a_row_the_report_cannot_hold_is_rejected_with_its_key_and_the_rest_are_stored(world: World) -> None:
    world.configure(ACTIVITY)
    now = utc_now()
    good = {
        "connection_id": "1.1",
        "date": f"{now - timedelta(hours=1):%Y-%m-%d %H:%M}",
        "duration": 5,
        "billsec": 2,
    }
    bad = {**good, "connection_id": "1.2", "duration": "five"}
    world.sandbox.control.add_connections([good, bad])
    result = world.syncd("sync", "--stream", "connections")
    assert result.returncode == 2, result.stderr  # partial: a row was rejected
    assert {row["connection_id"] for row in world.rows("thulium_connections")} == {"1.1"}
    failures = world.syncd("failures", "list", "--stream", "connections")
    assert "1.2" in failures.stdout, failures.stdout + failures.stderr
    assert "duration" in failures.stdout, failures.stdout + failures.stderr


# -- Wolkvox -------------------------------------------------------------------------------------------

WOLKVOX = """
[activity]
timezone = "UTC"
[activity.wolkvox_chats]
url = "{url}"
token_env = "ACME_WOLKVOX_TOKEN"
start = {start}
min_poll_seconds = {min_poll}
max_polls_per_run = 10
"""


@pytest.fixture
def wolkvox() -> Iterator[WolkvoxProcess]:
    with WolkvoxProcess(min_poll_seconds=1, latency_ms=50) as process:
        yield process


def expected_counts(chats: list[dict[str, str]], day: date, until: datetime) -> dict[str, int]:
    counts = dict.fromkeys(("facebook", "instagram", "web", "whatsapp"), 0)
    for chat in chats:
        closed = parse_wall_clock(chat["closed_at"], "%Y-%m-%d %H:%M:%S")
        if closed.date() == day and closed <= until:
            counts[chat["channel"]] += 1
    return counts


@HEAVY
def test_wolkvox_windows_fill_exactly_within_the_token_limits(world: World, wolkvox: WolkvoxProcess) -> None:
    today = utc_now().date()
    world.configure(WOLKVOX.format(url=wolkvox.base_url, start=today - timedelta(days=3), min_poll=1))
    world.extra_env["ACME_WOLKVOX_TOKEN"] = wolkvox.token
    wolkvox.control.generate(str(today - timedelta(days=3)), days=3, per_day=40, seed=2)
    earlier = f"{utc_now() - timedelta(minutes=10):%Y-%m-%d %H:%M:%S}"
    wolkvox.control.add_chats(
        [{"closed_at": earlier, "channel": "whatsapp"}, {"closed_at": earlier, "channel": "web"}]
    )

    world.sync("wolkvox_chats")
    chats, now = wolkvox.control.chats(), utc_now()
    stored = {
        (row["window_start"].date(), row["channel"]): row["interactions"]
        for row in world.rows("wolkvox_chats")
    }
    assert len(stored) == 16  # 4 days x 4 channels
    for offset in range(4):
        day = today - timedelta(days=3 - offset)
        assert {c: stored[(day, c)] for c in ("facebook", "instagram", "web", "whatsapp")} == expected_counts(
            chats, day, now
        )
    assert all(
        row["window_end"]
        == datetime.combine(row["window_start"].date(), datetime.max.time()).replace(microsecond=0)
        for row in world.rows("wolkvox_chats")
    )
    assert world.last_run("wolkvox_chats").counters["polls"] == 4

    # a second run (and a concurrent third) add nothing; today's window is polled again, never too soon
    runs = [
        subprocess.Popen(
            [str(SYNCD), "sync", "--stream", "wolkvox_chats", "--config", str(world.path)],
            env=world.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for run in runs:
        run.communicate(timeout=120)  # waits, and closes its stderr pipe
    assert len(world.rows("wolkvox_chats")) == 16

    # a chat closed since then arrives with the next poll of today's window
    wolkvox.control.add_chats(
        [{"closed_at": f"{utc_now() - timedelta(seconds=30):%Y-%m-%d %H:%M:%S}", "channel": "instagram"}]
    )
    time.sleep(1.2)
    world.sync("wolkvox_chats")
    stored = {
        (row["window_start"].date(), row["channel"]): row["interactions"]
        for row in world.rows("wolkvox_chats")
    }
    assert (
        stored[(today, "instagram")]
        == expected_counts(wolkvox.control.chats(), today, utc_now())["instagram"]
    )

    stats = wolkvox.control.token_stats(wolkvox.token_label)
    assert stats["refused"] == {}, stats  # no third concurrent request, no poll sooner than allowed
    assert stats["max_concurrent"] <= 2, stats
    assert stats["min_gap_seconds"] >= 1.0, stats


def test_a_wolkvox_refusal_stops_the_run_with_its_reason_and_keeps_the_cursor(
    world: World, wolkvox: WolkvoxProcess
) -> None:
    today = utc_now().date()
    world.configure(WOLKVOX.format(url=wolkvox.base_url, start=today - timedelta(days=1), min_poll=1))
    world.extra_env["ACME_WOLKVOX_TOKEN"] = wolkvox.token
    wolkvox.control.set_limits(min_poll_seconds=60)  # Wolkvox is stricter than this tenant file says
    result = world.syncd("sync", "--stream", "wolkvox_chats")
    assert result.returncode == 1
    run = world.last_run("wolkvox_chats")
    assert run.status == "aborted"
    assert run.error is not None
    assert "429" in run.error
    assert "60 s apart" in run.error
    assert run.counters["polls"] == 1  # yesterday's window was stored; today's poll was refused
    assert {row["window_start"].date() for row in world.rows("wolkvox_chats")} == {today - timedelta(days=1)}
    assert wolkvox.token not in result.stderr + result.stdout + (run.error or "")


# -- where the vendor document is silent: each test runs under the kind and the unkind reading -----------

PROFILES = pytest.mark.parametrize("profile", ["default", "adversarial"])


def run_stream(world: World, stream: str, clock: FixedClock) -> dict[str, int]:
    tenant = load_tenant(world.path, ProcessSettings(), env=world.env())
    ensure_schema(tenant.state_url, ProcessSettings())
    with tenant_runtime(tenant) as runtime:
        counters, error = run_activity(runtime, stream, clock)
    assert error is None, error
    return counters


def calls_before(world: World, moment: str) -> set[str]:
    """The sandbox's calls (kept with their second) up to, not including, ``moment``."""
    return {c["connection_id"] for c in world.sandbox.control.state()["connections"] if c["date"] < moment}


def edge_call(connection_id: str, at: str) -> dict[str, Any]:
    return {"connection_id": connection_id, "date": at, "duration": 40, "billsec": 30}


@PROFILES
def test_calls_at_23_59_30_arrive_exactly_once_under_both_date_to_readings(
    world: World, profile: str
) -> None:
    world.configure(
        '[activity]\ntimezone = "UTC"\n[activity.connections]\nstart = 2026-10-01\noverlap_minutes = 30\n'
    )
    control = world.sandbox.control
    control.use_profile(profile)
    control.generate_activity("2026-10-01", days=2, per_day=30, seed=4, until="2026-10-02 12:00:00")
    edges = {
        "9.1": "2026-10-01 23:59:00",
        "9.2": "2026-10-01 23:59:30",
        "9.3": "2026-10-01 23:59:59",
        "9.4": "2026-10-02 00:00:00",
        "9.5": "2026-10-02 00:00:30",
        "9.6": "2026-10-02 11:59:30",  # the last whole minute before the run
        "9.7": "2026-10-02 12:00:10",  # the minute still running when it reads
    }
    control.add_connections([edge_call(cid, at) for cid, at in edges.items()])

    first = run_stream(world, "connections", FixedClock(wall_clock(2026, 10, 2, 12, 0, 40)))
    stored = [row["connection_id"] for row in world.rows("thulium_connections")]
    assert len(stored) == len(set(stored)) == first["inserted"] == first["read"]  # each call read once
    assert (
        calls_before(world, "2026-10-02 12:00:00") <= set(stored) <= calls_before(world, "2026-10-02 12:01")
    )
    assert {"9.1", "9.2", "9.3", "9.4", "9.5", "9.6"} <= set(stored)

    # the next day boundary, crossed by the next run, and a late call in the minute the first run was in
    control.add_connections(
        [edge_call("9.8", "2026-10-02 12:00:50"), edge_call("9.9", "2026-10-02 23:59:30")]
    )
    second = run_stream(world, "connections", FixedClock(wall_clock(2026, 10, 3, 0, 10, 5)))
    stored = [row["connection_id"] for row in world.rows("thulium_connections")]
    assert len(stored) == len(set(stored))
    assert set(stored) == calls_before(world, "2026-10-03 00:10:00")
    assert second["updated"] == 0
    assert second["inserted"] == len(stored) - first["inserted"]


def chat_table(world: World) -> dict[tuple[str, str], tuple[str, int, int]]:
    return {
        (r["period"], r["agent_login"]): (r["user_name"], r["incoming_including_empty"], r["chat_time_sum_s"])
        for r in world.rows("thulium_chats_summary")
    }


def chats_by_login(world: World, window: dict[str, str]) -> dict[tuple[str, str], tuple[str, int, int]]:
    """The sandbox's report as the test reads it: per login of GET agents, and the no-agent row."""
    path = "chats/reports/summary"
    with httpx.Client(base_url=world.sandbox.url, auth=(world.sandbox.user, world.sandbox.password)) as http:
        logins = [a["login"] for a in http.get("agents").json() if a["login"]]
    out = {
        (r["series"], login): (r["user_name"], r["incoming_including_empty"], hms(r["chat_time"]["sum"]))
        for login in logins
        for r in world.report(path, {**window, "user_logins[]": login})
    }
    for r in world.report(path, window):
        if r["user_name"] == "":
            out[(r["series"], "")] = ("", r["incoming_including_empty"], hms(r["chat_time"]["sum"]))
    return out


CHATS_ONLY = (
    '[activity]\ntimezone = "UTC"\n[activity.chats_summary]\nstart = 2026-10-01\naggregate_by = "day"\n'
)


@PROFILES
def test_namesake_agents_two_rows(world: World, profile: str) -> None:
    world.configure(CHATS_ONLY)
    control = world.sandbox.control
    control.use_profile(profile)
    control.generate_activity("2026-10-01", days=2, per_day=80, seed=7, until="2026-10-02 12:00:00")
    clock = FixedClock(wall_clock(2026, 10, 2, 12, 0))
    run_stream(world, "chats_summary", clock)

    window = {"date_from": "2026-10-01 00:00:00", "date_to": "2026-10-02 12:00:00", "aggregate_by": "day"}
    table = chat_table(world)
    assert table == chats_by_login(world, window)
    jans = [key for key, (name, _, _) in table.items() if name == "Jan Kowalski" and key[0] == "2026-10-01"]
    assert len(jans) == (2 if profile == "adversarial" else 1)
    chats = [c for c in control.activity()["chats"] if c["date"] <= "2026-10-02 12:00:00"]
    assert sum(incoming for _, incoming, _ in table.values()) == len(chats)  # none lost, none twice
    again = run_stream(world, "chats_summary", clock)
    assert (again["inserted"], again["updated"], again["rejected"]) == (0, 0, 0)


def test_an_older_chats_table_is_left_alone_and_a_new_one_is_filled_from_the_start(world: World) -> None:
    world.configure(CHATS_ONLY)
    world.sandbox.control.generate_activity("2026-10-01", days=2, per_day=40, seed=2)
    clock = FixedClock(wall_clock(2026, 10, 2, 18, 0))
    run_stream(world, "chats_summary", clock)  # the cursor is now 2026-10-02
    engine = make_engine(world.source_url)
    try:
        with engine.begin() as connection:  # the table as an older syncd made it: keyed by display name
            connection.exec_driver_sql("DROP TABLE thulium_chats_summary")
            connection.exec_driver_sql(
                "CREATE TABLE thulium_chats_summary (aggregate_by VARCHAR(10), period VARCHAR(32), "
                "user_name VARCHAR(200), incoming INTEGER, PRIMARY KEY (aggregate_by, period, user_name))"
            )
            connection.exec_driver_sql(
                "INSERT INTO thulium_chats_summary VALUES ('day', '2026-10-01', 'x', 1)"
            )
        tenant = load_tenant(world.path, ProcessSettings(), env=world.env())
        with tenant_runtime(tenant) as runtime:
            counters, error = run_activity(runtime, "chats_summary", clock)
        assert error is not None
        assert "rename thulium_chats_summary" in str(error)
        assert counters == {}
        assert world.rows("thulium_chats_summary") == [
            {"aggregate_by": "day", "period": "2026-10-01", "user_name": "x", "incoming": 1}
        ]
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE thulium_chats_summary")
    finally:
        engine.dispose()
    run_stream(world, "chats_summary", clock)  # created anew: read from start, not from the cursor
    assert {period for period, _ in chat_table(world)} == {"2026-10-01", "2026-10-02"}
