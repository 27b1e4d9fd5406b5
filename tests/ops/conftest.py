"""A demo tenant with real failures: a small generated source synced into the sandbox by `syncd sync`.

The first sync (a real process, as ops would run it) is done once per session into a template;
most tests get a private copy of its source and state DB, since listing, showing, exporting and
resolving need no Thulium. Tests that sync again use ``fresh_tenant``, synced into a reset sandbox.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner, Result

from syncd.cli.main import app
from syncd.demo import DemoSource, Invalid, generate_source, write_demo_config
from syncd.sandbox import SandboxProcess
from syncd.state import models
from syncd.state.db import make_engine, session_factory

SYNCD = Path(sys.executable).parent / "syncd"
CUSTOMERS, COMPANIES, INVALID, SEED = 300, 30, 0.05, 3
TENANT = "acme"


@dataclass
class OpsTenant:
    root: Path
    source_url: str
    state_url: str
    demo: DemoSource
    sandbox: SandboxProcess
    extra_env: dict[str, str]

    @property
    def folder(self) -> Path:
        """What ops pass as --config: the folder of tenant files."""
        return self.root / "tenants"

    @property
    def path(self) -> Path:
        return self.folder / f"{TENANT}.toml"

    def write_config(self) -> None:
        write_demo_config(
            self.path, self.source_url, self.sandbox.url, user=self.sandbox.user, state_url=self.state_url
        )

    def env(self) -> dict[str, str]:
        """The process environment without this machine's SYNCD_* (no daemon of the developer's)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}
        env.update(
            THULIUM_PASSWORD=self.sandbox.password,
            SYNCD_LOG_LEVEL="WARNING",
            SYNCD_VAR_DIR=str(self.root / "var"),
        )
        return {**env, **self.extra_env}

    def syncd(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """The console script in a real process."""
        return subprocess.run(
            [str(SYNCD), *args], capture_output=True, text=True, timeout=timeout, env=self.env(), check=False
        )

    def cli(self, *args: str, input: str | None = None) -> Result:
        """The same commands in this process (typer's runner), with the same environment."""
        unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("SYNCD_")}
        return CliRunner().invoke(app, list(args), input=input, env={**unset, **self.env()})

    def ok(self, *args: str, input: str | None = None) -> Result:
        result = self.cli(*args, input=input)
        assert result.exit_code == 0, f"exit {result.exit_code}: {result.output}"
        return result

    def failures(self, *, warnings: bool = False) -> dict[tuple[str, str], models.Failure]:
        """Every failure row of the tenant by (stream, key); with ``warnings``, the warnings instead."""
        engine = make_engine(self.state_url)
        try:
            with session_factory(engine)() as session:
                rows = session.scalars(select(models.Failure).where(models.Failure.tenant == TENANT))
                return {(f.stream, f.source_key): f for f in rows if (f.kind == "warning") == warnings}
        finally:
            engine.dispose()

    def runs(self) -> list[models.Run]:
        engine = make_engine(self.state_url)
        try:
            with session_factory(engine)() as session:
                query = select(models.Run).where(models.Run.tenant == TENANT).order_by(models.Run.id)
                return list(session.scalars(query))
        finally:
            engine.dispose()

    def state_sql(self, statement: str, **params: object) -> None:
        """Set up a situation in the state DB (e.g. age failures); never used to assert."""
        self._execute(self.state_url, statement, params)

    def source_sql(self, statement: str, **params: object) -> None:
        self._execute(self.source_url, statement, params)

    def _execute(self, url: str, statement: str, params: dict[str, object]) -> None:
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                conn.execute(text(statement), params)
        finally:
            engine.dispose()

    # -- what the demo broke, by how the sync reports it -------------------------------------------

    def invalid(self, stream: str, *problems: Invalid) -> set[str]:
        broken = self.demo.invalid_customers if stream == "customers" else self.demo.invalid_companies
        return {key for key, problem in broken.items() if not problems or problem in problems}

    def expected_kinds(self) -> dict[tuple[str, str], str]:
        """A duplicate NIP is refused by Thulium (permanent); every other broken row never leaves syncd."""
        kinds = {("customers", key): "rejected" for key in self.invalid("customers")}
        for key, problem in self.demo.invalid_companies.items():
            kinds["companies", key] = "permanent" if problem is Invalid.DUPLICATE_NIP else "rejected"
        return kinds


def synced_tenant(root: Path, sandbox: SandboxProcess, state_url: str | None = None) -> OpsTenant:
    """Generate the demo source and run a first `syncd sync` in a real process."""
    root.mkdir(parents=True, exist_ok=True)
    source_url = f"sqlite:///{root / 'source.sqlite'}"
    demo = generate_source(
        source_url, customers=CUSTOMERS, companies=COMPANIES, invalid_fraction=INVALID, seed=SEED
    )
    tenant = OpsTenant(root, source_url, state_url or f"sqlite:///{root / 'state.sqlite'}", demo, sandbox, {})
    tenant.write_config()
    done = tenant.syncd("sync", "--config", str(tenant.path))
    assert done.returncode == 2, done.stdout + done.stderr  # finished with the demo's broken rows
    return tenant


@pytest.fixture(scope="session")
def template_tenant(tmp_path_factory: pytest.TempPathFactory, sandbox_process: SandboxProcess) -> OpsTenant:
    sandbox_process.control.reset()
    return synced_tenant(tmp_path_factory.mktemp("ops-template"), sandbox_process)


@pytest.fixture
def ops_tenant(template_tenant: OpsTenant, tmp_path: Path) -> OpsTenant:
    """A private copy of the synced template (source and state DB); its sandbox may have moved on."""
    copy_sqlite(template_tenant.root, tmp_path, ("source.sqlite", "state.sqlite"))
    tenant = OpsTenant(
        tmp_path,
        f"sqlite:///{tmp_path / 'source.sqlite'}",
        f"sqlite:///{tmp_path / 'state.sqlite'}",
        template_tenant.demo,
        template_tenant.sandbox,
        {},
    )
    tenant.write_config()
    return tenant


@pytest.fixture
def fresh_tenant(tmp_path: Path, sandbox: SandboxProcess) -> OpsTenant:
    """Synced into a freshly reset sandbox, for tests that sync again."""
    return synced_tenant(tmp_path, sandbox)


def copy_sqlite(source: Path, target: Path, names: Sequence[str]) -> None:
    for name in names:
        for suffix in ("", "-wal", "-shm"):
            if (source / f"{name}{suffix}").exists():
                shutil.copy2(source / f"{name}{suffix}", target / f"{name}{suffix}")
