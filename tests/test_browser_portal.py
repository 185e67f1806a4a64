"""The contractor's session is lost (cookies cleared, or the session expired) while a section page is
open: on a real 375 px phone, with JavaScript on and off, pressing 「保存して次へ」 brings the page back
with everything typed and a plain message; pressing it again saves."""

from __future__ import annotations

from typing import Any

import pytest
from browser_support import (  # noqa: F401  (fixtures)
    PHONE_375,
    LiveServer,
    PageProblems,
    new_page,
    no_horizontal_scroll,
    page_problems_fixture,
    shot,
)
from playwright.sync_api import expect
from sqlalchemy import select

from vendorrisk.extensions import db
from vendorrisk.models import Answer
from vendorrisk.web.answer_forms import field_name


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_lost_session_keeps_what_was_typed_at_375px(browser: Any, live_server: LiveServer,
                                                    page_problems: PageProblems, javascript: bool) -> None:
    link = live_server.invite()
    people = next(s for s in live_server.sections(link) if s.sid == "out.people")
    page = new_page(browser, page_problems, **PHONE_375, java_script_enabled=javascript)
    page.goto(people.url)
    expect(page.get_by_role("heading", level=1)).to_have_text(people.title)
    no_horizontal_scroll(page)
    site_id = field_name("out.people.work_site")
    typed = "熊本県玉名市岩崎163 髙島屋ビル3階"
    page.locator(f"#{site_id}").fill(typed)
    page.locator(f"#{field_name('out.people.responsible_manager')}-name").fill("髙橋 𠮷男")
    page.context.clear_cookies()  # the session is gone: its CSRF token no longer matches
    page.get_by_role("button", name="保存して次へ").tap()

    expect(page.get_by_role("heading", level=1)).to_have_text(people.title)
    expect(page.locator(".notice-error")).to_contain_text("入力内容はこの画面に残しています")
    expect(page.locator(f"#{site_id}")).to_have_value(typed)
    expect(page.locator(f"#{field_name('out.people.responsible_manager')}-name")).to_have_value("髙橋 𠮷男")
    no_horizontal_scroll(page)
    shot(page, f"portal-session-lost-375-{'js' if javascript else 'nojs'}")
    if not javascript:  # (with JavaScript, the autosave may have kept it before the session was lost)
        with live_server.app.app_context():
            assert db.session.scalar(select(Answer).filter_by(question_id="out.people.work_site")) is None
            db.session.remove()

    page.get_by_role("button", name="保存して次へ").tap()  # the page came back with a fresh token
    expect(page.get_by_role("heading", level=1)).not_to_have_text(people.title)
    with live_server.app.app_context():
        saved = db.session.scalar(select(Answer).filter_by(question_id="out.people.work_site"))
        assert saved is not None and saved.value == typed
        db.session.remove()
    # The refused save (and autosave) answer 400 on purpose (the browser logs it); nothing else may.
    page_problems.messages = [m for m in page_problems.messages
                              if not ("status of 400" in m and m.endswith((people.url, people.url + "/autosave")))]
    page_problems.check()
