"""Spreadsheet exports: CSV (UTF-8 with BOM and CRLF, so Excel opens Japanese text) and XLSX.

Every cell of text is made inert: a value starting with = + - @, a tab or a carriage return would be
read by Excel or LibreOffice as a formula (CSV injection), so it gets a leading single quote and is
stored as text; characters that cannot live in XML are removed."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """A cell value that no spreadsheet will evaluate."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if isinstance(value, int | float | dt.date):
        return value
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def _csv_cell(value: Any) -> str:
    value = neutralise(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def to_csv(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_csv_cell(h) for h in headers])
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    workbook = Workbook(write_only=False)
    sheet = workbook.active
    assert sheet is not None
    sheet.title = ILLEGAL_CHARACTERS_RE.sub("", title)[:31] or "export"
    sheet.append([neutralise(h) for h in headers])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    widths = [max(8, len(str(h)) * 2) for h in headers]
    for row in rows:
        values = [neutralise(v) for v in row]
        for index, value in enumerate(values):
            if isinstance(value, dt.datetime):
                values[index] = value.replace(tzinfo=None)  # Excel has no time zones: shown in JST already
            widths[index] = min(60, max(widths[index], len(str(value)) + 2))
        sheet.append(values)
    for cell in sheet.iter_rows(min_row=2):
        for c in cell:
            if isinstance(c.value, str):
                c.data_type = "s"  # text, never a formula
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def answer_workbook(rows: Sequence[Any], headers: Sequence[str], instructions: Sequence[str],
                    answer_column: int) -> bytes:
    """The questionnaire to fill in: sheet 「回答」 (one row per answer; a choice offered as a list from
    the hidden sheet 「選択肢」, so only its labels are accepted), and sheet 「記入方法」. `rows` are
    domain.answer_sheet.SheetRow. Every text is inert (see `neutralise`)."""
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "回答"
    choices = workbook.create_sheet("選択肢")
    choices.sheet_state = "hidden"
    notes = workbook.create_sheet("記入方法")
    for line in instructions:
        notes.append([neutralise(line)])
    notes.column_dimensions["A"].width = 110
    sheet.append([neutralise(h) for h in headers])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    letter = get_column_letter(answer_column + 1)
    for number, row in enumerate(rows, start=2):
        sheet.append([neutralise(v) for v in (row.key, row.section, row.text, "必須" if row.required else "任意",
                                              row.how, row.answer, "")])
        if row.choices:
            choices.append([neutralise(c) for c in row.choices])
            last = get_column_letter(len(row.choices))
            listed = DataValidation(type="list", formula1=f"選択肢!$A${choices.max_row}:${last}${choices.max_row}",
                                    allow_blank=True, showErrorMessage=True, errorTitle="選択肢にない値です",
                                    error="一覧から選んでください。")
            sheet.add_data_validation(listed)
            listed.add(f"{letter}{number}")
    for row_cells in sheet.iter_rows(min_row=2):
        for c in row_cells:
            c.data_type = "s"  # text, never a formula
    for index, width in enumerate((28, 24, 60, 6, 24, 40, 40), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.column_dimensions["A"].hidden = False
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
