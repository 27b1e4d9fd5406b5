"""The console over real HTTP: a tenant synced against the sandbox, its state DB read by the pages.

Roles and forgery are checked by what the state DB holds after each POST: a refused action
changes nothing, an accepted one records its job before handing it to the broker.
"""

from __future__ import annotations

import base64
import re
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from syncd.demo import DemoSource, Invalid, generate_source, write_demo_config
from syncd.sandbox import SandboxProcess
from syncd.settings import ProcessSettings
from syncd.state.db import make_engine, session_factory
from syncd.state.failure_log import FailureLog, FailureQuery
from syncd.state.jobs import JobInfo, JobStore
from syncd.state.types import utcnow
from tests.daemon.harness import SYNCD, daemon_env
from tests.test_redaction import needles
from tests.web.conftest import ServedApp

OPERATOR = ("operator", "op-secret-1")
VIEWER = ("viewer", "view-secret-1")


@dataclass
class Site:
    app: ServedApp
    demo: DemoSource
    state_url: str
    source_url: str
    sandbox: SandboxProcess

    def get(self, path: str, auth: tuple[str, str] | None = OPERATOR, **params: str) -> httpx.Response:
        return httpx.get(f"{self.app.url}{path}", auth=auth, params=params, timeout=30)

    def post(
        self,
        path: str,
        data: Mapping[str, str | list[str]],
        auth: tuple[str, str] | None = OPERATOR,
        **headers: str,
    ) -> httpx.Response:
        return httpx.post(
            f"{self.app.url}{path}", auth=auth, data=data, headers=headers, timeout=30, follow_redirects=True
        )

    def token(self, auth: tuple[str, str] = OPERATOR) -> str:
        found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', self.get("/tenants/acme", auth=auth).text)
        assert found, "the tenant page carries a CSRF token"
        return found.group(1)

    def open_failures(self, kind: str | None = None) -> list[str]:
        engine = make_engine(self.state_url)
        query = FailureQuery(kinds=(kind,) if kind else ())
        try:
            rows = FailureLog(session_factory(engine), "acme").find(query, utcnow())
            return sorted(f"{row.stream}/{row.source_key}" for row in rows)
        finally:
            engine.dispose()

    def jobs(self) -> list[JobInfo]:
        engine = make_engine(self.state_url)
        try:
            return JobStore(session_factory(engine), "acme").recent(100)
        finally:
            engine.dispose()


@pytest.fixture
def site(tmp_path: Path, sandbox: SandboxProcess, redis_url: str) -> Iterator[Site]:
    source_url = f"sqlite:///{tmp_path / 'source.sqlite'}"
    state_url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    demo = generate_source(source_url, customers=150, companies=30, invalid_fraction=0.1, seed=20)
    # a duplicate NIP is refused by Thulium: a permanent failure, which degrades the tenant
    assert Invalid.DUPLICATE_NIP in demo.invalid_companies.values()
    config = write_demo_config(
        tmp_path / "tenants" / "acme.toml", source_url, sandbox.url, user=sandbox.user, state_url=state_url
    )
    env = daemon_env(tmp_path, redis_url)
    synced = subprocess.run(
        [SYNCD, "sync", "--config", str(config)], env=env, capture_output=True, text=True, timeout=120
    )
    assert synced.returncode == 2, synced.stderr[-3000:]  # partial: the invalid rows are failures
    settings = ProcessSettings(
        config_dir=tmp_path / "tenants",
        broker_url=redis_url,
        var_dir=tmp_path / "var",
        console_operator_password=OPERATOR[1],
        console_viewer_password=VIEWER[1],
    )
    app = ServedApp(settings).start()
    try:
        yield Site(app, demo, state_url, source_url, sandbox)
    finally:
        app.stop()


def test_without_credentials_the_console_asks_for_them(site: Site) -> None:
    for path in ("/", "/tenants/acme", "/tenants/acme/failures"):
        answer = site.get(path, auth=None)
        assert answer.status_code == 401, path
        assert answer.headers["www-authenticate"].startswith("Basic")
    assert site.get("/", auth=("operator", "wrong")).status_code == 401
    assert site.get("/health", auth=None).status_code in (200, 503), "the probes stay open"


def test_the_overview_shows_the_tenant_degraded_with_its_reason(site: Site) -> None:
    page = site.get("/").text
    assert 'data-tenant="acme"' in page
    level = re.search(r'data-health="(\w+)"', page)
    assert level, page[:3000]
    assert level.group(1) == "degraded", page[:3000]
    assert "1 permanent failure refused by Thulium" in page, "the verdict's reason"
    assert "rejected" in page, "open failures by kind"
    assert "permanent" in page, "open failures by kind"
    synced = re.search(r'aria-label="records synced: (\d+) records over the last day"', page)
    assert synced, "the day's chart"
    assert int(synced.group(1)) >= len(site.demo.valid_customer_keys), "the sync's creates are counted"


def test_failures_filter_by_kind_and_show_one(site: Site) -> None:
    rejected = site.get("/tenants/acme/failures", kind="rejected").text
    kinds = set(re.findall(r'data-kind="(\w+)"', rejected))
    assert kinds == {"rejected"}, kinds
    key = next(iter(site.demo.invalid_customers))
    detail = site.get("/tenants/acme/failure", stream="customers", key=key)
    assert detail.status_code == 200
    assert f">{key}<" in detail.text
    assert "rejected" in detail.text
    assert site.get("/tenants/acme/failures", older_than="7x").status_code == 400, "a bad duration is said"
    assert site.get("/tenants/nobody").status_code == 404


def test_a_viewer_sees_no_buttons_and_a_forged_post_changes_nothing(site: Site) -> None:
    page = site.get("/tenants/acme/failures", auth=VIEWER).text
    assert "Retry ticked" not in page
    assert "matching</button>" not in page
    assert 'type="checkbox"' not in page
    assert "Queue resync" not in site.get("/tenants/acme", auth=VIEWER).text
    before, jobs = site.open_failures(), len(site.jobs())
    operator_token = site.token()
    forged = site.post("/tenants/acme/failures/resolve", {"csrf_token": operator_token}, auth=VIEWER)
    assert forged.status_code == 403, "a viewer may not act, even with an operator's token"
    no_token = site.post("/tenants/acme/failures/resolve", {}, auth=OPERATOR)
    assert no_token.status_code == 403, "an operator's POST without the form's token"
    cross_site = site.post(
        "/tenants/acme/resync", {"csrf_token": site.token()}, auth=OPERATOR, origin="http://evil.example"
    )
    assert cross_site.status_code == 403
    wrong_token = site.post("/tenants/acme/failures/resolve", {"csrf_token": "0" * 64}, auth=OPERATOR)
    assert wrong_token.status_code == 403
    assert site.open_failures() == before
    assert len(site.jobs()) == jobs


def test_an_operator_resolves_one_and_retries_by_kind(site: Site) -> None:
    before = site.open_failures()
    one = next(f for f in before if f.startswith("customers/"))
    resolved = site.post(
        "/tenants/acme/failures/resolve", {"csrf_token": site.token(), "failure": [one]}, auth=OPERATOR
    )
    assert resolved.status_code == 200
    assert "1 failure resolved" in resolved.text
    assert site.open_failures() == [f for f in before if f != one]

    rejected = site.open_failures("rejected")
    permanent = site.open_failures("permanent")
    assert rejected
    assert permanent
    every = {"csrf_token": site.token(), "kind": "rejected"}
    nothing_ticked = site.post("/tenants/acme/failures/retry", every)
    assert "retry refused: no failure ticked" in nothing_ticked.text
    stale = site.post("/tenants/acme/failures/retry", {**every, "every": str(len(rejected) + 1)})
    assert f"matches {len(rejected)} open failures now, not {len(rejected) + 1}" in stale.text
    assert site.open_failures("rejected") == rejected, "a count that changed acts on nothing"
    assert not [job for job in site.jobs() if job.trigger == "retry"]

    retried = site.post("/tenants/acme/failures/retry", {**every, "every": str(len(rejected))})
    assert retried.status_code == 200
    [job] = [job for job in site.jobs() if job.trigger == "retry"]
    assert job.status == "queued"
    assert f"queued job {job.id}" in retried.text
    assert site.open_failures("rejected") == [], "made retryable and due, as `syncd failures retry` does"
    assert set(site.open_failures("retryable")) >= set(rejected)
    assert site.open_failures("permanent") == permanent, "the kind filter held"


def test_a_notice_in_a_link_is_not_shown_unless_the_console_signed_it(site: Site) -> None:
    page = site.get("/tenants/acme", notice="all rows deleted", sig="0" * 32).text
    assert "all rows deleted" not in page
    odd = site.get("/tenants/acme", notice="x", sig="é")
    assert odd.status_code == 200, "a forged non-ASCII signature is just not valid"
    forged = site.post("/tenants/acme/resync", {"csrf_token": "é"})
    assert forged.status_code == 403


def test_console_pages_are_never_framed(site: Site) -> None:
    for answer in (site.get("/"), site.get("/tenants/acme/failures"), site.get("/", auth=None)):
        assert answer.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


def test_a_tenant_that_never_ran_or_does_not_parse_is_said_and_nothing_is_created(site: Site) -> None:
    tenants = Path(site.app.settings.config_dir)
    fresh_state = tenants.parent / "fresh" / "state.sqlite"
    text = (tenants / "acme.toml").read_text()
    (tenants / "fresh.toml").write_text(text.replace(site.state_url, f"sqlite:///{fresh_state}"))
    (tenants / "broken.toml").write_text("[thulium]\nurl = 3\n")
    for path in (
        "/tenants/fresh",
        "/tenants/fresh/failures",
        "/tenants/fresh/failure?stream=customers&key=1",
    ):
        answer = site.get(path)
        assert answer.status_code in (200, 404), (path, answer.status_code)
        assert "never run" in answer.text, path
    assert not fresh_state.parent.exists(), "asking creates no state DB"
    broken = site.get("/tenants/broken")
    assert broken.status_code == 200
    assert "broken.toml" in broken.text
    assert site.get("/tenants/acme/failures", status="bogus").status_code == 400
    assert site.get("/tenants/acme", status="bogus").status_code == 400


def test_a_resync_is_queued_as_a_job(site: Site) -> None:
    answer = site.post(
        "/tenants/acme/resync", {"csrf_token": site.token(), "stream": "customers", "kind": "full"}
    )
    assert answer.status_code == 200
    [job] = [job for job in site.jobs() if job.trigger == "resync"]
    assert (job.kind, job.streams, job.status) == ("full", ("customers",), "queued")
    assert f'data-job="{job.id}"' in answer.text


def test_no_page_holds_an_email_or_a_phone_of_the_source(site: Site) -> None:
    found = needles(site.source_url, site.sandbox.user, site.sandbox.password)
    paths = ["/", "/tenants/acme", "/tenants/acme/failures?status=all"]
    paths += [f"/tenants/acme/failure?stream=customers&key={key}" for key in site.demo.invalid_customers]
    for path in paths:
        html = site.get(path).text
        assert found.hits(html) == [], path
    assert any(problem is Invalid.BAD_EMAIL for problem in site.demo.invalid_customers.values())


def test_with_no_credentials_the_console_answers_only_at_this_machine(tmp_path: Path) -> None:
    """DNS rebinding: a hostile page whose name now points at 127.0.0.1 sends its own name as Host."""
    (tmp_path / "tenants").mkdir()
    app = ServedApp(ProcessSettings(config_dir=tmp_path / "tenants", var_dir=tmp_path / "var")).start()
    try:
        here = httpx.get(f"{app.url}/", timeout=30)
        rebound = httpx.get(f"{app.url}/", headers={"Host": f"evil.example:{app.port}"}, timeout=30)
    finally:
        app.stop()
    assert here.status_code == 200
    assert 'data-role="operator"' in here.text
    assert rebound.status_code == 403
    assert "SYNCD_CONSOLE_OPERATOR_PASSWORD" in rebound.text


def test_a_bearer_token_takes_its_role(tmp_path: Path) -> None:
    (tmp_path / "tenants").mkdir()
    settings = ProcessSettings(
        config_dir=tmp_path / "tenants", var_dir=tmp_path / "var", console_viewer_token="tok-view-123"
    )
    app = ServedApp(settings).start()
    try:
        good = httpx.get(f"{app.url}/", headers={"Authorization": "Bearer tok-view-123"}, timeout=30)
        bad = httpx.get(f"{app.url}/", headers={"Authorization": "Bearer tok-view-124"}, timeout=30)
        basic = base64.b64encode(b"viewer:tok-view-123").decode()
        as_basic = httpx.get(f"{app.url}/", headers={"Authorization": f"Basic {basic}"}, timeout=30)
    finally:
        app.stop()
    assert good.status_code == 200
    assert 'data-role="viewer"' in good.text
    assert (bad.status_code, as_basic.status_code) == (401, 401)
