"""What ``/health`` checks: the broker answers, every state DB answers, every tenant file loads.

Anyone who can reach the port may ask, so without credentials the body says only ``ok`` or
``failing`` per check: the state DB URLs, file paths, tenant file names and error texts map
the deployment for an attacker. The details come only with the ops credentials
(``SYNCD_HEALTH_USER`` / ``SYNCD_HEALTH_PASSWORD``, HTTP Basic, checked like the webhooks').
The status code (200 / 503) is the same either way: load balancers probe without credentials.

The details are read by people, often pasted into tickets, so they name state DBs by URL with
the password masked and scrub anything URL-shaped out of error text. Each check runs in a
thread with a deadline: a hung database must not hang the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from syncd.app.state_views import StateViews
from syncd.broker.redis_broker import broker_url, ping, redis_client_url
from syncd.settings import ConfigError, ProcessSettings
from syncd.settings.discovery import discover_tenants
from syncd.source.probe import mask_url, scrub
from syncd.vocabulary import HealthStatus
from syncd.web.basic_auth import authorized

OK, DEGRADED, FAILING = HealthStatus.OK, HealthStatus.DEGRADED, HealthStatus.FAILING
BROKER_TIMEOUT_S = 2.0
CHECK_TIMEOUT_S = 5.0
MAX_ERROR_CHARS = 300


@dataclass
class Health:
    broker: str
    state: dict[str, str]
    tenants: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        checks = [self.broker, *self.state.values(), *self.tenants.values()]
        return all(result == OK for result in checks)

    def checks(self) -> dict[str, str]:
        """Per check only whether it passed: what anyone may know without credentials."""
        return {
            "broker": passed([self.broker]),
            "state": passed(self.state.values()),
            "tenants": passed(self.tenants.values()),
        }

    def to_json(self, *, details: bool = False) -> dict[str, Any]:
        """``details`` adds, per check, each state DB URL and tenant file with its result or error."""
        body: dict[str, Any] = {"status": OK if self.ok else DEGRADED, "checks": self.checks()}
        if details:
            body.update(broker=self.broker, state=self.state, tenants=self.tenants)
        return body


def passed(results: Iterable[str]) -> str:
    return OK if all(result == OK for result in results) else FAILING


def details_allowed(authorization: str | None, settings: ProcessSettings) -> bool:
    """Only valid ops credentials see the details; with no ops password set (or an empty one), nobody does."""
    password = settings.health_password.get_secret_value() if settings.health_password else ""
    if not password:  # an empty variable would otherwise open the details to "user:" guesses
        return False
    return authorized(authorization, settings.health_user, password)


async def check_health(settings: ProcessSettings, views: StateViews) -> Health:
    tenants, state_urls = await asyncio.to_thread(_load_tenants, settings)
    broker, *states = await asyncio.gather(
        _run(_ping_broker, settings), *(_run(_select_one, views, url) for url in state_urls)
    )
    state = {mask_url(url): result for url, result in zip(state_urls, states, strict=True)}
    return Health(broker=broker, state=state, tenants=tenants)


async def _run(check: Callable[..., str], *args: Any) -> str:
    """A check's own failure is its result: one broken dependency must not hide the others."""
    try:
        return await asyncio.wait_for(asyncio.to_thread(check, *args), CHECK_TIMEOUT_S)
    except TimeoutError:
        return f"no answer within {CHECK_TIMEOUT_S:g}s"
    except Exception as exc:  # noqa: BLE001 -- whatever broke is this check's answer, not the endpoint's
        return describe(exc)


def _ping_broker(settings: ProcessSettings) -> str:
    ping(redis_client_url(broker_url(settings)), BROKER_TIMEOUT_S)
    return OK


def _select_one(views: StateViews, url: str) -> str:
    views.db(url).ping()
    return OK


def _load_tenants(settings: ProcessSettings) -> tuple[dict[str, str], list[str]]:
    """Tenant results by file name, and the state URLs to probe: the process default first."""
    urls = [settings.default_state_url()]
    try:
        tenants, problems = discover_tenants(settings.config_dir, settings)
    except (ConfigError, OSError, ValueError) as exc:  # a file not there, unreadable, not UTF-8, not valid
        return {str(settings.config_dir): describe(exc)}, urls
    results: dict[str, str] = {tenant.path.name: OK for tenant in tenants}
    results.update({problem.path.name: describe(problem) for problem in problems})
    urls += [tenant.state_url for tenant in tenants]
    return dict(sorted(results.items())), list(dict.fromkeys(urls))


def describe(exc: BaseException) -> str:
    if isinstance(exc, ConfigError):
        message = "; ".join(f"{p.key}: {p.problem}" for p in exc.problems)
    else:
        # A database error has the statement and a docs link on later lines; the first says what broke.
        first_line = str(exc).strip().splitlines()[:1]
        message = f"{type(exc).__name__}: {first_line[0]}" if first_line else type(exc).__name__
    message = scrub(message)
    return message if len(message) <= MAX_ERROR_CHARS else message[: MAX_ERROR_CHARS - 3] + "..."
