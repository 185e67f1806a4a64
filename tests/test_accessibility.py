"""axe-core in the real browser on every page at 1280 and 375 px: no WCAG 2.0/2.1/2.2 A or AA
violation. axe.min.js comes from npm (`make vendor-checkers` packs it into .cache/checkers).

The pages come from the URL map (as tests/test_html_validity.py does): every GET route that answers
with an HTML page, with the ids it needs (tests/test_access_matrix.py's sample world), opened as the
role that uses it (the first of procurement, reviewer, legal, admin allowed there by the access
matrix; the contractor's pages with the token link alone). A new page is checked from its first day."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from browser_support import CHROMIUM_ARGS  # noqa: F401
from test_access_matrix import EXPECT, _rules, _url, build_world

AXE = Path(__file__).resolve().parent.parent / ".cache" / "checkers" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
WIDTHS = (1280, 375)
ROLES = ("procurement", "reviewer", "legal", "admin")  # who uses a page: the first allowed
PASSWORD = "correct-horse-battery-2026"
# Pages reached only by a route that is not a plain GET of the URL map.
EXTRA = {"anonymous": ["/r/" + "x" * 43 + "/"]}  # the 404 page a wrong or expired link shows
_ = CHROMIUM_ARGS


def _require_axe() -> str:
    if not AXE.exists():
        message = f"{AXE} is missing: run `make vendor-checkers` (needs npm)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return AXE.read_text(encoding="utf-8")


def _who(endpoint: str) -> str | None:
    allowed = EXPECT[endpoint]["GET"]
    if endpoint.startswith("portal.") or allowed.get("anonymous") == 200:
        return "anonymous"
    return next((role for role in ROLES if allowed.get(role) == 200), None)


def _pages(live_server) -> dict[str, list[str]]:
    """Role → the HTML pages it is checked on (found with a test client as that role)."""
    app, seed = live_server.app, live_server.seed
    world = build_world(app, seed)
    clients = {"anonymous": app.test_client()}
    pages: dict[str, list[str]] = {who: list(paths) for who, paths in EXTRA.items()}
    for endpoint, method, rule in _rules(app):
        if method != "GET" or endpoint.startswith(("api.", "static", "health")):
            continue
        who = _who(endpoint)
        if who is None:  # answers no one with a page (auth.index redirects; a scan that is not there)
            continue
        if who not in clients:
            clients[who] = app.test_client()
            login = {"email": seed.users[who], "password": PASSWORD, "csrf_token": _csrf(clients[who])}
            assert clients[who].post("/login", data=login).status_code == 302
        url = _url(rule, world)
        response = clients[who].get(url)
        response.close()
        if response.status_code == 200 and response.mimetype == "text/html":
            pages.setdefault(who, []).append(url)
    return pages


def _csrf(client) -> str:
    page = client.get("/login").get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, "the login form carries a CSRF token"
    return match.group(1)



def _violations(page, source: str) -> list[str]:
    page.evaluate(source)
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS)
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"]]


def test_every_page_passes_axe_at_desktop_and_phone_widths(browser, live_server):
    source = _require_axe()
    pages = _pages(live_server)
    checked = {path for paths in pages.values() for path in paths}
    assert len(checked) >= 25, sorted(checked)
    problems = []
    for width in WIDTHS:
        for who, paths in pages.items():
            context = browser.new_context(viewport={"width": width, "height": 900}, locale="ja-JP", bypass_csp=True)
            page = context.new_page()
            if who != "anonymous":
                page.goto(live_server.url + "/login")
                page.fill("#email", live_server.seed.users[who])
                page.fill("#password", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(lambda url: "/login" not in url)
            for path in paths:
                page.goto(live_server.url + path)
                problems += [f"{width}px {who} {path}: {v}" for v in _violations(page, source)]
                # The correction, confirmation, history and audit pages: cards at 375 px, never sideways.
                if width == 375 and re.search(r"/edit$|/invitations/|/audit|/engagements/\d+$", path):
                    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                    if overflow > 0:
                        problems.append(f"{width}px {path}: scrolls sideways by {overflow}px")
            context.close()
    assert not problems, "\n".join(problems)
