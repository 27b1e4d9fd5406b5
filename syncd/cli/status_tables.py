"""``syncd status`` as text: per tenant its lock and health line, a table of streams, the recent jobs."""

from __future__ import annotations

from datetime import datetime

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from syncd.app.health_verdict import DEGRADED, FAILING, OK, Verdict
from syncd.app.state_views import JobInfo, RunRecord
from syncd.app.tenant_status import StreamStatus, TenantStatus
from syncd.cli.run_tables import counters_summary
from syncd.vocabulary import RunStatus

HEALTH_STYLE: dict[str, str] = {OK: "green", DEGRADED: "yellow", FAILING: "red"}


def render_status(tenants: list[TenantStatus], console: Console) -> None:
    for tenant in tenants:
        name, lock = escape(tenant.name), escape(tenant.lock)
        console.print(f"[bold]tenant {name}[/bold]  lock: {lock}{health_line(tenant.health)}")
        for finding in tenant.health.findings[1:] if tenant.health else ():
            console.print(f"  · {escape(finding.reason)}")
        if tenant.error:
            console.print(f"  {escape(tenant.error)}")
            continue
        console.print(streams_table(tenant.streams))
        if tenant.jobs:
            console.print(jobs_table(tenant.jobs))


def health_line(health: Verdict | None) -> str:
    if health is None:
        return ""
    style = HEALTH_STYLE.get(health.level, "bold")
    return f"  health: [{style}]{health.level}[/{style}] — {escape(health.reason)}"


def streams_table(streams: list[StreamStatus]) -> Table:
    table = Table(
        "stream",
        "cursor",
        "last run",
        "counts",
        "took",
        "linked",
        "pending",
        "failed",
        "retrying",
        "warnings",
    )
    for s in streams:
        run = s.last_run
        table.add_row(
            s.stream,
            escape(s.cursor or "-"),  # it ends with a source key: text, never markup
            last_run(run) if run else "never",
            run_counts(run) if run else "-",
            duration(run.started_at, run.finished_at) if run else "-",
            str(s.counts.linked),
            str(s.counts.pending),
            str(s.counts.failed),
            str(s.counts.retryable),
            str(s.counts.warnings),
        )
    return table


def jobs_table(jobs: list[JobInfo]) -> Table:
    table = Table(
        "job", "trigger", "kind", "status", "attempts", "queued", "took", "note", title="recent jobs"
    )
    for job in jobs:
        table.add_row(
            job.id,
            job.trigger,
            job.kind + (f" ({', '.join(job.streams)})" if job.streams else ""),
            job.status,
            str(job.attempts),
            age(job.created_at),
            duration(job.started_at, job.finished_at) if job.started_at else "-",
            escape((job.error or "")[:80]),
        )
    return table


def last_run(run: RunRecord) -> str:
    """Running and crashed runs also say when their process was last seen."""
    text = f"#{run.id} {run.status} {age(run.started_at)}"
    if run.status in (RunStatus.RUNNING, RunStatus.CRASHED) and run.last_seen_at is not None:
        text += f" (seen {age(run.last_seen_at)})"
    return text + (f" job {run.job_id}" if run.job_id else "")


def run_counts(run: RunRecord) -> str:
    """The same summary as `syncd runs` (campaign runs too: added, removed), then the API requests."""
    requests = run.counters.get("requests")
    parts = (counters_summary(run.counters), f"requests={requests}" if requests else "")
    return " ".join(part for part in parts if part)


def age(moment: datetime) -> str:
    seconds = int((datetime.now(moment.tzinfo) - moment).total_seconds())
    if seconds < 120:
        return f"{seconds}s ago"
    if seconds < 7200:
        return f"{seconds // 60}m ago"
    return f"{seconds // 3600}h ago"


def duration(start: datetime, end: datetime | None) -> str:
    if end is None:
        return "running"
    return f"{(end - start).total_seconds():.1f}s"
