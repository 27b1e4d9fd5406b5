"""Issue 18, target 4: the CPU time syncd spends per synced customer row, at no added latency.

An initial load of N customers (default 50,000; companies N/100, synced first and not counted) is
run as a process; its CPU time (user + system, GNU time) over N is the figure (the target: at most
60 µs). Beside it, in the same run: the CPU of a `syncd sync` with nothing to do (start-up, which a
larger N spreads thinner), and the CPU a bare client spends sending the same customer batches (the
HTTP and JSON floor any syncer pays in its own process).

    .venv/bin/python bench/cpu_per_row.py [--n 50000]
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime

from harness import bench, machine, table

from syncd.demo.rows import customer
from syncd.thulium import ThuliumClient

BATCH = 100


def bare_client_cpu(url: str, user: str, password: str, rows: int) -> float:
    """CPU seconds of this process to send ``rows`` customers in batches, one request at a time."""
    rng, now = random.Random(5), datetime.now(UTC)
    people = [customer(rng, 30_000_000 + i, now, []) for i in range(BATCH)]
    with ThuliumClient(url, user, password) as client:
        started = time.process_time()
        for index in range(rows // BATCH):
            payloads = [
                {"name": p["first_name"], "surname": p["last_name"], "identifier": f"cpu-{index}-{j}"}
                for j, p in enumerate(people)
            ]
            client.customers.batch_create(payloads)
        return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000)
    args = parser.parse_args()
    n = args.n
    config = f"\n[sync]\nbatch_size = {BATCH}\nmax_in_flight = 4\n"
    with bench(customers=n, companies=max(1, n // 100), latency_ms=0, extra_config=config) as b:
        companies = b.sync("--stream", "companies")
        assert companies.returncode == 0, companies.stderr
        load = b.sync("--stream", "customers")
        assert load.returncode == 0, load.stderr
        idle = b.sync("--stream", "customers")
        assert idle.returncode == 0, idle.stderr
        sb = b.sandbox
        bare = bare_client_cpu(sb.url, sb.user, sb.password, min(n, 20_000))
    per_row = load.cpu_seconds / n * 1e6
    bare_per_row = bare / min(n, 20_000) * 1e6
    rows = [
        ("initial load: wall, CPU", f"{load.seconds:.1f} s, {load.cpu_seconds:.1f} s"),
        ("**CPU per customer row** (target: at most 60 µs)", f"**{per_row:.0f} µs**"),
        ("of which start-up (a `syncd sync` with nothing to do)", f"{idle.cpu_seconds / n * 1e6:.0f} µs"),
        ("a bare client sending the same batches, per row", f"{bare_per_row:.0f} µs"),
        ("syncd per row / bare client per row", f"{per_row / bare_per_row:.1f}x"),
        ("peak RSS of syncd", f"{load.peak_rss_mb:.0f} MB"),
    ]
    print(table(f"CPU per synced row: {n:,} customers, no added latency ({machine()})", rows))


if __name__ == "__main__":
    main()
