"""Shared fixtures: the sandbox (a real Thulium simulator over HTTP) and real state databases."""

pytest_plugins = ["tests.fixtures.sandbox", "tests.fixtures.databases"]
