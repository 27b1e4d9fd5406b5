"""The Celery app, set for at-least-once delivery where a redelivered task is harmless.

Every run commits page by page and re-reads from its last commit, so the safe failure mode is
"run again": late acks and reject-on-worker-lost make a crashed task come back, the job's
attempt count in the state DB stops a poison task from looping, and time limits stay under
the broker's visibility timeout so a slow task is never redelivered while it still runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import Celery, signals

from syncd.settings import ProcessSettings

RUN_TASK = "syncd.run"
TICK_TASK = "syncd.tick"
QUEUE = "syncd"
SEND_RETRY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1.0}

app = Celery("syncd", include=["syncd.worker.tasks"])


def celery_config(settings: ProcessSettings, broker: str) -> dict[str, Any]:
    visibility = settings.visibility_timeout
    return {
        "broker_url": broker,
        "broker_transport_options": {
            "visibility_timeout": visibility,
            # sweep for abandoned (unacked) messages often enough to honour a short timeout
            "unacked_restore_interval": max(1, min(10, int(visibility / 4))),
            "unacked_restore_throttle": 1,
        },
        "broker_connection_retry_on_startup": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_acks_on_failure_or_timeout": True,
        "worker_prefetch_multiplier": 1,
        "worker_concurrency": settings.worker_concurrency,
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_serializer": "json",
        "task_ignore_result": True,
        "task_default_queue": QUEUE,
        "task_soft_time_limit": visibility * 0.75,
        "task_time_limit": visibility * 0.85,
        "worker_soft_shutdown_timeout": settings.soft_shutdown_seconds,
        "worker_enable_soft_shutdown_on_idle": True,
        "worker_hijack_root_logger": False,
        "worker_redirect_stdouts": False,
        "beat_schedule": {
            "syncd-tick": {
                "task": TICK_TASK,
                "schedule": settings.tick_seconds,
                # a tick nobody picked up in time is worthless: the next one asks again
                "options": {"expires": max(settings.tick_seconds * 2, 2.0)},
            }
        },
    }


def configure(settings: ProcessSettings, broker: str) -> Celery:
    app.conf.update(celery_config(settings, broker))
    return app


def run_hand_off(settings: ProcessSettings, broker: str) -> Callable[[str, str], None]:
    """What hands a recorded job to the daemon: the run task, with the tenant's name and the job's id."""

    def send(tenant: str, job_id: str) -> None:
        configure(settings, broker).send_task(
            RUN_TASK, args=[tenant, job_id], retry=True, retry_policy=SEND_RETRY
        )

    return send


def setup_logging(**_: Any) -> None:
    """Celery configures no logging of its own when this receiver exists: its lines go through syncd's
    formatter (JSON or console, redacted) like every other line, in worker, pool children and beat."""
    from syncd.observability.logs import configure_logging

    configure_logging(ProcessSettings().log_level)


def setup_metrics(**_: Any) -> None:
    """Sent in the worker's main process before the pool forks: the children inherit multiprocess mode."""
    from syncd.observability.metrics import serve_worker_metrics, use_multiprocess

    settings = ProcessSettings()
    path = use_multiprocess(settings.var_dir)
    if settings.metrics_port is not None:
        serve_worker_metrics(path, settings.metrics_port)


def freeze_worker_start_up(**_: Any) -> None:
    """In the main process before the pool forks: the children share the frozen objects' pages too."""
    from syncd.app.collector import freeze_start_up

    freeze_start_up()


signals.setup_logging.connect(setup_logging, weak=False)
signals.worker_init.connect(setup_metrics, weak=False)
signals.worker_init.connect(freeze_worker_start_up, weak=False)
