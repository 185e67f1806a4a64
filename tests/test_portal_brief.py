"""What a contractor is told before and after answering: the municipal contact, the deadline in 和暦
with its weekday, the time needed and the documents to prepare; after submitting, a reference number,
a receipt PDF of every answer and a confirmation mail; a colleague the link is handed to; a warning
on the portal before the link expires. Mails go through a real SMTP server on loopback."""

from __future__ import annotations

import datetime as dt
import io
from email import message_from_bytes
from email.policy import default as default_policy

from conftest import TEST_PASSWORD, make_app, seed_data
from helpers import answer_all, token_from_outbox_or_page
from pypdf import PdfReader
from sqlalchemy import select

from vendorrisk.domain.vocabulary import JST
from vendorrisk.domain.wareki import long_date
from vendorrisk.extensions import db
from vendorrisk.models import AuditEvent, Invitation, Response, utcnow

CONTACT = {"contact_department": "総務課 契約係", "contact_phone": "0968-75-1111"}


def _parsed(message):
    return message_from_bytes(message.as_bytes(), policy=default_policy)


def _body(message) -> str:
    return _parsed(message).get_body().get_content()


def _subject(message) -> str:
    return str(_parsed(message)["Subject"])


def _deadline(app) -> str:
    with app.app_context():  # the due day (開庁日); the link stops working at its end
        return long_date(db.session.scalar(select(Invitation)).due_date)


def _invite(app, client, seed, kind="outsourcing"):
    client.post("/login", data={"email": seed.users["procurement"], "password": TEST_PASSWORD})
    eid = seed.engagements[("tamana-city", kind)]
    r = client.post(f"/staff/engagements/{eid}/invite",
                    data={"recipient_name": "山﨑 花子", "recipient_email": "yamasaki@example.jp", **CONTACT},
                    follow_redirects=True)  # the send redirects to the page that shows the link
    assert r.status_code == 200, r.get_data(as_text=True)[:2000]
    client.post("/logout")
    return token_from_outbox_or_page(r.get_data(as_text=True))


def test_start_page_and_mail_name_contact_deadline_time_and_documents(backend, tmp_path, request, smtp,
                                                                      password_hash):
    controller, handler = smtp
    app = make_app(backend, tmp_path, request, MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    seed = seed_data(app, password_hash)
    client = app.test_client()
    token = _invite(app, client, seed)
    deadline = _deadline(app)
    assert deadline.endswith("）") and "令和" in deadline
    page = client.get(f"/r/{token}/").get_data(as_text=True)
    mail = _body(handler.messages[0])
    for text in (page, mail):
        assert "総務課 契約係" in text and "procurementさん" in text
        assert "0968-75-1111" in text and "procurement@tamana.test" in text
        assert deadline in text
        assert "所要時間の目安：約" in text or "所要時間の目安</dt><dd>約" in text
        # the bank's file question: the document to prepare
        assert "ISMS登録証（付属書・認証範囲を含む）の写し" in text
    assert "本市の" in mail and "当団体" not in mail


def test_submit_gives_a_number_a_receipt_pdf_and_a_confirmation_mail(backend, tmp_path, request, smtp,
                                                                      password_hash):
    controller, handler = smtp
    app = make_app(backend, tmp_path, request, MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    seed = seed_data(app, password_hash)
    client = app.test_client()
    token = _invite(app, client, seed)
    work_site = "熊本県玉名市岩崎163 髙島屋ビル3階 開発室"
    answer_all(app, client, token, {"out.people.work_site": work_site})
    r = client.post(f"/r/{token}/submit")
    assert r.status_code == 302
    page = client.get(f"/r/{token}/").get_data(as_text=True)
    with app.app_context():
        response = db.session.scalar(select(Response))
        number = f"OUT-1-{response.id:05d}-{response.answers_sha256[:4].upper()}"
        submitted = long_date(response.submitted_at.astimezone(JST).date())
    assert f"受付番号：<strong>{number}</strong>" in page
    pdf = client.get(f"/r/{token}/receipt.pdf")
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    flat = "".join(text.split())
    assert "回答の受付票" in flat and number in flat and submitted in flat
    assert "".join(work_site.split()) in flat  # the contractor's Japanese answer, 髙 included
    assert "髙橋𠮷男" in flat  # the responsible manager (a non-BMP character) in the annex's fonts
    assert "業務責任者" in flat
    confirmations = [m for m in handler.messages if "回答を受け付けました" in _subject(m)]
    assert len(confirmations) == 1 and confirmations[0]["To"] == "yamasaki@example.jp"
    body = _body(confirmations[0])
    assert number in body and "総務課 契約係" in body and submitted in body


def test_handover_to_a_colleague_is_recorded_and_mailed(backend, tmp_path, request, smtp, password_hash):
    controller, handler = smtp
    app = make_app(backend, tmp_path, request, MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    seed = seed_data(app, password_hash)
    client = app.test_client()
    token = _invite(app, client, seed)
    bad = client.post(f"/r/{token}/handover", data={"delegate_name": "佐藤 一郎", "delegate_email": "not-mail"})
    assert bad.status_code == 400
    assert "入力内容に問題があります" in bad.get_data(as_text=True) and "佐藤 一郎" in bad.get_data(as_text=True)
    r = client.post(f"/r/{token}/handover", data={"delegate_name": "佐藤 一郎", "delegate_email": "sato@example.jp"})
    assert r.status_code == 302
    assert "佐藤 一郎 様に、回答のリンクをメールでお送りしました" in client.get(f"/r/{token}/").get_data(as_text=True)
    with app.app_context():
        inv = db.session.scalar(select(Invitation))
        assert (inv.delegate_name, inv.delegate_email) == ("佐藤 一郎", "sato@example.jp")
        event = db.session.scalar(select(AuditEvent).filter_by(action="invitation.handover"))
        assert event is not None and event.object_id == str(inv.id)
        assert event.data["to"] == "sato@example.jp" and event.data["from"] == "yamasaki@example.jp"
        assert event.actor == f"contractor:invitation:{inv.id}"
    handed = [m for m in handler.messages if m["To"] == "sato@example.jp"]
    assert len(handed) == 1 and f"/r/{token}" in _body(handed[0]) and "佐藤 一郎 様" in _body(handed[0])
    # the colleague is on the staff page, and gets the confirmation too
    client.post("/login", data={"email": seed.users["procurement"], "password": TEST_PASSWORD})
    staff = client.get(f"/staff/engagements/{seed.engagements[('tamana-city', 'outsourcing')]}")
    assert "佐藤 一郎" in staff.get_data(as_text=True)
    client.post("/logout")
    answer_all(app, client, token)
    client.post(f"/r/{token}/submit")
    confirmed = {m["To"] for m in handler.messages if "回答を受け付けました" in _subject(m)}
    assert confirmed == {"yamasaki@example.jp", "sato@example.jp"}


def test_contractor_is_warned_on_the_portal_before_the_link_expires(app, client, seed, invite):
    """The portal says so within three days of the link's end (the mail is the reminder before the
    deadline: test_reminders)."""
    token = invite(**CONTACT)
    assert "回答の期限が近づいています" not in client.get(f"/r/{token}/").get_data(as_text=True)
    with app.app_context():
        inv = db.session.scalar(select(Invitation))
        inv.expires_at = utcnow() + dt.timedelta(days=2)
        db.session.commit()
    assert "回答の期限が近づいています" in client.get(f"/r/{token}/").get_data(as_text=True)


def test_change_from_the_check_page_returns_to_it(app, client, seed, invite):
    from helpers import form_data_for, portal_sections

    token = invite()
    answer_all(app, client, token)
    check = client.get(f"/r/{token}/check").get_data(as_text=True)
    assert f"/r/{token}/s/outsourcing/out.select?from=check#" in check
    qid, sid, questions = portal_sections(app, token)[0]
    url = f"/r/{token}/s/{qid}/{sid}?from=check"
    page = client.get(url).get_data(as_text=True)
    assert "保存して確認に戻る" in page and "回答内容の確認に戻る" in page
    r = client.post(url, data=form_data_for(questions))
    assert r.status_code == 302 and r.headers["Location"].split("#")[0].endswith(f"/r/{token}/check")
    # without it, 保存して次へ moves on to the next section as before
    r = client.post(f"/r/{token}/s/{qid}/{sid}", data=form_data_for(questions))
    assert "/check" not in r.headers["Location"]
