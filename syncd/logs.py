"""Process logging set-up.

httpx logs every request URL at INFO, query string included (``?email=…``), which would
put personal data in the logs; it is held at WARNING whatever the level asked for.
"""

from __future__ import annotations

import logging

QUIET_LOGGERS = ("httpx", "httpcore", "alembic.runtime.plugins", "alembic.runtime.migration")
# Celery logs every tick and task receipt at INFO; syncd's own lines say what each job did.
CHATTY_LOGGERS = ("celery.beat", "celery.worker.strategy", "celery.app.trace")


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    if level != "DEBUG":
        for name in CHATTY_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
