"""Benchmark 4: feeding a CRM campaign with 10k members, against one POST per record.

The customers are loaded first (not timed); then the campaign rule selects all of them.
The per-record baseline posts `crm_outbounds/:id/records` one at a time for a sample of
other customers, in the same sandbox at the same latency, extrapolated per record.

    .venv/bin/python bench/campaign_feed.py [--n 10000] [--latency-ms 20]
"""

from __future__ import annotations

import argparse
import itertools
import time

from harness import bench, machine, table

from syncd.thulium import ThuliumClient

OUTBOUND = "00001"
RULE = f"""
[[campaigns]]
outbound_id = "{OUTBOUND}"
query = "SELECT id AS key FROM customers WHERE id <= :limit"
"""


def per_record_seconds(url: str, user: str, password: str, customer_ids: list[int]) -> float:
    with ThuliumClient(url, user, password) as client:
        started = time.perf_counter()
        for customer_id in customer_ids:
            client.campaign_records.create("00002", {"customer_id": customer_id})
        return (time.perf_counter() - started) / len(customer_ids)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--sample", type=int, default=200)
    args = parser.parse_args()
    rule = RULE.replace(":limit", str(int(args.n)))
    with bench(customers=args.n + args.sample, companies=10, latency_ms=args.latency_ms) as b:
        with b.config.open("a") as file:
            file.write(rule)
        assert b.sync("--stream", "companies", "--stream", "customers").returncode == 0
        feed = b.sync("--stream", "campaigns")
        assert feed.returncode == 0, feed.stderr
        again = b.sync("--stream", "campaigns")
        with ThuliumClient(b.sandbox.url, b.sandbox.user, b.sandbox.password) as client:
            sample = [c.customer_id for c in itertools.islice(client.customers.iter(), args.sample)]
        baseline = per_record_seconds(b.sandbox.url, b.sandbox.user, b.sandbox.password, sample)
    naive_total = baseline * args.n
    print(
        table(
            f"Campaign feed: {args.n:,} members, {args.latency_ms} ms latency ({machine()})",
            [
                ("wall time (first feed)", f"{feed.seconds:.1f} s"),
                ("requests (first feed)", ", ".join(f"{k}: {v}" for k, v in sorted(feed.requests.items()))),
                ("per-record POST baseline", f"{baseline * 1000:.1f} ms/record, {naive_total:.0f} s for all"),
                ("speed-up over per-record POST", f"{naive_total / feed.seconds:.0f}x"),
                ("second run, nothing changed", f"{again.seconds:.1f} s, {again.total_requests} requests"),
            ],
        )
    )


if __name__ == "__main__":
    main()
