"""Load a tenant file into a ready-to-use Tenant, or fail with file, key and expectation.

Secrets are resolved here, once, at start: a missing password must stop the process
before it contacts anything, and the resolved value never goes back into a model dump.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError
from pydantic_core import ErrorDetails

from syncd.settings.errors import ConfigError, ConfigProblem, KeyedProblems
from syncd.settings.process import ProcessSettings
from syncd.settings.tenant import TenantFile


@dataclass(frozen=True)
class Tenant:
    """A validated tenant file with its secrets resolved."""

    name: str
    path: Path
    config: TenantFile
    thulium_password: SecretStr
    source_url: SecretStr
    state_url: str
    webhook_password: SecretStr | None = None
    wolkvox_token: SecretStr | None = None
    analytics_url: SecretStr | None = None  # None: the activity tables go to the source database


def load_tenant(
    path: Path, settings: ProcessSettings | None = None, env: Mapping[str, str] | None = None
) -> Tenant:
    settings = settings or ProcessSettings()
    env = os.environ if env is None else env
    config = parse_tenant_file(path)
    problems: list[ConfigProblem] = []
    password = _resolve_password(config, settings, env, problems)
    source_url = _resolve_source_url(config, env, problems)
    webhook_password = _resolve_webhook_password(config, settings, env, problems)
    wolkvox_token = _resolve_wolkvox_token(config, settings, env, problems)
    analytics_url = _resolve_analytics_url(config, env, problems)
    if problems:
        raise ConfigError(path, problems)
    return Tenant(
        path.stem,
        path,
        config,
        SecretStr(password),
        SecretStr(source_url),
        state_url_of(config, settings),
        None if webhook_password is None else SecretStr(webhook_password),
        None if wolkvox_token is None else SecretStr(wolkvox_token),
        None if analytics_url is None else SecretStr(analytics_url),
    )


def state_url_of(config: TenantFile, settings: ProcessSettings) -> str:
    """The tenant file's [state] url, else the process default."""
    return config.state.url if config.state else settings.default_state_url()


def load_tenants(directory: Path, settings: ProcessSettings | None = None) -> list[Tenant]:
    files = sorted(p for p in directory.glob("*.toml") if p.stem != "example")
    if not files:
        raise ConfigError(directory, [ConfigProblem("*.toml", "no tenant files found in this directory")])
    return [load_tenant(p, settings) for p in files]


def parse_tenant_file(path: Path) -> TenantFile:
    try:
        content = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, [ConfigProblem("(file)", "not found")]) from None
    return parse_tenant_text(content, path)


def parse_tenant_text(content: str, path: Path) -> TenantFile:
    """A tenant file's text, checked as the file at ``path`` would be (``syncd init`` checks what it is about
    to write, before it writes)."""
    try:
        raw = tomllib.loads(content)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, [ConfigProblem("(syntax)", f"not valid TOML: {exc}")]) from None
    try:
        return TenantFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(path, [p for err in exc.errors() for p in _problems(err)]) from None


def _problems(err: ErrorDetails) -> list[ConfigProblem]:
    key = ".".join(str(part) for part in err["loc"]) or "(top level)"
    cause = err.get("ctx", {}).get("error")
    if isinstance(cause, KeyedProblems):
        return [ConfigProblem(f"{key}.{p.key}" if err["loc"] else p.key, p.problem) for p in cause.problems]
    return [ConfigProblem(key, _describe(err))]


def _describe(err: ErrorDetails) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown key (check the spelling against config/example.toml)"
    if kind == "missing":
        return "missing: this key is required"
    message = err["msg"].removeprefix("Value error, ")
    if kind == "value_error":
        return message
    expectation = message.removeprefix("Input should be ")
    return f"expected {expectation}; got {_shown(err['input'])}"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _resolve_password(
    config: TenantFile, settings: ProcessSettings, env: Mapping[str, str], problems: list[ConfigProblem]
) -> str:
    section = config.thulium
    return _secret("thulium", section.password_env, section.password_file, settings, env, problems)


def _resolve_webhook_password(
    config: TenantFile, settings: ProcessSettings, env: Mapping[str, str], problems: list[ConfigProblem]
) -> str | None:
    section = config.webhooks
    if section is None:
        return None
    return _secret("webhooks", section.password_env, section.password_file, settings, env, problems)


def _resolve_wolkvox_token(
    config: TenantFile, settings: ProcessSettings, env: Mapping[str, str], problems: list[ConfigProblem]
) -> str | None:
    section = config.activity.wolkvox_chats if config.activity else None
    if section is None:
        return None
    prefix, token_env, token_file = "activity.wolkvox_chats", section.token_env, section.token_file
    return _secret(prefix, token_env, token_file, settings, env, problems, name="token")


def _resolve_analytics_url(
    config: TenantFile, env: Mapping[str, str], problems: list[ConfigProblem]
) -> str | None:
    activity = config.activity
    if activity is None or (activity.analytics_url is None and activity.analytics_url_env is None):
        return None
    return _url(
        "activity.analytics_url_env", activity.analytics_url, activity.analytics_url_env, env, problems
    )


def _secret(
    prefix: str,
    password_env: str | None,
    password_file: str | None,
    settings: ProcessSettings,
    env: Mapping[str, str],
    problems: list[ConfigProblem],
    name: str = "password",
) -> str:
    if password_env is not None:
        value = env.get(password_env, "")
        if not value:
            problems.append(ConfigProblem(f"{prefix}.{name}_env", unset(password_env, env)))
        return value
    assert password_file is not None
    return _read_secret_file(password_file, settings, f"{prefix}.{name}_file", problems)


def _resolve_source_url(config: TenantFile, env: Mapping[str, str], problems: list[ConfigProblem]) -> str:
    return _url("source.url_env", config.source.url, config.source.url_env, env, problems)


def _url(
    key: str, url: str | None, url_env: str | None, env: Mapping[str, str], problems: list[ConfigProblem]
) -> str:
    """A database URL given in the file, or (it may hold a password) named by a variable."""
    if url is not None:
        return url
    assert url_env is not None
    value = env.get(url_env, "")
    if not value:
        problems.append(ConfigProblem(key, unset(url_env, env)))
    return value


def unset(variable: str, env: Mapping[str, str]) -> str:
    """An empty variable is a different mistake from a missing one (an `export X=` in a script, a secret
    store that handed over nothing): say which it is."""
    if variable in env:
        return f"environment variable {variable} is set but empty"
    return f"environment variable {variable} is not set"


def _read_secret_file(name: str, settings: ProcessSettings, key: str, problems: list[ConfigProblem]) -> str:
    path = Path(name)
    if not path.is_absolute() and settings.secrets_dir is not None:
        path = settings.secrets_dir / path
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        problems.append(ConfigProblem(key, f"cannot read secret file {path}: {exc.strerror}"))
        return ""
    if not value:
        problems.append(ConfigProblem(key, f"secret file {path} is empty"))
    return value
