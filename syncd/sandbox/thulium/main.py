"""``python -m syncd.sandbox`` — the password comes from the environment, never from argv (ps shows argv)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from syncd.sandbox.thulium.app import run_sandbox
from syncd.sandbox.thulium.config import DEFAULT_USER, config_from_options
from syncd.sandbox.thulium.readings import PROFILES


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m syncd.sandbox", description="Thulium API simulator")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument(
        "--port", type=int, default=8765, help="0 = pick a free port (printed as SANDBOX_PORT=...)"
    )
    p.add_argument(
        "--seed-file", type=Path, default=None, help="JSON seed (default: the packaged default_seed.json)"
    )
    p.add_argument("--faults-file", type=Path, default=None, help="JSON fault configuration (see README)")
    p.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default="default",
        help="how to read what the vendor document leaves open (adversarial: every unkind reading)",
    )
    p.add_argument("--readings-file", type=Path, default=None, help="JSON readings on top of the profile")
    p.add_argument("--latency-ms", type=int, default=0)
    p.add_argument("--jitter-ms", type=int, default=0)
    p.add_argument("--seed", type=int, default=0, help="random seed for faults and jitter")
    p.add_argument(
        "--capacity", type=int, default=None, help="serve at most this many requests at once (default: any)"
    )
    p.add_argument(
        "--queue-limit",
        type=int,
        default=None,
        help="with --capacity: this many more wait, the rest get 429 (default: as many as --capacity)",
    )
    p.add_argument("--user", default=DEFAULT_USER)
    p.add_argument("--no-print-port", action="store_true")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    run_sandbox(config_from_options(vars(args)), print_port=not args.no_print_port)


if __name__ == "__main__":
    main()
