"""What to tell a user whose table has no usable change timestamp, in their database's own SQL.

A tenant file needs ``updated_at``: an incremental run reads only the rows changed since its cursor, and a
column nothing keeps up to date would make syncd miss every change. The loader has no full-reconcile-only
mode, so ``syncd init`` writes no file then, and says exactly what to add: a column set on every insert
and update, and the trigger that keeps it so where the database has no ``ON UPDATE``.
"""

from __future__ import annotations

from collections.abc import Sequence

from syncd.source.reflect import SourceColumn


def missing_timestamp(
    where: str,
    table: str | None,
    dialect: str,
    near: Sequence[SourceColumn],
    timestamps: Sequence[SourceColumn],
) -> str:
    """The message for a stream without a change timestamp: what was found, what to add, how."""
    lines = [f"{where} has no usable change timestamp, so syncd cannot see which rows changed."]
    for column in near:
        lines.append(
            f'  column "{column.name}" is named like one but is {column.type_name}, not a timestamp (if it '
            f"holds ISO 8601 times set on every insert and update, give --updated-at {column.name})"
        )
    if timestamps:
        names = ", ".join(column.name for column in timestamps)
        lines.append(
            f"  its timestamp columns ({names}) are not named like a change time; if one is set on every "
            "insert and update, give it with --updated-at COLUMN"
        )
    if table is None:
        lines.append("Select such a column in the query (e.g. t.updated_at), then run syncd init again.")
        return "\n".join(lines)
    lines.append(
        f"Add a column updated_at TIMESTAMP kept current on every write, e.g. ({dialect_label(dialect)}):"
    )
    lines += [f"  {statement}" for statement in trigger_example(table, dialect)]
    lines.append("then run syncd init again.")
    return "\n".join(lines)


def dialect_label(dialect: str) -> str:
    return {
        "postgresql": "PostgreSQL",
        "mysql": "MySQL/MariaDB",
        "mariadb": "MySQL/MariaDB",
        "sqlite": "SQLite",
    }.get(dialect, dialect)


def trigger_example(table: str, dialect: str) -> list[str]:
    """Statements that add ``updated_at`` and keep it current, per dialect (the user runs them, not syncd)."""
    name = table.rpartition(".")[2]
    if dialect == "postgresql":
        return [
            f"ALTER TABLE {table} ADD COLUMN updated_at timestamp NOT NULL DEFAULT now();",
            "CREATE FUNCTION syncd_touch() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;",
            f"CREATE TRIGGER {name}_touch BEFORE UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION syncd_touch();",
        ]
    if dialect in ("mysql", "mariadb"):
        return [
            f"ALTER TABLE {table} ADD COLUMN updated_at TIMESTAMP(6) NOT NULL "
            "DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6);"
        ]
    if dialect == "sqlite":
        return [
            f"ALTER TABLE {table} ADD COLUMN updated_at TIMESTAMP;",
            f"UPDATE {table} SET updated_at = CURRENT_TIMESTAMP;",
            f"CREATE TRIGGER {name}_stamp AFTER INSERT ON {table} BEGIN "
            f"UPDATE {table} SET updated_at = CURRENT_TIMESTAMP WHERE rowid = NEW.rowid; END;",
            f"CREATE TRIGGER {name}_touch AFTER UPDATE ON {table} "
            "WHEN NEW.updated_at IS OLD.updated_at BEGIN "
            f"UPDATE {table} SET updated_at = CURRENT_TIMESTAMP WHERE rowid = NEW.rowid; END;",
        ]
    return [
        f"ALTER TABLE {table} ADD COLUMN updated_at TIMESTAMP;  -- and set it to the current time on every "
        "insert and update (a default and a trigger)"
    ]
