"""The `syncd` command line: one entry point for ops, the demo and the daemon's helpers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from syncd.settings import ConfigError, ProcessSettings, parse_tenant_file

app = typer.Typer(
    help="Keep a Thulium CRM an exact mirror of your database.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def setup() -> None:
    from syncd.logs import configure_logging

    configure_logging(ProcessSettings().log_level)


db_app = typer.Typer(help="State DB schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="Tenant file; its [state] url is used.", dir_okay=False)
]
UrlOption = Annotated[
    str | None, typer.Option("--url", help="State DB URL (overrides --config and SYNCD_STATE_URL).")
]


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def resolve_state_url(config: Path | None, url: str | None) -> str:
    if url:
        return url
    if config is not None:
        try:
            tenant_file = parse_tenant_file(config)
        except ConfigError as exc:
            raise fail(str(exc)) from None
        if tenant_file.state is not None:
            return tenant_file.state.url
    return ProcessSettings().default_state_url()


@db_app.command("upgrade")
def db_upgrade(
    config: ConfigOption = None,
    url: UrlOption = None,
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Create or upgrade the state DB schema."""
    from syncd.state import migrate

    state_url = resolve_state_url(config, url)
    migrate.upgrade(state_url, revision)
    typer.echo(f"state DB at revision {migrate.current_revision(state_url)}")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. base.")],
    config: ConfigOption = None,
    url: UrlOption = None,
) -> None:
    """Downgrade the state DB schema (base drops every syncd table)."""
    from syncd.state import migrate

    state_url = resolve_state_url(config, url)
    migrate.downgrade(state_url, revision)
    typer.echo(f"state DB at revision {migrate.current_revision(state_url)}")


@db_app.command("current")
def db_current(config: ConfigOption = None, url: UrlOption = None) -> None:
    """Show the state DB's revision and the newest one this syncd knows."""
    from syncd.state import migrate

    state_url = resolve_state_url(config, url)
    typer.echo(f"current: {migrate.current_revision(state_url)}  head: {migrate.head_revision()}")


@app.command("sandbox")
def sandbox(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 picks a free one).")] = 8765,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    seed_file: Annotated[
        Path | None, typer.Option(help="JSON with campaigns, statuses and custom fields to start with.")
    ] = None,
    latency_ms: Annotated[int, typer.Option(help="Added latency per request.")] = 0,
    jitter_ms: Annotated[int, typer.Option(help="Random extra latency, up to this.")] = 0,
    seed: Annotated[int, typer.Option(help="Random seed for jitter and fault injection.")] = 0,
    user: Annotated[str, typer.Option(help="API user the sandbox accepts.")] = "api_user",
) -> None:
    """Run the Thulium API simulator (password from SYNCD_SANDBOX_PASSWORD, default sandbox-secret)."""
    from syncd.sandbox import run_sandbox

    password = os.environ.get("SYNCD_SANDBOX_PASSWORD", "sandbox-secret")
    run_sandbox(
        host=host,
        port=port,
        seed_file=seed_file,
        latency_ms=latency_ms,
        jitter_ms=jitter_ms,
        seed=seed,
        user=user,
        password=password,
        print_port=True,
    )


def main() -> None:
    app()
