"""The campaign rules' own queries over the tenant's database, read as rows for the campaign run."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import Engine, text

from syncd.engine.errors import RunAborted


class RuleQueries:
    """The rules' SQL over the tenant's database; ``:outbound_id`` is the one parameter, always bound."""

    def __init__(self, engine: Engine, queries: Mapping[str, str], where: str) -> None:
        self.engine, self.queries, self.where = engine, queries, where  # where: the tenant file, for messages

    def rule_rows(self, outbound_id: str) -> Iterator[Mapping[str, Any]]:
        statement = text(self.queries[outbound_id])
        names = set(statement.compile().params)
        extra = names - {"outbound_id"}
        if extra:
            raise RunAborted(
                f"{self.where}: the query of campaign {outbound_id} uses :{', :'.join(sorted(extra))}; "
                "only :outbound_id is bound"
            )
        params = {"outbound_id": outbound_id} if names else {}
        with self.engine.connect() as connection:
            result = connection.execute(statement, params)
            if "key" not in list(result.keys()):
                raise RunAborted(
                    f"{self.where}: the query of campaign {outbound_id} returns no `key` column "
                    f"(it returns {', '.join(result.keys())}); select the source key AS key"
                )
            for row in result.mappings():
                yield dict(row)
