"""Connections a worker process keeps between tasks.

Pools must not cross a fork: the prefork pool forks children from the main process, so each
cache is keyed by pid and a child builds its own on first use.
"""

from __future__ import annotations

import os

import redis

from syncd.broker.redis_broker import broker_url, redis_client_url
from syncd.settings import ProcessSettings
from syncd.state.db import Sessions, StateDbs

_state_dbs: dict[int, StateDbs] = {}
_redis: dict[int, redis.Redis] = {}

REDIS_TIMEOUT_SECONDS = 5.0


def state_sessions(url: str) -> Sessions:
    dbs = _state_dbs.get(os.getpid())
    if dbs is None:
        dbs = _state_dbs[os.getpid()] = StateDbs()
    return dbs.get(url).sessions


def redis_client(settings: ProcessSettings) -> redis.Redis:
    client = _redis.get(os.getpid())
    if client is None:
        client = _redis[os.getpid()] = connect_redis(broker_url(settings))
    return client


def connect_redis(broker: str) -> redis.Redis:
    return redis.Redis.from_url(
        redis_client_url(broker),
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        health_check_interval=30,
    )
