"""Changing a demo source the way a live system would between two sync runs.

Timestamps only move forward, except for the rows deliberately stamped with the previous
maximum: those sit exactly on a cursor's ``updated_at`` and must still be picked up. They
are only ever rows whose key is larger than the key at the previous maximum (new rows, or
updated rows that happen to have such a key): a row with a smaller key stamped with an old
timestamp is a write that keyset pagination cannot see by design, not a sync bug to test for.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from syncd.demo import faker, rows, schema
from syncd.demo.clock import Clock
from syncd.demo.store import insert_rows, open_engine


@dataclass(frozen=True)
class Mutation:
    updated: tuple[str, ...]
    soft_deleted: tuple[str, ...]
    hard_deleted: tuple[str, ...]
    inserted: tuple[str, ...]
    same_timestamp: tuple[str, ...]
    """Updated or inserted keys whose ``updated_at`` equals ``previous_max``."""
    previous_max: datetime
    max_updated_at: datetime


def mutate(
    url: str,
    *,
    seed: int,
    updates: float = 0.05,
    soft_deletes: float = 0.01,
    hard_deletes: float = 0.01,
    inserts: int = 50,
    same_timestamp: int = 5,
) -> Mutation:
    """Update, soft-delete, hard-delete and insert customers in one transaction."""
    rng = random.Random(seed)
    engine = open_engine(url)
    try:
        with engine.begin() as conn:
            return _mutate(conn, rng, updates, soft_deletes, hard_deletes, inserts, same_timestamp)
    finally:
        engine.dispose()


def _mutate(
    conn: Connection,
    rng: random.Random,
    updates: float,
    soft_deletes: float,
    hard_deletes: float,
    inserts: int,
    same_timestamp: int,
) -> Mutation:
    c = schema.customers
    existing = conn.execute(select(c.c.id, c.c.street, c.c.deleted).order_by(c.c.id)).all()
    previous_max = conn.execute(select(func.max(c.c.updated_at))).scalar()
    if previous_max is None:
        raise ValueError("mutate needs a generated source: the customers table is empty")
    top_key = conn.execute(select(func.max(c.c.id)).where(c.c.updated_at == previous_max)).scalar_one()

    live = [row.id for row in existing if not row.deleted]
    counts = [round(len(live) * share) for share in (updates, soft_deletes, hard_deletes)]
    picked = rng.sample(live, min(sum(counts), len(live)))
    updated = sorted(picked[: counts[0]])
    soft = sorted(picked[counts[0] : counts[0] + counts[1]])
    hard = sorted(picked[counts[0] + counts[1] :])
    first_new = max((row.id for row in existing), default=0) + 1
    inserted = list(range(first_new, first_new + inserts))

    candidates = [k for k in updated if k > top_key] + inserted
    tied = set(rng.sample(candidates, min(same_timestamp, len(candidates))))
    clock = Clock(previous_max + timedelta(seconds=1), rng, steps=(0, 0, 1))
    order = [*updated, *soft, *inserted]
    rng.shuffle(order)
    stamps = {key: previous_max if key in tied else clock.tick() for key in order}

    streets = {row.id: row.street for row in existing}
    for key in updated:
        new_street = faker.street(rng)
        while new_street == streets[key]:
            new_street = faker.street(rng)
        changes: dict[str, Any] = {"street": new_street, "segment": rng.choice(faker.SEGMENTS)}
        conn.execute(c.update().where(c.c.id == key).values(updated_at=stamps[key], **changes))
    for key in soft:
        conn.execute(c.update().where(c.c.id == key).values(deleted=True, updated_at=stamps[key]))
    if hard:
        conn.execute(c.delete().where(c.c.id.in_(hard)))
    company_ids = _valid_company_ids(conn)
    insert_rows(conn, c, [rows.customer(rng, key, stamps[key], company_ids) for key in inserted])

    return Mutation(
        updated=tuple(map(str, updated)),
        soft_deleted=tuple(map(str, soft)),
        hard_deleted=tuple(map(str, hard)),
        inserted=tuple(map(str, inserted)),
        same_timestamp=tuple(str(k) for k in sorted(tied)),
        previous_max=previous_max,
        max_updated_at=max(stamps.values(), default=previous_max),
    )


def _valid_company_ids(conn: Connection) -> list[int]:
    """Live companies with a name and the first holder of their NIP: the ones that can sync."""
    co = schema.companies
    seen: set[str] = set()
    valid: list[int] = []
    for row in conn.execute(select(co.c.id, co.c.name, co.c.nip, co.c.deleted).order_by(co.c.id)):
        if row.deleted or not (row.name or "").strip() or row.nip in seen:
            continue
        seen.add(row.nip)
        valid.append(row.id)
    return valid
