"""Shared fixtures: the sandbox (a real Thulium simulator over HTTP), real state databases, a real Redis."""

pytest_plugins = ["tests.fixtures.sandbox", "tests.fixtures.databases", "tests.fixtures.redis"]
