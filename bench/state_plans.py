"""Issue 18, target 5: no per-page state-DB statement walks a stream's links or failures.

Builds a migrated state DB holding ``--links`` customer links (and 1 % as many company links, a few open and
resolved failures), then calls every ``StateStore`` read a sync run makes per page, and one commit of each
kind, with a page of keys. Every statement they send is caught on its way to the database and explained
there: ``EXPLAIN QUERY PLAN`` on SQLite, ``EXPLAIN`` on PostgreSQL (a throwaway cluster, as the tests
start one), before ``ANALYZE`` and after it. A plan that scans ``links`` or ``failures`` whole is marked
**SCAN**; the time of each call is printed beside it (one call, warm cache).

    .venv/bin/python bench/state_plans.py [--links 1000000] [--no-postgres]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.fixtures: the tests' PostgreSQL

from syncd.engine.ports import Commit, FailureRecord, Link
from syncd.state import migrate
from syncd.state.db import make_engine, session_factory
from syncd.state.repository import StateStore
from syncd.vocabulary import FailureKind
from tests.fixtures.postgres import throwaway_cluster

TENANT = "bench"
PAGE = 1000


def numbers(n: int) -> str:
    return f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})"


def fill(engine: Engine, links: int) -> None:
    """Customers 1..N (a quarter without a company), companies 1..N/100, failures on every 500th key."""
    companies = max(1, links // 100)
    link_columns = (
        "tenant, stream, source_key, thulium_id, company_customer_id, payload_hash, state, synced_at"
    )
    with engine.begin() as db:
        db.execute(
            text(
                f"INSERT INTO links ({link_columns}, company_key, recheck) {numbers(companies)} "
                f"SELECT '{TENANT}', 'companies', CAST(i AS TEXT), i, 5000000 + i, 'h' || i, 'synced', "
                "CURRENT_TIMESTAMP, NULL, false FROM n"
            )
        )
        db.execute(
            text(
                f"INSERT INTO links ({link_columns}, company_key, recheck) {numbers(links)} "
                f"SELECT '{TENANT}', 'customers', CAST(i AS TEXT), 10000000 + i, NULL, 'h' || i, "
                "CASE WHEN i % 1000 = 7 THEN 'pending' ELSE 'synced' END, CURRENT_TIMESTAMP, "
                f"CASE WHEN i % 4 = 0 THEN NULL ELSE CAST(1 + i % {companies} AS TEXT) END, false FROM n"
            )
        )
        kinds = "CASE i % 4 WHEN 0 THEN 'retryable' WHEN 1 THEN 'waiting' WHEN 2 THEN 'permanent' "
        kinds += "ELSE 'rejected' END"
        db.execute(
            text(
                "INSERT INTO failures (tenant, stream, source_key, operation, kind, message, attempts, "
                f"first_failed_at, last_failed_at, resolved_at) {numbers(links // 500)} "
                f"SELECT '{TENANT}', 'customers', CAST(i * 500 AS TEXT), 'create', {kinds}, 'm', 1, "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CASE WHEN i % 2 = 0 THEN CURRENT_TIMESTAMP END FROM n"
            )
        )


@dataclass
class Caught:
    statement: str
    parameters: Any


@contextmanager
def catching(engine: Engine) -> Iterator[list[Caught]]:
    caught: list[Caught] = []

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool) -> None:
        caught.append(Caught(statement, parameters[0] if many and parameters else parameters))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield caught
    finally:
        event.remove(engine, "before_cursor_execute", before)


def explain(engine: Engine, caught: Caught) -> str:
    postgres = engine.dialect.name == "postgresql"
    prefix = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cursor = raw.cursor()
        cursor.execute(prefix + caught.statement, caught.parameters)
        rows = cursor.fetchall()
        conn.rollback()
    if postgres:
        return " / ".join(str(row[0]).strip() for row in rows if "->" in row[0] or rows.index(row) == 0)
    return " / ".join(str(row[-1]) for row in rows)


def whole_scan(engine: Engine, plan: str) -> bool:
    if engine.dialect.name == "postgresql":
        return "Seq Scan on links" in plan or "Seq Scan on failures" in plan
    return any(
        part.startswith(("SCAN links", "SCAN failures")) and "USING" not in part for part in plan.split(" / ")
    )


def calls(store: StateStore, links: int) -> list[tuple[str, Callable[[], object]]]:
    """What a sync run does per page (reads and one commit of each kind), on a page in the middle."""
    middle = links // 2
    keys = [str(k) for k in range(middle, middle + PAGE)]
    company_keys = [str(k) for k in range(1, 1 + min(PAGE, max(1, links // 100)))]
    new = [Link(k, 90000000 + int(k), "x", None, "1") for k in keys[:100]]
    failed = [FailureRecord(keys[200], "create", FailureKind.RETRYABLE, "m", 503)]
    return [
        ("links(customers, page)", lambda: store.links("customers", keys)),
        ("links(companies, page)", lambda: store.links("companies", company_keys)),
        ("pending_keys(page)", lambda: store.pending_keys("customers", keys)),
        ("open_failure_hashes(page)", lambda: store.open_failure_hashes("customers", keys)),
        ("source_keys_of(page of ids)", lambda: store.source_keys_of([10000000 + int(k) for k in keys])),
        ("newest_id", lambda: store.newest_id("customers")),
        ("all_links (once a full run)", lambda: sum(1 for _ in store.all_links("customers"))),
        ("open_failure_keys (once a run)", lambda: store.open_failure_keys("customers")),
        ("due_retries (once a run)", lambda: store.due_retries("customers", store.clock())),
        ("commit: pending marks", lambda: store.commit("customers", Commit(pending=keys[:100]))),
        (
            "commit: links + failure + resolved",
            lambda: store.commit(
                "customers", Commit(links=new, failures=failed, resolved=[keys[0], str(middle // 500 * 500)])
            ),
        ),
        ("commit: unlinked", lambda: store.commit("customers", Commit(unlinked=keys[300:400]))),
        ("commit: companies moved", lambda: store.commit("companies", Commit(moved=company_keys[:10]))),
        ("commit: rechecked", lambda: store.commit("customers", Commit(rechecked=keys[400:500]))),
    ]


def report(url: str, links: int, label: str) -> None:
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        started = time.perf_counter()
        fill(engine, links)
        print(f"\n### {label}: {links:,} customer links (filled in {time.perf_counter() - started:.0f} s)")
        store = StateStore(session_factory(engine), TENANT)
        for analyzed in (False, True):
            if analyzed:
                with engine.begin() as db:
                    db.execute(text("ANALYZE"))
            print(f"\n{'after' if analyzed else 'before'} ANALYZE\n")
            print("| call | ms | statement | plan |\n|---|---|---|---|")
            for name, call in calls(store, links):
                with catching(engine) as caught:
                    started = time.perf_counter()
                    call()
                    ms = (time.perf_counter() - started) * 1000
                statements = [
                    c
                    for c in caught
                    if c.statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE", "INSERT"))
                ]
                for c in statements:
                    plan = explain(engine, c)
                    mark = "**SCAN** " if whole_scan(engine, plan) else ""
                    head = " ".join(c.statement.split())[:70]
                    print(f"| {name} | {ms:.1f} | `{head}` | {mark}{plan} |", flush=True)
                    name, ms = "〃", 0.0
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--links", type=int, default=1_000_000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="syncd-plans-") as tmp:
        report(f"sqlite:///{Path(tmp) / 'state.sqlite'}", args.links, "SQLite")
    if not args.no_postgres:
        with throwaway_cluster() as url:
            report(url, args.links, "PostgreSQL")


if __name__ == "__main__":
    main()
