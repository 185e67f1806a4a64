"""Contractors attach evidence; reviewers download it. Only real PDFs/images/Office files are kept."""

from __future__ import annotations

import io

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
