"""axe-core in the real browser on every page at 1280 and 375 px: no WCAG 2.0/2.1/2.2 A or AA
violation. axe.min.js comes from npm (`make vendor-checkers` packs it into .cache/checkers)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from browser_support import CHROMIUM_ARGS  # noqa: F401
from sqlalchemy import select

AXE = Path(__file__).resolve().parent.parent / ".cache" / "checkers" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
WIDTHS = (1280, 375)
_ = CHROMIUM_ARGS


def _require_axe() -> str:
    if not AXE.exists():
        message = f"{AXE} is missing: run `make vendor-checkers` (needs npm)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return AXE.read_text(encoding="utf-8")


def _pages(live_server) -> tuple[list[str], list[str]]:
    from vendorrisk.extensions import db
    from vendorrisk.models import Engagement, Invitation

    link = live_server.invite(kind="cloud")
    sections = live_server.sections(link)
    portal = [link, sections[0].url, link.rstrip("/") + "/check"]
    with live_server.app.app_context():
        eid, vid = db.session.execute(select(Engagement.id, Engagement.vendor_id).order_by(Engagement.id)).first()
        invited, inv_id = db.session.execute(select(Invitation.engagement_id, Invitation.id)).first()
        db.session.remove()
    staff = ["/staff/", "/staff/vendors", "/staff/vendors/new", "/staff/engagements/new", f"/staff/engagements/{eid}",
             "/staff/trace", "/legal/", "/admin/organisation", "/admin/articles", "/admin/articles/confidentiality",
             "/admin/policy/editions", "/admin/jobs/", "/admin/api-keys/", "/account/password",
             # corrections, confirmations, the invitation history and the audit trail
             f"/staff/engagements/{eid}/edit", f"/staff/vendors/{vid}/edit", f"/staff/engagements/{invited}",
             f"/staff/invitations/{inv_id}/revoke", f"/staff/invitations/{inv_id}/resend",
             f"/staff/invitations/{inv_id}/sent", "/staff/audit"]
    return staff, [live_server.path(p) for p in portal]



def _violations(page, source: str) -> list[str]:
    page.evaluate(source)
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS)
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"]]


def test_every_page_passes_axe_at_desktop_and_phone_widths(browser, live_server):
    source = _require_axe()
    staff, portal = _pages(live_server)
    problems = []
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 900}, locale="ja-JP", bypass_csp=True)
        page = context.new_page()
        for path in ["/login", *portal]:
            page.goto(live_server.url + path)
            problems += [f"{width}px {path}: {v}" for v in _violations(page, source)]
        page.goto(live_server.url + "/login")
        page.fill("#email", live_server.seed.users["admin"])
        page.fill("#password", "correct-horse-battery-2026")
        page.click("button[type=submit]")
        for path in staff:
            page.goto(live_server.url + path)
            problems += [f"{width}px {path}: {v}" for v in _violations(page, source)]
            if width == 375 and re.search(r"/edit$|/invitations/|/audit|/engagements/\d+$", path):
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                if overflow > 0:
                    problems.append(f"{width}px {path}: scrolls sideways by {overflow}px")
        context.close()
    assert not problems, "\n".join(problems)
