"""Outgoing Thulium-style webhooks: one configured target, a FIFO delivery queue and a log of what was sent.

Deliveries leave from the aiohttp loop through one worker task, so the API call that caused an event is
never slowed by the receiver, and events reach the receiver in the order they happened (one at a time:
a receiver that cannot keep up sees a backlog, not reordering). ``flush`` lets a test wait for the backlog.
A failed delivery is logged and not retried: the vendor document says nothing about retries, so a receiver
must not count on them (``replay`` covers the opposite case, a duplicate).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import aiohttp

from syncd.sandbox.thulium.errors import ApiError

ENCODINGS = ("json", "form")
DEFAULT_TIMEOUT_S = 5.0
SENT_CAPACITY = 10_000


@dataclass(frozen=True)
class WebhookTarget:
    """What the Thulium panel's "Administration -> Webhooks" page holds, plus sandbox-only switches."""

    url: str
    user: str = ""
    password: str = ""
    encoding: str = "json"
    actions: frozenset[str] | None = None  # None: every action
    api_writes: bool = False  # also announce customers created through /api/ (see README)
    timeout_s: float = DEFAULT_TIMEOUT_S

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> WebhookTarget:
        url = str(raw.get("url") or "")
        if not url.startswith(("http://", "https://")):
            raise ApiError.one(400, "Field url is required and must be an http(s) URL.")
        encoding = str(raw.get("encoding", "json"))
        if encoding not in ENCODINGS:
            raise ApiError.one(400, "Field encoding must be json or form.")
        return cls(
            url=url,
            user=str(raw.get("user") or ""),
            password=str(raw.get("password") or ""),
            encoding=encoding,
            actions=_actions(raw.get("actions")),
            api_writes=bool(raw.get("api_writes", False)),
            timeout_s=float(raw.get("timeout_s", DEFAULT_TIMEOUT_S)),
        )

    def to_json(self) -> dict[str, Any]:
        """The password is not echoed back: the control API has no auth and its answers end up in logs."""
        return {
            "url": self.url,
            "user": self.user,
            "password_set": bool(self.password),
            "encoding": self.encoding,
            "actions": None if self.actions is None else sorted(self.actions),
            "api_writes": self.api_writes,
            "timeout_s": self.timeout_s,
        }

    def wants(self, action: str) -> bool:
        return self.actions is None or action in self.actions


def _actions(raw: Any) -> frozenset[str] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(a, str) for a in raw):
        raise ApiError.one(400, "Field actions must be a list of action names.")
    return frozenset(raw)


@dataclass
class Delivery:
    seq: int
    t: float  # when the event happened (time.time())
    action: str
    body: dict[str, Any]
    target: WebhookTarget
    replay: bool = False
    done: bool = False
    status: int | None = None  # receiver's HTTP status; None when it could not be reached
    error: str | None = None
    delivered_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "t": self.t,
            "action": self.action,
            "url": self.target.url,
            "encoding": self.target.encoding,
            "body": dict(self.body),
            "replay": self.replay,
            "done": self.done,
            "status": self.status,
            "error": self.error,
            "delivered_at": self.delivered_at,
        }


def form_fields(body: dict[str, Any]) -> dict[str, str]:
    """Form bodies carry strings only; a JSON null becomes an empty value."""
    return {key: "" if value is None else str(value) for key, value in body.items()}


class WebhookEmitter:
    def __init__(self) -> None:
        self.target: WebhookTarget | None = None
        self.sent: deque[Delivery] = deque(maxlen=SENT_CAPACITY)
        self._queue: asyncio.Queue[Delivery] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._seq = 0

    # ------------------------------------------------------------------ configuration
    def configure(self, target: WebhookTarget | None) -> None:
        """Deliveries already queued keep their own target, as events already fired would in Thulium."""
        self.target = target

    def reset(self) -> None:
        """Forget the target, the log and anything not yet delivered (a fresh instance sends nothing)."""
        self.target = None
        self.sent.clear()
        self._seq = 0
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None
        self._queue = asyncio.Queue()

    def pending(self) -> int:
        return sum(1 for d in self.sent if not d.done)

    # ------------------------------------------------------------------ events
    def emit(self, action: str, fields: dict[str, Any], *, api_write: bool = False) -> Delivery | None:
        """Queues ``{"action": action, **fields}`` if a target is set and wants it; never blocks."""
        target = self.target
        if target is None or not target.wants(action) or (api_write and not target.api_writes):
            return None
        return self._enqueue(action, {"action": action, **fields}, target, replay=False)

    def replay(self, seq: int | None = None) -> Delivery:
        """Sends an earlier delivery again, same body and target (Thulium may deliver an event twice)."""
        original = self._find(seq)
        return self._enqueue(original.action, dict(original.body), original.target, replay=True)

    def _find(self, seq: int | None) -> Delivery:
        if not self.sent:
            raise ApiError.one(400, "Nothing to replay: no webhook has been sent yet.")
        if seq is None:
            return self.sent[-1]
        found = next((d for d in self.sent if d.seq == seq), None)
        if found is None:
            raise ApiError.one(404, f"No delivery with seq {seq}.")
        return found

    def _enqueue(self, action: str, body: dict[str, Any], target: WebhookTarget, *, replay: bool) -> Delivery:
        self._seq += 1
        delivery = Delivery(self._seq, time.time(), action, body, target, replay=replay)
        self.sent.append(delivery)
        self._queue.put_nowait(delivery)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._work(self._queue))
        return delivery

    async def flush(self, timeout_s: float) -> bool:
        """True when everything queued so far has been delivered (or failed) within ``timeout_s``."""
        try:
            await asyncio.wait_for(asyncio.shield(self._queue.join()), timeout_s)
        except TimeoutError:
            return False
        return True

    # ------------------------------------------------------------------ delivery
    async def _work(self, queue: asyncio.Queue[Delivery]) -> None:
        while True:
            delivery = await queue.get()
            try:
                await self._send(delivery)
            finally:
                queue.task_done()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def _send(self, delivery: Delivery) -> None:
        target = delivery.target
        auth = aiohttp.BasicAuth(target.user, target.password) if target.user else None
        payload: dict[str, Any] = (
            {"json": delivery.body} if target.encoding == "json" else {"data": form_fields(delivery.body)}
        )
        try:
            async with self._client().post(
                target.url, auth=auth, timeout=aiohttp.ClientTimeout(total=target.timeout_s), **payload
            ) as resp:
                await resp.read()
                delivery.status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            detail = str(exc) or f"no answer within {target.timeout_s:g} s"
            delivery.error = f"{type(exc).__name__}: {detail}"
        finally:
            delivery.done = True
            delivery.delivered_at = time.time()

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        if self._session is not None:
            await self._session.close()
            self._session = None
