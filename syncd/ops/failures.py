"""Failures for ops: the durations they are filtered by, their export, and the run a retry starts.

The failures themselves are found, counted, retried and resolved by the state layer's failure log
(``syncd.state.failure_log``), which also says what a retry by hand changes.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, fields
from datetime import datetime, timedelta
from typing import Any, TextIO

from syncd.app.attempts import attempted_runtime
from syncd.app.runtime import RUNNABLE_STREAMS
from syncd.app.sync import TenantOutcome, sync_tenant
from syncd.engine.campaigns.run import CAMPAIGN_PREFIX
from syncd.ops.exclusive import exclusive_run
from syncd.settings import ProcessSettings, load_tenant
from syncd.settings.discovery import TenantRef
from syncd.state.failure_log import FailureRow
from syncd.state.jobs import JobInfo
from syncd.vocabulary import JobKind, Trigger
from syncd.worker.leased_crm import guarded_by

FORMATS = ("csv", "json")

_DURATION = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """``30m``, ``2h``, ``7d``, ``1w``, ``1h30m``: what ops type, not ISO 8601."""
    cleaned = text.strip().lower()
    parts = _DURATION.findall(cleaned)
    if not parts or "".join(number + unit for number, unit in parts) != cleaned:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30m, 2h, 7d)")
    return timedelta(seconds=sum(int(number) * _UNITS[unit] for number, unit in parts))


def sync_streams(streams: Iterable[str]) -> list[str]:
    """The ``syncd sync`` streams that settle failures of these state streams (campaign:X → campaigns)."""
    wanted = {"campaigns" if stream.startswith(CAMPAIGN_PREFIX) else stream for stream in streams}
    return [stream for stream in RUNNABLE_STREAMS if stream in wanted]


# -- export ----------------------------------------------------------------------------------------

EXPORT_COLUMNS = tuple(f.name for f in fields(FailureRow))


def export_failures(rows: Iterable[FailureRow], format: str, out: TextIO) -> int:
    """Write ``rows`` as CSV (a header line) or a JSON array; times are ISO 8601 in UTC. Returns the count."""
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}")
    records = [{name: _plain(value) for name, value in asdict(row).items()} for row in rows]
    if format == "json":
        json.dump(records, out, indent=2)
        out.write("\n")
    else:
        writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    return len(records)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


# -- running the retried rows ----------------------------------------------------------------------


def queue_retry(settings: ProcessSettings, ref: TenantRef, streams: Sequence[str], broker: str) -> JobInfo:
    """Queue an incremental run of ``streams`` on the live daemon, recorded first as ``resync`` does."""
    from syncd.ops.resync import enqueue_job

    return enqueue_job(
        settings, ref, broker, kind=JobKind.INCREMENTAL, trigger=Trigger.RETRY, streams=streams
    )


def run_retry_here(settings: ProcessSettings, ref: TenantRef, streams: Sequence[str]) -> TenantOutcome:
    """Run the streams in this process, as ``syncd sync`` does (same lease when a daemon is live).

    Raises ``TenantBusy`` while a daemon run holds the tenant.
    """
    tenant = load_tenant(ref.path, settings)
    with exclusive_run(settings, tenant, tenant.state_url) as lease:
        epoch, guard = (None, None) if lease is None else (lease.epoch, guarded_by(lease))
        wanted = list(streams) or None
        with attempted_runtime(
            tenant, epoch=epoch, guard=guard, streams=wanted, trigger=Trigger.RETRY
        ) as runtime:
            return sync_tenant(runtime, streams=wanted, trigger=Trigger.RETRY)
