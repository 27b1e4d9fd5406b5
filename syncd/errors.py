"""The root of every exception syncd raises on purpose, and the three things a caller can do about one.

A failure is classified by what must happen next, not by where it came from (singer-sdk's
Fatal / Retriable / Skippable split, applied to a sync daemon)::

    SyncdError
    ├── Fatal        the run or command cannot go on; the same attempt would fail the same way
    │   ├── ConfigError, CampaignSetupError       (settings, app)     a tenant file or rule is wrong
    │   ├── UnknownTenant, NothingReadable        (app)               no tenant to read, or none readable
    │   ├── RunAborted                            (engine)            stop this stream, write nothing more
    │   │   ├── StoreUnavailable, LeaseLost, SourceUnavailable
    │   ├── SourceMissing, UnknownStream, Unusable, TableShapeError   (source)
    │   ├── ThuliumAuthError, ThuliumProtocolError, ThuliumGatewayError (thulium)
    │   └── EmbeddedRedisError, UnsupportedDialect                    (worker, state)
    ├── Retriable    the same request may succeed later; nothing was applied, or it is safe to repeat
    │   ├── ThuliumUnavailable, RetryableFailure                      (thulium)
    │   ├── OutcomeUnknown         (thulium: reconcile first, then repeat)
    │   └── TenantBusy, WolkvoxError                                  (app, activity)
    └── Skippable    one row, record or request is bad; it is recorded with its key and the rest goes on
        ├── InvalidValue, FieldError, CursorTooLong                   (engine, activity, state)
        ├── ThuliumPermanentError: ThuliumRejected, ThuliumNotFound   (thulium)
        └── BadEvent, BodyTooLarge                                    (web)

``ThuliumError`` (the client's own base) and ``ThuliumAPIError`` sit between the root and their
branches: a bare ``ThuliumAPIError`` is an error status the client could not place. Exceptions that
also are a built-in (``ValueError``, ``KeyError``, ``RuntimeError``) keep that base, so no existing
``except`` changes meaning. The sandbox, a test double of Thulium, keeps its own errors.
"""


class SyncdError(Exception):
    """Anything syncd raises on purpose; an exception outside this tree reaching a user is a bug."""


class Fatal(SyncdError):
    """Stop: repeating the same attempt cannot help until something (a file, a password, a table) changes."""


class Retriable(SyncdError):
    """Try again later: the failure is in the moment, not in what was asked."""


class Skippable(SyncdError):
    """Record it and go on: one item is bad, the others are not."""
