"""``syncd check``: is a tenant file right, before the first run finds out the hard way?

A tenant file can parse and still be wrong: a column renamed in the source, a campaign id
mistyped, a custom field Thulium does not have (and would silently create on the first
sync). Each probe here is read-only and returns its problems as ``ConfigProblem``s (dotted
key + message), so they print like the loader's own errors and tests can assert on them.

Rules the probes keep:

* nothing is contacted for a tenant whose file does not load (parse or secret errors);
* one failing probe does not hide the others: source, state DB and Thulium are each probed
  and every problem is reported at once;
* nothing is written or created: no SQLite file, no schema, no Thulium record; every source
  statement selects ``WHERE false`` so even a heavy query reads no rows;
* connections time out in a few seconds and the Thulium client barely retries: an ops
  command must answer, not wait out a production retry budget;
* URLs are shown with their password masked, and driver messages are scrubbed of anything
  URL-shaped, since a source URL is a secret (``url_env``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from syncd.app.campaigns import CampaignSetupError, check_campaigns
from syncd.settings import ConfigError, ProcessSettings, Tenant, load_tenant
from syncd.settings.discovery import tenant_files
from syncd.settings.errors import ConfigProblem
from syncd.settings.fields import CUSTOM_PREFIX
from syncd.settings.tenant import TenantFile
from syncd.source.probe import (
    CONNECT_TIMEOUT_S,
    MissingFile,
    Unusable,
    describe_from,
    first_line,
    mask_url,
    plural,
    probe_source,
    read_only_engine,
    scrub,
    streams,
)
from syncd.state import migrate
from syncd.state.errors import StateDbError
from syncd.thulium import (
    RetryPolicy,
    ThuliumAuthError,
    ThuliumClient,
    ThuliumError,
    ThuliumNotFound,
    ThuliumUnavailable,
    Timeouts,
)

THULIUM_READ_TIMEOUT_S = 15.0
# One quick retry: a blip should not fail the check, a dead host must not hold it for minutes.
PROBE_RETRY = RetryPolicy(max_attempts=2, base_delay=0.2, max_backoff=0.5, max_total_delay=1.0)
CAMPAIGN_PROBLEM = re.compile(r"; (?=campaigns\[\d+\]\.)")


@dataclass
class Section:
    """One probe's outcome: its problems, and what it checked (the clean tenant's summary line)."""

    name: str
    problems: list[ConfigProblem] = field(default_factory=list)
    summary: str = ""


@dataclass
class TenantCheck:
    """Everything ``syncd check`` found about one tenant file."""

    name: str
    path: Path
    problems: list[ConfigProblem] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        """Problem lines in the loader's ``file: key: problem`` format."""
        return [problem.render(self.path) for problem in self.problems]


def check_config(
    path: Path, settings: ProcessSettings | None = None, env: Mapping[str, str] | None = None
) -> list[TenantCheck]:
    """Check one tenant file, or every tenant file in a folder, each on its own."""
    settings = settings or ProcessSettings()
    try:
        files = tenant_files(path)
    except ConfigError as exc:
        return [TenantCheck(path.stem or str(path), exc.path, list(exc.problems))]
    return [check_tenant(file, settings, env) for file in files]


def check_tenant(path: Path, settings: ProcessSettings, env: Mapping[str, str] | None = None) -> TenantCheck:
    """Load the file (stop there when it does not load), then probe source, state DB and Thulium."""
    try:
        tenant = load_tenant(path, settings, env)
    except ConfigError as exc:
        return TenantCheck(path.stem, exc.path, list(exc.problems))
    sections = [
        guarded("source", "source", check_source, tenant),
        guarded("state DB", "state", check_state, tenant),
        guarded("Thulium", "thulium", check_thulium, tenant),
    ]
    problems = [problem for section in sections for problem in section.problems]
    return TenantCheck(tenant.name, tenant.path, problems, sections)


def guarded(name: str, key: str, probe: Callable[[Tenant], Section], tenant: Tenant) -> Section:
    """A probe that breaks in a way it did not foresee is that section's problem, not the end of the check."""
    try:
        return probe(tenant)
    except Exception as exc:  # noqa: BLE001 -- the unforeseen is the point: the other sections still run
        return Section(
            name, [ConfigProblem(key, f"the check itself failed: {type(exc).__name__}: {first_line(exc)}")]
        )


# ---- the source database ---------------------------------------------------------------------------------


def check_source(tenant: Tenant) -> Section:
    """The source answers, every stream selects its mapped columns, every campaign query returns ``key``."""
    problems = probe_source(tenant.config, tenant.source_url.get_secret_value())
    return Section("source", problems, "" if problems else source_summary(tenant.config))


def source_summary(config: TenantFile) -> str:
    parts = [f"{name} ({describe_from(section)})" for name, section in streams(config)]
    verb = plural(len(parts), "has", "have")
    summary = "reachable; " + " and ".join(parts) + f" {verb} every mapped column"
    queries = len(config.campaigns)
    if queries:
        summary += f"; {queries} campaign {plural(queries, 'query runs', 'queries run')} and return key"
    return summary


# ---- the state database ----------------------------------------------------------------------------------


def check_state(tenant: Tenant) -> Section:
    """Reachable, and at which schema revision; an empty state DB is fine before the first run."""
    url = tenant.state_url
    shown = mask_url(url)
    try:
        revision = state_revision(url)
    except (Unusable, StateDbError) as exc:
        return Section("state DB", [unreachable_state(tenant, url, exc)])
    head = migrate.head_revision()
    if revision is None:
        return Section(
            "state DB", summary=f"{shown} is empty; the first sync or `syncd db upgrade` creates it"
        )
    if revision == head:
        return Section("state DB", summary=f"{shown} at the newest revision {head}")
    if known_revision(revision):
        fix = f"run `syncd db upgrade --config {tenant.path}`"
        problem = f"state DB {shown} is at revision {revision}, behind {head}: {fix}"
        return Section("state DB", [ConfigProblem(state_key(tenant), problem)])
    return Section("state DB", [unknown_revision(tenant, url, revision)])


def state_key(tenant: Tenant) -> str:
    return "state.url" if tenant.config.state is not None else "state"


def unreachable_state(tenant: Tenant, url: str, exc: Exception) -> ConfigProblem:
    if isinstance(exc, Unusable):
        return ConfigProblem(state_key(tenant), f"state DB {exc}")
    return ConfigProblem(state_key(tenant), f"cannot reach the state DB {mask_url(url)}: {first_line(exc)}")


def unknown_revision(tenant: Tenant, url: str, revision: str) -> ConfigProblem:
    shown = mask_url(url)
    problem = f"state DB {shown} is at revision {revision}, which this syncd does not know (a newer syncd?)"
    return ConfigProblem(state_key(tenant), problem)


def state_revision(url: str) -> str | None:
    """The Alembic revision, read without creating anything; a missing SQLite file is an empty state DB."""
    try:
        engine = read_only_engine(url)
    except MissingFile:
        return None
    try:
        with engine.connect() as conn:
            return migrate.recorded_revision(conn)
    finally:
        engine.dispose()


def known_revision(revision: str) -> bool:
    """Whether one of this syncd's scripts has ``revision``: Alembic is loaded only for a state DB
    that is not at the head, so a sync of a current one never imports it."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    scripts = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    try:
        return scripts.get_revision(revision) is not None
    except CommandError:
        return False


# ---- Thulium ---------------------------------------------------------------------------------------------


def check_thulium(tenant: Tenant) -> Section:
    """Credentials work, mapped custom fields exist, every campaign rule's campaign and status exist."""
    with probe_client(tenant) as client:
        try:
            names = client.custom_fields.names()
        except ThuliumError as exc:
            problem = thulium_problem(tenant, exc)
            if stops_thulium_probes(exc):
                return Section("Thulium", [problem])
            problems = [problem, *campaign_problems(client, tenant)]
        else:
            problems = custom_field_problems(tenant.config, names) + campaign_problems(client, tenant)
    return Section("Thulium", problems, thulium_summary(tenant.config))


def stops_thulium_probes(exc: ThuliumError) -> bool:
    """Bad credentials, a dead host or a wrong URL fail every request alike; a 403 is per endpoint."""
    refused = isinstance(exc, ThuliumAuthError) and exc.status_code == 401
    return refused or isinstance(exc, ThuliumUnavailable | ThuliumNotFound)


@contextmanager
def probe_client(tenant: Tenant) -> Iterator[ThuliumClient]:
    section = tenant.config.thulium
    timeouts = Timeouts(
        connect=min(section.connect_timeout, CONNECT_TIMEOUT_S),
        read=min(section.read_timeout, THULIUM_READ_TIMEOUT_S),
        write=THULIUM_READ_TIMEOUT_S,
        pool=CONNECT_TIMEOUT_S,
    )
    with ThuliumClient(
        section.url, section.user, tenant.thulium_password, timeouts=timeouts, retry=PROBE_RETRY
    ) as client:
        yield client


def thulium_problem(tenant: Tenant, exc: ThuliumError) -> ConfigProblem:
    """Where to look in the tenant file for what went wrong with the first request."""
    section = tenant.config.thulium
    url = scrub(section.url)
    if isinstance(exc, ThuliumAuthError) and exc.status_code == 401:
        where = (
            f"environment variable {section.password_env}"
            if section.password_env
            else f"file {section.password_file}"
        )
        key = "thulium.password_env" if section.password_env else "thulium.password_file"
        message = f"Thulium refused the credentials of user {section.user} (401 at {url}): check thulium.user"
        return ConfigProblem(key, f"{message} and the password in {where}")
    if isinstance(exc, ThuliumAuthError):
        return ConfigProblem("thulium.user", scrub(str(exc)))
    if isinstance(exc, ThuliumUnavailable):
        last = exc.__cause__ or exc  # the last attempt's failure says what happened, without the retry story
        return ConfigProblem("thulium.url", f"cannot reach Thulium at {url} ({scrub(str(last))})")
    if isinstance(exc, ThuliumNotFound):
        return ConfigProblem(
            "thulium.url", f"{url} does not answer like the Thulium API (is it the /api base?)"
        )
    return ConfigProblem("thulium.url", f"Thulium at {url}: {scrub(str(exc))}")


def custom_field_problems(config: TenantFile, names: set[str]) -> list[ConfigProblem]:
    """Thulium creates any custom field it is sent, so a typo here would grow a new field, not fail."""
    known = ", ".join(sorted(names)) or "none"
    return [
        ConfigProblem(
            f"{stream}.fields.{target}",
            f'Thulium has no custom field "{name}" and would silently create it on the first sync '
            f"(it has: {known})",
        )
        for stream, target, name in mapped_custom_fields(config)
        if name not in names
    ]


def mapped_custom_fields(config: TenantFile) -> list[tuple[str, str, str]]:
    """(stream, mapping target, custom field name) for every ``custom_fields.<Name>`` target."""
    return [
        (stream, target, target.removeprefix(CUSTOM_PREFIX))
        for stream, section in streams(config)
        for target in section.fields
        if target.startswith(CUSTOM_PREFIX)
    ]


def campaign_problems(client: ThuliumClient, tenant: Tenant) -> list[ConfigProblem]:
    """``check_campaigns`` joins its findings with "; "; they are reported one per key here."""
    rules = tenant.config.campaigns
    if not rules:
        return []
    where = str(tenant.path)
    try:
        check_campaigns(client, rules, where)
    except CampaignSetupError as exc:
        return split_campaign_problems(str(exc).removeprefix(f"{where}: "))
    except ThuliumError as exc:
        return [ConfigProblem("campaigns", f"cannot list Thulium's campaigns: {scrub(str(exc))}")]
    return []


def split_campaign_problems(joined: str) -> list[ConfigProblem]:
    """Split on "; " only before the next ``campaigns[i].`` key: a message may contain "; " itself."""
    problems = []
    for part in CAMPAIGN_PROBLEM.split(joined):
        key, _, message = part.partition(": ")
        problems.append(ConfigProblem(key, message) if message else ConfigProblem("campaigns", part))
    return problems


def thulium_summary(config: TenantFile) -> str:
    ids = [rule.outbound_id for rule in config.campaigns]
    custom = sorted({name for _, _, name in mapped_custom_fields(config)})
    campaigns = f"{len(ids)} {plural(len(ids), 'campaign', 'campaigns')}"
    if ids:
        campaigns += f" ({', '.join(ids)}) exist, are CRM campaigns and have their statuses"
    fields = (
        f"{plural(len(custom), 'custom field', 'custom fields')} {', '.join(custom)} "
        f"{plural(len(custom), 'exists', 'exist')}"
        if custom
        else "no custom fields mapped"
    )
    return f"credentials accepted; {campaigns}; {fields}"


# ---- text ------------------------------------------------------------------------------------------------
