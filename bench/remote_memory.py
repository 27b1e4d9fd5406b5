"""Issue 18, target 5: what a full reconcile holds per Thulium record, the lever for a flat peak RSS.

Loads ``--n`` customers into a sandbox with syncd, then reads them back in this process exactly as a full
reconcile does (``ThuliumCrm.scan`` into ``RemoteIndex.build``) and reports the bytes the index holds per
record (tracemalloc: allocated and still held once the index is built), next to the same records as bare
JSON and as the share of what a 16-byte-per-record digest (id + hash in two arrays) would need.

    .venv/bin/python bench/remote_memory.py [--n 20000]
"""

from __future__ import annotations

import argparse
import gc
import json
import tracemalloc

from harness import bench, machine

from syncd.engine.crm.remote import RemoteIndex
from syncd.thulium.client import ThuliumClient
from syncd.thulium.crm import ThuliumCrm


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20_000)
    args = parser.parse_args()
    with bench(customers=args.n, companies=max(1, args.n // 100)) as b:
        load = b.sync("--stream", "companies", "--stream", "customers")
        assert load.returncode == 0, load.stderr
        client = ThuliumClient(b.sandbox.url, b.sandbox.user, b.sandbox.password)
        crm = ThuliumCrm(client)
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        index = RemoteIndex.build(crm.scan("customers"))
        gc.collect()
        held, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        every = [index.get(thulium_id) for thulium_id in index.ids()]
        records = len(every)
        sample = every[0]
        assert sample is not None
        as_json = sum(len(json.dumps(dict(r.fields))) for r in every if r is not None) / records
    per_record = (held - before) / records
    print(f"### Remote index memory per Thulium record ({machine()})\n")
    print("| measure | value |\n|---|---|")
    print(f"| records | {records:,} |")
    print(f"| held by the index, per record | {per_record:,.0f} B |")
    print(f"| peak while reading, per record | {(peak - before) / records:,.0f} B |")
    print(f"| its fields as JSON, per record | {as_json:,.0f} B |")
    print(f"| at 1M records | {per_record * 1e6 / 2**20:,.0f} MB |")
    print(f"| a 16 B digest per record at 1M | {16e6 / 2**20:.0f} MB |")
    print(f"| fields of one record | {sorted(sample.fields)} |")


if __name__ == "__main__":
    main()
