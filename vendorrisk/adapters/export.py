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
