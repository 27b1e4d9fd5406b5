"""The layer contracts name every package: a new one cannot slip past them by not being listed."""

import pkgutil
import tomllib
from pathlib import Path
from typing import Any

import syncd

ROOT = Path(__file__).resolve().parents[1]
SQL_LAYERS = {"syncd.state", "syncd.source", "syncd.demo"}
# The application layer builds every runtime; the adapters define what it builds; sandbox and demo: doubles.
BUILDERS = {
    "syncd.app",
    "syncd.state",
    "syncd.source",
    "syncd.thulium",
    "syncd.wolkvox",
    "syncd.broker",
    "syncd.sandbox",
    "syncd.demo",
}


def contract(name: str) -> dict[str, Any]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts: list[dict[str, Any]] = config["tool"]["importlinter"]["contracts"]
    found = [c for c in contracts if c["name"] == name]
    return found[0]


def packages() -> set[str]:
    return {f"syncd.{module.name}" for module in pkgutil.iter_modules(syncd.__path__)}


def test_sqlalchemy_is_forbidden_in_every_package_but_the_three_sql_layers() -> None:
    children = {f"syncd.{module.name}" for module in pkgutil.iter_modules(syncd.__path__)}
    sources = set(contract("SQLAlchemy only in the state, source and demo layers")["source_modules"])
    assert sources | SQL_LAYERS == children
    assert not sources & SQL_LAYERS


def test_every_package_but_the_builders_is_kept_from_the_constructors() -> None:
    sources = set(
        contract("Only the application layer builds state DBs, stores, engines and clients")["source_modules"]
    )
    assert sources | BUILDERS == packages()
    assert not sources & BUILDERS
