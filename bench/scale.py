"""Benchmarks 2, 3 and 5: memory flat in N, a no-change run that costs nothing, a cheap full reconcile.

For each size N (default: 1M, 500k, 250k customers; companies N/100) against a sandbox with
no added latency:
  * the initial load: wall time and syncd's peak RSS (must not grow with N);
  * a no-change incremental run: wall time, requests (must be 0), peak RSS;
  * a full reconcile after 1 % of the customers changed: wall time and requests by kind (only up to
    ``--full-max`` customers: the issue asks for it at 100k, and at 1M it alone takes many minutes).

    .venv/bin/python bench/scale.py [--n 1000000] [--steps 3] [--full-max 200000]
"""

from __future__ import annotations

import argparse
from collections import Counter

from harness import Measured, bench, machine

from syncd.demo.mutate import mutate


def by_kind(run: Measured) -> str:
    kinds: Counter[str] = Counter()
    for route, count in run.requests.items():
        method, _, path = route.partition(" ")
        kinds[f"{method} {path.removeprefix('/api/')}"] += count
    return ", ".join(f"{route}: {count}" for route, count in sorted(kinds.items())) or "none"


def measure(n: int, full_max: int) -> list[str]:
    with bench(customers=n, companies=max(1, n // 100), latency_ms=0) as b:
        load = b.sync("--stream", "companies", "--stream", "customers")
        assert load.returncode == 0, load.stderr
        quiet = b.sync("--stream", "customers")
        assert quiet.returncode == 0, quiet.stderr
        full_cells = "| not run | - |"
        if n <= full_max:
            mutate(
                b.source_url,
                seed=3,
                updates=0.01,
                soft_deletes=0,
                hard_deletes=0,
                inserts=0,
                same_timestamp=0,
            )
            full = b.sync("--stream", "customers", "--full")
            assert full.returncode == 0, full.stderr
            full_cells = f"| {full.seconds:.0f} s | {by_kind(full)} |"
    return [
        f"| {n:,} | {load.seconds:.0f} s | {load.peak_rss_mb:.0f} MB "
        f"| {quiet.seconds:.1f} s | {quiet.total_requests} | {quiet.peak_rss_mb:.0f} MB {full_cells}"
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--steps", type=int, default=3, help="also N/2, N/4, ... (this many sizes)")
    parser.add_argument("--full-max", type=int, default=200_000, help="full reconcile only up to this size")
    args = parser.parse_args()
    sizes = sorted({max(1000, args.n // 2**step) for step in range(args.steps)})
    print(f"### Scale: initial load, no-change run, full reconcile with 1 % changed ({machine()})\n")
    print(
        "| customers | initial load | its peak RSS | no-change run | its requests | its peak RSS "
        "| full reconcile | its requests |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for n in sizes:
        for line in measure(n, args.full_max):
            print(line, flush=True)


if __name__ == "__main__":
    main()
