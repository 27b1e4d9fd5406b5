"""``syncd check``: validate tenant files and probe, read-only, what they point at.

The probing lives in ``syncd.app.check`` (testable functions returning problems); this
module only prints: one ``file: key: problem`` line per problem, like the loader's errors,
and a short summary of what was checked per tenant.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from syncd.cli.options import JsonOption

if TYPE_CHECKING:
    from syncd.app.check import TenantCheck

ConfigPath = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Tenant file or folder (default: SYNCD_CONFIG_DIR, else ./config)."),
]


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("check")(check)


def check(config: ConfigPath = None, json_output: JsonOption = False) -> None:
    """Check tenant files, then probe (read-only) their source DB, state DB and Thulium. Exit 1: problems."""
    from syncd.app.check import check_config
    from syncd.settings import ProcessSettings

    settings = ProcessSettings()
    with quiet_client_logs():
        results = check_config(config or settings.config_dir, settings)
    if json_output:
        from syncd.cli.json_output import check_document, dumps
        from syncd.state.types import utcnow

        typer.echo(dumps(check_document(results, utcnow())))
    else:
        for result in results:
            typer.echo("\n".join(render(result)))
    raise typer.Exit(0 if all(result.ok for result in results) else 1)


def render(result: TenantCheck) -> list[str]:
    """Problems first, then one verdict line; a clean tenant lists what was checked."""
    if not result.ok:
        count = len(result.problems)
        return [*result.lines(), f"{result.name}: {count} problem{'' if count == 1 else 's'}"]
    width = max(len(section.name) for section in result.sections)
    details = [f"  {section.name:<{width}}  {section.summary}" for section in result.sections]
    return [f"{result.name}: OK ({result.path})", *details]


@contextmanager
def quiet_client_logs() -> Iterator[None]:
    """The client logs each failed request; the check reports the same failure once, with its key."""
    logger = logging.getLogger("syncd.thulium")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)
