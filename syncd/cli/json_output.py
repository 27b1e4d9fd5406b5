"""``--json`` for ``syncd status``, ``runs``, ``failures list`` and ``check``: one stable document each.

Scripts and monitoring parse these, so the shapes are a contract, written down as JSON Schemas
in ``syncd/cli/schemas/`` (and validated against them in the tests):

* one top-level object per command, with ``"version": 1``; a change that could break a reader
  (a key renamed, removed or retyped) bumps it, new keys may appear within a version;
* every time of the state DB is ISO 8601 in UTC with a ``Z``; unknown or absent values are
  ``null``, never a missing key or a ``"-"``;
* lists, in the order the text output shows them, wherever order means something (tenants,
  streams, runs newest first); objects only for fixed names or name-to-count maps (counters);
* the same masking as the text output: this module only reshapes what the commands already
  gathered, so no URL password, secret or row value can appear that the tables do not show.

Only plain data goes out: the builders return dicts, ``dumps`` renders them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported by every command's module: keep the CLI's start-up light
    from syncd.app.check import Section, TenantCheck
    from syncd.app.health_verdict import Verdict
    from syncd.app.state_views import FailureRow, JobInfo, RunRecord
    from syncd.app.tenant_status import StreamStatus, TenantStatus
    from syncd.engine.records import Position
    from syncd.settings.errors import ConfigProblem

VERSION = 1
SCHEMA_DIR = Path(__file__).parent / "schemas"
# check's section names as printed, and the stable ids the JSON uses for them
SECTION_IDS = {"source": "source", "state DB": "state", "Thulium": "thulium"}
FILE_SECTION = "file"  # the tenant file itself did not load: nothing else was probed

Document = dict[str, Any]
FAILURE_KEYS = (
    "tenant",
    "stream",
    "source_key",
    "status",
    "kind",
    "operation",
    "http_status",
    "message",
    "request_id",
    "payload_hash",
    "attempts",
    "first_failed_at",
    "last_failed_at",
    "next_attempt_at",
    "resolved_at",
)


def dumps(document: Document) -> str:
    """Indented, ASCII only: the output must survive any terminal or pipe encoding."""
    return json.dumps(document, indent=2, sort_keys=False)


def schema_path(command: str) -> Path:
    """``status``, ``runs``, ``failures`` or ``check`` → the JSON Schema shipped in the package."""
    return SCHEMA_DIR / f"{command}.schema.json"


def utc(moment: datetime | None) -> str | None:
    """State DB times are UTC (naive only where a driver dropped the zone); always written with ``Z``."""
    if moment is None:
        return None
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.isoformat().replace("+00:00", "Z")


def columns(record: object, names: Sequence[str]) -> Document:
    """A record's attributes under their own names, in this order; its times written with ``utc``."""
    return {name: plain(getattr(record, name)) for name in names}


def plain(value: object) -> object:
    return utc(value) if isinstance(value, datetime) else value


def header(now: datetime) -> Document:
    return {"version": VERSION, "generated_at": utc(now)}


# -- syncd status ----------------------------------------------------------------------------------


def status_document(tenants: Sequence[TenantStatus], now: datetime) -> Document:
    return {**header(now), "tenants": [tenant_document(tenant) for tenant in tenants]}


def tenant_document(tenant: TenantStatus) -> Document:
    return {
        "name": tenant.name,
        "health": None if tenant.health is None else verdict_document(tenant.health),
        "lock": {"holder": tenant.lock_holder, "text": tenant.lock},
        "error": tenant.error,
        "streams": [stream_document(stream) for stream in tenant.streams],
        "jobs": [job_document(job) for job in tenant.jobs],
    }


def verdict_document(health: Verdict) -> Document:
    return {
        "level": health.level,
        "reason": health.reason,
        "findings": [
            {"level": finding.level, "rule": finding.rule, "reason": finding.reason}
            for finding in health.findings
        ],
    }


def stream_document(stream: StreamStatus) -> Document:
    counts = stream.counts
    return {
        "stream": stream.stream,
        "cursor": cursor_document(stream.position),
        "last_run": None if stream.last_run is None else run_document(stream.last_run),
        "counts": {
            "linked": counts.linked,
            "pending": counts.pending,
            "failed": counts.failed,
            "retryable": counts.retryable,
            "warnings": counts.warnings,
        },
    }


def cursor_document(position: Position | None) -> Document | None:
    """The source's own values: a timestamp without a zone stays without one (its zone is the source's)."""
    if position is None:
        return None
    return {"updated_at": source_value(position.updated_at), "key": source_value(position.key)}


def source_value(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime) and value.tzinfo is not None:
        return utc(value)
    if isinstance(value, date):  # datetime without a zone, or a date
        return value.isoformat()
    return str(value)


def job_document(job: JobInfo) -> Document:
    return {
        "id": job.id,
        "trigger": job.trigger,
        "kind": job.kind,
        "streams": None if job.streams is None else list(job.streams),
        "status": job.status,
        "attempts": job.attempts,
        "created_at": utc(job.created_at),
        "started_at": utc(job.started_at),
        "finished_at": utc(job.finished_at),
        "seconds": seconds(job.started_at, job.finished_at),
        "error": job.error,
    }


# -- syncd runs ------------------------------------------------------------------------------------


def runs_document(rows: Sequence[RunRecord], now: datetime) -> Document:
    return {**header(now), "runs": [{"tenant": row.tenant, **run_document(row)} for row in rows]}


def run_document(run: RunRecord) -> Document:
    """One run, the same keys in ``status`` (a stream's last run) and ``runs`` (which adds the tenant)."""
    return {
        **columns(run, ("id", "stream", "mode", "trigger", "status", "started_at", "finished_at")),
        "seconds": seconds(run.started_at, run.finished_at),
        "counters": {name: value for name, value in run.counters.items() if name != "requests"},
        **columns(run, ("requests", "error", "job_id", "last_seen_at")),
    }


def seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 3)


# -- syncd failures list ---------------------------------------------------------------------------


def failures_document(
    rows: Sequence[FailureRow], total: int, status: str, limit: int, now: datetime
) -> Document:
    """``total`` counts every match; ``failures`` holds the newest ``limit`` of them."""
    return {
        **header(now),
        "status": status,
        "limit": limit,
        "total": total,
        "failures": [failure_document(row) for row in rows],
    }


def failure_document(row: FailureRow) -> Document:
    """The columns of ``syncd failures export``, under the same names, plus open/resolved."""
    return columns(row, FAILURE_KEYS)


# -- syncd check -----------------------------------------------------------------------------------


def check_document(results: Sequence[TenantCheck], now: datetime) -> Document:
    return {
        **header(now),
        "ok": all(result.ok for result in results),
        "tenants": [check_tenant_document(result) for result in results],
    }


def check_tenant_document(result: TenantCheck) -> Document:
    """Problems in the order the text prints them; a file that does not load has them under ``file``."""
    sections = [section_document(section, result.path) for section in result.sections]
    probed = [problem for section in sections for problem in section["problems"]]
    if not result.sections:
        probed = [problem_document(p, FILE_SECTION, result.path) for p in result.problems]
    return {
        "name": result.name,
        "path": str(result.path),
        "ok": result.ok,
        "problems": probed,
        "sections": sections,
    }


def section_document(section: Section, path: Path) -> Document:
    """The summary is what a clean probe checked; next to problems it would claim what is not so."""
    ident = SECTION_IDS.get(section.name, section.name)
    return {
        "section": ident,
        "ok": not section.problems,
        "summary": None if section.problems else section.summary or None,
        "problems": [problem_document(p, ident, path) for p in section.problems],
    }


def problem_document(problem: ConfigProblem, section: str, path: Path) -> Document:
    """``line`` is the text output's line for it, for scripts that only want to show it."""
    return {"section": section, "key": problem.key, "message": problem.problem, "line": problem.render(path)}
