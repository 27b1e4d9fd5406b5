"""The tenants the web process receives webhooks for, loaded once and reloaded when their file changes.

Loading a tenant file resolves its secrets, which is too much work for every event, but an
edited file (a rotated webhook password, a new campaign rule) must apply without a restart:
each lookup compares the file's mtime and size with those it was loaded at. A secret kept in
a ``password_file`` is re-read when the tenant file changes, not when only the secret does.

Blocking (file system): call it from a thread.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from syncd.settings import ConfigError, ProcessSettings, Tenant
from syncd.settings.discovery import tenant_file
from syncd.settings.loader import load_tenant

log = logging.getLogger("syncd.web.webhooks")

Stamp = tuple[int, int]


class TenantCache:
    def __init__(self, settings: ProcessSettings) -> None:
        self._settings = settings
        self._loaded: dict[str, tuple[Stamp, Tenant]] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> Tenant | None:
        """The tenant, or None when no such tenant is served here or its file does not load (logged)."""
        with self._lock:
            cached = self._loaded.get(name)
        if cached is not None and _stamp(cached[1].path) == cached[0]:
            return cached[1]
        stamp, tenant = self._load(name)
        with self._lock:
            if tenant is None or stamp is None:
                self._loaded.pop(name, None)
            else:
                self._loaded[name] = (stamp, tenant)
        return tenant

    def _load(self, name: str) -> tuple[Stamp | None, Tenant | None]:
        """The stamp is taken before the file is read: a file edited meanwhile is read again next time."""
        try:
            path = tenant_file(name, self._settings.config_dir)
        except ConfigError:
            return None, None  # unknown: not worth a log line per probe
        stamp = _stamp(path)
        try:
            return stamp, load_tenant(path, self._settings)
        except ConfigError as exc:  # names the file and key, never a secret's value
            log.error(
                "webhook refused: the tenant file does not load", extra={"tenant": name, "error": str(exc)}
            )
            return None, None


def _stamp(path: Path) -> Stamp | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size
