"""The console's buttons, doing what the CLI's commands do: blocking, so call them from a thread.

Retry makes the chosen failures due and queues an incremental run of their streams on the daemon
(``syncd failures retry``); resolve closes them (``syncd failures resolve``); resync queues a job
(``syncd resync``). Every job is recorded in the state DB before it is handed to the broker, so
the id the page shows always exists. With no live daemon, a retry still makes the rows due and
the schedule picks them up; a resync says there is nothing to hand it to.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from syncd.app.failure_queries import failure_query
from syncd.app.failure_retry import queue_retry, sync_streams
from syncd.app.resync import check_streams, enqueue_job
from syncd.app.schema import ensure_schema
from syncd.app.state_views import FailureQuery, FailureRow, StateViews, TenantStores
from syncd.broker.redis_broker import live_broker_url
from syncd.errors import Skippable
from syncd.observability.logs import redact_text
from syncd.settings import ProcessSettings
from syncd.settings.discovery import TenantRef
from syncd.state.types import utcnow
from syncd.vocabulary import JobKind, Trigger
from syncd.web.console.pages import FailureFilter, current_stores, find_ref
from syncd.web.daemon_sender import DaemonSender


@dataclass(frozen=True)
class Done:
    said: str  # redacted: it may quote a broker's error, and it travels in a URL
    job_id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "said", redact_text(self.said))


class CountChanged(ValueError, Skippable):
    """A bulk action acts on the count the person was shown: if the filter matches another number now, the
    action is skipped, nothing done, and the page says so."""


def failures_text(count: int) -> str:
    return f"{count} failure{'' if count == 1 else 's'}"


def chosen_keys(values: Sequence[str]) -> dict[str, list[str]]:
    """Checkbox values ``stream/key`` by stream: no stream name holds a ``/``, a key may."""
    by_stream: dict[str, list[str]] = defaultdict(list)
    for value in values:
        stream, slash, key = value.partition("/")
        if not slash or not stream or not key:
            raise ValueError(f"not a failure: {value!r} (expected stream/key)")
        by_stream[stream].append(key)
    return dict(by_stream)


def selected(
    stores: TenantStores, chosen: FailureFilter, keys: Sequence[str], every: int | None
) -> list[FailureQuery]:
    """The ticked rows (by stream); or, with ``every``, every open row the filter matches, if that is
    still ``every`` rows: a bulk action acts on the count the person was shown, or not at all."""
    if keys:
        return [_query(stream, chosen, stream_keys) for stream, stream_keys in chosen_keys(keys).items()]
    if every is None:
        raise ValueError("no failure ticked")
    query = _query(chosen.stream, chosen, None)
    now = stores.failures.count(query, utcnow())
    if now != every:
        raise CountChanged(f"the filter matches {now} open failures now, not {every}: look again")
    return [query]


@dataclass(frozen=True)
class Selected:
    """What the form chose: the filter, the ticked ``stream/key`` values, the "all N matching" count."""

    chosen: FailureFilter
    keys: Sequence[str]
    every: int | None


def acted_on(
    settings: ProcessSettings, views: StateViews, name: str, picked: Selected, action: str
) -> tuple[TenantRef, list[FailureRow]]:
    """The failure log's ``retry`` or ``resolve`` on the chosen rows: the failures as they were."""
    ref = find_ref(settings, name)
    stores = current_stores(views, ref)
    act = stores.failures.retry if action == "retry" else stores.failures.resolve
    rows: list[FailureRow] = []
    for query in selected(stores, picked.chosen, picked.keys, picked.every):
        rows += act(query, utcnow())
    return ref, rows


def retry(
    settings: ProcessSettings,
    views: StateViews,
    sender: DaemonSender,
    name: str,
    chosen: FailureFilter,
    keys: Sequence[str],
    every: int | None = None,
) -> Done:
    ref, rows = acted_on(settings, views, name, Selected(chosen, keys, every), "retry")
    if not rows:
        return Done("no open failures match")
    due, streams = f"{failures_text(len(rows))} due now", sync_streams(row.stream for row in rows)
    broker = live_broker_url(settings)
    if broker is None:
        return Done(f"{due}; no daemon is running here, so nothing runs them until it starts")
    try:
        job = queue_retry(ref, streams, sender.hand_off(broker))
    except ValueError as exc:
        return Done(f"{due}, but the run was not queued ({exc}); the daemon's next run takes them")
    return Done(f"{due}; queued job {job.id} ({', '.join(streams)})", job.id)


def resolve(
    settings: ProcessSettings,
    views: StateViews,
    name: str,
    chosen: FailureFilter,
    keys: Sequence[str],
    every: int | None = None,
) -> Done:
    _, rows = acted_on(settings, views, name, Selected(chosen, keys, every), "resolve")
    return Done(f"{failures_text(len(rows))} resolved" if rows else "no open failures match")


def resync(
    settings: ProcessSettings, sender: DaemonSender, name: str, *, full: bool, stream: str | None
) -> Done:
    ref = find_ref(settings, name)
    streams = check_streams([stream] if stream else None)
    broker = live_broker_url(settings)
    if broker is None:
        raise ValueError(
            "no daemon is running here: nothing to hand the resync to (start it with `syncd up`)"
        )
    ensure_schema(ref.state_url, settings)
    job = enqueue_job(
        ref,
        sender.hand_off(broker),
        kind=JobKind.of(full),
        trigger=Trigger.RESYNC,
        streams=streams,
    )
    scope = ", ".join(job.streams) if job.streams else "all streams"
    return Done(f"queued job {job.id}: {job.kind} ({scope})", job.id)


def _query(stream: str, chosen: FailureFilter, keys: list[str] | None) -> FailureQuery:
    """Ticked rows are taken by key alone: the filter chose what was shown, the tick what is meant."""
    return failure_query(
        [stream] if stream else None,
        None if keys else ([chosen.kind] if chosen.kind else None),
        "open",
        None if keys else (chosen.older_than or None),
        None if keys else (chosen.newer_than or None),
        keys=keys,
    )
