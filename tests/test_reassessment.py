"""Reassessment over the year: the 次回の再評価日 (a year after approval unless set, editable), the
notices `vendorrisk reminders send` gives procurement when it or a certificate's expiry date comes
near or passes (each once, through a real SMTP server), and the invitation history listing the
reminders sent."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from conftest import make_app, seed_data
from sqlalchemy import select
from test_corrections import _edit_data
from test_reminders import _at, _body, _invitation_sent_on, _login, _send, _subject

from vendorrisk.extensions import db
from vendorrisk.models import Engagement, User
from vendorrisk.services.unit_of_work import unit_of_work


@pytest.fixture
def mail_app(backend, tmp_path, request, smtp, password_hash):
    controller, handler = smtp
    app = make_app(backend, tmp_path, request, MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    return app, seed_data(app, password_hash), handler


def _submit_and_approve(app, ns, eid, when, overrides=None):
    from conftest import submitted_invitation

    from vendorrisk.services.review import decide, latest_assessment

    with time_machine.travel(when, tick=False), app.app_context(), unit_of_work():
        submitted_invitation(db.session.get(Engagement, eid), overrides)
        reviewer = db.session.scalar(select(User).filter_by(email=ns.users["reviewer"]))
        decide(latest_assessment(db.session.get(Engagement, eid)), "approved", reviewer, "対策を確認しました。")


def _review_on(app, eid):
    with app.app_context():
        return db.session.get(Engagement, eid).review_on


def test_the_review_date_defaults_to_a_year_after_approval_and_can_be_changed(mail_app):
    app, ns, _handler = mail_app
    eid = ns.engagements[("tamana-city", "outsourcing")]
    client = _login(app, ns.users["procurement"])
    assert "未定（承認した日の1年後になります）" in client.get(f"/staff/engagements/{eid}").get_data(as_text=True)
    _submit_and_approve(app, ns, eid, _at(2027, 2, 1, 10, 0))
    assert _review_on(app, eid) == dt.date(2028, 2, 1)
    page = client.get(f"/staff/engagements/{eid}").get_data(as_text=True)
    assert "次回の再評価日" in page and "令和10年2月1日（火）" in page
    edit = client.get(f"/staff/engagements/{eid}/edit").get_data(as_text=True)
    assert 'value="2028-02-01"' in edit  # pre-filled
    r = client.post(f"/staff/engagements/{eid}/edit", data=_edit_data(app, eid, review_on="令和9年6月30日"))
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    assert _review_on(app, eid) == dt.date(2027, 6, 30)
    assert "令和9年6月30日（水）" in client.get(f"/staff/engagements/{eid}").get_data(as_text=True)
    # A date that does not exist is refused with the form kept, and the stored date stays.
    bad = client.post(f"/staff/engagements/{eid}/edit", data=_edit_data(app, eid, review_on="令和9年2月30日"))
    assert bad.status_code == 200 and "入力内容に問題があります" in bad.get_data(as_text=True)
    assert _review_on(app, eid) == dt.date(2027, 6, 30)


def test_certificate_expiry_and_review_date_notices_are_sent_once(mail_app):
    app, ns, handler = mail_app
    eid = ns.engagements[("tamana-city", "outsourcing")]
    _submit_and_approve(app, ns, eid, _at(2027, 2, 1, 10, 0), {"out.select.isms_expiry": "令和9年4月30日"})
    assert "sent: 0 mails" in _send(app, _at(2027, 2, 26, 9, 0))  # more than 60 days before the expiry
    # 60 days before 4/30: 3/1. Told once, then again once it has expired.
    assert "sent: 1 mails" in _send(app, _at(2027, 3, 1, 9, 0))
    assert "sent: 0 mails" in _send(app, _at(2027, 3, 2, 9, 0))
    soon = handler.messages[-1]
    assert soon["To"] == "procurement@tamana.test"
    assert _subject(soon) == "【玉名市】ISMS認証の有効期限が近づいています（テスト案件 outsourcing）"
    assert "ISMS認証の有効期限（令和9年4月30日（金））が近づいています。" in _body(soon)
    assert f"/staff/engagements/{eid}" in _body(soon)
    assert "sent: 1 mails" in _send(app, _at(2027, 5, 1, 9, 0))
    assert "sent: 0 mails" in _send(app, _at(2027, 5, 6, 9, 0))
    assert _subject(handler.messages[-1]) == "【玉名市】ISMS認証の有効期限を過ぎました（テスト案件 outsourcing）"
    # The review date set to 6/30（水）: 20 開庁日 before it is 6/2（水）.
    with app.app_context(), unit_of_work():
        db.session.get(Engagement, eid).review_on = dt.date(2027, 6, 30)
    assert "sent: 0 mails" in _send(app, _at(2027, 6, 1, 9, 0))
    assert "sent: 1 mails" in _send(app, _at(2027, 6, 2, 9, 0))
    assert "sent: 0 mails" in _send(app, _at(2027, 6, 3, 9, 0))
    due = handler.messages[-1]
    assert _subject(due) == "【玉名市】再評価の時期です（テスト案件 outsourcing）"
    assert "次回の再評価日（令和9年6月30日（水））が近づいています。" in _body(due)
    assert "sent: 1 mails" in _send(app, _at(2027, 7, 1, 9, 0))
    assert "sent: 0 mails" in _send(app, _at(2027, 7, 2, 9, 0))
    assert "次回の再評価日（令和9年6月30日（水））を過ぎました。" in _body(handler.messages[-1])
    assert len(handler.messages) == 4


def test_the_invitation_history_lists_the_reminders_sent(mail_app):
    app, ns, _handler = mail_app
    eid = ns.engagements[("tamana-city", "cloud")]
    _invitation_sent_on(app, eid, _at(2027, 1, 4, 9, 0), dt.date(2027, 1, 15))
    assert "sent: 1 mails" in _send(app, _at(2027, 1, 12, 9, 0))
    page = _login(app, ns.users["procurement"]).get(f"/staff/engagements/{eid}").get_data(as_text=True)
    history = page.split("history-table", 1)[1]
    assert "お知らせを送信（回答期限の前）" in history and "yamasaki@example.jp" in history
