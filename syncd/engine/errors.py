"""Errors that end a run early; everything else about a row is recorded and the run goes on."""

from syncd.errors import Fatal


class RunAborted(Fatal):
    """Nothing sensible can continue: bad credentials, a refused mass delete, a broken source.

    Adapters raise it for failures that are the configuration's fault, so the engine does
    not retry them row by row.
    """


class StoreUnavailable(RunAborted):
    """The state DB refused a commit (locked past its timeout, gone away).

    The transaction rolled back whole; creates Thulium applied meanwhile are marked pending,
    so the next run looks them up rather than creating them again.
    """


class LeaseLost(RunAborted):
    """Another process took the tenant's lock since this run started.

    Whatever this run still wants to write would race the new holder, so it must stop
    without writing; to the engine that is just an aborted run.
    """


class SourceUnavailable(RunAborted):
    """The tenant's database failed a read the reader could not pin on one row: it went away, or a
    table or column the tenant file maps is gone. Nothing of this stream is committed past what was
    read; the next run reads again from the cursor."""
