"""The words syncd records in the state DB and prints, each defined once.

They are `StrEnum`s so that a member *is* its string: the state DB columns, the JSON output and
the log lines keep the exact words they always had, while the code names them instead of
spelling them. Orders and groupings that decide behaviour (which run outcome is worse, which
failures a later run retries) live beside the words, so no module keeps its own copy.

This module imports nothing from syncd: every layer, the pure engine included, may read it.
"""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    """How a stream's run ended, as `syncd runs` shows it."""

    RUNNING = "running"  # until the run finishes
    OK = "ok"
    PARTIAL = "partial"  # went through; some rows failed and are recorded
    ABORTED = "aborted"  # stopped early: nothing sensible could go on
    FENCED = "fenced"  # another process took the tenant's lock mid-run
    CRASHED = "crashed"  # its process died; closed by whoever noticed
    DRY_RUN = "dry-run"  # what a dry run reports; never recorded


SUCCEEDED_RUNS = frozenset({RunStatus.OK, RunStatus.PARTIAL})  # reached the end of the source read
BROKEN_RUNS = frozenset({RunStatus.ABORTED, RunStatus.FENCED, RunStatus.CRASHED})


class JobStatus(StrEnum):
    """Where a daemon job is: queued, running, or how it finished."""

    QUEUED = "queued"
    RUNNING = "running"
    OK = "ok"
    PARTIAL = "partial"
    FAILED = "failed"  # never started its runs: a mistake in the tenant's setup, or no broker
    ABORTED = "aborted"
    FENCED = "fenced"
    SKIPPED = "skipped"  # another process held the tenant; nothing to say about its health
    DEAD = "dead"  # delivered again and again without finishing: dead-lettered


ACTIVE_JOBS = frozenset({JobStatus.QUEUED, JobStatus.RUNNING})
SUCCEEDED_JOBS = frozenset({JobStatus.OK, JobStatus.PARTIAL})
FAILED_JOBS = frozenset({JobStatus.FAILED, JobStatus.ABORTED, JobStatus.DEAD, JobStatus.FENCED})
UNFINISHED_JOBS = frozenset({JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.SKIPPED})

# A job that ran several streams finishes as its worst stream did: worst first.
SEVERITY = (RunStatus.FENCED, RunStatus.ABORTED, RunStatus.PARTIAL, RunStatus.OK)


def worst(statuses: list[RunStatus] | list[str]) -> RunStatus:
    """The outcome a set of stream runs adds up to (ok when there were none)."""
    present = set(statuses)
    return next((status for status in SEVERITY if status in present), RunStatus.OK)


class FailureKind(StrEnum):
    """What kind of failure a record's row is, which decides whether and when it is sent again."""

    RETRYABLE = "retryable"  # transient: a later run sends it again once next_attempt_at is due
    WAITING = "waiting"  # waits on something else (its company); retried like retryable
    PERMANENT = "permanent"  # Thulium refused it: not sent again until the payload changes
    REJECTED = "rejected"  # the row itself is invalid: not sent until the source row changes
    WARNING = "warning"  # synced, with something to say: counted apart from failures


PENDING_KINDS = (FailureKind.RETRYABLE, FailureKind.WAITING)  # a later run retries them
BLOCKED_KINDS = (FailureKind.PERMANENT, FailureKind.REJECTED)  # wait for a changed payload


class JobKind(StrEnum):
    """What a job reads: the changes since the cursor, or everything (a full reconcile)."""

    INCREMENTAL = "incremental"
    FULL = "full"

    @classmethod
    def of(cls, full: bool) -> JobKind:
        return cls.FULL if full else cls.INCREMENTAL


class Trigger(StrEnum):
    """Who asked for a run or a job."""

    SCHEDULE = "schedule"
    RETRY = "retry"
    RESYNC = "resync"
    WEBHOOK = "webhook"
    CLI = "cli"
    REPAIR = "repair"  # a customers run a campaign started to re-link customers gone from Thulium


class HealthStatus(StrEnum):
    """A tenant's verdict, as ``syncd status`` and ``/health`` give it (``/health`` answers 503 below OK)."""

    OK = "ok"
    DEGRADED = "degraded"  # syncing, with something to look at
    FAILING = "failing"  # not syncing
