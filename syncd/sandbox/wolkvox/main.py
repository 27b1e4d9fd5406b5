"""``python -m syncd.sandbox.wolkvox`` — the token comes from the environment, never from argv (ps shows
argv)."""

from __future__ import annotations

import argparse
import functools
import os
from collections.abc import Sequence

from aiohttp import web

from syncd.sandbox.serving import announce_port, run_until_signalled, serve_runner
from syncd.sandbox.wolkvox.routes import build_app
from syncd.sandbox.wolkvox.state import DEFAULT_TOKEN, TOKEN_ENV, Limits

PORT_LINE_PREFIX = "WOLKVOX_PORT="


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m syncd.sandbox.wolkvox", description="Wolkvox chat_13 simulator"
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument(
        "--port", type=int, default=8766, help="0 = pick a free port (printed as WOLKVOX_PORT=...)"
    )
    p.add_argument("--min-poll-seconds", type=float, default=300.0)
    p.add_argument("--latency-ms", type=int, default=0, help="how long each accepted request is held open")
    p.add_argument("--max-concurrent", type=int, default=2)
    p.add_argument("--no-print-port", action="store_true")
    return p.parse_args(argv)


async def serve(app: web.Application, host: str, port: int, *, print_port: bool) -> None:
    """Runs until cancelled; announces the bound port on stdout so a launcher can use port 0."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    ready = functools.partial(announce_port, PORT_LINE_PREFIX) if print_port else None
    await serve_runner(runner, host, port, ready=ready)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    limits = Limits(
        min_poll_seconds=args.min_poll_seconds, latency_ms=args.latency_ms, max_concurrent=args.max_concurrent
    )
    app = build_app(token=os.environ.get(TOKEN_ENV) or DEFAULT_TOKEN, limits=limits)
    run_until_signalled(serve(app, args.host, args.port, print_port=not args.no_print_port))


if __name__ == "__main__":
    main()
