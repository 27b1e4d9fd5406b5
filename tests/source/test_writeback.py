"""The write-back table in the tenant's database, on SQLite and PostgreSQL: created if missing, upserted."""

from __future__ import annotations

from sqlalchemy import inspect, select

from syncd.engine.campaigns.records import KeyedState, RecordState
from syncd.source.writeback import WritebackTable
from syncd.state.db import make_engine


def rows(table: WritebackTable) -> dict[str, dict[str, object]]:
    with table.engine.connect() as connection:
        found = connection.execute(select(table.table)).mappings()
        return {row["source_key"]: dict(row) for row in found}


def test_the_table_is_created_and_rows_are_upserted_by_campaign_and_key(state_url: str) -> None:
    engine = make_engine(state_url)
    try:
        table = WritebackTable(engine, "call_results")
        polled = RecordState(
            7,
            101,
            status_id=10,
            status="New",
            system_status="TO_CALL",
            call_date="",
            create_date="2026-11-29 10:00",
        )
        table.upsert(
            "00002", [KeyedState("a", 101, polled), KeyedState("b", 102, RecordState(8, 102, status_id=10))]
        )
        assert "call_results" in inspect(engine).get_table_names()
        assert rows(table)["a"]["call_date"] is None, "Thulium's empty value is NULL"
        # a webhook says less than a poll: what it does not say is kept, the record id included
        table.upsert(
            "00002", [KeyedState("a", 101, RecordState(None, status_id=14, system_status="NO_CALL"))]
        )
        row = rows(table)["a"]
        assert (row["record_id"], row["status_id"], row["system_status"]) == (7, 14, "NO_CALL")
        assert row["status"] is None, "the old status name would be wrong for the new status id"
        assert row["create_date"] == "2026-11-29 10:00", "fields the webhook does not carry keep their value"
        table.upsert("00001", [KeyedState("a", 101, RecordState(9, 101, status_id=1))])
        assert table.keys("00002") == {"a", "b"}
        assert table.keys("00001") == {"a"}
        table.delete("00002", ["a"])
        assert table.keys("00002") == {"b"}
        assert table.keys("00001") == {"a"}
        assert WritebackTable(engine, "call_results").keys("00002") == {"b"}, "an existing table is reused"
    finally:
        engine.dispose()
