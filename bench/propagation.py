"""Benchmark 6: how long a source update takes to be right in Thulium under the running daemon.

`syncd up` runs the sandbox, a demo tenant, Redis, worker, beat and web, exactly as a user
would. Updates land in groups at random moments of the schedule; each updated customer is
then read back from the sandbox until it shows the new surname. Prints p50/p95/max.

    .venv/bin/python bench/propagation.py --interval 60      # the default schedule
    .venv/bin/python bench/propagation.py --interval 5       # the fastest interval the docs recommend
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from harness import SYNCD, machine, table
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from syncd.demo import schema
from syncd.thulium import ThuliumClient

PASSWORD = "sandbox-secret"


def wait_until(what: str, check: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.5)
    raise TimeoutError(f"{what} did not happen within {timeout:.0f} s")


def linked_keys(state_path: Path) -> list[str]:
    if not state_path.exists():
        return []
    engine = create_engine(f"sqlite:///{state_path}")
    try:
        with engine.connect() as connection:
            query = text("SELECT source_key FROM links WHERE stream = 'customers' AND state = 'synced'")
            return [str(key) for key in connection.scalars(query)]
    except SQLAlchemyError:  # not created yet, or mid-migration
        return []
    finally:
        engine.dispose()


def update_group(source: Path, keys: list[str], tag: str) -> dict[str, str]:
    engine = create_engine(f"sqlite:///{source}")
    surnames = {key: f"Prop{tag}{n}" for n, key in enumerate(keys)}
    with engine.begin() as connection:
        newest = connection.scalar(select(func.max(schema.customers.c.updated_at)))
        for n, (key, surname) in enumerate(surnames.items()):
            stamp = newest + timedelta(milliseconds=n + 1)
            connection.execute(
                schema.customers.update()
                .where(schema.customers.c.id == int(key))
                .values(last_name=surname, updated_at=stamp)
            )
    engine.dispose()
    return surnames


def delays_of(client: ThuliumClient, wanted: dict[str, str], started: float, timeout: float) -> list[float]:
    pending, delays = dict(wanted), []
    deadline = started + timeout
    while pending and time.monotonic() < deadline:
        for key, surname in list(pending.items()):
            # company_flag=False: a company's own customer record may share the key's identifier
            found = client.customers.find(key, company_flag=False)
            if any(customer.surname == surname for customer in found):
                delays.append(time.monotonic() - started)
                del pending[key]
        time.sleep(0.2)
    if pending:
        raise TimeoutError(f"{len(pending)} updates never arrived: keys {sorted(pending)}")
    return delays


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interval", type=int, default=60)
    parser.add_argument("--updates", type=int, default=100)
    parser.add_argument("--group", type=int, default=10)
    parser.add_argument("--sandbox-port", type=int, default=8891)
    parser.add_argument("--web-port", type=int, default=8892)
    args = parser.parse_args()
    rng = random.Random(4)
    with tempfile.TemporaryDirectory(prefix="syncd-prop-") as tmp:
        var = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}
        env.update(SYNCD_VAR_DIR=str(var), SYNCD_LOG_LEVEL="WARNING", SYNCD_SANDBOX_PASSWORD=PASSWORD)
        command = [
            str(SYNCD),
            "up",
            "--sandbox-port",
            str(args.sandbox_port),
            "--web-port",
            str(args.web_port),
        ]
        command += ["--interval", str(args.interval), "--customers", "2000"]
        log = (var / "up.log").open("w")
        stack = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            state, source = var / "demo" / "state.sqlite", var / "demo" / "source.sqlite"
            wait_until("the first full load", lambda: len(linked_keys(state)) > 1900, timeout=300)
            keys = linked_keys(state)
            url = f"http://127.0.0.1:{args.sandbox_port}/api"
            delays: list[float] = []
            with ThuliumClient(url, "api_user", PASSWORD) as client:
                for group in range(args.updates // args.group):
                    time.sleep(rng.uniform(0, args.interval))  # land anywhere in the schedule
                    chosen = rng.sample(keys, args.group)
                    started = time.monotonic()
                    wanted = update_group(source, chosen, f"{group}x")
                    delays += delays_of(client, wanted, started, timeout=args.interval * 3 + 60)
        finally:
            os.killpg(stack.pid, 15)
            stack.wait(timeout=60)
            log.close()
            if os.environ.get("BENCH_KEEP"):
                subprocess.run(["cp", "-r", str(var), os.environ["BENCH_KEEP"]], check=False)
    cuts = statistics.quantiles(delays, n=100)
    print(
        table(
            f"Propagation under the daemon: {len(delays)} updates, interval {args.interval} s ({machine()})",
            [
                ("p50", f"{cuts[49]:.1f} s"),
                ("p95", f"{cuts[94]:.1f} s"),
                ("max", f"{max(delays):.1f} s"),
            ],
        )
    )


if __name__ == "__main__":
    main()
