"""The tenants' write-back tables a long-lived process keeps: one engine per source URL, one table per name.

A table is created (if missing) under the lock, so two first events cannot both try to create it.
"""

from __future__ import annotations

import threading

from syncd.settings import Tenant
from syncd.source.writeback import WritebackTable
from syncd.state.db import StateDbs


class WritebackTables:
    def __init__(self) -> None:
        self._engines = StateDbs()  # the same URL -> engine cache, for tenants' own databases
        self._tables: dict[tuple[str, str], WritebackTable] = {}
        self._lock = threading.Lock()

    def get(self, tenant: Tenant, name: str) -> WritebackTable:
        url = tenant.source_url.get_secret_value()
        with self._lock:
            table = self._tables.get((url, name))
            if table is None:
                table = WritebackTable(self._engines.get(url).engine, name)
                table.ensure()
                self._tables[(url, name)] = table
            return table

    def dispose(self) -> None:
        with self._lock:
            self._tables.clear()
        self._engines.dispose()
