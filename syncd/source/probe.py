"""Read-only probes of the tenant's own database: does every stream select what the tenant file maps?

Shared by ``syncd check`` and by every sync before its first write, so a renamed column or a
mistyped table is said the same way everywhere: ``key: problem`` (a ``ConfigProblem``), never
a driver traceback. Rules the probes keep: nothing is created (a missing SQLite file is an
error, not a new empty database), every statement selects ``WHERE false`` so even a heavy
query reads no rows, connections time out in a few seconds, and driver messages are
scrubbed of anything URL-shaped (a source URL can hold a password).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Engine,
    FromClause,
    Select,
    TextClause,
    create_engine,
    false,
    inspect,
    literal_column,
    make_url,
    select,
    text,
)
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from syncd.errors import Fatal
from syncd.settings.errors import ConfigProblem
from syncd.settings.tenant import CampaignRule, CustomersSection, StreamSection, TenantFile
from syncd.source.selectable import StreamSource, build

CONNECT_TIMEOUT_S = 5.0
MAX_LISTED = 40
URL_CREDENTIALS = re.compile(r"(\b[a-zA-Z][\w+.-]*://[^:/@\s]*:)[^@\s]*@")


class Unusable(Fatal):
    """A database URL that cannot be turned into a connection attempt: bad URL, missing file or driver."""


class MissingFile(Unusable):
    """A SQLite file that does not exist: an error for a source, an empty state DB for the state."""


def probe_source(config: TenantFile, url: str) -> list[ConfigProblem]:
    """Every problem of the source: unreachable (one problem), else one per stream or query at fault."""
    key = "source.url" if config.source.url is not None else "source.url_env"
    try:
        engine = read_only_engine(url)
        try:
            connect(engine)
            return source_problems(engine, config)
        finally:
            engine.dispose()
    except Unusable as exc:
        return [ConfigProblem(key, f"source database {exc}")]
    except SQLAlchemyError as exc:
        return [ConfigProblem(key, f"cannot reach the source database: {first_line(exc)}")]


def source_problems(engine: Engine, config: TenantFile) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    for name, section in streams(config):
        problems += stream_problems(engine, name, section)
    for index, rule in enumerate(config.campaigns):
        problems += campaign_query_problems(engine, index, rule)
    return problems


def streams(config: TenantFile) -> list[tuple[str, StreamSection]]:
    pairs: list[tuple[str, StreamSection | None]] = [
        ("companies", config.companies),
        ("customers", config.customers),
    ]
    return [(name, section) for name, section in pairs if section is not None]


def read_only_engine(url: str) -> Engine:
    """An engine that neither creates a SQLite file nor waits long for a host; no pool to keep."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise Unusable(
            f"URL {scrub(url)!r} is not a SQLAlchemy URL (e.g. postgresql+psycopg://...)"
        ) from None
    shown = parsed.render_as_string(hide_password=True)
    database = parsed.database or ""
    backend = parsed.get_backend_name()
    is_file = backend == "sqlite" and database not in ("", ":memory:") and not parsed.query.get("uri")
    if is_file and not Path(database).is_file():
        raise MissingFile(
            f"{shown}: SQLite file {database} does not exist (relative paths start from the working "
            "directory); nothing is created by reading"
        )
    try:
        return create_engine(parsed, poolclass=NullPool, connect_args=timeout_args(backend))
    except ArgumentError as exc:
        raise Unusable(f"{shown}: {scrub(str(exc))}") from None
    except ImportError as exc:
        raise Unusable(f"{shown}: its driver is not installed ({exc.name or exc})") from None


def timeout_args(backend: str) -> dict[str, Any]:
    """Each driver spells its connect timeout differently; unknown ones keep their default."""
    if backend in ("postgresql", "mysql", "mariadb"):
        return {"connect_timeout": int(CONNECT_TIMEOUT_S)}
    if backend in ("sqlite", "mssql"):
        return {"timeout": int(CONNECT_TIMEOUT_S)}
    return {}


def connect(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def stream_problems(engine: Engine, name: str, section: StreamSection) -> list[ConfigProblem]:
    """Every mapped column exists in the stream's table or query (the reader's own selectable)."""
    spec = build(name, section)
    try:
        available = selected_columns(engine, spec.source)
    except SQLAlchemyError as exc:
        return [unreadable_stream(engine, name, section, exc)]
    where = describe_from(section)
    listed = listing(available)
    return [
        ConfigProblem(f"{name}.{key}", f'source column "{column}" not found in {where} (it has: {listed})')
        for key, column in mapped_columns(section)
        if column not in available and not column_selectable(engine, spec, column)
    ]


def mapped_columns(section: StreamSection) -> list[tuple[str, str]]:
    """(dotted key, source column) for every column a run reads."""
    pairs = [("key", section.key), ("updated_at", section.updated_at)]
    if section.deleted:
        pairs.append(("deleted", section.deleted))
    if isinstance(section, CustomersSection) and section.company_key:
        pairs.append(("company_key", section.company_key))
    return pairs + [(f"fields.{target}", column) for target, column in section.fields.items()]


def selected_columns(engine: Engine, source: FromClause) -> list[str]:
    """The columns ``source`` returns, from a ``SELECT * ... WHERE false``: the database reads no row."""
    statement: Select[Any] = select(literal_column("*")).select_from(source).where(false())
    with engine.connect() as conn:
        return list(conn.execute(statement).keys())


def column_selectable(engine: Engine, spec: StreamSource, column: str) -> bool:
    """A name missing from the listing may still resolve (case-insensitive SQLite/MySQL): ask the database."""
    try:
        with engine.connect() as conn:
            conn.execute(select(spec.source.c[column]).where(false()))
    except SQLAlchemyError:
        return False
    return True


def unreadable_stream(
    engine: Engine, name: str, section: StreamSection, exc: SQLAlchemyError
) -> ConfigProblem:
    if section.query is not None:
        return ConfigProblem(f"{name}.query", f"the query fails: {first_line(exc)}")
    assert section.table is not None
    schema, _, table = section.table.rpartition(".")
    try:
        inspector = inspect(engine)
        if not inspector.has_table(table, schema or None):
            names = inspector.get_table_names(schema or None) + inspector.get_view_names(schema or None)
            found = listing(names, "no tables")
            message = f'table "{section.table}" not found in the source database (it has: {found})'
            return ConfigProblem(f"{name}.table", message)
    except SQLAlchemyError:
        pass  # the original error says more than a failed inspection
    return ConfigProblem(f"{name}.table", f'cannot read table "{section.table}": {first_line(exc)}')


def campaign_query_problems(engine: Engine, index: int, rule: CampaignRule) -> list[ConfigProblem]:
    """The rule's query runs with ``:outbound_id`` bound and returns a ``key`` column; no row is read."""
    key = f"campaigns[{index}].query"
    statement: TextClause = text(rule.query.strip().rstrip(";").rstrip())
    names = set(statement.compile().params)
    extra = names - {"outbound_id"}
    if extra:
        return [ConfigProblem(key, f"uses :{', :'.join(sorted(extra))}; only :outbound_id is bound")]
    if names:
        statement = statement.bindparams(outbound_id=rule.outbound_id)
    try:
        columns = selected_columns(engine, statement.columns().subquery("syncd_check"))
    except SQLAlchemyError as exc:
        return [ConfigProblem(key, f"the query fails: {first_line(exc)}")]
    if "key" not in columns:
        returned = listing(columns)
        return [
            ConfigProblem(
                key, f"returns no `key` column (it returns {returned}); select the source key AS key"
            )
        ]
    return []


def describe_from(section: StreamSection) -> str:
    return f"table {section.table}" if section.table is not None else "its query"


def mask_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return scrub(url)


def scrub(message: str) -> str:
    """Hide the password of anything URL-shaped (drivers quote URLs and DSNs in their errors)."""
    return URL_CREDENTIALS.sub(r"\1***@", message)


def first_line(exc: BaseException) -> str:
    """SQLAlchemy appends the statement and a docs link on later lines; the first says what broke."""
    lines = str(exc).strip().splitlines()
    return scrub(lines[0]) if lines else type(exc).__name__


def listing(names: Sequence[str], empty: str = "no columns") -> str:
    shown = ", ".join(names[:MAX_LISTED]) or empty
    return shown if len(names) <= MAX_LISTED else f"{shown}, … ({len(names)} in all)"


def plural(count: int, one: str, many: str) -> str:
    return one if count == 1 else many
