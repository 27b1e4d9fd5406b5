"""What a successful answer says: bodies into ``schemas`` models, 207 bodies into ``ItemResult`` s (no I/O).

A read whose shape is wrong is a ``ThuliumProtocolError``; a write's answer that cannot be read is never one,
because the write probably happened: a create becomes ``OutcomeUnknown`` and a batch's items come back with
``http_status=None``, so the engine looks the records up instead of failing the run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import httpx
from pydantic import TypeAdapter, ValidationError

from syncd.thulium.errors import OutcomeUnknown, ThuliumProtocolError
from syncd.thulium.schemas import ItemResult, parse_item

log = logging.getLogger("syncd.thulium")

T = TypeVar("T")


def summarise(exc: ValidationError) -> str:
    """Field locations and messages only: pydantic's default text echoes input values (phones, e-mails)."""
    parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_input=False)[:5]]
    return "; ".join(parts)


def validate(adapter: TypeAdapter[T], data: Any, method: str, path: str) -> T:
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        raise ThuliumProtocolError(
            f"{method} {path}: unexpected response shape ({summarise(exc)})", method=method, path=path
        ) from None


def json_or_none(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def created(
    response: httpx.Response,
    read: Callable[[Any], T],
    what: str,
    method: str,
    path: str,
    identifiers: Sequence[str],
) -> T:
    """What a create's answer names (``read`` raises ``ValueError`` or ``TypeError`` when it cannot). Without
    it the write happened but cannot be linked: reconcile like a lost one."""
    try:
        return read(json_or_none(response))
    except ValidationError as exc:
        reason = f"without readable {what} ({summarise(exc)})"
    except (TypeError, ValueError):
        reason = f"without a readable {what}"
    raise OutcomeUnknown(
        f"{method} {path} answered {response.status_code} {reason}; the object was probably created",
        method=method,
        path=path,
        identifiers=identifiers,
        status_code=response.status_code,
    )


def id_field(key: str) -> Callable[[Any], int]:
    """Reads ``{key: "13"}`` as 13 (Thulium answers creates with ids as strings)."""

    def read(data: Any) -> int:
        value = data.get(key) if isinstance(data, Mapping) else None
        return int(value)  # type: ignore[arg-type]

    return read


def multi_status(response: httpx.Response, method: str, path: str) -> Mapping[str, Any] | None:
    """The 207 body as a mapping, or ``None`` (logged) when it is not a JSON object — every item is then
    unknown."""
    data = json_or_none(response)
    if isinstance(data, Mapping):
        return data
    line = {"method": method, "path": path, "status": response.status_code}
    log.warning(
        "Thulium answered with a body that is not a JSON object; all item outcomes unknown", extra=line
    )
    return None


def _missing_reason(items: Mapping[str, Any] | None) -> str:
    if items is None:
        return "response body is not a JSON object; outcome unknown"
    return "item missing from the 207 response; outcome unknown"


def _warn_unexpected_keys(
    items: Mapping[str, Any] | None, keys: Sequence[str], method: str, path: str
) -> None:
    if items is None:
        return
    extra = set(items) - set(keys)
    if extra:
        line = {"method": method, "path": path, "items": len(extra)}
        log.warning("Thulium returned items for keys that were not sent", extra=line)


def positional_results(response: httpx.Response, count: int, method: str, path: str) -> list[ItemResult]:
    """Results of a 207 keyed by position: result ``i`` belongs to item ``i`` of the request."""
    items = multi_status(response, method, path)
    keys = [str(i) for i in range(count)]
    _warn_unexpected_keys(items, keys, method, path)
    missing = _missing_reason(items)
    return [parse_item(k, None if items is None else items.get(k), missing=missing) for k in keys]


def keyed_results(
    response: httpx.Response, ids: Sequence[int], method: str, path: str
) -> dict[int, ItemResult]:
    """Results of a 207 keyed by customer id; keys are matched as integers ("013" is 13)."""
    items = multi_status(response, method, path)
    by_id: dict[int, Any] = {}
    if items is not None:
        for key, value in items.items():
            try:
                by_id[int(str(key).strip())] = value
            except ValueError:
                continue
        _warn_unexpected_keys({str(k): v for k, v in by_id.items()}, [str(i) for i in ids], method, path)
    missing = _missing_reason(items)
    return {i: parse_item(str(i), by_id.get(i), customer_id=i, missing=missing) for i in ids}
