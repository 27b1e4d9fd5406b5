"""The Celery tasks. Their arguments are a tenant name and a job id: task messages sit in
Redis, so they carry no payloads and no secrets."""

from __future__ import annotations

from syncd.settings import ProcessSettings
from syncd.worker.app import RUN_TASK, TICK_TASK, app
from syncd.worker.execute import execute_job
from syncd.worker.resources import redis_client
from syncd.worker.schedule import tick


def enqueue_run(tenant: str, job_id: str) -> None:
    app.send_task(RUN_TASK, args=[tenant, job_id])


@app.task(name=TICK_TASK)
def tick_task() -> list[str]:
    settings = ProcessSettings()
    return tick(settings, enqueue_run, redis_client(settings))


@app.task(name=RUN_TASK)
def run_task(tenant: str, job_id: str) -> str:
    settings = ProcessSettings()
    return execute_job(settings, redis_client(settings), tenant, job_id)
