"""The questionnaire as a spreadsheet, for a contractor who will not use the portal: one row per
answer (a person's name, title … each on its own row), the choices as a list to pick from, a 補足
column; read back with row-level Japanese errors. Pure: rows in, values out (the workbook itself
is written by `adapters.export` and read through `sheet_import.read_xlsx_sheets`, which bounds it)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .questionnaire import ANSWER_TYPES, PERSON_FIELDS, AnswerError, Question

HEADERS = ("ID", "項目", "設問", "必須", "回答のしかた", "回答", "補足")
ID_COLUMN, ANSWER_COLUMN, NOTE_COLUMN = 0, 5, 6
SHEET_TYPES = ("yesno", "single", "multi", "text", "number", "date", "person")  # group and file: the portal
MULTI_SEPARATORS = re.compile(r"[、,，;；\n]")


@dataclass(frozen=True)
class SheetRow:
    key: str  # the question id, or "<question id>/<person field>"
    section: str
    text: str
    required: bool
    how: str
    answer: str = ""
    choices: tuple[str, ...] = ()  # the labels offered as a list (data validation)


def _labels(q: Question) -> list[str]:
    return [o.label_ja for o in ANSWER_TYPES[q.type].choices(q)]


def _how(q: Question) -> str:
    if q.type in ("yesno", "single"):
        return "一覧から選ぶ"
    if q.type == "multi":
        return "次から選び「、」で区切って入力：" + "、".join(_labels(q))
    return {"number": "数字で入力", "date": "日付を入力（例：令和9年3月31日）"}.get(q.type, "文章で入力")


def sheet_rows(sections: Iterable[tuple[str, list[Question]]], given: dict[str, Any],
               localize: Callable[[str], str]) -> list[SheetRow]:
    """The rows of the answer sheet for these (section title, questions), with the answers so far."""
    rows = []
    for title, questions in sections:
        for q in questions:
            if q.type not in SHEET_TYPES:
                continue
            text, value = localize(q.text_ja), given.get(q.id)
            if q.type == "person":
                person = value if isinstance(value, dict) else {}
                rows += [SheetRow(f"{q.id}/{key}", title, f"{text}（{label}）", q.required and required,
                                  "文章で入力", str(person.get(key) or ""))
                         for key, label, _en, required in PERSON_FIELDS]
                continue
            shown = ANSWER_TYPES[q.type].display(q, value) if ANSWER_TYPES[q.type].is_answered(value) else ""
            rows.append(SheetRow(q.id, title, text, q.required, _how(q), shown,
                                 tuple(_labels(q)) if q.type in ("yesno", "single") else ()))
    return rows


def portal_only(questions: Iterable[Question], localize: Callable[[str], str]) -> list[str]:
    """The questions the sheet cannot carry (rows of a table, files): answered on the portal."""
    return [localize(q.text_ja) for q in questions if q.type not in SHEET_TYPES]


@dataclass
class SheetAnswers:
    values: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)  # 補足, by question id
    errors: list[str] = field(default_factory=list)


def _text(cell: Any) -> str:
    if cell is None:
        return ""
    if isinstance(cell, dt.datetime):
        return cell.date().isoformat()
    if isinstance(cell, dt.date):
        return cell.isoformat()
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return unicodedata.normalize("NFC", str(cell)).strip()


def _choice(q: Question, text: str) -> Any:
    by_label = {unicodedata.normalize("NFKC", o.label_ja): o.value for o in ANSWER_TYPES[q.type].choices(q)}
    values = {o.value for o in ANSWER_TYPES[q.type].choices(q)}
    def one(t: str) -> str:
        t = unicodedata.normalize("NFKC", t).strip()
        if t in by_label:
            return by_label[t]
        if t in values:
            return t
        raise AnswerError(f"「{t}」は選択肢にありません。{'・'.join(_labels(q))}から選んでください。")
    if q.type == "multi":
        return [one(t) for t in MULTI_SEPARATORS.split(text) if t.strip()]
    return one(text)


def _header_index(rows: list[list[Any]]) -> int | None:
    for index, row in enumerate(rows[:20]):
        if row and _text(row[ID_COLUMN]) == HEADERS[ID_COLUMN] and len(row) > ANSWER_COLUMN \
                and _text(row[ANSWER_COLUMN]) == HEADERS[ANSWER_COLUMN]:
            return index
    return None


def read_answers(rows: list[list[Any]], questions: dict[str, Question]) -> SheetAnswers:
    """The answers a filled-in sheet gives (blank answer cells change nothing); every problem named
    by its row number. The caller saves nothing when `errors` is not empty."""
    out = SheetAnswers()
    start = _header_index(rows)
    if start is None:
        out.errors.append("回答用のシートが見つかりません。ダウンロードしたファイルの「回答」シートに記入し、"
                          "見出しの行（ID・回答）は変えないでください。")
        return out
    people: dict[str, dict[str, str]] = {}
    first_row: dict[str, int] = {}
    for number, row in enumerate(rows[start + 1:], start=start + 2):
        cells = list(row) + [None] * (len(HEADERS) - len(row))
        key = _text(cells[ID_COLUMN])
        if not key:
            continue
        qid, _, part = key.partition("/")
        q = questions.get(qid)
        if q is None or q.type not in SHEET_TYPES or (q.type == "person") != bool(part):
            out.errors.append(f"{number}行目：ID「{key[:40]}」はこの質問票の設問ではありません。ID列は変更しないでください。")
            continue
        answer, note = _text(cells[ANSWER_COLUMN]), _text(cells[NOTE_COLUMN])
        if note:
            out.notes[qid] = note[:2000]
        if q.type == "person":
            people.setdefault(qid, {})[part] = answer
            first_row.setdefault(qid, number)
            continue
        if not answer:
            continue
        try:
            raw = _choice(q, answer) if q.type in ("yesno", "single", "multi") else answer
            out.values[qid] = ANSWER_TYPES[q.type].normalize(raw, q)
        except AnswerError as exc:
            out.errors.append(f"{number}行目「{q.text_ja[:60]}」：{exc}")
    for qid, person in people.items():
        try:
            value = ANSWER_TYPES["person"].normalize(person, questions[qid])
        except AnswerError as exc:
            out.errors.append(f"{first_row[qid]}行目「{questions[qid].text_ja[:60]}」：{exc}")
            continue
        if value is not None:
            out.values[qid] = value
    return out
