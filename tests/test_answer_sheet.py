"""Excel round trip for a contractor who will not use the portal: download the questionnaire as
XLSX (choices as lists, a 補足 column, an instructions sheet), fill it in, upload it: row-level
Japanese errors and nothing saved from a rejected file (wrong choice, formula, zip bomb), every
answer saved and the file kept as evidence from an accepted one. Real workbooks, read back."""

from __future__ import annotations

import io
import zipfile

import openpyxl
from sqlalchemy import func, select

from vendorrisk.extensions import db
from vendorrisk.models import Answer, AuditEvent, Evidence

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _download(client, token):
    r = client.get(f"/r/{token}/sheet.xlsx")
    assert r.status_code == 200 and r.headers["Content-Type"] == XLSX
    return openpyxl.load_workbook(io.BytesIO(r.data))


def _rows_by_id(ws):
    return {row[0].value: row for row in ws.iter_rows(min_row=2) if row[0].value}


def _upload(client, token, data: bytes, name="answers.xlsx"):
    return client.post(f"/r/{token}/sheet", data={"sheet": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def _bytes(wb) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _fill(wb) -> None:
    """Fill every sheet row as a contractor would: the first choice offered, or a plain answer."""
    ws = wb["回答"]
    choices = wb["選択肢"]
    for row in ws.iter_rows(min_row=2):
        key, how, answer = row[0].value, row[4].value, row[5]
        if not key:
            continue
        validation = next((dv for dv in ws.data_validations.dataValidation if answer.coordinate in dv.sqref), None)
        if validation is not None:
            sheet_row = int(validation.formula1.rsplit("$", 1)[1])
            answer.value = choices.cell(row=sheet_row, column=1).value
        elif how.startswith("次から選び"):
            answer.value = how.split("：", 1)[1].split("、")[0]
        elif how == "数字で入力":
            answer.value = "１２"
        elif how.startswith("日付"):
            answer.value = "令和9年3月31日"
        elif key.endswith("/name"):
            answer.value = "髙橋 𠮷男"
        elif key.endswith("/email"):
            answer.value = "takahashi@example.jp"
        elif key.endswith("/phone"):
            answer.value = "03-1111-2222"
        elif "/" in key:
            answer.value = "情報システム部"
        else:
            answer.value = "規程を定めて実施しています。"


def test_download_fill_upload_round_trip(app, client, seed, invite):
    token = invite()
    wb = _download(client, token)
    assert wb.sheetnames == ["回答", "選択肢", "記入方法"] and wb["選択肢"].sheet_state == "hidden"
    ws = wb["回答"]
    assert [c.value for c in ws[1]] == ["ID", "項目", "設問", "必須", "回答のしかた", "回答", "補足"]
    rows = _rows_by_id(ws)
    assert rows["out.select.isms"][4].value == "一覧から選ぶ"
    assert any(dv.type == "list" and "F" in str(dv.sqref) for dv in ws.data_validations.dataValidation)
    assert "out.people.responsible_manager/name" in rows  # a person, one row per item
    assert "Excelで回答する" in " ".join(str(c.value) for c in wb["記入方法"]["A"])
    _fill(wb)
    rows["out.select.isms"][6].value = "登録証は来週提出します"  # 補足
    r = _upload(client, token, _bytes(wb))
    assert r.status_code == 302 and r.headers["Location"].endswith("/check"), r.get_data(as_text=True)[:3000]
    check = client.get(f"/r/{token}/check").get_data(as_text=True)
    assert "ファイルの回答を保存しました" in check
    with app.app_context():
        stored = {a.question_id: a.value for a in db.session.scalars(select(Answer))}
        assert stored["out.select.isms"] == "yes"
        assert stored["out.people.responsible_manager"]["name"] == "髙橋 𠮷男"
        kept = db.session.scalar(select(Evidence).filter_by(question_id="_sheet"))
        assert kept is not None and kept.filename == "answers.xlsx" and kept.content_type == XLSX
        event = db.session.scalar(select(AuditEvent).filter_by(action="response.sheet_import"))
        assert event.data["notes"] == {"out.select.isms": "登録証は来週提出します"}
    # the answers are back in a fresh download
    again = _rows_by_id(_download(client, token)["回答"])
    assert again["out.select.isms"][5].value == "はい"


def _refused(app, client, token, data, *expected):
    r = _upload(client, token, data)
    body = r.get_data(as_text=True)
    assert r.status_code == 400, body[:2000]
    assert "回答は保存していません" in body or "ファイルが大きすぎます" in body
    for text in expected:
        assert text in body, (text, body[:3000])
    with app.app_context():
        assert db.session.scalar(select(func.count(Answer.id))) == 0, "nothing saved from a rejected file"
        assert db.session.scalar(select(func.count(Evidence.id))) == 0


def test_hostile_workbooks_save_nothing(app, client, seed, invite):
    token = invite()
    wb = _download(client, token)
    _fill(wb)
    rows = _rows_by_id(wb["回答"])
    number = rows["out.select.audit"][0].row
    rows["out.select.audit"][5].value = "たぶん"  # not one of the choices
    _refused(app, client, token, _bytes(wb), f"{number}行目", "「たぶん」は選択肢にありません")

    wb = _download(client, token)
    _fill(wb)
    rows = _rows_by_id(wb["回答"])
    rows["out.people.work_site"][5].value = '=HYPERLINK("http://evil.example","x")'
    _refused(app, client, token, _bytes(wb), "数式があります")

    # a zip bomb: a small file that declares gigabytes once inflated
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (60 * 1024 * 1024))
    assert len(buffer.getvalue()) < 1024 * 1024
    _refused(app, client, token, buffer.getvalue(), "ファイルが大きすぎます")

    _refused(app, client, token, b"not a workbook at all", "ファイルを読み込めません")
    wrong_id = _download(client, token)
    wrong_id["回答"]["A2"].value = "out.nothing.here"
    wrong_id["回答"]["F2"].value = "はい"
    _refused(app, client, token, _bytes(wrong_id), "2行目：ID「out.nothing.here」はこの質問票の設問ではありません")


def test_procurement_uploads_the_sheet_a_contractor_mailed_back(app, client, seed, login, invite):
    invite()
    eid = seed.engagements[("tamana-city", "outsourcing")]
    login(seed.users["procurement"])
    r = client.get(f"/staff/engagements/{eid}/answer-sheet.xlsx")
    assert r.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(r.data))
    _fill(wb)
    bad = openpyxl.load_workbook(io.BytesIO(_bytes(wb)))
    _rows_by_id(bad["回答"])["out.select.audit"][5].value = "たぶん"
    r = client.post(f"/staff/engagements/{eid}/answer-sheet", data={"sheet": (io.BytesIO(_bytes(bad)), "back.xlsx")},
                    content_type="multipart/form-data", follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "回答は保存していません" in page and "「たぶん」は選択肢にありません" in page
    with app.app_context():
        assert db.session.scalar(select(func.count(Answer.id))) == 0
    r = client.post(f"/staff/engagements/{eid}/answer-sheet", data={"sheet": (io.BytesIO(_bytes(wb)), "back.xlsx")},
                    content_type="multipart/form-data", follow_redirects=True)
    assert "ファイルの回答を保存しました" in r.get_data(as_text=True)
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).filter_by(action="response.sheet_import"))
        assert event.actor.startswith("user:")
        assert db.session.scalar(select(Evidence).filter_by(question_id="_sheet")).filename == "back.xlsx"
