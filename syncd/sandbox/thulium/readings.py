"""Which way the sandbox reads the vendor document where it is silent or ambiguous.

Our client and this sandbox are written by the same hands, so they can agree on a wrong reading. Each
switch here plays one reading the document allows; the defaults are the kind readings the sandbox has
always taken, and the ``adversarial`` profile turns every one of them to the unkind one, so a test that
passes under both cannot be leaning on the kind reading alone.

Pure Python (no aiohttp), so the control client can build the same objects it sends.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

CompanyDelete = Literal["detach", "cascade"]
FlagParam = Literal["boolean", "php"]
MinuteBound = Literal["whole", "start"]

REWORDED_NOT_FOUND = "The customer does not exist."


@dataclass(frozen=True)
class Readings:
    # A 5xx or a hang injected on a write applies the write first: "an internal error while processing the
    # request" promises no rollback.
    errors_apply_writes: bool = False
    # A front proxy refuses a request line (path and query) longer than this with 414 and an HTML page.
    max_url_bytes: int | None = None
    # DELETE companies/:id "removes the company and all its dependants": detach its customers, or delete them.
    company_delete: CompanyDelete = "detach"
    # company_flag=false: read as false, or as PHP reads a non-empty string (true).
    company_flag_param: FlagParam = "boolean"
    # The text of the "customer not found" item of a campaign batch add (the document prints one wording).
    customer_not_found_message: str = "Customer not found."
    # date_to=YYYY-MM-DD HH:MM covers that whole minute, or only its first second.
    date_to_minute: MinuteBound = "whole"
    # Two agents share one display name (user_name), as two people called Jan Kowalski would.
    namesake_agents: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any], base: Readings | None = None) -> Readings:
        """Unknown keys and values outside a switch's choices are refused, so a typo cannot silently test
        the kind reading."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"unknown readings: {unknown}; known: {sorted(known)}")
        readings = replace(base or cls(), **raw)
        readings.check()
        return readings

    def check(self) -> None:
        choices: dict[str, tuple[object, ...]] = {
            "company_delete": ("detach", "cascade"),
            "company_flag_param": ("boolean", "php"),
            "date_to_minute": ("whole", "start"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"readings.{name} must be one of {allowed}, got {getattr(self, name)!r}")
        for name in ("errors_apply_writes", "namesake_agents"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"readings.{name} must be true or false")
        limit = self.max_url_bytes
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 64):
            raise ValueError("readings.max_url_bytes must be null or an integer of at least 64")
        if not isinstance(self.customer_not_found_message, str) or not self.customer_not_found_message:
            raise ValueError("readings.customer_not_found_message must be a non-empty string")


ADVERSARIAL = Readings(
    errors_apply_writes=True,
    max_url_bytes=8192,
    company_delete="cascade",
    company_flag_param="php",
    customer_not_found_message=REWORDED_NOT_FOUND,
    date_to_minute="start",
    namesake_agents=True,
)
PROFILES: dict[str, Readings] = {"default": Readings(), "adversarial": ADVERSARIAL}


def profile(name: str) -> Readings:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown sandbox profile {name!r}; expected one of {', '.join(PROFILES)}") from None
