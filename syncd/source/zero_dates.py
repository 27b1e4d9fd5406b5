"""MySQL/MariaDB dates that are not dates: ``0000-00-00`` and its kin.

Under a permissive ``sql_mode`` (MariaDB's default lacks NO_ZERO_DATE and NO_ZERO_IN_DATE) a
DATE/DATETIME/TIMESTAMP column holds ``0000-00-00 00:00:00``, the PHP shops' "no date", and
dates with a zero month or day (``1985-00-00``: "some time in 1985"). The driver hands them over
as text, which neither orders nor compares with the real dates around it. So:

* in ``updated_at`` they count as NULL: read, ordered by key, only by a full pass, and never a
  cursor (a zero cursor would re-read the whole table every run, a ``1985-00-00`` one would
  sit between real dates as text);
* in a mapped column the zero date is empty, as the application that wrote it means it; a
  date with a zero month or day is no date Thulium can take, so it rejects its row, naming the
  column (the value itself stays out of the reason).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, func, not_, or_
from sqlalchemy.sql.elements import KeyedColumnElement

from syncd.engine.crm.normalize import Unreadable
from syncd.source.binds import bound

# pymysql.constants.FIELD_TYPE: TIMESTAMP, DATE, DATETIME, NEWDATE.
TEMPORAL_TYPE_CODES = frozenset({7, 10, 12, 14})
_ZERO = re.compile(r"^0000-00-00(?:[ T]00:00:00(?:\.0+)?)?$")
NOT_A_DATE = "not a calendar date (zero month or day)"


def is_mysql(dialect: str) -> bool:
    return dialect in ("mysql", "mariadb")


def real_date(column: KeyedColumnElement[Any]) -> ColumnElement[bool]:
    """True for a date MySQL can order among real dates: no zero year, month or day."""
    return and_(column >= bound("0001-01-01"), func.month(column) > 0, func.dayofmonth(column) > 0)


def no_date(column: KeyedColumnElement[Any]) -> ColumnElement[bool]:
    return or_(column.is_(None), not_(real_date(column)))


def temporal_columns(description: Sequence[Sequence[Any]] | None) -> set[str]:
    """Names of the result's columns the server declares as dates or times."""
    return {str(entry[0]) for entry in description or () if entry[1] in TEMPORAL_TYPE_CODES}


def readable(value: Any) -> Any:
    """A temporal column's value as the engine should see it: text only comes for a non-date."""
    if not isinstance(value, str):
        return value
    if _ZERO.match(value.strip()):
        return None
    return Unreadable(NOT_A_DATE)


def clean_rows(rows: Iterable[Mapping[Any, Any]], temporal: set[str]) -> list[Mapping[Any, Any]]:
    return [{name: readable(v) if name in temporal else v for name, v in row.items()} for row in rows]
