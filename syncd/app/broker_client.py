"""A Redis client to the broker, with the timeouts every syncd process uses (locks, status, runs)."""

from __future__ import annotations

import redis

from syncd.broker.redis_broker import redis_client_url

REDIS_TIMEOUT_SECONDS = 5.0


def connect_redis(broker: str) -> redis.Redis:
    return redis.Redis.from_url(
        redis_client_url(broker),
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        health_check_interval=30,
    )
