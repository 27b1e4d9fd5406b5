"""Connections a worker process keeps between tasks.

Pools must not cross a fork: the prefork pool forks children from the main process, so each
cache is keyed by pid and a child builds its own on first use.
"""

from __future__ import annotations

import os

import redis

from syncd.app.broker_client import connect_redis
from syncd.app.state_views import StateViews, TenantStores
from syncd.broker.redis_broker import broker_url
from syncd.settings import ProcessSettings

_state_views: dict[int, StateViews] = {}
_redis: dict[int, redis.Redis] = {}


def tenant_stores(tenant: str, state_url: str) -> TenantStores:
    views = _state_views.get(os.getpid())
    if views is None:
        views = _state_views[os.getpid()] = StateViews()
    return views.stores(tenant, state_url)


def redis_client(settings: ProcessSettings) -> redis.Redis:
    client = _redis.get(os.getpid())
    if client is None:
        client = _redis[os.getpid()] = connect_redis(broker_url(settings))
    return client
