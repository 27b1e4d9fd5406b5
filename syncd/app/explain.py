"""The last line of defence: an exception that reached the command line becomes one short message.

Commands say their own mistakes first (``syncd check``'s ``file: key: problem`` words, the
preflight of ``syncd sync``); what still escapes is a broker, a database, a port or a file
the user can fix, said here with what to do, or a bug in syncd, said as one and kept for
``--debug`` (or ``SYNCD_LOG_LEVEL=DEBUG``), which re-raises with the traceback. Messages
never carry a password: URLs are masked and driver text is scrubbed.
"""

from __future__ import annotations

import errno
import os

from syncd.source.probe import first_line, mask_url, scrub

DEBUG_ENV = "SYNCD_DEBUG"


def debugging() -> bool:
    return os.environ.get(DEBUG_ENV) == "1" or os.environ.get("SYNCD_LOG_LEVEL", "").upper() == "DEBUG"


def explain(exc: BaseException) -> str:
    """What went wrong and what to do, in at most a few lines."""
    for explainer in (_config, _port, _file, _broker, _database, _thulium):
        message = explainer(exc)
        if message is not None:
            return message
    return (
        f"syncd: unexpected {type(exc).__name__}: {first_line(exc)}\n"
        "This is a bug in syncd: run the command again with --debug for the traceback, and report it."
    )


def _config(exc: BaseException) -> str | None:
    from syncd.settings import ConfigError

    return str(exc) if isinstance(exc, ConfigError) else None


def _port(exc: BaseException) -> str | None:
    if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
        return f"a port is taken ({scrub(str(exc))}): stop what listens there, or pass another --port"
    return None


def _file(exc: BaseException) -> str | None:
    if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError) and exc.filename:
        return f"{exc.filename}: {exc.strerror}"
    return None


def _broker(exc: BaseException) -> str | None:
    import redis
    from kombu.exceptions import OperationalError as KombuError

    if not isinstance(exc, redis.ConnectionError | redis.TimeoutError | KombuError):
        return None
    from syncd.settings import ProcessSettings

    configured = ProcessSettings().broker_url
    where = f"SYNCD_BROKER_URL={mask_url(configured)}" if configured else "the embedded Redis"
    fix = (
        "check that Redis runs there"
        if configured
        else "start the daemon (`syncd up`, or `syncd worker`), or set SYNCD_BROKER_URL"
    )
    return f"cannot reach the broker ({where}): {first_line(exc)}: {fix}"


def _database(exc: BaseException) -> str | None:
    from syncd.state.errors import StateDbError  # the source's errors are the same class

    if not isinstance(exc, StateDbError):
        return None
    cause = getattr(exc, "orig", None) or exc
    return (
        f"a database refused: {type(cause).__name__}: {first_line(cause)}\n"
        "`syncd check --config <tenant file>` says which one (source or state DB) and what to fix."
    )


def _thulium(exc: BaseException) -> str | None:
    from syncd.thulium import ThuliumError

    return f"Thulium: {scrub(str(exc))}" if isinstance(exc, ThuliumError) else None
