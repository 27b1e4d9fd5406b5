"""Tenant files: the shipped example loads, and every bad file names file, key and expectation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from syncd.settings import ConfigError, ProcessSettings, load_tenant, load_tenants

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example.toml"
ENV = {"THULIUM_PASSWORD": "s3cret"}


def write(tmp_path: Path, text: str, name: str = "acme.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def example_with(tmp_path: Path, old: str, new: str) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert re.search(old, text, flags=re.M), f"example.toml no longer contains {old!r}"
    return write(tmp_path, re.sub(old, new, text, count=1, flags=re.M))


def problems_of(path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_tenant(path, ProcessSettings(), env=ENV if env is None else env)
    assert all(line.startswith(f"{path}: ") for line in str(info.value).splitlines())
    return [f"{p.key}: {p.problem}" for p in info.value.problems]


def test_example_file_loads_with_the_documented_shape(tmp_path: Path) -> None:
    tenant = load_tenant(EXAMPLE, ProcessSettings(), env=ENV)
    config = tenant.config
    assert tenant.name == "example"
    assert tenant.thulium_password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(tenant)
    assert "s3cret" not in config.model_dump_json()
    assert config.customers is not None
    assert config.customers.fields["surname"] == "last_name"
    assert config.customers.fields["custom_fields.Segment"] == "segment"
    assert config.companies is not None
    assert config.companies.deleted == "deleted"
    assert config.campaigns[0].outbound_id == "00001"
    assert config.campaigns[0].remove_when_absent is True
    assert tenant.state_url == "sqlite:///var/state.sqlite"
    assert config.sync.batch_size == 100
    assert config.sync.max_in_flight == "auto"
    assert config.sync.max_in_flight_cap == 16
    assert config.sync.window == 16


def test_missing_surname_mapping(tmp_path: Path) -> None:
    path = example_with(tmp_path, r'^surname = "last_name".*$', "")
    assert problems_of(path) == [
        'customers.fields.surname: missing: Thulium requires surname; map it, e.g. surname = "last_name"'
    ]


def test_unknown_key(tmp_path: Path) -> None:
    path = example_with(tmp_path, r"^updated_at = ", "updatedat = ")
    found = problems_of(path)
    assert "companies.updatedat: unknown key (check the spelling against config/example.toml)" in found
    assert "companies.updated_at: missing: this key is required" in found


def test_wrong_type(tmp_path: Path) -> None:
    path = example_with(tmp_path, r"^# batch_size = 100", 'batch_size = "lots"')
    assert problems_of(path) == [
        "sync.batch_size: expected a valid integer, unable to parse string as an integer; got 'lots'"
    ]


def test_max_in_flight_is_auto_or_a_number(tmp_path: Path) -> None:
    fixed = example_with(tmp_path, r'^# max_in_flight = "auto"', "max_in_flight = 8")
    assert load_tenant(fixed, ProcessSettings(), env=ENV).config.sync.window == 8
    for bad in ('"fast"', "0", "33", "2.5", "true"):
        path = example_with(tmp_path, r'^# max_in_flight = "auto"', f"max_in_flight = {bad}")
        [problem] = problems_of(path)
        assert problem.startswith('sync.max_in_flight: expected "auto" or a whole number from 1 to 32; got')


def test_max_in_flight_cap_is_bounded_and_needs_auto(tmp_path: Path) -> None:
    path = example_with(tmp_path, r"^# max_in_flight_cap = 16", "max_in_flight_cap = 64")
    assert problems_of(path) == ["sync.max_in_flight_cap: expected less than or equal to 32; got 64"]
    path = example_with(tmp_path, r'^# max_in_flight = "auto"', "max_in_flight = 4\nmax_in_flight_cap = 8")
    assert problems_of(path) == [
        'sync: max_in_flight_cap bounds max_in_flight = "auto" only; drop it or set max_in_flight = "auto"'
    ]


def test_missing_password_variable(tmp_path: Path) -> None:
    assert problems_of(EXAMPLE, env={}) == [
        "thulium.password_env: environment variable THULIUM_PASSWORD is not set"
    ]


def test_empty_password_variable_is_called_empty_not_missing(tmp_path: Path) -> None:
    assert problems_of(EXAMPLE, env={"THULIUM_PASSWORD": ""}) == [
        "thulium.password_env: environment variable THULIUM_PASSWORD is set but empty"
    ]


def test_unknown_thulium_field_and_reserved_field(tmp_path: Path) -> None:
    path = example_with(
        tmp_path, r'^surname = "last_name"', 'surname = "last_name"\nsurnam = "x"\nidentifier = "id"'
    )
    found = problems_of(path)
    assert any(
        p.startswith("customers.fields.surnam: unknown Thulium field 'surnam' (expected one of")
        for p in found
    )
    assert "customers.fields.identifier: 'identifier' is set by syncd and cannot be mapped" in found


def test_campaign_id_must_be_five_digit_string(tmp_path: Path) -> None:
    path = example_with(tmp_path, r'^outbound_id = "00001"', "outbound_id = 1")
    assert problems_of(path) == ["campaigns.0.outbound_id: expected a valid string; got 1"]


def test_table_and_query_are_exclusive(tmp_path: Path) -> None:
    path = example_with(tmp_path, r'^table = "customers"', 'table = "customers"\nquery = "SELECT 1"')
    assert problems_of(path) == ["customers: give exactly one of table or query"]


def test_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[thulium\nurl = 1\n")
    [problem] = problems_of(path)
    assert problem.startswith("(syntax): not valid TOML:")


def test_password_from_secret_file(tmp_path: Path) -> None:
    (tmp_path / "acme_pw").write_text("from-file\n", encoding="utf-8")
    path = example_with(tmp_path, r'^password_env = "THULIUM_PASSWORD"', 'password_file = "acme_pw"')
    tenant = load_tenant(path, ProcessSettings(secrets_dir=tmp_path), env={})
    assert tenant.thulium_password.get_secret_value() == "from-file"
    (tmp_path / "acme_pw").unlink()
    assert problems_of(path, env={})[0].startswith("thulium.password_file: cannot read secret file")


def test_state_url_falls_back_to_process_settings(tmp_path: Path) -> None:
    path = example_with(tmp_path, r"^\[state\].*\nurl = .*$", "")
    tenant = load_tenant(path, ProcessSettings(state_url="postgresql://db/state"), env=ENV)
    assert tenant.state_url == "postgresql://db/state"
    tenant = load_tenant(path, ProcessSettings(var_dir=tmp_path), env=ENV)
    assert tenant.state_url == f"sqlite:///{tmp_path / 'state.sqlite'}"


def test_config_directory_loads_every_tenant_but_the_example(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THULIUM_PASSWORD", "x")
    for name in ("acme.toml", "globex.toml", "example.toml"):
        write(tmp_path, EXAMPLE.read_text(encoding="utf-8"), name)
    assert [t.name for t in load_tenants(tmp_path)] == ["acme", "globex"]


def test_read_windows_default_to_two_minutes_back_and_one_minute_of_clock_skew(tmp_path: Path) -> None:
    config = load_tenant(EXAMPLE, ProcessSettings(), env=ENV).config
    assert config.customers is not None
    assert (config.customers.lookback_seconds, config.customers.clock_skew_seconds) == (120, 60)
    path = example_with(tmp_path, r"^(\[customers\]\n)", r"\1clock_skew_seconds = -1\nlookback_seconds = 0\n")
    assert problems_of(path) == ["customers.clock_skew_seconds: expected greater than or equal to 0; got -1"]
