"""Real-browser tests: Debian's Chromium (headless, Playwright sync API) against the app served for
real on 127.0.0.1 with CSRF enabled. Each test asserts what a person would notice on the page.

Screenshots of the main pages go to /tmp/vendorrisk-shots/ for a human to look at.
Run: .venv/bin/pytest tests/test_browser.py -q -p no:cacheprovider   (or: pytest -m browser)
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from browser_support import (  # noqa: F401  (fixtures)
    DESKTOP,
    PHONE,
    TOKEN_LINK,
    LiveServer,
    PageProblems,
    focused_classes,
    new_page,
    no_horizontal_scroll,
    page_problems_fixture,
    shot,
)
from conftest import TEST_PASSWORD
from playwright.sync_api import expect

from vendorrisk.web.answer_forms import field_name

pytestmark = pytest.mark.browser

ERROR_TITLE = re.compile(r"^エラー：")


def _log_in(page: Any, server: LiveServer, role: str = "procurement") -> None:
    page.goto(server.url + "/login")
    page.get_by_label("メールアドレス").fill(server.seed.users[role])
    page.get_by_label("パスワード").fill(TEST_PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("案件一覧")


def _expect_error_page(page: Any, field_id: str, typed: str, screenshot: str) -> None:
    """What a person (and a screen reader) gets after a rejected save."""
    expect(page).to_have_title(ERROR_TITLE)
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("入力内容に問題があります")
    # static/app.js moves focus to the summary so that it is announced.
    expect(summary).to_be_focused()
    assert "error-summary" in focused_classes(page).split()
    no_horizontal_scroll(page)
    shot(page, screenshot)
    field = page.locator(f"#{field_id}")
    expect(field).to_have_value(typed)
    expect(field).to_have_attribute("aria-invalid", "true")


# ---------------------------------------------------------------------------------------------
# 1. Staff: log in, open the engagement, send the invitation, read the link (desktop)


def test_procurement_invites_contractor_and_sees_the_link(browser: Any, live_server: LiveServer,
                                                          page_problems: PageProblems) -> None:
    server = live_server
    page = new_page(browser, page_problems, **DESKTOP)

    page.goto(server.url + "/")
    expect(page).to_have_url(server.url + "/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("職員ログイン")
    assert page.locator("input[name=csrf_token]").get_attribute("value"), "CSRF is on: the form carries a token"
    shot(page, "01-login-desktop")
    _log_in(page, server)

    engagement_id = server.seed.engagements[("tamana-city", "outsourcing")]
    row = page.get_by_role("row").filter(has_text="テスト案件 outsourcing")
    row.get_by_role("link", name="OUT-1").click()
    expect(page).to_have_url(f"{server.url}/staff/engagements/{engagement_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("テスト案件 outsourcing")
    expect(page.get_by_role("heading", name="回答依頼を送る")).to_be_visible()

    email = page.get_by_label("回答者のメールアドレス")
    expect(email).to_have_value("tanto@test-system.example.jp")  # pre-filled from the vendor
    page.get_by_label("回答者の氏名").fill("情報 一郎")
    email.fill("joho@test-system.example.jp")
    shot(page, "02-staff-engagement-desktop")
    page.get_by_role("button", name="回答依頼を送る").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("回答用のリンク")
    expect(page.get_by_role("status")).to_contain_text("回答依頼を送りました。")
    link = page.locator("#invite-link").inner_text().strip()
    match = TOKEN_LINK.match(link)
    assert match, f"the page shows a portal link, got {link!r}"
    assert match.group(1) == server.url
    shot(page, "03-invitation-link-desktop")

    # The engagement now says who was asked; the link works for the contractor (no login).
    page.get_by_role("link", name="案件に戻る").click()
    expect(page.get_by_text("情報 一郎 様（joho@test-system.example.jp）")).to_be_visible()
    contractor = new_page(browser, page_problems, **DESKTOP)
    contractor.goto(link)
    expect(contractor.get_by_role("heading", level=1)).to_contain_text("情報セキュリティに関する確認")
    expect(contractor.locator(".task-list li").first).to_contain_text("未着手")
    page_problems.check()


# ---------------------------------------------------------------------------------------------
# 2. Contractor on a phone: task list, a section, a rejected value, fix it, next page


def test_contractor_on_phone_fixes_a_rejected_value(browser: Any, live_server: LiveServer,
                                                    page_problems: PageProblems) -> None:
    server = live_server
    link = server.invite()
    sections = server.sections(link)
    first, people, after_people = sections[0], sections[1], sections[2]
    assert people.sid == "out.people", "the second outsourcing section asks for people and counts"
    page = new_page(browser, page_problems, **PHONE)

    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_contain_text("情報セキュリティに関する確認")
    tasks = page.locator(".task-list li")
    expect(tasks).to_have_count(len(sections))
    for i in range(len(sections)):
        expect(tasks.nth(i)).to_contain_text("未着手")
    expect(page.get_by_text(f"{len(sections)}項目中 0項目が完了しています。")).to_be_visible()
    no_horizontal_scroll(page)
    shot(page, "04-portal-tasks-phone")

    page.get_by_role("link", name=first.title).tap()
    expect(page.get_by_role("heading", level=1)).to_have_text(first.title)
    expect(page.get_by_text(f"（1 / {len(sections)}）")).to_be_visible()
    no_horizontal_scroll(page)
    isms = page.locator(f"#{field_name('out.select.isms')}-group")
    isms.get_by_label("はい", exact=True).check()
    page.get_by_role("button", name="保存して次へ").tap()

    expect(page.get_by_role("heading", level=1)).to_have_text(people.title)
    no_horizontal_scroll(page)
    count_id = field_name("out.people.staff_count")
    page.locator(f"#{count_id}").fill("三名")
    page.get_by_role("button", name="保存して次へ").tap()

    expect(page.get_by_role("heading", level=1)).to_have_text(people.title)  # stayed on the page
    _expect_error_page(page, count_id, "三名", "05-portal-section-errors-phone")
    expect(page.locator(f"#{count_id}-error")).to_contain_text("数値で入力してください")
    expect(page.locator(".error-summary a")).to_have_attribute("href", f"#{count_id}")

    page.locator(f"#{count_id}").fill("３")  # full-width digits are fine
    page.get_by_role("button", name="保存して次へ").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text(after_people.title)
    expect(page).not_to_have_title(ERROR_TITLE)
    expect(page.locator(".error-summary")).to_have_count(0)

    page.goto(people.url)  # the saved, normalised answer is shown when coming back
    expect(page.locator(f"#{count_id}")).to_have_value("3")
    page_problems.check()


def test_contractor_on_phone_person_with_bad_email(browser: Any, live_server: LiveServer,
                                                   page_problems: PageProblems) -> None:
    """A person's e-mail "not-an-address" with the name left empty is rejected and kept as typed."""
    server = live_server
    link = server.invite()
    people = next(s for s in server.sections(link) if s.sid == "out.people")
    page = new_page(browser, page_problems, **PHONE)

    page.goto(people.url)
    expect(page.get_by_role("heading", level=1)).to_have_text(people.title)
    manager = field_name("out.people.responsible_manager")
    page.locator(f"#{manager}-email").fill("not-an-address")
    page.get_by_role("button", name="保存して次へ").tap()

    expect(page.get_by_role("heading", level=1)).to_have_text(people.title)
    _expect_error_page(page, f"{manager}-email", "not-an-address", "06-portal-person-error-phone")
    expect(page.locator(f"#{manager}-error")).to_contain_text("氏名を入力してください")

    page.locator(f"#{manager}-name").fill("髙橋 𠮷男")
    page.locator(f"#{manager}-email").fill("takahashi@example.jp")
    page.get_by_role("button", name="保存して後で続ける").tap()
    expect(page.get_by_role("heading", level=1)).to_contain_text("情報セキュリティに関する確認")
    page.get_by_role("link", name=people.title).tap()
    expect(page.locator(f"#{manager}-name")).to_have_value("髙橋 𠮷男")
    expect(page.locator(f"#{manager}-email")).to_have_value("takahashi@example.jp")
    page_problems.check()


# ---------------------------------------------------------------------------------------------
# 3. Save, leave, come back later in a fresh browser


def test_save_and_come_back_later(browser: Any, live_server: LiveServer, page_problems: PageProblems) -> None:
    server = live_server
    link = server.invite()
    first = server.sections(link)[0]
    capital_text = "親会社なし。主要株主は創業者一族。外国資本はありません。"
    capital = field_name("out.select.capital")

    page = new_page(browser, page_problems, **PHONE)
    page.goto(link)
    page.get_by_role("link", name=first.title).tap()
    page.locator(f"#{field_name('out.select.isms')}-group").get_by_label("一部", exact=True).check()
    page.locator(f"#{capital}").fill(capital_text)
    page.get_by_role("button", name="保存して後で続ける").tap()
    expect(page.get_by_role("heading", level=1)).to_contain_text("情報セキュリティに関する確認")
    expect(page.get_by_role("status")).to_contain_text("回答を保存しました。")
    page.context.close()

    later = new_page(browser, page_problems, **PHONE)  # no cookies: only the link
    later.goto(link)
    task = later.locator(".task-list li").filter(has_text=first.title)
    expect(task.locator(".status")).to_have_text(re.compile("^(作業中|完了)$"))
    later.get_by_role("link", name=first.title).tap()
    expect(later.locator(f"#{field_name('out.select.isms')}-group").get_by_label("一部", exact=True)).to_be_checked()
    expect(later.locator(f"#{capital}")).to_have_value(capital_text)

    later.get_by_role("link", name="回答する項目の一覧に戻る").tap()
    later.get_by_role("link", name="回答内容を確認する").tap()
    expect(later.get_by_role("heading", level=1)).to_have_text("回答内容の確認")
    expect(later.locator(f"#row-{capital}")).to_contain_text(capital_text)
    expect(later.locator(f"#row-{field_name('out.select.isms')}")).to_contain_text("一部")
    expect(later.get_by_role("button", name="同意して送信する")).to_be_visible()
    no_horizontal_scroll(later)
    shot(later, "08-portal-check-answers-incomplete-phone")
    page_problems.check()


def test_contractor_checks_answers_and_submits(browser: Any, live_server: LiveServer,
                                               page_problems: PageProblems) -> None:
    """Every question answered: the check page lists the answers; 「同意して送信する」 (CSRF on) submits."""
    server = live_server
    link = server.invite()
    server.answer_everything(link)
    page = new_page(browser, page_problems, **PHONE)

    page.goto(link)
    page.get_by_role("link", name="回答内容を確認する").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text("回答内容の確認")
    expect(page).not_to_have_title(ERROR_TITLE)
    expect(page.locator(".error-summary")).to_have_count(0)
    expect(page.locator(f"#row-{field_name('out.people.responsible_manager')}")).to_contain_text("髙橋 優子")
    no_horizontal_scroll(page)
    shot(page, "07-portal-check-answers-phone")

    page.get_by_role("button", name="同意して送信する").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text("回答を送信しました")
    expect(page.get_by_role("status")).to_contain_text("テスト案件 outsourcing")
    shot(page, "09-portal-submitted-phone")

    # The answers are final: a section page sends the person back with an explanation.
    page.goto(server.sections(link)[0].url)
    expect(page.get_by_role("heading", level=1)).to_have_text("回答を送信しました")
    expect(page.get_by_text("回答は提出済みです。")).to_be_visible()
    page_problems.check()


# ---------------------------------------------------------------------------------------------
# 4. Keyboard only: the login form


def test_login_with_keyboard_only(browser: Any, live_server: LiveServer, page_problems: PageProblems) -> None:
    server = live_server
    page = new_page(browser, page_problems, **DESKTOP)
    page.goto(server.url + "/login")

    email = page.get_by_label("メールアドレス")
    # The skip link comes first; then only header items, nothing of the page body, before the e-mail field.
    passed = []
    for _ in range(6):
        page.keyboard.press("Tab")
        if email.evaluate("el => el === document.activeElement"):
            break
        passed.append(page.evaluate(
            "({text: document.activeElement.textContent.trim(), inMain: !!document.activeElement.closest('main')})"
        ))
    expect(email).to_be_focused()
    assert passed and passed[0]["text"] == "本文へ移動", passed
    assert not any(p["inMain"] for p in passed), passed
    page.keyboard.type(server.seed.users["procurement"])
    page.keyboard.press("Tab")
    expect(page.get_by_label("パスワード")).to_be_focused()
    page.keyboard.type(TEST_PASSWORD)
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="ログイン")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_label("パスワード")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page).to_have_url(server.url + "/staff/")
    expect(page.get_by_role("heading", level=1)).to_have_text("案件一覧")
    page_problems.check()


def test_wrong_password_with_keyboard_focuses_the_error(browser: Any, live_server: LiveServer,
                                                       page_problems: PageProblems) -> None:
    server = live_server
    page = new_page(browser, page_problems, **DESKTOP)
    page.goto(server.url + "/login")
    page.get_by_label("メールアドレス").fill(server.seed.users["procurement"])
    page.get_by_label("パスワード").fill("wrong-password")
    page.get_by_label("パスワード").press("Enter")
    expect(page).to_have_title(ERROR_TITLE)
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("メールアドレスまたはパスワードが正しくありません。")
    expect(summary).to_be_focused()
    expect(page.get_by_label("メールアドレス")).to_have_value(server.seed.users["procurement"])
    expect(page.get_by_label("パスワード")).to_have_value("")
    shot(page, "10-login-error-desktop")
    page_problems.check()
