"""Property-based: random interleavings of source changes, sync runs, injected faults and agents' edits.

A hypothesis ``RuleBasedStateMachine`` drives the pure engine (``StreamRun``) over the in-memory fakes of
``tests/engine/fakes.py``, both streams (companies, then customers that point at them):

- the source: insert, update, soft delete, hard delete, make a row invalid, make it valid again;
- sync steps: incremental or full, one stream or both, and dry runs (which must write nothing anywhere);
- faults, scripted per record so they hit the same items whatever order the concurrent calls run in:
  503 and 429 items (not applied), lost answers after the item was applied and before it was, a failed
  lookup, the process dying before or after Thulium applied a call, the state DB refusing a commit, the
  source or Thulium's scan failing mid-run; and time passing, so parked retries fall due;
- agents editing and deleting synced records in Thulium.

After every step no identifier is held twice. After quiescence (faults off, time for parked retries, then an
incremental and a full run of both streams) Thulium equals the source: every valid live row is held once with
the fields it should have, nothing else is, every link points at its record, the open failures are exactly the
rows that cannot be synced (invalid, or waiting for a company that cannot be), and one more full run writes
nothing. A row that became invalid after it was synced keeps its last good record (its failure is open for a
human), so the check tolerates at most one record for it.
"""

from __future__ import annotations

import copy
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from syncd.app.runtime import TenantRuntime
from syncd.app.sync import sync_tenant
from syncd.demo import generate_source, mutate, write_demo_config
from syncd.engine.crm.normalize import Normalized, normalize
from syncd.engine.crm.options import RunOptions
from syncd.engine.crm.plan import StreamSpec, company_key_of
from syncd.engine.crm.run import StreamRun
from syncd.engine.ports import CrmResult, Payload, RemoteRecord
from syncd.engine.records import Position, SourceRow
from syncd.engine.resolve import ItemStatus
from syncd.sandbox import SandboxProcess
from syncd.sandbox.thulium.readings import PROFILES
from syncd.settings import ProcessSettings, load_tenant
from syncd.source import SqlSource
from syncd.state import migrate
from syncd.state.db import make_engine, session_factory
from syncd.state.members import MemberStore
from syncd.state.repository import StateStore
from syncd.thulium import RetryPolicy, ThuliumClient, Timeouts
from syncd.thulium.campaigns import ThuliumCampaigns
from syncd.thulium.crm import ThuliumCrm
from tests.engine.fakes import Crash, FakeClock, FakeCrm, FakeSource, FakeStore
from tests.faults.figures import assert_passed, measure
from tests.sync.convergence import patient_client
from tests.waiting import HEAVY

COMPANY_KEYS = ("c1", "c2")
CUSTOMER_KEYS = ("1", "2", "3")
MISSING_COMPANY = "c9"  # never in the source: a customer pointing at it is rejected

COMPANIES = StreamSpec("companies", "company", {"name": "name", "phone_number": "phone"})
CUSTOMERS = StreamSpec(
    "customers",
    "customer",
    {"surname": "last", "name": "first", "email": "email", "phone_number": "phone", "address.city": "city"},
    company_key="company",
)
OPTIONS = RunOptions(
    batch_size=3, max_in_flight=2, page_size=4, item_attempts=3, item_backoff=0.0, force=True
)
STREAMS = {"both": ("companies", "customers"), "companies": ("companies",), "customers": ("customers",)}

SURNAMES = ("Nowak", " Kowalska ", "Wiśniewski")
FIRST_NAMES = (None, "Anna", "Jan ")
EMAILS = (None, "Jan@Example.PL", "a@b.pl; c@d.pl")
PHONES = (None, "600 100 200", "+48 601-000-001", "600100200, 0048 700 000 000")
CITIES = (None, "Gdańsk", "")
COMPANY_NAMES = ("ACME", " Hurtownia Nowak sp. z o.o. ", "Zakład")
# One broken field each; the rest of the row stays as it was.
BREAKS: dict[str, dict[str, dict[str, Any]]] = {
    "customers": {
        "surname": {"last": "  "},
        "phone": {"phone": "12ab"},
        "email": {"email": "jan@@example.pl"},
        "company": {"company": MISSING_COMPANY},
    },
    "companies": {"name": {"name": None}, "phone": {"phone": "tel. 600 abc"}},
}
AGENT_EDITS: dict[str, dict[str, Any]] = {
    "customers": {"surname": "Changed by an agent", "phone_number": "999888777", "email": ""},
    "companies": {"name": "Renamed by an agent", "phone_number": "111222333"},
}

# Per item: 503 / 429 (not applied), the answer lost after or before Thulium applied it, or the process
# killed before the call that carries it is sent or after Thulium applied that call.
Fault = Literal["503", "429", "lost_applied", "lost_unapplied", "killed_before", "killed_after"]
FAULTS: tuple[Fault, ...] = ("503", "429", "lost_applied", "lost_unapplied", "killed_before", "killed_after")
CRASHES = ("killed_before", "killed_after")
STOPPED = ("503", "429", "lost_unapplied")  # faults that keep an item from being applied


class FaultyCrm:
    """The engine's ``Crm`` over a ``FakeCrm``, with faults scripted per record.

    ``script[(stream, identifier)]`` lists the faults the next operations on that record meet, one each
    (a lookup by identifier counts as an operation: any fault makes it fail). Keying faults by record
    rather than by call order keeps an example reproducible although calls run on worker threads. The
    fake itself is not thread-safe, so every call into it holds one lock.
    """

    def __init__(self, inner: FakeCrm, company_batch: int = 1) -> None:
        self.inner = inner
        self.company_batch = company_batch
        self.script: dict[tuple[str, str], list[Fault]] = {}
        self.scan_fails = False
        self.lock = threading.RLock()

    def max_batch(self, stream: str) -> int:
        return self.company_batch if stream == "companies" else self.inner.batch

    # -- faults --------------------------------------------------------------------------------------
    def take(self, stream: str, identifier: str | None) -> Fault | None:
        faults = self.script.get((stream, identifier or ""))
        return faults.pop(0) if faults else None

    def take_crash(self, stream: str, identifiers: Sequence[str | None]) -> Fault | None:
        """A call dies when any of its records is scripted to die next."""
        for identifier in identifiers:
            faults = self.script.get((stream, identifier or ""))
            if faults and faults[0] in CRASHES:
                return faults.pop(0)
        return None

    def identifier_of(self, thulium_id: int) -> str | None:
        record = self.inner.records.get(thulium_id)
        return None if record is None else str(record[1].get("identifier"))

    def apply(
        self,
        stream: str,
        identifiers: Sequence[str | None],
        items: Sequence[Any],
        send: Callable[[list[Any]], list[CrmResult]],
    ) -> list[CrmResult]:
        """Send the items no fault stops, then put the faults' answers in place of theirs."""
        with self.lock:
            crash = self.take_crash(stream, identifiers)
            if crash == "killed_before":
                raise Crash(f"killed before sending {stream}")
            faults = [self.take(stream, identifier) for identifier in identifiers]
            forward = [i for i, fault in enumerate(faults) if fault not in STOPPED]
            answers = iter(send([items[i] for i in forward]) if forward else [])
            results: list[CrmResult] = []
            for fault in faults:
                answer = None if fault in STOPPED else next(answers)
                if answer is not None and fault is None:
                    results.append(answer)
                elif fault in ("503", "429"):
                    results.append(CrmResult(ItemStatus(int(fault), message=f"HTTP {fault}")))
                else:  # lost before or after applying, or a crash scripted behind another one
                    results.append(CrmResult(ItemStatus(None, message="outcome unknown")))
            if crash == "killed_after":
                raise Crash(f"killed after Thulium applied {stream}")
            return results

    # -- the Crm protocol ----------------------------------------------------------------------------
    def create(self, stream: str, payloads: Sequence[Payload]) -> list[CrmResult]:
        identifiers = [str(p.get("identifier")) for p in payloads]
        return self.apply(stream, identifiers, payloads, lambda items: self.inner.create(stream, items))

    def update(self, stream: str, changes: Sequence[tuple[int, Payload]]) -> list[CrmResult]:
        identifiers = [str(p.get("identifier")) for _, p in changes]
        return self.apply(stream, identifiers, changes, lambda items: self.inner.update(stream, items))

    def delete(self, stream: str, thulium_ids: Sequence[int]) -> list[CrmResult]:
        with self.lock:
            identifiers = [self.identifier_of(thulium_id) for thulium_id in thulium_ids]
            return self.apply(
                stream, identifiers, thulium_ids, lambda items: self.inner.delete(stream, items)
            )

    def find(self, stream: str, identifier: str) -> list[RemoteRecord]:
        with self.lock:
            if self.take_crash(stream, [identifier]) is not None:
                raise Crash(f"killed while looking up {stream}")
            if self.take(stream, identifier) is not None:
                raise ConnectionError("lookup by identifier failed")
            return self.inner.find(stream, identifier)

    def settle(
        self, stream: str, identifiers: Sequence[str], floor: int | None
    ) -> dict[str, list[RemoteRecord]]:
        """One read for the batch; any record of it scripted to fail or die fails the read."""
        with self.lock:
            if self.take_crash(stream, identifiers) is not None:
                raise Crash(f"killed while settling {stream}")
            if any([self.take(stream, identifier) is not None for identifier in identifiers]):
                raise ConnectionError("reading the newest records failed")
            return self.inner.settle(stream, identifiers, floor)

    def scan(self, stream: str) -> Iterator[RemoteRecord]:
        with self.lock:
            if self.scan_fails:
                self.scan_fails = False
                raise ConnectionError("Thulium's list endpoint failed mid-scan")
            return iter(list(self.inner.scan(stream)))


class FlakySource:
    """The fake source, whose next full or incremental read may fail after ``fail_after`` rows."""

    def __init__(self, inner: FakeSource) -> None:
        self.inner = inner
        self.fail_after: int | None = None

    def read_changed(self, stream: str, after: Position | None) -> Iterator[SourceRow]:
        fail_after, self.fail_after = self.fail_after, None
        for count, row in enumerate(self.inner.read_changed(stream, after)):
            if fail_after is not None and count >= fail_after:
                raise ConnectionError("source database went away mid-read")
            yield row

    def read_keys(self, stream: str, keys: Any) -> list[SourceRow]:
        return self.inner.read_keys(stream, keys)

    def read_ahead(self, stream: str) -> Iterator[SourceRow]:
        return self.inner.read_ahead(stream)


RunError = (Crash, ConnectionError)  # what the injected faults raise; anything else fails the test


class World:
    """Source, state DB, Thulium and clock, and the runs and checks over them (shared with plain tests)."""

    def __init__(self, prefix: str = "") -> None:
        self.specs = {
            "companies": replace(COMPANIES, identifier_prefix=prefix),
            "customers": replace(CUSTOMERS, identifier_prefix=prefix),
        }
        self.source, self.store, self.clock = FakeSource(), FakeStore(), FakeClock()
        self.thulium = FakeCrm()
        self.crm = FaultyCrm(self.thulium)
        self.reader = FlakySource(self.source)

    # -- runs ------------------------------------------------------------------------------------
    def run(self, stream: str, **changes: Any) -> dict[str, int]:
        options = replace(OPTIONS, **changes)
        spec = self.specs[stream]
        return StreamRun(spec, options, self.reader, self.store, self.crm, self.clock).run().counters

    def sync(self, streams: Sequence[str], *, full: bool = False) -> None:
        """Like `syncd sync`: the streams in order, until the process dies or a dependency fails."""
        try:
            for stream in streams:
                self.run(stream, full=full)
        except RunError:
            pass
        finally:
            self.store.fail_on_commit = None  # the state DB is back

    def faults_off(self) -> None:
        self.crm.script.clear()
        self.crm.scan_fails = False
        self.reader.fail_after = None
        self.store.fail_on_commit = None

    def quiesce(self) -> None:
        """Faults off, parked retries due, then an incremental and a full run of every stream."""
        self.faults_off()
        self.clock.sleep(OPTIONS.park_for.total_seconds() + 1)
        for full in (False, True):
            for stream in STREAMS["both"]:
                self.run(stream, full=full)

    # -- what Thulium should hold ------------------------------------------------------------------
    def expected(self, stream: str) -> tuple[dict[str, dict[str, Any]], set[str], set[str]]:
        """(identifier -> payload of every row that must be held, identifiers that may be held (rows that
        cannot be synced now may keep their last good record), keys whose failure must be open)."""
        spec = self.specs[stream]
        company_links = self.store.links_by_stream.get("companies", {})
        want: dict[str, dict[str, Any]] = {}
        tolerated: set[str] = set()
        failing: set[str] = set()
        for key, row in self.source.tables.get(stream, {}).items():
            if row.deleted:
                continue
            identifier = spec.identifier(key)
            result = normalize(row, spec.fields, spec.kind)
            company = company_key_of(row, spec.company_key) if spec.company_key else None
            link = company_links.get(company) if company is not None else None
            if not isinstance(result, Normalized):
                tolerated.add(identifier)
                failing.add(key)
                continue
            payload = dict(result.payload, identifier=identifier)
            if link is not None:
                payload["company_id"] = link.thulium_id
            elif company is not None:
                failing.add(key)  # held without the company it names, and a warning says so
            want[identifier] = payload
        return want, tolerated, failing

    def held(self, stream: str) -> dict[str, list[tuple[int, dict[str, Any]]]]:
        found: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for thulium_id, (record_stream, payload) in self.thulium.records.items():
            if record_stream == stream:
                found.setdefault(str(payload.get("identifier")), []).append((thulium_id, payload))
        return found

    def assert_no_duplicates(self) -> None:
        for stream in STREAMS["both"]:
            twice = {i: [t for t, _ in r] for i, r in self.held(stream).items() if len(r) > 1}
            assert not twice, f"{stream}: identifiers held more than once: {twice}"

    def assert_mirrored(self) -> None:
        self.assert_no_duplicates()
        for stream in STREAMS["both"]:
            want, tolerated, failing = self.expected(stream)
            held = self.held(stream)
            lost = sorted(set(want) - set(held))
            unexpected = sorted(set(held) - set(want) - tolerated)
            stale = {
                i: (canonical(held[i][0][1]), canonical(p))
                for i, p in want.items()
                if i in held and canonical(held[i][0][1]) != canonical(p)
            }
            assert not lost, f"{stream}: lost {lost}"
            assert not unexpected, f"{stream}: unexpected {unexpected}"
            assert not stale, f"{stream}: stale (held, wanted) {stale}"
            links = self.store.links_by_stream.get(stream, {})
            prefix = self.specs[stream].identifier_prefix
            wrong = {
                k: (links[k].thulium_id if k in links else None, held[i][0][0])
                for i in want
                if (k := i[len(prefix) :]) not in links or links[k].thulium_id != held[i][0][0]
            }
            assert not wrong, f"{stream}: links not pointing at the held record (link, held): {wrong}"
            live = {k for k, row in self.source.tables.get(stream, {}).items() if not row.deleted}
            assert set(links) <= live, f"{stream}: links of rows gone from the source {set(links) - live}"
            failures = set(self.store.failure_kinds(stream))
            assert failures == failing, (
                f"{stream}: open failures {self.store.failure_kinds(stream)}, "
                f"expected exactly the rows that cannot be synced {sorted(failing)}"
            )

    def snapshot(self) -> Any:
        s = self.store
        return copy.deepcopy(
            (self.thulium.records, s.links_by_stream, s.failures, s.cursors, s.pending, s.commits)
        )


def canonical(value: Any) -> Any:
    """Empty values dropped at every level: Thulium keeps a field a PUT sends empty as absent."""
    if isinstance(value, dict):
        pairs = ((k, canonical(v)) for k, v in value.items() if k != "identifier")
        return {k: v for k, v in pairs if v not in (None, "", {}, [])}
    return value


# -- the state machine ----------------------------------------------------------------------------------

TARGETS = [("companies", k) for k in COMPANY_KEYS] + [("customers", k) for k in CUSTOMER_KEYS]
targets = st.sampled_from(TARGETS)
fault_scripts = st.dictionaries(
    targets, st.lists(st.sampled_from(FAULTS), min_size=1, max_size=3), min_size=1, max_size=4
)


@st.composite
def customer_values(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "last": draw(st.sampled_from(SURNAMES)),
        "first": draw(st.sampled_from(FIRST_NAMES)),
        "email": draw(st.sampled_from(EMAILS)),
        "phone": draw(st.sampled_from(PHONES)),
        "city": draw(st.sampled_from(CITIES)),
        "company": draw(st.sampled_from((None, *COMPANY_KEYS))),
    }


@st.composite
def company_values(draw: st.DrawFn) -> dict[str, Any]:
    return {"name": draw(st.sampled_from(COMPANY_NAMES)), "phone": draw(st.sampled_from(PHONES))}


class EngineMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.world = World()
        self.valid: dict[tuple[str, str], dict[str, Any]] = {}  # last valid values of each row

    @initialize(
        prefix=st.sampled_from(["", "crm-"]),
        companies=st.dictionaries(st.sampled_from(COMPANY_KEYS), company_values()),
        customers=st.dictionaries(st.sampled_from(CUSTOMER_KEYS), customer_values()),
    )
    def start(
        self, prefix: str, companies: dict[str, dict[str, Any]], customers: dict[str, dict[str, Any]]
    ) -> None:
        """Identifiers with or without a prefix (only a prefix lets a full reconcile spot orphans), and a
        first source."""
        self.world = World(prefix)
        for stream, rows in (("companies", companies), ("customers", customers)):
            for key, values in rows.items():
                self.valid[stream, key] = values
                self.put(stream, key, values)

    # -- the source --------------------------------------------------------------------------------
    def row(self, stream: str, key: str) -> SourceRow | None:
        return self.world.source.tables.get(stream, {}).get(key)

    def put(self, stream: str, key: str, values: dict[str, Any], deleted: bool = False) -> None:
        self.world.source.put(stream, key, deleted=deleted, **values)

    @rule(key=st.sampled_from(CUSTOMER_KEYS), values=customer_values())
    def upsert_customer(self, key: str, values: dict[str, Any]) -> None:
        self.valid["customers", key] = values
        self.put("customers", key, values)

    @rule(key=st.sampled_from(COMPANY_KEYS), values=company_values())
    def upsert_company(self, key: str, values: dict[str, Any]) -> None:
        self.valid["companies", key] = values
        self.put("companies", key, values)

    @rule(at=targets, data=st.data())
    def make_invalid(self, at: tuple[str, str], data: st.DataObject) -> None:
        stream, key = at
        row = self.row(stream, key)
        if row is None:
            return
        how = data.draw(st.sampled_from(sorted(BREAKS[stream])), label="how")
        self.put(stream, key, {**row.values, **BREAKS[stream][how]})

    @rule(at=targets)
    def make_valid_again(self, at: tuple[str, str]) -> None:
        if self.row(*at) is not None and at in self.valid:
            self.put(*at, self.valid[at])

    @rule(at=targets)
    def soft_delete(self, at: tuple[str, str]) -> None:
        row = self.row(*at)
        if row is not None and not row.deleted:
            self.put(*at, dict(row.values), deleted=True)

    @rule(at=targets)
    def hard_delete(self, at: tuple[str, str]) -> None:
        if self.row(*at) is not None:
            self.world.source.drop(*at)

    # -- sync steps ----------------------------------------------------------------------------------
    @rule(streams=st.sampled_from(sorted(STREAMS)), full=st.booleans())
    def sync(self, streams: str, full: bool) -> None:
        self.world.sync(STREAMS[streams], full=full)

    @rule(full=st.booleans())
    def dry_run_writes_nothing(self, full: bool) -> None:
        before = self.world.snapshot()
        try:
            for stream in STREAMS["both"]:
                self.world.run(stream, full=full, dry_run=True)
        except RunError:
            pass
        assert self.world.snapshot() == before, "a dry run wrote to Thulium or to the state DB"

    @rule()
    def time_passes(self) -> None:
        self.world.clock.sleep(OPTIONS.park_for.total_seconds() + 1)

    # -- faults --------------------------------------------------------------------------------------
    def arm(self, faults: dict[tuple[str, str], list[Fault]]) -> None:
        for (stream, key), script in faults.items():
            identifier = self.world.specs[stream].identifier(key)
            self.world.crm.script.setdefault((stream, identifier), []).extend(script)

    @rule(faults=fault_scripts)
    def item_faults(self, faults: dict[tuple[str, str], list[Fault]]) -> None:
        self.arm(faults)

    @rule(streams=st.sampled_from(sorted(STREAMS)), full=st.booleans(), faults=fault_scripts)
    def sync_under_faults(self, streams: str, full: bool, faults: dict[tuple[str, str], list[Fault]]) -> None:
        self.arm(faults)
        self.world.sync(STREAMS[streams], full=full)

    @rule(after=st.integers(1, 6))
    def state_db_fails(self, after: int) -> None:
        self.world.store.fail_on_commit = self.world.store.commits + after

    @rule(after=st.integers(0, 6))
    def source_read_fails(self, after: int) -> None:
        self.world.reader.fail_after = after

    @rule()
    def scan_fails(self) -> None:
        self.world.crm.scan_fails = True

    @rule()
    def faults_off(self) -> None:
        self.world.faults_off()

    # -- agents in Thulium -----------------------------------------------------------------------------
    def record_of(self, stream: str, key: str) -> int | None:
        identifier = self.world.specs[stream].identifier(key)
        records = self.world.held(stream).get(identifier, [])
        return records[0][0] if records else None

    @rule(at=targets, data=st.data())
    def agent_edits(self, at: tuple[str, str], data: st.DataObject) -> None:
        stream, key = at
        thulium_id = self.record_of(stream, key)
        if thulium_id is None:
            return
        field = data.draw(st.sampled_from(sorted(AGENT_EDITS[stream])), label="field")
        self.world.thulium.records[thulium_id][1][field] = AGENT_EDITS[stream][field]

    @rule(at=targets)
    def agent_deletes(self, at: tuple[str, str]) -> None:
        thulium_id = self.record_of(*at)
        if thulium_id is not None:
            del self.world.thulium.records[thulium_id]

    # -- checks --------------------------------------------------------------------------------------
    @invariant()
    def never_a_duplicate(self) -> None:
        self.world.assert_no_duplicates()

    @precondition(lambda self: bool(self.world.source.tables))
    @rule()
    def quiesce_then_mirror(self) -> None:
        self.check_quiescent()

    def check_quiescent(self) -> None:
        self.world.quiesce()
        self.world.assert_mirrored()
        writes = self.world.thulium.writes()
        self.world.run("companies", full=True)
        self.world.run("customers", full=True)
        assert self.world.thulium.writes() == writes, "a full run after convergence still wrote to Thulium"

    def teardown(self) -> None:
        self.check_quiescent()


EngineMachine.TestCase.settings = settings(
    max_examples=300,
    stateful_step_count=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestEngineMachine = EngineMachine.TestCase
TestEngineMachine.pytestmark = [HEAVY]  # type: ignore[attr-defined]  # 300 examples of 30 steps: minutes of CPU


# -- the same idea over HTTP: the real sandbox, a SQLite source and state DB ------------------------------

SANDBOX_FAULTS: tuple[dict[str, Any], ...] = (
    {"kind": "error", "probability": 0.1, "status": 503},
    {"kind": "item_unavailable", "path": "batch/customers", "item_probability": 0.2},
    {"kind": "lost_response", "method": "POST", "probability": 0.1},
    {"kind": "lost_response", "method": "PUT", "probability": 0.1},
    {"kind": "malformed_207", "probability": 0.1},
    {"kind": "partial_207", "probability": 0.1, "item_probability": 0.3},
    {"kind": "slow", "probability": 0.1, "delay_ms": 30},
)


class SandboxMachine(RuleBasedStateMachine):
    """A small demo tenant synced in-process (the CLI's ``sync_tenant``) against the sandbox: the demo's
    mutations, agents' edits and deletes, runs under random mixes of the sandbox's faults; then the
    convergence figures of ``tests/faults/figures.py`` must be exact."""

    sandbox: SandboxProcess  # set by the test before the machine runs
    profile: str = "default"  # how the sandbox reads what the vendor document leaves open

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="syncd-stateful-"))
        self.sandbox.control.reset()
        self.sandbox.control.use_profile(self.profile)
        self.source_url = f"sqlite:///{self.folder / 'source.sqlite'}"
        self.state_url = f"sqlite:///{self.folder / 'state.sqlite'}"
        self.demo = generate_source(self.source_url, customers=40, companies=6, invalid_fraction=0.1, seed=2)
        path = write_demo_config(
            self.folder / "acme.toml",
            self.source_url,
            self.sandbox.url,
            user=self.sandbox.user,
            state_url=self.state_url,
            campaigns=(),
        )
        with path.open("a") as tenant_file:
            tenant_file.write("\n[sync]\nbatch_size = 7\nmax_in_flight = 3\nitem_attempts = 3\n")
        env = {"THULIUM_PASSWORD": self.sandbox.password}
        self.tenant = load_tenant(path, ProcessSettings(), env=env)
        migrate.upgrade(self.state_url)
        self.deleted: set[str] = set()  # customer keys soft- or hard-deleted by mutations
        self.started = time.monotonic()

    def sync(self, *, full: bool) -> int:
        client = ThuliumClient(
            self.sandbox.url,
            self.sandbox.user,
            self.sandbox.password,
            timeouts=Timeouts(connect=2.0, read=2.0),
            retry=RetryPolicy(max_attempts=3, base_delay=0.01, max_backoff=0.05, max_total_delay=1.0),
        )
        source_engine = make_engine(self.source_url)
        state_engine = make_engine(self.state_url)
        sessions = session_factory(state_engine)
        crm = ThuliumCrm(client)
        campaigns = ThuliumCampaigns(client)
        runtime = TenantRuntime(
            self.tenant,
            SqlSource.for_tenant(source_engine, self.tenant.config),
            StateStore(sessions, self.tenant.name),
            client,
            crm,
            (source_engine, state_engine),
            MemberStore(sessions, self.tenant.name),
            campaigns,
        )
        try:
            return sync_tenant(runtime, full=full, force=True).exit_code
        finally:
            runtime.close()

    @rule(seed=st.integers(0, 10_000))
    def mutate_source(self, seed: int) -> None:
        change = mutate(
            self.source_url,
            seed=seed,
            updates=0.1,
            soft_deletes=0.05,
            hard_deletes=0.05,
            inserts=3,
            same_timestamp=2,
        )
        self.deleted.update(change.soft_deleted, change.hard_deleted)

    @rule(
        full=st.booleans(),
        faults=st.lists(st.sampled_from(SANDBOX_FAULTS), min_size=1, max_size=3, unique_by=str),
        seed=st.integers(0, 1000),
    )
    def sync_under_faults(self, full: bool, faults: list[dict[str, Any]], seed: int) -> None:
        self.sandbox.control.set_faults({"seed": seed, "rules": faults})
        try:
            # Exit 1 is allowed here: a run may abort under faults (a truncated GET body does), as long as
            # the runs after them converge.
            self.sync(full=full)
        finally:
            self.sandbox.control.clear_faults()

    @rule(index=st.integers(0, 1000), delete=st.booleans())
    def agent_changes_a_customer(self, index: int, delete: bool) -> None:
        customers = [c for c in self.sandbox.control.state()["customers"] if not c.get("company_flag")]
        if not customers:
            return
        customer_id = int(customers[index % len(customers)]["customer_id"])
        if delete:
            self.sandbox.control.agent_delete_customer(customer_id)
        else:
            self.sandbox.control.agent_edit_customer(customer_id, {"surname": "Changed by an agent"})

    def teardown(self) -> None:
        try:
            self.sandbox.control.clear_faults()
            assert self.sync(full=False) in (0, 2)
            assert self.sync(full=True) in (0, 2)
            invalid = {
                "companies": set(self.demo.invalid_companies),
                "customers": set(self.demo.invalid_customers) - self.deleted,
            }
            with patient_client(self.sandbox) as client:
                # not reported: one line per example would drown the scenarios' table
                figures = measure(
                    "stateful (sandbox)",
                    self.tenant,
                    client,
                    invalid,
                    self.state_url,
                    self.started,
                    report=False,
                )
            assert_passed(figures)
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


@HEAVY
@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_sandbox_machine(sandbox_process: SandboxProcess, profile: str) -> None:
    """The chaos rounds in small, under the kind and the unkind readings of the vendor document."""
    SandboxMachine.sandbox, SandboxMachine.profile = sandbox_process, profile
    try:
        run_state_machine_as_test(
            SandboxMachine,
            settings=settings(
                max_examples=8,
                stateful_step_count=6,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.explicit, Phase.reuse, Phase.generate],  # shrinking over HTTP takes minutes
            ),
        )
    finally:
        sandbox_process.control.reset()  # the session's sandbox goes back to its startup readings


# -- what the machine found, as plain regression tests --------------------------------------------------


def test_a_first_run_does_not_repair_into_a_duplicate_a_record_its_own_retry_phase_created() -> None:
    """Customers that waited for their company on a first run are created by the next run's retry phase;
    that run is still a first run (no customer link), so it holds a scan of Thulium taken before. A row
    among them that was also touched is re-read as changed, found unchanged, and was "repaired" as if an
    agent had deleted it: a second record (fixed in run.py: records this run linked are not repaired)."""
    world = World()
    world.source.put("companies", "c1", name="ACME")
    world.source.put("customers", "1", last="Nowak", company="c1")
    world.run("customers")  # its company is not in Thulium yet: waiting
    assert world.store.failure_kinds("customers") == {"1": "waiting"}
    world.source.put("customers", "1", last="Nowak", company="c1")  # touched, unchanged
    world.run("companies")
    world.run("customers")
    world.assert_no_duplicates()
    world.quiesce()
    world.assert_mirrored()


@pytest.mark.parametrize(
    "faults",
    [
        pytest.param(["killed_after"], id="killed-after-the-create-landed"),
        pytest.param(["lost_applied", "503", "503"], id="answer-lost-and-lookups-failed"),
    ],
)
def test_a_row_deleted_after_its_create_landed_unlinked_is_deleted_in_thulium(faults: list[Fault]) -> None:
    """The create reached Thulium but no link was written (the process died, or the answer was lost and
    the lookups failed until the row was parked): its key is pending. A soft delete of the row found no
    link and settled nothing in Thulium, leaving the record forever (fixed in plan.py/outcomes.py: such a
    delete looks the record up by identifier first)."""
    world = World()
    world.source.put("customers", "1", last="Nowak")
    world.crm.script["customers", "1"] = list(faults)
    world.sync(["customers"])
    assert world.held("customers"), "the create landed"
    assert "1" not in world.store.links_by_stream.get("customers", {})
    world.source.put("customers", "1", deleted=True, last="Nowak")
    world.clock.sleep(OPTIONS.park_for.total_seconds() + 1)
    world.run("customers")
    assert world.held("customers") == {}, "the incremental run deletes what the lost create left"
    world.quiesce()
    world.assert_mirrored()


def test_full_reconcile_deletes_a_record_whose_create_landed_unlinked_and_whose_row_is_gone() -> None:
    """As above with the row hard-deleted: only a full run can notice, and without an identifier prefix
    the record was no orphan to it (fixed in run.py: pending keys missing from the source are swept)."""
    world = World()
    world.source.put("customers", "1", last="Nowak")
    world.source.put("customers", "2", last="Kowalska")
    world.crm.script["customers", "1"] = ["killed_after"]
    world.sync(["customers"])
    world.source.drop("customers", "1")
    world.run("customers")
    assert "1" in world.held("customers"), "an incremental run cannot see a hard delete"
    counters = world.run("customers", full=True)
    assert counters["deleted"] == 1
    assert set(world.held("customers")) == {"2"}
    assert world.store.pending_keys("customers", {"1"}) == set()
    world.assert_mirrored()


def test_failure_of_a_hard_deleted_row_is_resolved_by_the_full_reconcile() -> None:
    """A rejected row hard-deleted from the source kept its open failure forever: the Store could not list
    open failures (fixed: Store.open_failure_keys; the full reconcile resolves the keys it did not see)."""
    world = World()
    world.source.put("customers", "1", last="  ")  # rejected: no surname
    world.run("customers")
    assert world.store.failure_kinds("customers") == {"1": "rejected"}
    world.source.drop("customers", "1")
    world.run("customers", full=True)
    assert world.store.failure_kinds("customers") == {}
