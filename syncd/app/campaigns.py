"""Sync a tenant's campaign rules: check them against Thulium, then one recorded run per rule.

Kept apart from ``sync.py`` because a campaign run needs more than one stream's parts:
the customer links and the write-back table. Repairing a stale link takes a customers run, so
``sync.py``, which runs streams, answers a run's ``StaleLinks`` (see ``timed``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Mapping, Sequence

from syncd.app.runtime import SystemClock, TenantRuntime, campaign_options
from syncd.engine.campaigns.plan import Rule
from syncd.engine.campaigns.run import CampaignRun, Relinked, StaleLinks, campaign_stream, run_to_end
from syncd.engine.errors import LeaseLost, RunAborted
from syncd.errors import Fatal
from syncd.settings.tenant import CampaignRule
from syncd.source.campaign_queries import RuleQueries
from syncd.thulium import ThuliumClient, ThuliumError

log = logging.getLogger("syncd.sync")

Statuses = dict[str, dict[int, str]]  # outbound id -> status id -> system status


class CampaignSetupError(ValueError, Fatal):
    """A rule names a campaign or status Thulium does not have: nothing may run until it is fixed."""


def check_campaigns(client: ThuliumClient, rules: Sequence[CampaignRule], where: str) -> Statuses:
    """Every rule's campaign exists and is fed from the CRM, and every status id it names exists."""
    outbounds = {outbound.id: outbound for outbound in client.campaigns.all()}
    problems: list[str] = []
    statuses: Statuses = {}
    for index, rule in enumerate(rules):
        key = f"campaigns[{index}]"
        outbound = outbounds.get(rule.outbound_id)
        if outbound is None:
            known = ", ".join(sorted(outbounds)) or "none"
            problems.append(
                f"{key}.outbound_id: Thulium has no campaign {rule.outbound_id} (it has: {known})"
            )
            continue
        if not outbound.crm:
            problems.append(
                f"{key}.outbound_id: campaign {rule.outbound_id} ({outbound.name}) is not fed from the CRM "
                "(crm: false); only CRM campaigns take records through crm_outbounds"
            )
            continue
        found = client.campaigns.statuses(rule.outbound_id)
        statuses[rule.outbound_id] = {status.status_id: status.system_status or "" for status in found}
        if rule.initial_status_id is not None and rule.initial_status_id not in statuses[rule.outbound_id]:
            listed = ", ".join(f"{s.status_id} {s.name} ({s.system_status})" for s in found)
            problems.append(
                f"{key}.initial_status_id: campaign {rule.outbound_id} has no status "
                f"{rule.initial_status_id} (its statuses: {listed})"
            )
    if problems:
        raise CampaignSetupError(f"{where}: " + "; ".join(problems))
    return statuses


class LinkedCustomers:
    """Customer ids from the customers stream's links (a stale one is repaired by sync.relinker)."""

    def __init__(self, runtime: TenantRuntime) -> None:
        self.runtime = runtime

    def customer_ids(self, keys: Collection[str]) -> dict[str, int]:
        links = self.runtime.store.links("customers", keys)
        return {key: link.thulium_id for key, link in links.items()}


def campaign_run(
    runtime: TenantRuntime,
    rule: CampaignRule,
    statuses: Mapping[int, str],
    *,
    full: bool,
    dry_run: bool,
    job_id: str | None,
) -> CampaignRun:
    writeback = runtime.writeback(rule.writeback.table) if rule.writeback else None
    return CampaignRun(
        Rule(rule.outbound_id, rule.remove_when_absent, rule.initial_status_id, rule.reset_worked),
        statuses,
        campaign_options(runtime.tenant, full=full, dry_run=dry_run),
        source=RuleQueries(
            runtime.source_engine,
            {rule.outbound_id: rule.query for rule in runtime.tenant.config.campaigns},
            str(runtime.tenant.path),
        ),
        links=LinkedCustomers(runtime),
        members=runtime.members,
        failures=runtime.store,
        crm=runtime.campaigns,
        clock=SystemClock(),
        writeback=writeback,
    )


def timed(
    run: CampaignRun, relink: Callable[[StaleLinks], Relinked]
) -> tuple[dict[str, int], Exception | None, float]:
    started = time.monotonic()
    try:
        return run_to_end(run.steps(), relink), None, time.monotonic() - started
    except (RunAborted, ThuliumError, LeaseLost) as exc:
        return run.counters.as_dict(), exc, time.monotonic() - started


__all__ = ["CampaignSetupError", "campaign_run", "campaign_stream", "check_campaigns", "timed"]
