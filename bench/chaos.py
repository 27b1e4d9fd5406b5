"""Chaos rounds: source changes, random fault mixes and killed runs, each round checked for exact convergence.

Not part of CI (it takes minutes); the fault scenarios in tests/faults/ are the scaled-down, one-fault-at-a-
time version. One round:

1. the demo source changes the way a live system does (``syncd.demo.mutate``: updates, soft and hard
   deletes, inserts, some stamped with the cursor's exact ``updated_at``), and agents edit and delete a few
   synced customers in Thulium;
2. the sandbox turns on a random mix of faults: 5xx, 429 with ``Retry-After``, lost responses, malformed and
   partial 207 bodies, per-item 503s, latency spikes and hangs shorter than the read timeout, over random
   latency and jitter;
3. ``syncd sync`` runs under them (sometimes ``--full``); in some rounds it is SIGKILLed at a random moment
   and run again, faults still on;
4. faults off, an incremental and a full run, then the convergence figures (``tests/faults/figures.py``):
   a round passes with 0 lost, duplicated, stale and unexpected, and the open failures being exactly the
   source's invalid rows. "converged after" is the time from faults off to that check.

    .venv/bin/python bench/chaos.py [--rounds 20] [--customers 5000] [--seed 1] [--profile adversarial]

Prints a markdown table, one row per round and the totals; exits 1 if any round failed.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.* from a plain `python bench/...`

from harness import SYNCD, machine

from syncd.demo import DemoSource, generate_source, mutate, write_demo_config
from syncd.sandbox import SandboxProcess
from syncd.settings import ProcessSettings, Tenant, load_tenant
from tests.faults.figures import Figures, measure
from tests.sync.convergence import patient_client

READ_TIMEOUT = 5.0  # seconds; every hang below is shorter
RUN_TIMEOUT = 900.0  # a run that takes longer than this is a failed round (something hangs)

Rule = Callable[[random.Random], dict[str, Any]]
FAULTS: dict[str, Rule] = {
    "5xx": lambda r: {
        "kind": "error",
        "status": r.choice([500, 502, 503]),
        "probability": r.uniform(0.03, 0.15),
    },
    "429": lambda r: {"kind": "too_many_requests", "probability": r.uniform(0.03, 0.15), "retry_after": 1},
    "lost": lambda r: {
        "kind": "lost_response",
        "method": r.choice(["POST", "PUT", "DELETE"]),
        "probability": r.uniform(0.02, 0.1),
    },
    "item503": lambda r: {
        "kind": "item_unavailable",
        "path": "batch/customers",
        "item_probability": r.uniform(0.05, 0.2),
    },
    "malformed": lambda r: {"kind": "malformed_207", "probability": r.uniform(0.03, 0.15)},
    "partial": lambda r: {
        "kind": "partial_207",
        "probability": r.uniform(0.03, 0.15),
        "item_probability": r.uniform(0.1, 0.5),
    },
    "spike": lambda r: {
        "kind": "slow",
        "probability": r.uniform(0.02, 0.1),
        "delay_ms": r.randint(200, 1500),
    },
    "hang": lambda r: {
        "kind": "hang",
        "probability": r.uniform(0.01, 0.05),
        "delay_ms": r.randint(500, int(READ_TIMEOUT * 1000) - 1500),
    },
}

HEADER = (
    "| round | faults | runs under faults | attempted | ok | lost | duplicated | stale | unexpected "
    "| failures recorded (expected) | converged after | result |"
)


@dataclass
class Round:
    number: int
    faults: list[str]
    runs: list[str] = field(default_factory=list)  # "2", "2 full", "killed", ...
    figures: Figures | None = None
    final_codes: tuple[int, int] = (0, 0)
    errors: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        codes_ok = all(code in (0, 2) for code in self.final_codes)
        return codes_ok and self.figures is not None and self.figures.passed and not self.errors

    def row(self) -> str:
        f = self.figures or Figures(f"round {self.number}")
        failures = f"{len(f.failures)} ({len(f.expected_failures)})"
        return (
            f"| {self.number} | {', '.join(self.faults)} | {'; '.join(self.runs)} | {f.attempted} | {f.ok} "
            f"| {len(f.lost)} | {len(f.duplicated)} | {len(f.stale)} | {len(f.unexpected)} | {failures} "
            f"| {f.seconds:.1f} s | {'pass' if self.passed else 'FAIL'} |"
        )


class Chaos:
    def __init__(self, folder: Path, sandbox: SandboxProcess, args: argparse.Namespace) -> None:
        self.folder, self.sandbox, self.args = folder, sandbox, args
        self.rng = random.Random(args.seed)
        self.source_url = f"sqlite:///{folder / 'source.sqlite'}"
        self.state_url = f"sqlite:///{folder / 'state.sqlite'}"
        self.demo: DemoSource = generate_source(
            self.source_url,
            customers=args.customers,
            companies=max(1, args.customers // 10),
            invalid_fraction=0.03,
            seed=args.seed,
        )
        self.config = write_demo_config(
            folder / "chaos.toml", self.source_url, sandbox.url, user=sandbox.user, state_url=self.state_url
        )
        text = self.config.read_text().replace(
            "[thulium]\n", f"[thulium]\nread_timeout = {READ_TIMEOUT}\n", 1
        )
        self.config.write_text(text)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}
        self.env.update(
            THULIUM_PASSWORD=sandbox.password, SYNCD_LOG_LEVEL="WARNING", SYNCD_VAR_DIR=str(folder / "var")
        )
        self.deleted: set[str] = set()
        self.stderr: list[str] = []

    def tenant(self) -> Tenant:
        return load_tenant(self.config, ProcessSettings(), env=self.env)

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(SYNCD), "sync", "--config", str(self.config), *args],
            env=self.env,
            text=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def sync(self, *args: str) -> int:
        process = self.start(*args)
        try:
            _, stderr = process.communicate(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            _, stderr = process.communicate()
            self.stderr.append(f"syncd sync {' '.join(args)}: timed out after {RUN_TIMEOUT:.0f} s")
            return -1
        if process.returncode not in (0, 2):
            self.stderr.append(f"syncd sync {' '.join(args)} -> {process.returncode}: {stderr[-1500:]}")
        return process.returncode

    # -- one round ---------------------------------------------------------------------------------------
    def round(self, number: int) -> Round:
        rng = self.rng
        change = mutate(
            self.source_url,
            seed=rng.randrange(1 << 30),
            updates=0.05,
            soft_deletes=0.01,
            hard_deletes=0.01,
            inserts=max(5, self.args.customers // 100),
            same_timestamp=5,
        )
        self.deleted.update(change.soft_deleted, change.hard_deleted)
        self.agents(rng, edits=3, deletes=2)

        names = sorted(rng.sample(sorted(FAULTS), rng.randint(2, 4)))
        current = Round(number, names)
        control = self.sandbox.control
        control.set_faults(
            {
                "seed": rng.randrange(1 << 30),
                "latency_ms": rng.randint(0, 10),
                "jitter_ms": rng.randint(0, 10),
                "rules": [FAULTS[name](rng) for name in names],
            }
        )
        try:
            full = ("--full",) if rng.random() < 0.2 else ()
            if rng.random() < self.args.kill_probability:
                process = self.start(*full)
                time.sleep(rng.uniform(0.2, 3.0))
                if process.poll() is None:
                    process.send_signal(signal.SIGKILL)
                    current.runs.append("killed")
                process.communicate()
            code = self.sync(*full)
            current.runs.append(f"{code}{' full' if full else ''}")
        finally:
            control.clear_faults()

        self.stderr = []  # a run aborted under faults is allowed; the final runs must not abort
        started = time.monotonic()
        current.final_codes = (self.sync(), self.sync("--full"))
        invalid = {
            "companies": set(self.demo.invalid_companies),
            "customers": set(self.demo.invalid_customers) - self.deleted,
        }
        with patient_client(self.sandbox) as client:
            figures = measure(f"round {number}", self.tenant(), client, invalid, self.state_url, started)
        current.figures = figures
        current.errors, self.stderr = self.stderr, []
        return current

    def agents(self, rng: random.Random, *, edits: int, deletes: int) -> None:
        """Agents change synced customers behind syncd's back; the round's full run must repair them."""
        customers = [c for c in self.sandbox.control.state()["customers"] if not c.get("company_flag")]
        chosen = rng.sample(customers, min(len(customers), edits + deletes))
        for customer in chosen[:edits]:
            self.sandbox.control.agent_edit_customer(int(customer["customer_id"]), {"surname": "Agent"})
        for customer in chosen[edits:]:
            self.sandbox.control.agent_delete_customer(int(customer["customer_id"]))


def totals(rounds: list[Round], seconds: float) -> str:
    done = [r.figures for r in rounds if r.figures is not None]

    def total(pick: Callable[[Figures], int]) -> int:
        return sum(pick(f) for f in done)

    kills = sum(r.runs.count("killed") for r in rounds)
    failures = f"{total(lambda f: len(f.failures))} ({total(lambda f: len(f.expected_failures))})"
    passed = sum(1 for r in rounds if r.passed)
    converge = sum(f.seconds for f in done)
    return (
        f"| **total** | | {kills} killed | {total(lambda f: f.attempted)} | {total(lambda f: f.ok)} "
        f"| {total(lambda f: len(f.lost))} | {total(lambda f: len(f.duplicated))} "
        f"| {total(lambda f: len(f.stale))} | {total(lambda f: len(f.unexpected))} | {failures} "
        f"| {converge:.1f} s (wall {seconds:.0f} s) | {passed}/{len(rounds)} passed |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kill-probability", type=float, default=0.3, help="share of rounds with a SIGKILL")
    parser.add_argument(
        "--profile",
        default="default",
        help="the sandbox's readings of the vendor document: default, adversarial",
    )
    args = parser.parse_args()
    began = time.monotonic()
    rounds: list[Round] = []
    with (
        tempfile.TemporaryDirectory(prefix="syncd-chaos-") as tmp,
        SandboxProcess(seed=args.seed, profile=args.profile) as sandbox,
    ):
        chaos = Chaos(Path(tmp), sandbox, args)
        first = chaos.sync()
        if first not in (0, 2):
            print(f"the initial load failed ({first}): {chaos.stderr}", file=sys.stderr)
            return 1
        chaos.stderr = []
        print(
            f"### Chaos: {args.rounds} rounds, {args.customers:,} customers, seed {args.seed} ({machine()})\n"
        )
        print(HEADER)
        print("|---|---|---|---|---|---|---|---|---|---|---|---|", flush=True)
        for number in range(1, args.rounds + 1):
            current = chaos.round(number)
            rounds.append(current)
            print(current.row(), flush=True)
        print(totals(rounds, time.monotonic() - began))
    failed = [r for r in rounds if not r.passed]
    for r in failed:
        details = r.figures.explain() if r.figures else "no figures"
        print(f"\nround {r.number} failed: final runs {r.final_codes}; {details}", file=sys.stderr)
        for error in r.errors:
            print(f"  {error}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
