"""``POST /webhooks/{tenant}``: events Thulium posts, checked and answered over HTTP.

The order of checks is chosen so that a caller without the tenant's credentials learns
nothing and costs nothing:
1. the tenant must be served here and have a ``[webhooks]`` section, else **404** — the same
   body either way, so a probe cannot tell a tenant without webhooks from no tenant;
2. HTTP Basic credentials (user and password, constant time), else **401** with a challenge.
   This needs only the headers, so it comes before the body is read: an unauthenticated
   sender never gets a byte of its body read, nor learns the size limit;
3. the body may not exceed ``max_body_bytes``, else **413**: a declared Content-Length is
   refused before reading, and the read itself stops at the limit, so a chunked body cannot
   get round it;
4. the body must be a JSON object or a form with an ``action``, else **400** with a reason.
Then the event is handled in a thread (the state DB and the tenant's database are blocking)
and answered ``{"status": "applied" | "recorded" | "unmatched" | "duplicate"}``.

Logs carry the tenant, the action and ids only: bodies hold phone numbers and notes.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import hdrs, web

from syncd.app.schema import ensure_schema
from syncd.app.state_views import StateViews
from syncd.app.writeback_tables import WritebackTables
from syncd.errors import Skippable
from syncd.settings import ProcessSettings, Tenant
from syncd.web.basic_auth import CHALLENGE, authorized
from syncd.web.daemon_sender import DaemonSender
from syncd.web.webhook_events import BadEvent, Event, parse_event
from syncd.web.webhook_store import CampaignHandOff, EventHandler
from syncd.web.webhook_tenants import TenantCache

log = logging.getLogger("syncd.web.webhooks")

ROUTE = "/webhooks/{tenant}"


class BodyTooLarge(Skippable):
    pass


class WebhookReceiver:
    """What the route keeps for the life of the app: tenants, databases, write-back tables, the hand-off."""

    def __init__(self, settings: ProcessSettings, state_views: StateViews, sender: DaemonSender) -> None:
        self.settings = settings
        self.tenants = TenantCache(settings)
        self._state_views = state_views
        self._writebacks = WritebackTables()
        self._hand_off = CampaignHandOff(settings, sender)

    def handle(self, tenant: Tenant, event: Event) -> str:
        """Blocking: call it from a thread."""
        ensure_schema(tenant.state_url, self.settings)
        stores = self._state_views.stores(tenant.name, tenant.state_url)
        handler = EventHandler(
            tenant, stores, lambda table: self._writebacks.get(tenant, table), self._hand_off
        )
        return handler.handle(event)

    def close(self) -> None:
        self._writebacks.dispose()


WEBHOOKS_KEY = web.AppKey("webhooks", WebhookReceiver)


async def receive_webhook(request: web.Request) -> web.StreamResponse:
    receiver = request.app[WEBHOOKS_KEY]
    name = request.match_info["tenant"]
    tenant = await asyncio.to_thread(receiver.tenants.get, name)
    if tenant is None or tenant.config.webhooks is None or tenant.webhook_password is None:
        return _error(404, "not found")
    section = tenant.config.webhooks
    if not authorized(request.headers.get(hdrs.AUTHORIZATION), section.user, _password(tenant)):
        log.warning("webhook refused", extra={"tenant": name, "status": 401, "reason": "credentials"})
        return _error(401, "unauthorized", challenge=True)
    try:
        body = await read_limited(request, section.max_body_bytes)
    except BodyTooLarge:
        reason = f"body over {section.max_body_bytes} bytes"
        log.warning("webhook refused", extra={"tenant": name, "status": 413, "reason": reason})
        return _error(413, f"body larger than {section.max_body_bytes} bytes", close=True)
    try:
        event = parse_event(request.headers.get(hdrs.CONTENT_TYPE, ""), body)
    except BadEvent as exc:
        log.warning("webhook refused", extra={"tenant": name, "status": 400, "reason": exc.reason})
        return _error(400, exc.reason)
    try:
        outcome = await asyncio.to_thread(receiver.handle, tenant, event)
    except Exception:
        log.exception("webhook failed", extra={"tenant": name, "action": event.action})
        return _error(500, "the event could not be processed")
    line: dict[str, object] = {"tenant": name, "action": event.action, "outbound_id": event.outbound_id}
    line.update(record_id=event.record_id, customer_id=event.customer_id, outcome=outcome)
    log.info("webhook received", extra=line)
    return web.json_response({"status": outcome})


async def read_limited(request: web.Request, limit: int) -> bytes:
    """The body, or BodyTooLarge as soon as it passes ``limit`` (declared or actually sent)."""
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge
    body = bytearray()
    async for chunk in request.content.iter_any():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge
    return bytes(body)


def _password(tenant: Tenant) -> str:
    assert tenant.webhook_password is not None
    return tenant.webhook_password.get_secret_value()


def _error(status: int, reason: str, *, challenge: bool = False, close: bool = False) -> web.Response:
    headers = {hdrs.WWW_AUTHENTICATE: CHALLENGE} if challenge else None
    response = web.json_response({"error": reason}, status=status, headers=headers)
    if close:
        response.force_close()  # the rest of the body is unread: the connection cannot be reused
    return response


async def close_receiver(app: web.Application) -> None:
    await asyncio.to_thread(app[WEBHOOKS_KEY].close)
