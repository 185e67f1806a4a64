"""Exports open in Excel with Japanese intact, and nothing typed by a contractor runs as a formula."""

from __future__ import annotations

import csv
import datetime as dt
import io

from openpyxl import load_workbook

from vendorrisk.adapters.export import neutralise, to_csv, to_xlsx

HOSTILE = ['=HYPERLINK("http://evil.example/","クリック")', "+81-3-1234", "-1+2", "@SUM(A1)", "\tTAB", "ok\x07bell"]


def test_formula_payloads_are_neutralised_in_xlsx():
    data = to_xlsx("案件一覧", ["案件番号", "件名"], [["OUT-1", value] for value in HOSTILE])
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet.title == "案件一覧"
    values = [sheet.cell(row=i, column=2).value for i in range(2, len(HOSTILE) + 2)]
    assert values[0] == "'=HYPERLINK(\"http://evil.example/\",\"クリック\")"
    assert all(not str(v).startswith(("=", "+", "-", "@", "\t")) for v in values)
    assert values[-1] == "okbell"
    assert all(sheet.cell(row=i, column=2).data_type == "s" for i in range(2, len(HOSTILE) + 2))


def test_csv_has_bom_crlf_and_neutralised_cells():
    data = to_csv(["事業者名", "登録日", "個人情報"], [["株式会社テスト", dt.date(2026, 12, 1), True],
                                                 ["=cmd|' /C calc'!A0", None, False]])
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["事業者名", "登録日", "個人情報"]
    assert rows[1] == ["株式会社テスト", "2026-12-01", "はい"]
    assert rows[2][0] == "'=cmd|' /C calc'!A0" and rows[2][2] == "いいえ"


def test_numbers_and_dates_stay_numbers():
    assert neutralise(-5) == -5 and neutralise(dt.date(2027, 1, 4)) == dt.date(2027, 1, 4)
    assert neutralise("-5") == "'-5"
