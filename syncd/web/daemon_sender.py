"""The web process's way to hand a recorded job to the daemon: the run task, on the live broker.

The Celery app is this object's own, so the web process shares no global Celery state and closes
its broker connections with the app. Webhook runs and the console's actions send through one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from syncd.settings import ProcessSettings


class DaemonSender:
    def __init__(self, settings: ProcessSettings) -> None:
        self._settings = settings
        self._guard = threading.Lock()
        self._celery: Any = None
        self._celery_broker: str | None = None

    def send(self, broker: str, tenant: str, job_id: str) -> None:
        from syncd.worker.app import RUN_TASK, SEND_RETRY

        self._app(broker).send_task(RUN_TASK, args=[tenant, job_id], retry=True, retry_policy=SEND_RETRY)

    def hand_off(self, broker: str) -> Callable[[str, str], None]:
        """What ``enqueue_job`` hands a recorded job to: this sender, on that broker."""
        return lambda tenant, job_id: self.send(broker, tenant, job_id)

    def close(self) -> None:
        with self._guard:
            if self._celery is not None:
                self._celery.close()
            self._celery = self._celery_broker = None

    def _app(self, broker: str) -> Any:
        from celery import Celery

        from syncd.worker.app import celery_config

        with self._guard:
            if self._celery is None or self._celery_broker != broker:
                if self._celery is not None:
                    self._celery.close()
                app = Celery("syncd-web", set_as_current=False)
                app.conf.update(celery_config(self._settings, broker))
                self._celery, self._celery_broker = app, broker
            return self._celery
