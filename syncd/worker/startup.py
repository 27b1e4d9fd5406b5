"""What worker and beat do before they start: find the broker, bring state DBs to head
(``syncd.app.schema``, under its file lock)."""

from __future__ import annotations

import logging
import os

from syncd.app.schema import ensure_schema
from syncd.broker.redis_broker import ensure_broker
from syncd.settings import ConfigError, ProcessSettings
from syncd.settings.discovery import tenant_refs

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
