"""The web console at ``/`` of ``syncd web``: the state DB as pages, and the CLI's actions as forms.

Pages are rendered on the server (Jinja2, auto-escaped) from the same application-layer views the
CLI prints (``syncd status``, ``syncd failures``, ``syncd runs``); the actions do what the CLI does
(retry, resolve, resync: a job queued on the daemon). Like the CLI it shows keys, ids, counts and
reasons, never a row's values.
"""
