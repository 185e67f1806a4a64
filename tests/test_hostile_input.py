"""Hostile input: what real users and attackers type and post.

House rules checked here: bad input never crashes (no 500) and never loses data; untrusted text is
escaped in every HTML page and printed literally in the mail, the PDF and the DOCX; one
organisation never sees another's data; a submitted response cannot change; a bad token is a
neutral 404.
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
from conftest import approve_through_services
from helpers import answer_all, form_data_for, portal_sections, token_from_outbox_or_page
from pypdf import PdfReader
from sqlalchemy import func, select

from vendorrisk.extensions import db
from vendorrisk.models import (
    Annex,
    Answer,
    Assessment,
    Engagement,
    Evidence,
    Invitation,
    Officer,
    Organisation,
    Response,
    User,
    Vendor,
    utcnow,
)
from vendorrisk.services.invitations import invitation_for_token, send_invitation
from vendorrisk.web.answer_forms import field_name

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
PAYLOADS = (SCRIPT, IMG, "{{7*7}}", "{organisation.name}")
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"


# --- helpers -------------------------------------------------------------------------------------


def _no_raw_markup(body: str, where: str) -> None:
    assert SCRIPT not in body, f"raw <script> payload in {where}"
    assert "<img src=x" not in body, f"raw <img onerror> payload in {where}"


def _invite(client, eid: int, **data) -> str:
    payload = {"recipient_email": "tanto@example.jp", "recipient_name": "担当 太郎", **data}
    r = client.post(f"/staff/engagements/{eid}/invite", data=payload, follow_redirects=True)
    assert r.status_code == 200, r.get_data(as_text=True)[:2000]
    return token_from_outbox_or_page(r.get_data(as_text=True))


_sections = portal_sections


def _section_with(app, token, qtype):
    for qid, sid, questions in _sections(app, token):
        for x in questions:
            if x.type == qtype:
                return qid, sid, questions, x
    raise AssertionError(f"no {qtype} question")


def _answers(app, token) -> dict:
    with app.app_context():
        inv = invitation_for_token(token)
        data = inv.response.answer_map()
        db.session.remove()
        return data


def _outbox(app):
    return sorted(Path(app.config["OUTBOX_DIR"]).glob("*.eml"))


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "".join(page.extract_text() for page in reader.pages).replace(" ", "").replace("\n", "")


def _docx_text(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.read("word/document.xml").decode("utf-8")


@pytest.fixture
def invited(app, client, seed, login, invite):
    """The tamana outsourcing engagement invited through the page; the client is logged out."""
    eid = seed.engagements[("tamana-city", "outsourcing")]
    token = invite(eid=eid)
    return eid, token


# --- vendor names and engagement titles ----------------------------------------------------------


def test_vendor_name_payloads_are_escaped_on_every_staff_page(app, client, seed, login):
    login(seed.users["procurement"])
    name = f"株式会社{SCRIPT}{IMG}{{{{7*7}}}}{{organisation.name}}"
    r = client.post("/staff/vendors/new", data={"name": name, "address": IMG, "representative": SCRIPT})
    assert r.status_code == 302
    vendor_page = client.get(r.headers["Location"])  # the engagement form, with the flash message
    body = vendor_page.get_data(as_text=True)
    _no_raw_markup(body, "engagement form + flash")
    assert ESCAPED_SCRIPT in body
    assert "{{7*7}}" in body and "49" not in body.replace("0049", "")
    body = client.get("/staff/vendors").get_data(as_text=True)
    _no_raw_markup(body, "vendor list")
    assert ESCAPED_SCRIPT in body


def test_engagement_title_payloads_are_escaped_in_pages_mail_pdf_and_docx(app, client, seed, login):
    login(seed.users["procurement"])
    with app.app_context():
        vendor_id = db.session.scalar(select(Vendor.id).filter_by(organisation_id=seed.org_ids["tamana-city"]))
    title = f"保守{SCRIPT}{IMG}{{{{7*7}}}}{{organisation.name}}"
    r = client.post(
        "/staff/engagements/new",
        data={
            "vendor_id": str(vendor_id),
            "reference": "XSS-1",
            "title": title,
            "kinds": "outsourcing",
            "confidentiality": "2",
            "integrity": "1",
            "availability": "1",
            "period_start": "令和元年5月1日",
            "period_end": "２０２７／３／３１",
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    eid = int(r.headers["Location"].rstrip("/").split("/")[-1])
    for url in ("/staff/", f"/staff/engagements/{eid}"):
        body = client.get(url).get_data(as_text=True)
        _no_raw_markup(body, url)
        assert ESCAPED_SCRIPT in body, url
    with app.app_context():
        eng = db.session.get(Engagement, eid)
        assert eng.title == title, "stored exactly as typed"
        assert eng.period_start.isoformat() == "2019-05-01" and eng.period_end.isoformat() == "2027-03-31"
    token = _invite(client, eid, recipient_name=f"{SCRIPT}様")
    sent_page = client.get(f"/staff/engagements/{eid}").get_data(as_text=True)
    _no_raw_markup(sent_page, "engagement page after invite")
    # The mail is text/plain only: the payload is shown literally, no HTML part to run it.
    mail = message_from_bytes(_outbox(app)[-1].read_bytes(), policy=default_policy)
    assert mail.get_content_type() == "text/plain"
    assert title in mail["Subject"]
    content = mail.get_content()
    assert title in content and f"{SCRIPT}様" in content
    assert "玉名市" in content and "{{" in content
    client.post("/logout")
    # The contractor's pages.
    for url in (f"/r/{token}/", f"/r/{token}/check"):
        body = client.get(url).get_data(as_text=True)
        _no_raw_markup(body, url)
    qid, sid, _questions = _sections(app, token)[0]
    _no_raw_markup(client.get(f"/r/{token}/s/{qid}/{sid}").get_data(as_text=True), "section page")


def test_engagement_title_in_annex_pdf_and_docx_is_literal(app, client, seed, login):
    with app.app_context():
        eng = db.session.get(Engagement, seed.engagements[("tamana-city", "outsourcing")])
        eng.title = f"保守{SCRIPT}{{{{7*7}}}}{{organisation.name}}"
        eng.vendor.name = f"株式会社{IMG}"
        db.session.commit()
    eid = approve_through_services(app, seed)
    login(seed.users["legal"])
    body = client.get("/legal/").get_data(as_text=True)
    _no_raw_markup(body, "legal index")
    with app.app_context():
        annex_id = db.session.scalar(select(Annex.id).filter_by(engagement_id=eid))
    r = client.get(f"/legal/annexes/{annex_id}.pdf")
    assert r.status_code == 200
    assert "\r" not in r.headers["Content-Disposition"] and "\n" not in r.headers["Content-Disposition"]
    text = _pdf_text(r.data)
    assert "<script>alert(1)</script>" in text, "the PDF shows the markup literally"
    assert "{{7*7}}" in text and "{organisation.name}" in text
    assert '"><imgsrc=xonerror=alert(1)>' in text
    r = client.get(f"/legal/annexes/{annex_id}.docx")
    assert r.status_code == 200
    xml = _docx_text(r.data)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in xml and "<script>" not in xml
    assert "{{7*7}}" in xml


# --- CR/LF into mail headers --------------------------------------------------------------------


def test_crlf_in_engagement_title_never_crashes_after_commit_nor_injects_headers(app, client, seed, login):
    """A title pasted with a line break ends up in the mail Subject: no 500 after the invitation
    is committed, no injected header, and the person gets either the link or a clear message."""
    login(seed.users["procurement"])
    with app.app_context():
        vendor_id = db.session.scalar(select(Vendor.id).filter_by(organisation_id=seed.org_ids["tamana-city"]))
    r = client.post(
        "/staff/engagements/new",
        data={
            "vendor_id": str(vendor_id),
            "reference": "CRLF-1",
            "title": "保守業務\r\nBcc: attacker@evil.example",
            "kinds": "outsourcing",
            "confidentiality": "2",
        },
    )
    assert r.status_code == 302, "the title is kept as typed (line breaks are not control characters to drop)"
    eid = int(r.headers["Location"].rstrip("/").split("/")[-1])
    r = client.post(f"/staff/engagements/{eid}/invite", data={"recipient_email": "tanto@example.jp"},
                    follow_redirects=True)
    assert r.status_code == 200, "crash after the invitation was committed: the token is lost"
    assert "回答依頼を送りました" in r.get_data(as_text=True)
    token = token_from_outbox_or_page(r.get_data(as_text=True))
    assert client.get(f"/r/{token}/").status_code == 200, "the link shown works"
    with app.app_context():
        assert len(db.session.scalars(select(Invitation).filter_by(engagement_id=eid)).all()) == 1
    [path] = _outbox(app)
    mail = message_from_bytes(path.read_bytes(), policy=default_policy)
    assert mail["Bcc"] is None and "Bcc: attacker" in mail["Subject"], "the line break is folded into the subject"


def test_crlf_in_recipient_email_or_name_is_refused_without_side_effects(app, client, seed, login):
    eid = seed.engagements[("tamana-city", "outsourcing")]
    login(seed.users["procurement"])
    r = client.post(
        f"/staff/engagements/{eid}/invite",
        data={"recipient_email": "tanto@example.jp\r\nBcc: attacker@evil.example", "recipient_name": "担当"},
    )
    assert r.status_code == 400
    body = r.get_data(as_text=True)
    assert "メールアドレスの形式で入力してください" in body
    assert "attacker@evil.example" in body, "what was typed is kept"
    with app.app_context():
        assert db.session.scalar(select(func.count(Invitation.id))) == 0
    assert _outbox(app) == []
    # A line break in the name goes only into the body: the mail is sent, no header is injected.
    r = client.post(
        f"/staff/engagements/{eid}/invite",
        data={"recipient_email": "tanto@example.jp", "recipient_name": "担当\r\nBcc: attacker@evil.example"},
        follow_redirects=True,
    )
    assert r.status_code == 200
    raw = _outbox(app)[-1].read_bytes()
    headers = raw.split(b"\n\n", 1)[0]
    assert b"Bcc" not in headers


# --- NUL bytes, invalid UTF-8, lone surrogates ---------------------------------------------------


def test_nul_byte_in_vendor_name_never_crashes(app, client, seed, login):
    login(seed.users["procurement"])
    r = client.post("/staff/vendors/new", data={"name": "株式会社\x00ヌル", "address": "熊本県\x00"})
    assert r.status_code == 302
    assert "事業者「株式会社ヌル」を登録しました" in client.get(r.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        vendor = db.session.scalar(select(Vendor).filter_by(name="株式会社ヌル"))
        assert vendor is not None and vendor.address == "熊本県", "the NUL byte is dropped, the rest is saved"


def test_nul_byte_in_login_email_never_crashes(app, client, seed):
    r = client.post("/login", data={"email": "procurement@tamana.test\x00", "password": "x"})
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert "メールアドレスまたはパスワードが正しくありません" in body
    assert 'value="procurement@tamana.test"' in body, "the e-mail stays in the form, without the NUL"


def test_nul_byte_in_portal_text_answer_never_crashes_nor_loses_saved_answers(app, client, invited):
    _eid, token = invited
    qid, sid, questions, text_q = _section_with(app, token, "text")
    url = f"/r/{token}/s/{qid}/{sid}"
    assert client.post(url, data=form_data_for(questions)).status_code == 302
    before = _answers(app, token)
    data = form_data_for(questions, {text_q.id: "規程\x00あり"})
    r = client.post(url, data=data)
    assert r.status_code == 302
    after = _answers(app, token)
    assert after[text_q.id] == "規程あり", "the answer is saved without the NUL byte"
    for key, value in before.items():
        if key != text_q.id:
            assert after.get(key) == value, f"{key} was lost"


@pytest.mark.parametrize("field", ["title", "reference"])
def test_nul_byte_in_engagement_form_never_crashes(app, client, seed, login, field):
    login(seed.users["procurement"])
    with app.app_context():
        vendor_id = db.session.scalar(select(Vendor.id).filter_by(organisation_id=seed.org_ids["tamana-city"]))
    data = {
        "vendor_id": str(vendor_id),
        "reference": "NUL-1",
        "title": "保守",
        "kinds": "outsourcing",
        "confidentiality": "2",
    }
    data[field] += "\x00"
    r = client.post("/staff/engagements/new", data=data)
    assert r.status_code == 302
    assert "案件を登録しました" in client.get(r.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        eng = db.session.scalar(select(Engagement).filter_by(reference="NUL-1"))
        assert eng is not None and eng.title == "保守", "saved without the NUL byte"


def test_nul_byte_in_review_note_and_admin_forms_never_crashes(app, client, seed, login):
    login(seed.users["admin"])
    r = client.post("/admin/officers", data={"role": "security_manager", "role_title": "課長\x00", "name": "名\x00前"})
    assert r.status_code == 302
    r = client.post(
        "/admin/users", data={"name": "名\x00", "email": "nul@example.jp", "role": "legal", "password": "x" * 12}
    )
    assert r.status_code == 302
    assert "利用者を登録しました" in client.get(r.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Officer).filter_by(role_title="課長")).name == "名前"
        assert db.session.scalar(select(User).filter_by(email="nul@example.jp")).name == "名"


def test_nul_byte_in_invitation_recipient_name_never_crashes(app, client, seed, login):
    eid = seed.engagements[("tamana-city", "outsourcing")]
    login(seed.users["procurement"])
    r = client.post(
        f"/staff/engagements/{eid}/invite", data={"recipient_email": "tanto@example.jp", "recipient_name": "担当\x00"},
        follow_redirects=True,
    )
    assert r.status_code == 200 and "回答依頼を送りました" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Invitation.recipient_name)) == "担当"


def test_invalid_utf8_and_lone_surrogates_in_form_posts(app, client, invited):
    _eid, token = invited
    qid, sid, questions, text_q = _section_with(app, token, "text")
    url = f"/r/{token}/s/{qid}/{sid}"
    body = "&".join([f"{field_name(text_q.id)}=%FF%FE%ED%A0%80abc", "action=later", "csrf_token=x"]).encode()
    r = client.post(url, data=body, content_type="application/x-www-form-urlencoded")
    assert r.status_code == 302
    assert "回答を保存しました" in client.get(r.headers["Location"]).get_data(as_text=True)
    saved = _answers(app, token).get(text_q.id)
    assert isinstance(saved, str) and saved.endswith("abc"), "undecodable bytes are replaced, the text is kept"
    # A lone surrogate as a browser would send it (CESU-style bytes), and as a JSON-ish escape.
    body = f"{field_name(text_q.id)}=%ED%A0%80%5Cud800&action=later".encode()
    r = client.post(url, data=body, content_type="application/x-www-form-urlencoded")
    assert r.status_code == 302
    assert _answers(app, token)[text_q.id].endswith("\\ud800"), "the escape is kept as typed text"


def test_lone_surrogates_and_odd_bytes_in_urls_are_neutral_404(app, client, seed):
    for path in (
        "/r/%ED%A0%80%ED%A0%80/",
        "/r/%FF%FE/",
        "/r/abc%00def/",
        "/r/" + "A" * 5000 + "/",
        "/r/%F0%A0%AE%B7/check",
    ):
        r = client.get(path)
        assert r.status_code == 404, path
        assert "ページが見つかりません" in r.get_data(as_text=True)


def test_odd_query_strings_on_staff_pages_never_crash(app, client, seed, login):
    login(seed.users["procurement"])
    for qs in (
        "vendor_id=%FF%FE",
        "vendor_id=%ED%A0%80",
        "vendor_id=99999999999999999999999",
        "vendor_id=%C2%B2",
        "vendor_id=%E2%91%A0",
        "vendor_id=-1",
    ):
        r = client.get(f"/staff/engagements/new?{qs}")
        assert r.status_code == 200, (qs, r.status_code)
        body = r.get_data(as_text=True)
        # The ordinary new-engagement form, with the vendor search and nobody chosen.
        assert "<h1>案件の登録</h1>" in body and 'name="vendor_q"' in body, qs
        assert 'class="chosen-vendor"' not in body and 'name="vendor_id"' not in body, qs
    # Full-width digits are read as the digits (as everywhere else): the same vendor is chosen.
    from vendorrisk.models import Engagement

    with app.app_context():
        vid = db.session.get(Engagement, seed.engagements[("tamana-city", "outsourcing")]).vendor_id
    wide = str(vid).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    chosen = [re.search(r'<p class="chosen-vendor">.*?</p>', client.get(f"/staff/engagements/new?vendor_id={v}")
                        .get_data(as_text=True)) for v in (str(vid), wide)]
    assert chosen[0] is not None and chosen[1] is not None and chosen[0].group(0) == chosen[1].group(0)


def test_login_next_with_odd_bytes_never_crashes(app, client, seed):
    r = client.post(
        "/login?next=%ED%A0%80%00//evil.example",
        data={"email": seed.users["procurement"], "password": "correct-horse-battery-2026"},
    )
    assert r.status_code == 302
    assert "evil.example" not in r.headers["Location"]


# --- long inputs --------------------------------------------------------------------------------


def test_long_vendor_name_gets_a_message_and_keeps_the_input(app, client, seed, login):
    login(seed.users["procurement"])
    name = "長" * 10_000
    r = client.post("/staff/vendors/new", data={"name": name, "address": "熊本県"})
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert "事業者名は200文字以内で入力してください。" in body
    assert 'value="熊本県"' in body


def test_long_text_answer_gets_a_message_and_keeps_the_typed_text_and_other_answers(app, client, invited):
    _eid, token = invited
    qid, sid, questions, text_q = _section_with(app, token, "text")
    url = f"/r/{token}/s/{qid}/{sid}"
    assert client.post(url, data=form_data_for(questions)).status_code == 302
    before = _answers(app, token)
    long_text = "あ" * 10_000
    r = client.post(url, data=form_data_for(questions, {text_q.id: long_text}))
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert "4000文字以内で入力してください" in body
    assert long_text in body, "the textarea keeps what was typed"
    assert _answers(app, token)[text_q.id] == before[text_q.id], "the earlier saved answer is kept"


def test_long_person_fields_and_group_cells(app, client, invited):
    _eid, token = invited
    qid, sid, questions, person_q = _section_with(app, token, "person")
    url = f"/r/{token}/s/{qid}/{sid}"
    r = client.post(url, data=form_data_for(questions, {person_q.id: {"name": "名" * 10_000}}))
    assert r.status_code == 200
    assert "200文字以内で入力してください" in r.get_data(as_text=True)
    qid, sid, questions, group_q = _section_with(app, token, "group")
    url = f"/r/{token}/s/{qid}/{sid}"
    r = client.post(url, data=form_data_for(questions, {group_q.id: {"0-name": "社" * 10_000, "0-scope": "運用"}}))
    # A 10,000-character cell ends up in a table of the annex: it is refused like a text answer.
    assert r.status_code == 200
    assert "4000文字以内で入力してください" in r.get_data(as_text=True)
    assert group_q.id not in _answers(app, token), "nothing over the limit is saved"


def test_one_megabyte_body_is_refused_or_handled_cleanly(app, client, invited):
    _eid, token = invited
    qid, sid, questions, text_q = _section_with(app, token, "text")
    url = f"/r/{token}/s/{qid}/{sid}"
    r = client.post(url, data=form_data_for(questions, {text_q.id: "x" * (1024 * 1024)}))
    assert r.status_code == 200
    assert "4000文字以内で入力してください" in r.get_data(as_text=True)
    assert text_q.id not in _answers(app, token)


def test_thirteen_megabyte_body_gets_the_japanese_413_page(app, client, invited):
    _eid, token = invited
    qid, sid, _questions, _text_q = _section_with(app, token, "text")
    r = client.post(f"/r/{token}/s/{qid}/{sid}", data={"blob": "x" * (13 * 1024 * 1024)})
    assert r.status_code == 413
    assert "ファイルが大きすぎます" in r.get_data(as_text=True)


# --- portal answer types ------------------------------------------------------------------------


def test_xss_in_every_portal_answer_type_is_escaped_on_check_review_and_literal_in_pdf(
    app, client, seed, login, invite
):
    eid = seed.engagements[("tamana-city", "outsourcing")]
    token = invite(eid=eid)
    person = {
        "name": f"髙橋{SCRIPT}",
        "title": IMG,
        "department": "{{7*7}}",
        "email": "a@example.jp",
        "phone": "03-1111-2222",
    }
    overrides = {}
    for _qid, _sid, questions in _sections(app, token):
        for q in questions:
            if q.id.endswith("sub.subcontracting"):
                overrides[q.id] = "yes"
            elif q.type == "text":
                overrides[q.id] = f"{SCRIPT}{IMG}{{{{7*7}}}}{{organisation.name}}"
            elif q.type == "person":
                overrides[q.id] = person
            elif q.type == "group":
                overrides[q.id] = {
                    "0-name": f"再委託{SCRIPT}",
                    "0-address": IMG,
                    "0-scope": "{organisation.name}",
                    "0-handles_info": "yes",
                }
    answer_all(app, client, token, overrides)
    # The section page shows the stored payloads back inside inputs, escaped.
    for qid, sid, _questions in _sections(app, token):
        body = client.get(f"/r/{token}/s/{qid}/{sid}").get_data(as_text=True)
        _no_raw_markup(body, f"section {sid}")
    check = client.get(f"/r/{token}/check").get_data(as_text=True)
    _no_raw_markup(check, "check page")
    assert ESCAPED_SCRIPT in check
    assert client.post(f"/r/{token}/submit").status_code == 302
    login(seed.users["reviewer"])
    review = client.get(f"/staff/engagements/{eid}/review").get_data(as_text=True)
    _no_raw_markup(review, "review page")
    assert ESCAPED_SCRIPT in review
    r = client.post(f"/staff/engagements/{eid}/review", data={"decision": "approved", "note": SCRIPT})
    assert r.status_code in (200, 302)
    with app.app_context():
        assessment = db.session.scalar(select(Assessment).filter_by(engagement_id=eid))
        approved = assessment.decision == "approved"
    body = client.get(f"/staff/engagements/{eid}").get_data(as_text=True)
    _no_raw_markup(body, "engagement page with decision note")
    client.post("/logout")
    if not approved:
        return
    login(seed.users["legal"])
    assert client.post(f"/legal/engagements/{eid}/annex").status_code == 302
    with app.app_context():
        annex_id = db.session.scalar(select(Annex.id).filter_by(engagement_id=eid))
    text = _pdf_text(client.get(f"/legal/annexes/{annex_id}.pdf").data)
    assert "髙橋<script>alert(1)</script>" in text
    assert "再委託<script>alert(1)</script>" in text
    xml = _docx_text(client.get(f"/legal/annexes/{annex_id}.docx").data)
    assert "<script>" not in xml and "髙橋&lt;script&gt;" in xml


def test_full_width_numbers_and_bad_numbers(app, client, invited):
    _eid, token = invited
    qid, sid, questions, num_q = _section_with(app, token, "number")
    url = f"/r/{token}/s/{qid}/{sid}"
    assert client.post(url, data=form_data_for(questions, {num_q.id: "１，２３４"})).status_code == 302
    assert _answers(app, token)[num_q.id] == 1234
    for bad in ("十二", "1e309", "9" * 5000, "NaN", "<script>1</script>"):
        r = client.post(url, data=form_data_for(questions, {num_q.id: bad}))
        assert r.status_code == 200, bad
        body = r.get_data(as_text=True)
        assert "数値で入力してください" in body, bad
        _no_raw_markup(body, "number error")
        assert _answers(app, token)[num_q.id] == 1234, f"the saved number is kept after {bad!r}"
    # Control characters are dropped on the way in (vendorrisk/web/request.py): "１２３<NUL>" is 123.
    r = client.post(url, data=form_data_for(questions, {num_q.id: "１２３\x00"}))
    assert r.status_code == 302
    assert _answers(app, token)[num_q.id] == 123


def test_option_values_not_in_the_choices_are_refused_and_saved_answer_kept(app, client, invited):
    _eid, token = invited
    sections = _sections(app, token)
    qid, sid, questions = next(
        s for s in sections if any(q.type == "yesno" for q in s[2]) and any(q.type == "single" for q in s[2])
    )
    url = f"/r/{token}/s/{qid}/{sid}"
    assert client.post(url, data=form_data_for(questions)).status_code == 302
    before = _answers(app, token)
    yesno = next(q for q in questions if q.type == "yesno" and not q.na_allowed)
    single = next(q for q in questions if q.type == "single")
    r = client.post(url, data=form_data_for(questions, {yesno.id: SCRIPT, single.id: "not-an-option"}))
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert "選択肢から一つ選んでください" in body
    assert "「はい」「一部」「いいえ」「該当なし」のいずれかを選んでください" in body
    _no_raw_markup(body, "section with bad options")
    after = _answers(app, token)
    assert after[yesno.id] == before[yesno.id] and after[single.id] == before[single.id]
    # 該当なし where it is not allowed.
    r = client.post(url, data=form_data_for(questions, {yesno.id: "na"}))
    assert r.status_code == 200 and "「該当なし」は選べません" in r.get_data(as_text=True)
    # A list where one value is expected: the first one is read, and it is not an option.
    r = client.post(url, data={**form_data_for(questions), field_name(single.id): ["a", "b"]})
    assert r.status_code == 200 and "選択肢から一つ選んでください" in r.get_data(as_text=True)
    assert _answers(app, token)[single.id] == before[single.id]


def test_multi_with_unknown_values(app, client, seed, login, invite):
    eid = seed.engagements[("tamana-city", "cloud")]
    token = invite(eid=eid)
    qid, sid, questions, multi_q = _section_with(app, token, "multi")
    url = f"/r/{token}/s/{qid}/{sid}"
    r = client.post(url, data={**form_data_for(questions), field_name(multi_q.id): [multi_q.options[0].value, SCRIPT]})
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert "選択肢にない値があります" in body
    _no_raw_markup(body, "multi error")


def test_group_with_500_rows_never_crashes(app, client, invited):
    _eid, token = invited
    qid, sid, questions, group_q = _section_with(app, token, "group")
    url = f"/r/{token}/s/{qid}/{sid}"
    data = form_data_for(questions)
    for i in range(500):
        data[f"{field_name(group_q.id)}-{i}-name"] = f"株式会社{i}"
        data[f"{field_name(group_q.id)}-{i}-scope"] = "運用"
    r = client.post(url, data=data)
    assert r.status_code == 302
    saved = _answers(app, token)[group_q.id]
    assert len(saved) == 500 and saved[499]["name"] == "株式会社499"
    page = client.get(url)
    assert page.status_code == 200 and "株式会社499" in page.get_data(as_text=True)


def test_group_rows_with_sparse_or_huge_indices(app, client, invited):
    _eid, token = invited
    qid, sid, questions, group_q = _section_with(app, token, "group")
    url = f"/r/{token}/s/{qid}/{sid}"
    data = form_data_for(questions)
    data[f"{field_name(group_q.id)}-99999999999-name"] = "遠い行"
    r = client.post(url, data=data)
    assert r.status_code == 302
    rows = _answers(app, token)[group_q.id]
    assert [row["name"] for row in rows] == ["株式会社したうけ", "遠い行"], "rows are kept in order, indices renumbered"
    page = client.get(url)
    assert page.status_code == 200 and 'value="遠い行"' in page.get_data(as_text=True), "the far row is shown again"


def test_add_row_action_for_unknown_question(app, client, invited):
    _eid, token = invited
    qid, sid, questions, _group_q = _section_with(app, token, "group")
    url = f"/r/{token}/s/{qid}/{sid}"
    for action in ("add:nope", "add:", "add:" + SCRIPT):
        r = client.post(url, data={**form_data_for(questions), "action": action})
        assert r.status_code == 200, action
        _no_raw_markup(r.get_data(as_text=True), "add-row re-render")
        assert _answers(app, token) == {}, "adding a row saves nothing"
    for action in ("delete", "x" * 10000):  # an unknown button is "save and continue"
        r = client.post(url, data={**form_data_for(questions), "action": action})
        assert r.status_code == 302, action
    assert _group_q.id in _answers(app, token)


def test_invalid_person_email_and_phone_keep_the_typed_values(app, client, invited):
    _eid, token = invited
    qid, sid, questions, person_q = _section_with(app, token, "person")
    url = f"/r/{token}/s/{qid}/{sid}"
    bad = {
        "name": "𠮷野 太郎",
        "title": "",
        "department": "",
        "email": "not-an-email",
        "phone": "０３－１１１１－２２２２",
    }
    r = client.post(url, data=form_data_for(questions, {person_q.id: bad}))
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert "メールアドレスの形式が正しくありません" in body
    assert "𠮷野 太郎" in body and "not-an-email" in body
    # What only a real address check catches (email_validator): two dots in a row in the domain.
    r = client.post(url, data=form_data_for(questions, {person_q.id: {**bad, "email": "taro@example..jp"}}))
    assert r.status_code == 200 and "メールアドレスの形式が正しくありません" in r.get_data(as_text=True)
    assert person_q.id not in _answers(app, token)


def test_evidence_file_names_with_markup_are_escaped(app, client, seed, login, invited):
    eid, token = invited
    qid, sid, questions, file_q = _section_with(app, token, "file")
    url = f"/r/{token}/s/{qid}/{sid}"
    data = form_data_for(questions)
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    data[field_name(file_q.id)] = (io.BytesIO(pdf), f"{SCRIPT}{IMG}\r\nX: y.pdf")
    r = client.post(url, data=data, content_type="multipart/form-data")
    assert r.status_code == 302
    check = client.get(f"/r/{token}/check").get_data(as_text=True)
    _no_raw_markup(check, "check with file name")
    with app.app_context():
        ev = db.session.scalar(select(Evidence))
        assert ev is not None
        ev_id = ev.id
    assert html.escape(ev.filename, quote=False) in check, "the file name is shown, escaped"
    login(seed.users["procurement"])
    r = client.get(f"/staff/evidence/{ev_id}")
    assert r.status_code == 200
    cd = r.headers["Content-Disposition"]
    assert "\r" not in cd and "\n" not in cd and "<" not in cd
    assert r.headers["X-Content-Type-Options"] == "nosniff"


# --- wrong sections, other invitations, after submit --------------------------------------------


def test_sections_that_do_not_exist_or_do_not_apply_are_404(app, client, seed, login, invited):
    _eid, token = invited
    qid, sid, questions = _sections(app, token)[0]
    for path in (f"s/{qid}/nope", f"s/nope/{sid}", "s/cloud-high/ch.service", f"s/{qid}/{SCRIPT}", f"s/{qid}/%00"):
        for method in ("GET", "POST"):
            r = client.open(f"/r/{token}/{path}", method=method, data=form_data_for(questions))
            assert r.status_code == 404, (method, path)
            _no_raw_markup(r.get_data(as_text=True), path)


def test_posting_question_ids_of_another_section_or_invitation_changes_nothing(app, client, seed, login, invited):
    _eid, token = invited
    login(seed.users["procurement"])
    other = _invite(client, seed.engagements[("tamana-city", "cloud")])
    client.post("/logout")
    sections = _sections(app, token)
    qid, sid, questions = sections[0]
    _oqid, _osid, other_questions = _sections(app, other)[0]
    _q2, _s2, later_questions = sections[1]
    data = {**form_data_for(questions), **form_data_for(other_questions), **form_data_for(later_questions)}
    assert client.post(f"/r/{token}/s/{qid}/{sid}", data=data).status_code == 302
    saved = _answers(app, token)
    assert set(saved) <= {q.id for q in questions}, "only the posted section's questions are saved"
    assert _answers(app, other) == {}


def test_answers_posted_after_submit_change_nothing(app, client, seed, login, invite):
    eid = seed.engagements[("tamana-city", "outsourcing")]
    token = invite(eid=eid)
    answer_all(app, client, token)
    assert client.post(f"/r/{token}/submit").status_code == 302
    with app.app_context():
        response = db.session.scalar(select(Response))
        frozen = dict(response.frozen_answers)
        sha = response.answers_sha256
        rows = {a.question_id: a.value for a in db.session.scalars(select(Answer))}
    for qid, sid, questions in _sections(app, token):
        data = form_data_for(questions, {q.id: "改ざん" for q in questions if q.type == "text"})
        r = client.post(f"/r/{token}/s/{qid}/{sid}", data=data)
        assert r.status_code == 409  # refused, with what was typed kept on the page
        assert "改ざん" in r.get_data(as_text=True) or not any(q.type == "text" for q in questions)
    # Double submit.
    r = client.post(f"/r/{token}/submit")
    assert r.status_code == 302
    assert client.get(f"/r/{token}/check").status_code == 302
    with app.app_context():
        response = db.session.scalar(select(Response))
        assert response.frozen_answers == frozen and response.answers_sha256 == sha
        assert {a.question_id: a.value for a in db.session.scalars(select(Answer))} == rows
        assert db.session.scalar(select(func.count(Assessment.id))) == 1, "double submit scores once"


def test_tokens_wrong_and_revoked_are_neutral_404_expired_is_a_plain_410(app, client, seed, login):
    eid = seed.engagements[("tamana-city", "outsourcing")]
    login(seed.users["procurement"])
    token = _invite(client, eid)
    with app.app_context():
        inv_id = db.session.scalar(select(Invitation.id))
    assert client.post(f"/staff/invitations/{inv_id}/revoke").status_code == 302
    client.post("/logout")
    client.get(f"/r/{token[:-1]}x/")  # the first page shows (and consumes) the flashed messages
    wrong = client.get(f"/r/{token[:-1]}x/").get_data(as_text=True)
    assert "ページが見つかりません" in wrong
    for path in ("/", "/check", "/s/outsourcing/out.select"):
        r = client.get(f"/r/{token}{path}")
        assert r.status_code == 404
        assert r.get_data(as_text=True) == wrong, "revoked looks exactly like wrong"
    assert client.post(f"/r/{token}/submit").status_code == 404
    # Expired.
    login(seed.users["procurement"])
    token2 = _invite(client, eid)
    client.post("/logout")
    client.get(f"/r/{token[:-1]}x/")  # consumes the flashed messages
    with app.app_context():
        inv = invitation_for_token(token2)
        inv.expires_at = utcnow().replace(year=2000)
        db.session.commit()
    for path in ("/", "/check", "/s/outsourcing/out.select", "/handover"):
        r = client.get(f"/r/{token2}{path}")
        assert r.status_code == 410 and "このリンクの有効期限が切れています" in r.get_data(as_text=True)
    assert client.post(f"/r/{token2}/submit").status_code == 410


# --- other organisations' ids in staff URLs -----------------------------------------------------


def test_other_organisation_ids_in_every_staff_url_are_404(app, client, seed, login):
    eid = approve_through_services(app, seed)
    with app.app_context():
        annex_id = db.session.scalar(select(Annex.id))
        inv_id = db.session.scalar(select(Invitation.id))
        cloud = db.session.get(Engagement, seed.engagements[("tamana-city", "cloud")])
        open_inv = send_invitation(cloud, recipient_email="c@example.jp").invitation
        db.session.commit()
        open_inv_id = open_inv.id
        ome_vendor = db.session.scalar(select(Vendor.id).filter_by(organisation_id=seed.org_ids["ome-city"]))
    login(seed.users["other_org_admin"])
    for method, url in (
        ("GET", f"/staff/engagements/{eid}"),
        ("GET", f"/staff/engagements/{eid}/review"),
        ("POST", f"/staff/engagements/{eid}/review"),
        ("POST", f"/staff/engagements/{eid}/invite"),
        ("POST", f"/staff/invitations/{inv_id}/revoke"),
        ("POST", f"/staff/invitations/{open_inv_id}/revoke"),
        ("POST", f"/legal/engagements/{eid}/annex"),
        ("GET", f"/legal/annexes/{annex_id}.pdf"),
        ("GET", f"/legal/annexes/{annex_id}.docx"),
        ("GET", f"/legal/annexes/{annex_id}/compare/{annex_id}"),
    ):
        r = client.open(url, method=method, data={"decision": "approved", "recipient_email": "x@example.jp"})
        assert r.status_code == 404, (method, url, r.status_code)
    with app.app_context():
        assert db.session.get(Invitation, open_inv_id).state == "open"
    client.post("/logout")
    # And our procurement cannot use ome's vendor id in the engagement form.
    login(seed.users["procurement"])
    r = client.post(
        "/staff/engagements/new",
        data={
            "vendor_id": str(ome_vendor),
            "reference": "X-1",
            "title": "t",
            "kinds": "outsourcing",
            "confidentiality": "2",
        },
    )
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert "入力内容に問題があります" in body and 'id="vendor_id-error"' in body, "told to choose a vendor again"
    with app.app_context():
        assert db.session.scalar(select(Engagement.id).filter_by(reference="X-1")) is None


def test_other_organisation_evidence_is_404(app, client, seed, login, invited):
    _eid, token = invited
    qid, sid, questions, file_q = _section_with(app, token, "file")
    data = form_data_for(questions)
    data[field_name(file_q.id)] = (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "ok.pdf")
    client.post(f"/r/{token}/s/{qid}/{sid}", data=data, content_type="multipart/form-data")
    with app.app_context():
        ev_id = db.session.scalar(select(Evidence.id))
    assert ev_id is not None
    login(seed.users["other_org_admin"])
    assert client.get(f"/staff/evidence/{ev_id}").status_code == 404
    assert client.get("/staff/evidence/999999").status_code == 404


def test_compare_across_engagements_is_404(app, client, seed, login):
    eid = approve_through_services(app, seed)
    eid2 = approve_through_services(app, seed, kind="cloud")
    with app.app_context():
        a1 = db.session.scalar(select(Annex.id).filter_by(engagement_id=eid))
        a2 = db.session.scalar(select(Annex.id).filter_by(engagement_id=eid2))
    login(seed.users["legal"])
    assert client.get(f"/legal/annexes/{a1}/compare/{a2}").status_code == 404


# --- methods and states -------------------------------------------------------------------------


def test_methods_not_allowed_get_the_japanese_405_page(app, client, seed, login, invited):
    eid, token = invited
    login(seed.users["admin"])
    for method, url in (
        ("GET", f"/r/{token}/submit"),
        ("PUT", f"/r/{token}/"),
        ("DELETE", f"/staff/engagements/{eid}"),
        ("GET", f"/staff/engagements/{eid}/invite"),
        ("GET", "/admin/policy"),
        ("PATCH", "/logout"),
        ("PUT", "/staff/invitations/1/revoke"),  # GET is its confirmation page
        ("GET", f"/legal/engagements/{eid}/annex"),
    ):
        r = client.open(url, method=method)
        assert r.status_code == 405, (method, url)
        assert "この操作はできません" in r.get_data(as_text=True)


def test_review_decision_posted_twice_keeps_the_first(app, client, seed, login, invite):
    eid = seed.engagements[("tamana-city", "outsourcing")]
    token = invite(eid=eid)
    answer_all(app, client, token)
    client.post(f"/r/{token}/submit")
    login(seed.users["reviewer"])
    assert (
        client.post(f"/staff/engagements/{eid}/review", data={"decision": "approved", "note": "OK"}).status_code == 302
    )
    r = client.post(
        f"/staff/engagements/{eid}/review", data={"decision": "rejected", "note": "やっぱり"}, follow_redirects=True
    )
    assert r.status_code == 200
    assert "すでに判定済みです" in r.get_data(as_text=True)
    with app.app_context():
        assessment = db.session.scalar(select(Assessment))
        assert assessment.decision == "approved" and assessment.decision_note == "OK"
        assert db.session.get(Engagement, eid).state == "approved"
    # A decision value that is not one of the choices.
    r = client.post(f"/staff/engagements/{eid}/review", data={"decision": "approved'; DROP TABLE x;--"})
    assert r.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(Assessment.decision)) == "approved", "the first decision stands"


def test_approving_a_fail_rating_is_refused(app, client, seed, login, invite):
    eid = seed.engagements[("tamana-city", "outsourcing")]
    token = invite(eid=eid)
    overrides = {}
    for _qid, _sid, questions in _sections(app, token):
        for q in questions:
            if q.type == "yesno":
                overrides[q.id] = "no"
    answer_all(app, client, token, overrides)
    client.post(f"/r/{token}/submit")
    with app.app_context():
        rating = db.session.scalar(select(Assessment.rating))
    assert rating == "fail"
    login(seed.users["reviewer"])
    r = client.post(f"/staff/engagements/{eid}/review", data={"decision": "approved", "note": "承認したい"})
    assert r.status_code == 400
    assert "承認できません" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Assessment.decision)) is None
        assert db.session.get(Engagement, eid).state == "submitted"
    client.post("/logout")
    login(seed.users["legal"])
    r = client.post(f"/legal/engagements/{eid}/annex")
    assert r.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count(Annex.id))) == 0


def test_issuing_an_annex_for_a_non_approved_engagement_is_refused(app, client, seed, login):
    eid = seed.engagements[("tamana-city", "outsourcing")]
    login(seed.users["legal"])
    r = client.post(f"/legal/engagements/{eid}/annex")
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "承認済みの案件だけ特記事項を作成できます" in page
    with app.app_context():
        assert db.session.scalar(select(func.count(Annex.id))) == 0
    assert client.post("/legal/engagements/999999/annex").status_code == 404


def test_revoking_twice_or_a_submitted_invitation_is_a_message(app, client, seed, login):
    eid = approve_through_services(app, seed)
    with app.app_context():
        inv_id = db.session.scalar(select(Invitation.id))
    login(seed.users["procurement"])
    r = client.post(f"/staff/invitations/{inv_id}/revoke")
    assert r.status_code == 302
    assert "取り消せません" in client.get(r.headers["Location"]).get_data(as_text=True)
    r = client.post(f"/staff/engagements/{eid}/invite", data={"recipient_email": "a@example.jp"})
    assert r.status_code == 302
    assert "新しい回答依頼は送れません" in client.get(r.headers["Location"]).get_data(as_text=True)


# --- dates --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "令和8年2月30日",
        "2026-02-30",
        "令和元年4月30日",
        "平成31年5月1日",
        "明治1年1月1日",
        "令和0年1月1日",
        "0000-01-01",
        "2026/13/01",
        "<script>",
        "令和８年１３月１日",
    ],
)
def test_invalid_dates_in_the_engagement_form_get_a_message_and_keep_the_input(app, client, seed, login, raw):
    login(seed.users["procurement"])
    with app.app_context():
        vendor_id = db.session.scalar(select(Vendor.id).filter_by(organisation_id=seed.org_ids["tamana-city"]))
    r = client.post(
        "/staff/engagements/new",
        data={
            "vendor_id": str(vendor_id),
            "reference": "D-1",
            "title": "日付",
            "kinds": "outsourcing",
            "confidentiality": "2",
            "period_start": raw,
        },
    )
    assert r.status_code == 200, raw
    body = r.get_data(as_text=True)
    assert "日付は「2026-04-01」または「令和8年4月1日」の形で入力してください。" in body
    _no_raw_markup(body, "date error")
    with app.app_context():
        assert db.session.scalar(select(Engagement.id).filter_by(reference="D-1")) is None


def test_period_end_before_start(app, client, seed, login):
    login(seed.users["procurement"])
    with app.app_context():
        vendor_id = db.session.scalar(select(Vendor.id).filter_by(organisation_id=seed.org_ids["tamana-city"]))
    r = client.post(
        "/staff/engagements/new",
        data={
            "vendor_id": str(vendor_id),
            "reference": "D-2",
            "title": "日付",
            "kinds": "outsourcing",
            "confidentiality": "2",
            "period_start": "令和9年4月1日",
            "period_end": "令和元年5月1日",
        },
    )
    assert r.status_code == 200
    assert "開始日以降の日付を入力してください" in r.get_data(as_text=True)


def test_engagement_form_with_non_choice_values_never_crashes(app, client, seed, login):
    login(seed.users["procurement"])
    for data in (
        {"vendor_id": "abc", "reference": "V-1", "title": "t", "kinds": "outsourcing", "confidentiality": "2"},
        {"vendor_id": "1", "reference": "V-2", "title": "t", "kinds": "bogus", "confidentiality": "9"},
        {
            "vendor_id": "1",
            "reference": "V-3",
            "title": "t",
            "kinds": "outsourcing",
            "confidentiality": "x",
            "integrity": "x",
            "officer_ids": "x",
        },
        {
            "vendor_id": "1",
            "reference": "V-4",
            "title": "t",
            "kinds": "outsourcing",
            "confidentiality": "2",
            "officer_ids": "999999",
            "network_segment": "moon",
        },
        {
            "vendor_id": "99999999999999999999",
            "reference": "V-5",
            "title": "t",
            "kinds": "outsourcing",
            "confidentiality": "2",
        },
    ):
        r = client.post("/staff/engagements/new", data=data)
        assert r.status_code == 200, (data, r.status_code)
        assert "入力内容に問題があります" in r.get_data(as_text=True)


def test_reference_with_full_width_and_markup(app, client, seed, login):
    login(seed.users["procurement"])
    with app.app_context():
        vendor_id = db.session.scalar(select(Vendor.id).filter_by(organisation_id=seed.org_ids["tamana-city"]))
    r = client.post(
        "/staff/engagements/new",
        data={
            "vendor_id": str(vendor_id),
            "reference": "<b>x</b>",
            "title": "t",
            "kinds": "outsourcing",
            "confidentiality": "2",
        },
    )
    assert r.status_code == 200
    assert "半角英数字とハイフン" in r.get_data(as_text=True)
    r = client.post(
        "/staff/engagements/new",
        data={
            "vendor_id": str(vendor_id),
            "reference": "ＯＵＴ－９",
            "title": "t",
            "kinds": "outsourcing",
            "confidentiality": "2",
        },
    )
    assert r.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Engagement.id).filter_by(reference="OUT-9")) is not None


def test_non_bmp_names_survive_every_step(app, client, seed, login):
    login(seed.users["procurement"])
    r = client.post("/staff/vendors/new", data={"name": "株式会社𠮷野家🍚", "representative": "代表 𠮷田 𩸽"})
    assert r.status_code == 302
    body = client.get("/staff/vendors").get_data(as_text=True)
    assert "株式会社𠮷野家🍚" in body


# --- admin policy uploads -----------------------------------------------------------------------


def _upload(client, data: bytes, filename: str, slug: str = ""):
    # The multipart body is encoded here: werkzeug's test client spools big bodies to a temporary
    # file it never closes (a ResourceWarning that is not the app's).
    boundary = "----vendorriskhostile"
    body = io.BytesIO()
    body.write(f'--{boundary}\r\nContent-Disposition: form-data; name="slug"\r\n\r\n{slug}\r\n'.encode())
    body.write(
        f'--{boundary}\r\nContent-Disposition: form-data; name="policy_file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
    )
    body.write(data + f"\r\n--{boundary}--\r\n".encode())
    return client.post("/admin/policy", data=body.getvalue(), content_type=f"multipart/form-data; boundary={boundary}")


def _upload_and_accept(client, data: bytes, filename: str, slug: str = ""):
    """Upload a policy, then accept what was read on the review page (the confirm-before-use flow)."""
    r = _upload(client, data, filename, slug)
    assert r.status_code == 302 and "/admin/policy/editions/" in r.headers["Location"], r.status_code
    return client.post(r.headers["Location"].split("?")[0] + "/accept")


def test_policy_over_five_megabytes_is_refused_with_a_message(app, client, seed, login):
    login(seed.users["admin"])
    r = _upload(client, b"a" * (5 * 1024 * 1024 + 10), "big.txt")
    assert r.status_code == 400
    assert "5MB以下のファイルを選んでください" in r.get_data(as_text=True)
    r = _upload(client, b"a" * (12 * 1024 * 1024 + 10), "huge.txt")
    assert r.status_code == 413


def test_policy_pdf_without_text_and_broken_pdf(app, client, seed, login):
    from weasyprint import HTML

    login(seed.users["admin"])
    blank = HTML(string="<html><body></body></html>").write_pdf()
    r = _upload(client, blank, "scan.pdf")
    assert r.status_code == 400
    assert "PDF から文字を取り出せませんでした" in r.get_data(as_text=True)
    r = _upload(client, b"%PDF-1.7\n garbage \x00\xff" * 100, "broken.pdf")
    assert r.status_code == 400
    assert "PDF" in r.get_data(as_text=True)
    r = _upload(client, b"hello", "fake.pdf")
    assert r.status_code == 400 and "PDF ファイルではありません" in r.get_data(as_text=True)


def test_policy_cp932_with_md_name_and_invalid_bytes(app, client, seed, login):
    from vendorrisk.paths import POLICIES_DIR

    login(seed.users["admin"])
    text = (POLICIES_DIR / "tamana-city.txt").read_text(encoding="utf-8")
    r = _upload_and_accept(client, text.encode("cp932", errors="replace"), "方針.md")
    assert r.status_code == 302
    # Bytes that are neither UTF-8 nor CP932.
    r = _upload(client, b"\xff\xfe\xfd\x80\x81" * 100, "bad.md")
    assert r.status_code == 400
    assert "入力内容に問題があります" in r.get_data(as_text=True)
    # NUL bytes in a text file.
    r = _upload_and_accept(client, text.encode("utf-8").replace("玉名市".encode(), "玉名\x00市".encode(), 1), "nul.txt")
    assert r.status_code == 302
    with app.app_context():
        assert "\x00" not in db.session.scalar(select(Organisation).filter_by(slug="tamana-city")).policy_text


def test_policy_with_markup_in_the_organisation_name_is_escaped(app, client, seed, login):
    from vendorrisk.paths import POLICIES_DIR

    login(seed.users["admin"])
    text = (POLICIES_DIR / "tamana-city.txt").read_text(encoding="utf-8")
    hostile = text.replace("玉名市", f"玉名市{SCRIPT}")
    r = _upload(client, hostile.encode("utf-8"), "x.txt")
    assert r.status_code == 302
    _no_raw_markup(client.get(r.headers["Location"]).get_data(as_text=True), "policy review page")
    assert client.post(r.headers["Location"] + "/accept").status_code == 302
    page = client.get("/admin/organisation").get_data(as_text=True)
    _no_raw_markup(page, "admin organisation page")


def test_a_posted_slug_never_creates_nor_reaches_another_organisation(app, client, seed, login):
    """The upload form has no slug: whatever a hand-made post names, the draft is the admin's own."""
    from vendorrisk.models import PolicyEdition
    from vendorrisk.paths import POLICIES_DIR

    login(seed.users["admin"])
    data = (POLICIES_DIR / "tamana-city.txt").read_bytes()
    with app.app_context():
        organisations = set(db.session.scalars(select(Organisation.slug)))
    for slug in ("../../etc", "Ｔａｍａｎａ", SCRIPT, "a" * 1000, "ome-city", "new-city"):
        r = _upload(client, data, "x.txt", slug=slug)
        assert r.status_code == 302 and "/admin/policy/editions/" in r.headers["Location"], slug
        _no_raw_markup(client.get(r.headers["Location"]).get_data(as_text=True), "review page")
        with app.app_context():
            edition = db.session.scalar(select(PolicyEdition).order_by(PolicyEdition.id.desc()))
            assert (edition.slug, edition.organisation_id) == ("tamana-city", seed.org_ids["tamana-city"]), slug
    r = client.post(r.headers["Location"] + "/accept")
    assert r.status_code == 302
    with app.app_context():
        assert set(db.session.scalars(select(Organisation.slug))) == organisations
        ome = db.session.scalar(select(Organisation).filter_by(slug="ome-city"))
        assert ome.name == "青梅市", "another organisation's policy is never overwritten by an upload"


# --- admin users, officers, article overrides ---------------------------------------------------


def test_admin_forms_with_hostile_input(app, client, seed, login):
    login(seed.users["admin"])
    r = client.post(
        "/admin/officers", data={"role": "security_manager", "role_title": SCRIPT, "name": IMG, "department": "x"}
    )
    assert r.status_code == 302
    r = client.post("/admin/officers", data={"role": "bogus-role", "role_title": "t", "name": "n"})
    assert r.status_code == 400
    page = client.get("/admin/organisation").get_data(as_text=True)
    _no_raw_markup(page, "admin page with officer")
    r = client.post(
        "/admin/users", data={"name": SCRIPT, "email": "New@Example.jp", "role": "superuser", "password": "x" * 12}
    )
    assert r.status_code == 400
    r = client.post(
        "/admin/users", data={"name": SCRIPT, "email": "new.user@example.jp", "role": "legal", "password": "x" * 12}
    )
    assert r.status_code == 302
    r = client.post(
        "/admin/users", data={"name": "n", "email": "NEW.User@Example.JP", "role": "legal", "password": "x" * 12}
    )
    assert r.status_code == 400 and "すでに登録されています" in r.get_data(as_text=True), (
        "e-mail addresses are compared case-insensitively"
    )
    _no_raw_markup(client.get("/admin/organisation").get_data(as_text=True), "admin page with user")
    # The engagement form lists the officer: escaped.
    page = client.get("/staff/engagements/new").get_data(as_text=True)
    _no_raw_markup(page, "engagement form with officer")


def test_article_override_with_placeholder_payloads(app, client, seed, login):
    login(seed.users["admin"])
    r = client.post(
        "/admin/articles/confidentiality",
        data={"heading": SCRIPT, "paragraphs": "{{7*7}} {__class__.__mro__} {vendor.name.__class__}"},
    )
    assert r.status_code == 200
    assert "この条文は使えません" in r.get_data(as_text=True)
    with app.app_context():
        org = db.session.scalar(select(Organisation).filter_by(slug="tamana-city"))
        assert "articles_override" not in org.settings, "a refused article is not saved"
    r = client.get("/admin/articles/%3Cscript%3E")
    assert r.status_code == 404
    _no_raw_markup(r.get_data(as_text=True), "article 404")


def test_nul_byte_in_review_note_never_crashes(app, client, seed, login, invite):
    eid = seed.engagements[("tamana-city", "outsourcing")]
    token = invite(eid=eid)
    answer_all(app, client, token)
    client.post(f"/r/{token}/submit")
    login(seed.users["reviewer"])
    r = client.post(f"/staff/engagements/{eid}/review", data={"decision": "rejected", "note": "理由\x00"})
    assert r.status_code == 302
    with app.app_context():
        assessment = db.session.scalar(select(Assessment))
        assert assessment.decision == "rejected" and assessment.decision_note == "理由"


def test_nul_byte_in_evidence_file_name_never_crashes(app, client, invited):
    _eid, token = invited
    qid, sid, questions, file_q = _section_with(app, token, "file")
    data = form_data_for(questions)
    data[field_name(file_q.id)] = (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "証明書\x00.pdf")
    r = client.post(f"/r/{token}/s/{qid}/{sid}", data=data, content_type="multipart/form-data")
    assert r.status_code == 302
    saved = _answers(app, token)
    assert saved[file_q.id]["filename"] == "証明書.pdf", "the file is kept under its name without the NUL"
    assert len(saved) > 1, "the other answers of the section are saved"


def test_one_section_for_engagements_with_different_profiles(app, client, seed, invite, make_engagement):
    """The same section shows more questions when the work involves personal data (Pマーク): the
    page of one engagement must never be built from the form of another with fewer questions."""
    with app.app_context():
        vendor_id = db.session.get(Engagement, seed.engagements[("tamana-city", "outsourcing")]).vendor_id
    without = make_engagement(seed.org_ids["tamana-city"], vendor_id, "outsourcing", reference="NOPD-1",
                              personal_data=False)
    tokens = [invite(eid=without), invite("outsourcing")]
    shown = []
    for token in tokens:  # the one with fewer questions first: its form is built (and kept) first
        qid, sid, questions = next(s for s in _sections(app, token) if s[1] == "out.select")
        url = f"/r/{token}/s/{qid}/{sid}"
        assert client.get(url).status_code == 200
        r = client.post(url, data=form_data_for(questions))
        assert r.status_code == 302, r.get_data(as_text=True)[:500]
        shown.append({q.id for q in questions})
        assert set(_answers(app, token)) >= {q.id for q in questions if q.type != "file"}, "every answer saved"
    assert "out.select.pmark" in shown[1] - shown[0]
