"""Legal's view of the annex: versions, comparison, DOCX, 覚書, audited downloads, and articles the
organisation edits itself."""

from __future__ import annotations

import io
import json
from urllib.parse import unquote

import pytest
from conftest import approve_through_services, fill_party_a
from docx import Document
from pypdf import PdfReader
from sqlalchemy import select

from vendorrisk.extensions import db
from vendorrisk.models import Annex, AuditEvent, Officer


@pytest.fixture
def approved(app, seed):
    return approve_through_services(app, seed)


def _pdf_text(data: bytes) -> str:
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).replace(" ", "").replace("\n", "")


def _annexes(app, eid):
    with app.app_context():
        rows = db.session.scalars(select(Annex).filter_by(engagement_id=eid).order_by(Annex.version))
        return [(a.id, a.version) for a in rows]


def test_same_inputs_same_version_and_a_new_version_when_officers_change(app, client, seed, login, approved):
    login(seed.users["legal"])
    assert _annexes(app, approved) == [(1, 1)]
    client.post(f"/legal/engagements/{approved}/annex")
    assert len(_annexes(app, approved)) == 1, "nothing changed: no new version"
    with app.app_context():
        officer = db.session.scalar(
            select(Officer).filter_by(role="security_manager", organisation_id=seed.org_ids["tamana-city"]))
        officer.name = "新任 﨑子"
        db.session.commit()
    assert client.post(f"/legal/engagements/{approved}/annex").status_code == 302
    versions = _annexes(app, approved)
    assert [v for _, v in versions] == [1, 2]
    page = client.get("/legal/").get_data(as_text=True)
    assert "第1版" in page and "第2版" in page
    old_pdf = client.get(f"/legal/annexes/{versions[0][0]}.pdf").data
    new_pdf = client.get(f"/legal/annexes/{versions[1][0]}.pdf").data
    assert "新任﨑子" not in _pdf_text(old_pdf), "the old version is kept as it was"
    assert "新任﨑子" in _pdf_text(new_pdf)
    diff = client.get(f"/legal/annexes/{versions[1][0]}/compare/{versions[0][0]}").get_data(as_text=True)
    assert "新任 﨑子" in diff and "比較" in diff


def test_pdf_is_archival_with_the_answers_snapshot_attached(app, client, seed, login, approved):
    login(seed.users["legal"])
    (annex_id, _), = _annexes(app, approved)
    reader = PdfReader(io.BytesIO(client.get(f"/legal/annexes/{annex_id}.pdf").data))
    metadata = reader.xmp_metadata
    assert metadata is not None and "pdfaid" in str(reader.trailer["/Root"]["/Metadata"].get_object().get_data())
    attachments = reader.attachments
    assert attachments, "the snapshot is embedded"
    payload = json.loads(next(iter(attachments.values()))[0])
    with app.app_context():
        annex = db.session.get(Annex, annex_id)
        assert payload["answers_sha256"] == annex.answers_sha256
        assert payload["document_id"] == annex.document_id
    text = _pdf_text(client.get(f"/legal/annexes/{annex_id}.pdf").data)
    assert payload["answers_sha256"][:16] not in text  # the hash is metadata, not signed text (issue #10)


def test_docx_download_has_a_japanese_file_name_and_is_audited(app, client, seed, login, approved):
    login(seed.users["legal"])
    (annex_id, _), = _annexes(app, approved)
    r = client.get(f"/legal/annexes/{annex_id}.docx")
    assert r.status_code == 200
    disposition = r.headers["Content-Disposition"]
    assert 'filename="annex-OUT-1-v1.docx"' in disposition
    assert "情報セキュリティ特記事項_OUT-1_" in unquote(disposition.split("filename*=UTF-8''")[1])
    text = "\n".join(p.text for p in Document(io.BytesIO(r.data)).paragraphs)
    assert "秘密の保持" in text
    with app.app_context():
        actions = [e.action for e in db.session.scalars(select(AuditEvent))]
        assert "annex.download_docx" in actions


def test_memorandum_adds_the_signature_block(app, client, seed, login, approved):
    login(seed.users["legal"])
    fill_party_a(app, seed.org_ids["tamana-city"])
    client.post(f"/legal/engagements/{approved}/annex", data={"memorandum": "y"})
    versions = _annexes(app, approved)
    assert len(versions) == 2
    text = _pdf_text(client.get(f"/legal/annexes/{versions[-1][0]}.pdf").data)
    assert "甲乙記名押印の上" in text


def test_admin_edits_an_article_and_the_next_annex_uses_it(app, client, seed, login, approved):
    login(seed.users["admin"])
    assert "秘密の保持" in client.get("/admin/articles").get_data(as_text=True)
    bad = client.post("/admin/articles/confidentiality",
                      data={"heading": "秘密の保持", "paragraphs": "乙は{unknown.thing}を守る。"})
    body = bad.get_data(as_text=True)
    assert bad.status_code == 200 and "この条文は使えません" in body
    assert "乙は{unknown.thing}を守る。" in body, "what the admin typed is kept"
    r = client.post("/admin/articles/confidentiality", data={
        "heading": "秘密の保持等",
        "paragraphs": "乙は、{organisation.name}の情報を漏らしてはならない。\n\n"
                      "乙は、次の事項を守らなければならない。\n・目的外に使わないこと\n・第三者に渡さないこと",
    })
    assert r.status_code == 302
    r = client.post("/admin/articles/no_copy", data={"omit": "y"})
    assert r.status_code == 302
    page = client.get("/admin/articles").get_data(as_text=True)
    assert "変更あり" in page and "使わない" in page
    client.post("/logout")
    login(seed.users["legal"])
    client.post(f"/legal/engagements/{approved}/annex")
    versions = _annexes(app, approved)
    assert len(versions) == 2
    text = _pdf_text(client.get(f"/legal/annexes/{versions[-1][0]}.pdf").data)
    assert "秘密の保持等" in text and "乙は、玉名市の情報を漏らしてはならない。" in text
    assert "（1）目的外に使わないこと" in text
    assert "複写・複製の禁止" not in text


def test_conditional_approval_lists_remediation_with_deadlines(app, client, seed, login):
    from vendorrisk.demo import demo_answer
    from vendorrisk.models import Engagement
    from vendorrisk.services import answers as answer_service
    from vendorrisk.services import definitions, invitations

    eid = seed.engagements[("tamana-city", "outsourcing")]
    with app.app_context():
        eng = db.session.get(Engagement, eid)
        sent = invitations.send_invitation(eng, recipient_email="a@example.jp")
        questions = [q for qn in definitions.invitation_questionnaires(sent.invitation)
                     for q in qn.applicable(eng.profile())]
        answers = {q.id: demo_answer(q, eng.vendor, eng) for q in questions}
        weak = next(q for q in questions if q.type == "yesno" and q.must_pass and not q.shown_when)
        answers[weak.id] = "partial"
        answer_service.save_answers(sent.invitation, answers)
        assessment = answer_service.submit_response(sent.invitation)
        db.session.commit()
        assert assessment.rating == "conditional"
        finding = next(f for f in assessment.result["findings"] if f["question_id"] == weak.id)
    login(seed.users["reviewer"])
    review = {"decision": "approved", "note": "期限までに是正"}
    assert client.post(f"/staff/engagements/{eid}/review", data=review).status_code == 302
    client.post("/logout")
    login(seed.users["legal"])
    client.post(f"/legal/engagements/{eid}/annex")
    (annex_id, _), = _annexes(app, eid)
    text = _pdf_text(client.get(f"/legal/annexes/{annex_id}.pdf").data)
    assert "是正" in text
    # 是正事項 are written as 乙's obligation with a deadline, never the question or an instruction
    assert weak.obligation_ja and weak.obligation_ja.replace(" ", "")[:20] in text
    assert finding["remediation"].replace(" ", "")[:20] not in text
    assert "までに、" in text and "その結果を書面で甲に報告すること。" in text
    assert "確認結果" not in text and "条件付き適合" not in text
    import datetime as dt

    from vendorrisk.domain.wareki import format_wareki

    assert format_wareki(dt.date.fromisoformat(finding["deadline"])) in text
