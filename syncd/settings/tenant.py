"""The shape of a tenant file, ``config/<tenant>.toml``.

Every model forbids unknown keys: a misspelt option must fail at start, not be ignored
for months. Secrets are never values here, only the names of where to find them.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from syncd.settings.activity import ActivitySection
from syncd.settings.errors import ConfigProblem, KeyedProblems
from syncd.settings.fields import COMPANY_FIELDS, CUSTOMER_FIELDS, target_problem
from syncd.settings.secret_source import check_secret_source

OUTBOUND_ID = re.compile(r"^\d{5}$")
PACING_OPTIONS = frozenset({"burst", "breaker_failures", "breaker_cooldown_seconds"})


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ThuliumSection(Strict):
    url: Annotated[str, Field(pattern=r"^https?://\S+$")]
    user: Annotated[str, Field(min_length=1)]
    password_env: str | None = None
    password_file: str | None = None
    connect_timeout: Annotated[float, Field(gt=0)] = 5.0
    read_timeout: Annotated[float, Field(gt=0)] = 30.0
    # Batch deletes carry ids in the query string; front proxies commonly refuse request lines over 8 KB.
    max_url_bytes: Annotated[int, Field(ge=512, le=1_000_000)] = 8192
    # Shared pacing of the API user (syncd/thulium/pacing.py): off unless a rate is set, so that an
    # install that never asked for it keeps sending as fast as max_in_flight allows.
    max_requests_per_second: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    burst: Annotated[int, Field(ge=1, le=1000)] = 1
    breaker_failures: Annotated[int, Field(ge=1, le=1000)] = 5
    breaker_cooldown_seconds: Annotated[float, Field(gt=0, le=3600)] = 30.0

    @model_validator(mode="after")
    def one_password_source(self) -> Self:
        check_secret_source(self.password_env, self.password_file)
        return self

    @model_validator(mode="after")
    def pacing_needs_a_rate(self) -> Self:
        """A breaker or burst setting without a rate would be silently ignored: say so at start instead."""
        orphans = sorted(self.model_fields_set & PACING_OPTIONS)
        if self.max_requests_per_second is None and orphans:
            raise ValueError(
                f"{', '.join(orphans)} take effect only with max_requests_per_second; set it as well"
            )
        return self


class SourceSection(Strict):
    url: str | None = None
    url_env: str | None = None

    @model_validator(mode="after")
    def one_url_source(self) -> Self:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give exactly one of url (a SQLAlchemy URL) or url_env (a variable holding it)")
        return self


class StateSection(Strict):
    url: str


class StreamSection(Strict):
    """Where one stream's rows come from and how their columns map onto Thulium fields."""

    table: str | None = None
    query: str | None = None
    key: str
    updated_at: str
    deleted: str | None = None
    fields: dict[str, str]
    lookback_seconds: Annotated[int, Field(ge=0)] = 120
    clock_skew_seconds: Annotated[int, Field(ge=0)] = 60

    @model_validator(mode="after")
    def table_or_query(self) -> Self:
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of table or query")
        return self

    def check_mapping(self, allowed: frozenset[str], required: str, example: str) -> None:
        problems = [
            ConfigProblem(f"fields.{target}", problem)
            for target in self.fields
            if (problem := target_problem(target, allowed))
        ]
        if required not in self.fields:
            problems.append(
                ConfigProblem(
                    f"fields.{required}", f"missing: Thulium requires {required}; map it, e.g. {example}"
                )
            )
        if problems:
            raise KeyedProblems(problems)


class CompaniesSection(StreamSection):
    @model_validator(mode="after")
    def check_fields(self) -> Self:
        self.check_mapping(COMPANY_FIELDS, "name", 'name = "name"')
        return self


class CustomersSection(StreamSection):
    company_key: str | None = None

    @model_validator(mode="after")
    def check_fields(self) -> Self:
        self.check_mapping(CUSTOMER_FIELDS, "surname", 'surname = "last_name"')
        return self


class WritebackSection(Strict):
    """A table in the tenant's source database that mirrors the campaign's records (created if missing)."""

    table: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")]


class WebhooksSection(Strict):
    """Credentials Thulium must send (HTTP Basic) when it posts events to ``/webhooks/<tenant>``."""

    user: Annotated[str, Field(min_length=1)]
    password_env: str | None = None
    password_file: str | None = None
    max_body_bytes: Annotated[int, Field(ge=1024, le=10_000_000)] = 65536

    @model_validator(mode="after")
    def one_password_source(self) -> Self:
        check_secret_source(self.password_env, self.password_file)
        return self


class CampaignRule(Strict):
    outbound_id: str
    query: str
    remove_when_absent: bool = True
    initial_status_id: int | None = None
    reset_worked: bool = False
    writeback: WritebackSection | None = None

    @field_validator("outbound_id")
    @classmethod
    def five_digits(cls, value: str) -> str:
        if not OUTBOUND_ID.match(value):
            raise ValueError(f'a campaign id is five digits as a string, e.g. "00001"; got {value!r}')
        return value


MAX_IN_FLIGHT = 32  # the most requests one run sends at once, fixed or learnt


class SyncSection(Strict):
    identifier_prefix: str = ""
    batch_size: Annotated[int, Field(ge=1, le=1000)] = 100
    # "auto": learnt from Thulium's latency and 429s (syncd/thulium/concurrency.py), up to the cap;
    # a number: always that many.
    max_in_flight: int | Literal["auto"] = "auto"
    max_in_flight_cap: Annotated[int, Field(ge=1, le=MAX_IN_FLIGHT)] = 16
    item_attempts: Annotated[int, Field(ge=1, le=50)] = 5
    on_source_delete: Literal["delete", "ignore"] = "delete"
    on_thulium_delete: Literal["recreate", "ignore"] = "recreate"
    on_thulium_edit: Literal["source_wins", "ignore"] = "source_wins"
    max_delete_fraction: Annotated[float, Field(ge=0, le=1)] = 0.2

    @field_validator("max_in_flight", mode="before")
    @classmethod
    def auto_or_a_number(cls, value: object) -> object:
        if value == "auto" or (type(value) is int and 1 <= value <= MAX_IN_FLIGHT):
            return value
        raise ValueError(f'expected "auto" or a whole number from 1 to {MAX_IN_FLIGHT}; got {value!r}')

    @model_validator(mode="after")
    def cap_needs_auto(self) -> Self:
        """A cap beside a fixed number would be silently ignored: say so at start instead."""
        if self.max_in_flight != "auto" and "max_in_flight_cap" in self.model_fields_set:
            raise ValueError(
                'max_in_flight_cap bounds max_in_flight = "auto" only; drop it or set max_in_flight = "auto"'
            )
        return self

    @property
    def window(self) -> int:
        """The most requests a run has out at once: the fixed number, or the cap of "auto"."""
        return self.max_in_flight_cap if self.max_in_flight == "auto" else self.max_in_flight


class ScheduleSection(Strict):
    interval: Annotated[int, Field(ge=1)] = 60
    full_interval: Annotated[int, Field(ge=60)] = 86400
    retry_interval: Annotated[int, Field(ge=1)] = 300


class TenantFile(Strict):
    thulium: ThuliumSection
    source: SourceSection
    state: StateSection | None = None
    companies: CompaniesSection | None = None
    customers: CustomersSection | None = None
    campaigns: list[CampaignRule] = Field(default_factory=list)
    webhooks: WebhooksSection | None = None
    sync: SyncSection = Field(default_factory=SyncSection)
    schedule: ScheduleSection = Field(default_factory=ScheduleSection)
    activity: ActivitySection | None = None

    @model_validator(mode="after")
    def something_to_sync(self) -> Self:
        if self.companies is None and self.customers is None and not self.campaigns and self.activity is None:
            raise ValueError(
                "nothing to sync: add a [customers], [companies], [[campaigns]] or [activity] section"
            )
        if self.customers and self.customers.company_key and self.companies is None:
            raise ValueError("customers.company_key needs a [companies] section to resolve companies")
        if self.campaigns and self.customers is None:
            raise ValueError(
                "[[campaigns]] need a [customers] section: a campaign record is a linked customer"
            )
        seen = [rule.outbound_id for rule in self.campaigns]
        if len(seen) != len(set(seen)):
            raise ValueError("each campaign may have one [[campaigns]] rule; merge the queries")
        return self
