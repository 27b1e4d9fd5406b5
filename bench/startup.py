"""Issue 18, target 3: `syncd sync` with nothing to do, against the bare cost of its two main imports.

A 1,000-row tenant is synced once; then `syncd sync` runs again with nothing to send, several times, and
so does `python -c "import sqlalchemy, httpx"` on the same machine, alternately, so that a busy moment
hits both. The figure is the ratio of their medians (the target: at most 2x). Also printed: where the
import time of `syncd sync` goes (`-X importtime`, the heaviest top-level packages).

    .venv/bin/python bench/startup.py [--runs 7] [--rows 1000]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections import Counter

from harness import SYNCD, Bench, bench, machine, table

BASELINE = [sys.executable, "-c", "import sqlalchemy, httpx"]


def seconds(command: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def no_change_sync(b: Bench) -> list[str]:
    return [str(SYNCD), "sync", "--config", str(b.config), "--stream", "companies", "--stream", "customers"]


def heaviest_imports(b: Bench, most: int = 6) -> str:
    """Import time of one `syncd sync` by top-level package: the sum of each module's own time."""
    command = [sys.executable, "-X", "importtime", str(SYNCD), *no_change_sync(b)[1:]]
    stderr = subprocess.run(command, env=b.env, capture_output=True, text=True, check=True).stderr
    totals: Counter[str] = Counter()
    for line in stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[0].strip().isdigit():
            totals[parts[2].strip().split(".")[0]] += int(parts[0])
    total = sum(totals.values()) / 1e6
    top = ", ".join(f"{name} {us / 1e6:.2f} s" for name, us in totals.most_common(most))
    return f"{total:.2f} s in all: {top}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--rows", type=int, default=1000)
    args = parser.parse_args()
    with bench(customers=args.rows, companies=max(1, args.rows // 100)) as b:
        first = b.sync("--stream", "companies", "--stream", "customers")
        assert first.returncode == 0, first.stderr
        sync_times, import_times = [], []
        for _ in range(args.runs):
            sync_times.append(seconds(no_change_sync(b), b.env))
            import_times.append(seconds(BASELINE))
        quiet = b.sync("--stream", "companies", "--stream", "customers")
        assert quiet.returncode == 0, quiet.stderr
        sync_median, import_median = statistics.median(sync_times), statistics.median(import_times)
        rows = [
            ("`syncd sync`, nothing to do (median)", f"{sync_median:.2f} s"),
            ("its requests to Thulium", f"{sum(quiet.requests.values())}"),
            ('`python -c "import sqlalchemy, httpx"` (median)', f"{import_median:.2f} s"),
            ("ratio (target: at most 2x)", f"**{sync_median / import_median:.1f}x**"),
            ("where `syncd sync`'s imports go", heaviest_imports(b)),
        ]
        title = f"Start-up: `syncd sync` on a {args.rows:,}-row tenant with nothing to do ({machine()})"
        print(table(title, rows))


if __name__ == "__main__":
    main()
