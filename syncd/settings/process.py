"""Process-wide settings, read from ``SYNCD_*`` environment variables.

They describe where this process runs (state DB, broker, config directory), not what a
tenant syncs; that lives in the tenant files so one daemon can serve many tenants.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
LogFormat = Literal["json", "console", "auto"]


class ProcessSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SYNCD_", extra="ignore")

    state_url: str | None = Field(
        default=None, description="State DB URL used when a tenant file has no [state] section."
    )
    broker_url: str | None = Field(
        default=None, description="Redis URL of the Celery broker; unset starts an embedded Redis."
    )
    log_level: LogLevel = "INFO"
    log_format: LogFormat = Field(
        default="auto",
        description="json: one JSON object a line (for log shippers); console: key=value, coloured on a "
        "terminal; auto: console when stderr is a terminal, else json.",
    )
    config_dir: Path = Field(
        default=Path("config"),
        description="The tenant file this deployment serves, or a folder of them (example.toml skipped).",
    )
    secrets_dir: Path | None = Field(
        default=None, description="Directory of secret files, looked up by name for *_file keys."
    )
    var_dir: Path = Field(default=Path("var"), description="Where default SQLite state files live.")
    # -- the daemon ------------------------------------------------------------------------
    visibility_timeout: float = Field(
        default=3600, gt=0, description="Seconds before Redis redelivers an unacknowledged task."
    )
    lock_ttl: float = Field(default=60, gt=0, description="Seconds a tenant lock lives without a heartbeat.")
    tick_seconds: float = Field(default=5, gt=0, description="How often beat asks which tenants are due.")
    max_deliveries: int = Field(
        default=3, ge=1, description="Deliveries of one job before it is dead-lettered as poison."
    )
    soft_shutdown_seconds: float = Field(
        default=30, ge=0, description="On SIGTERM, how long running tasks may finish before requeueing."
    )
    worker_concurrency: int = Field(default=4, ge=1, description="Tenant runs one worker carries at once.")
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="If set, the worker's main process serves its host's metrics on this port: for hosts "
        "that run workers but no `syncd web` (which serves /metrics).",
    )
    # -- the web process ---------------------------------------------------------------------
    health_user: str = Field(
        default="syncd", description="HTTP Basic user whose requests to /health get the details."
    )
    health_password: SecretStr | None = Field(
        default=None,
        description="Its password. Unset: /health says only ok/failing per check to everyone, and the "
        "details (state DB URLs, paths, tenant files, errors) are on the console only (`syncd status`, "
        "`syncd check`).",
    )

    # -- the console (`syncd web` at /) ------------------------------------------------------
    console_operator_user: str = Field(
        default="operator", description="HTTP Basic user of the console's operator role."
    )
    console_operator_password: SecretStr | None = Field(
        default=None, description="Its password: sees everything, may retry, resolve and resync."
    )
    console_viewer_user: str = Field(default="viewer", description="HTTP Basic user of the read-only role.")
    console_viewer_password: SecretStr | None = Field(
        default=None, description="Its password: sees everything, changes nothing."
    )
    console_operator_token: SecretStr | None = Field(
        default=None, description="A bearer token for the operator role (`Authorization: Bearer ...`)."
    )
    console_viewer_token: SecretStr | None = Field(
        default=None, description="A bearer token for the read-only role."
    )
    console_origin: str | None = Field(
        default=None,
        description="The console's address as browsers see it behind a proxy (https://syncd.example.com): "
        "a POST's Origin must be this. Unset: the scheme and Host the request came with.",
    )
    console_secret: SecretStr | None = Field(
        default=None,
        description="Key of the console's CSRF tokens; set the same on every web process behind one address "
        "(unset: a random key per process, so a form outlives no restart).",
    )

    def default_state_url(self) -> str:
        """The SQLite file used when neither the tenant file nor SYNCD_STATE_URL names a state DB."""
        if self.state_url:
            return self.state_url
        return f"sqlite:///{self.var_dir / 'state.sqlite'}"
