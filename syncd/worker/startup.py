"""What worker and beat do before they start: find the broker, bring state DBs to head.

Both processes may start at once on one machine (``syncd up``, a Procfile runner), so the
schema upgrade is serialised with a file lock; Alembic itself takes none.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

from syncd.broker.redis_broker import ensure_broker
from syncd.settings import ConfigError, ProcessSettings
from syncd.settings.discovery import tenant_refs
from syncd.state import migrate

log = logging.getLogger("syncd.startup")


def prepare(settings: ProcessSettings) -> str:
    """Return the broker URL, exported so the pool's children and the lock client agree on it."""
    broker = ensure_broker(settings)
    os.environ["SYNCD_BROKER_URL"] = broker
    upgrade_state_dbs(settings)
    return broker


def state_urls(settings: ProcessSettings) -> list[str]:
    urls = {settings.default_state_url()}
    try:
        urls.update(ref.state_url for ref in tenant_refs(settings.config_dir, settings))
    except ConfigError as exc:
        log.error("tenant files: %s", exc)
    return sorted(urls)


def upgrade_state_dbs(settings: ProcessSettings) -> None:
    for url in state_urls(settings):
        ensure_schema(url, settings)


_current: set[str] = set()


def ensure_schema(url: str, settings: ProcessSettings) -> None:
    """Bring one state DB to head once per process; a tenant file added to a live daemon needs no restart."""
    if url in _current:
        return
    lock_path = Path(settings.var_dir) / "migrate.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not migrate.is_current(url):
            migrate.upgrade(url)
    _current.add(url)
