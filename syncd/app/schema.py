"""A state DB brought to head once per process, before anything reads or writes it.

Several processes may start at once on one machine (``syncd up``, a Procfile runner), so the
schema upgrade is serialised with a file lock; Alembic itself takes none.
"""

from __future__ import annotations

import fcntl
from pathlib import Path

from syncd.settings import ProcessSettings
from syncd.state import migrate

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
