"""Which tenants a deployment serves: one tenant file, or every file in a folder.

A daemon must keep serving its good tenants when one file is broken, so discovery returns
the problems next to the tenants instead of stopping at the first one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from syncd.settings.errors import ConfigError, ConfigProblem
from syncd.settings.loader import Tenant, load_tenant, parse_tenant_file, state_url_of
from syncd.settings.process import ProcessSettings
from syncd.settings.tenant import TenantFile


@dataclass(frozen=True)
class TenantRef:
    """What ops commands need of a tenant: no secrets, so status and resync never read them."""

    name: str
    path: Path
    state_url: str
    config: TenantFile


def tenant_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.glob("*.toml") if p.stem != "example")
        if files:
            return files
        raise ConfigError(path, [ConfigProblem("*.toml", "no tenant files found in this directory")])
    raise ConfigError(path, [ConfigProblem("path", "no such tenant file or directory")])


def discover_tenants(path: Path, settings: ProcessSettings) -> tuple[list[Tenant], list[ConfigError]]:
    tenants: list[Tenant] = []
    problems: list[ConfigError] = []
    for file in tenant_files(path):
        try:
            tenants.append(load_tenant(file, settings))
        except ConfigError as exc:
            problems.append(exc)
    return tenants, problems


def tenant_file(name: str, path: Path) -> Path:
    for file in tenant_files(path):
        if file.stem == name:
            return file
    raise ConfigError(path, [ConfigProblem("tenant", f"no tenant file named {name}.toml is served here")])


def find_tenant(name: str, path: Path, settings: ProcessSettings) -> Tenant:
    return load_tenant(tenant_file(name, path), settings)


def tenant_ref(file: Path, settings: ProcessSettings) -> TenantRef:
    config = parse_tenant_file(file)
    return TenantRef(file.stem, file, state_url_of(config, settings), config)


def tenant_refs(path: Path, settings: ProcessSettings) -> list[TenantRef]:
    return [tenant_ref(file, settings) for file in tenant_files(path)]
