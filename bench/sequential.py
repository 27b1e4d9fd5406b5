"""Issue 18, target 2: syncd against a plain sequential batch syncer, on the same data and sandbox.

The plain syncer is what an integration written in an afternoon does: read both tables, post each
company (Thulium has no company batch endpoint), then the customers in batches of 100 with their
company ids, one request at a time, and keep no state. Its payloads are built by syncd's own
normaliser so that both send the same bytes; it has no retries, pacing, links or cursor.

syncd runs first (an initial load, ``max_in_flight`` 4, batches of 100); the sandbox is reset to
its seed; then the plain syncer loads the same rows into it. The figure is syncd's wall time over
the plain syncer's (the target: at most 0.35x at 20 ms; four requests in flight bound it near 0.25x).

    .venv/bin/python bench/sequential.py [--customers 8000] [--companies 80] [--latency-ms 20]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator, Mapping
from itertools import islice
from typing import Any

from harness import Bench, bench, machine, table
from sqlalchemy import create_engine, text

from syncd.engine.crm.normalize import Normalized, normalize
from syncd.engine.records import Position, SourceRow
from syncd.settings import load_tenant
from syncd.thulium import ThuliumClient
from syncd.thulium.retry import RetryPolicy

BATCH, IN_FLIGHT = 100, 4


def source_rows(url: str, table_name: str, key: str) -> Iterator[SourceRow]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            for data in conn.execute(text(f"SELECT * FROM {table_name} ORDER BY {key}")).mappings():
                yield SourceRow(str(data[key]), Position(None, data[key]), bool(data["deleted"]), dict(data))
    finally:
        engine.dispose()


def batched(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    while batch := list(islice(items, size)):
        yield batch


def payloads(
    rows: Iterator[SourceRow], fields: Mapping[str, str], kind: Any
) -> Iterator[tuple[SourceRow, dict[str, Any]]]:
    for row in rows:
        result = normalize(row, fields, kind)
        if not row.deleted and isinstance(result, Normalized):
            yield row, dict(result.payload, identifier=f"plain-{kind}-{row.key}")


def plain_sync(b: Bench) -> float:
    """Companies one by one, then customers 100 at a time, each request waiting for the one before."""
    tenant = load_tenant(b.config, env=b.env)
    companies, customers = tenant.config.companies, tenant.config.customers
    assert companies is not None, "the bench tenant maps companies"
    assert customers is not None, "the bench tenant maps customers"
    sb = b.sandbox
    no_retries = RetryPolicy(max_attempts=1)
    started = time.perf_counter()
    with ThuliumClient(sb.url, sb.user, sb.password, retry=no_retries) as client:
        company_ids: dict[str, int] = {}
        for row, payload in payloads(
            source_rows(b.source_url, "companies", "id"), companies.fields, "company"
        ):
            company_ids[row.key] = client.companies.create(payload).company_id
        rows = payloads(source_rows(b.source_url, "customers", "id"), customers.fields, "customer")
        for batch in batched(rows, BATCH):
            bodies = []
            for row, payload in batch:
                company = row.values.get(customers.company_key or "")
                if company is not None and str(company) in company_ids:
                    payload["company_id"] = company_ids[str(company)]
                bodies.append(payload)
            client.customers.batch_create(bodies)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=8000)
    parser.add_argument("--companies", type=int, default=80)
    parser.add_argument("--latency-ms", type=int, default=20)
    args = parser.parse_args()
    config = f"\n[sync]\nbatch_size = {BATCH}\nmax_in_flight = {IN_FLIGHT}\n"
    with bench(
        customers=args.customers, companies=args.companies, latency_ms=args.latency_ms, extra_config=config
    ) as b:
        load = b.sync()
        assert load.returncode == 0, load.stderr
        b.sandbox.control.reset()
        plain = plain_sync(b)
    rows = [
        ("syncd initial load", f"{load.seconds:.1f} s ({load.total_requests:,} requests)"),
        ("plain sequential batch syncer, same rows, same sandbox", f"{plain:.1f} s"),
        ("ratio syncd / plain (target: at most 0.35x)", f"**{load.seconds / plain:.2f}x**"),
        ("the floor four requests in flight allow", f"{1 / IN_FLIGHT:.2f}x"),
    ]
    title = (
        f"syncd against a plain sequential syncer: {args.customers:,} customers + {args.companies:,} "
        f"companies, {args.latency_ms} ms, batch {BATCH}, {IN_FLIGHT} in flight ({machine()})"
    )
    print(table(title, rows))


if __name__ == "__main__":
    main()
