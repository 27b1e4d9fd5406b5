"""Issue 18, target 7: ``max_in_flight = "auto"`` against every fixed setting, on servers of different
capacity, without being told the capacity.

For each server capacity K the sandbox serves at most K requests at once, queues K more and answers 429
past that (``--capacity K --queue-limit K``), each request taking the given latency. The same initial load
(customers only, batches of 100) runs with ``max_in_flight`` fixed at 1, 2, 4, 8, 16 and 32, and with
``"auto"`` (cap 32), each from an empty Thulium and an empty state DB, one `syncd sync` process each, timed
from outside. Per K it prints the best fixed setting's throughput, auto's, their ratio (the target: at
least 90 %) and the 429s of each (the target: auto no more than the best fixed setting). Start-up of the
process is inside every figure alike; each figure is the median of ``--repeat`` runs.

    .venv/bin/python bench/concurrency.py [--n 10000] [--latency-ms 20] [--capacities 2 8 32] [--repeat 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
from dataclasses import dataclass

from harness import Bench, bench, machine, table

FIXED = (1, 2, 4, 8, 16, 32)
BATCH = 100
CAP = 32


@dataclass
class Load:
    setting: str
    seconds: float
    rejected: int  # 429s the sandbox answered for want of capacity
    peak_serving: int
    peak_waiting: int
    cpu_seconds: float

    def per_second(self, n: int) -> float:
        return n / self.seconds


def load_with(b: Bench, setting: str) -> Load:
    """One initial load from empty Thulium and empty state DB with ``max_in_flight = setting``."""
    b.sandbox.control.reset()  # the startup capacity and latency come back, counted from zero
    for leftover in b.folder.glob("state.sqlite*"):
        leftover.unlink()
    value = f'"{setting}"\nmax_in_flight_cap = {CAP}' if setting == "auto" else setting
    config = b.folder / f"bench-{setting}.toml"
    config.write_text(
        b.config.read_text() + f"\n[sync]\nbatch_size = {BATCH}\nmax_in_flight = {value}\n", encoding="utf-8"
    )
    run = dataclasses.replace(b, config=config).sync("--stream", "customers")
    assert run.returncode == 0, run.stderr
    served = b.sandbox.control.capacity()
    return Load(
        setting,
        run.seconds,
        served["rejected"],
        served["peak_serving"],
        served["peak_waiting"],
        run.cpu_seconds,
    )


def for_capacity(k: int, n: int, latency_ms: int, repeat: int) -> list[Load]:
    """Each setting ``repeat`` times, round after round (so that a busy moment of the machine hits them
    alike); of each, the run of median time."""
    settings = [str(setting) for setting in (*FIXED, "auto")]
    with bench(customers=n, companies=0, latency_ms=latency_ms, capacity=k, queue_limit=k) as b:
        rounds = [[load_with(b, setting) for setting in settings] for _ in range(repeat)]
    return [median_run([runs[i] for runs in rounds]) for i in range(len(settings))]


def median_run(runs: list[Load]) -> Load:
    middle = statistics.median_low([run.seconds for run in runs])
    return next(run for run in runs if run.seconds == middle)


def report(k: int, n: int, loads: list[Load]) -> str:
    fixed, auto = loads[:-1], loads[-1]
    best = max(fixed, key=lambda load: load.per_second(n))
    rows = [
        (
            f"max_in_flight = {load.setting}",
            f"{load.seconds:.2f} s, {load.per_second(n):,.0f} customers/s, {load.rejected} 429s, "
            f"server peak {load.peak_serving} served + {load.peak_waiting} queued, "
            f"syncd CPU {load.cpu_seconds:.1f} s",
        )
        for load in loads
    ]
    ratio = auto.per_second(n) / best.per_second(n)
    rows += [
        (
            "best fixed",
            f"max_in_flight = {best.setting}: {best.per_second(n):,.0f} customers/s, {best.rejected} 429s",
        ),
        ("auto / best fixed (target: at least 90 %)", f"**{ratio:.0%}**"),
        ("429s: auto vs best fixed (target: no more)", f"**{auto.rejected} vs {best.rejected}**"),
    ]
    return table(f"Server capacity K = {k} (queue {k}, 429 past it)", rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--capacities", type=int, nargs="+", default=[2, 8, 32])
    parser.add_argument("--repeat", type=int, default=3, help="runs per setting; the median is shown")
    args = parser.parse_args()
    print(
        f'## max_in_flight = "auto" against fixed settings: {args.n:,} customers, batch {BATCH}, '
        f"{args.latency_ms} ms per request, median of {args.repeat} runs each ({machine()})\n"
    )
    for k in args.capacities:
        print(
            report(k, args.n, for_capacity(k, args.n, args.latency_ms, args.repeat)), end="\n\n", flush=True
        )


if __name__ == "__main__":
    main()
