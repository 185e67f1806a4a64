"""Real-browser support: the app served for real by werkzeug on 127.0.0.1 (SQLite, CSRF on) and
Debian's Chromium driven through Playwright's sync API.

Used by tests/test_browser.py. Chromium is /usr/bin/chromium (Debian package, installed by
`make system-deps`); `playwright install` is never needed. Without it the browser tests are
skipped, except under CI=true where a missing browser is a failure.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import make_app, seed_data
from flask import Flask
from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path("/tmp/vendorrisk-shots")

DESKTOP: dict[str, Any] = {
    "viewport": {"width": 1280, "height": 900},
    "locale": "ja-JP",
    "timezone_id": "Asia/Tokyo",
}
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
    "locale": "ja-JP",
    "timezone_id": "Asia/Tokyo",
}

# The narrowest phone the portal is checked at (iPhone SE / mini class), 375 CSS px wide.
PHONE_375: dict[str, Any] = {**PHONE, "viewport": {"width": 375, "height": 667}}

# How long a page may take to do anything before the test fails (ms); the app answers locally.
TIMEOUT_MS = 15_000


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {CHROMIUM} does not exist: install the Debian package chromium (make system-deps).")
    pytest.skip(f"{CHROMIUM} does not exist (Debian package chromium; `make system-deps` installs it)")


@pytest.fixture(scope="session", name="browser")
def browser_fixture() -> Iterator[Any]:
    """One headless Chromium for the session; each test opens its own contexts (fresh cookies)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class LiveServer:
    url: str
    app: Flask
    seed: SimpleNamespace

    def path(self, link: str) -> str:
        """The path of a link shown by the app (it is built from BASE_URL = this server)."""
        assert link.startswith(self.url + "/"), f"{link!r} does not point at the running app {self.url}"
        return link[len(self.url):]

    def invite(self, slug: str = "tamana-city", kind: str = "outsourcing") -> str:
        """An invitation sent the way the staff page sends it; returns the link the contractor gets."""
        from vendorrisk.extensions import db
        from vendorrisk.models import Engagement
        from vendorrisk.services.invitations import send_invitation

        with self.app.app_context():
            engagement = db.session.get(Engagement, self.seed.engagements[(slug, kind)])
            sent = send_invitation(engagement, recipient_email="tanto@test-system.example.jp",
                                            recipient_name="回答 担当者", user=None)
            db.session.commit()
            link = sent.link
            db.session.remove()
        return link

    def answer_everything(self, link: str) -> None:
        """Store a good answer to every applicable question (as the demo does), not yet submitted."""
        from vendorrisk.demo import demo_answers
        from vendorrisk.extensions import db
        from vendorrisk.services.answers import save_answers
        from vendorrisk.services.definitions import invitation_questionnaires
        from vendorrisk.services.invitations import invitation_for_token

        with self.app.app_context():
            invitation = invitation_for_token(self._token(link))
            engagement = invitation.engagement
            profile = engagement.profile()
            answers = {k: v for q in invitation_questionnaires(invitation)
                       for k, v in demo_answers(q.applicable(profile), engagement.vendor, engagement).items()}
            save_answers(invitation, answers)
            db.session.commit()
            db.session.remove()

    @staticmethod
    def _token(link: str) -> str:
        return link.rstrip("/").rsplit("/", 1)[-1]

    def sections(self, link: str) -> list[SimpleNamespace]:
        """The applicable sections of the invitation behind `link`, in task-list order."""
        from vendorrisk.extensions import db
        from vendorrisk.services.definitions import invitation_questionnaires
        from vendorrisk.services.invitations import invitation_for_token

        out = []
        with self.app.app_context():
            invitation = invitation_for_token(self._token(link))
            profile = invitation.engagement.profile()
            for q in invitation_questionnaires(invitation):
                applicable = {x.id for x in q.applicable(profile)}
                for s in q.sections:
                    questions = [x for x in s.questions if x.id in applicable]
                    if questions:
                        out.append(SimpleNamespace(qid=q.id, sid=s.id, title=s.title_ja, questions=questions,
                                                   url=f"{link.rstrip('/')}/s/{q.id}/{s.id}"))
            db.session.remove()
        return out


@pytest.fixture(name="live_server")
def live_server_fixture(tmp_path: Path, request: pytest.FixtureRequest, password_hash: str) -> Iterator[LiveServer]:
    """The app on a real socket: SQLite file from the migrated template, seed data, CSRF ENABLED."""
    app = make_app("sqlite", tmp_path / "instance", request, WTF_CSRF_ENABLED=True)
    seed = seed_data(app, password_hash)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = url  # invitation links shown/mailed by the app point at this server
    thread = threading.Thread(target=server.serve_forever, name="vendorrisk-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=url, app=app, seed=seed)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@dataclass
class PageProblems:
    """JavaScript errors and console errors a page produced (a CSP violation shows up here too)."""

    messages: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> Any:
        def on_console(msg: Any) -> None:
            if msg.type == "error" and not (msg.location or {}).get("url", "").endswith("/favicon.ico"):
                self.messages.append(f"console: {msg.text} @ {(msg.location or {}).get('url', '')}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.messages.append(f"pageerror: {exc}"))
        return page

    def check(self) -> None:
        assert not self.messages, "the browser reported errors:\n" + "\n".join(self.messages)


@pytest.fixture(name="page_problems")
def page_problems_fixture() -> PageProblems:
    """Call `.check()` at the end of a test: no JavaScript error, no console error (CSP included)."""
    return PageProblems()


def new_page(browser: Any, problems: PageProblems, **options: Any) -> Any:
    context = browser.new_context(**options)
    context.set_default_timeout(TIMEOUT_MS)
    return problems.watch(context.new_page())


def shot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def no_horizontal_scroll(page: Any) -> None:
    widths = page.evaluate(
        "({scroll: document.documentElement.scrollWidth, inner: window.innerWidth,"
        " wide: Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right"
        " > window.innerWidth + 1).slice(0, 5).map(e => e.tagName + (e.id ? '#' + e.id : '') +"
        " (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : ''))})"
    )
    assert widths["scroll"] <= widths["inner"], (
        f"{page.url}: the page scrolls sideways on a phone (scrollWidth {widths['scroll']} > innerWidth "
        f"{widths['inner']}); widest elements: {widths['wide']}"
    )


def focused_classes(page: Any) -> str:
    return str(page.evaluate("document.activeElement ? (document.activeElement.className || '') : ''"))


TOKEN_LINK = re.compile(r"^(http://127\.0\.0\.1:\d+)/r/([A-Za-z0-9_\-]{40,})$")
