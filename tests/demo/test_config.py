"""The demo tenant file loads with the real tenant-file loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.demo import write_demo_config
from syncd.settings.loader import parse_tenant_file


def test_demo_config_is_a_valid_tenant_file(tmp_path: Path) -> None:
    path = write_demo_config(
        tmp_path / "config" / "demo.toml",
        'sqlite:///C:\\odd "path"/source.sqlite',
        "http://127.0.0.1:8765/api",
        state_url="sqlite:///var/state.sqlite",
    )
    config = parse_tenant_file(path)
    assert config.source.url == 'sqlite:///C:\\odd "path"/source.sqlite'
    assert config.thulium.password_env == "THULIUM_PASSWORD"
    assert config.thulium.password_file is None
    assert config.state is not None
    assert config.state.url == "sqlite:///var/state.sqlite"
    assert config.customers is not None
    assert config.customers.company_key == "company_id"
    assert [c.outbound_id for c in config.campaigns] == ["00001", "00002"]
    assert "password =" not in path.read_text()


def test_demo_config_without_state_or_campaigns(tmp_path: Path) -> None:
    config = parse_tenant_file(
        write_demo_config(tmp_path / "t.toml", "sqlite:///s.sqlite", "http://x/api", campaigns=())
    )
    assert config.state is None
    assert config.campaigns == []


def test_campaign_ids_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="a campaign id is five digits"):
        write_demo_config(tmp_path / "t.toml", "sqlite:///s.sqlite", "http://x/api", campaigns=["1'; --"])
