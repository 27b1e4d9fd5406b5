"""Sync a tenant's campaign rules: check them against Thulium, then one recorded run per rule.

Kept apart from ``service.py`` because a campaign run needs more than one stream's parts:
the customer links, a way to repair a stale one (a customers run), and the write-back table.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from syncd.engine.campaign_plan import Rule
from syncd.engine.campaign_run import CampaignRun, campaign_stream
from syncd.engine.errors import LeaseLost, RunAborted
from syncd.engine.ports import Commit, FailureRecord
from syncd.settings.tenant import CampaignRule
from syncd.thulium import ThuliumClient, ThuliumError
from syncd.wiring import SystemClock, TenantRuntime, campaign_options

log = logging.getLogger("syncd.sync")

Statuses = dict[str, dict[int, str]]  # outbound id -> status id -> system status


class CampaignSetupError(ValueError):
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


class RuleQueries:
    """The rules' SQL over the tenant's database; ``:outbound_id`` is the one parameter, always bound."""

    def __init__(self, runtime: TenantRuntime) -> None:
        self.engine = runtime.source_engine
        self.queries = {rule.outbound_id: rule.query for rule in runtime.tenant.config.campaigns}
        self.where = str(runtime.tenant.path)

    def rule_rows(self, outbound_id: str) -> Iterator[Mapping[str, Any]]:
        statement = text(self.queries[outbound_id])
        names = set(statement.compile().params)
        extra = names - {"outbound_id"}
        if extra:
            raise RunAborted(
                f"{self.where}: the query of campaign {outbound_id} uses :{', :'.join(sorted(extra))}; "
                "only :outbound_id is bound"
            )
        params = {"outbound_id": outbound_id} if names else {}
        with self.engine.connect() as connection:
            result = connection.execute(statement, params)
            if "key" not in list(result.keys()):
                raise RunAborted(
                    f"{self.where}: the query of campaign {outbound_id} returns no `key` column "
                    f"(it returns {', '.join(result.keys())}); select the source key AS key"
                )
            for row in result.mappings():
                yield dict(row)


class LinkedCustomers:
    """Customer ids from the customers stream's links; a stale one is repaired by a customers run."""

    def __init__(self, runtime: TenantRuntime, job_id: str | None) -> None:
        self.runtime, self.job_id = runtime, job_id

    def customer_ids(self, keys: Collection[str]) -> dict[str, int]:
        links = self.runtime.store.links("customers", keys)
        return {key: link.thulium_id for key, link in links.items()}

    def repair(self, keys: Collection[str]) -> dict[str, int]:
        """Drop the links and let the customers stream look each key up (or create it) right now."""
        from syncd.service import sync_stream  # the service runs campaigns; this calls back into it

        now = datetime.now(UTC)
        message = "a campaign add found the customer gone from Thulium: the link was stale; re-linking"
        failures = [FailureRecord(key, "update", "retryable", message, next_attempt_at=now) for key in keys]
        self.runtime.store.commit("customers", Commit(unlinked=sorted(keys), failures=failures))
        line = {"tenant": self.runtime.tenant.name, "customers": len(keys)}
        log.warning("relinking customers a campaign found stale", extra=line)
        sync_stream(
            self.runtime,
            "customers",
            full=False,
            dry_run=False,
            force=False,
            trigger="repair",
            job_id=self.job_id,
            progress=None,
        )
        return self.customer_ids(keys)


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
        source=RuleQueries(runtime),
        links=LinkedCustomers(runtime, job_id),
        members=runtime.members,
        failures=runtime.store,
        crm=runtime.campaigns,
        clock=SystemClock(),
        writeback=writeback,
    )


def timed(run: CampaignRun) -> tuple[dict[str, int], Exception | None, float]:
    started = time.monotonic()
    try:
        return run.run(), None, time.monotonic() - started
    except (RunAborted, ThuliumError, LeaseLost) as exc:
        return run.counters, exc, time.monotonic() - started


__all__ = ["CampaignSetupError", "campaign_run", "campaign_stream", "check_campaigns", "timed"]
