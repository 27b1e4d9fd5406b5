"""Typed, synchronous Thulium REST client: one ``httpx.Client`` (thread-safe, pooled) per tenant, and the API
by resource over one request path.

``client.customers``, ``.companies``, ``.custom_fields``, ``.campaigns``, ``.campaign_records`` and
``.reports`` (``syncd/thulium/resources/``) say what to ask and how to read the answer; every request goes
through ``session.ApiSession`` (gate → count → send → ``status`` decides → ``retry`` repeats what is safe).
Resources parse responses into ``schemas`` models and never judge per-item outcomes of a 207. The engine calls
them from a small thread pool to bound concurrency.

``transport`` is httpx's own seam (``BaseTransport.handle_request``): the default sends over the network;
``httpx.MockTransport`` answers in-process, so every status and parsing path is tested without a server.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager

import httpx
from pydantic import SecretStr

from syncd.thulium.resources import CampaignRecords, Campaigns, Companies, Customers, CustomFields, Reports
from syncd.thulium.retry import RetryPolicy
from syncd.thulium.session import (
    DEFAULT_MAX_URL_BYTES,
    ApiSession,
    RequestGate,
    RequestObserver,
    Timeouts,
)


class ThuliumClient(AbstractContextManager["ThuliumClient"]):
    """The Thulium API of one tenant. Safe to share between threads; close it (or use ``with``) when done."""

    def __init__(
        self,
        base_url: str,
        user: str,
        password: str | SecretStr,
        *,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        gate: RequestGate | None = None,
        observer: RequestObserver | None = None,
        max_connections: int = 8,
        accept_language: str = "en",
        sleep: Callable[[float], None] = time.sleep,
        max_url_bytes: int = DEFAULT_MAX_URL_BYTES,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        secret = password.get_secret_value() if isinstance(password, SecretStr) else password
        self.user = user

        def connect() -> httpx.Client:
            return httpx.Client(
                base_url=base_url.rstrip("/") + "/",
                auth=httpx.BasicAuth(user, secret),
                timeout=(timeouts or Timeouts()).to_httpx(),
                limits=httpx.Limits(
                    max_connections=max_connections, max_keepalive_connections=max_connections
                ),
                headers={"Accept": "application/json", "Accept-Language": accept_language},
                follow_redirects=False,
                transport=transport,
            )

        self.session = ApiSession(
            connect, user, retry=retry, gate=gate, observer=observer, sleep=sleep, max_url_bytes=max_url_bytes
        )
        self.customers = Customers(self.session)
        self.companies = Companies(self.session)
        self.custom_fields = CustomFields(self.session)
        self.campaigns = Campaigns(self.session)
        self.campaign_records = CampaignRecords(self.session)
        self.reports = Reports(self.session)

    def close(self) -> None:
        self.session.close()

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def observer(self) -> RequestObserver | None:
        """Told of every attempt and retry (metrics); may be set after the client is built."""
        return self.session.observer

    @observer.setter
    def observer(self, observer: RequestObserver | None) -> None:
        self.session.observer = observer

    def request_counts(self) -> dict[str, int]:
        """HTTP requests actually sent (each retry counts) by endpoint, e.g. ``{"POST batch/customers":
        3}``."""
        return self.session.request_counts()

    @property
    def requests_sent(self) -> int:
        return self.session.requests_sent()
