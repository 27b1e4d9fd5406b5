"""The options several commands share, declared once: ``--config`` (a tenant file or folder), ``--json``,
and how ``syncd failures`` and ``syncd runs`` choose tenants, streams, kinds and ages; what those
options come to (the settings, the chosen tenants' stores), and how a command refuses them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from syncd.settings import ConfigError, ProcessSettings

if TYPE_CHECKING:  # every `syncd` command loads this module: the app layer loads when a command runs
    from syncd.app.tenant_scopes import Scope

TenantsOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Tenant file or folder (default: SYNCD_CONFIG_DIR, else ./config)."),
]
JsonOption = Annotated[
    bool,
    typer.Option("--json", help="One JSON document on stdout (schema: syncd/cli/schemas/), for scripts."),
]
TenantOption = Annotated[
    str | None, typer.Option("--tenant", help="Only this tenant (its file name without .toml).")
]
StreamOption = Annotated[
    list[str] | None,
    typer.Option("--stream", help="companies, customers or campaign:<outbound_id>; repeatable."),
]
KindOption = Annotated[
    list[str] | None,
    typer.Option(
        "--kind",
        help="rejected, permanent, retryable or waiting (the default: all four), or warning "
        "(customers synced without their company); repeatable.",
    ),
]
StatusOption = Annotated[str, typer.Option("--status", help="open, resolved or all.")]
OlderOption = Annotated[
    str | None, typer.Option("--older-than", help="Failing for longer than this (30m, 2h, 7d).")
]
NewerOption = Annotated[
    str | None, typer.Option("--newer-than", help="Failing for less than this (30m, 2h, 7d).")
]
KeysArgument = Annotated[list[str] | None, typer.Argument(help="Source keys (default: every match).")]


def settings_for(config: Path | None) -> ProcessSettings:
    """The process settings, with ``--config`` (when given) as the tenant file or folder."""
    settings = ProcessSettings()
    return settings if config is None else settings.model_copy(update={"config_dir": config})


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def say_skipped(line: str) -> None:
    typer.echo(line, err=True)


@contextmanager
def chosen_scopes(config: Path | None, tenant: str | None) -> Iterator[tuple[ProcessSettings, list[Scope]]]:
    """The tenants ``--config`` and ``--tenant`` choose that have a state DB (``syncd.app.tenant_scopes``);
    each state DB opened once, closed at the end."""
    from syncd.app.tenant_scopes import NothingReadable, UnknownTenant, readable_scopes

    settings = settings_for(config)
    with ExitStack() as stack:
        try:
            scopes = stack.enter_context(readable_scopes(settings, tenant, say_skipped))
        except (ConfigError, UnknownTenant) as exc:
            raise fail(str(exc)) from None
        except NothingReadable:
            raise typer.Exit(1) from None  # nothing could be read, and why was said: not an empty answer
        yield settings, scopes
