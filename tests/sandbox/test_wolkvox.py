"""Wolkvox chat_13 simulator over real HTTP: the seed-003 shape, counts against the raw chats, and the
consumption limits — enforced, and visible in the control API's stats and log."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from syncd.sandbox import WolkvoxProcess
from syncd.sandbox.launch.wolkvox_control import WolkvoxControlError
from syncd.sandbox.wolkvox import CHANNELS, token_label
from tests.waiting import wait_until

INI, END = "20240301000000", "20240301235959"


@pytest.fixture(scope="module")
def wolkvox_process() -> Iterator[WolkvoxProcess]:
    with WolkvoxProcess(min_poll_seconds=1.0) as proc:
        yield proc


@pytest.fixture
def wv(wolkvox_process: WolkvoxProcess) -> WolkvoxProcess:
    """No chats, zero stats, empty log, startup limits (1 s between polls, no latency)."""
    wolkvox_process.control.reset()
    return wolkvox_process


def poll(
    wv: WolkvoxProcess, ini: str = INI, end: str = END, *, token: str | None = None, api: str = "chat_13"
) -> httpx.Response:
    headers = {"wolkvox-token": wv.token if token is None else token}
    params = {"api": api, "date_ini": ini, "date_end": end}
    return httpx.get(wv.url, params=params, headers=headers, timeout=10.0)


def counts(resp: httpx.Response) -> dict[str, str]:
    assert resp.status_code == 200, resp.text
    return {row["chanel"]: row["interaction"] for row in resp.json()["data"]}


def wire(moment: str) -> str:
    return moment.replace("-", "").replace(" ", "").replace(":", "")


def wait_for(condition: Callable[[], bool]) -> None:
    wait_until("the sandbox's token counters", condition, poll=0.02)


def assert_refusal(resp: httpx.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body: dict[str, Any] = resp.json()
    assert set(body) == {"code", "error", "msg", "data"}
    assert body["code"] == str(status)
    assert body["data"] == []
    assert isinstance(body["error"], str)
    return body


# ---------------------------------------------------------------------------------------------- data
def test_shape_and_counts_match_the_raw_chats(wv: WolkvoxProcess) -> None:
    wv.control.set_limits(min_poll_seconds=0)
    assert wv.control.generate("2024-03-01", days=3, per_day=80, seed=4) == 240
    chats = wv.control.chats()
    low, high = chats[10]["closed_at"], chats[150]["closed_at"]
    resp = poll(wv, wire(low), wire(high))
    expected = Counter(c["channel"] for c in chats if low <= c["closed_at"] <= high)
    assert resp.json() == {
        "code": "200",
        "error": None,
        "msg": "4 records were found",
        "data": [{"chanel": c, "interaction": str(expected[c])} for c in CHANNELS],
    }
    everything = counts(poll(wv, "20240301000000", "20240303235959"))
    assert sum(int(v) for v in everything.values()) == 240


def test_bounds_are_inclusive_to_the_second(wv: WolkvoxProcess) -> None:
    wv.control.set_limits(min_poll_seconds=0)
    wv.control.add_chats(
        [
            {"closed_at": "2024-03-01 09:59:59", "channel": "facebook"},
            {"closed_at": "2024-03-01 10:00:00", "channel": "web"},
            {"closed_at": "2024-03-01 10:00:01", "channel": "whatsapp"},
        ]
    )
    zero = {c: "0" for c in CHANNELS}
    assert counts(poll(wv, "20240301100000", "20240301100000")) == {**zero, "web": "1"}
    assert counts(poll(wv, "20240301095959", "20240301100001")) == {
        **zero,
        "facebook": "1",
        "web": "1",
        "whatsapp": "1",
    }
    assert counts(poll(wv, "20240302000000", "20240302235959")) == zero  # every channel, even with none


def test_generation_is_deterministic_and_day_by_day(wv: WolkvoxProcess) -> None:
    wv.control.generate("2024-03-01", days=2, per_day=30, seed=7)
    both = wv.control.chats()
    assert all(c["closed_at"][:10] in ("2024-03-01", "2024-03-02") for c in both)
    wv.control.reset()
    wv.control.generate("2024-03-01", per_day=30, seed=7)
    wv.control.generate("2024-03-02", per_day=30, seed=7)
    assert wv.control.chats() == both
    wv.control.reset()
    wv.control.generate("2024-03-01", days=2, per_day=30, seed=8)
    assert wv.control.chats() != both
    with pytest.raises(WolkvoxControlError):
        wv.control.add_chats([{"closed_at": "2024-03-01 10:00:00", "channel": "telegram"}])


# ---------------------------------------------------------------------------------------------- limits
def test_a_third_concurrent_request_is_refused(wv: WolkvoxProcess) -> None:
    wv.control.set_limits(min_poll_seconds=0, latency_ms=1000)
    with ThreadPoolExecutor(2) as pool:
        first_two = [pool.submit(poll, wv) for _ in range(2)]
        wait_for(lambda: wv.control.token_stats(wv.token_label)["in_flight"] == 2)
        third = poll(wv)
        statuses = [f.result().status_code for f in first_two]
    assert statuses == [200, 200]
    body = assert_refusal(third, 429)
    assert body["error"] == "Simultaneous consumption limit reached (2 per token)."
    stats = wv.control.token_stats(wv.token_label)
    assert stats["accepted"] == 2
    assert stats["refused"] == {"concurrency": 1}
    assert stats["max_concurrent"] == 3
    assert stats["in_flight"] == 0
    log = wv.control.log()
    refused = [e for e in log if e["outcome"] == "concurrency"]
    assert len(refused) == 1
    assert refused[0]["status"] == 429
    assert refused[0]["end"] - refused[0]["start"] < 1.0  # answered at once, not held
    assert all(e["end"] - e["start"] >= 1.0 for e in log if e["outcome"] == "ok")
    wv.control.set_limits(latency_ms=0)
    assert poll(wv).status_code == 200  # the slots are free again


def test_a_poll_sooner_than_the_minimum_interval_is_refused(wv: WolkvoxProcess) -> None:
    wv.control.freeze_clock()
    assert poll(wv).status_code == 200
    wv.control.advance_clock(0.4)
    soon = poll(wv)
    body = assert_refusal(soon, 429)
    assert soon.headers["Retry-After"] == "1"
    assert body["error"] == "Polls must be at least 1 s apart."
    wv.control.advance_clock(0.65)
    assert poll(wv).status_code == 200  # the refused poll did not restart the clock
    stats = wv.control.token_stats(wv.token_label)
    assert stats["accepted"] == 2
    assert stats["refused"] == {"too_soon": 1}
    assert 1.0 <= stats["min_gap_seconds"] < 5.0
    assert stats["max_concurrent"] == 1
    log = wv.control.log()
    assert [(e["outcome"], e["status"]) for e in log] == [("ok", 200), ("too_soon", 429), ("ok", 200)]
    assert {e["token"] for e in log} == {wv.token_label}
    assert wv.token not in json.dumps(log)
    assert [e["seq"] for e in log] == [1, 2, 3]
    assert wv.control.log(since=2) == log[2:]
    assert all(e["start"] <= e["end"] for e in log)
    assert (log[0]["date_ini"], log[0]["date_end"]) == (INI, END)


def test_window_and_parameter_rules(wv: WolkvoxProcess) -> None:
    cases = [
        ("20240101000000", "20240201000001", "window_too_long"),
        ("20240201000000", "20240101000000", "inverted_window"),
        ("2024-01-01", "20240102000000", "bad_date"),
        ("20240101000000", "", "bad_date"),
        ("20240230000000", "20240301000000", "bad_date"),
    ]
    for ini, end, reason in cases:
        assert_refusal(poll(wv, ini, end), 400)
        assert wv.control.log()[-1]["outcome"] == reason
    assert assert_refusal(poll(wv, api="chat_1"), 400)["error"].startswith("Unsupported api")
    # Refusals are no polls: the first valid one goes through. Exactly 31 days is allowed.
    assert poll(wv, "20240101000000", "20240201000000").status_code == 200
    stats = wv.control.token_stats(wv.token_label)
    assert stats["accepted"] == 1
    assert stats["refused"] == {"bad_api": 1, "bad_date": 3, "inverted_window": 1, "window_too_long": 1}


def test_a_bad_or_missing_token_is_refused(wv: WolkvoxProcess) -> None:
    missing = httpx.get(wv.url, params={"api": "chat_13", "date_ini": INI, "date_end": END})
    assert assert_refusal(missing, 401)["error"] == "Invalid or missing wolkvox-token."
    assert_refusal(poll(wv, token="not-the-token"), 401)
    assert poll(wv).status_code == 200
    stats = wv.control.stats()
    assert stats["tokens"]["(none)"]["refused"] == {"bad_token": 1}
    assert stats["tokens"][token_label("not-the-token")]["refused"] == {"bad_token": 1}
    assert stats["tokens"][wv.token_label]["accepted"] == 1
    assert stats["accepted"] == 1
    assert stats["refused"] == {"bad_token": 2}


def test_limits_change_at_runtime_and_reset_restores_them(wv: WolkvoxProcess) -> None:
    assert wv.control.limits() == {"min_poll_seconds": 1.0, "latency_ms": 0, "max_concurrent": 2}
    assert wv.control.set_limits(min_poll_seconds=0, latency_ms=300)["latency_ms"] == 300
    started = time.monotonic()
    assert poll(wv).status_code == 200
    assert time.monotonic() - started >= 0.3
    assert poll(wv).status_code == 200  # no interval now
    with pytest.raises(WolkvoxControlError):
        wv.control.set_limits(max_concurrent=0)
    wv.control.set_limits(max_concurrent=1, latency_ms=800)
    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(poll, wv)
        wait_for(lambda: wv.control.token_stats(wv.token_label)["in_flight"] == 1)
        assert_refusal(poll(wv), 429)
        assert held.result().status_code == 200
    wv.control.generate("2024-03-01", per_day=5)
    wv.control.reset(chats=False)
    assert wv.control.limits() == {"min_poll_seconds": 1.0, "latency_ms": 0, "max_concurrent": 2}
    stats = wv.control.stats()
    assert (stats["tokens"], stats["accepted"], stats["refused"]) == ({}, 0, {})
    assert wv.control.log() == []
    assert len(wv.control.chats()) == 5
