"""Benchmark 1: the initial load against the latency-bound limit and the naive one-POST-per-row way.

The limit: Thulium answers each request after one round trip, so with ``in_flight`` requests
at a time the fastest possible load takes ``requests_needed x RTT / in_flight``. Customers go
in batches; companies have no batch endpoint in Thulium, so each is one request. The naive
baseline posts one customer per request, sequentially; it is measured on a sample in the same
run (same sandbox, same latency) and extrapolated per record.

    .venv/bin/python bench/initial_load.py [--n 10000] [--latency-ms 20] [--companies N]
"""

from __future__ import annotations

import argparse
import math
import random
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from harness import bench, machine, table

from syncd.demo.rows import customer
from syncd.thulium import ThuliumClient


def naive_seconds_per_record(url: str, user: str, password: str, sample: int) -> float:
    """Sequential single `POST customers`, the way a first integration usually starts."""
    rng = random.Random(7)
    now = datetime.now(UTC)
    with ThuliumClient(url, user, password) as client:
        started = time.perf_counter()
        for index in range(sample):
            row = customer(rng, 10_000_000 + index, now, [])
            client.customers.create(
                {"name": row["first_name"], "surname": row["last_name"], "identifier": f"naive-{index}"}
            )
        return (time.perf_counter() - started) / sample


def bare_pipeline_seconds(
    url: str, user: str, password: str, *, companies: int, batches: int, batch: int, in_flight: int
) -> float:
    """The same requests (single company POSTs, customer batches) from a bare loop with ``in_flight``
    threads and no sync logic: the floor this sandbox, HTTP stack and machine allow, since the
    sandbox's own per-request work runs on the same CPUs."""
    rng, now = random.Random(11), datetime.now(UTC)
    customers = [customer(rng, 20_000_000 + i, now, []) for i in range(batch)]

    def company(index: int) -> Any:
        return client.companies.create({"name": f"floor {index}", "identifier": f"floor-c-{index}"})

    def customer_batch(index: int) -> Any:
        payloads = [
            {"name": c["first_name"], "surname": c["last_name"], "identifier": f"floor-{index}-{j}"}
            for j, c in enumerate(customers)
        ]
        return client.customers.batch_create(payloads)

    with ThuliumClient(url, user, password) as client, ThreadPoolExecutor(in_flight) as pool:
        started = time.perf_counter()
        list(pool.map(company, range(companies)))
        list(pool.map(customer_batch, range(batches)))
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--companies", type=int, default=None, help="default N/10; 0: customers only")
    args = parser.parse_args()
    n, rtt = args.n, args.latency_ms / 1000
    companies = n // 10 if args.companies is None else args.companies
    batch, in_flight = 100, 4
    config = f"\n[sync]\nbatch_size = {batch}\nmax_in_flight = {in_flight}\n"
    with bench(customers=n, companies=companies, latency_ms=args.latency_ms, extra_config=config) as b:
        load = b.sync()
        assert load.returncode == 0, load.stderr
        naive = naive_seconds_per_record(b.sandbox.url, b.sandbox.user, b.sandbox.password, args.sample)
        batches = math.ceil(n / batch)
        floor = bare_pipeline_seconds(
            b.sandbox.url,
            b.sandbox.user,
            b.sandbox.password,
            companies=companies,
            batches=batches,
            batch=batch,
            in_flight=in_flight,
        )
    needed = batches + companies
    limit = needed * rtt / in_flight
    records = n + companies
    naive_total = naive * records
    print(
        table(
            f"Initial load: {n:,} customers + {companies:,} companies, {args.latency_ms} ms latency, "
            f"batch {batch}, {in_flight} in flight ({machine()})",
            [
                ("wall time", f"{load.seconds:.1f} s"),
                ("records/s", f"{records / load.seconds:,.0f}"),
                ("requests sent", f"{load.total_requests:,} ({needed:,} needed at least)"),
                ("latency-bound limit", f"{limit:.1f} s"),
                ("share of the limit reached (limit / wall)", f"{limit / load.seconds:.0%}"),
                (
                    "bare pipelined loop, same requests, same sandbox",
                    f"{floor:.1f} s ({limit / floor:.0%} of the limit)",
                ),
                ("share of the bare loop reached (loop / wall)", f"{floor / load.seconds:.0%}"),
                (
                    "naive baseline (1 POST per row, sequential)",
                    f"{naive * 1000:.1f} ms/record → {naive_total:.0f} s",
                ),
                ("speed-up over naive", f"{naive_total / load.seconds:.0f}x"),
                ("peak RSS of syncd", f"{load.peak_rss_mb:.0f} MB"),
            ],
        )
    )


if __name__ == "__main__":
    main()
