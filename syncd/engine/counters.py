"""What a run counts, in one shape for the three sequencers (customers and companies, campaign rules,
activity streams): a dataclass of named ints, so a misspelt counter fails the type check instead of
adding a new key, and ``as_dict`` is what the run record and the report read."""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


class Tally:
    """Base of every run's counters; subclasses are ``@dataclass(slots=True)`` with ``int`` fields at 0."""

    __slots__ = ()

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(cast("DataclassInstance", self))}
