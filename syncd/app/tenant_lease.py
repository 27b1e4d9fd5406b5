"""The tenant lock: one writer per tenant, across every worker and host.

Redis gives mutual exclusion with a token, a TTL and compare-and-delete release (redis-py's
``Lock``); a heartbeat keeps the TTL fresh while the run is alive. A lock alone is not
enough: a holder paused past its TTL (GC, SIGSTOP, a frozen VM) wakes up believing it still
holds it. So each acquisition also takes a new fencing epoch in the state DB; the state
store refuses commits from an older epoch, and ``Lease.ensure`` refuses to send Thulium
writes once the lease may have expired locally.

The lease is also how a dead run is told from a live one (``syncd.state.runs``): while it lives,
a second thread marks the holder's runs as seen every third of the TTL; once it is gone, a run
still ``running`` under its token is closed as ``crashed``. Taking a lease closes those at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from redis.exceptions import LockError, LockNotOwnedError, RedisError

from syncd.app.lease import Lease, TenantBusy
from syncd.observability.metrics import LOCK_BUSY, LOCK_WAIT
from syncd.state.db import Sessions
from syncd.state.errors import StateDbError
from syncd.state.leases import take_epoch
from syncd.state.runs import UNKNOWN_LOCK, LockSeen, process_token, reap, touch_runs

log = logging.getLogger("syncd.lease")

KEY_PREFIX = "syncd:lock:"


def lock_key(tenant: str) -> str:
    return KEY_PREFIX + tenant


def lock_holder(client: redis.Redis, tenant: str) -> str | None:
    value = client.get(lock_key(tenant))
    return value.decode() if isinstance(value, bytes) else value


def make_token(job_id: str) -> str:
    """Host, pid and job make the holder readable in ``syncd status``; the suffix makes it unique."""
    return process_token(job_id)


def lock_seen(client: redis.Redis | None, tenant: str) -> LockSeen:
    """The lock as the crash judge needs it: unknown when there is no broker or it does not answer."""
    if client is None:
        return UNKNOWN_LOCK
    try:
        return LockSeen(True, lock_holder(client, tenant))
    except RedisError:
        return UNKNOWN_LOCK


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


class Sighting(threading.Thread):
    """Every third of the TTL while the lease lives, marks the holder's running runs as seen now.

    Its own thread, not the heartbeat's: a state DB write can wait seconds on a busy database,
    and the lock must be renewed on time regardless.
    """

    def __init__(self, sessions: Sessions, lease: Lease) -> None:
        super().__init__(name=f"syncd-seen-{lease.tenant}", daemon=True)
        self.sessions, self.lease = sessions, lease
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.lease.ttl / 3) and not self.lease.lost.is_set():
            try:
                touch_runs(self.sessions, self.lease.tenant, self.lease.token)
            except StateDbError as exc:  # the run's own commits will say so; this is only a sign of life
                log.debug("tenant=%s runs not marked seen: %s", self.lease.tenant, type(exc).__name__)

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


def close_dead_runs(sessions: Sessions, tenant: str, token: str) -> None:
    """Right after taking the lease: every other leased run still ``running`` has lost its lease."""
    reap(sessions, tenant, lambda: LockSeen(True, token), "the next run")


@contextmanager
def tenant_lease(
    client: redis.Redis,
    sessions: Sessions,
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
        heartbeat, sighting = Heartbeat(lock, lease), Sighting(sessions, lease)
        heartbeat.start()
        close_dead_runs(sessions, tenant, token)
        sighting.start()
        try:
            yield lease
        finally:
            sighting.stop()
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
