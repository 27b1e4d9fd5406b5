"""What a source table or query returns, column by column: what ``syncd init`` proposes a tenant file from.

Read-only like every probe (``syncd.source.probe``): a table is read from the database's catalogue, a query
runs wrapped as ``SELECT * FROM (query) WHERE false``, so no row is read and nothing is created. A query's
column types come from the driver's cursor description where the driver says them (PostgreSQL, MySQL);
SQLite says none, so they stay unknown and the proposals go by name alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, Select, false, inspect, literal_column, make_url, select, text
from sqlalchemy import types as sqltypes
from sqlalchemy.engine.interfaces import ReflectedColumn
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from syncd.errors import Fatal
from syncd.source.probe import Unusable, first_line, listing, read_only_engine
from syncd.source.selectable import literal_colons


class Kind(StrEnum):
    """What a column holds, as far as proposing a role for it goes."""

    INTEGER = "integer"
    TEXT = "text"
    TIMESTAMP = "timestamp"
    DATE = "date"
    BOOLEAN = "boolean"
    NUMBER = "number"
    OTHER = "other"
    UNKNOWN = "unknown"  # a query's column whose type the driver does not say


@dataclass(frozen=True)
class SourceColumn:
    name: str
    kind: Kind
    type_name: str  # as the database spells it, for the comments of the written file
    nullable: bool | None = None  # None: not known (a query's column)
    primary_key: bool = False
    unique: bool = False


@dataclass(frozen=True)
class Reflected:
    """The columns of one table or query, and which database it is (the advice differs per dialect)."""

    columns: tuple[SourceColumn, ...]
    dialect: str
    from_query: bool

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]


class ReflectionError(Fatal):
    """The source cannot be read as asked: unreachable, no such table, a query that fails."""


def reflect_table(url: str, table: str) -> Reflected:
    """A table's columns with their types, nullability, primary key and single-column unique constraints."""
    schema, _, name = table.rpartition(".")
    with _engine(url) as engine:
        try:
            inspector = inspect(engine)
            if not inspector.has_table(name, schema or None):
                found = inspector.get_table_names(schema or None) + inspector.get_view_names(schema or None)
                shown = listing(found, "no tables")
                raise ReflectionError(f'table "{table}" not found in the source database (it has: {shown})')
            columns = inspector.get_columns(name, schema or None)
            primary = inspector.get_pk_constraint(name, schema or None).get("constrained_columns") or []
            unique = _unique_columns(inspector, name, schema or None)
        except SQLAlchemyError as exc:
            raise ReflectionError(f'cannot read table "{table}": {first_line(exc)}') from None
        single_key = primary[0] if len(primary) == 1 else None
        return Reflected(
            tuple(_table_column(column, single_key, unique) for column in columns),
            engine.dialect.name,
            from_query=False,
        )


def reflect_query(url: str, query: str) -> Reflected:
    """A query's result columns, from a statement that reads no row; the query takes no parameters."""
    wrapped = text(literal_colons(query)).columns().subquery("syncd_init")
    statement: Select[Any] = select(literal_column("*")).select_from(wrapped).where(false())
    with _engine(url) as engine:
        try:
            with engine.connect() as conn:
                result = conn.execute(statement)
                description: Sequence[Sequence[Any]] = result.cursor.description or ()
                result.close()
        except SQLAlchemyError as exc:
            raise ReflectionError(f"the query fails: {first_line(exc)}") from None
        kinds = _DescriptionKinds(engine.dialect.driver)
        columns = tuple(SourceColumn(str(row[0]), *kinds.of(row[1])) for row in description)
        return Reflected(columns, engine.dialect.name, from_query=True)


class _engine:
    """A read-only engine (no SQLite file created, short timeouts), disposed on leaving."""

    def __init__(self, url: str) -> None:
        try:
            self.engine = read_only_engine(url)
        except Unusable as exc:
            raise ReflectionError(f"source database {exc}") from None

    def __enter__(self) -> Engine:
        return self.engine

    def __exit__(self, *_: object) -> None:
        self.engine.dispose()


def _unique_columns(inspector: Any, name: str, schema: str | None) -> set[str]:
    names: set[str] = set()
    for constraint in inspector.get_unique_constraints(name, schema):
        if len(constraint["column_names"]) == 1:
            names.add(constraint["column_names"][0])
    for index in inspector.get_indexes(name, schema):
        columns = [c for c in index["column_names"] if c is not None]
        if index.get("unique") and len(columns) == 1:
            names.add(columns[0])
    return names


def _table_column(column: ReflectedColumn, key: str | None, unique: set[str]) -> SourceColumn:
    type_ = column["type"]
    return SourceColumn(
        name=column["name"],
        kind=kind_of_type(type_),
        type_name=_spelt(type_),
        nullable=bool(column.get("nullable", True)),
        primary_key=column["name"] == key,
        unique=column["name"] in unique,
    )


def kind_of_type(type_: Any) -> Kind:
    """SQLAlchemy's generic type families, the ones each dialect's reflected types derive from."""
    if isinstance(type_, sqltypes.Boolean):
        return Kind.BOOLEAN
    if isinstance(type_, sqltypes.DateTime):
        return Kind.TIMESTAMP
    if isinstance(type_, sqltypes.Date):
        return Kind.DATE
    if isinstance(type_, sqltypes.Integer):
        return Kind.INTEGER
    if isinstance(type_, sqltypes.Numeric):
        return Kind.NUMBER
    if isinstance(type_, sqltypes.String | sqltypes.Uuid):
        return Kind.TEXT
    return Kind.OTHER


def _spelt(type_: Any) -> str:
    try:
        return str(type_)
    except SQLAlchemyError:  # a type the dialect cannot compile on its own
        return type(type_).__name__.upper()


# The type names PostgreSQL's catalogue and MySQL's protocol give a query's columns.
_PG_KINDS = {
    "bool": Kind.BOOLEAN,
    "int2": Kind.INTEGER,
    "int4": Kind.INTEGER,
    "int8": Kind.INTEGER,
    "text": Kind.TEXT,
    "varchar": Kind.TEXT,
    "bpchar": Kind.TEXT,
    "uuid": Kind.TEXT,
    "timestamp": Kind.TIMESTAMP,
    "timestamptz": Kind.TIMESTAMP,
    "date": Kind.DATE,
    "numeric": Kind.NUMBER,
    "float4": Kind.NUMBER,
    "float8": Kind.NUMBER,
}
_MYSQL_KINDS = {
    "TINY": Kind.INTEGER,
    "SHORT": Kind.INTEGER,
    "LONG": Kind.INTEGER,
    "LONGLONG": Kind.INTEGER,
    "INT24": Kind.INTEGER,
    "DATETIME": Kind.TIMESTAMP,
    "TIMESTAMP": Kind.TIMESTAMP,
    "DATE": Kind.DATE,
    "VAR_STRING": Kind.TEXT,
    "STRING": Kind.TEXT,
    "VARCHAR": Kind.TEXT,
    "BLOB": Kind.TEXT,
    "DECIMAL": Kind.NUMBER,
    "NEWDECIMAL": Kind.NUMBER,
    "FLOAT": Kind.NUMBER,
    "DOUBLE": Kind.NUMBER,
}


class _DescriptionKinds:
    """A cursor description's type codes are the driver's own: an OID (psycopg), a protocol number
    (pymysql), nothing (sqlite3). Each known driver's codes are named here; any other stays unknown."""

    def __init__(self, driver: str) -> None:
        self.names: dict[Any, str] = {}
        self.kinds: dict[str, Kind] = {}
        if driver == "psycopg":
            from psycopg.postgres import types

            self.names = {info.oid: info.name for info in types}
            self.kinds = _PG_KINDS
        elif driver == "pymysql":
            from pymysql.constants import FIELD_TYPE

            self.names = {getattr(FIELD_TYPE, name): name for name in _MYSQL_KINDS}
            self.kinds = _MYSQL_KINDS

    def of(self, code: Any) -> tuple[Kind, str]:
        name = self.names.get(code)
        if name is None:
            return Kind.UNKNOWN, "unknown type"
        return self.kinds.get(name, Kind.OTHER), name.upper()


def holds_password(url: str) -> bool:
    """Whether a database URL carries a password, which a tenant file must never hold (``url_env`` then)."""
    try:
        return make_url(url).password is not None
    except ArgumentError:
        return False  # not a URL at all: the reflection says so
