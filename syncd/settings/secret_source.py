"""A secret is named, never given: by an environment variable or by a file (under SYNCD_SECRETS_DIR)."""

from __future__ import annotations

import re

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_secret_source(env: str | None, file: str | None, name: str = "password") -> None:
    """Exactly one of ``<name>_env`` / ``<name>_file``, and the variable's name must be one."""
    if (env is None) == (file is None):
        raise ValueError(f"give exactly one of {name}_env (an environment variable name) or {name}_file")
    if env is not None and not ENV_NAME.match(env):
        raise ValueError(f"{name}_env must be an environment variable name, got {env!r}")
