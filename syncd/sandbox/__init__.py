"""Test doubles of the vendors syncd talks to, for tests, the demo and benchmarks (see README.md):

- ``thulium/``: a faithful Thulium API simulator (HTTP, in-memory) with fault injection;
- ``wolkvox/``: a small Wolkvox ``chat_13`` simulator that enforces and measures the vendor's limits;
- ``launch/``: each in its own child process, and the typed clients of their control APIs.

Start one with ``SandboxProcess`` / ``WolkvoxProcess`` (separate process) or ``run_sandbox`` (blocking, for
the CLI).
"""

from syncd.sandbox.launch.thulium_control import SandboxControl
from syncd.sandbox.launch.thulium_process import SandboxProcess
from syncd.sandbox.launch.wolkvox_process import WolkvoxProcess
from syncd.sandbox.thulium.app import build_app, run_sandbox, serve
from syncd.sandbox.thulium.config import SandboxConfig, config_from_options
from syncd.sandbox.thulium.faults import FaultConfig, FaultRule, RateLimit

__all__ = [
    "FaultConfig",
    "FaultRule",
    "RateLimit",
    "SandboxConfig",
    "SandboxControl",
    "SandboxProcess",
    "WolkvoxProcess",
    "build_app",
    "config_from_options",
    "run_sandbox",
    "serve",
]
