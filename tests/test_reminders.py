"""Deadlines counted in 開庁日 through the real invitation form, and `vendorrisk reminders send`:
contractor reminders before and after the deadline, staff notices (submissions, decisions waiting,
是正 deadlines passed), each mail sent once (also under two runs at once), through a real SMTP
server on loopback; per-organisation templates, escaped; one date style on pages and mails."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import threading
from email import message_from_bytes
from email.header import decode_header, make_header
from email.policy import default as default_policy

import pytest
import time_machine
from conftest import TEST_PASSWORD, make_app, seed_data
from helpers import token_from_outbox_or_page
from sqlalchemy import select
from test_jobs import REDIS, _run_worker, needs_redis

from vendorrisk.domain.vocabulary import JST
from vendorrisk.extensions import db
from vendorrisk.models import Engagement, Invitation, JobRun, MailLog, Organisation, User
from vendorrisk.services import organisation_settings, reminders
from vendorrisk.services.unit_of_work import unit_of_work


def _at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=JST)


@pytest.fixture
def mail_app(backend, tmp_path, request, smtp, password_hash):
    controller, handler = smtp
    app = make_app(backend, tmp_path, request, MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    return app, seed_data(app, password_hash), handler


def _login(app, email):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": TEST_PASSWORD}).status_code == 302
    return client


def _body(message) -> str:
    return message_from_bytes(message.as_bytes(), policy=default_policy).get_body().get_content()


def _subject(message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def _invite(client, eid, **data):
    # Sending is POST-redirect-GET: follow to the page that shows the link once.
    return client.post(f"/staff/engagements/{eid}/invite", data={"recipient_email": "yamasaki@example.jp", **data},
                       follow_redirects=True)


def test_open_days_skip_year_end_and_a_substitute_holiday_through_the_form(mail_app):
    app, ns, handler = mail_app
    eid = ns.engagements[("tamana-city", "cloud")]
    # 令和8年12月25日（金）: 3 開庁日 → 28日（月）, 12/29–1/3 closed, 1/4（月）, 1/5（火）.
    with time_machine.travel(_at(2026, 12, 25, 10, 0), tick=False):
        client = _login(app, ns.users["procurement"])
        r = _invite(client, eid, open_days="3")
        page = r.get_data(as_text=True)
        assert r.status_code == 200, page[:2000]
        assert "回答期限は 令和9年1月5日（火） です" in page
        token = token_from_outbox_or_page(page)
        engagement_page = client.get(f"/staff/engagements/{eid}").get_data(as_text=True)
        assert "回答期限 令和9年1月5日（火）" in engagement_page
        assert "令和8年12月25日（金）に送信" in engagement_page
        assert not re.search(r"\d{4}-\d{2}-\d{2}", engagement_page.split("<form")[0])
        start = app.test_client().get(f"/r/{token}/").get_data(as_text=True)
        assert "<dt>回答の期限</dt><dd>令和9年1月5日（火）（この日の終わりまで）</dd>" in start
    with app.app_context():
        invitation = db.session.scalar(select(Invitation).filter_by(engagement_id=eid))
        assert invitation.due_on == dt.date(2027, 1, 5)
        assert invitation.expires_at == _at(2027, 1, 6, 0, 0)
    # The mail: the same date style, no Western date, signed with the organisation.
    body = _body(handler.messages[-1])
    assert "回答期限：令和9年1月5日（火）（この日の終わりまでリンクが使えます）" in body
    assert not re.search(r"20\d\d[年/-]", body)
    # The link works to the end of the due day (JST), not a minute longer.
    with time_machine.travel(_at(2027, 1, 5, 23, 59), tick=False):
        assert app.test_client().get(f"/r/{token}/").status_code == 200
    with time_machine.travel(_at(2027, 1, 6, 0, 0, 1), tick=False):  # the expired-link page says whom to ask
        assert app.test_client().get(f"/r/{token}/").status_code == 410

    # 令和9年3月19日（金）: 21日（春分の日）is a Sunday, so 22日（月）is a 振替休日: 1 開庁日 → 23日（火）.
    eid2 = ns.engagements[("tamana-city", "social_media")]
    with time_machine.travel(_at(2027, 3, 19, 9, 0), tick=False):
        client = _login(app, ns.users["procurement"])
        page = _invite(client, eid2, open_days="1").get_data(as_text=True)
        assert "回答期限は 令和9年3月23日（火） です" in page
        # A chosen day on which the office is closed is refused, with what was typed kept.
        r = _invite(client, eid2, due_date="令和9年3月22日", open_days="")
        page = r.get_data(as_text=True)
        assert r.status_code == 400
        assert "入力内容に問題があります" in page and "振替休日" in page and 'value="令和9年3月22日"' in page
        # A chosen open day is the deadline as given.
        page = _invite(client, eid2, due_date="2027-03-26").get_data(as_text=True)
        assert "回答期限は 令和9年3月26日（金） です" in page


def test_an_organisation_closure_day_is_skipped(mail_app):
    app, ns, _ = mail_app
    eid = ns.engagements[("tamana-city", "cloud")]
    with time_machine.travel(_at(2027, 3, 19, 9, 0), tick=False):
        admin = _login(app, ns.users["admin"])
        form = {"open_days": "10", "remind_before": "3", "remind_after": "1",
                "closure_days": "令和9年3月23日\n2027-03-24", "department": "総務部 情報政策課",
                "phone": "0968-75-1111", "address": "熊本県玉名市岩崎163", "sender": "joho@city.tamana.example.jp"}
        bad = admin.post("/admin/deadlines", data={**form, "closure_days": "令和9年3月23日\nあした"})
        assert bad.status_code == 400 and "2行目「あした」を日付として読めません" in bad.get_data(as_text=True)
        assert admin.post("/admin/deadlines", data=form).status_code == 302
        assert "令和9年3月23日（火）" in admin.get("/admin/organisation").get_data(as_text=True)
        client = _login(app, ns.users["procurement"])
        page = _invite(client, eid, open_days="1").get_data(as_text=True)
        # 22日 振替休日, 23日・24日 the organisation's closure days → 25日（木）.
        assert "回答期限は 令和9年3月25日（木） です" in page
        page = client.get(f"/staff/engagements/{eid}").get_data(as_text=True)
        assert "どちらも空欄の場合は10開庁日後" in page


def _invitation_sent_on(app, eid, when: dt.datetime, due: dt.date, name: str = "山崎 一郎") -> int:
    from vendorrisk.services.invitations import send_invitation

    with time_machine.travel(when, tick=False), app.app_context(), unit_of_work():
        sent = send_invitation(db.session.get(Engagement, eid), recipient_email="yamasaki@example.jp",
                               recipient_name=name, due_on=due)
        invitation_id = sent.invitation.id
    return invitation_id


def _send(app, when: dt.datetime) -> str:
    with time_machine.travel(when, tick=False):
        result = app.test_cli_runner().invoke(args=["reminders", "send"])
    assert result.exit_code == 0, result.output
    return result.output


def test_contractor_reminders_before_and_after_are_sent_once(mail_app):
    app, ns, handler = mail_app
    eid = ns.engagements[("tamana-city", "cloud")]
    # Sent 1/4（月）, due 1/15（金）. 3 開庁日 before: 1/12（火）（1/11 成人の日 is not counted）.
    _invitation_sent_on(app, eid, _at(2027, 1, 4, 9, 0), dt.date(2027, 1, 15))
    assert "sent: 0 mails" in _send(app, _at(2027, 1, 11, 9, 0))
    assert "sent: 1 mails" in _send(app, _at(2027, 1, 12, 9, 0))
    assert "sent: 0 mails" in _send(app, _at(2027, 1, 12, 9, 30))  # the same hour: the same job
    assert "sent: 0 mails" in _send(app, _at(2027, 1, 13, 10, 0))  # another run: the key is taken
    assert [_subject(m) for m in handler.messages] == ["【玉名市】回答期限が近づいています（テスト案件 cloud）"]
    body = _body(handler.messages[0])
    assert "山崎 一郎 様" in body and "回答期限：令和9年1月15日（金）（この日の終わりまで）" in body
    # 1 開庁日 after the deadline: 1/18（月）.
    assert "sent: 0 mails" in _send(app, _at(2027, 1, 16, 9, 0))
    assert "sent: 1 mails" in _send(app, _at(2027, 1, 18, 9, 0))
    assert "sent: 0 mails" in _send(app, _at(2027, 1, 19, 9, 0))
    assert _subject(handler.messages[1]) == "【玉名市】回答期限を過ぎています（テスト案件 cloud）"
    with app.app_context():
        logged = db.session.scalars(select(MailLog).order_by(MailLog.id)).all()
        assert [(m.kind, m.recipient, m.sent_at is not None) for m in logged] == [
            ("reminder_before", "yamasaki@example.jp", True), ("reminder_after", "yamasaki@example.jp", True)]


def test_two_runs_at_once_send_each_mail_once(mail_app):
    app, ns, handler = mail_app
    for kind in ("cloud", "social_media"):
        _invitation_sent_on(app, ns.engagements[("tamana-city", kind)], _at(2027, 1, 4, 9, 0), dt.date(2027, 1, 15))
    org_id = ns.org_ids["tamana-city"]
    barrier = threading.Barrier(2)
    counts: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with app.app_context():
                barrier.wait()
                counts.append(reminders.send_for_organisation(org_id, _at(2027, 1, 12, 9, 0)))
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert sum(counts) == 2
    assert len(handler.messages) == 2
    with app.app_context():
        assert len(db.session.scalars(select(MailLog)).all()) == 2


def _finding_question(app, eid):
    """A weighted, always shown, not must-pass yes/no question of the engagement: "no" makes a finding."""
    from vendorrisk.domain.questionnaire import select_for_engagement
    from vendorrisk.services.definitions import current_definitions

    with app.app_context():
        profile = db.session.get(Engagement, eid).profile()
        for q in select_for_engagement(current_definitions(), profile):
            for question in q.applicable(profile):
                if (question.type == "yesno" and question.weight > 0 and not question.must_pass
                        and not question.shown_when):
                    return question.id
    raise AssertionError("no yes/no question")


def test_staff_are_told_of_submissions_waiting_decisions_and_passed_remediation(mail_app, request):
    from conftest import submitted_invitation

    from vendorrisk.services.review import decide, latest_assessment

    app, ns, handler = mail_app
    eid = ns.engagements[("tamana-city", "outsourcing")]
    with time_machine.travel(_at(2027, 2, 1, 10, 0), tick=False), app.app_context(), unit_of_work():
        submitted_invitation(db.session.get(Engagement, eid), {_finding_question(app, eid): "no"})
    # 2/2（火）: procurement hears of the submission; the reviewer of the decision waiting.
    assert "sent: 2 mails" in _send(app, _at(2027, 2, 2, 9, 0))
    by_to = {m["To"]: m for m in handler.messages}
    assert _subject(by_to["procurement@tamana.test"]) == "【玉名市】回答が提出されました（テスト案件 outsourcing）"
    assert f"/staff/engagements/{eid}" in _body(by_to["procurement@tamana.test"])
    waiting = by_to["reviewer@tamana.test"]
    assert _subject(waiting) == "【玉名市】判定待ちの回答が1件あります"
    assert "OUT-1 テスト案件 outsourcing" in _body(waiting) and "令和9年2月1日（月）提出" in _body(waiting)
    # The same day again: nothing; the next 開庁日: the reviewer is reminded again (still waiting).
    assert "sent: 0 mails" in _send(app, _at(2027, 2, 2, 15, 0))
    assert "sent: 0 mails" in _send(app, _at(2027, 2, 6, 9, 0))  # a Saturday: no digest
    assert "sent: 1 mails" in _send(app, _at(2027, 2, 8, 9, 0))
    # Approved with the finding: once its 是正 deadline has passed, procurement is told, once.
    with app.app_context(), unit_of_work():
        reviewer = db.session.scalar(select(User).filter_by(email=ns.users["reviewer"]))
        assessment = latest_assessment(db.session.get(Engagement, eid))
        findings = assessment.result["findings"]
        assert findings and findings[0]["deadline"]
        deadline = dt.date.fromisoformat(min(f["deadline"] for f in findings))
        decide(assessment, "approved", reviewer, "指摘事項を期限までに是正してください。")
    before = len(handler.messages)
    late = dt.datetime.combine(deadline + dt.timedelta(days=1), dt.time(9), JST)
    assert "sent: 1 mails" in _send(app, late)
    notice = handler.messages[before]
    assert notice["To"] == "procurement@tamana.test"
    assert _subject(notice) == "【玉名市】是正の期限を過ぎた指摘事項があります（テスト案件 outsourcing）"
    assert "是正の期限を過ぎました" in _body(notice)
    assert "sent: 0 mails" in _send(app, late + dt.timedelta(hours=2))


def test_staff_are_told_when_a_conditional_approvals_remediation_is_late_until_it_is_closed(mail_app):
    """The 是正事項 of a 条件付承認 (deadline in 開庁日): procurement hears once it is late, never once closed."""
    from conftest import submitted_invitation

    from vendorrisk.services.review import RemediationDraft, decide, latest_assessment

    app, ns, handler = mail_app
    eid = ns.engagements[("tamana-city", "outsourcing")]
    with time_machine.travel(_at(2027, 2, 1, 10, 0), tick=False), app.app_context(), unit_of_work():
        submitted_invitation(db.session.get(Engagement, eid), {_finding_question(app, eid): "no"})
        reviewer = db.session.scalar(select(User).filter_by(email=ns.users["reviewer"]))
        assessment = latest_assessment(db.session.get(Engagement, eid))
        decide(assessment, "conditional", reviewer, "条件を付けて承認します。",
               [RemediationDraft("多要素認証を設定し、その結果を書面で甲に報告すること。", 5)])
        remediation = assessment.remediations[0]
        deadline, remediation_id = remediation.deadline, remediation.id
    _send(app, _at(2027, 2, 2, 9, 0))  # the submission and waiting-decision notices, not under test here
    before = len(handler.messages)
    late = dt.datetime.combine(deadline + dt.timedelta(days=1), dt.time(9), JST)
    assert "sent: 1 mails" in _send(app, late)
    notice = handler.messages[before]
    assert notice["To"] == "procurement@tamana.test"
    assert "多要素認証を設定し" in _body(notice)
    assert "sent: 0 mails" in _send(app, late + dt.timedelta(hours=2))
    with app.app_context(), unit_of_work():
        from vendorrisk.models import Remediation

        db.session.get(Remediation, remediation_id).state = "closed"
    assert "sent: 0 mails" in _send(app, late + dt.timedelta(days=1))


def test_an_edited_template_is_used_escaped_and_signed(mail_app):
    app, ns, handler = mail_app
    eid = ns.engagements[("tamana-city", "cloud")]
    admin = _login(app, ns.users["admin"])
    admin.post("/admin/deadlines", data={
        "open_days": "10", "remind_before": "3", "remind_after": "1", "closure_days": "",
        "department": "総務部 情報政策課", "phone": "0968-75-1111", "address": "熊本県玉名市岩崎163",
        "sender": "joho@city.tamana.example.jp"})
    subject = "ご確認ください：{{ engagement_title }}（{{ recipient_name }} 様）"
    body = "{{ recipient_name }} 様\n期限は{{ due_date }}です。\n{{ signature }}\n"
    # A preview renders the sample and saves nothing; a broken template is refused with a message.
    page = admin.post("/admin/mail/reminder_before", data={"subject": subject, "body": body, "action": "preview"})
    assert "期限は令和8年12月15日（火）です。" in page.get_data(as_text=True)
    broken = admin.post("/admin/mail/reminder_before", data={"subject": subject, "body": "{{ x.__class__ }}{%",
                                                             "action": "save"})
    assert broken.status_code == 400 and "テンプレート" in broken.get_data(as_text=True)
    hostile = admin.post("/admin/mail/reminder_before", data={
        "subject": subject, "body": "{{ ''.__class__.__mro__ }}", "action": "preview"})
    assert hostile.status_code == 400
    assert admin.post("/admin/mail/reminder_before", data={"subject": subject, "body": body,
                                                           "action": "save"}).status_code == 302
    assert "変更あり" in admin.get("/admin/mail/").get_data(as_text=True)
    # A hostile recipient name: no header injection, no forged lines.
    _invitation_sent_on(app, eid, _at(2027, 1, 4, 9, 0), dt.date(2027, 1, 15),
                        name="山崎\r\nBcc: evil@example.jp\r\n<script>")
    assert "sent: 1 mails" in _send(app, _at(2027, 1, 12, 9, 0))
    message = handler.messages[-1]
    assert message["Bcc"] is None and message["From"] == "joho@city.tamana.example.jp"
    assert _subject(message) == "ご確認ください：テスト案件 cloud（山崎 Bcc: evil@example.jp <script> 様）"
    text = _body(message)
    assert text.splitlines()[0] == "山崎 Bcc: evil@example.jp <script> 様"
    assert "期限は令和9年1月15日（金）です。" in text
    assert "玉名市 総務部 情報政策課\n熊本県玉名市岩崎163\n電話 0968-75-1111" in text
    # Reset: the default wording again, for the next mail.
    assert admin.post("/admin/mail/reminder_before/reset").status_code == 302
    with app.app_context():
        org = db.session.get(Organisation, ns.org_ids["tamana-city"])
        assert organisation_settings.mail_template(org, "reminder_before")[2] is False
        assert db.session.scalar(select(MailLog.subject)).startswith("ご確認ください")


@needs_redis
def test_reminders_run_on_a_real_worker(backend, tmp_path, request, smtp, password_hash):
    controller, handler = smtp
    queue = f"vendorrisk-test-{secrets.token_hex(4)}"
    app = make_app(backend, tmp_path, request, REDIS_URL=REDIS, JOB_QUEUE=queue, JOB_RETRY_INTERVALS=[0, 0])
    ns = seed_data(app, password_hash)
    _invitation_sent_on(app, ns.engagements[("tamana-city", "cloud")], _at(2027, 1, 4, 9, 0), dt.date(2027, 1, 15))
    # The CLI only queues (one job per organisation and hour); the worker claims and sends.
    assert "queued: 2 reminder jobs" in _send(app, _at(2027, 1, 12, 9, 0))
    assert "queued: 0 reminder jobs" in _send(app, _at(2027, 1, 12, 9, 40))
    assert handler.messages == []
    env = {"VENDORRISK_MAIL_SERVER": "127.0.0.1", "VENDORRISK_MAIL_PORT": str(controller.port)}
    result = _run_worker(app, **env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert [_subject(m) for m in handler.messages] == ["【玉名市】回答期限が近づいています（テスト案件 cloud）"]
    # The next hour's run queues new jobs, which find the mail already logged: nothing sent twice.
    assert "queued: 2 reminder jobs" in _send(app, _at(2027, 1, 12, 10, 5))
    assert _run_worker(app, **env).returncode == 0
    assert len(handler.messages) == 1
    with app.app_context():
        runs = db.session.scalars(select(JobRun).order_by(JobRun.id)).all()
        assert {r.name for r in runs} == {"reminders.send", "mail.deliver"}
        assert all(r.state == "done" for r in runs)
        assert db.session.scalar(select(MailLog.sent_at)) is not None
    # The admin sees the reminder jobs on the jobs page.
    page = _login(app, ns.users["admin"]).get("/admin/jobs/").get_data(as_text=True)
    assert "回答期限のお知らせ・職員への通知" in page


def test_annex_rerender_makes_one_new_version_and_keeps_signed_ones(app, seed):
    from conftest import approve_through_services

    from vendorrisk.models import Annex
    from vendorrisk.services.annexes import record_signed

    eid = approve_through_services(app, seed)

    def versions() -> list[Annex]:
        with app.app_context():
            return db.session.scalars(select(Annex).filter_by(engagement_id=eid).order_by(Annex.version)).all()

    cli = app.test_cli_runner()
    result = cli.invoke(args=["annex", "rerender", "--org", "tamana-city", "--tag", "font-2027"])
    assert result.exit_code == 0 and "queued: 1 annex re-render jobs" in result.output, result.output
    first, second = versions()
    assert second.version == 2 and second.snapshot_sha256 == first.snapshot_sha256
    with app.app_context():
        assert db.session.get(Annex, second.id).text == db.session.get(Annex, first.id).text
        assert db.session.get(Annex, second.id).pdf.startswith(b"%PDF")
        assert [r.state for r in db.session.scalars(select(JobRun).filter_by(name="annex.rerender"))] == ["done"]
    # The same request again: the same job, no third version.
    cli.invoke(args=["annex", "rerender", "--org", "tamana-city", "--tag", "font-2027"])
    assert len(versions()) == 2
    # A signed current version stays the record: a later re-render leaves it alone.
    with app.app_context(), unit_of_work():
        legal = db.session.scalar(select(User).filter_by(email=seed.users["legal"]))
        annex = db.session.get(Annex, second.id)
        record_signed(annex, legal, signed_on=dt.date(2026, 4, 1), scan=annex.pdf, filename="signed.pdf",
                      mimetype="application/pdf")
    cli.invoke(args=["annex", "rerender", "--org", "tamana-city", "--tag", "template-2027"])
    assert len(versions()) == 2
