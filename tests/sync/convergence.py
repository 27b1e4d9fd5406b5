"""Compare what Thulium holds with what the source says it should hold.

Reads Thulium through its API (what a user would see) and the source through the same
reader and normaliser the sync uses, and counts lost, duplicated, stale and unexpected
records — the figures every convergence test asserts on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, text

from syncd.app.runtime import stream_spec
from syncd.engine.crm.compare import differs
from syncd.engine.crm.normalize import Normalized, normalize
from syncd.engine.crm.plan import StreamSpec, clearing_payload, company_key_of
from syncd.sandbox import SandboxProcess
from syncd.settings import Tenant
from syncd.settings.tenant import CampaignRule
from syncd.source import SqlSource
from syncd.state.db import make_engine
from syncd.thulium import RetryPolicy, ThuliumClient
from syncd.thulium.crm import ThuliumCrm


@dataclass
class StreamFigures:
    expected: int = 0
    held: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    detached: list[str] = field(default_factory=list)  # keys held without the company they name

    @property
    def exact(self) -> bool:
        return not (self.lost or self.duplicated or self.stale or self.unexpected)

    def summary(self) -> dict[str, Any]:
        return {
            "expected": self.expected,
            "held": self.held,
            "lost": len(self.lost),
            "duplicated": len(self.duplicated),
            "stale": len(self.stale),
            "unexpected": len(self.unexpected),
        }


def patient_client(sandbox: SandboxProcess) -> ThuliumClient:
    """A client that waits out whatever faults a test left behind, so the check reads the truth."""
    return ThuliumClient(
        sandbox.url,
        sandbox.user,
        sandbox.password,
        retry=RetryPolicy(max_attempts=8, base_delay=0.05, max_backoff=0.5),
    )


def converge_check(
    tenant: Tenant, client: ThuliumClient, invalid: dict[str, set[str]] | None = None
) -> dict[str, StreamFigures]:
    """``invalid``: per stream, keys known to be unacceptable to Thulium (e.g. a duplicate NIP)."""
    invalid = invalid or {}
    engine = make_engine(tenant.source_url.get_secret_value())
    source = SqlSource.for_tenant(engine, tenant.config)
    crm = ThuliumCrm(client)
    figures: dict[str, StreamFigures] = {}
    company_ids: dict[str, int] = {}
    try:
        for stream in [name for name in ("companies", "customers") if getattr(tenant.config, name)]:
            spec = stream_spec(tenant, stream)
            remote = list(crm.scan(stream))
            by_identifier: dict[str, list[Any]] = {}
            for record in remote:
                by_identifier.setdefault(record.identifier, []).append(record)
            expected, detached = _expected(source, spec, stream, invalid.get(stream, set()), company_ids)
            found = _compared(spec, expected, remote, by_identifier, detached)
            if stream == "companies":
                company_ids = {
                    i[len(spec.identifier_prefix) :]: r[0].thulium_id for i, r in by_identifier.items()
                }
            else:
                identifiers = {r.thulium_id: r.identifier for r in remote}
                for rule in tenant.config.campaigns:
                    name = f"campaign:{rule.outbound_id}"
                    figures[name] = campaign_figures(engine, client, rule, spec, expected, identifiers)
            figures[stream] = found
    finally:
        engine.dispose()
    return figures


def _expected(
    source: SqlSource, spec: StreamSpec, stream: str, invalid: set[str], company_ids: Mapping[str, int]
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Per identifier, the payload Thulium should hold; and the keys whose company is not in Thulium."""
    expected: dict[str, dict[str, Any]] = {}
    detached: list[str] = []
    for row in [*source.read_changed(stream, None), *source.read_ahead(stream)]:
        if row.deleted or row.key in invalid:
            continue
        result = normalize(row, spec.fields, spec.kind)
        if not isinstance(result, Normalized):
            continue
        payload = dict(result.payload, identifier=spec.identifier(row.key))
        if spec.company_key is not None and (company := company_key_of(row, spec.company_key)):
            if company in company_ids:
                payload["company_id"] = company_ids[company]
            else:
                detached.append(row.key)  # its company is not in Thulium: held without one
        expected[spec.identifier(row.key)] = payload
    return expected, detached


def _compared(
    spec: StreamSpec,
    expected: dict[str, dict[str, Any]],
    remote: list[Any],
    by_identifier: dict[str, list[Any]],
    detached: list[str],
) -> StreamFigures:
    found = StreamFigures(expected=len(expected), held=len(remote), detached=sorted(detached))
    counts = Counter(r.identifier for r in remote)
    found.duplicated = sorted(i for i, n in counts.items() if n > 1 and i)
    found.unexpected = sorted(i for i in counts if i not in expected)
    for identifier, payload in expected.items():
        records = by_identifier.get(identifier)
        if not records:
            found.lost.append(identifier)
        elif differs(clearing_payload(payload, spec), records[0].fields, records[0].read):
            found.stale.append(identifier)
    return found


def campaign_figures(
    engine: Engine,
    client: ThuliumClient,
    rule: CampaignRule,
    spec: StreamSpec,
    customers: Mapping[str, object],
    identifiers: Mapping[int, str],
) -> StreamFigures:
    """A rule's keys whose customer belongs in Thulium, against the campaign's records (by identifier)."""
    with engine.connect() as connection:
        rows = connection.execute(text(rule.query), {"outbound_id": rule.outbound_id}).mappings()
        wanted = {spec.identifier(str(row["key"])) for row in rows}
    expected = {identifier for identifier in wanted if identifier in customers}
    records = list(client.campaign_records.iter(rule.outbound_id))
    held = Counter(identifiers.get(r.customer_id, f"customer {r.customer_id}") for r in records)
    return StreamFigures(
        expected=len(expected),
        held=len(records),
        lost=sorted(expected - set(held)),
        duplicated=sorted(i for i, n in held.items() if n > 1),
        unexpected=sorted(set(held) - expected),
    )


def assert_exact(figures: dict[str, StreamFigures]) -> None:
    problems = {stream: f.summary() for stream, f in figures.items() if not f.exact}
    examples = {s: (f.lost[:3], f.duplicated[:3], f.stale[:3], f.unexpected[:3]) for s, f in figures.items()}
    assert not problems, f"not converged: {problems}; examples (lost, dup, stale, unexpected): {examples}"
