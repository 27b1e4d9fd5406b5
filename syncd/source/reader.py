"""The source reader: keyset pagination over the tenant's table or query with SQLAlchemy Core.

Why it is shaped this way:

* One statement per page, each on a connection taken from the pool and given back before the
  page's rows are yielded: the engine may spend minutes on a page (Thulium calls) and a
  transaction held that long would pin PostgreSQL's vacuum or SQLite's writers.
* The upper bound is read when ``read_changed`` is called, not when the iterator first runs,
  so a row committed while the run works is left for the next run. It is ``max(updated_at)``,
  but never later than the database's own clock plus ``clock_skew_seconds`` (``clock.py``): a
  row stamped in the future would otherwise become the cursor and hide every ordinary change
  behind it. Rows past that bound are read by ``read_ahead``, each with a note saying why.
* ``NULL`` ``updated_at`` (and MySQL's zero dates, ``zero_dates.py``) sorts below every value:
  those rows are read, ordered by key, only by a full pass (``after=None``, or a cursor that is
  still inside the NULL rows), and each full pass logs how many there were.
* An incremental read starts at the cursor's own ``updated_at``, not strictly after the cursor:
  two writers stamping rows in the same second can commit in the other order, and the row with
  the cursor's timestamp and a lower key lands behind the keyset cursor. With
  ``lookback_seconds`` the scan starts at ``updated_at > after.updated_at - lookback``, in one
  ordered pass, so re-read rows come first and nothing is returned twice.
* Pages go on from the last row read *inclusive* of its key, and drop the rows they already
  returned: a case- or accent-insensitive collation (MySQL's ``utf8mb4_general_ci``) holds keys
  that differ but compare equal (``abc``/``ABC``), and a strict ``key > 'abc'`` would skip the
  other one at a page boundary. Order itself is always the database's: Python never compares
  two keys to decide what to read.
* A page the driver cannot convert (one bad value fails the whole statement) is read again in
  parts (``salvage.py``): the row at fault comes back with that value ``Unreadable`` and is
  rejected by the engine; every other row of the page is read as usual.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, Engine, Executable, Select, and_, case, func, or_, select, true
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.elements import KeyedColumnElement

from syncd.engine.crm.normalize import describe_error
from syncd.engine.errors import SourceUnavailable
from syncd.engine.records import Position, SourceRow
from syncd.errors import Fatal
from syncd.settings.tenant import StreamSection, TenantFile
from syncd.source import zero_dates
from syncd.source.binds import bound, bound_list
from syncd.source.clock import DatabaseNow, clock_bound, database_now, now_columns
from syncd.source.keys import native_keys
from syncd.source.lookback import shift_back
from syncd.source.salvage import Statement, read_page
from syncd.source.selectable import StreamSource, build

log = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 1000
MAX_KEYS_PER_STATEMENT = 500


class UnknownStream(KeyError, Fatal):
    """A stream name the tenant file does not configure: a caller's mistake, not the data's."""


@dataclass(frozen=True, slots=True)
class Bounds:
    """One reading of a stream's extent: ``highest`` real ``updated_at``, the clock's cap on it."""

    highest: Any  # None: no row has a (real) updated_at
    clock: Any  # None: the column's values are not times the clock can be put in
    now: DatabaseNow
    dated: ColumnElement[bool]  # rows that take part in the keyset order
    undated: ColumnElement[bool]  # rows only a full pass reads (NULL, zero dates)

    @property
    def upper(self) -> Any:
        if self.highest is None or self.clock is None:
            return self.highest
        return min(self.highest, self.clock)


class SqlSource:
    """Implements ``syncd.engine.ports.Source`` over any SQLAlchemy engine, read-only."""

    def __init__(
        self,
        engine: Engine,
        streams: Mapping[str, StreamSection],
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        keys_per_statement: int = MAX_KEYS_PER_STATEMENT,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        if not 1 <= keys_per_statement <= MAX_KEYS_PER_STATEMENT:
            raise ValueError(f"keys_per_statement must be between 1 and {MAX_KEYS_PER_STATEMENT}")
        self.engine = engine
        self.page_size = page_size
        self.keys_per_statement = keys_per_statement
        self._streams = {name: build(name, section) for name, section in streams.items()}
        self._key_samples: dict[str, Any] = {}
        self._dialect = engine.dialect.name

    @classmethod
    def for_tenant(cls, engine: Engine, config: TenantFile, **options: int) -> SqlSource:
        streams = {n: s for n, s in (("companies", config.companies), ("customers", config.customers)) if s}
        return cls(engine, streams, **options)

    def read_changed(self, stream: str, after: Position | None) -> Iterator[SourceRow]:
        spec = self._stream(stream)
        with source_errors(spec):
            bounds = self._bounds(spec)
        return guarded(spec, self._changed(spec, after, bounds))

    def read_ahead(self, stream: str) -> Iterator[SourceRow]:
        """Rows stamped past the clock's bound, which ``read_changed`` leaves out, each with a note."""
        spec = self._stream(stream)
        with source_errors(spec):
            bounds = self._bounds(spec)
        if bounds.clock is None or bounds.highest is None or bounds.highest <= bounds.clock:
            return iter(())
        note = _ahead_note(spec, bounds)
        start = and_(bounds.dated, spec.updated_at > bound(bounds.clock))
        rows = guarded(spec, self._keyset(spec, None, start))
        return (replace(row, note=note(row.position.updated_at)) for row in rows)

    def read_keys(self, stream: str, keys: Iterable[str]) -> list[SourceRow]:
        spec = self._stream(stream)
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return []
        with source_errors(spec):
            return self._read_keys(spec, wanted)

    def _read_keys(self, spec: StreamSource, wanted: list[str]) -> list[SourceRow]:
        sample = self._key_sample(spec)
        if sample is None:
            return []
        native = native_keys(wanted, sample)
        values = list(native)
        found: dict[str, SourceRow] = {}
        for start in range(0, len(values), self.keys_per_statement):
            chunk = values[start : start + self.keys_per_statement]
            for source_row in read_page(self._fetch_for(spec), spec, _by_keys(spec, chunk)):
                # An insensitive collation also returns "ABC" for "abc": only the exact key counts.
                if source_row.key in native.values():
                    found[source_row.key] = source_row
        return [found[k] for k in wanted if k in found]

    def _stream(self, stream: str) -> StreamSource:
        try:
            return self._streams[stream]
        except KeyError:
            raise UnknownStream(f"no stream {stream!r} configured; known: {sorted(self._streams)}") from None

    def _key_sample(self, spec: StreamSource) -> Any:
        if spec.name not in self._key_samples:
            stmt = select(spec.key).select_from(spec.source).where(spec.key.is_not(None)).limit(1)
            with self.engine.connect() as conn:
                sample = conn.execute(stmt).scalar()
            if sample is None:
                return None  # empty: learn the type once there is a row
            self._key_samples[spec.name] = sample
        return self._key_samples[spec.name]

    def _bounds(self, spec: StreamSource) -> Bounds:
        """The highest ``updated_at`` and the database's clock, in one statement."""
        column = spec.updated_at
        mysql = zero_dates.is_mysql(self._dialect)
        extra = [func.max(case((zero_dates.real_date(column), column), else_=None))] if mysql else []
        stmt = select(func.max(column), *extra, *now_columns(self._dialect)).select_from(spec.source)
        with self.engine.connect() as conn:
            result = conn.execute(stmt)
            temporal = mysql and bool(zero_dates.temporal_columns(result.cursor.description[:1]))
            values = list(result.one())
        highest = values.pop(0)
        if mysql:
            real = values.pop(0)
            highest = real if temporal else highest
        now = database_now(self._dialect, values)
        clock = None if highest is None else clock_bound(highest, now, spec.clock_skew_seconds)
        if temporal:
            return Bounds(highest, clock, now, zero_dates.real_date(column), zero_dates.no_date(column))
        return Bounds(highest, clock, now, true(), column.is_(None))

    def _changed(self, spec: StreamSource, after: Position | None, bounds: Bounds) -> Iterator[SourceRow]:
        upper = bounds.upper
        if after is None or after.updated_at is None:
            nulls = yield from self._null_rows(spec, bounds, None if after is None else after.key)
            if nulls:
                log.warning(
                    "stream %s: %d rows have NULL %s (or a zero date); only a full reconcile reads them",
                    spec.name,
                    nulls,
                    spec.updated_at.key,
                )
            if upper is not None:
                yield from self._keyset(spec, upper, bounds.dated)
            return
        if upper is None:
            return
        since: ColumnElement[bool]
        if spec.lookback_seconds > 0:
            since = spec.updated_at > bound(shift_back(after.updated_at, spec.lookback_seconds))
        else:
            since = spec.updated_at >= bound(after.updated_at)
        yield from self._keyset(spec, upper, and_(bounds.dated, since))

    def _null_rows(
        self, spec: StreamSource, bounds: Bounds, after_key: Any
    ) -> Generator[SourceRow, None, int]:
        def page_at(where: ColumnElement[bool], size: int) -> Statement:
            return _null_page(spec, and_(bounds.undated, where), size)

        start: ColumnElement[bool] = true() if after_key is None else spec.key >= bound(after_key)
        done = set() if after_key is None else {str(after_key)}  # the cursor's own row was settled
        count = 0
        walk = self._walk(spec, page_at, start, lambda p: spec.key >= bound(p.key), _no_tie, (None, done))
        for row in walk:
            count += 1
            yield replace(row, position=Position(None, row.position.key))
        return count

    def _keyset(self, spec: StreamSource, upper: Any, start: ColumnElement[bool]) -> Iterator[SourceRow]:
        def page_at(where: ColumnElement[bool], size: int) -> Statement:
            return _keyset_page(spec, upper, where, size)

        return self._walk(spec, page_at, start, lambda p: _from(spec, p), _updated_at, (_UNSET, set()))

    def _walk(
        self,
        spec: StreamSource,
        page_at: Callable[[ColumnElement[bool], int], Statement],
        where: ColumnElement[bool],
        resume: Callable[[Position], ColumnElement[bool]],
        tie: Callable[[SourceRow], Any],
        returned: tuple[Any, set[str]],
    ) -> Iterator[SourceRow]:
        """Pages from ``where`` on. Each next page starts at the last row read, inclusive, and drops
        the rows already returned (``returned``: their keys at that tie value); it asks for one row
        more than a page, the one it reads again, so every page brings ``page_size`` new rows. Only
        when more keys compare equal to the last one than that (``abc``, ``ABC``, ``Abc``) does a
        page bring nothing new: it is asked again from the same start, twice as wide."""
        fetch = self._fetch_for(spec)
        done_at, done = returned
        extra = 1
        while True:
            limit = self.page_size + (extra if done else 0)
            page = read_page(fetch, spec, page_at(where, limit))
            fresh = [row for row in page if not (row.key in done and tie(row) == done_at)]
            yield from fresh
            if len(page) < limit:
                return
            if not fresh:
                extra *= 2  # more keys equal to the last one than the page re-reads: widen, same start
                continue
            extra = 1
            last = page[-1]
            if tie(last) != done_at:
                done_at, done = tie(last), set()
            done |= {row.key for row in page if tie(row) == done_at}
            where = resume(last.position)

    def _fetch_for(self, spec: StreamSource) -> Callable[[Executable], Sequence[Mapping[Any, Any]]]:
        """The page fetcher; on MySQL it also turns zero dates of ``updated_at`` and the mapped
        columns into what they mean (``zero_dates.py``)."""
        dates = frozenset({spec.updated_at.key, *spec.values}) if zero_dates.is_mysql(self._dialect) else None
        return lambda stmt: self._fetch(stmt, dates)

    def _fetch(self, stmt: Executable, dates: frozenset[str] | None = None) -> Sequence[Mapping[Any, Any]]:
        with self.engine.connect() as conn:
            result = conn.execute(stmt)
            temporal = zero_dates.temporal_columns(result.cursor.description) & dates if dates else set()
            names = tuple(result.keys())
            # plain dicts: a page's values are each read once or twice, and a RowMapping's lookups cost
            # more than building the dict
            rows = [dict(zip(names, row, strict=True)) for row in result.all()]
        return zero_dates.clean_rows(rows, temporal) if temporal else rows


_UNSET = object()


@contextmanager
def source_errors(spec: StreamSource) -> Iterator[None]:
    """A failure no single row explains is the run's end, said in words: what the driver said
    (values left out) and where to look, not a driver traceback; the caller names the stream."""
    try:
        yield
    except SQLAlchemyError as exc:
        cause = describe_error(getattr(exc, "orig", None) or exc)
        raise SourceUnavailable(
            f"reading the source database failed ({cause}); `syncd check` names the table or column at fault"
        ) from exc


def guarded(spec: StreamSource, rows: Iterator[SourceRow]) -> Iterator[SourceRow]:
    with source_errors(spec):
        yield from rows


def _no_tie(row: SourceRow) -> None:
    return None


def _updated_at(row: SourceRow) -> Any:
    return row.position.updated_at


def _ahead_note(spec: StreamSource, bounds: Bounds) -> Callable[[Any], str]:
    clock = bounds.now.describe(bounds.highest)
    skew = spec.clock_skew_seconds

    def note(value: Any) -> str:
        return (
            f"{spec.updated_at.key} {value} is ahead of {bounds.now.whose} ({clock}, {skew} s skew allowed): "
            "synced, but the cursor waits at the clock"
        )

    return note


# A page's query as a function of the columns it selects: ``salvage`` re-runs it for the positions only.
Column = KeyedColumnElement[Any]


def _keyset_page(spec: StreamSource, upper: Any, where: ColumnElement[bool], size: int) -> Statement:
    def statement(columns: Sequence[Column]) -> Select[Any]:
        below: ColumnElement[bool] = true() if upper is None else spec.updated_at <= bound(upper)
        return select(*columns).where(below, where).order_by(spec.updated_at, spec.key).limit(size)

    return statement


def _null_page(spec: StreamSource, where: ColumnElement[bool], size: int) -> Statement:
    """``where`` holds the caller's "no updated_at" condition (NULL, and MySQL's zero dates)."""

    def statement(columns: Sequence[Column]) -> Select[Any]:
        return select(*columns).where(where).order_by(spec.key).limit(size)

    return statement


def _by_keys(spec: StreamSource, keys: Sequence[Any]) -> Statement:
    def statement(columns: Sequence[Column]) -> Select[Any]:
        return select(*columns).where(spec.key.in_(bound_list(keys)))

    return statement


def _from(spec: StreamSource, position: Position) -> ColumnElement[bool]:
    """``(updated_at, key) >= position`` (the next page re-reads the last one, see ``_walk``), without
    row-value comparison, which not every database has.

    The leading ``updated_at >= …`` says nothing new, but without it SQLite answers the OR with two index
    searches and sorts every row after the position to return the first page of them: each page cost
    time in proportion to what was left, and a 1M-row read grew with the square of its size.
    """
    since = bound(position.updated_at)
    return and_(
        spec.updated_at >= since,
        or_(spec.updated_at > since, and_(spec.updated_at == since, spec.key >= bound(position.key))),
    )
