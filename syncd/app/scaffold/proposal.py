"""What ``syncd init`` proposes for one stream: key, change timestamp, soft delete, company key and fields.

Every choice carries why it was made, because the written file says it next to the value: a user who reads
``key = "id"  # primary key`` can trust it, one who reads ``# named like a key: check it is unique`` knows
what to look at. A column is proposed for one role only, and nothing is proposed on a guess a user could
not see through: a column whose name or type does not say its role is listed as left out instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from syncd.app.scaffold.names import (
    COMPANY_SYNONYMS,
    CUSTOMER_SYNONYMS,
    field_for,
    is_company_key_name,
    is_deleted_name,
    is_key_name,
    is_updated_name,
)
from syncd.source.reflect import Kind, Reflected, SourceColumn

REQUIRED = {"customers": "surname", "companies": "name"}
KEY_KINDS = frozenset({Kind.INTEGER, Kind.TEXT, Kind.UNKNOWN})
TIMESTAMP_KINDS = frozenset({Kind.TIMESTAMP, Kind.UNKNOWN})
DELETED_KINDS = frozenset({Kind.BOOLEAN, Kind.INTEGER, Kind.TEXT, Kind.TIMESTAMP, Kind.UNKNOWN})


@dataclass(frozen=True)
class Choice:
    column: str
    why: str


@dataclass(frozen=True)
class LeftOut:
    column: SourceColumn
    why: str


@dataclass
class StreamProposal:
    """One stream's section as proposed; the prompts may change any choice before it is written."""

    stream: str
    table: str | None
    query: str | None
    reflected: Reflected
    key: Choice | None = None
    updated_at: Choice | None = None
    deleted: Choice | None = None
    company_key: Choice | None = None
    fields: dict[str, Choice] = field(default_factory=dict)
    with_companies: bool = False  # customers only: a companies stream is scaffolded too

    @property
    def where(self) -> str:
        return f"table {self.table}" if self.table is not None else "the query"

    @property
    def required(self) -> str:
        return REQUIRED[self.stream]

    def roles(self) -> set[str]:
        """The columns holding key, timestamp, soft delete or company key: not offered as fields."""
        chosen = [self.key, self.updated_at, self.deleted, self.company_key]
        return {choice.column for choice in chosen if choice is not None}

    def left_out(self) -> list[LeftOut]:
        """Every column neither a role nor mapped, with why: listed in the file, so none vanishes unseen."""
        used = self.roles() | {choice.column for choice in self.fields.values()}
        synonyms = synonyms_of(self.stream)
        result = []
        for column in self.reflected.columns:
            if column.name in used:
                continue
            target = field_for(column.name, synonyms)
            why = (
                f"named like {target}, which {self.fields[target].column} already fills"
                if target is not None and target in self.fields
                else "no Thulium field is named like it"
            )
            result.append(LeftOut(column, why))
        return result


def synonyms_of(stream: str) -> dict[str, frozenset[str]]:
    return CUSTOMER_SYNONYMS if stream == "customers" else COMPANY_SYNONYMS


def propose(
    stream: str,
    reflected: Reflected,
    *,
    table: str | None = None,
    query: str | None = None,
    companies_table: str | None = None,
    with_companies: bool = False,
) -> StreamProposal:
    """The proposal for ``stream`` (customers or companies) from its table's or query's columns."""
    proposal = StreamProposal(stream, table, query, reflected, with_companies=with_companies)
    proposal.key = propose_key(reflected, table)
    proposal.updated_at = propose_updated_at(reflected, exclude=proposal.roles())
    proposal.deleted = propose_deleted(reflected, exclude=proposal.roles())
    if stream == "customers" and with_companies:
        proposal.company_key = propose_company_key(reflected, companies_table, exclude=proposal.roles())
    proposal.fields = propose_fields(reflected, synonyms_of(stream), exclude=proposal.roles())
    return proposal


def propose_key(reflected: Reflected, table: str | None) -> Choice | None:
    columns = reflected.columns
    primary = next((c for c in columns if c.primary_key), None)
    if primary is not None:
        return Choice(primary.name, "primary key")
    named = [c for c in columns if c.kind in KEY_KINDS and is_key_name(c.name, table)]
    for column in named:
        if column.unique and column.nullable is False:
            return Choice(column.name, f"unique, not null, {column.kind} named like a key")
    if named and reflected.from_query:
        return Choice(named[0].name, "named like a key; a query has no primary key: check it is unique")
    if named:
        return Choice(named[0].name, "named like a key, but not declared unique: check it is unique")
    return None


def propose_updated_at(reflected: Reflected, exclude: set[str]) -> Choice | None:
    """A change timestamp by name and type; a query's untyped column goes by name, with a warning."""
    candidates = [
        c
        for c in reflected.columns
        if c.name not in exclude and is_updated_name(c.name) and c.kind in TIMESTAMP_KINDS
    ]
    typed = [c for c in candidates if c.kind is Kind.TIMESTAMP]
    if typed:
        return Choice(typed[0].name, f"{typed[0].type_name} named like a change time: the incremental cursor")
    if candidates:
        return Choice(
            candidates[0].name,
            "named like a change time (a query's types are not known: "
            "check it is a timestamp set on every write)",
        )
    return None


def near_timestamps(reflected: Reflected) -> list[SourceColumn]:
    """Columns named like a change time whose type is not a timestamp: the advice names them."""
    return [c for c in reflected.columns if is_updated_name(c.name) and c.kind not in TIMESTAMP_KINDS]


def timestamp_columns(reflected: Reflected) -> list[SourceColumn]:
    return [c for c in reflected.columns if c.kind is Kind.TIMESTAMP]


def propose_deleted(reflected: Reflected, exclude: set[str]) -> Choice | None:
    for column in reflected.columns:
        if column.name in exclude or column.kind not in DELETED_KINDS or not is_deleted_name(column.name):
            continue
        if column.kind is Kind.TIMESTAMP:
            return Choice(column.name, f"{column.type_name} named like a deletion time; set = deleted")
        shown = "" if column.kind is Kind.UNKNOWN else f"{column.type_name} "
        return Choice(column.name, f"{shown}named like a soft-delete flag; truthy = deleted")
    return None


def propose_company_key(
    reflected: Reflected, companies_table: str | None, exclude: set[str]
) -> Choice | None:
    for column in reflected.columns:
        if column.name in exclude or column.kind not in KEY_KINDS:
            continue
        if is_company_key_name(column.name, companies_table):
            return Choice(column.name, "named like a company's key: the company's source key")
    return None


def propose_fields(
    reflected: Reflected, synonyms: dict[str, frozenset[str]], exclude: set[str]
) -> dict[str, Choice]:
    """Thulium field → column, the first column named for a field taking it."""
    fields: dict[str, Choice] = {}
    for column in reflected.columns:
        if column.name in exclude:
            continue
        target = field_for(column.name, synonyms)
        if target is not None and target not in fields:
            fields[target] = Choice(column.name, "named like it")
    return dict(sorted(fields.items(), key=lambda item: list(synonyms).index(item[0])))
