"""The state layer: every query of the state DB, one store per aggregate, each scoped to one tenant.

- ``repository``: ``StateStore``, the engine's ``Store``: links, cursors, and each batch written in
  one transaction with its failures and its run's sign of life
- ``cursors``: the cursors table (a stream's position, a campaign's poll mark)
- ``run_log``: ``RunLog`` and ``RunRecord``, the one shape of a run; ``runs``: which running runs
  have died (closed as ``crashed``)
- ``failure_log``: ``FailureLog``, the failure log for a run's commits and for ops (find, count,
  retry, resolve); the kind policy is ``syncd.vocabulary``'s
- ``jobs``, ``leases``: the daemon's jobs and schedule slots, the tenant lock's fencing epochs
- ``members``: campaign members; ``event_log``: webhook events; ``stream_counts``: what
  ``syncd status`` counts per stream
- ``db`` (``StateDb``, ``StateDbs``), ``errors`` (``StateDbError``): what the layers above hold
  and catch instead of SQLAlchemy's engines, sessions and exceptions
- ``models``, ``types``, ``upsert``, ``rows``, ``scope``: the tables and what the stores share;
  ``migrate``: the schema's revisions
"""
