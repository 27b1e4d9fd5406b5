"""Process-wide settings, read from ``SYNCD_*`` environment variables.

They describe where this process runs (state DB, broker, config directory), not what a
tenant syncs; that lives in the tenant files so one daemon can serve many tenants.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class ProcessSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SYNCD_", extra="ignore")

    state_url: str | None = Field(
        default=None, description="State DB URL used when a tenant file has no [state] section."
    )
    broker_url: str | None = Field(
        default=None, description="Redis URL of the Celery broker; unset starts an embedded Redis."
    )
    log_level: LogLevel = "INFO"
    config_dir: Path = Path("config")
    secrets_dir: Path | None = Field(
        default=None, description="Directory of secret files, looked up by name for *_file keys."
    )
    var_dir: Path = Field(default=Path("var"), description="Where default SQLite state files live.")

    def default_state_url(self) -> str:
        """The SQLite file used when neither the tenant file nor SYNCD_STATE_URL names a state DB."""
        if self.state_url:
            return self.state_url
        return f"sqlite:///{self.var_dir / 'state.sqlite'}"
