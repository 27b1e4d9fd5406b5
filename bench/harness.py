"""What every benchmark needs: a sandbox at a given latency, a generated source, `syncd sync` measured.

Each run of syncd is a separate process, measured from outside: wall time, the requests the
sandbox counted, and the process's own peak RSS (GNU ``/usr/bin/time``, Debian package
``time``), so the figures are what a user of the CLI would see and nothing of the
benchmark's own memory leaks into them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syncd.demo import generate_source, write_demo_config
from syncd.sandbox import SandboxProcess

SYNCD = Path(sys.executable).parent / "syncd"


@dataclass
class Measured:
    seconds: float
    returncode: int
    peak_rss_mb: float
    cpu_seconds: float  # user + system CPU time of the syncd process itself
    requests: dict[str, int] = field(default_factory=dict)  # "METHOD route" -> count
    stderr: str = ""
    sandbox_cpu_seconds: float = 0.0  # the sandbox's CPU time over the same run: the test double's share

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())


@dataclass
class Bench:
    folder: Path
    sandbox: SandboxProcess
    source_url: str
    config: Path
    env: dict[str, str]

    def sync(self, *args: str) -> Measured:
        """Run `syncd sync` and measure it (requests are counted from zero for this run only)."""
        self.sandbox.control.reset_counts()
        sandbox_cpu = process_cpu_seconds(self.sandbox.pid)
        started = time.perf_counter()
        # GNU time reports the peak RSS of syncd itself: a child's own rusage would also count the
        # memory of this process (the generated source) that it had before its exec.
        rss_file = self.folder / "peak_rss_kb"
        timed = ["/usr/bin/time", "-f", "%M %U %S", "-o", str(rss_file)]
        process = subprocess.run(
            [*timed, str(SYNCD), "sync", "--config", str(self.config), *args],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
        stderr = process.stderr
        seconds = time.perf_counter() - started
        sandbox_cpu = process_cpu_seconds(self.sandbox.pid) - sandbox_cpu
        peak_kb, user, system = rss_file.read_text().split()[-3:]
        counts = self.sandbox.control.counts()
        requests = {
            route: int(n) for route, n in counts["by_route"].items() if not route.startswith("GET /_")
        }
        cpu = float(user) + float(system)
        return Measured(
            seconds, process.returncode, int(peak_kb) / 1024, cpu, requests, stderr[-2000:], sandbox_cpu
        )


def process_cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a running process so far, from ``/proc`` (Linux; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    # after the command's ")": state is field 3, utime and stime fields 14 and 15 of the whole line
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def bench(
    *,
    customers: int,
    companies: int,
    latency_ms: int = 0,
    campaigns: tuple[str, ...] = (),
    extra_config: str = "",
    seed: int = 1,
    capacity: int | None = None,
    queue_limit: int | None = None,
) -> Iterator[Bench]:
    """``capacity``/``queue_limit``: the sandbox serves that many requests at once, queues that many more
    and answers 429 past them (see syncd/sandbox/thulium/capacity.py); None: any number at once."""
    with (
        tempfile.TemporaryDirectory(prefix="syncd-bench-") as tmp,
        SandboxProcess(latency_ms=latency_ms, capacity=capacity, queue_limit=queue_limit) as sb,
    ):
        folder = Path(tmp)
        source_url = f"sqlite:///{folder / 'source.sqlite'}"
        generate_source(source_url, customers=customers, companies=companies, invalid_fraction=0, seed=seed)
        config = write_demo_config(
            folder / "bench.toml",
            source_url,
            sb.url,
            user=sb.user,
            state_url=f"sqlite:///{folder / 'state.sqlite'}",
            campaigns=campaigns,
        )
        if extra_config:
            with config.open("a") as file:
                file.write(extra_config)
        # An installed syncd runs from compiled bytecode; a shell with PYTHONDONTWRITEBYTECODE would make
        # every measured process compile syncd's modules from source again (0.15 s of each start-up).
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("SYNCD_") and k != "PYTHONDONTWRITEBYTECODE"
        }
        env.update(THULIUM_PASSWORD=sb.password, SYNCD_LOG_LEVEL="WARNING", SYNCD_VAR_DIR=str(folder / "var"))
        yield Bench(folder, sb, source_url, config, env)


def table(title: str, rows: list[tuple[str, Any]]) -> str:
    """A two-column markdown table, the format every benchmark prints."""
    lines = [f"### {title}", "", "| measure | value |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines)


def machine() -> str:
    cpus = os.cpu_count()
    return f"{sys.platform}, {cpus} CPUs, Python {sys.version.split()[0]}"
