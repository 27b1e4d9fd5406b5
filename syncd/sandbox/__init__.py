"""A faithful Thulium API simulator (HTTP, in-memory) with fault injection — for tests, demo and benchmarks.

Start it with ``SandboxProcess`` (separate process) or ``run_sandbox`` (blocking, for the CLI); see README.md.
"""

from syncd.sandbox.app import SandboxConfig, build_app, run_sandbox, serve
from syncd.sandbox.client_control import SandboxControl
from syncd.sandbox.faults import FaultConfig, FaultRule, RateLimit
from syncd.sandbox.launcher import SandboxProcess
from syncd.sandbox.wolkvox_launcher import WolkvoxProcess

__all__ = [
    "FaultConfig",
    "FaultRule",
    "RateLimit",
    "SandboxConfig",
    "SandboxControl",
    "SandboxProcess",
    "WolkvoxProcess",
    "build_app",
    "run_sandbox",
    "serve",
]
