"""An attempt that aborts before its first run still leaves a trace: an ``aborted`` run per stream.

A sync can fail before any stream starts: the source database is missing, a table or column is
wrong, Thulium refuses the campaign check. Nothing used to be written, so ``syncd runs`` showed
nothing and health judged the tenant by older runs, or by none at all ("ok", last run: never).

The shape: one ``aborted`` run of each stream the attempt was to run, with the error (it says
"before its first run") and no counters. Not a separate table of attempts: every view already
reads the run log per stream (``syncd runs``, the last run in ``syncd status``, health's F1, the
``syncd_runs`` gauge), so the attempt moves all of them with no new concept; and the next attempt
that gets going replaces it as the stream's newest run, as any run does. Daemon jobs were already
recorded in ``jobs``; they now leave the same runs, so ``syncd runs`` tells one story for both.
The pre-flight (``syncd.app.preflight``: the local part of ``syncd check``) that stops a sync before
anything is written is recorded the same way, but only into a state DB that already exists and is
current: a tenant that never ran stays "no state yet" and no file is created. A dry run writes
nothing and records nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from syncd.app.lease import Lease
from syncd.app.leased_crm import guarded_by
from syncd.app.runtime import TenantRuntime, configured_streams, tenant_runtime
from syncd.engine.campaigns.run import campaign_stream
from syncd.engine.errors import LeaseLost
from syncd.settings import Tenant
from syncd.state.db import UNUSABLE_DB_ERRORS, StateDb
from syncd.state.errors import StateDbError
from syncd.state.repository import StateStore
from syncd.vocabulary import JobKind, Trigger

log = logging.getLogger("syncd.sync")

BEFORE = "before its first run"
ERROR_CHARS = 500


def attempt_streams(tenant: Tenant, streams: Sequence[str] | None) -> list[str]:
    """The streams a sync of ``streams`` (None: all) runs, named as the run log names them."""
    wanted = [s for s in configured_streams(tenant) if streams is None or s in streams]
    rules = tenant.config.campaigns
    return [
        name
        for s in wanted
        for name in ([campaign_stream(r.outbound_id) for r in rules] if s == "campaigns" else [s])
    ]


def attempt_error(error: BaseException | str) -> str:
    """One line: what stopped the attempt (a database error's first line, not its SQL and parameters)."""
    if isinstance(error, str):
        text = error
    elif isinstance(error, StateDbError) or not str(error).strip():
        text = f"{type(error).__name__}: {error}"
    else:  # syncd's own errors say what is wrong and where
        text = str(error)
    line = (text.strip().splitlines() or [""])[0][:ERROR_CHARS]
    return f"{BEFORE}: {line}"


def record_aborted_attempt(
    store: StateStore,
    tenant: Tenant,
    streams: Sequence[str] | None,
    error: BaseException | str,
    *,
    full: bool,
    trigger: str,
    job_id: str | None = None,
) -> None:
    """Never raises: the attempt's own error is what the person must see."""
    mode = JobKind.of(full)
    try:
        store.record_aborted_attempt(
            attempt_streams(tenant, streams), trigger, mode, attempt_error(error), job_id
        )
    except (LeaseLost, StateDbError) as exc:
        log.warning(
            "aborted attempt not recorded", extra={"tenant": tenant.name, "error": type(exc).__name__}
        )


@dataclass(frozen=True)
class Attempt:
    """What every CRM stream run of one sync is asked for: how full, whether it writes, who asked."""

    full: bool = False
    dry_run: bool = False
    force: bool = False
    trigger: str = Trigger.CLI
    job_id: str | None = None


@contextmanager
def attempted_runtime(
    tenant: Tenant,
    state_url: str | None = None,
    *,
    attempt: Attempt,
    lease: Lease | None = None,
    streams: Sequence[str] | None = None,
) -> Iterator[TenantRuntime]:
    """``runtime.tenant_runtime`` fenced by ``lease`` when there is one, recording the attempt as aborted
    runs when the runtime cannot be built."""
    epoch, guard = (None, None) if lease is None else (lease.epoch, guarded_by(lease))
    with ExitStack() as stack:
        try:
            runtime = stack.enter_context(tenant_runtime(tenant, state_url, epoch=epoch, guard=guard))
        except Exception as exc:
            if not attempt.dry_run:
                record_unbuilt(
                    tenant,
                    state_url,
                    epoch,
                    streams,
                    exc,
                    full=attempt.full,
                    trigger=attempt.trigger,
                    job_id=attempt.job_id,
                )
            raise
        yield runtime


def record_refused_attempt(
    tenant: Tenant,
    state_url: str,
    streams: Sequence[str] | None,
    problems: Sequence[str],
    *,
    full: bool,
    trigger: str,
    job_id: str | None = None,
) -> None:
    """The pre-flight found a mistake (``syncd.app.preflight``): recorded when the state DB is there and
    current, so a tenant that ran before is judged by this attempt; a missing or older state DB is left
    untouched (nothing is created by a sync that does not start) and health says "no state yet"."""
    from syncd.state import migrate

    try:
        if not problems or not migrate.is_current(state_url):
            return
    except UNUSABLE_DB_ERRORS:  # an unusable state DB is one of the problems already said
        return
    with StateDb.open(state_url) as db:
        store = StateStore(db.sessions, tenant.name)
        error = "; ".join(problems)
        record_aborted_attempt(store, tenant, streams, error, full=full, trigger=trigger, job_id=job_id)


def record_unbuilt(
    tenant: Tenant,
    state_url: str | None,
    epoch: int | None,
    streams: Sequence[str] | None,
    error: BaseException,
    *,
    full: bool,
    trigger: str,
    job_id: str | None,
) -> None:
    with StateDb.open(state_url or tenant.state_url) as db:
        store = StateStore(db.sessions, tenant.name, epoch=epoch)
        record_aborted_attempt(store, tenant, streams, error, full=full, trigger=trigger, job_id=job_id)
