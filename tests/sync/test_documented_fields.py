"""Issue 15: with every documented customer field mapped, a full reconcile over unchanged data writes nothing.

``GET customers`` does not return ``pesel``, ``job``, ``job_title``, ``note`` or ``vip``: a comparison that
counted them as emptied would "repair" every customer on every full run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Boolean, Column, DateTime, Integer, MetaData, String, Table, create_engine, insert

from syncd.engine.wallclock import wall_clock
from syncd.sandbox import SandboxProcess
from syncd.settings.fields import ADDRESS_FIELDS, ADDRESS_PARTS, CUSTOMER_FIELDS

SYNCD = Path(sys.executable).parent / "syncd"
ROWS = 30


def columns() -> dict[str, str]:
    """Thulium field → source column, for every field a customer write documents."""
    mapped = {name: name for name in sorted(CUSTOMER_FIELDS)}
    for address in sorted(ADDRESS_FIELDS):
        mapped.update({f"{address}.{part}": f"{address}_{part}" for part in sorted(ADDRESS_PARTS)})
    mapped["custom_fields.Segment"] = "segment"
    return mapped


def value(field: str, key: int) -> object:
    special: dict[str, object] = {
        "email": f"klient{key}@example.pl",
        "phone_number": f"600100{key:03d}",
        "birthdate": f"1980-01-{key % 28 + 1:02d}",
        "vip": key % 2 == 0,
        "gender": "female" if key % 2 else "male",
        "homepage": f"https://example.pl/{key}",
        "nip": f"{5260000000 + key}",
        "pesel": f"{80010100000 + key}",
        "custom_fields.Segment": "VIP" if key % 3 else "SMB",
    }
    return special.get(field, f"{field.split('.')[-1]} {key}")


def make_source(url: str) -> None:
    metadata = MetaData()
    fields = columns()
    table = Table(
        "clients",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("updated_at", DateTime, nullable=False),
        Column("deleted", Boolean, nullable=False),
        *(Column(col, Boolean if field == "vip" else String(200)) for field, col in fields.items()),
    )
    engine = create_engine(url)
    metadata.create_all(engine)
    rows = [
        {
            "id": key,
            "updated_at": wall_clock(2026, 11, 1, 8, 0, key),
            "deleted": False,
            **{col: value(field, key) for field, col in fields.items()},
        }
        for key in range(1, ROWS + 1)
    ]
    with engine.begin() as conn:
        conn.execute(insert(table), rows)
    engine.dispose()


def tenant_file(path: Path, source_url: str, sandbox: SandboxProcess, state_url: str) -> Path:
    mapping = "\n".join(f'"{field}" = "{col}"' for field, col in columns().items())
    path.write_text(
        f"""
[thulium]
url = "{sandbox.url}"
user = "{sandbox.user}"
password_env = "THULIUM_PASSWORD"

[source]
url = "{source_url}"

[state]
url = "{state_url}"

[customers]
table = "clients"
key = "id"
updated_at = "updated_at"
deleted = "deleted"

[customers.fields]
{mapping}
""",
        encoding="utf-8",
    )
    return path


def test_a_full_reconcile_of_unchanged_data_writes_nothing_with_every_field_mapped(
    tmp_path: Path, sandbox: SandboxProcess
) -> None:
    source_url = f"sqlite:///{tmp_path / 'source.sqlite'}"
    make_source(source_url)
    path = tenant_file(tmp_path / "all.toml", source_url, sandbox, f"sqlite:///{tmp_path / 'state.sqlite'}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}
    env.update(THULIUM_PASSWORD=sandbox.password, SYNCD_LOG_LEVEL="WARNING", SYNCD_VAR_DIR=str(tmp_path))

    def sync(*args: str) -> None:
        done = subprocess.run(
            [str(SYNCD), "sync", "--config", str(path), *args], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr

    sync()
    held = [c for c in sandbox.control.state()["customers"] if not c.get("company_flag")]
    assert len(held) == ROWS, "every field was sent"
    assert all(c["pesel"] and c["job_title"] for c in held), "every field was sent"
    writes = sandbox.control.counts()["writes"]
    sync("--full")
    assert sandbox.control.counts()["writes"] == writes, (
        "nothing to repair: what the reads leave out is not compared"
    )
