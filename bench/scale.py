"""Issue 18, target 5: linear in N. A load and a full reconcile cost the same per row at every size, memory
stays flat, and a no-change run over 10M rows costs nothing.

For each size N of ``--sizes`` (customers; companies N/100) against a sandbox with no added latency:
  * the initial load (companies then customers): wall time, syncd's CPU time, syncd's peak RSS;
  * a full reconcile of customers after 1 % of them changed: the same, and its requests by kind;
  * per run, its time per row against the smallest size's (``x1.00`` = linear; the issue asks <= 1.1, i.e.
    1M rows within 5.5x of 200k), and the sandbox's own CPU time over it (the test double must stay cheap).

``--big N`` builds the state after a load of N customers without syncing them: a small real load gives the
state DB, its cursors and link rows their exact shape, then N more source rows (all older than the cursor)
and their links are bulk-inserted by SQL. It times a no-change incremental run there (requests must be 0).

    .venv/bin/python bench/scale.py --sizes 50000,200000 [--big 10000000]
"""

from __future__ import annotations

import argparse
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from harness import Bench, Measured, bench, machine

from syncd.demo.mutate import mutate

TENANT_SEED_CUSTOMERS = 1000  # the real load that gives the --big state its shape


def by_kind(run: Measured) -> str:
    kinds: Counter[str] = Counter()
    for route, count in run.requests.items():
        method, _, path = route.partition(" ")
        kinds[f"{method} {path.removeprefix('/api/')}"] += count
    return ", ".join(f"{route}: {count}" for route, count in sorted(kinds.items())) or "none"


@dataclass(frozen=True)
class Size:
    rows: int
    load: Measured
    full: Measured


def measure(n: int) -> Size:
    with bench(customers=n, companies=max(1, n // 100), latency_ms=0) as b:
        load = b.sync("--stream", "companies", "--stream", "customers")
        assert load.returncode == 0, load.stderr
        changes = {"soft_deletes": 0, "hard_deletes": 0, "inserts": 0, "same_timestamp": 0}
        mutate(b.source_url, seed=3, updates=0.01, **changes)
        full = b.sync("--stream", "customers", "--full")
        assert full.returncode == 0, full.stderr
    return Size(n, load, full)


def cells(run: Measured, rows: int, base_run: Measured, base_rows: int) -> str:
    ratio = (run.seconds / rows) / (base_run.seconds / base_rows)
    return (
        f"{run.seconds:.1f} s | {run.cpu_seconds:.1f} s | {run.sandbox_cpu_seconds:.1f} s "
        f"| {run.peak_rss_mb:.0f} MB | x{ratio:.2f}"
    )


def print_sizes(sizes: list[int]) -> None:
    print(f"### Scale: initial load and full reconcile (1 % changed), latency 0 ({machine()})\n")
    print(
        "x = time per row against the smallest size's (1.00 = linear). CPU = syncd's own; sandbox = the "
        "sandbox's CPU over the same run.\n"
    )
    print(
        "| customers | load | its CPU | sandbox CPU | peak RSS | x | full reconcile | its CPU | sandbox CPU "
        "| peak RSS | x | reconcile requests |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    base: Size | None = None
    for n in sorted(sizes):
        size = measure(n)
        base = base or size
        load = cells(size.load, n, base.load, base.rows)
        full = cells(size.full, n, base.full, base.rows)
        print(f"| {n:,} | {load} | {full} | {by_kind(size.full)} |", flush=True)


# ---- --big: the state after a load of N rows, built directly ---------------------------------------------


def sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def grow_source(path: Path, customers: int, companies: int) -> None:
    """Rows ``TENANT_SEED_CUSTOMERS + 1 ..`` dated a year before the generated ones: every one of them is
    below the cursor, as rows a load has settled are. Stored as SQLAlchemy stores a DateTime in SQLite."""
    with sqlite3.connect(path) as db:
        first_customer = db.execute("SELECT max(id) + 1 FROM customers").fetchone()[0]
        first_company = db.execute("SELECT max(id) + 1 FROM companies").fetchone()[0]
        stamp = "datetime('2023-01-01 00:00:00', '+' || (i / 10) || ' seconds') || '.000000'"
        db.execute(
            "INSERT INTO companies (id, name, nip, email, phone, city, street, updated_at, deleted) "
            "WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "SELECT i, 'Firma ' || i, printf('%010d', i), 'biuro@f' || i || '.pl', '+48 600 100 200', "
            f"'Kraków', 'Długa 1', {stamp}, 0 FROM n",
            (first_company, first_company + companies - 1),
        )
        db.execute(
            "INSERT INTO customers (id, first_name, last_name, email, phone, city, street, segment, "
            "company_id, updated_at, deleted) "
            "WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "SELECT i, 'Jan', 'Kowalski', 'jan' || i || '@example.pl', '+48 600 100 200', 'Kraków', "
            f"'Długa 1', 'gold', CASE WHEN i % 4 = 0 THEN NULL ELSE ? + i % ? END, {stamp}, 0 FROM n",
            (first_customer, first_customer + customers - 1, first_company, companies),
        )


def grow_links(path: Path, stream: str, first_key: int, count: int, first_id: int) -> None:
    """Links for the grown rows, copied from a real link of the stream (its hash, state and columns). The
    hash is that row's, not this one's: a no-change incremental run reads none of these rows, so it cannot
    tell; a full reconcile over this state would send every one of them as changed."""
    with sqlite3.connect(path) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(links)") if row[1] != "id"]
        chosen = ", ".join(
            {
                "source_key": "CAST(i AS TEXT)",
                "thulium_id": f"i + {first_id - first_key}",
                "company_customer_id": "CASE WHEN company_customer_id IS NULL THEN NULL "
                f"ELSE i + {first_id - first_key} END",
            }.get(column, column)
            for column in columns
        )
        db.execute(
            f"INSERT INTO links ({', '.join(columns)}) "
            "WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            f"SELECT {chosen} FROM n, (SELECT * FROM links WHERE stream = ? LIMIT 1)",
            (first_key, first_key + count - 1, stream),
        )


def run_big(n: int) -> None:
    companies = max(1, n // 100)
    with bench(customers=TENANT_SEED_CUSTOMERS, companies=10, latency_ms=0) as b:
        load = b.sync("--stream", "companies", "--stream", "customers")
        assert load.returncode == 0, load.stderr
        started = time.perf_counter()
        grow(b, n, companies)
        built = time.perf_counter() - started
        counts = held(b)
        quiet = b.sync("--stream", "companies", "--stream", "customers")
        assert quiet.returncode == 0, quiet.stderr
        assert quiet.total_requests == 0, f"a no-change run sent {by_kind(quiet)}"
    print(f"\n### No-change incremental run over {n + TENANT_SEED_CUSTOMERS:,} customers ({machine()})\n")
    print(f"(state built by bulk insert in {built:.0f} s, not timed below; it holds {counts})\n")
    print("| measure | value |\n|---|---|")
    print(f"| wall time | {quiet.seconds:.2f} s |")
    print(f"| syncd CPU | {quiet.cpu_seconds:.2f} s |")
    print(f"| peak RSS | {quiet.peak_rss_mb:.0f} MB |")
    print(f"| requests | {quiet.total_requests} |")


def held(b: Bench) -> str:
    """What the built state holds, counted: the figures below are only worth what it really has."""
    with (
        sqlite3.connect(sqlite_path(b.source_url)) as source,
        sqlite3.connect(b.folder / "state.sqlite") as state,
    ):
        rows = {
            t: source.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("companies", "customers")
        }
        links = dict(state.execute("SELECT stream, count(*) FROM links GROUP BY stream").fetchall())
    return (
        f"source rows {rows['customers']:,} customers / {rows['companies']:,} companies, "
        f"links {links.get('customers', 0):,} / {links.get('companies', 0):,}"
    )


def grow(b: Bench, customers: int, companies: int) -> None:
    source = sqlite_path(b.source_url)
    state = b.folder / "state.sqlite"
    with sqlite3.connect(source) as db:
        first_customer = db.execute("SELECT max(id) + 1 FROM customers").fetchone()[0]
        first_company = db.execute("SELECT max(id) + 1 FROM companies").fetchone()[0]
    grow_source(source, customers, companies)
    with sqlite3.connect(state) as db:
        top = db.execute("SELECT max(thulium_id) + 1000000 FROM links").fetchone()[0]
    grow_links(state, "companies", first_company, companies, top)
    grow_links(state, "customers", first_customer, customers, top + companies + 1000)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="50000,200000,1000000", help="customers per size, comma-separated")
    parser.add_argument("--big", type=int, default=0, help="also a no-change run over this many customers")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    if sizes:
        print_sizes(sizes)
    if args.big:
        run_big(args.big)


if __name__ == "__main__":
    main()
