"""ORM rows into the frozen records the stores hand out, one field per column of the same name.

The records are what leaves the state layer (no session, no lazy loading, nothing to mutate);
copying them field by field was written once per record type before.
"""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")


def record_of(cls: type[R], row: object, **converted: Any) -> R:
    """``cls`` built from ``row``'s columns; ``converted`` gives the fields that are not a plain copy."""
    values = {f.name: getattr(row, f.name) for f in fields(cls) if f.name not in converted}
    return cls(**values, **converted)
