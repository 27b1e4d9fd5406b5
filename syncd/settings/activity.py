"""The ``[activity]`` part of a tenant file: read-only streams that copy Thulium's (and Wolkvox's) call
history and reports into tables of the tenant's own database.

Each stream is off unless its section is present, and each has its own schedule, because a report
that changes once a day must not be read every minute with the CRM streams.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from syncd.settings.secret_source import check_secret_source

TABLE_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"
Table = Annotated[str, Field(pattern=TABLE_NAME)]
AggregateBy = Literal["minute", "hour", "day", "week", "month", "year"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ActivityStream(Strict):
    table: Table
    interval: Annotated[int, Field(ge=1)] = 300
    # The first run reads from here; later runs go on from the stream's cursor.
    start: date | None = None
    days_back: Annotated[int, Field(ge=0, le=3660)] = 7


class ConnectionsSection(ActivityStream):
    table: Table = "thulium_connections"
    # Calls are listed by minute and may be filed late: each run re-reads this much before its cursor.
    overlap_minutes: Annotated[int, Field(ge=0, le=10080)] = 60


class ReportSection(ActivityStream):
    interval: Annotated[int, Field(ge=1)] = 3600
    aggregate_by: AggregateBy = "day"


class ChatsSummarySection(ReportSection):
    table: Table = "thulium_chats_summary"
    user_logins: list[str] = Field(default_factory=list)
    chat_queue_ids: list[int] = Field(default_factory=list)


class AgentsWorkSection(ReportSection):
    table: Table = "thulium_agents_work"
    agent_logins: list[str] = Field(default_factory=list)
    agent_group_ids: list[int] = Field(default_factory=list)
    queues_ids: list[int] = Field(default_factory=list)

    @model_validator(mode="after")
    def whose_work(self) -> Self:
        if not self.agent_logins and not self.agent_group_ids:
            raise ValueError(
                "Thulium's agents_work_report needs agent_logins or agent_group_ids; give one of them"
            )
        return self


class WolkvoxSection(ActivityStream):
    url: Annotated[str, Field(pattern=r"^https?://\S+$")]
    token_env: str | None = None
    token_file: str | None = None
    table: Table = "wolkvox_chats"
    # Wolkvox advises one poll per 5 minutes per token; a run that comes sooner polls nothing.
    min_poll_seconds: Annotated[int, Field(ge=1)] = 300
    max_polls_per_run: Annotated[int, Field(ge=1, le=100)] = 1
    window_days: Annotated[int, Field(ge=1, le=31)] = 1
    timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 60.0

    @model_validator(mode="after")
    def one_token_source(self) -> Self:
        check_secret_source(self.token_env, self.token_file, "token")
        return self


class ActivitySection(Strict):
    # Where the tables go: the source database unless one of these names another.
    analytics_url: str | None = None
    analytics_url_env: str | None = None
    # Thulium and Wolkvox speak the account's local time without a zone: the zone "now" is read in.
    timezone: str = "UTC"
    connections: ConnectionsSection | None = None
    chats_summary: ChatsSummarySection | None = None
    agents_work: AgentsWorkSection | None = None
    wolkvox_chats: WolkvoxSection | None = None

    @field_validator("timezone")
    @classmethod
    def known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f'an IANA time zone such as "Europe/Warsaw" or "UTC"; got {value!r}') from None
        return value

    @model_validator(mode="after")
    def at_most_one_url_and_distinct_tables(self) -> Self:
        if self.analytics_url is not None and self.analytics_url_env is not None:
            raise ValueError("give at most one of analytics_url or analytics_url_env")
        tables = [section.table for section in self.sections().values()]
        if len(tables) != len(set(tables)):
            raise ValueError("each activity stream needs a table of its own")
        if not tables:
            raise ValueError(
                "[activity] enables nothing: add [activity.connections], [activity.chats_summary], "
                "[activity.agents_work] or [activity.wolkvox_chats]"
            )
        return self

    def sections(self) -> dict[str, ActivityStream]:
        """The enabled streams, in the order they run."""
        named = {
            "connections": self.connections,
            "chats_summary": self.chats_summary,
            "agents_work": self.agents_work,
            "wolkvox_chats": self.wolkvox_chats,
        }
        return {name: section for name, section in named.items() if section is not None}

    def table_of(self, stream: str) -> str:
        return self.sections()[stream].table


ACTIVITY_STREAMS = ("connections", "chats_summary", "agents_work", "wolkvox_chats")
