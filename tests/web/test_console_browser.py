"""The console in a real headless Chromium (Debian's, driven by Playwright) against a running daemon.

`syncd web` and `syncd worker` are real processes on a real Redis; the tenant was synced against
the sandbox and has invalid rows. An operator sees it degraded, filters its failures, fixes a row
in the source, retries it from the console and watches it settle, and resyncs a stream; a viewer
sees no buttons and a forged POST is refused. Every page's HTML is searched for the source's
e-mail addresses and phone numbers. Waits are on what the pages show, reloaded, never on time.

The screenshots in docs/ are this test's: ``CONSOLE_SCREENSHOTS=docs/images pytest -k browser``.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, HttpCredentials, Page, sync_playwright

from syncd.demo import DemoSource, Invalid, generate_source, write_demo_config
from syncd.sandbox import SandboxProcess
from tests.daemon.harness import SYNCD, Daemon, daemon_env
from tests.test_redaction import Needles, needles
from tests.waiting import wait_until

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
OPERATOR = HttpCredentials(username="operator", password="op-secret-2")
VIEWER = HttpCredentials(username="viewer", password="view-secret-2")

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


@dataclass
class Console:
    url: str
    daemon: Daemon
    demo: DemoSource
    source: Path
    found: Needles
    pages_seen: list[str] = field(default_factory=list)
    shots: Path | None = None

    def look(self, page: Page, shot: str | None = None) -> str:
        """The page's HTML, searched for contact data; a screenshot when asked for one."""
        html = page.content()
        leaks = self.found.hits(html)
        assert leaks == [], f"{page.url}: {leaks}"
        self.pages_seen.append(page.url)
        if shot and self.shots is not None:
            page.screenshot(path=str(self.shots / f"console-{shot}.png"), full_page=True)
        return html


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def console(tmp_path: Path, sandbox: SandboxProcess, redis_url: str) -> Iterator[Console]:
    env = daemon_env(
        tmp_path,
        redis_url,
        SYNCD_CONSOLE_OPERATOR_PASSWORD=OPERATOR["password"],
        SYNCD_CONSOLE_VIEWER_PASSWORD=VIEWER["password"],
    )
    daemon = Daemon(tmp_path, env)
    source = tmp_path / "acme-source.sqlite"
    demo = generate_source(f"sqlite:///{source}", customers=150, companies=30, invalid_fraction=0.1, seed=20)
    assert Invalid.DUPLICATE_NIP in demo.invalid_companies.values(), "a permanent failure degrades the tenant"
    config = write_demo_config(
        daemon.tenant_dir / "acme.toml",
        f"sqlite:///{source}",
        sandbox.url,
        user=sandbox.user,
        state_url=f"sqlite:///{tmp_path / 'state.sqlite'}",
        interval=3600,
    )
    synced = subprocess.run(
        [SYNCD, "sync", "--config", str(config)], env=env, capture_output=True, text=True, timeout=120
    )
    assert synced.returncode == 2, synced.stderr[-3000:]
    port = free_port()
    daemon.start("web", "web", "--port", str(port))
    daemon.worker(concurrency=1)
    url = f"http://127.0.0.1:{port}"
    daemon.wait_for("syncd web", lambda: _answers(f"{url}/health"))
    shots = os.environ.get("CONSOLE_SCREENSHOTS")
    found = needles(f"sqlite:///{source}", sandbox.user, sandbox.password)
    try:
        yield Console(url, daemon, demo, source, found, shots=Path(shots) if shots else None)
    finally:
        daemon.stop_all()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code in (200, 503)
    except httpx.TransportError:
        return False


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            launched.close()


def fix_surname(source: Path, key: str) -> None:
    """What the company does about a rejected row: corrects it in its own database."""
    with sqlite3.connect(source) as db:
        db.execute(
            "UPDATE customers SET last_name = 'Nowak', updated_at = datetime('now') WHERE id = ?", (int(key),)
        )


def reloaded_until(page: Page, what: str, shown: str, timeout: float = 90) -> None:
    """Reload until ``shown`` (a CSS selector) is on the page: the page says when the work is done."""

    def check() -> bool:
        page.reload()
        return page.locator(shown).count() > 0

    wait_until(what, check, timeout, poll=0.5)


def test_an_operator_fixes_retries_and_resyncs_and_a_viewer_only_looks(
    console: Console, browser: Browser
) -> None:
    operator = browser.new_context(http_credentials=OPERATOR, base_url=console.url).new_page()

    # the overview: degraded, with the verdict's reason
    operator.goto("/")
    card = operator.locator('[data-tenant="acme"]')
    assert card.locator("[data-health]").get_attribute("data-health") == "degraded"
    assert "permanent failure refused by Thulium" in card.locator(".reason").inner_text()
    console.look(operator, "overview")

    # the failures page, filtered by kind
    operator.click('a[href="/tenants/acme"]')
    console.look(operator, "tenant")
    operator.click('a[href="/tenants/acme/failures"]')
    operator.select_option('#filters select[name="kind"]', "rejected")
    operator.click('#filters button[type="submit"]')
    kinds = set(
        operator.locator("#failures tr[data-kind]").evaluate_all("rows => rows.map(r => r.dataset.kind)")
    )
    assert kinds == {"rejected"}
    console.look(operator, "failures")

    # a row fixed in the source, retried from its detail page, settles
    key = next(
        k for k, problem in console.demo.invalid_customers.items() if problem is Invalid.MISSING_SURNAME
    )
    fix_surname(console.source, key)
    operator.goto(f"/tenants/acme/failure?stream=customers&key={key}")
    console.look(operator, "failure")
    assert operator.locator('#failure tr[data-field="status"] td').inner_text() == "open"
    operator.click("#retry-one")
    retry_job = queued_job(operator)
    operator.goto("/tenants/acme")
    reloaded_until(operator, "the retry's run to finish", finished(retry_job))
    operator.goto("/tenants/acme/failures?stream=customers")  # any kind: a retried row turns retryable
    assert operator.locator(f'#failures tr[data-key="{key}"]').count() == 0, "the fixed row settled"
    console.look(operator)

    # a resync of one stream, queued and carried by the worker
    operator.goto("/tenants/acme")
    operator.select_option('#resync select[name="stream"]', "customers")
    operator.click('#resync button[type="submit"]')
    reloaded_until(operator, "the resync to finish", finished(queued_job(operator)))
    console.look(operator)

    # a viewer: the same pages, no buttons, and a POST forged with the operator's token is refused
    token = operator.locator('input[name="csrf_token"]').first.get_attribute("value") or ""
    viewer = browser.new_context(http_credentials=VIEWER, base_url=console.url).new_page()
    viewer.goto("/tenants/acme/failures")
    assert viewer.locator("#retry-chosen, #resolve-chosen, input[type=checkbox]").count() == 0
    viewer.goto("/tenants/acme")
    assert viewer.locator("#resync").count() == 0
    console.look(viewer)
    forged = viewer.request.post("/tenants/acme/failures/resolve", form={"csrf_token": token})
    assert forged.status == 403
    open_rows = viewer.locator("#streams tr[data-stream]").count()
    assert open_rows >= 2, "companies and customers are listed"


def queued_job(page: Page) -> str:
    """The job id the notice after an action names (``… queued job 0123abcd …``)."""
    notice = page.locator(".notice").inner_text()
    assert "queued job " in notice, notice
    return notice.split("queued job ", 1)[1].split()[0].rstrip(":")


def finished(job_id: str) -> str:
    job = f'#jobs tr[data-job="{job_id}"]'
    return f'{job}[data-status="ok"], {job}[data-status="partial"]'
