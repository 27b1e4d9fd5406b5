"""Process logging set-up.

httpx logs every request URL at INFO, query string included (``?email=…``), which would
put personal data in the logs; it is held at WARNING whatever the level asked for.
"""

from __future__ import annotations

import logging

QUIET_LOGGERS = ("httpx", "httpcore", "alembic.runtime.plugins", "alembic.runtime.migration")


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
