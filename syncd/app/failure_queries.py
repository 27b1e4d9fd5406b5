"""What ``syncd failures`` and ``syncd runs`` ask the state DB, from what ops typed: streams, kinds, ages.

A typo must not silently match nothing, so stream names and durations are checked here and a
mistake is a ``ValueError`` in words the command line can print as they are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta

from syncd.app.state_views import FailureQuery, RunQuery
from syncd.engine.campaigns.run import CAMPAIGN_PREFIX
from syncd.settings.activity import ACTIVITY_STREAMS

FIXED_STREAMS = ("companies", "customers")

_DURATION = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """``30m``, ``2h``, ``7d``, ``1w``, ``1h30m``: what ops type, not ISO 8601."""
    cleaned = text.strip().lower()
    parts = _DURATION.findall(cleaned)
    if not parts or "".join(number + unit for number, unit in parts) != cleaned:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30m, 2h, 7d)")
    return timedelta(seconds=sum(int(number) * _UNITS[unit] for number, unit in parts))


def failure_query(
    streams: Sequence[str] | None,
    kinds: Sequence[str] | None,
    status: str,
    older_than: str | None,
    newer_than: str | None,
    *,
    keys: Sequence[str] | None = None,
    limit: int | None = None,
) -> FailureQuery:
    return FailureQuery(
        streams=tuple(check_streams(streams)),
        kinds=tuple(kinds or ()),
        status=status,
        older_than=None if older_than is None else parse_duration(older_than),
        newer_than=None if newer_than is None else parse_duration(newer_than),
        keys=tuple(keys or ()),
        limit=limit,
    )


def run_query(streams: Sequence[str] | None, statuses: Sequence[str] | None, limit: int) -> RunQuery:
    return RunQuery(tuple(check_streams(streams)), tuple(statuses or ()), limit)


def check_streams(streams: Sequence[str] | None) -> list[str]:
    """State streams are the CRM two, one per campaign rule and the activity streams."""
    for stream in streams or ():
        if stream not in (*FIXED_STREAMS, *ACTIVITY_STREAMS) and not stream.startswith(CAMPAIGN_PREFIX):
            raise ValueError(
                f"unknown stream {stream!r}; expected companies, customers, campaign:<outbound_id> "
                f"or an activity stream ({', '.join(ACTIVITY_STREAMS)})"
            )
    return list(streams or ())
