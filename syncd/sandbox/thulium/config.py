"""What a Thulium sandbox starts with, and the one way both command lines (``python -m syncd.sandbox`` and
``syncd sandbox``) build that from their options."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syncd.sandbox.thulium.capacity import CapacityLimit
from syncd.sandbox.thulium.faults import FaultConfig
from syncd.sandbox.thulium.readings import Readings, profile

DEFAULT_USER = "api_user"
DEFAULT_PASSWORD = "sandbox-secret"
PASSWORD_ENV = "SYNCD_SANDBOX_PASSWORD"


@dataclass
class SandboxConfig:
    host: str = "127.0.0.1"
    port: int = 0
    seed_file: Path | None = None
    user: str = DEFAULT_USER
    password: str = DEFAULT_PASSWORD
    faults: FaultConfig = field(default_factory=FaultConfig)
    """What a reset restores (a copy of it), unless the reset asks for no faults."""
    readings: Readings = field(default_factory=Readings)


def config_from_options(options: Mapping[str, Any]) -> SandboxConfig:
    """``options`` by the command lines' names: host, port, seed_file, user, profile, latency_ms, jitter_ms
    and seed, and faults_file, readings_file, capacity and queue_limit where the command has them. Latency,
    jitter, seed and capacity given there override the same keys of the faults file. The password comes
    from the environment, never from argv (``ps`` shows argv). Raises ValueError for an unknown profile or a
    queue limit without a capacity."""
    faults = load_faults_file(options.get("faults_file")) or FaultConfig()
    faults.latency_ms = options["latency_ms"] or faults.latency_ms
    faults.jitter_ms = options["jitter_ms"] or faults.jitter_ms
    faults.seed = options["seed"] or faults.seed
    if options.get("capacity") is not None:
        faults.capacity = CapacityLimit(options["capacity"], options.get("queue_limit"))
    elif options.get("queue_limit") is not None:
        raise ValueError("--queue-limit needs --capacity: the queue is of requests waiting for a slot")
    return SandboxConfig(
        host=options["host"],
        port=options["port"],
        seed_file=options["seed_file"],
        user=options["user"],
        password=os.environ.get(PASSWORD_ENV, DEFAULT_PASSWORD),
        faults=faults,
        readings=load_readings(options["profile"], options.get("readings_file")),
    )


def load_readings(profile_name: str, readings_file: Path | None) -> Readings:
    """A profile, with any switch a readings file sets on top of it."""
    base = profile(profile_name)
    if readings_file is None:
        return base
    return Readings.from_json(json.loads(Path(readings_file).read_text(encoding="utf-8")), base)


def load_faults_file(path: Path | None) -> FaultConfig | None:
    if path is None:
        return None
    return FaultConfig.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
