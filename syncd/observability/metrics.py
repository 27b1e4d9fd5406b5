"""Prometheus metrics: what runs, API calls, failures and the tenant lock count, and how they are exposed.

Workers are Celery prefork pools: the runs happen in forked children, which come and go, and the
main process that could serve HTTP runs none of them. So workers use prometheus_client's
multiprocess mode: every process writes its samples to memory-mapped files in
``SYNCD_VAR_DIR/metrics``, and whoever serves ``/metrics`` (``syncd web`` on that host, or the
worker itself with ``SYNCD_METRICS_PORT``) sums the files at scrape time. Counters of a child
that died stay in its file, so totals never go backwards while the worker lives. A per-child
HTTP port was the alternative: one port per pool slot, a port that vanishes with its child,
and a scrape config that has to know the pool size.

Labels never carry ids (customer, job, request): only tenants, streams, endpoints as templates
(``PUT customers/:id``), statuses and kinds, so series stay few.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server, values
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

RUN_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
API_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
LOCK_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60)

RECORDS = Counter(
    "syncd_records",
    "Source records by what a run did with them (the run's counters).",
    ["tenant", "stream", "outcome"],
)
RUN_SECONDS = Histogram(
    "syncd_run_duration_seconds",
    "Duration of one stream run, by how it ended.",
    ["tenant", "stream", "status"],
    buckets=RUN_BUCKETS,
)
JOBS = Counter("syncd_jobs", "Daemon jobs (one trigger of a tenant) by how they ended.", ["tenant", "status"])
FAILURES = Counter(
    "syncd_failures",
    "Failures recorded in the state DB (a row that is not in Thulium as it should be).",
    ["tenant", "stream", "kind"],
)
API_REQUESTS = Counter(
    "syncd_api_requests",
    "Thulium API requests sent (each retry counts), by endpoint and HTTP status ('error': no response).",
    ["endpoint", "status"],
)
API_SECONDS = Histogram(
    "syncd_api_request_duration_seconds", "Thulium API request latency.", ["endpoint"], buckets=API_BUCKETS
)
API_RETRIES = Counter(
    "syncd_api_retries",
    "Thulium API requests retried, by endpoint and reason (HTTP status or 'transport').",
    ["endpoint", "reason"],
)
LOCK_WAIT = Histogram(
    "syncd_lock_wait_seconds",
    "Time to take a tenant's lock (and its fencing epoch).",
    ["tenant"],
    buckets=LOCK_BUCKETS,
)
LOCK_BUSY = Counter(
    "syncd_lock_busy", "Triggers that found the tenant's lock held by another run.", ["tenant"]
)


class ApiMetrics:
    """The Thulium client's ``RequestObserver``: the client itself knows nothing of Prometheus."""

    def request_done(self, endpoint: str, status: int | None, seconds: float) -> None:
        API_REQUESTS.labels(endpoint, "error" if status is None else str(status)).inc()
        API_SECONDS.labels(endpoint).observe(seconds)

    def retrying(self, endpoint: str, reason: str) -> None:
        API_RETRIES.labels(endpoint, reason).inc()


API_METRICS = ApiMetrics()


def record_run(tenant: str, stream: str, status: str, counters: Mapping[str, int], seconds: float) -> None:
    for outcome, count in counters.items():
        if count:
            RECORDS.labels(tenant, stream, outcome).inc(count)
    RUN_SECONDS.labels(tenant, stream, status).observe(seconds)


def record_failures(tenant: str, stream: str, kinds: Iterable[str]) -> None:
    for kind in kinds:
        FAILURES.labels(tenant, stream, kind).inc()


# ---- multiprocess mode -------------------------------------------------------------------------------------


def metrics_dir(var_dir: Path) -> Path:
    return var_dir.absolute() / "metrics"


_held: list[int] = []  # the lock file descriptors of this process, open for its whole life


def use_multiprocess(var_dir: Path) -> Path:
    """In a worker's main process before the pool forks: samples go to files the children inherit.

    The folder is emptied only when no other worker on this host holds it (a shared flock every
    worker keeps, inherited by its children): a second worker starting must not wipe the first
    one's live counters, but a restarted host must not add yesterday's counts to today's.
    """
    path = metrics_dir(var_dir)
    path.mkdir(parents=True, exist_ok=True)
    fd = os.open(path / ".workers.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pass  # another live worker: its files stay
    else:
        for stale in path.glob("*.db"):
            stale.unlink(missing_ok=True)
    fcntl.flock(fd, fcntl.LOCK_SH)
    _held.append(fd)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    # Values are created when a label set is first used, from this class: switching it here is enough
    # even though prometheus_client was imported (and the metrics defined) before the variable was set.
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
    return path


class MultiprocessFiles:
    """The samples every process wrote under ``path``, summed; nothing while the folder does not exist."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def collect(self) -> Iterator[Metric]:
        for _ in range(3):
            files = [str(f) for f in self.path.glob("*.db")] if self.path.is_dir() else []
            try:
                merged = MultiProcessCollector.merge(files, accumulate=True)  # type: ignore[no-untyped-call]
            except FileNotFoundError:
                continue  # a worker starting on this host emptied the folder between glob and read
            yield from merged
            return


def serve_worker_metrics(path: Path, port: int, addr: str = "0.0.0.0") -> tuple[WSGIServer, threading.Thread]:
    """For a host with workers but no ``syncd web``: the worker's main process serves the folder.

    Not on a host that runs ``syncd web`` too: both would serve the same files, counted twice.
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MultiprocessFiles(path))
    return start_http_server(port, addr=addr, registry=registry)
