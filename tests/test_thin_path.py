"""The whole path through the Flask test client, as each person would do it."""

from __future__ import annotations

import datetime as dt
import io
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

from helpers import answer_all, token_from_outbox_or_page
from pypdf import PdfReader
from sqlalchemy import select

from vendorrisk.extensions import db
from vendorrisk.models import Annex, Assessment, AuditEvent, Engagement, Invitation, Response
from vendorrisk.services import audit


def test_procurement_registers_vendor_and_engagement(app, client, seed, login):
    login(seed.users["procurement"])
    page = client.get("/staff/vendors/new")
    assert "事業者の登録" in page.get_data(as_text=True)
    # Full-width digits and hyphens are accepted for the 法人番号.
    r = client.post(
        "/staff/vendors/new",
        data={
            "name": "合同会社みどり",
            "corporate_number": "８７００－１１０－００５９０１",
            "address": "熊本県",
            "representative": "代表社員 緑 太郎",
            "contact_email": "",
        },
    )
    body = r.get_data(as_text=True)
    # The check digit decides: either accepted (redirect) or a clear message; never a crash.
    assert r.status_code in (200, 302)
    r = client.post("/staff/vendors/new", data={"name": "株式会社あお", "corporate_number": "1000012050002"})
    body = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "エラー：" in body and "法人番号の検査用数字" in body
    assert 'value="株式会社あお"' in body, "what the person typed is kept"
    r = client.post(
        "/staff/vendors/new", data={"name": "株式会社あお", "corporate_number": "７０００ ０１２０ ５０００２"}
    )
    # 7000012050002 is already registered by the seed for this organisation.
    assert "すでに登録されています" in r.get_data(as_text=True)


def test_engagement_form_keeps_input_on_error(app, client, seed, login):
    login(seed.users["procurement"])
    r = client.post(
        "/staff/engagements/new",
        data={
            "vendor_id": "0",
            "reference": "ＯＵＴ－２",
            "title": "",
            "confidentiality": "2",
            "period_start": "令和8年13月1日",
        },
    )
    body = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "入力内容に問題があります" in body
    assert "件名を入力してください。" in body
    assert "種別を1つ以上選んでください。" in body
    assert "令和8年13月1日" in body, "the unreadable date is shown back as typed"


def test_whole_path_from_invitation_to_annex(app, client, seed, login):
    eid = seed.engagements[("tamana-city", "outsourcing")]
    token = _procurement_invites(app, client, seed, login, eid)
    _contractor_answers_and_submits(app, client, token, eid)
    _reviewer_approves(app, client, seed, login, eid)
    _legal_downloads_the_annex(app, client, seed, login)


def _procurement_invites(app, client, seed, login, eid):
    login(seed.users["procurement"])
    r = client.post(
        f"/staff/engagements/{eid}/invite",
        data={"recipient_name": "髙橋 𠮷男", "recipient_email": "takahashi@example.jp"}, follow_redirects=True,
    )
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    token = token_from_outbox_or_page(page)
    # The mail is in the outbox, with the same link; the token itself is not stored.
    outbox = list(Path(app.config["OUTBOX_DIR"]).glob("*.eml"))
    assert len(outbox) == 1
    mail = message_from_bytes(outbox[0].read_bytes(), policy=default_policy)
    assert mail["To"] == "takahashi@example.jp"
    assert "情報セキュリティに関する確認のお願い" in mail["Subject"]
    assert f"/r/{token}" in mail.get_content()
    with app.app_context():
        inv = db.session.scalar(select(Invitation))
        assert inv.token_hash == Invitation.hash_token(token) and token not in inv.token_hash
    client.post("/logout")
    return token


def _contractor_answers_and_submits(app, client, token, eid):
    """The contractor: no account, the link. Start page, task list."""
    start = client.get(f"/r/{token}/")
    text = start.get_data(as_text=True)
    assert start.status_code == 200
    assert "玉名市" in text and "未着手" in text
    assert start.headers["Referrer-Policy"] == "no-referrer"
    assert "noindex" in start.headers["X-Robots-Tag"]
    answer_all(app, client, token)
    start = client.get(f"/r/{token}/").get_data(as_text=True)
    assert "完了" in start and "未着手" not in start
    check = client.get(f"/r/{token}/check").get_data(as_text=True)
    assert "回答内容の確認" in check and "髙橋 𠮷男" in check
    assert "まだ回答していない必須の設問があります" not in check
    r = client.post(f"/r/{token}/submit")
    assert r.status_code == 302
    done = client.get(f"/r/{token}/").get_data(as_text=True)
    assert "回答を送信しました" in done
    with app.app_context():
        response = db.session.scalar(select(Response))
        assert response.state == "submitted" and response.frozen_answers and len(response.answers_sha256) == 64
        assessment = db.session.scalar(select(Assessment))
        assert assessment.rating == "pass", assessment.result
        assert db.session.get(Engagement, eid).state == "submitted"


def _reviewer_approves(app, client, seed, login, eid):
    login(seed.users["reviewer"])
    review = client.get(f"/staff/engagements/{eid}/review").get_data(as_text=True)
    assert "適合" in review and "髙橋 𠮷男" in review
    r = client.post(f"/staff/engagements/{eid}/review", data={"decision": "approved", "note": "問題ありません。"})
    assert r.status_code == 302
    with app.app_context():
        assert db.session.get(Engagement, eid).state == "approved"
    client.post("/logout")


def _legal_downloads_the_annex(app, client, seed, login):
    eid = seed.engagements[("tamana-city", "outsourcing")]
    with app.app_context():
        # The contract period the annex states (the seeded engagement has none).
        engagement = db.session.get(Engagement, eid)
        engagement.period_start, engagement.period_end = dt.date(2026, 12, 1), dt.date(2027, 3, 31)
        db.session.commit()
    login(seed.users["legal"])
    assert client.post(f"/legal/engagements/{eid}/annex").status_code == 302
    with app.app_context():
        annex = db.session.scalar(select(Annex))
        annex_id = annex.id
    r = client.get(f"/legal/annexes/{annex_id}.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert "filename*=UTF-8''" in r.headers["Content-Disposition"]
    reader = PdfReader(io.BytesIO(r.data))
    pdf_text = "".join(page.extract_text() for page in reader.pages)
    flat = pdf_text.replace(" ", "").replace("\n", "")
    assert "情報セキュリティに関する特記事項" in flat
    assert "業務委託を行う場合には、委託事業者を選定し" in flat, "the organisation's own clause text is cited"
    assert "髙橋𠮷男" in flat and "山﨑花子" in flat, "the contractor's responsible persons"
    assert "管理太郎ta" in flat, "the municipal officer"
    assert "令和8年12月1日" in flat and "令和9年3月31日" in flat, "dates in 和暦"
    with app.app_context():
        actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
        assert "annex.download" in actions and "assessment.approved" in actions and "response.submit" in actions
        assert audit.verify_chain() == []


def test_saving_keeps_valid_answers_and_reports_invalid_ones(app, client, seed, login, invite):
    eid = seed.engagements[("tamana-city", "outsourcing")]
    token = invite(eid=eid)
    from helpers import form_data_for

    from vendorrisk.services.definitions import invitation_questionnaires
    from vendorrisk.services.invitations import invitation_for_token

    with app.app_context():
        inv = invitation_for_token(token)
        profile = inv.engagement.profile()
        q = invitation_questionnaires(inv)[0]
        target = None
        for s in q.sections:
            questions = [x for x in s.questions if x.id in {y.id for y in q.applicable(profile)}]
            person = [x for x in questions if x.type == "person"]
            if person:
                target = (s.id, questions, person[0])
                break
        assert target is not None, "the outsourcing bank asks for a named person"
    sid, questions, person = target
    data = form_data_for(questions, overrides={person.id: {"name": "", "email": "not-an-address", "title": "部長"}})
    r = client.post(f"/r/{token}/s/{q.id}/{sid}", data=data)
    body = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "<title>エラー：" in body and "入力内容に問題があります" in body
    assert "not-an-address" in body, "what was typed stays on the page"
    with app.app_context():
        saved = invitation_for_token(token).response.answer_map()
        others = [x for x in questions if x.id != person.id and x.type not in ("file", "group")]
        assert others and all(x.id in saved for x in others), "the valid answers on the page were saved"
        assert person.id not in saved


def test_check_page_warns_about_characters_the_annex_font_lacks(app, client, seed, login, invite):
    from helpers import PEOPLE, answer_all

    eid = seed.engagements[("tamana-city", "outsourcing")]
    token = invite(eid=eid)
    PEOPLE["responsible_manager"] = {**PEOPLE["responsible_manager"], "name": "髙橋 𬼂男"}
    try:
        answer_all(app, client, token)
    finally:
        PEOPLE["responsible_manager"] = {**PEOPLE["responsible_manager"], "name": "髙橋 𠮷男"}
    check = client.get(f"/r/{token}/check").get_data(as_text=True)
    assert "特記事項（PDF）の書体にない文字があります" in check
    assert "「𬼂」" in check
    assert "「髙」" not in check and "「𠮷」" not in check, "characters the font has are not flagged"
    # A warning, not a refusal: the answers can still be sent.
    assert client.post(f"/r/{token}/submit").status_code == 302


def test_foreign_provider_can_show_english_beside_japanese(app, client, seed, login, invite):
    eid = seed.engagements[("tamana-city", "cloud")]
    token = invite(eid=eid)
    from vendorrisk.services.definitions import invitation_questionnaires
    from vendorrisk.services.invitations import invitation_for_token

    with app.app_context():
        inv = invitation_for_token(token)
        q = invitation_questionnaires(inv)[0]
        section = q.sections[0]
        first = section.questions[0]
        text_en, title_en = first.text_en, section.title_en
    url = f"/r/{token}/s/{q.id}/{section.id}"
    page = client.get(url).get_data(as_text=True)
    assert text_en not in page and "English" in page
    client.get(f"/r/{token}/?lang=en")
    page = client.get(url).get_data(as_text=True)
    assert text_en in page and title_en in page and 'lang="en"' in page
    assert "Save and continue" in page
    client.get(f"/r/{token}/?lang=ja")
    assert text_en not in client.get(url).get_data(as_text=True)
