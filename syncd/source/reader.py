"""The source reader: keyset pagination over the tenant's table or query with SQLAlchemy Core.

Why it is shaped this way:

* One statement per page, each on a connection taken from the pool and given back before the
  page's rows are yielded: the engine may spend minutes on a page (Thulium calls) and a
  transaction held that long would pin PostgreSQL's vacuum or SQLite's writers.
* The upper bound ``max(updated_at)`` is read when ``read_changed`` is called, not when the
  iterator first runs, so a row committed while the run works is left for the next run.
* ``NULL`` ``updated_at`` sorts below every value: those rows are read, ordered by key, only
  by a full pass (``after=None``, or a cursor that is still inside the NULL rows), and each
  full pass logs how many there were. An incremental run cannot see a row whose timestamp
  is NULL; the full reconcile is what keeps them in step.
* With ``lookback_seconds`` the scan starts at ``updated_at > after.updated_at - lookback``
  instead of at the cursor, in one ordered pass, so re-read rows come first and nothing is
  returned twice. Without it the read is an exact keyset: a row that lands behind the cursor
  (stamped with the cursor's own ``updated_at`` and a smaller key, or committed late by a long
  transaction with an earlier timestamp) waits for the next full reconcile.
* A page the driver cannot convert (one bad value fails the whole statement) is read again in
  parts (``salvage.py``): the row at fault comes back with that value ``Unreadable`` and is
  rejected by the engine; every other row of the page is read as usual.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Engine, Executable, RowMapping, Select, and_, func, or_, select, true
from sqlalchemy.sql.elements import KeyedColumnElement

from syncd.engine.records import Position, SourceRow
from syncd.settings.tenant import StreamSection, TenantFile
from syncd.source.binds import bound, bound_list
from syncd.source.keys import native_keys
from syncd.source.lookback import shift_back
from syncd.source.salvage import Statement, read_page
from syncd.source.selectable import StreamSource, build

log = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 1000
MAX_KEYS_PER_STATEMENT = 500


class UnknownStream(KeyError):
    pass


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

    @classmethod
    def for_tenant(cls, engine: Engine, config: TenantFile, **options: int) -> SqlSource:
        streams = {n: s for n, s in (("companies", config.companies), ("customers", config.customers)) if s}
        return cls(engine, streams, **options)

    def read_changed(self, stream: str, after: Position | None) -> Iterator[SourceRow]:
        spec = self._stream(stream)
        with self.engine.connect() as conn:
            upper = conn.execute(select(func.max(spec.updated_at)).select_from(spec.source)).scalar()
        return self._changed(spec, after, upper)

    def read_keys(self, stream: str, keys: Iterable[str]) -> list[SourceRow]:
        spec = self._stream(stream)
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return []
        sample = self._key_sample(spec)
        if sample is None:
            return []
        native = native_keys(wanted, sample)
        values = list(native)
        found: dict[str, SourceRow] = {}
        for start in range(0, len(values), self.keys_per_statement):
            chunk = values[start : start + self.keys_per_statement]
            for source_row in read_page(self._fetch, spec, _by_keys(spec, chunk)):
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

    def _changed(self, spec: StreamSource, after: Position | None, upper: Any) -> Iterator[SourceRow]:
        if after is None or after.updated_at is None:
            nulls = yield from self._null_rows(spec, None if after is None else after.key)
            if nulls:
                log.warning(
                    "stream %s: %d rows have NULL %s; only a full reconcile reads them",
                    spec.name,
                    nulls,
                    spec.updated_at.key,
                )
            if upper is not None:
                yield from self._keyset(spec, upper, start=None)
            return
        if upper is None:
            return
        if spec.lookback_seconds > 0:
            start: ColumnElement[bool] = spec.updated_at > bound(
                shift_back(after.updated_at, spec.lookback_seconds)
            )
        else:
            start = _after(spec, after)
        yield from self._keyset(spec, upper, start=start)

    def _null_rows(self, spec: StreamSource, after_key: Any) -> Generator[SourceRow, None, int]:
        count = 0
        while True:
            where = true() if after_key is None else spec.key > bound(after_key)
            page = read_page(self._fetch, spec, _null_page(spec, where, self.page_size))
            count += len(page)
            yield from page
            if len(page) < self.page_size:
                return count
            after_key = page[-1].position.key

    def _keyset(
        self, spec: StreamSource, upper: Any, start: ColumnElement[bool] | None
    ) -> Iterator[SourceRow]:
        where: ColumnElement[bool] = true() if start is None else start
        while True:
            page = read_page(self._fetch, spec, _keyset_page(spec, upper, where, self.page_size))
            yield from page
            if len(page) < self.page_size:
                return
            where = _after(spec, page[-1].position)

    def _fetch(self, stmt: Executable) -> Sequence[RowMapping]:
        with self.engine.connect() as conn:
            return conn.execute(stmt).mappings().all()


# A page's query as a function of the columns it selects: ``salvage`` re-runs it for the positions only.
Column = KeyedColumnElement[Any]


def _keyset_page(spec: StreamSource, upper: Any, where: ColumnElement[bool], size: int) -> Statement:
    def statement(columns: Sequence[Column]) -> Select[Any]:
        return (
            select(*columns)
            .where(spec.updated_at <= bound(upper), where)
            .order_by(spec.updated_at, spec.key)
            .limit(size)
        )

    return statement


def _null_page(spec: StreamSource, where: ColumnElement[bool], size: int) -> Statement:
    def statement(columns: Sequence[Column]) -> Select[Any]:
        return select(*columns).where(spec.updated_at.is_(None), where).order_by(spec.key).limit(size)

    return statement


def _by_keys(spec: StreamSource, keys: Sequence[Any]) -> Statement:
    def statement(columns: Sequence[Column]) -> Select[Any]:
        return select(*columns).where(spec.key.in_(bound_list(keys)))

    return statement


def _after(spec: StreamSource, position: Position) -> ColumnElement[bool]:
    """``(updated_at, key) > position`` without row-value comparison, which not every database has.

    The leading ``updated_at >= …`` says nothing new, but without it SQLite answers the OR with two index
    searches and sorts every row after the position to return the first page of them: each page cost
    time in proportion to what was left, and a 1M-row read grew with the square of its size.
    """
    since = bound(position.updated_at)
    return and_(
        spec.updated_at >= since,
        or_(spec.updated_at > since, and_(spec.updated_at == since, spec.key > bound(position.key))),
    )
