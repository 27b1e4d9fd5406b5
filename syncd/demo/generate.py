"""A deterministic demo source database: the same seed gives the same rows, byte for byte.

The generator returns which rows it broke and how, so a test can assert that exactly those
are rejected and everything else reaches Thulium — customers of a broken or unknown company
included, without a company (``detached_customers``).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from syncd.demo import faker, rows, schema
from syncd.demo.clock import Clock
from syncd.demo.rows import COMPANY_PROBLEMS, CUSTOMER_PROBLEMS, Invalid, Row
from syncd.demo.store import insert_rows, open_engine
from syncd.engine.wallclock import wall_clock

DEFAULT_URL = "sqlite:///demo/source.sqlite"
DEFAULT_START = wall_clock(2024, 1, 1, 8, 0, 0)
CAMPAIGN_SHARES = {"00001": 0.10, "00002": 0.05}


@dataclass(frozen=True)
class DemoSource:
    url: str
    seed: int
    company_keys: tuple[str, ...]
    customer_keys: tuple[str, ...]
    invalid_companies: Mapping[str, Invalid]
    invalid_customers: Mapping[str, Invalid]  # rejected: no customer with a dangling company
    campaign_members: Mapping[str, tuple[str, ...]]
    max_updated_at: datetime
    # Valid customers whose company will not come (broken, or not in the source): sent without one.
    detached_customers: Mapping[str, str] = field(default_factory=dict)

    @property
    def valid_company_keys(self) -> tuple[str, ...]:
        return tuple(k for k in self.company_keys if k not in self.invalid_companies)

    @property
    def valid_customer_keys(self) -> tuple[str, ...]:
        return tuple(k for k in self.customer_keys if k not in self.invalid_customers)


def generate_source(
    url: str = DEFAULT_URL,
    *,
    customers: int = 2000,
    companies: int = 200,
    invalid_fraction: float = 0.03,
    seed: int = 0,
    start: datetime = DEFAULT_START,
) -> DemoSource:
    """Replace the demo tables at ``url`` with fresh generated rows."""
    if not 0 <= invalid_fraction <= 1:
        raise ValueError("invalid_fraction must be between 0 and 1")
    rng = random.Random(seed)
    clock = Clock(start, rng)
    company_rows, bad_companies = _companies(rng, clock, companies, invalid_fraction)
    company_ids = [r["id"] for r in company_rows]
    customer_rows, problems = _customers(
        rng, clock, customers, invalid_fraction, company_ids, missing_company_base=companies + 1000
    )
    bad_customers = {k: p for k, p in problems.items() if p is not Invalid.UNKNOWN_COMPANY}
    detached = {
        str(r["id"]): str(r["company_id"])
        for r in customer_rows
        if r["company_id"] is not None
        and str(r["id"]) not in bad_customers
        and (str(r["company_id"]) in bad_companies or r["company_id"] not in company_ids)
    }
    valid_customer_ids = [r["id"] for r in customer_rows if str(r["id"]) not in bad_customers]
    members = {
        outbound: sorted(rng.sample(valid_customer_ids, round(len(valid_customer_ids) * share)))
        for outbound, share in CAMPAIGN_SHARES.items()
    }
    engine = open_engine(url)
    try:
        schema.metadata.drop_all(engine)
        schema.metadata.create_all(engine)
        with engine.begin() as conn:
            insert_rows(conn, schema.companies, company_rows)
            insert_rows(conn, schema.customers, customer_rows)
            targets = [{"outbound_id": o, "customer_id": k} for o, keys in members.items() for k in keys]
            insert_rows(conn, schema.campaign_targets, targets)
    finally:
        engine.dispose()
    timestamps = [r["updated_at"] for r in (*company_rows, *customer_rows)]
    return DemoSource(
        url=url,
        seed=seed,
        company_keys=tuple(str(r["id"]) for r in company_rows),
        customer_keys=tuple(str(r["id"]) for r in customer_rows),
        invalid_companies=bad_companies,
        invalid_customers=bad_customers,
        campaign_members={o: tuple(map(str, keys)) for o, keys in members.items()},
        max_updated_at=max(timestamps, default=start),
        detached_customers=detached,
    )


def _problems(
    rng: random.Random, indexes: range, count: int, kinds: tuple[Invalid, ...]
) -> dict[int, Invalid]:
    """``count`` distinct indexes, each with a problem; kinds are spread evenly."""
    chosen = rng.sample(list(indexes), min(count, len(indexes)))
    return {index: kinds[n % len(kinds)] for n, index in enumerate(chosen)}


ORIGINAL_DISTANCE = 16  # rows from a duplicate NIP back to its original: far past a demo max_in_flight (2-4)


def _companies(
    rng: random.Random, clock: Clock, count: int, invalid_fraction: float
) -> tuple[list[Row], dict[str, Invalid]]:
    problems = _problems(rng, range(1, count), round(count * invalid_fraction), COMPANY_PROBLEMS)
    nips: set[str] = set()
    result: list[Row] = []
    bad: dict[str, Invalid] = {}
    for index in range(count):
        key = index + 1
        problem = problems.get(index)
        # Thulium refuses whichever of two equal NIPs reaches it second: the original must be sent well
        # before its duplicate, never in flight beside it, or the demo's "invalid" one is a coin toss.
        # Only a duplicate needs its candidates: listing them for every row made N companies cost N².
        originals = (
            [r for r in result[: max(0, index - ORIGINAL_DISTANCE + 1)] if str(r["id"]) not in bad]
            if problem is Invalid.DUPLICATE_NIP
            else []
        )
        if problem is Invalid.DUPLICATE_NIP and not originals:
            problem = Invalid.MISSING_NAME
        if problem is Invalid.DUPLICATE_NIP:
            nip = rng.choice(originals)["nip"]
        else:
            nip = faker.nip(rng)
            while nip in nips:
                nip = faker.nip(rng)
            nips.add(nip)
        row = rows.company(rng, key, clock.tick(), nip)
        if problem is Invalid.MISSING_NAME:
            row["name"] = rng.choice(rows.BLANKS)
        if problem is not None:
            bad[str(key)] = problem
        result.append(row)
    return result, bad


def _customers(
    rng: random.Random,
    clock: Clock,
    count: int,
    invalid_fraction: float,
    company_ids: list[int],
    missing_company_base: int,
) -> tuple[list[Row], dict[str, Invalid]]:
    problems = _problems(rng, range(count), round(count * invalid_fraction), CUSTOMER_PROBLEMS)
    result: list[Row] = []
    bad: dict[str, Invalid] = {}
    for index in range(count):
        key = index + 1
        row = rows.customer(rng, key, clock.tick(), company_ids)
        problem = problems.get(index)
        if problem is not None:
            missing_company = missing_company_base + rng.randrange(1000)
            row = rows.break_customer(rng, row, problem, missing_company)
            bad[str(key)] = problem
        result.append(row)
    return result, bad
