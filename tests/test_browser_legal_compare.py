"""The 新旧対照表 (two annex versions side by side) is readable on a 375 px phone, in the real browser:
no sideways scrolling, both columns' text on screen."""

from __future__ import annotations

from typing import Any

import pytest
from browser_support import (  # noqa: F401  (fixtures)
    PHONE,
    LiveServer,
    PageProblems,
    new_page,
    no_horizontal_scroll,
    page_problems_fixture,
    shot,
)
from conftest import TEST_PASSWORD, approve_through_services
from playwright.sync_api import expect
from sqlalchemy import select

from vendorrisk.extensions import db
from vendorrisk.models import Annex, Engagement, Officer, User

pytestmark = pytest.mark.browser

NARROW = {**PHONE, "viewport": {"width": 375, "height": 812}}


def _two_versions(server: LiveServer) -> tuple[int, int]:
    """An approved engagement whose annex was issued, then issued again after 甲's officer changed."""
    from vendorrisk.services import annexes
    from vendorrisk.services.unit_of_work import unit_of_work

    eid = approve_through_services(server.app, server.seed)
    with server.app.app_context(), unit_of_work():
        officer = db.session.scalar(select(Officer).filter_by(
            role="security_manager", organisation_id=server.seed.org_ids["tamana-city"]))
        officer.name = "新任 長い名前の担当者さん"
        legal = db.session.scalar(select(User).filter_by(email=server.seed.users["legal"]))
        annexes.issue_annex(db.session.get(Engagement, eid), legal)
    with server.app.app_context():
        ids = list(db.session.scalars(select(Annex.id).filter_by(engagement_id=eid).order_by(Annex.version)))
        db.session.remove()
    assert len(ids) == 2
    return ids[1], ids[0]


def test_compare_page_has_no_horizontal_overflow_at_375_px(browser: Any, live_server: LiveServer,
                                                           page_problems: PageProblems) -> None:
    new, old = _two_versions(live_server)
    page = new_page(browser, page_problems, **NARROW)
    page.goto(live_server.url + "/login")
    page.get_by_label("メールアドレス").fill(live_server.seed.users["legal"])
    page.get_by_label("パスワード").fill(TEST_PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.goto(f"{live_server.url}/legal/annexes/{new}/compare/{old}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("新旧対照表")
    expect(page.get_by_text("新任 長い名前の担当者さん").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    # Old and new are stacked, each the screen's width (three columns of ~100 px are not readable).
    widths = page.evaluate("Array.from(document.querySelectorAll('table.taisho td'))"
                           ".map(td => td.getBoundingClientRect().width)")
    assert widths and min(widths) >= 300, widths
    no_horizontal_scroll(page)
    shot(page, "legal-compare-375")
    page.context.close()
    page_problems.check()
