"""``syncd init``: from a table (or a query) to a tenant file that loads, in one pass.

Reflect the source (read-only), propose each stream, let the user review the proposals (the prompts on a
terminal; ``--yes`` takes them as they are), then refuse to write anything the loader would refuse: a file
without a change timestamp or a required field would only fail at the first sync, further from its cause.
The text is checked with the loader before the file is created, and an existing file is kept unless forced.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from syncd.app.scaffold.advice import missing_timestamp
from syncd.app.scaffold.proposal import Choice, StreamProposal, near_timestamps, propose, timestamp_columns
from syncd.app.scaffold.render import Connection, render_tenant_file
from syncd.errors import Fatal
from syncd.settings import ConfigError
from syncd.settings.loader import parse_tenant_text, unset
from syncd.source.probe import listing
from syncd.source.reflect import Reflected, ReflectionError, holds_password, reflect_query, reflect_table


@dataclass(frozen=True)
class InitRequest:
    """What the command line (or the prompts) said; exactly one of each pair is given."""

    source_url: str | None
    source_env: str | None
    table: str | None
    query: str | None
    companies_table: str | None
    thulium_url: str
    thulium_user: str
    password_env: str | None
    password_file: str | None
    output: Path
    force: bool = False
    updated_at: str | None = None

    @property
    def connection(self) -> Connection:
        return Connection(
            self.thulium_url,
            self.thulium_user,
            self.password_env,
            self.password_file,
            None if self.source_env else self.source_url,
            self.source_env,
        )


class Questions(Protocol):
    def review(self, proposal: StreamProposal) -> None:
        """Show a stream's proposal and change it in place as the user says (or take it as it is)."""


class TakeProposals:
    """``--yes``: the proposals as they are."""

    def review(self, proposal: StreamProposal) -> None:
        return None


@dataclass(frozen=True)
class Scaffolded:
    """The file written, and the proposals it was written from (the command's summary shows them)."""

    text: str
    streams: list[StreamProposal]


class ScaffoldError(Fatal):
    """Nothing was written: the output exists, the source cannot be read, or a file would not work."""


def refuse_existing(output: Path, force: bool) -> None:
    if output.exists() and not force:
        raise ScaffoldError(f"{output} exists; syncd init does not overwrite it (give --force to replace it)")


def source_url_of(request: InitRequest, env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    if request.source_env is not None:
        url = env.get(request.source_env, "")
        if not url:
            raise ScaffoldError(f"--source-env: {unset(request.source_env, env)}")
        return url
    assert request.source_url is not None
    if holds_password(request.source_url):
        raise ScaffoldError(
            "--source: the URL holds a password, which a tenant file never does; put the URL in an "
            "environment variable and give --source-env VARIABLE (the file then names the variable)"
        )
    return request.source_url


def propose_streams(request: InitRequest, url: str) -> list[StreamProposal]:
    """Companies first (as they sync), then customers, each from its reflected columns."""
    streams: list[StreamProposal] = []
    try:
        if request.companies_table is not None:
            reflected = reflect_table(url, request.companies_table)
            streams.append(propose("companies", reflected, table=request.companies_table))
        if request.query is not None:
            reflected = reflect_query(url, request.query)
        else:
            assert request.table is not None
            reflected = reflect_table(url, request.table)
    except ReflectionError as exc:
        raise ScaffoldError(str(exc)) from None
    customers = propose(
        "customers",
        reflected,
        table=request.table if request.query is None else None,
        query=request.query,
        companies_table=request.companies_table,
        with_companies=request.companies_table is not None,
    )
    if request.updated_at is not None:
        override_updated_at(customers, request.updated_at)
    return [*streams, customers]


def override_updated_at(proposal: StreamProposal, column: str) -> None:
    names = proposal.reflected.names
    if column not in names:
        raise ScaffoldError(
            f'--updated-at: {proposal.where} has no column "{column}" (it has: {listing(names)})'
        )
    proposal.updated_at = Choice(column, "given with --updated-at: set on every insert and update")
    if proposal.deleted is not None and proposal.deleted.column == column:
        proposal.deleted = None
    if proposal.company_key is not None and proposal.company_key.column == column:
        proposal.company_key = None
    proposal.fields = {target: c for target, c in proposal.fields.items() if c.column != column}


def problems(proposal: StreamProposal) -> list[str]:
    """What would make the file fail to load or to sync, said per stream with what to do."""
    found: list[str] = []
    reflected: Reflected = proposal.reflected
    if proposal.key is None:
        found.append(
            f"{proposal.stream}: {proposal.where} has no primary key and no unique column named like a key "
            f"(id, uuid, …); it has: {listing(reflected.names)}"
        )
    if proposal.updated_at is None:
        message = missing_timestamp(
            proposal.where,
            proposal.table,
            reflected.dialect,
            near_timestamps(reflected),
            timestamp_columns(reflected),
        )
        found.append(f"{proposal.stream}: {message}")
    if proposal.required not in proposal.fields:
        found.append(
            f"{proposal.stream}: no column of {proposal.where} is named like Thulium's {proposal.required}, "
            f"which Thulium requires (it has: {listing(reflected.names)})"
        )
    return found


def scaffold(request: InitRequest, questions: Questions, env: Mapping[str, str] | None = None) -> Scaffolded:
    """Write the tenant file ``request.output``; ``ScaffoldError`` when nothing was written."""
    refuse_existing(request.output, request.force)
    streams = propose_streams(request, source_url_of(request, env))
    for stream in streams:
        questions.review(stream)
    found = [problem for stream in streams for problem in problems(stream)]
    if found:
        raise ScaffoldError("\n".join([*found, f"No tenant file was written to {request.output}."]))
    text = render_tenant_file(request.connection, streams)
    try:
        parse_tenant_text(text, request.output)
    except ConfigError as exc:
        raise ScaffoldError(f"{exc}\nNo tenant file was written.") from None
    write(request.output, text, request.force)
    return Scaffolded(text, streams)


def write(output: Path, text: str, force: bool) -> None:
    """Create the file (``x``: a file that appeared meanwhile is still not overwritten), or replace it."""
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        with output.open("w" if force else "x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        refuse_existing(output, force)
