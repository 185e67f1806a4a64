"""The hostile-input findings of issue 13 that were still open: each reproduces the attack and
checks what a user would notice (no 500, a Japanese message, nothing kept that should not be)."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
from conftest import approve_through_services
from helpers import form_data_for, portal_sections
from sqlalchemy import select
from weasyprint import HTML

from vendorrisk.domain.sheet_import import import_sheet
from vendorrisk.extensions import db
from vendorrisk.models import Engagement, Evidence, Organisation, Vendor
from vendorrisk.web.answer_forms import field_name

SCORES = {f"{level}_{k}": "50" for level in ("high", "medium", "low") for k in ("pass", "conditional")}


@pytest.mark.parametrize("blank", ["\u3000", " ", "\u3000\u3000"])
def test_a_threshold_of_only_spaces_is_refused_and_the_pages_keep_working(app, client, seed, login, blank):
    login(seed.users["admin"])
    r = client.post("/admin/thresholds", data={**SCORES, "high_pass": blank})
    assert r.status_code == 400 and "点数を入力してください。" in r.get_data(as_text=True)
    with app.app_context():
        org = db.session.get(Organisation, seed.org_ids["tamana-city"])
        assert None not in [v for t in ((org.settings or {}).get("thresholds") or {}).values() for v in t.values()]
    assert client.get("/admin/organisation").status_code == 200


def _multipart(name: str) -> tuple[bytes, str]:
    body = f'--B\r\nContent-Disposition: form-data; name="{name}"\r\n\r\nvalue\r\n--B--\r\n'.encode()
    return body, "multipart/form-data; boundary=B"


@pytest.mark.parametrize("name", ["email\\", "csrf_token\\", "\\"])
def test_a_multipart_field_name_ending_in_a_backslash(app, client, seed, invite, name):
    body, content_type = _multipart(name)
    assert client.post("/login", data=body, content_type=content_type).status_code == 200
    token = invite()
    qid, sid, _ = portal_sections(app, token)[0]
    assert client.post(f"/r/{token}/submit", data=body, content_type=content_type).status_code == 400
    assert client.post(f"/r/{token}/s/{qid}/{sid}", data=body, content_type=content_type).status_code in (200, 302)


def test_non_characters_are_removed_from_every_field_on_the_way_in(app, client, seed, login):
    login(seed.users["procurement"])
    r = client.post("/staff/vendors/new", data={"name": "株式会社\uffff非文字\ufffe\U0010ffff\ufdd0"})
    assert r.status_code in (200, 302)
    with app.app_context():
        vendor = db.session.scalar(select(Vendor).order_by(Vendor.id.desc()))
        assert vendor.name == "株式会社非文字"


def test_non_characters_in_a_vendor_name_never_break_the_docx_annex(app, client, seed, login):
    with app.app_context():
        eng = db.session.get(Engagement, seed.engagements[("tamana-city", "outsourcing")])
        vendor_id = eng.vendor_id
    # The name arrives through a form: the request class cleans it before any view sees it.
    with app.test_request_context("/", method="POST", data={"name": "委託\uffff先"}):
        from flask import request

        cleaned = request.form["name"]
    with app.app_context():
        db.session.get(Vendor, vendor_id).name = cleaned
        db.session.commit()
    eid = approve_through_services(app, seed)
    login(seed.users["legal"])
    with app.app_context():
        from vendorrisk.models import Annex

        annex = db.session.scalar(select(Annex).filter_by(engagement_id=eid))
    r = client.get(f"/legal/annexes/{annex.id}.docx")
    assert r.status_code == 200
    with zipfile.ZipFile(io.BytesIO(r.data)) as docx:
        assert "委託先" in docx.read("word/document.xml").decode()


GETS = ("/staff/engagements/{big}", "/staff/engagements/{big}/review", "/staff/evidence/{big}",
        "/legal/annexes/{big}.pdf", "/legal/annexes/{big}.docx", "/legal/annexes/1/compare/{big}",
        "/admin/policy/editions/{big}", "/api/v1/vendors/{big}")
POSTS = ("/admin/jobs/{big}/retry", "/staff/invitations/{big}/revoke", "/admin/api-keys/{big}/revoke")


def test_ids_beyond_64_bits_are_a_neutral_404(app, client, seed, login):
    login(seed.users["admin"])
    got = {}
    for big in (2**31, 2**63, 2**64, 10**30):
        got |= {url.format(big=big): client.get(url.format(big=big)).status_code for url in GETS}
        got |= {url.format(big=big): client.post(url.format(big=big)).status_code for url in POSTS}
    assert {url: code for url, code in got.items() if code not in (401, 404)} == {}
    assert client.get(f"/staff/engagements/{2**31 - 1}").status_code == 404  # the largest id still routes


def _sheet(tmp_path, rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["ID", "セクション", "設問", "種別", "選択肢", "重み", "必須合格", "根拠"])
    for row in rows:
        ws.append(row)
    path = tmp_path / "book.xlsx"
    wb.save(path)
    return path


def test_an_xlsx_zip_bomb_is_refused_before_it_is_inflated(tmp_path):
    path = _sheet(tmp_path, [["a.b", "契約", "質問", "文章", "", "1", "", "outsourcing.contract"]])
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("xl/worksheets/sheet1.xml.bak", b"\0" * (200 * 1024 * 1024))
    assert path.stat().st_size < 2 * 1024 * 1024
    _, errors = import_sheet(path)
    assert errors and "大きすぎます" in errors[0]


def test_a_sheet_with_a_million_declared_rows_is_bounded(tmp_path):
    rows = [[f"a.q{i}", "契約", f"質問{i}", "文章", "", "1", "", "outsourcing.contract"] for i in range(5001)]
    _, errors = import_sheet(_sheet(tmp_path, rows))
    assert errors and "5000行" in errors[0]


@pytest.mark.parametrize("cell", ['=HYPERLINK("http://evil.example/","押してください")', "=1+1"])
def test_a_formula_cell_in_an_imported_question_is_refused_not_kept(tmp_path, cell):
    _, errors = import_sheet(_sheet(tmp_path, [["a.b", "契約", cell, "文章", "", "1", "", "outsourcing.contract"]]))
    assert errors and "数式" in errors[0] and "2行目" in errors[0]


def test_replacing_an_evidence_file_keeps_only_the_latest(app, client, seed, invite):
    token = invite()
    qid, sid, questions = next(entry for entry in portal_sections(app, token) if any(
        x.type == "file" for x in entry[2]))
    files = [x for x in questions if x.type == "file"]
    url = f"/r/{token}/s/{qid}/{sid}"
    pdf = HTML(string="<p>登録証</p>").write_pdf()
    for i in range(4):
        data = form_data_for(questions)
        data[field_name(files[0].id)] = (io.BytesIO(pdf), f"証明書{i}.pdf")
        assert client.post(url, data=data, content_type="multipart/form-data").status_code == 302
    with app.app_context():
        rows = db.session.scalars(select(Evidence)).all()
        assert [e.filename for e in rows] == ["証明書3.pdf"]
        stored = rows[0].stored_name
    from pathlib import Path

    assert [p.name for p in Path(app.config["UPLOAD_DIR"]).iterdir()] == [stored]
    assert "添付済み：証明書3.pdf" in client.get(url).get_data(as_text=True)
