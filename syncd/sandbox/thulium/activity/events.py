"""Raw contact-center activity behind the report endpoints: the event model (agents, chats, agent calls and
actions, sessions, pauses), its validation, and ``Activity``, the store's collection of them.

The generator (``generator``) and the report rows (``reports``) build on these types.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, TypeAdapter

from syncd.engine.wallclock import parse_wall_clock

DATE_FMT = "%Y-%m-%d %H:%M:%S"
RATINGS: tuple[str, ...] = ("sad", "neutral", "happy")
# The pause catalogue of the sandbox instance; every row lists all of them, used or not, as the document does.
PAUSE_IDS = (0, 1, 2, 3, 4)


def normalize_moment(value: str) -> str:
    """Events accept ``YYYY-MM-DD HH:MM`` or ``…:SS`` and are kept with seconds, so plain string comparison
    orders them."""
    text = value.strip()
    if len(text) == 16:
        text += ":00"
    parse_wall_clock(text, DATE_FMT)
    return text


Moment = Annotated[str, AfterValidator(normalize_moment)]
MomentOrEmpty = Annotated[str, AfterValidator(lambda v: normalize_moment(v) if v else "")]
Rating = Literal["sad", "neutral", "happy"]
_STRICT = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Agent:
    __pydantic_config__ = _STRICT
    login: str
    name: str = ""
    surname: str = ""
    group_ids: tuple[int, ...] = ()

    @property
    def full_name(self) -> str:
        return f"{self.name} {self.surname}".strip()


@dataclass
class Chat:
    """``empty``: opened but never written in — counted only in ``incoming_including_empty``."""

    __pydantic_config__ = _STRICT
    date: Moment
    user_login: str = ""
    user_name: str = ""
    chat_queue_id: int = 1
    answered: bool = False
    abandoned: bool = False
    to_bot: bool = False
    transferred_by_bot: bool = False
    finished_by_bot: bool = False
    empty: bool = False
    chat_seconds: int = 0
    wait_seconds: int = 0
    rating: Rating | None = None

    @property
    def reached_agent(self) -> bool:
        return not self.empty and (not self.to_bot or self.transferred_by_bot)


@dataclass
class AgentCall:
    __pydantic_config__ = _STRICT
    date: Moment
    agent_login: str
    direction: Literal["inbound", "outbound"] = "inbound"
    answered: bool = True
    transferred: bool = False
    seconds: int = 0
    wait_seconds: int = 0
    queue_id: int | None = None
    connection_id: str = ""


@dataclass
class AgentAction:
    """A chat or ticket an agent closed or responded to; ``responses`` feeds ticket ``total_responded``."""

    __pydantic_config__ = _STRICT
    date: Moment
    agent_login: str
    channel: Literal["chat", "ticket"]
    action: Literal["closed", "responded"]
    responses: int = 1


@dataclass
class Session:
    """``logout_date`` "" = still logged in."""

    __pydantic_config__ = _STRICT
    agent_login: str
    login_date: Moment
    logout_date: MomentOrEmpty = ""


@dataclass
class Pause:
    """``pause_id`` None = a pause without a reason (the report's "free" entry)."""

    __pydantic_config__ = _STRICT
    date: Moment
    agent_login: str
    seconds: int
    pause_id: int | None = None


# readings.namesake_agents: a second Jan Kowalski, another person with another login (group 2), so the chat
# report (which names its rows by display name only) has two rows that differ only by whose they are.
NAMESAKE = Agent("jkowalski", "Jan", "Kowalski", (2,))


def default_agents() -> dict[str, Agent]:
    agents = (
        Agent("anna.nowak", "Anna", "Nowak", (1,)),
        Agent("jan.kowalski", "Jan", "Kowalski", (1,)),
        Agent("ewa.lis", "Ewa", "Lis", (2,)),
        Agent("piotr.zielinski", "Piotr", "Zieliński", (1, 2)),
    )
    return {a.login: a for a in agents}


EVENT_KINDS: dict[str, type[Any]] = {
    "chats": Chat,
    "agent_calls": AgentCall,
    "agent_actions": AgentAction,
    "sessions": Session,
    "pauses": Pause,
}
_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    k: TypeAdapter(v) for k, v in {**EVENT_KINDS, "agents": Agent}.items()
}


@dataclass
class Batch:
    connections: list[dict[str, Any]] = field(default_factory=list)
    chats: list[Chat] = field(default_factory=list)
    agent_calls: list[AgentCall] = field(default_factory=list)
    agent_actions: list[AgentAction] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)
    pauses: list[Pause] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"connections": len(self.connections)} | {k: len(getattr(self, k)) for k in EVENT_KINDS}


@dataclass
class Activity:
    agents: dict[str, Agent] = field(default_factory=default_agents)
    chats: list[Chat] = field(default_factory=list)
    agent_calls: list[AgentCall] = field(default_factory=list)
    agent_actions: list[AgentAction] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)
    pauses: list[Pause] = field(default_factory=list)
    connection_seq: int = 0

    def play_namesakes(self, on: bool) -> None:
        """Adds (or takes back) the namesake agent; events already recorded for him stay."""
        if on:
            self.agents.setdefault(NAMESAKE.login, NAMESAKE)
        elif self.agents.get(NAMESAKE.login) == NAMESAKE:
            del self.agents[NAMESAKE.login]

    def extend(self, batch: Batch) -> None:
        for kind in EVENT_KINDS:
            getattr(self, kind).extend(getattr(batch, kind))

    def add_json(self, body: dict[str, Any]) -> dict[str, int]:
        """Validates everything before storing anything, so a bad item leaves the state untouched."""
        unknown = set(body) - {*EVENT_KINDS, "agents"}
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}")
        agents = [_ADAPTERS["agents"].validate_python(raw) for raw in _items(body, "agents")]
        batch = Batch()
        for kind in EVENT_KINDS:
            getattr(batch, kind).extend(_ADAPTERS[kind].validate_python(raw) for raw in _items(body, kind))
        for agent in agents:
            self.agents[agent.login] = agent
        for chat in batch.chats:
            known = self.agents.get(chat.user_login)
            if chat.user_login and not chat.user_name and known is not None:
                chat.user_name = known.full_name
        self.extend(batch)
        return {"agents": len(agents)} | {k: v for k, v in batch.counts().items() if k != "connections"}

    def dump(self) -> dict[str, Any]:
        return {"agents": [asdict(a) for a in self.agents.values()]} | {
            kind: [asdict(e) for e in getattr(self, kind)] for kind in EVENT_KINDS
        }


def _items(body: dict[str, Any], key: str) -> list[Any]:
    items = body.get(key, [])
    if not isinstance(items, list):
        raise ValueError(f"{key} must be a list")
    return items
