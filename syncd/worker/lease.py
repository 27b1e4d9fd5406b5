"""The tenant lock: one writer per tenant, across every worker and host.

Redis gives mutual exclusion with a token, a TTL and compare-and-delete release (redis-py's
``Lock``); a heartbeat keeps the TTL fresh while the run is alive. A lock alone is not
enough: a holder paused past its TTL (GC, SIGSTOP, a frozen VM) wakes up believing it still
holds it. So each acquisition also takes a new fencing epoch in the state DB; the state
store refuses commits from an older epoch, and ``Lease.ensure`` refuses to send Thulium
writes once the lease may have expired locally.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import redis
from redis.exceptions import LockError, LockNotOwnedError, RedisError
from sqlalchemy.orm import Session

from syncd.engine.errors import LeaseLost
from syncd.metrics import LOCK_BUSY, LOCK_WAIT
from syncd.state.leases import take_epoch

log = logging.getLogger("syncd.lease")

KEY_PREFIX = "syncd:lock:"


class TenantBusy(Exception):
    """Another run holds the tenant: the trigger is recorded as skipped, not queued behind."""

    def __init__(self, tenant: str, holder: str | None) -> None:
        super().__init__(f"tenant {tenant!r} is busy (held by {holder or 'unknown'})")
        self.tenant, self.holder = tenant, holder


def lock_key(tenant: str) -> str:
    return KEY_PREFIX + tenant


def lock_holder(client: redis.Redis, tenant: str) -> str | None:
    value = client.get(lock_key(tenant))
    return value.decode() if isinstance(value, bytes) else value


def make_token(job_id: str) -> str:
    """Host, pid and job make the holder readable in ``syncd status``; the suffix makes it unique."""
    return f"{socket.gethostname()}:{os.getpid()}:{job_id}:{uuid.uuid4().hex[:8]}"


@dataclass
class Lease:
    tenant: str
    token: str
    epoch: int
    ttl: float
    deadline: float  # monotonic time after which the lock may belong to someone else
    lost: threading.Event = field(default_factory=threading.Event)

    def ensure(self) -> None:
        """Raise before a write if the lease may have lapsed; cheap enough to call per request."""
        if self.lost.is_set():
            raise LeaseLost(f"tenant {self.tenant!r}: lock taken over (epoch {self.epoch})")
        if time.monotonic() >= self.deadline:
            raise LeaseLost(f"tenant {self.tenant!r}: lock expired before it could be renewed")

    def renewed(self, at: float) -> None:
        self.deadline = at + self.ttl


class Heartbeat(threading.Thread):
    """Renews the lock every third of its TTL; marks the lease lost if the token is gone."""

    def __init__(self, lock: redis.lock.Lock, lease: Lease) -> None:
        super().__init__(name=f"syncd-lease-{lease.tenant}", daemon=True)
        self.lock, self.lease = lock, lease
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.lease.ttl / 3):
            started = time.monotonic()
            try:
                self.lock.reacquire()
            except LockNotOwnedError:
                log.warning("tenant=%s lock lost to another holder", self.lease.tenant)
                self.lease.lost.set()
                return
            except (RedisError, LockError) as exc:
                log.warning("tenant=%s lock renewal failed: %s", self.lease.tenant, type(exc).__name__)
                continue
            self.lease.renewed(started)

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


@contextmanager
def tenant_lease(
    client: redis.Redis,
    sessions: Callable[[], Session],
    tenant: str,
    job_id: str,
    ttl: float,
    *,
    wait: float = 0,
) -> Iterator[Lease]:
    """``wait``: seconds to wait for a busy tenant (daemon triggers never wait; a person may)."""
    token = make_token(job_id)
    lock = client.lock(lock_key(tenant), timeout=ttl, thread_local=False, sleep=0.2)
    asked = time.monotonic()
    if not lock.acquire(token=token, blocking=wait > 0, blocking_timeout=wait or None):
        LOCK_BUSY.labels(tenant).inc()
        raise TenantBusy(tenant, lock_holder(client, tenant))
    acquired = time.monotonic()
    try:
        epoch = take_epoch(sessions, tenant, token)
        LOCK_WAIT.labels(tenant).observe(time.monotonic() - asked)
        # the SET happened a round trip before `acquired`: keep a margin rather than trust the clock edge
        lease = Lease(tenant, token, epoch, ttl, acquired + ttl * 0.9)
        heartbeat = Heartbeat(lock, lease)
        heartbeat.start()
        try:
            yield lease
        finally:
            heartbeat.stop()
    finally:
        release(lock, tenant)


def release(lock: redis.lock.Lock, tenant: str) -> None:
    try:
        lock.release()
    except LockNotOwnedError:
        log.warning("tenant=%s lock had already passed to another holder at release", tenant)
    except (RedisError, LockError) as exc:
        log.warning("tenant=%s lock release failed (%s); it expires by TTL", tenant, type(exc).__name__)
