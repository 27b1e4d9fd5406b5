"""Does Thulium hold what we would send? Used by full reconcile to repair agents' edits.

Thulium's view differs in form from our payload (lists of phones, empty strings for
missing values, ints for company ids), so both sides are brought to one form first.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

LIST_FIELDS = frozenset({"email", "phone_number"})
NOT_COMPARED = frozenset({"identifier", "vip", "note"})  # not returned by GET, or write-only


def differs(wire: Mapping[str, Any], remote: Mapping[str, Any], read: Collection[str] | None = None) -> bool:
    """``wire`` is the clearing payload (mapped fields present, empty when absent); ``read``: the fields
    Thulium's read carried (``None``: all). A field it does not return would always look emptied."""
    return any(
        _field_differs(name, value, remote.get(name))
        for name, value in wire.items()
        if read is None or name in read
    )


def _field_differs(name: str, want: Any, have: Any) -> bool:
    if name in NOT_COMPARED:
        return False
    if isinstance(want, Mapping):
        have_map = have if isinstance(have, Mapping) else {}
        return any(_text(v) != _text(have_map.get(k)) for k, v in want.items())
    if name in LIST_FIELDS:
        return set(_as_list(want)) != set(_as_list(have))
    return _text(want) != _text(have)


def _as_list(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, list | tuple | set):
        return [str(v) for v in value if v not in (None, "")]
    return [str(value)]


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()
