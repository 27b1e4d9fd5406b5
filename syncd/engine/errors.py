"""Errors that end a run early; everything else about a row is recorded and the run goes on."""


class RunAborted(Exception):
    """Nothing sensible can continue: bad credentials, a refused mass delete, a broken source.

    Adapters raise it for failures that are the configuration's fault, so the engine does
    not retry them row by row.
    """
