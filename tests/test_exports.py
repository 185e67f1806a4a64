"""Exports of the staff lists (#9 item 6): engagements, vendors, answers and findings as CSV
(UTF-8 with BOM) and XLSX, filtered like the list; formula payloads come out as inert text."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from vendorrisk.extensions import db
from vendorrisk.models import AuditEvent, Engagement

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from lists import seed_organisation  # noqa: E402

TAMANA = "tamana-city"
PAYLOADS = ["=HYPERLINK(\"http://evil.example\",\"開く\")", "+SUM(1,2)", "-2+3", "@cmd", "\t=1+1"]


def _csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    raw = response.data
    assert raw.startswith("\ufeff".encode()), "UTF-8 with BOM, for Excel"
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def _xlsx(response: Any) -> list[list[Any]]:
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(response.data)).active
    return [[c.value for c in row] for row in sheet.iter_rows()]


@pytest.fixture
def seeded(app, seed):
    with app.app_context():
        seed_organisation(seed.org_ids[TAMANA], vendors=20, engagements=60, answers=1500)
        db.session.commit()
    return seed


def test_engagements_export_is_filtered_like_the_list(app, client, seeded, login):
    login(seeded.users["procurement"])
    rows = _csv(client.get("/staff/exports/engagements.csv?state=invited&kind=outsourcing"))
    header, body = rows[0], rows[1:]
    assert header[:4] == ["案件番号", "件名", "事業者名", "法人番号"] and "回答状況" in header
    with app.app_context():
        expected = set(db.session.scalars(select(Engagement.reference).where(
            Engagement.state == "invited", Engagement.organisation_id == seeded.org_ids[TAMANA],
            Engagement.reference.like("BLK-%"), Engagement.personal_data.is_(True))))
    assert expected and {r[0] for r in body} == expected
    progress = body[0][header.index("回答状況")]
    assert "項目・" in progress
    # The same filter as XLSX: every page, not just the first 50.
    everything = _xlsx(client.get("/staff/exports/engagements.xlsx"))
    assert everything[0][0] == "案件番号" and len(everything) - 1 == 63
    # The list page links to its exports with its filter.
    page = client.get("/staff/?state=invited").get_data(as_text=True)
    assert "/staff/exports/engagements.csv?state=invited" in page
    assert "/staff/exports/engagements.xlsx?state=invited" in page
    assert "/staff/exports/answers.csv?state=invited" in page and "/staff/exports/findings.xlsx?state=invited" in page
    r = client.get("/staff/exports/engagements.csv")
    assert "filename*=UTF-8''%E6%A1%88%E4%BB%B6%E4%B8%80%E8%A6%A7_" in r.headers["Content-Disposition"]


def test_contractor_formula_payloads_come_out_neutralised(app, client, seed, login):
    from vendorrisk.services.answers import save_answers, visible_questions
    from vendorrisk.services.invitations import send_invitation
    from vendorrisk.services.unit_of_work import unit_of_work

    eid = seed.engagements[(TAMANA, "outsourcing")]
    with app.app_context(), unit_of_work():
        invitation = send_invitation(db.session.get(Engagement, eid), recipient_email="a@example.jp").invitation
        texts = [q for q in visible_questions(invitation) if q.type == "text"][: len(PAYLOADS)]
        assert len(texts) == len(PAYLOADS)
        save_answers(invitation, {q.id: payload for q, payload in zip(texts, PAYLOADS, strict=True)})
        typed = {q.id: payload for q, payload in zip(texts, PAYLOADS, strict=True)}
    login(seed.users["reviewer"])
    rows = _csv(client.get("/staff/exports/answers.csv?q=OUT-1"))
    header = rows[0]
    assert header[-3:] == ["設問ID", "設問", "回答"]
    by_question = {r[header.index("設問ID")]: r[-1] for r in rows[1:]}
    for qid, payload in typed.items():
        assert by_question[qid] == "'" + payload, (qid, by_question[qid])
    assert "未回答" in by_question.values(), "one row per question, unanswered ones too"
    sheet = load_workbook(io.BytesIO(client.get("/staff/exports/answers.xlsx?q=OUT-1").data)).active
    cells = {row[7].value: row[9] for row in sheet.iter_rows(min_row=2)}
    for qid, payload in typed.items():
        assert cells[qid].value == "'" + payload and cells[qid].data_type == "s", "text, never a formula"
    # Nothing anywhere in the workbook is a formula.
    assert not [c for row in sheet.iter_rows() for c in row if c.data_type == "f"]


def test_vendors_and_findings_exports(app, client, seeded, login):
    login(seeded.users["procurement"])
    r = client.post("/staff/vendors/new", data={"name": "=1+1株式会社", "address": "@熊本"})
    assert r.status_code == 302
    vendors = _xlsx(client.get("/staff/exports/vendors.xlsx?q=1%2B1"))
    assert vendors[0][:2] == ["事業者名", "法人番号"]
    assert vendors[1][0] == "'=1+1株式会社" and vendors[1][2] == "'@熊本"
    assert len(_csv(client.get("/staff/exports/vendors.csv"))) - 1 == 22
    findings = _csv(client.get("/staff/exports/findings.csv?state=submitted"))
    header = findings[0]
    assert "是正の内容" in header and len(findings) > 1
    answer_cells = {r[header.index("回答")] for r in findings[1:]}
    assert answer_cells == {"'=HYPERLINK(\"http://evil.example\")"}
    with app.app_context():
        submitted = db.session.scalar(select(func.count(Engagement.id)).where(
            Engagement.state == "submitted", Engagement.organisation_id == seeded.org_ids[TAMANA]))
    assert len(findings) - 1 == submitted  # one finding each in the seed


def test_exports_are_refused_by_role_audited_and_stay_in_the_organisation(app, client, seeded, login):
    login(seeded.users["legal"])
    assert client.get("/staff/exports/answers.csv").status_code == 403
    assert client.get("/staff/exports/vendors.xlsx").status_code == 403
    assert client.get("/staff/exports/engagements.pdf").status_code == 404
    assert client.get("/staff/exports/engagements.csv").status_code == 200
    client.post("/logout")
    login(seeded.users["other_org_admin"])
    rows = _csv(client.get("/staff/exports/engagements.csv"))
    assert len(rows) == 4 and not any(r[0].startswith("BLK-") for r in rows)
    assert not any("BLK" in r[0] for r in _csv(client.get("/staff/exports/vendors.csv")))
    with app.app_context():
        actions = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("export.%"))))
    assert actions.count("export.engagements") == 2 and "export.vendors" in actions
