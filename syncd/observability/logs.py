"""Process logging: one structlog pipeline renders every line, stdlib and structlog alike, redacted.

Celery, aiohttp, httpx and syncd's own modules log through stdlib ``logging``; routing all of them
through one ``ProcessorFormatter`` gives every line the same fields (timestamp, level, logger, and
whatever ``extra=`` carried) and, above all, the same redaction: a password, an Authorization header,
an e-mail address or a phone number must not leave through a library's line or a traceback either.

Formats (``SYNCD_LOG_FORMAT``): ``json`` is one object a line for log shippers; ``console`` is
``key=value``, coloured on a terminal; ``auto`` picks console when stderr is a terminal.

Some libraries log data itself when asked for detail, so they are held at WARNING whatever the level:
httpx logs every request URL at INFO, query string included (``?email=…``); SQLAlchemy logs statements
with their bound values at INFO and result rows at DEBUG, i.e. the source rows (it holds itself at
WARNING on import; syncd says so too, so that no later set-up can lower it).
"""

from __future__ import annotations

import base64
import logging
import re
import sys
import threading
from collections.abc import Mapping
from typing import Any, Literal, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

QUIET_LOGGERS = ("httpx", "httpcore", "sqlalchemy", "alembic.runtime.plugins", "alembic.runtime.migration")
# Celery logs every tick and task receipt at INFO; syncd's own lines say what each job did.
CHATTY_LOGGERS = ("celery.beat", "celery.worker.strategy", "celery.app.trace")

HANDLER_NAME = "syncd"
REDACTED = "[redacted]"
REDACTED_EMAIL = "[redacted-email]"
REDACTED_PHONE = "[redacted-phone]"
MIN_SECRET_CHARS = 6  # shorter known secrets would redact ordinary words

Renderer = Literal["json", "console"]


# ---- set-up ------------------------------------------------------------------------------------------------


def configure_logging(level: str, fmt: str | None = None, *, stream: TextIO | None = None) -> None:
    """Route stdlib and structlog through one formatter on stderr; safe to call again (Celery does).

    ``fmt`` defaults to ``SYNCD_LOG_FORMAT``. Only the handler installed here is replaced, so handlers
    others added to the root logger (pytest's capture, for one) keep working.
    """
    if fmt is None:
        from syncd.settings import ProcessSettings

        fmt = ProcessSettings().log_format
    handler = StderrHandler(stream)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(
        make_formatter(renderer_for(fmt, handler.target()), colors=_isatty(handler.target()))
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if level == "DEBUG" else logging.WARNING)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.filter_by_level,
            *_base_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def renderer_for(fmt: str, stream: TextIO) -> Renderer:
    if fmt == "json":
        return "json"
    if fmt == "console":
        return "console"
    return "console" if _isatty(stream) else "json"


def make_formatter(renderer: Renderer, *, colors: bool = False) -> structlog.stdlib.ProcessorFormatter:
    """Foreign (stdlib) records get the same fields as structlog events, then both are redacted."""
    render: Processor
    if renderer == "json":
        render = structlog.processors.JSONRenderer(default=str)
    else:
        render = structlog.dev.ConsoleRenderer(colors=colors, sort_keys=False)
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_base_processors(), add_extras],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            # Tracebacks become text *before* redaction: a pretty renderer formatting them itself would
            # bypass it (and rich's shows local variables, payloads included).
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            redact,
            ordered,
            render,
        ],
    )


def _base_processors() -> list[Processor]:
    return [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


class StderrHandler(logging.Handler):
    """Writes to ``sys.stderr`` as it is at each line, unless given a stream.

    A handler bound to the stderr of its set-up time keeps writing to a stream that pytest or
    typer's ``CliRunner`` swapped out and closed since.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__()
        self._stream = stream

    def target(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stderr

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            stream = self.target()
            stream.write(line + "\n")
            stream.flush()
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001 -- logging.Handler's contract: a failed emit never raises
            self.handleError(record)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


_RECORD_KEYS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


def add_extras(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    """Fields passed with ``extra=`` on a stdlib call become fields of the line (redacted like the rest)."""
    record = event_dict.get("_record")
    if isinstance(record, logging.LogRecord):
        for key, value in record.__dict__.items():
            if key not in _RECORD_KEYS and not key.startswith("_"):
                event_dict.setdefault(key, value)
    return event_dict


_FIRST = ("timestamp", "level", "logger", "event")


def ordered(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    """When, how bad, who and what first: a JSON line is read by people too."""
    head = {key: event_dict[key] for key in _FIRST if key in event_dict}
    return {**head, **{k: v for k, v in event_dict.items() if k not in head}}


# ---- redaction ---------------------------------------------------------------------------------------------

_secrets: tuple[str, ...] = ()
_secrets_lock = threading.Lock()


def register_secret(*values: str) -> None:
    """Known secrets (a tenant's Thulium password) are cut out wherever they appear, whatever the context.

    The rules below only see shapes (``password=…``, ``Authorization: Basic …``); a secret quoted in some
    library's error text has no shape, so the values loaded from the tenant files are redacted literally.
    """
    global _secrets
    with _secrets_lock:
        known = set(_secrets)
        known.update(v for v in values if len(v) >= MIN_SECRET_CHARS)
        _secrets = tuple(sorted(known, key=len, reverse=True))


def register_basic_auth(user: str, password: str) -> None:
    """The password and the ``Authorization: Basic`` value it makes with ``user``."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    register_secret(password, token)


_CREDENTIAL_KEY = re.compile(
    r"passw(?:or)?d|^pass$|^pwd$|secret|token|authori[sz]ation|api[_-]?key|credential|cookie|^auth$"
)
_EMAIL_KEY = re.compile(r"e[_-]?mail|^mail$")
_PHONE_KEY = re.compile(r"phone|mobile|msisdn|^fax|^tel(?:ephone)?$")
# Values of these keys are ids, counters and times: never mistaken for phone numbers.
_DIGITS_OK_KEYS = frozenset(
    {"timestamp", "level", "logger", "seconds", "requests", "attempt", "attempts", "epoch", "pid", "port"}
)

# Patterns start at a literal or at the start of a run (lookbehind) and use possessive quantifiers where
# they may: a log line can be long, and a pattern that retries every position of a run is quadratic.
_URL_USERINFO = re.compile(r"(?<![a-zA-Z0-9+.-])([a-zA-Z][a-zA-Z0-9+.-]*+://)[^\s/@:]*+:[^\s/@]*+@")
_AUTH_HEADER = re.compile(
    r"(?i)\b((?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?)"
    r"(?>(?:(basic|bearer|digest|negotiate|token)\s+)?)(?!\[redacted)[^\s\"',;}\]]+"
)
# "Basic <token>" anywhere: the token must have a non-letter (base64, JWT) so "basic realm" survives.
_AUTH_SCHEME = re.compile(r"(?i)\b(basic|bearer)\s+(?=[A-Za-z0-9+/=._~-]*[0-9+/=._~-])[A-Za-z0-9+/=._~-]{8,}")
_CREDENTIAL_PAIR = re.compile(
    r"(?i)((?:passw(?:or)?d|pwd|secret|token|api[_-]?key|credentials?)[\w.-]*+"
    r"[\"']?\s*(?:=|:(?=\s*[\"']))\s*)"
    r"(?!\[redacted)(?:([\"'])(?:(?!\2).)*\2|[^\s\"'&,;)}\]]+)"
)
_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]++@+(?:[\w-]++\.)+[^\W\d_]{2,}\b")
# A phone candidate: optional +, an optional bracketed area/country code, then digit groups joined by
# single spaces, dashes or dots. Not glued to a word, a path, a decimal or a longer number on either side.
_PHONE = re.compile(
    r"(?<![\w+./-])"
    r"(?:\+\s?)?(?:\(\+?\d{1,4}\)\s?)?\d+(?:[ .-]\d+)*"
    r"(?![.:/-]?\w)"
)
# Digit shapes that are not phone numbers: ISO and European dates, decimals, IPv4, epoch s/ms (2001 to 2033).
_NOT_A_PHONE = re.compile(
    r"\d{4}-\d{2}-\d{2}|\d{2}[./-]\d{2}[./-]\d{4}|\d+\.\d+|\d{1,3}(?:\.\d{1,3}){3}|1\d{9}|1\d{12}"
)
# Just before the number: it is named as an id, key, job, run, epoch, pid or port (``request_id=…``).
_ID_CONTEXT = re.compile(
    r"(?:(?i:(?:\b|_)(?:ids?|keys?|job|run|epoch|pid|port))|[a-z](?:Id|Key)s?)[\s=:#\"'\[(]*$"
)
_PHONE_DIGITS = range(7, 16)


def redact(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    """The structlog processor: every field, nested ones included, for structlog and stdlib lines alike."""
    return {key: redact_field(key, value) for key, value in event_dict.items()}


def redact_field(key: object, value: Any) -> Any:
    name = str(key).lower()
    if value is None or value == "":
        return value
    if _CREDENTIAL_KEY.search(name):
        return REDACTED
    if _EMAIL_KEY.search(name) and not isinstance(value, Mapping):
        return REDACTED_EMAIL
    if _PHONE_KEY.search(name) and not isinstance(value, Mapping):
        return REDACTED_PHONE
    ids = name in _DIGITS_OK_KEYS or name.endswith(("id", "ids", "key", "keys"))
    return redact_value(value, phones=not ids)


def redact_value(value: Any, *, phones: bool = True) -> Any:
    if isinstance(value, bool | int | float) or value is None:
        return value  # counters and durations; a phone in an int field is caught by its key's name
    if isinstance(value, str):
        return redact_text(value, phones=phones)
    if isinstance(value, Mapping):
        return {k: redact_field(k, v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(v, phones=phones) for v in value]
    if isinstance(value, bytes):
        return redact_text(value.decode("utf-8", "replace"), phones=phones)
    return redact_text(str(value), phones=phones)  # an exception, a path, a datetime: as the renderer would


def redact_text(text: str, *, phones: bool = True) -> str:
    """Secrets, credentials in URLs and headers, e-mail addresses and (unless ``phones=False``) phones."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    if "://" in text:
        text = _URL_USERINFO.sub(rf"\1{REDACTED}@", text)
    text = _AUTH_HEADER.sub(_auth_header, text)
    text = _AUTH_SCHEME.sub(rf"\1 {REDACTED}", text)
    text = _CREDENTIAL_PAIR.sub(_credential_pair, text)
    if "@" in text:
        text = _EMAIL.sub(REDACTED_EMAIL, text)
    if phones:
        text = _PHONE.sub(_phone, text)
    return text


def _auth_header(match: re.Match[str]) -> str:
    scheme = match.group(2)
    return f"{match.group(1)}{scheme + ' ' if scheme else ''}{REDACTED}"


def _credential_pair(match: re.Match[str]) -> str:
    quote = match.group(2) or ""
    return f"{match.group(1)}{quote}{REDACTED}{quote}"


def _phone(match: re.Match[str]) -> str:
    candidate = match.group(0)
    digits = sum(c.isdigit() for c in candidate)
    if digits not in _PHONE_DIGITS or _NOT_A_PHONE.fullmatch(candidate):
        return candidate
    if _ID_CONTEXT.search(match.string, max(0, match.start() - 24), match.start()):
        return candidate
    return REDACTED_PHONE
