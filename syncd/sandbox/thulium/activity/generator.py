"""The deterministic activity generator: each day of a small contact center comes from its own
``Random(f"{seed}:{day}")`` — sessions, calls (Thulium connections and the agents' side), chats, pauses and
tickets."""

from __future__ import annotations

import calendar
import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from syncd.engine.wallclock import parse_wall_clock
from syncd.sandbox.thulium.activity.events import (
    DATE_FMT,
    EVENT_KINDS,
    PAUSE_IDS,
    Activity,
    Agent,
    AgentAction,
    AgentCall,
    Batch,
    Chat,
    Pause,
    Rating,
    Session,
    normalize_moment,
)

WORK_START_S = 8 * 3600
WORK_SPAN_S = 9 * 3600
LINE_NUMBER = "221234567"
CALL_QUEUES = (1, 2, 3)
CHAT_QUEUES = (1, 2, 3)
TAGS = ("sales", "support", "vip", "complaint")
DISPOSITIONS = ("ANSWERED", "NO ANSWER", "BUSY", "FAILED")
RATING_DRAW: tuple[Rating | None, ...] = (None, "sad", "neutral", "happy")


@dataclass(frozen=True)
class GenerateRequest:
    date_from: dt.date
    days: int
    per_day: int
    seed: int
    until: str | None = None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> GenerateRequest:
        days, per_day = int(body.get("days", 1)), int(body.get("per_day", 20))
        if days < 1 or per_day < 0:
            raise ValueError("days must be >= 1 and per_day >= 0")
        until = body.get("until")
        return cls(
            date_from=dt.date.fromisoformat(str(body["date_from"])),
            days=days,
            per_day=per_day,
            seed=int(body.get("seed", 0)),
            until=normalize_moment(str(until)) if until else None,
        )


def generate(
    activity: Activity, req: GenerateRequest, *, customers: list[tuple[int, str]], taken_ids: set[str]
) -> Batch:
    """Each day draws from its own ``Random(f"{seed}:{day}")``, so generating days one call at a time gives
    the same events as one call for all of them; connection ids come from a running counter, which keeps
    them unique across calls."""
    agents = sorted(activity.agents.values(), key=lambda a: a.login)
    out = Batch()
    if not agents:
        return out
    for n in range(req.days):
        day = req.date_from + dt.timedelta(days=n)
        rng = random.Random(f"{req.seed}:{day.isoformat()}")
        batch = _DayGenerator(rng, day, agents, sorted(customers)).run(req.per_day)
        _cut(batch, req.until)
        for conn in batch.connections:
            conn["connection_id"] = _connection_id(activity, conn.pop("_moment"), taken_ids)
            call: AgentCall | None = conn.pop("_call")
            if call is not None:
                call.connection_id = conn["connection_id"]
        for kind in ("connections", *EVENT_KINDS):
            getattr(out, kind).extend(getattr(batch, kind))
    return out


def _connection_id(activity: Activity, moment: str, taken: set[str]) -> str:
    """Thulium's look (``1416225570.341``: epoch seconds + a sequence), unique across generate calls."""
    epoch = calendar.timegm(parse_wall_clock(moment, DATE_FMT).timetuple())
    while True:
        activity.connection_seq += 1
        cid = f"{epoch}.{activity.connection_seq}"
        if cid not in taken:
            taken.add(cid)
            return cid


def _cut(batch: Batch, until: str | None) -> None:
    """Keeps what happened up to ``until`` (the day is still open); sessions running then have no logout."""
    if until is None:
        return
    batch.connections = [c for c in batch.connections if c["_moment"] <= until]
    batch.agent_calls = [c for c in batch.agent_calls if c.date <= until]
    batch.chats = [c for c in batch.chats if c.date <= until]
    batch.agent_actions = [a for a in batch.agent_actions if a.date <= until]
    batch.pauses = [p for p in batch.pauses if p.date <= until]
    batch.sessions = [s for s in batch.sessions if s.login_date <= until]
    for session in batch.sessions:
        if session.logout_date > until:
            session.logout_date = ""


class _DayGenerator:
    """One day of a small contact center: sessions, calls (connections + the agents' side), chats, pauses
    and tickets. The order of draws is fixed, so the seed alone decides the day."""

    def __init__(
        self, rng: random.Random, day: dt.date, agents: list[Agent], customers: list[tuple[int, str]]
    ) -> None:
        self.rng = rng
        self.midnight = dt.datetime.combine(day, dt.time())
        self.agents = agents
        self.customers = customers
        self.batch = Batch()

    def at(self, seconds: int) -> str:
        return (self.midnight + dt.timedelta(seconds=seconds)).strftime(DATE_FMT)

    def work_times(self, count: int) -> list[int]:
        return sorted(WORK_START_S + self.rng.randrange(WORK_SPAN_S) for _ in range(count))

    def run(self, per_day: int) -> Batch:
        for agent in self.agents:
            login = WORK_START_S - 900 + self.rng.randrange(1800)
            logout = WORK_START_S + WORK_SPAN_S + self.rng.randrange(1800)
            self.batch.sessions.append(Session(agent.login, self.at(login), self.at(logout)))
        for t in self.work_times(per_day):
            self.connection(t)
        for t in self.work_times(per_day):
            self.chat(t)
        for agent in self.agents:
            self.pauses_and_tickets(agent)
        return self.batch

    def connection(self, t: int) -> None:
        rng = self.rng
        inbound = rng.random() < 0.6
        agent = rng.choice(self.agents)
        disposition = rng.choices(DISPOSITIONS, weights=(75, 15, 6, 4))[0]
        customer = rng.choice(self.customers) if self.customers and rng.random() < 0.8 else None
        phone = customer[1] if customer and customer[1] else f"5{rng.randrange(10**8):08d}"
        ring = rng.randint(3, 60)
        answered = disposition == "ANSWERED"
        billsec = rng.randint(20, 900) if answered else 0
        others = [a for a in self.agents if a.login != agent.login]
        transferred_to = rng.choice(others).login if answered and others and rng.random() < 0.08 else ""
        tags = rng.sample(TAGS, k=rng.choice((0, 0, 1, 2)))
        disconnected_by = rng.choice(("Agent", "Customer"))
        queue_id = rng.choice(CALL_QUEUES)
        # Inbound calls that were busy/failed never reached an agent.
        handled = not inbound or disposition in ("ANSWERED", "NO ANSWER")
        moment = self.at(t)
        call = None
        if handled:
            call = AgentCall(
                date=moment,
                agent_login=agent.login,
                direction="inbound" if inbound else "outbound",
                answered=answered,
                transferred=bool(transferred_to),
                seconds=billsec,
                wait_seconds=ring,
                queue_id=queue_id,
            )
            self.batch.agent_calls.append(call)
        self.batch.connections.append(
            {
                "date": moment,  # kept with its second; GET connections lists it to the minute
                "src": phone if inbound else LINE_NUMBER,
                "dst": LINE_NUMBER if inbound else phone,
                "disposition": disposition,
                "duration": billsec + ring,
                "billsec": billsec,
                "operator": "siptrunk",
                "filename": f"sandbox/{moment[:10]}/{moment[:10]}_{moment[11:19].replace(':', '')}.wav"
                if answered
                else "",
                "user": agent.full_name if handled else "",
                "user_login": agent.login if handled else "",
                "dst_user": "",
                "dst_user_login": "",
                "customer_id": customer[0] if customer else "",
                "outbound_id": "",
                "connection_id": "",
                "type": "INBOUND" if inbound else "OUTBOUND",
                "queue_id": queue_id,
                "topic_id": None,
                "tags": tags,
                "disconnected_by": disconnected_by,
                "transferred_to": transferred_to,
                # Private keys, removed once connection ids are given out (after any ``until`` cut).
                "_moment": moment,
                "_call": call,
            }
        )

    def chat(self, t: int) -> None:
        rng = self.rng
        moment = self.at(t)
        queue = rng.choice(CHAT_QUEUES)
        if rng.random() < 0.05:
            self.batch.chats.append(Chat(date=moment, chat_queue_id=queue, empty=True))
            return
        to_bot = rng.random() < 0.3
        if to_bot and rng.random() < 0.5:
            seconds = rng.randint(30, 300)
            self.batch.chats.append(
                Chat(
                    date=moment, chat_queue_id=queue, to_bot=True, finished_by_bot=True, chat_seconds=seconds
                )
            )
            return
        agent = rng.choice(self.agents)
        wait = min(180, int(rng.expovariate(1 / 12)))  # most first answers come fast, a few very late
        chat = Chat(
            date=moment,
            user_login=agent.login,
            user_name=agent.full_name,
            chat_queue_id=queue,
            to_bot=to_bot,
            transferred_by_bot=to_bot,
            wait_seconds=wait,
        )
        self.batch.chats.append(chat)
        if rng.random() < 0.12:
            chat.abandoned = True
            return
        chat.answered = True
        chat.chat_seconds = rng.randint(60, 1200)
        chat.rating = rng.choices(RATING_DRAW, weights=(6, 1, 1, 2))[0]
        self.batch.agent_actions += [
            AgentAction(self.at(t + wait), agent.login, "chat", "responded"),
            AgentAction(self.at(t + wait + chat.chat_seconds), agent.login, "chat", "closed"),
        ]

    def pauses_and_tickets(self, agent: Agent) -> None:
        rng = self.rng
        for _ in range(rng.randint(1, 3)):
            start = WORK_START_S + 3600 + rng.randrange(7 * 3600)
            pause_id = rng.choice((None, *PAUSE_IDS))
            self.batch.pauses.append(Pause(self.at(start), agent.login, rng.randint(300, 1200), pause_id))
        for _ in range(rng.randint(0, 3)):
            start = WORK_START_S + rng.randrange(WORK_SPAN_S - 3600)
            responses = rng.randint(1, 3)
            self.batch.agent_actions.append(
                AgentAction(self.at(start), agent.login, "ticket", "responded", responses)
            )
            if rng.random() < 0.5:
                closed = self.at(start + rng.randint(60, 3600))
                self.batch.agent_actions.append(AgentAction(closed, agent.login, "ticket", "closed"))
