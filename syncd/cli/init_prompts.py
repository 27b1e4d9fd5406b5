"""The questions ``syncd init`` asks on a terminal: what the options left out, then each proposal.

Every proposal is the default answer, so Enter through the prompts gives the same file as ``--yes``.
"""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.prompt import Confirm, Prompt
from rich.table import Table

from syncd.app.scaffold.proposal import Choice, StreamProposal
from syncd.app.scaffold.render import key as toml_key
from syncd.settings.fields import COMPANY_FIELDS, CUSTOMER_FIELDS, target_problem

NONE = "none"
CHOSEN = "chosen at the prompt"


def ask_missing(given: dict[str, Any]) -> dict[str, Any]:
    """The options a script would give, asked for when missing; pairs ask for the usual one of the two."""
    answers = dict(given)
    if answers["source"] is None and answers["source_env"] is None:
        answers["source"] = typer.prompt("Source database URL (SQLAlchemy; no password in it)")
    if answers["table"] is None and answers["query"] is None:
        answers["table"] = typer.prompt("Customers table")
    if answers["companies_table"] is None:
        companies = typer.prompt("Companies table (blank: none)", default="", show_default=False)
        answers["companies_table"] = companies.strip() or None
    if answers["thulium_url"] is None:
        answers["thulium_url"] = typer.prompt("Thulium API URL (https://<name>.thulium.com/api)")
    if answers["thulium_user"] is None:
        answers["thulium_user"] = typer.prompt("Thulium API user")
    if answers["password_env"] is None and answers["password_file"] is None:
        answers["password_env"] = typer.prompt(
            "Environment variable holding its password", default="THULIUM_PASSWORD"
        )
    if answers["output"] is None:
        name = (answers["table"] or "tenant").rpartition(".")[2]
        answers["output"] = typer.prompt("Tenant file to write", default=f"config/{name}.toml")
    return answers


class PromptQuestions:
    """Shows a stream's columns and what each is proposed as, then asks for each role and the fields."""

    def __init__(self) -> None:
        self.console = Console()

    def review(self, proposal: StreamProposal) -> None:
        self.console.print(overview(proposal))
        names = proposal.reflected.names
        proposal.key = self.column("Key column (unique per row)", proposal.key, names, optional=False)
        proposal.updated_at = self.column(
            "Change timestamp (set on every insert and update)", proposal.updated_at, names, optional=True
        )
        proposal.deleted = self.column("Soft-delete column", proposal.deleted, names, optional=True)
        if proposal.with_companies:
            proposal.company_key = self.column(
                "Company key column", proposal.company_key, names, optional=True
            )
        self.fields(proposal)

    def column(
        self, question: str, proposed: Choice | None, names: list[str], *, optional: bool
    ) -> Choice | None:
        choices = [*names, NONE] if optional or proposed is None else names
        default = proposed.column if proposed is not None else NONE
        answer = Prompt.ask(
            question, choices=choices, default=default, show_choices=False, console=self.console
        )
        if answer == NONE:
            return None
        if proposed is not None and answer == proposed.column:
            return proposed
        return Choice(answer, CHOSEN)

    def fields(self, proposal: StreamProposal) -> None:
        """Keep the mapping, or change it one ``field = column`` at a time (``field =`` drops the field)."""
        if Confirm.ask("Keep this field mapping?", default=True, console=self.console):
            return
        allowed = CUSTOMER_FIELDS if proposal.stream == "customers" else COMPANY_FIELDS
        names = proposal.reflected.names
        while True:
            answer = Prompt.ask(
                "Thulium field = column (e.g. address.city = miasto; 'field =' drops it; blank: done)",
                default="",
                show_default=False,
                console=self.console,
            )
            if not answer.strip():
                return
            target, _, column = (part.strip().strip('"') for part in answer.partition("="))
            problem = target_problem(target, allowed)
            if problem:
                self.console.print(f"[red]{problem}[/red]")
            elif not column:
                proposal.fields.pop(target, None)
            elif column not in names:
                self.console.print(f"[red]{proposal.where} has no column {column!r}[/red]")
            else:
                proposal.fields[target] = Choice(column, CHOSEN)


def overview(proposal: StreamProposal) -> Table:
    """Every column of the table or query, what it is proposed as and why (or that it is left out)."""
    chosen: dict[str, tuple[str, Choice]] = {
        choice.column: (toml_key(target), choice) for target, choice in proposal.fields.items()
    }
    for role in ("key", "updated_at", "deleted", "company_key"):
        choice = getattr(proposal, role)
        if choice is not None:
            chosen[choice.column] = (role, choice)
    table = Table(title=f"{proposal.stream}: {proposal.where}")
    for heading in ("column", "type", "proposed as", "why"):
        table.add_column(heading)
    left_out = {item.column.name: item.why for item in proposal.left_out()}
    for column in proposal.reflected.columns:
        if column.name in chosen:
            role, choice = chosen[column.name]
            table.add_row(column.name, column.type_name, role, choice.why)
        else:
            table.add_row(column.name, column.type_name, "left out", left_out.get(column.name, ""))
    return table
