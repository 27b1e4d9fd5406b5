"""``syncd init``: scaffold a tenant file from a source table (or a query), then ``syncd check`` it.

The work is ``syncd.app.scaffold``'s; this module reads the options (or, on a terminal, asks for the missing
ones), hands the proposals to the prompts or takes them with ``--yes``, and prints what was written and what
``syncd check`` says of it. The exit code is the check's: 0 the file works as written, 1 it does not (or
nothing was written, and why was said).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from syncd.cli.options import fail

if TYPE_CHECKING:
    from syncd.app.scaffold.flow import InitRequest, Scaffolded

SCRIPT_FORM = (
    "syncd init --source URL --table NAME [--companies-table NAME] --thulium-url URL "
    "--thulium-user USER --password-env VAR --output FILE --yes"
)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("init")(init)


def init(
    source: Annotated[
        str | None, typer.Option("--source", help="Source database SQLAlchemy URL (no password).")
    ] = None,
    source_env: Annotated[
        str | None, typer.Option("--source-env", help="Instead of --source: the variable holding the URL.")
    ] = None,
    table: Annotated[str | None, typer.Option("--table", help="The customers table.")] = None,
    query: Annotated[
        str | None, typer.Option("--query", help="Instead of --table: a SELECT returning the customers.")
    ] = None,
    companies_table: Annotated[
        str | None, typer.Option("--companies-table", help="The companies table (adds a companies stream).")
    ] = None,
    thulium_url: Annotated[
        str | None, typer.Option("--thulium-url", help="https://<name>.thulium.com/api")
    ] = None,
    thulium_user: Annotated[str | None, typer.Option("--thulium-user", help="The Thulium API user.")] = None,
    password_env: Annotated[
        str | None, typer.Option("--password-env", help="The variable holding the API user's password.")
    ] = None,
    password_file: Annotated[
        str | None, typer.Option("--password-file", help="Instead of --password-env: the file holding it.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="The tenant file to write.", dir_okay=False)
    ] = None,
    updated_at: Annotated[
        str | None, typer.Option("--updated-at", help="The customers' change timestamp, when not proposed.")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Take the proposals; ask nothing.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace the output file if it exists.")] = False,
) -> None:
    """Scaffold a tenant file from a table: propose key, updated_at, soft delete and fields, then check it.

    On a terminal it asks for what is missing and lets you change each proposal; for scripts give every
    option and --yes. The source is only read. Exit 0: the file passes syncd check; 1: it does not, or
    nothing was written.
    """
    given = dict(locals())  # this command's options, by name
    from syncd.app.scaffold.flow import InitRequest, ScaffoldError, TakeProposals, scaffold

    interactive = not yes and sys.stdin.isatty()
    for flags in (("source", "source_env"), ("table", "query"), ("password_env", "password_file")):
        if all(given[name] is not None for name in flags):
            raise fail(f"give one of {' or '.join(option(name) for name in flags)}, not both")
    if interactive:
        from syncd.cli.init_prompts import PromptQuestions, ask_missing

        answers = ask_missing(given)
        questions: PromptQuestions | TakeProposals = PromptQuestions()
    else:
        answers = given
        questions = TakeProposals()
        missing = missing_options(answers) + ([] if yes else ["--yes (not a terminal: nothing can be asked)"])
        if missing:
            raise fail(
                f"syncd init: missing {', '.join(missing)}; give them (the script form: {SCRIPT_FORM}), "
                "or run it on a terminal to be asked"
            )
    request = InitRequest(
        source_url=answers["source"],
        source_env=answers["source_env"],
        table=answers["table"],
        query=answers["query"],
        companies_table=answers["companies_table"],
        thulium_url=answers["thulium_url"],
        thulium_user=answers["thulium_user"],
        password_env=answers["password_env"],
        password_file=answers["password_file"],
        output=Path(answers["output"]),
        force=force,
        updated_at=updated_at,
    )
    try:
        written = scaffold(request, questions)
    except ScaffoldError as exc:
        raise fail(str(exc)) from None
    summarise(request, written)
    raise typer.Exit(check_written(request.output))


def option(name: str) -> str:
    return "--" + name.replace("_", "-")


def missing_options(answers: dict[str, object]) -> list[str]:
    """The required options not given, in the words of the script form (a pair as "--a (or --b)")."""
    required = [("source", "source_env"), ("table", "query"), ("thulium_url",), ("thulium_user",)]
    required += [("password_env", "password_file"), ("output",)]
    return [
        option(names[0]) + "".join(f" (or {option(name)})" for name in names[1:])
        for names in required
        if all(answers.get(name) is None for name in names)
    ]


def summarise(request: InitRequest, written: Scaffolded) -> None:
    typer.echo(f"wrote {request.output}")
    for stream in written.streams:
        assert stream.key is not None
        assert stream.updated_at is not None
        roles = f"key {stream.key.column}, updated_at {stream.updated_at.column}"
        if stream.deleted is not None:
            roles += f", deleted {stream.deleted.column}"
        if stream.company_key is not None:
            roles += f", company_key {stream.company_key.column}"
        mapped = ", ".join(f"{target} = {choice.column}" for target, choice in stream.fields.items())
        typer.echo(f"  {stream.stream} ({stream.where}): {roles}; fields {mapped}")
        left_out = stream.left_out()
        if left_out:
            typer.echo(f"  {stream.stream}: left out {', '.join(item.column.name for item in left_out)}")


def check_written(path: Path) -> int:
    """``syncd check`` of the new file, printed as that command prints it; its exit code."""
    from syncd.app.check import check_config
    from syncd.cli.check import quiet_client_logs, render
    from syncd.settings import ProcessSettings

    typer.echo(f"\nsyncd check --config {path}")
    with quiet_client_logs():
        results = check_config(path, ProcessSettings())
    for result in results:
        typer.echo("\n".join(render(result)))
    return 0 if all(result.ok for result in results) else 1
