"""The tenants a ``syncd failures`` or ``syncd runs`` command covers, each with its state DB's stores.

Tenants are found as ``syncd status`` finds them (a tenant file or a folder of them), so one
command covers every tenant a deployment serves; a name narrows it to one. A broken tenant file
is noted and skipped, never fatal for the others, unless it is the one named; a tenant that
never ran has no failures, and one whose state DB cannot be reached is noted, then skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from syncd.app.state_views import UNUSABLE_DB_ERRORS, StateViews, TenantStores
from syncd.errors import Fatal
from syncd.settings import ConfigError, ProcessSettings
from syncd.settings.discovery import TenantRef, tenant_files, tenant_ref
from syncd.source.probe import first_line, mask_url
from syncd.state import migrate
from syncd.state.failure_log import FailureLog
from syncd.state.run_log import RunLog

READY, EMPTY, UNREACHABLE = "ready", "empty", "unreachable"

Note = Callable[[str], object]  # says why a tenant is left out (the CLI: a line on stderr)


class NothingReadable(Fatal):
    """Every chosen tenant's state DB was unreachable: nothing could be read, and why was noted."""


class UnknownTenant(ValueError, Fatal):
    """The tenant named is not served from the tenant folder."""


@dataclass(frozen=True)
class Scope:
    """One tenant whose state DB exists, and its stores there."""

    ref: TenantRef
    stores: TenantStores

    @property
    def name(self) -> str:
        return self.ref.name

    @property
    def failures(self) -> FailureLog:
        return self.stores.failures

    @property
    def runs(self) -> RunLog:
        return self.stores.runs


@contextmanager
def readable_scopes(settings: ProcessSettings, name: str | None, note: Note) -> Iterator[list[Scope]]:
    """The chosen tenants that have a state DB; each state DB opened once, closed at the end.

    Raises ``ConfigError`` or ``UnknownTenant`` when the tenants cannot be listed (or the named one
    does not load), ``NothingReadable`` when none of them could be read.
    """
    views = StateViews()
    try:
        scopes, unreachable = [], 0
        for ref in chosen_refs(settings, name, note):
            state = state_of(ref, note)
            unreachable += state == UNREACHABLE
            if state != READY:
                continue
            scopes.append(Scope(ref, views.stores(ref.name, ref.state_url)))
        if unreachable and not scopes:
            raise NothingReadable
        yield scopes
    finally:
        views.dispose()


def chosen_refs(settings: ProcessSettings, name: str | None, note: Note) -> list[TenantRef]:
    files = tenant_files(settings.config_dir)
    if name is not None:
        files = [file for file in files if file.stem == name]
        if not files:
            raise UnknownTenant(f"{settings.config_dir}: no tenant file named {name}.toml is served here")
    refs = []
    for file in files:
        try:
            refs.append(tenant_ref(file, settings))
        except ConfigError as exc:
            if name is not None:
                raise
            note(f"skipped: {exc}")
    return refs


def state_of(ref: TenantRef, note: Note) -> str:
    """A tenant that never ran has no failures; an unreachable state DB is said, then skipped."""
    try:
        if migrate.is_current(ref.state_url):
            return READY
    except UNUSABLE_DB_ERRORS as exc:
        shown = mask_url(ref.state_url)
        note(f"tenant {ref.name}: cannot reach the state DB {shown}: {first_line(exc)}")
        return UNREACHABLE
    note(f"tenant {ref.name}: no state yet (the tenant has never run)")
    return EMPTY
