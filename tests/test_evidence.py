"""Contractors attach evidence; reviewers download it. Only real PDFs/images/Office files are kept."""

from __future__ import annotations

import io
from typing import Any

from helpers import form_data_for, portal_sections
from sqlalchemy import select
from weasyprint import HTML

from vendorrisk.extensions import db
from vendorrisk.models import AuditEvent, Evidence
from vendorrisk.web.answer_forms import field_name


def _file_question(app, token):
    for qid, sid, questions in portal_sections(app, token):
        files = [x for x in questions if x.type == "file"]
        if files:
            return qid, sid, questions, files[0]
    raise AssertionError("the outsourcing bank asks for evidence files")


def test_evidence_upload_and_reviewer_download(app, client, seed, login, invite):
    eid = seed.engagements[("tamana-city", "outsourcing")]
    token = invite(eid=eid)
    qid, sid, questions, fq = _file_question(app, token)
    url = f"/r/{token}/s/{qid}/{sid}"

    # A text file renamed to .pdf is refused, with a clear message; other answers are still saved.
    data = form_data_for(questions)
    data[field_name(fq.id)] = (io.BytesIO(b"#!/bin/sh\necho hi\n"), "ISMS.pdf")
    r = client.post(url, data=data, content_type="multipart/form-data")
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "添付できるのはPDF" in body

    pdf = HTML(string="<p>ISMS 登録証</p>").write_pdf()
    name = "ISMS登録証<script>.pdf"
    data = form_data_for(questions)
    data[field_name(fq.id)] = (io.BytesIO(pdf), name)
    r = client.post(url, data=data, content_type="multipart/form-data")
    assert r.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "添付済み：ISMS登録証&lt;script&gt;.pdf" in page
    with app.app_context():
        ev = db.session.scalar(select(Evidence))
        assert ev.content_type == "application/pdf" and ev.filename == name and ev.stored_name.endswith(".pdf")
        assert name not in ev.stored_name
        ev_id = ev.id

    login(seed.users["reviewer"])
    r = client.get(f"/staff/evidence/{ev_id}")
    assert r.status_code == 200 and r.data == pdf
    assert r.headers["Content-Disposition"].startswith("attachment;")
    login_other = app.test_client()
    login_other.post("/login", data={"email": seed.users["other_org_admin"], "password": "correct-horse-battery-2026"})
    assert login_other.get(f"/staff/evidence/{ev_id}").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(AuditEvent).filter_by(action="evidence.download")) is not None


def test_a_stale_tab_uploading_the_same_question_keeps_the_newer_file(app, client, invite):
    """Tab 2 (opened before tab 1 uploaded) uploads to the same file question: refused as stale with
    the message, and the answer still names tab 1's file, whose row and file are both there."""
    from pathlib import Path

    from test_save_versions import bases_of

    token = invite()
    qid, sid, questions, fq = _file_question(app, token)
    url = f"/r/{token}/s/{qid}/{sid}"
    tab1, tab2 = app.test_client(), app.test_client()
    page1, page2 = tab1.get(url).get_data(as_text=True), tab2.get(url).get_data(as_text=True)
    zero, first, second = (HTML(string=f"<p>{n}</p>").write_pdf() for n in ("最初", "一つ目", "二つ目"))

    def upload(tab: Any, page: str, pdf: bytes) -> Any:
        data = {**form_data_for(questions), **bases_of(page), field_name(fq.id): (io.BytesIO(pdf), "証跡.pdf")}
        return tab.post(url, data=data, content_type="multipart/form-data")

    assert upload(tab1, page1, zero).status_code == 302
    assert upload(tab1, tab1.get(url).get_data(as_text=True), first).status_code == 302  # replaces its file
    r = upload(tab2, page2, second)
    assert r.status_code == 200 and "別の画面（タブ）" in r.get_data(as_text=True)
    with app.app_context():
        from vendorrisk.models import Answer

        answer = db.session.scalar(select(Answer).filter_by(question_id=fq.id))
        rows = db.session.scalars(select(Evidence)).all()
        assert [e.id for e in rows] == [answer.value["evidence_id"]], "one row: the one the answer names"
        kept = Path(app.config["UPLOAD_DIR"]) / rows[0].stored_name
        assert kept.read_bytes() == first
        assert sorted(p.name for p in Path(app.config["UPLOAD_DIR"]).iterdir()) == [rows[0].stored_name]
        db.session.remove()


def test_a_refused_save_never_shows_the_message_meant_for_an_earlier_one(app, client, invite):
    """「保存して次へ」 whose answer page never arrived (the connection died after the save), then the
    same page saved again: the second upload is refused as stale, and the page says so without the
    「回答を保存しました。」 that was waiting for the first save's page."""
    from test_save_versions import bases_of

    token = invite()
    qid, sid, questions, fq = _file_question(app, token)
    url = f"/r/{token}/s/{qid}/{sid}"
    page = client.get(url).get_data(as_text=True)
    first, second = (HTML(string=f"<p>{n}</p>").write_pdf() for n in ("一回目", "二回目"))

    def upload(pdf: bytes, name: str) -> Any:
        data = {**form_data_for(questions), **bases_of(page), field_name(fq.id): (io.BytesIO(pdf), name),
                "action": "save"}
        return client.post(url, data=data, content_type="multipart/form-data")

    assert upload(first, "証跡1.pdf").status_code == 302  # saved; its page is never fetched
    r = upload(second, "証跡2.pdf")
    text = r.get_data(as_text=True)
    assert r.status_code == 200 and "別の画面（タブ）" in text and "証跡1.pdf" in text
    assert "回答を保存しました。" not in text
    with app.app_context():
        from vendorrisk.models import Answer

        assert db.session.scalar(select(Answer).filter_by(question_id=fq.id)).value["filename"] == "証跡1.pdf"
        db.session.remove()
