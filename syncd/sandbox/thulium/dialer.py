"""A toy dialer: works through a campaign's fresh (TO_CALL) records the way agents and the dialer would.

It exists to make Thulium change records on its own, so a client's inbound path (webhooks, polling) has
something realistic to pick up. Outcomes are drawn from ``random.Random(seed)`` so a scenario replays the
same for the same seed; only wall-clock values (call dates, connection ids) differ between runs.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from syncd.engine.wallclock import wall_clock_now
from syncd.sandbox.thulium.errors import ApiError
from syncd.sandbox.thulium.store import SYSTEM_STATUSES, CampaignRecord, Outbound, Status, Store

AGENTS = ("j.kowalski", "a.nowak", "m.wisniewska")
NOTES = (
    "Customer asked to call back.",
    "Not interested.",
    "Wrong person, call again later.",
    "Interested, send an offer.",
    "No answer.",
)
# What a call can end in; TO_CALL (no call) and IN_PROGRESS (mid-call) are not outcomes.
OUTCOME_SYSTEM_STATUSES = tuple(s for s in SYSTEM_STATUSES if s not in ("TO_CALL", "IN_PROGRESS"))
NEEDS_NEXT_CALL = frozenset({"MY_RECORD", "CALL_NO_SOONER_THAN"})
RECORD_DATE_FORMAT = "%Y-%m-%d %H:%M"


@dataclass(frozen=True)
class DialOutcome:
    record: CampaignRecord
    previous_status_id: int
    agent_login: str
    connection_id: str


def outcome_statuses(ob: Outbound, system_statuses: list[str] | None) -> list[Status]:
    allowed = OUTCOME_SYSTEM_STATUSES if system_statuses is None else tuple(system_statuses)
    unknown = [s for s in allowed if s not in OUTCOME_SYSTEM_STATUSES]
    if unknown:
        raise ApiError.one(400, f"Not a call outcome: {', '.join(unknown)}.")
    found = [s for s in ob.statuses if s.system_status in allowed]
    if not found:
        raise ApiError.one(400, "Outbound has no status the dialer could set.")
    return found


def run_dialer(
    store: Store, outbound_id: str, *, count: int, seed: int, system_statuses: list[str] | None = None
) -> list[DialOutcome]:
    """Calls up to ``count`` TO_CALL records (in the order they were added), skipping records in a call."""
    if count < 0:
        raise ApiError.one(400, "Field count must not be negative.")
    ob = store.get_crm_outbound(outbound_id)
    statuses = outcome_statuses(ob, system_statuses)
    fresh = [
        r
        for r in store.records[ob.id].values()
        if store.record_status(r).system_status == "TO_CALL" and not r.in_call
    ]
    rng = random.Random(seed)
    now = wall_clock_now()
    return [_dial(rng, now, rec, statuses) for rec in fresh[:count]]


def _dial(rng: random.Random, now: dt.datetime, rec: CampaignRecord, statuses: list[Status]) -> DialOutcome:
    """Draws the same number of values for every record, so one outcome never shifts the next ones."""
    status = rng.choice(statuses)
    agent = rng.choice(AGENTS)
    note = rng.choice(NOTES)
    next_call = (now + dt.timedelta(days=rng.randint(1, 7))).replace(
        hour=rng.randint(8, 17), minute=rng.choice((0, 15, 30, 45)), second=0, microsecond=0
    )
    previous = rec.status_id
    rec.status_id = status.status_id
    rec.call_date = now.strftime(RECORD_DATE_FORMAT)
    rec.agent_login = agent
    rec.agent_name = agent.replace(".", " ").title()
    rec.last_note = note
    needs_date = status.system_status in NEEDS_NEXT_CALL
    rec.next_call_date = next_call.strftime(RECORD_DATE_FORMAT) if needs_date else ""
    # Thulium's look ("1416225570.341"): epoch seconds, then a per-call number (here the record id, unique).
    return DialOutcome(rec, previous, agent, f"{now.timestamp():.0f}.{rec.record_id}")
