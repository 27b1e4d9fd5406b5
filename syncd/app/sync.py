"""Sync one tenant: its streams in order, each recorded as a run in the state DB.

Shared by the CLI and (later) the Celery tasks, so both behave the same.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from syncd.app.attempts import Attempt, record_aborted_attempt
from syncd.app.campaigns import (
    CampaignSetupError,
    LinkedCustomers,
    Statuses,
    campaign_run,
    check_campaigns,
    timed,
)
from syncd.app.preflight import stops_thulium_probes, thulium_problem
from syncd.app.runtime import SystemClock, TenantRuntime, configured_streams, run_options, stream_spec
from syncd.engine.campaigns.run import Relinked, StaleLinks, campaign_stream
from syncd.engine.crm.run import StreamRun
from syncd.engine.errors import LeaseLost, RunAborted, StoreUnavailable
from syncd.engine.ports import Commit, FailureRecord
from syncd.observability.logs import register_basic_auth
from syncd.observability.metrics import API_METRICS, record_run
from syncd.settings import Tenant
from syncd.settings.activity import ACTIVITY_STREAMS
from syncd.state.errors import StateDbError
from syncd.thulium import ThuliumError
from syncd.vocabulary import FailureKind, JobKind, RunStatus, Trigger

STOPPED = (RunStatus.ABORTED, RunStatus.FENCED)  # customers must not run after their companies stopped

log = logging.getLogger("syncd.sync")

Progress = Callable[[str, dict[str, int]], None]


@dataclass
class StreamOutcome:
    stream: str
    status: str  # a RunStatus
    counters: dict[str, int]
    requests: int
    seconds: float
    preview: dict[str, list[str]] = field(default_factory=dict)
    error: str | None = None
    cause: BaseException | None = field(default=None, repr=False, compare=False)


@dataclass
class TenantOutcome:
    tenant: str
    streams: list[StreamOutcome]
    problems: list[str] = field(default_factory=list)  # ``file: key: problem`` lines that stopped it all

    @property
    def exit_code(self) -> int:
        """0: all synced; 2: finished with rejected, failed or waiting rows; 1: aborted."""
        if self.problems or any(s.status in STOPPED for s in self.streams):
            return 1
        if any(s.status == RunStatus.PARTIAL for s in self.streams):
            return 2
        return 0


def sync_tenant(
    runtime: TenantRuntime,
    *,
    streams: Sequence[str] | None = None,
    full: bool = False,
    dry_run: bool = False,
    force: bool = False,
    trigger: str = Trigger.CLI,
    job_id: str | None = None,
    progress: Progress | None = None,
) -> TenantOutcome:
    tenant = runtime.tenant
    register_basic_auth(runtime.client.user, tenant.thulium_password.get_secret_value())
    if runtime.client.observer is None:
        runtime.client.observer = API_METRICS  # API requests and retries, by endpoint, as metrics
    wanted = [s for s in configured_streams(tenant) if streams is None or s in streams]
    outcomes: list[StreamOutcome] = []
    attempt = Attempt(full=full, dry_run=dry_run, force=force, trigger=trigger, job_id=job_id)
    statuses: Statuses = {}
    if "campaigns" in wanted:
        try:  # at start: a rule naming a missing campaign or status must stop the run before any write
            statuses = check_campaigns(runtime.client, tenant.config.campaigns, str(tenant.path))
        except (CampaignSetupError, ThuliumError) as exc:
            log.error("campaigns not started", extra={"tenant": tenant.name, "error": str(exc)})
            if not dry_run:  # no stream ran: the attempt is recorded as aborted runs (app/attempts.py)
                record_aborted_attempt(
                    runtime.store, tenant, streams, exc, full=full, trigger=trigger, job_id=job_id
                )
            aborted = StreamOutcome("campaigns", RunStatus.ABORTED, {}, 0, 0.0, error=str(exc), cause=exc)
            return TenantOutcome(tenant.name, [aborted], stopping_problems(tenant, aborted))
    for stream in wanted:
        if stream in ACTIVITY_STREAMS:
            outcomes.append(sync_activity(runtime, stream, dry_run=dry_run, trigger=trigger, job_id=job_id))
            continue
        if stream == "campaigns":
            outcomes.extend(
                sync_campaigns(runtime, statuses, full=full, dry_run=dry_run, trigger=trigger, job_id=job_id)
            )
            continue
        outcome = sync_stream(runtime, stream, attempt, progress)
        outcomes.append(outcome)
        if outcome.status in STOPPED:
            break  # customers must not run after their companies aborted
    problems = [line for outcome in outcomes for line in stopping_problems(tenant, outcome)]
    return TenantOutcome(tenant.name, outcomes, problems[:1])


def stopping_problems(tenant: Tenant, outcome: StreamOutcome) -> list[str]:
    """A Thulium failure that stops every request is the tenant's problem, named by its key, not one
    stream's: the first stream to meet it would otherwise be blamed for bad credentials."""
    cause = outcome.cause
    if not isinstance(cause, ThuliumError) or not stops_thulium_probes(cause):
        return []
    return [thulium_problem(tenant, cause).render(tenant.path)]


def sync_stream(
    runtime: TenantRuntime, stream: str, attempt: Attempt, progress: Progress | None = None
) -> StreamOutcome:
    tenant = runtime.tenant
    full, dry_run, job_id = attempt.full, attempt.dry_run, attempt.job_id
    options = run_options(tenant, full=full, dry_run=dry_run, force=attempt.force)
    try:
        run_id = (
            None
            if dry_run
            else runtime.store.start_run(stream, attempt.trigger, JobKind.of(full), job_id=job_id)
        )
    except LeaseLost as exc:
        return StreamOutcome(stream, RunStatus.FENCED, {}, 0, 0.0, error=str(exc))
    requests_before = runtime.client.requests_sent
    started = time.monotonic()
    report_progress = (lambda counters: progress(stream, counters)) if progress else None
    engine = StreamRun(
        stream_spec(tenant, stream),
        options,
        runtime.source,
        runtime.store,
        runtime.crm,
        SystemClock(),
        on_progress=report_progress,
        limit=runtime.window,
    )
    error: Exception | None = None
    try:
        counters = engine.run().counters
    except (RunAborted, ThuliumError) as exc:
        counters, error = engine.counters, exc
    if isinstance(error, StoreUnavailable):
        log.error(
            "state DB write failed", extra={"tenant": tenant.name, "stream": stream, "error": str(error)}
        )
    seconds = time.monotonic() - started
    return finish(
        runtime, stream, run_id, counters, error, dry_run, requests_before, seconds, engine.preview, job_id
    )


def sync_campaigns(
    runtime: TenantRuntime,
    statuses: Statuses,
    *,
    full: bool,
    dry_run: bool,
    trigger: str,
    job_id: str | None,
) -> list[StreamOutcome]:
    """One recorded run per rule; a rule that aborts does not stop the others (they share nothing)."""
    outcomes: list[StreamOutcome] = []
    for rule in runtime.tenant.config.campaigns:
        stream = campaign_stream(rule.outbound_id)
        try:
            run_id = (
                None if dry_run else runtime.store.start_run(stream, trigger, JobKind.of(full), job_id=job_id)
            )
        except LeaseLost as exc:
            return [*outcomes, StreamOutcome(stream, RunStatus.FENCED, {}, 0, 0.0, error=str(exc))]
        requests_before = runtime.client.requests_sent
        run = campaign_run(
            runtime, rule, statuses[rule.outbound_id], full=full, dry_run=dry_run, job_id=job_id
        )
        counters, error, seconds = timed(run, relinker(runtime, job_id))
        outcome = finish(
            runtime, stream, run_id, counters, error, dry_run, requests_before, seconds, run.preview, job_id
        )
        outcomes.append(outcome)
        if outcome.status == RunStatus.FENCED:
            break
    return outcomes


def relinker(runtime: TenantRuntime, job_id: str | None) -> Callable[[StaleLinks], Relinked]:
    """Answers a campaign run's stale links: drop the links, let a customers run look each key up
    (or create it) right now, and hand back the ids it linked."""

    def relink(stale: StaleLinks) -> Relinked:
        now = datetime.now(UTC)
        message = "a campaign add found the customer gone from Thulium: the link was stale; re-linking"
        keys = sorted(stale.keys)
        failures = [
            FailureRecord(key, "update", FailureKind.RETRYABLE, message, next_attempt_at=now) for key in keys
        ]
        runtime.store.commit("customers", Commit(unlinked=keys, failures=failures))
        log.warning(
            "relinking customers a campaign found stale",
            extra={"tenant": runtime.tenant.name, "customers": len(keys)},
        )
        sync_stream(runtime, "customers", Attempt(trigger=Trigger.REPAIR, job_id=job_id))
        return LinkedCustomers(runtime).customer_ids(keys)

    return relink


def sync_activity(
    runtime: TenantRuntime, stream: str, *, dry_run: bool, trigger: str, job_id: str | None
) -> StreamOutcome:
    """An activity stream only reads from Thulium and writes the tenant's own tables: a dry run has
    nothing to preview, so it reads nothing."""
    if dry_run:
        return StreamOutcome(stream, RunStatus.DRY_RUN, {}, 0, 0.0)
    from syncd.app.activity import run_activity  # only tenants with [activity] pay for the import

    try:
        run_id = runtime.store.start_run(stream, trigger, JobKind.INCREMENTAL, job_id=job_id)
    except LeaseLost as exc:
        return StreamOutcome(stream, RunStatus.FENCED, {}, 0, 0.0, error=str(exc))
    requests_before, started = runtime.client.requests_sent, time.monotonic()
    counters, error = run_activity(runtime, stream)
    seconds = time.monotonic() - started
    return finish(runtime, stream, run_id, counters, error, False, requests_before, seconds, {}, job_id)


def finish(
    runtime: TenantRuntime,
    stream: str,
    run_id: int | None,
    counters: dict[str, int],
    error: Exception | None,
    dry_run: bool,
    requests_before: int,
    seconds: float,
    preview: dict[str, list[str]],
    job_id: str | None = None,
) -> StreamOutcome:
    """Record how a run ended, log one line, count it, and say it as a StreamOutcome."""
    requests = runtime.client.requests_sent - requests_before
    status = stream_status(counters, error, dry_run)
    message = None if error is None else str(error)
    if run_id is not None:
        try:
            runtime.store.finish_run(run_id, status, {**counters, "requests": requests}, message)
        except StateDbError as exc:  # still unavailable: the run stays "running" in the state DB
            log.error("run end not recorded", extra={"run_id": run_id, "error": type(exc).__name__})
        record_run(runtime.tenant.name, stream, status, counters, seconds)
    line: dict[str, object] = {"tenant": runtime.tenant.name, "stream": stream, "status": status}
    line.update(counters=counters, requests=requests, seconds=round(seconds, 3), run_id=run_id, job_id=job_id)
    if message is not None:
        line["error"] = message
    log.log(logging.WARNING if error else logging.INFO, "run finished", extra=line)
    return StreamOutcome(stream, status, counters, requests, seconds, preview, message, error)


def stream_status(counters: dict[str, int], error: Exception | None, dry_run: bool) -> RunStatus:
    if isinstance(error, LeaseLost):
        return RunStatus.FENCED
    if error is not None:
        return RunStatus.ABORTED
    if dry_run:
        return RunStatus.DRY_RUN
    if counters.get("rejected") or counters.get("failed") or counters.get("waiting"):
        return RunStatus.PARTIAL
    return RunStatus.OK
