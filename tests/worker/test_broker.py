"""The embedded broker: one real redis-server per var dir, however many processes ask for it at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis

from syncd.broker.redis_broker import EmbeddedRedis, broker_url, ensure_broker, redis_client_url
from syncd.settings import ProcessSettings
from tests.waiting import wait_until

STARTERS = 4
# Each starter sleeps until a shared instant, so the start attempts really overlap despite import time.
START_ONE = """
import sys, time
from pathlib import Path
from syncd.broker.redis_broker import EmbeddedRedis
server = EmbeddedRedis(Path(sys.argv[1]))
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
print(server.ensure_running())
"""


@pytest.fixture
def server(short_var_dir: Path) -> EmbeddedRedis:
    server = EmbeddedRedis(short_var_dir)
    assert server.ensure_running() is True
    return server


def client(server: EmbeddedRedis) -> redis.Redis:
    return redis.Redis.from_url(redis_client_url(server.url), socket_timeout=5)


def server_pids(server: EmbeddedRedis) -> list[int]:
    """Live processes serving this socket; the pidfile alone would not show a second server."""
    wanted = os.fsencode(server.socket_path)
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
        except (OSError, IndexError):
            continue
        if entry.name.isdigit() and wanted in cmdline and state != "Z":
            pids.append(int(entry.name))
    return pids


def test_concurrent_processes_start_one_server(short_var_dir: Path) -> None:
    cmd = [sys.executable, "-c", START_ONE, str(short_var_dir), str(time.time() + 2)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) for _ in range(STARTERS)]
    results = [proc.communicate(timeout=30)[0].strip() for proc in procs]

    assert sorted(results) == ["False"] * (STARTERS - 1) + ["True"]
    server = EmbeddedRedis(short_var_dir)
    pid = int(server.pidfile.read_text())
    assert server_pids(server) == [pid]
    with client(server) as c:
        assert c.info("server")["process_id"] == pid


def test_concurrent_threads_start_one_server(short_var_dir: Path) -> None:
    server = EmbeddedRedis(short_var_dir)
    barrier = threading.Barrier(STARTERS)

    def start(_: int) -> bool:
        barrier.wait()
        return EmbeddedRedis(short_var_dir).ensure_running()

    with ThreadPoolExecutor(STARTERS) as pool:
        results = list(pool.map(start, range(STARTERS)))

    assert results.count(True) == 1
    assert len(server_pids(server)) == 1


def test_url_reaches_the_server_through_its_unix_socket(server: EmbeddedRedis) -> None:
    assert server.url == f"redis+socket://{server.socket_path}"
    with client(server) as c:
        assert c.ping()
    assert server.socket_path.stat().st_mode & 0o777 == 0o700


def test_running_server_is_not_started_again(server: EmbeddedRedis) -> None:
    pids = server_pids(server)
    assert server.ensure_running() is False
    assert server_pids(server) == pids


def test_queued_data_survives_stop_and_start(server: EmbeddedRedis) -> None:
    with client(server) as c:
        c.rpush("celery", "task-1", "task-2")
    server.stop()

    assert server.ensure_running() is True
    with client(server) as c:
        assert c.lrange("celery", 0, -1) == [b"task-1", b"task-2"]


def test_stop_leaves_no_process_and_no_socket(server: EmbeddedRedis) -> None:
    server.stop()

    assert server_pids(server) == []
    assert not server.socket_path.exists()
    assert not server.running()
    server.stop()  # stopping a stopped server is not an error


def test_stop_before_any_start_is_not_an_error(short_var_dir: Path) -> None:
    EmbeddedRedis(short_var_dir / "never").stop()


def test_killed_server_is_replaced_despite_its_stale_socket(server: EmbeddedRedis) -> None:
    (pid,) = server_pids(server)
    os.kill(pid, signal.SIGKILL)
    wait_until("the killed server to be gone", lambda: not server_pids(server))
    assert server.socket_path.exists()

    assert server.ensure_running() is True
    assert server_pids(server) not in ([], [pid])


def test_broker_url_honours_the_environment(monkeypatch: pytest.MonkeyPatch, short_var_dir: Path) -> None:
    monkeypatch.setenv("SYNCD_BROKER_URL", "redis://broker.internal:6379/2")
    monkeypatch.setenv("SYNCD_VAR_DIR", str(short_var_dir))
    settings = ProcessSettings()

    assert broker_url(settings) == "redis://broker.internal:6379/2"
    assert ensure_broker(settings) == "redis://broker.internal:6379/2"
    assert not (
        short_var_dir / "redis"
    ).exists()  # a configured broker is never accompanied by an embedded one


def test_without_a_broker_url_the_embedded_server_is_used(short_var_dir: Path) -> None:
    settings = ProcessSettings(broker_url=None, var_dir=short_var_dir)

    url = ensure_broker(settings)

    assert url == broker_url(settings) == f"redis+socket://{short_var_dir}/redis/redis.sock"
    assert EmbeddedRedis(short_var_dir).running()


def test_embedded_url_is_absolute_for_a_relative_var_dir(
    monkeypatch: pytest.MonkeyPatch, short_var_dir: Path
) -> None:
    monkeypatch.chdir(short_var_dir)
    url = broker_url(ProcessSettings(broker_url=None, var_dir=Path("var")))
    assert url == f"redis+socket://{Path.cwd()}/var/redis/redis.sock"


@pytest.mark.parametrize(
    ("broker", "expected"),
    [
        ("redis+socket:///tmp/sd/redis/redis.sock", "unix:///tmp/sd/redis/redis.sock"),
        ("redis+socket:///tmp/r.sock?virtual_host=3", "unix:///tmp/r.sock?db=3"),
        ("socket:///tmp/r.sock", "unix:///tmp/r.sock"),
        ("redis://:pw@host:6379/1", "redis://:pw@host:6379/1"),
        ("rediss://host:6380/0", "rediss://host:6380/0"),
    ],
)
def test_redis_client_url(broker: str, expected: str) -> None:
    assert redis_client_url(broker) == expected


def test_redis_client_url_rejects_other_brokers() -> None:
    with pytest.raises(ValueError, match="amqp"):
        redis_client_url("amqp://guest@localhost//")


def test_too_long_socket_path_is_a_clear_error() -> None:
    short_var_dir = Path("/tmp") / ("deep" * 30)
    with pytest.raises(ValueError, match="too long") as raised:
        broker_url(ProcessSettings(broker_url=None, var_dir=short_var_dir))
    assert str(short_var_dir / "redis" / "redis.sock") in str(raised.value)
    assert not short_var_dir.exists()
