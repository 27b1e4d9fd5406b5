"""A tenant's health verdict: ok, degraded or failing, each with a one-line reason.

Pure: ``syncd status`` gathers the facts (state DB and lock) and this module only judges
them, so every rule is tested with small literal inputs and the same facts always give the
same verdict. Rules, most severe first:

failing (syncing does not work):
  F1  the newest run of a stream ended ``aborted``, ``fenced`` or ``crashed`` (its process died
      mid-run: ``syncd.state.runs`` closes such a run once its lease is gone). An attempt that
      aborted before its first run counts too: it is recorded as an ``aborted`` run of each
      stream it was to run, so a tenant whose only sync never got going is not ``ok``;
  F2  a job was dead-lettered (poison) after the newest job that went through;
  F3  the newest finished job failed (``failed``/``aborted``/``dead``/``fenced``) and no stream
      has had a successful run within ``STALE_FACTOR`` x the schedule interval.
degraded (syncing works, something needs a look):
  D1  the newest finished job failed, but a stream succeeded recently (a blip, so far);
  D2  open ``permanent`` failures: Thulium refused rows syncd will not send again unchanged;
  D3  open ``retryable``/``waiting`` failures older than ``RETRY_ROUNDS`` retry rounds
      (a round is the larger of the tenant's ``retry_interval`` and the engine's park time);
  D4  the tenant lock has been held longer than the broker's visibility timeout (no daemon
      run lasts that long: the holder is stuck or is a hand-run sync left running);
  D5  a stream of a daemon-run tenant (one with jobs) has had no successful run within
      ``STALE_FACTOR`` x interval while nobody holds the lock (the daemon is down or not
      scheduling it).
ok: none of these. ``rejected`` rows (invalid in the source, never sent) do not degrade a
tenant on their own: they are the source's data quality, counted by ``syncd status`` and
listed by ``syncd failures list``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from syncd.vocabulary import (
    BROKEN_RUNS,
    FAILED_JOBS,
    SUCCEEDED_JOBS,
    UNFINISHED_JOBS,
    HealthStatus,
    JobStatus,
)

OK, DEGRADED, FAILING = HealthStatus.OK, HealthStatus.DEGRADED, HealthStatus.FAILING
STALE_FACTOR = 3  # missed intervals before "no successful run" is more than scheduling jitter
RETRY_ROUNDS = 2  # a retryable row still open after this many retry rounds is stuck
ERROR_CHARS = 80


@dataclass(frozen=True, slots=True)
class StreamFacts:
    stream: str
    last_status: str | None = None  # the newest run's status; None: never ran
    last_error: str | None = None
    last_success: datetime | None = None  # start of the newest ok/partial run
    permanent: int = 0  # open permanent failures
    pending: int = 0  # open retryable + waiting failures
    oldest_pending: datetime | None = None  # first_failed_at of the oldest of those
    interval: timedelta | None = None  # its own schedule (activity streams); None: the tenant's interval


@dataclass(frozen=True, slots=True)
class JobFacts:
    id: str
    status: str
    attempts: int = 1
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    """The tenant's schedule and the deployment's limits, as durations."""

    interval: timedelta
    retry_interval: timedelta
    park_for: timedelta  # how long the engine parks a retryable row before it is due
    lock_limit: timedelta  # the broker's visibility timeout

    @property
    def stale_after(self) -> timedelta:
        return self.interval * STALE_FACTOR

    @property
    def stuck_after(self) -> timedelta:
        return max(self.retry_interval, self.park_for) * RETRY_ROUNDS


@dataclass(frozen=True, slots=True)
class TenantFacts:
    now: datetime
    policy: Policy
    streams: Sequence[StreamFacts]
    jobs: Sequence[JobFacts] = ()  # newest first
    managed_since: datetime | None = None  # the first daemon job; None: never run by the daemon
    lock_holder: str | None = None
    lock_since: datetime | None = None  # when the holder took the lease


@dataclass(frozen=True, slots=True)
class Finding:
    level: str
    rule: str
    reason: str


@dataclass(frozen=True, slots=True)
class Verdict:
    level: str
    findings: tuple[Finding, ...] = ()

    @property
    def reason(self) -> str:
        """One line: the most severe finding, and how many more there are."""
        if not self.findings:
            return "every stream synced within its interval; nothing waits for a person"
        more = len(self.findings) - 1
        return self.findings[0].reason + (f" (+{more} more)" if more else "")


def verdict(facts: TenantFacts) -> Verdict:
    failing = failing_findings(facts)
    degraded = degraded_findings(facts, {f.rule for f in failing})
    findings = tuple(failing + degraded)
    level = FAILING if failing else DEGRADED if degraded else OK
    return Verdict(level, findings)


def unavailable(reason: str, *, never_ran: bool = False) -> Verdict:
    """A tenant whose file or state DB cannot be read is failing; one that never ran is degraded."""
    level = DEGRADED if never_ran else FAILING
    return Verdict(level, (Finding(level, "state", reason),))


# -- failing ---------------------------------------------------------------------------------------


def failing_findings(facts: TenantFacts) -> list[Finding]:
    found = [broken_run(s) for s in facts.streams if s.last_status in BROKEN_RUNS]
    poison = poison_job(facts.jobs)
    if poison is not None:
        reason = f"job {poison.id} dead-lettered after {poison.attempts} deliveries"
        found.append(Finding(FAILING, "F2", reason))
    stalled = no_progress(facts)
    if stalled is not None:
        found.append(stalled)
    return found


def broken_run(stream: StreamFacts) -> Finding:
    reason = f"{stream.stream}: last run {stream.last_status}{detail(stream.last_error)}"
    return Finding(FAILING, "F1", reason)


def poison_job(jobs: Sequence[JobFacts]) -> JobFacts | None:
    """The newest dead job not followed by a job that went through."""
    for job in jobs:
        if job.status in SUCCEEDED_JOBS:
            return None
        if job.status == JobStatus.DEAD:
            return job
    return None


def no_progress(facts: TenantFacts) -> Finding | None:
    job = newest_finished(facts.jobs)
    if job is None or job.status not in FAILED_JOBS:
        return None
    last = max((s.last_success for s in facts.streams if s.last_success), default=None)
    stale_after = facts.policy.stale_after
    if last is not None and facts.now - last <= stale_after:
        return None
    if last is None:
        since = "no successful run ever"
    else:
        limit = f"{STALE_FACTOR} x interval {span(facts.policy.interval)}"
        since = f"no successful run for {span(facts.now - last)} (> {limit})"
    reason = f"{since} and job {job.id} {job.status}{detail(job.error)}"
    return Finding(FAILING, "F3", reason)


def newest_finished(jobs: Sequence[JobFacts]) -> JobFacts | None:
    # a skip says nothing about the tenant's health
    return next((job for job in jobs if job.status not in UNFINISHED_JOBS), None)


# -- degraded --------------------------------------------------------------------------------------


def degraded_findings(facts: TenantFacts, failing_rules: set[str]) -> list[Finding]:
    """D1 and D5 restate F2/F3 ("jobs fail", "nothing synced"), so they are left out when those fired."""
    found: list[Finding] = []
    if not failing_rules & {"F2", "F3"}:
        found += failed_job(facts)
    for stream in facts.streams:
        found += stream_findings(stream, facts)
    found += long_lock(facts)
    if "F3" not in failing_rules:
        found += [f for s in facts.streams if (f := stale_stream(s, facts)) is not None]
    return found


def failed_job(facts: TenantFacts) -> list[Finding]:
    job = newest_finished(facts.jobs)
    if job is None or job.status not in FAILED_JOBS:
        return []
    return [Finding(DEGRADED, "D1", f"last job {job.id} {job.status}{detail(job.error)}")]


def stream_findings(stream: StreamFacts, facts: TenantFacts) -> list[Finding]:
    found: list[Finding] = []
    if stream.permanent:
        found.append(
            Finding(
                DEGRADED,
                "D2",
                f"{stream.stream}: {plural(stream.permanent, 'permanent failure')} refused by Thulium "
                "(syncd failures list --kind permanent)",
            )
        )
    oldest = stream.oldest_pending
    if stream.pending and oldest is not None and facts.now - oldest > facts.policy.stuck_after:
        found.append(
            Finding(
                DEGRADED,
                "D3",
                f"{stream.stream}: {plural(stream.pending, 'retryable/waiting failure')}, "
                f"oldest open {span(facts.now - oldest)}",
            )
        )
    return found


def long_lock(facts: TenantFacts) -> list[Finding]:
    if facts.lock_holder is None or facts.lock_since is None:
        return []
    held = facts.now - facts.lock_since
    if held <= facts.policy.lock_limit:
        return []
    reason = f"lock held by {facts.lock_holder} for {span(held)} (limit {span(facts.policy.lock_limit)})"
    return [Finding(DEGRADED, "D4", reason)]


def stale_stream(stream: StreamFacts, facts: TenantFacts) -> Finding | None:
    interval = stream.interval or facts.policy.interval
    stale_after = interval * STALE_FACTOR
    managed = facts.managed_since is not None and facts.now - facts.managed_since > stale_after
    if not managed or facts.lock_holder is not None:
        return None
    last = stream.last_success
    if last is not None and facts.now - last <= stale_after:
        return None
    since = "never synced" if last is None else f"no successful run for {span(facts.now - last)}"
    return Finding(DEGRADED, "D5", f"{stream.stream}: {since} (interval {span(interval)})")


# -- wording ---------------------------------------------------------------------------------------


def detail(error: str | None) -> str:
    """The first line of an error, cut short: the verdict is one line."""
    line = (error or "").strip().split("\n", 1)[0]
    if not line:
        return ""
    return f": {line[:ERROR_CHARS]}" + ("…" if len(line) > ERROR_CHARS else "")


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def span(delta: timedelta) -> str:
    """A rough, readable duration: 45s, 12m, 5h, 3d."""
    seconds = max(0, int(delta.total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * 2 or (unit == "m" and seconds >= size):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
