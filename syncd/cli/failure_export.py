"""``syncd failures export``: the chosen failures, every column, as CSV (a header line) or a JSON array."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import asdict, fields
from datetime import datetime
from typing import Any, TextIO

from syncd.app.state_views import FailureRow

FORMATS = ("csv", "json")
EXPORT_COLUMNS = tuple(f.name for f in fields(FailureRow))


def export_failures(rows: Iterable[FailureRow], format: str, out: TextIO) -> int:
    """Write ``rows`` as CSV (a header line) or a JSON array; times are ISO 8601 in UTC. Returns the count."""
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}")
    records = [{name: _plain(value) for name, value in asdict(row).items()} for row in rows]
    if format == "json":
        json.dump(records, out, indent=2)
        out.write("\n")
    else:
        writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    return len(records)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
