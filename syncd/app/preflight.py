"""What a sync checks before its first write, in the words of ``syncd check``.

A renamed column, a mistyped table, a source or state DB that is down: each would otherwise
surface mid-run as a driver traceback, or as some later stream's failure. ``syncd sync`` and
every daemon job run this local part of the check first (the source's mapped columns and
campaign queries, the state DB's reachability and schema), so the mistake is said once, as
``file: key: problem``, and nothing is written. Thulium is not probed here: its first real
request says as much, and ``thulium_problem`` turns a failure that stops every request (bad
credentials, a dead host, a wrong URL) into the same words.
"""

from __future__ import annotations

from syncd.app.check import (
    known_revision,
    state_revision,
    stops_thulium_probes,
    thulium_problem,
    unknown_revision,
    unreachable_state,
)
from syncd.settings import Tenant
from syncd.settings.errors import ConfigProblem
from syncd.source.probe import Unusable, probe_source
from syncd.state import migrate
from syncd.state.errors import StateDbError

__all__ = ["local_problems", "stops_thulium_probes", "thulium_problem"]


def local_problems(tenant: Tenant, state_url: str) -> list[ConfigProblem]:
    """The source first, then the state DB; an empty or older state DB is fine (the sync upgrades it)."""
    return probe_source(tenant.config, tenant.source_url.get_secret_value()) + state_problems(
        tenant, state_url
    )


def state_problems(tenant: Tenant, url: str) -> list[ConfigProblem]:
    try:
        revision = state_revision(url)
    except (Unusable, StateDbError) as exc:
        return [unreachable_state(tenant, url, exc)]
    if revision is None or revision == migrate.HEAD_REVISION or known_revision(revision):
        return []
    return [unknown_revision(tenant, url, revision)]
