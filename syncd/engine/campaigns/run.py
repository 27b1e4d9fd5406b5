"""One run of one campaign rule: poll outcomes, plan membership, apply it in batches.

The order matters. Outcomes are polled first (at most every ``poll_every``; each record about
to be changed is read again right before) so a record the dialer worked is known as worked
before anything is planned; removals go before additions so a key
whose customer was re-created leaves its old record before the new one joins. Every
campaign write is idempotent on Thulium's side (ALREADY_EXISTS, NOT_EXIST), so a batch
whose outcome is unknown is simply sent again — never looked up, never duplicated. An add
refused in words we do not recognise is decided by asking whether its customer still exists
(``Decision.VERIFY``): gone means a stale link to repair, present means Thulium's refusal stands.

Repairing a stale link takes a customers run, which is not this run's to start: ``steps()``
yields a ``StaleLinks`` value and waits for the re-linked customer ids; ``run_to_end`` drives the
steps with whatever re-links them (the application runs the customers stream).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from syncd.engine.campaigns.plan import CampaignPlan, Member, MemberOp, Placed, Rule, plan_campaign
from syncd.engine.campaigns.ports import CampaignCrm, CustomerLinks, Failures, Members, RuleSource, Writeback
from syncd.engine.campaigns.records import RecordState
from syncd.engine.campaigns.rows import RowRejected, parse_rule_rows
from syncd.engine.counters import Tally
from syncd.engine.ports import Clock, Commit, CrmResult, FailureRecord
from syncd.engine.resolve import Decision, Operation, decide, verified
from syncd.vocabulary import FailureKind

T = TypeVar("T")
PREVIEW_ROWS = 5


@dataclass(slots=True)
class CampaignCounters(Tally):
    wanted: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    kept: int = 0
    waiting: int = 0
    rejected: int = 0
    failed: int = 0
    retried: int = 0
    skipped: int = 0
    polled: int = 0
    vanished: int = 0
    verified: int = 0


@dataclass(frozen=True, slots=True)
class CampaignOptions:
    full: bool = False
    dry_run: bool = False
    batch_size: int = 100
    max_in_flight: int = 4
    item_attempts: int = 5
    park_for: timedelta = timedelta(minutes=5)
    item_backoff: float = 0.2
    poll_overlap: timedelta = timedelta(days=1)  # Thulium filters by day, in its own time zone
    # Between complete polls, outcomes are re-read at most this often: webhooks bring them sooner,
    # and a record about to be changed is read first anyway (see ``unworked``).
    poll_every: timedelta = timedelta(minutes=5)


@dataclass(slots=True)
class Settled:
    """What one batch settled, written before the next batch is looked at."""

    placed: list[Placed] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failures: list[FailureRecord] = field(default_factory=list)
    stale: list[MemberOp] = field(default_factory=list)  # the customer is gone: our link is stale
    vanished: list[str] = field(default_factory=list)  # the record is gone from the campaign


@dataclass(frozen=True, slots=True)
class StaleLinks:
    """Adds found these keys' customers gone from Thulium: re-link them, answer with their new ids."""

    keys: tuple[str, ...]


Relinked = Mapping[str, int]  # key -> customer id, for the keys linked again (the others wait)
Steps = Generator[StaleLinks, Relinked, dict[str, int]]


def run_to_end(steps: Steps, relink: Callable[[StaleLinks], Relinked]) -> dict[str, int]:
    """Drive a campaign run's steps, answering each stale-links request with ``relink``."""
    try:
        request = next(steps)
        while True:
            request = steps.send(relink(request))
    except StopIteration as done:
        counters: dict[str, int] = done.value
        return counters


CAMPAIGN_PREFIX = "campaign:"  # runs and failures of a campaign rule are stream campaign:<outbound_id>


def campaign_stream(outbound_id: str) -> str:
    """The runs- and failures-table stream of a campaign's members."""
    return f"{CAMPAIGN_PREFIX}{outbound_id}"


class CampaignRun:
    def __init__(
        self,
        rule: Rule,
        statuses: Mapping[int, str],
        options: CampaignOptions,
        *,
        source: RuleSource,
        links: CustomerLinks,
        members: Members,
        failures: Failures,
        crm: CampaignCrm,
        clock: Clock,
        writeback: Writeback | None = None,
    ) -> None:
        self.rule, self.statuses, self.options, self.clock = rule, statuses, options, clock
        self.source, self.links, self.members, self.failures = source, links, members, failures
        self.crm, self.writeback = crm, writeback
        self.outbound_id = rule.outbound_id
        self.stream = campaign_stream(rule.outbound_id)
        self.counters = CampaignCounters()
        self.preview: dict[str, list[str]] = {}
        self.known: dict[str, Member] = {}  # the members as planned from

    def steps(self) -> Steps:
        if not self.options.dry_run:
            self.poll(complete=self.options.full)
        plan, rejected = self.plan()
        if self.options.dry_run:
            self.preview = {
                kind: [op.key for op in ops][:PREVIEW_ROWS]
                for kind, ops in (("add", plan.add), ("change", plan.change), ("remove", plan.remove))
                if ops
            }
            return self.counters.as_dict()
        self.record_rejected(rejected)
        self.record_waiting(plan.waiting)
        yield from self.execute(plan)
        self.failures.commit(self.stream, Commit(resolved=plan.kept + self.left_behind(plan)))
        return self.counters.as_dict()

    # -- outcomes back --------------------------------------------------------------------------
    def poll(self, *, complete: bool) -> None:
        """Bring the campaign's records into the members (and write-back) table.

        Incremental polls read what was created or called since the last poll; a complete
        one reads every record and forgets members whose record is no longer there.
        """
        started = self.clock.now()
        mark = None if complete else self.members.poll_mark(self.outbound_id)
        last = None if mark is None else datetime.fromisoformat(mark)
        if last is not None and started - last < self.options.poll_every:
            return
        since = None if last is None else (last - self.options.poll_overlap).date()
        states = list(self.crm.records(self.outbound_id, since))
        self.take(states)
        if since is None:
            present = {state.customer_id for state in states}
            members = self.members.members(self.outbound_id)
            gone = [key for key, member in members.items() if member.customer_id not in present]
            self.forget(gone)
            if self.writeback is not None:
                self.writeback.delete(
                    self.outbound_id, sorted(self.writeback.keys(self.outbound_id) - set(members))
                )
        self.members.set_poll_mark(self.outbound_id, started.isoformat())

    def take(self, states: Sequence[RecordState]) -> None:
        """What Thulium says of these records goes into the members and write-back tables."""
        self.counters.polled += len(states)
        matched = self.members.apply_states(self.outbound_id, states)
        if self.writeback is not None:
            self.writeback.upsert(self.outbound_id, matched)

    def forget(self, keys: Sequence[str]) -> None:
        if not keys:
            return
        self.counters.vanished += len(keys)
        self.members.forget(self.outbound_id, keys)
        if self.writeback is not None:
            self.writeback.delete(self.outbound_id, keys)

    # -- planning -------------------------------------------------------------------------------
    def plan(self) -> tuple[CampaignPlan, list[RowRejected]]:
        rows = parse_rule_rows(
            self.source.rule_rows(self.outbound_id), self.statuses, self.rule.initial_status_id
        )
        wanted_keys = [row.key for row in rows.wanted]
        self.known = self.members.members(self.outbound_id)
        plan = plan_campaign(self.rule, rows.wanted, self.known, self.links.customer_ids(wanted_keys))
        held = self.failures.open_failure_hashes(self.stream, [op.key for op in plan.add + plan.change])
        plan.add = self.unheld(plan.add, held)
        plan.change = self.unheld(plan.change, held)
        count = self.counters
        count.wanted = len(set(wanted_keys))
        count.kept = len(plan.kept)
        count.waiting = len(plan.waiting)
        count.rejected = len(rows.rejected)
        return plan, rows.rejected

    def left_behind(self, plan: CampaignPlan) -> list[str]:
        """Keys still waiting or parked that the rule no longer selects: nothing is owed to them."""
        involved = {op.key for op in plan.add + plan.change + plan.remove}
        involved |= set(plan.kept) | set(plan.waiting) | set(self.known)
        someday = self.clock.now() + timedelta(days=36500)
        return [key for key in self.failures.due_retries(self.stream, someday) if key not in involved]

    def unheld(self, ops: list[MemberOp], held: Mapping[str, str | None]) -> list[MemberOp]:
        """A permanent failure is not sent again until the rule asks for something different."""
        kept = [op for op in ops if op.key not in held or held[op.key] != op.fields_hash]
        self.counters.skipped += len(ops) - len(kept)
        return kept

    def record_rejected(self, rejected: Sequence[RowRejected]) -> None:
        failures = [
            FailureRecord(row.key or "(no key)", "add_member", FailureKind.REJECTED, row.reason)
            for row in rejected
        ]
        if failures:
            self.failures.commit(self.stream, Commit(failures=failures))

    def record_waiting(self, keys: Sequence[str]) -> None:
        later = self.clock.now() + self.options.park_for
        message = "waiting: the customer is not in Thulium yet (not linked by the customers stream)"
        failures = [
            FailureRecord(key, "add_member", FailureKind.WAITING, message, next_attempt_at=later)
            for key in keys
        ]
        if failures:
            self.failures.commit(self.stream, Commit(failures=failures))

    # -- applying -------------------------------------------------------------------------------
    def execute(self, plan: CampaignPlan) -> Generator[StaleLinks, Relinked, None]:
        self.batches("remove_member", plan.remove, self.crm.max_batch(), self.send_removals)
        stale = self.batches("add_member", plan.add, self.crm.max_batch(), self.send_additions)
        if stale:
            relinked = yield StaleLinks(tuple(op.key for op in stale))
            self.add_relinked(stale, relinked)
        if self.counters.added and self.writeback is not None:
            # The records just added are the campaign's newest: read only those back.
            self.take(self.crm.newest(self.outbound_id, self.counters.added))
        changes = self.unworked(plan.change)
        vanished = self.batches("change_member", changes, 1, self.send_change)
        self.forget([op.key for op in vanished])
        changed = {op.key for op in changes} - {op.key for op in vanished}
        self.take(self.read_records([op for op in changes if op.key in changed]))

    def unworked(self, ops: Sequence[MemberOp]) -> list[MemberOp]:
        """Read each record about to be changed: one the dialer or an agent worked since the last
        poll must not be reset, however stale our copy of its status is."""
        if not ops or self.rule.reset_worked:
            return list(ops)
        self.take(self.read_records(ops))
        members = self.members.members(self.outbound_id)
        keep = [op for op in ops if op.key in members and not members[op.key].worked]
        self.counters.kept += len(ops) - len(keep)
        return keep

    def read_records(self, ops: Sequence[MemberOp]) -> list[RecordState]:
        if not ops:
            return []
        with ThreadPoolExecutor(self.options.max_in_flight, thread_name_prefix="syncd-campaign") as pool:
            found = pool.map(lambda op: self.crm.record(self.outbound_id, op.customer_id), ops)
            return [state for state in found if state is not None]

    def add_relinked(self, stale: list[MemberOp], relinked: Relinked) -> None:
        """Our link pointed at a customer Thulium no longer has: add the re-linked ones once more."""
        again = [
            MemberOp(op.key, relinked[op.key], op.fields, op.fields_hash)
            for op in stale
            if op.key in relinked
        ]
        still = [op.key for op in stale if op.key not in relinked]
        self.counters.waiting += len(still)
        self.record_waiting(still)
        left = self.batches("add_member", again, self.crm.max_batch(), self.send_additions)
        self.counters.waiting += len(left)
        self.record_waiting([op.key for op in left])

    def send_additions(self, ops: Sequence[MemberOp]) -> list[CrmResult]:
        return self.crm.add(self.outbound_id, [(op.customer_id, op.fields) for op in ops])

    def send_removals(self, ops: Sequence[MemberOp]) -> list[CrmResult]:
        return self.crm.remove(self.outbound_id, [op.customer_id for op in ops])

    def send_change(self, ops: Sequence[MemberOp]) -> list[CrmResult]:
        return [self.crm.change(self.outbound_id, op.customer_id, op.fields) for op in ops]

    def batches(
        self,
        operation: str,
        ops: Sequence[MemberOp],
        size: int,
        send: Callable[[Sequence[MemberOp]], list[CrmResult]],
    ) -> list[MemberOp]:
        """Send ``ops`` in batches, ``max_in_flight`` at a time; transient failures go round again.

        Returns what the calls left for the caller: stale links (adds) or vanished records (changes).
        """
        leftovers: list[MemberOp] = []
        pending, attempt = list(ops), 0
        while pending:
            attempt += 1
            again: list[MemberOp] = []
            with ThreadPoolExecutor(self.options.max_in_flight, thread_name_prefix="syncd-campaign") as pool:
                calls = {pool.submit(send, chunk): chunk for chunk in _chunks(pending, size)}
                for call in as_completed(calls):
                    chunk = calls[call]
                    settled = self.settle(operation, chunk, call.result(), attempt, again)
                    leftovers.extend(settled)
            pending = again
            if pending:
                self.counters.retried += len(pending)
                self.clock.sleep(self.options.item_backoff * 2 ** (attempt - 1))
        return leftovers

    def settle(
        self,
        operation: str,
        ops: Sequence[MemberOp],
        results: Sequence[CrmResult],
        attempt: int,
        again: list[MemberOp],
    ) -> list[MemberOp]:
        settled = Settled()
        decisions = self.verify(ops, [decide(_operation(operation), result.status) for result in results])
        for op, result, decision in zip(ops, results, decisions, strict=True):
            self.settle_one(operation, op, result, decision, attempt, again, settled)
        self.members.commit(self.outbound_id, settled.placed, settled.removed)
        done = [p.key for p in settled.placed] + settled.removed
        self.failures.commit(self.stream, Commit(failures=settled.failures, resolved=done))
        if self.writeback is not None:
            self.writeback.delete(self.outbound_id, settled.removed)
        if operation == "add_member":
            return settled.stale
        return [op for op in ops if op.key in set(settled.vanished)]

    def verify(self, ops: Sequence[MemberOp], decisions: list[Decision]) -> list[Decision]:
        """An add refused in words we do not know is decided by whether its customer still exists:
        one ``GET customers/:id`` per such item, ``max_in_flight`` at a time."""
        unsure = [
            op.customer_id for op, decision in zip(ops, decisions, strict=True) if decision is Decision.VERIFY
        ]
        if not unsure:
            return decisions
        self.counters.verified += len(unsure)
        with ThreadPoolExecutor(self.options.max_in_flight, thread_name_prefix="syncd-campaign") as pool:
            exists = dict(zip(unsure, pool.map(self.crm.customer_exists, unsure), strict=True))
        return [
            verified(exists[op.customer_id]) if decision is Decision.VERIFY else decision
            for op, decision in zip(ops, decisions, strict=True)
        ]

    def settle_one(
        self,
        operation: str,
        op: MemberOp,
        result: CrmResult,
        decision: Decision,
        attempt: int,
        again: list[MemberOp],
        settled: Settled,
    ) -> None:
        if decision is Decision.OK:
            self.ok(operation, op, result, settled)
        elif decision is Decision.STALE_LINK:
            settled.stale.append(op)
        elif decision is Decision.GONE:
            settled.vanished.append(op.key)
        elif decision in (Decision.RETRY, Decision.UNKNOWN) and attempt < self.options.item_attempts:
            again.append(op)
        else:
            settled.failures.append(self.failure(operation, op, result, decision))
            self.counters.failed += 1

    def ok(self, operation: str, op: MemberOp, result: CrmResult, settled: Settled) -> None:
        if operation == "remove_member":
            settled.removed.append(op.key)
            self.counters.removed += 1
            return
        status_id = op.fields.get("status_id")
        record_id = result.thulium_id if operation == "add_member" else None
        settled.placed.append(Placed(op.key, op.customer_id, record_id, op.fields_hash, status_id))
        if operation == "add_member":
            self.counters.added += 1
        else:
            self.counters.changed += 1

    def failure(self, operation: str, op: MemberOp, result: CrmResult, decision: Decision) -> FailureRecord:
        status = result.status
        message = status.message or status.status or f"HTTP {status.http_status}"
        permanent = decision is Decision.DEAD
        return FailureRecord(
            op.key,
            operation,
            FailureKind.PERMANENT if permanent else FailureKind.RETRYABLE,
            message,
            http_status=status.http_status,
            request_id=result.request_id,
            payload_hash=op.fields_hash if permanent else None,
            next_attempt_at=None if permanent else self.clock.now() + self.options.park_for,
        )


def _operation(operation: str) -> Operation:
    """The decision table's name for a run's operation (a change is a single update)."""
    return "update" if operation == "change_member" else operation  # type: ignore[return-value]


def _chunks(items: Sequence[T], size: int) -> Iterable[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
