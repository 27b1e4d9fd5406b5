"""A faithful Thulium API simulator (HTTP, in-memory) with fault injection — for tests, demo and benchmarks.

Start it with ``SandboxProcess`` (separate process) or ``run_sandbox`` (blocking, for the CLI); see README.md.
"""

from syncd.sandbox.launch.thulium_control import SandboxControl
from syncd.sandbox.launch.thulium_process import SandboxProcess
from syncd.sandbox.launch.wolkvox_process import WolkvoxProcess
from syncd.sandbox.thulium.app import SandboxConfig, build_app, run_sandbox, serve
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
    "run_sandbox",
    "serve",
]
