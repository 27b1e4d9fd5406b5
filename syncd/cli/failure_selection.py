"""Which failures a ``syncd failures`` command is about, declared once for the commands that choose them.

``list``, ``retry``, ``resolve`` and ``export`` choose failures the same way: the tenants (``--config``,
``--tenant``), then the rows (``--stream``, ``--kind``, ``--older-than``, ``--newer-than``; ``--status``
where a command may see resolved ones too). ``@selecting()`` puts those options into a command's
signature where its ``selection`` parameter stands, and hands the command one ``Selection``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from syncd.cli.options import (
    KindOption,
    NewerOption,
    OlderOption,
    StatusOption,
    StreamOption,
    TenantOption,
    TenantsOption,
    fail,
)

if TYPE_CHECKING:
    from syncd.app.state_views import FailureQuery

Command = Callable[..., None]


@dataclass(frozen=True)
class Selection:
    config: Path | None = None
    tenant: str | None = None
    stream: list[str] | None = None
    kind: list[str] | None = None
    status: str = "open"
    older_than: str | None = None
    newer_than: str | None = None

    def query(self, *, keys: Sequence[str] | None = None, limit: int | None = None) -> FailureQuery:
        """The state layer's query for these options; a mistake in them is said, exit 1."""
        from syncd.app.failure_queries import failure_query

        try:
            return failure_query(
                self.stream, self.kind, self.status, self.older_than, self.newer_than, keys=keys, limit=limit
            )
        except ValueError as exc:
            raise fail(str(exc)) from None


def _options(
    config: TenantsOption = None,
    tenant: TenantOption = None,
    stream: StreamOption = None,
    kind: KindOption = None,
    status: StatusOption = "open",
    older_than: OlderOption = None,
    newer_than: NewerOption = None,
) -> None:
    """The options, in the order ``--help`` lists them: typer reads them from this signature."""


def selecting(*, status: bool = False) -> Callable[[Command], Command]:
    """Without ``status``, the command sees open failures only and has no ``--status``."""
    chosen = [
        parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for parameter in inspect.signature(_options, eval_str=True).parameters.values()
        if status or parameter.name != "status"
    ]

    def decorate(command: Command) -> Command:
        signature = inspect.signature(command, eval_str=True)
        parameters: list[inspect.Parameter] = []
        for parameter in signature.parameters.values():
            if parameter.name == "selection":
                parameters.extend(chosen)
            else:
                parameters.append(parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY))

        @functools.wraps(command)
        def run(**options: Any) -> None:
            picked = {parameter.name: options.pop(parameter.name) for parameter in chosen}
            command(selection=Selection(**picked), **options)

        run.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        return run

    return decorate
