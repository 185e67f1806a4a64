"""Import a question bank kept in a spreadsheet (.xlsx or .csv) into a definition file.

Many municipalities keep their checklist in Excel.  One row per question; the header row names
the columns (English or Japanese):

=============== ===================================== ============================================
column          Japanese aliases                      content
=============== ===================================== ============================================
id              ID, 設問ID                             stable question id, e.g. ``ext.contract.nda``
section         セクション, 区分                        section id (``ext.contract``) or title
question        設問, 質問                             question text (Japanese)
type            種別, 回答形式                          yesno / single / multi / text / date /
                                                      number / file / person (or はい・いいえ,
                                                      単一選択, 複数選択, 文章, 日付, 数値, ファイル, 担当者)
options         選択肢                                 ``value:ラベル:score`` one per line or ``;``
weight          重み                                   number ≥ 0 (blank = 1)
must-pass       必須合格                               はい/いいえ, ○/×, yes/no, 1/0 (blank = no)
derives_from    根拠                                   obligation key, e.g. outsourcing.contract
=============== ===================================== ============================================

Optional columns: question_en (設問（英語）), help (補足), help_en, required (回答必須),
na_allowed (該当なし可), guideline (ガイドライン), annex_articles (特記事項), finding (指摘),
remediation (改善策), deadline_days (期限日数), section_title (セクション名), party (回答者:
事業者 or 所管課; blank = the contractor).

An .xlsx may carry a sheet named ``meta`` (or ``定義情報``) with key / value rows: id, kind,
title, title_en, description.  Otherwise they come from the keyword arguments or are guessed
(id from the file name, kind from the obligation keys).

Reading a row only converts its cells (aliases, full-width digits, ○/×, the options cell);
every rule is the definition schema's (``questionnaire.schema``): each row is validated by the same
``QuestionSpec`` model as a YAML question, and the whole definition by ``parse_definition``.  Row
errors are Japanese and name the row number and the column.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import warnings
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .questionnaire import (
    FILE_ID_RE,
    KINDS,
    OBLIGATION_KEYS,
    QUESTION_ID_RE,
    DefinitionError,
    QuestionSpec,
    parse_definition,
)
from .vocabulary import clean_text

COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("id", "設問id", "質問id", "番号"),
    "section": ("section", "セクション", "区分", "分類"),
    "question": ("question", "question_ja", "設問", "質問", "設問(日本語)", "設問内容"),
    "type": ("type", "種別", "回答形式", "回答種別"),
    "options": ("options", "選択肢"),
    "weight": ("weight", "重み", "配点"),
    "must_pass": ("must_pass", "mustpass", "必須合格", "必須合格項目"),
    "derives_from": ("derives_from", "根拠", "根拠義務", "義務"),
    # optional
    "question_en": ("question_en", "設問(英語)", "英語"),
    "help": ("help", "help_ja", "補足", "説明", "ヘルプ"),
    "help_en": ("help_en", "補足(英語)"),
    "required": ("required", "回答必須", "必須"),
    "na_allowed": ("na_allowed", "該当なし可", "該当なし"),
    "guideline": ("guideline", "ガイドライン", "ガイドライン項目"),
    "annex_articles": ("annex_articles", "特記事項", "特記事項条項"),
    "finding": ("finding", "指摘", "指摘事項"),
    "remediation": ("remediation", "改善策", "是正策"),
    "deadline_days": ("deadline_days", "期限日数", "期限"),
    "section_title": ("section_title", "セクション名", "区分名"),
    "party": ("party", "回答者", "回答する者"),
}
REQUIRED_COLUMNS = ("id", "section", "question", "type", "options", "weight", "must_pass", "derives_from")
COLUMN_JA = {
    "id": "ID", "section": "セクション", "question": "設問", "type": "種別", "options": "選択肢",
    "weight": "重み", "must_pass": "必須合格", "derives_from": "根拠", "question_en": "設問（英語）",
    "help": "補足", "help_en": "補足（英語）", "required": "回答必須", "na_allowed": "該当なし可",
    "guideline": "ガイドライン", "annex_articles": "特記事項", "finding": "指摘", "remediation": "改善策",
    "deadline_days": "期限日数", "section_title": "セクション名", "party": "回答者",
}
#: Who answers, as a sheet writes it (blank: the contractor).
PARTY_ALIASES = {
    "contractor": "contractor", "事業者": "contractor", "委託事業者": "contractor", "受託者": "contractor",
    "municipality": "municipality", "本市": "municipality", "所管課": "municipality", "団体": "municipality",
    "本団体": "municipality", "市": "municipality", "町": "municipality", "村": "municipality",
}
TYPE_ALIASES = {
    "yesno": "yesno", "はい・いいえ": "yesno", "はい/いいえ": "yesno", "はいいいえ": "yesno", "可否": "yesno",
    "single": "single", "単一選択": "single", "選択": "single", "択一": "single",
    "multi": "multi", "複数選択": "multi",
    "text": "text", "文章": "text", "テキスト": "text", "自由記述": "text", "記述": "text",
    "date": "date", "日付": "date",
    "number": "number", "数値": "number", "数字": "number",
    "file": "file", "ファイル": "file", "添付": "file", "添付ファイル": "file",
    "person": "person", "担当者": "person", "人物": "person", "責任者": "person",
}
_TRUE = {"yes", "y", "true", "1", "はい", "○", "〇", "◯", "o", "✓", "✔", "要", "必須"}
_FALSE = {"", "no", "n", "false", "0", "いいえ", "×", "x", "-", "ー", "不要", "任意"}
DEFAULT_GUIDELINE = {
    "outsourcing.select": "対策基準 8.1(1) 委託事業者の選定基準",
    "outsourcing.contract": "対策基準 8.1(2) 契約項目",
    "outsourcing.verify": "対策基準 8.1(3) 確認・措置等",
    "outsourcing.measures": "対策基準 8.1(3) 確認・措置等",
    "cloud.rules": "対策基準 8.3 外部サービスの利用",
    "social.procedure": "対策基準 8.5 ソーシャルメディアサービスの利用（運用手順）",
    "social.content": "対策基準 8.5 ソーシャルメディアサービスの利用（発信できる情報）",
    "social.owner": "対策基準 8.5 ソーシャルメディアサービスの利用（アカウントごとの責任者）",
}
KIND_OF_KEY = {"outsourcing": "outsourcing", "cloud": "cloud", "social": "social_media"}


def _norm_header(s: Any) -> str:
    s = unicodedata.normalize("NFKC", str(s or "")).strip().lower()
    s = s.replace("（", "(").replace("）", ")")
    return re.sub(r"[\s\-]+", "_", s).replace("must_pass", "must_pass")


_HEADER_LOOKUP = {
    _norm_header(alias): key for key, aliases in COLUMNS.items() for alias in aliases
}
_HEADER_LOOKUP["must_pass"] = "must_pass"


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return unicodedata.normalize("NFC", clean_text(str(v))).strip()


def _read_csv(path: Path) -> list[list[Any]]:
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "cp932"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValueError("文字コードを判別できません。UTF-8（BOM付き可）またはShift_JIS（CP932）で保存してください。")
    return [row for row in csv.reader(io.StringIO(text, newline=""))]


# Bounds for a questionnaire sheet: a real one is a few hundred rows in well under 1 MB. A zip
# bomb (a tiny .xlsx that inflates to gigabytes) is refused from its declared sizes before any part
# is inflated (zipfile never inflates a member past its declared size).
MAX_SHEET_BYTES = 10 * 1024 * 1024
MAX_INFLATED_BYTES = 50 * 1024 * 1024
MAX_ZIP_MEMBERS = 500
MAX_ROWS = 5000
MAX_COLUMNS = 60
TOO_LARGE = "ファイルが大きすぎます（展開後50MB・5000行まで）。質問票の表だけを保存したファイルを指定してください。"


def _check_xlsx_bounds(path: Path) -> None:
    import zipfile

    if path.stat().st_size > MAX_SHEET_BYTES:
        raise SheetRefused(TOO_LARGE)
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
        if len(members) > MAX_ZIP_MEMBERS or sum(m.file_size for m in members) > MAX_INFLATED_BYTES:
            raise SheetRefused(TOO_LARGE)


class SheetRefused(ValueError):
    """A sheet refused for what it is (too large, holds a formula): the message says what to do."""


def _refuse_formulas(rows: list[list[Any]], sheet: str) -> None:
    """A formula (=HYPERLINK(...) …) is never question text: the import is refused, never kept."""
    for number, row in enumerate(rows, start=1):
        if any(isinstance(value, str) and value.lstrip().startswith("=") for value in row):
            raise SheetRefused(
                f"シート「{sheet}」の{number}行目に数式があります。数式を値に置き換えてから取り込んでください。"
            )


def read_xlsx_sheets(path: Path) -> list[tuple[str, list[list[Any]]]]:
    """Every sheet of a bounded workbook as (title, rows of values): refused (SheetRefused) when too
    large once inflated, too long, or holding a formula. Shared by every spreadsheet the app reads."""
    import openpyxl

    _check_xlsx_bounds(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # data_only=False: a formula cell reads as its formula (refused below), never as a cached value.
        wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        out = []
        for ws in wb.worksheets:
            data = [list(r) for r in ws.iter_rows(values_only=True, max_row=MAX_ROWS + 1, max_col=MAX_COLUMNS)]
            if len(data) > MAX_ROWS:
                raise SheetRefused(TOO_LARGE)
            _refuse_formulas(data, ws.title)
            out.append((ws.title, data))
        return out
    finally:
        wb.close()


def _read_xlsx(path: Path) -> tuple[list[list[Any]], dict[str, str]]:
    meta: dict[str, str] = {}
    rows: list[list[Any]] | None = None
    for sheet_title, data in read_xlsx_sheets(path):
        title = unicodedata.normalize("NFKC", sheet_title).strip().lower()
        if title in ("meta", "定義情報", "情報"):
            for r in data:
                if r and r[0] is not None and len(r) > 1:
                    meta[_norm_header(r[0])] = _cell(r[1])
        elif rows is None:
            rows = data
    return rows or [], meta


def _bool(v: str) -> bool | None:
    s = unicodedata.normalize("NFKC", v).strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    return None


def _number(cell: str, kind: type) -> Any:
    """The cell as a number when it reads as one (full-width digits too); else the text, for the
    schema to refuse."""
    text = unicodedata.normalize("NFKC", cell).strip()
    try:
        value = kind(text)
    except ValueError:
        return cell
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _parse_options_cell(cell: str) -> tuple[list[dict], str | None]:
    """``value:ラベル:score`` (or ``ラベル:score``) one per line or ``;``.  Only the cell's format is
    checked here; codes and scores are checked by the schema."""
    parts = [p.strip() for p in re.split(r"[;\n]|；", cell) if p.strip()]
    opts = []
    for n, p in enumerate(parts, start=1):
        bits = [b.strip() for b in unicodedata.normalize("NFKC", p).split(":")]
        if len(bits) == 2:
            value, label, score = f"o{n}", bits[0], bits[1]
        elif len(bits) >= 3:
            value, label, score = bits[0], ":".join(bits[1:-1]), bits[-1]
        else:
            return [], f"「{p}」の形式が正しくありません（「値:ラベル:点数」で、1行に1つ書いてください）"
        try:
            sc = float(score)
        except ValueError:
            return [], f"「{p}」の点数「{score}」が数値ではありません"
        opts.append({"value": value, "label": {"ja": label, "en": ""}, "score": sc})
    return opts, None


# ---------------------------------------------------------------------------------------------
# Reading the file and its header
# ---------------------------------------------------------------------------------------------


def _read_rows(path: Path) -> tuple[list[list[Any]], dict[str, str]]:
    """The sheet's rows and its meta sheet; ValueError with a Japanese message when unreadable."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        if path.stat().st_size > MAX_SHEET_BYTES:
            raise SheetRefused(TOO_LARGE)
        rows = _read_csv(path)
        _refuse_formulas(rows, path.name)
        return rows, {}
    if suffix not in (".xlsx", ".xlsm"):
        raise ValueError("対応していないファイル形式です（.xlsx または .csv を指定してください）。")
    try:
        return _read_xlsx(path)
    except SheetRefused:
        raise
    except Exception as e:  # openpyxl raises assorted errors for broken files
        raise ValueError(f"ファイルを読み込めません（{type(e).__name__}）。") from e


def _is_blank(row: list[Any]) -> bool:
    return not any(_cell(c) for c in row)


def _column_map(rows: list[list[Any]]) -> tuple[int, dict[str, int]]:
    """(index of the header row, column key → cell index); ValueError when columns are missing."""
    header_idx = next((i for i, r in enumerate(rows) if not _is_blank(r)), None)
    if header_idx is None:
        raise ValueError("見出し行がありません。")
    colmap: dict[str, int] = {}
    for ci, h in enumerate(rows[header_idx]):
        key = _HEADER_LOOKUP.get(_norm_header(h))
        if key and key not in colmap:
            colmap[key] = ci
    missing = [COLUMN_JA[c] for c in REQUIRED_COLUMNS if c not in colmap and c != "options"]
    if missing:
        raise ValueError(f"1行目（見出し）: 必要な列がありません：{'、'.join(missing)}")
    return header_idx, colmap


# ---------------------------------------------------------------------------------------------
# One row → one question
# ---------------------------------------------------------------------------------------------

#: Which column a field of the question schema comes from.
FIELD_COLUMN = {
    "id": "id", "text": "question", "type": "type", "options": "options", "weight": "weight",
    "must_pass": "must_pass", "required": "required", "na_allowed": "na_allowed", "derives_from": "derives_from",
    "guideline": "guideline", "annex_articles": "annex_articles", "finding": "finding",
    "remediation": "remediation", "deadline_days": "deadline_days", "help": "help", "party": "party",
}
_YES_NO = "「はい」か「いいえ」（○／×）で入力してください（入力値：{value}）。"
#: The schema's refusal of a cell, in the words of the spreadsheet.
COLUMN_MESSAGES = {
    "id": "「{value}」はIDに使えません（半角小文字・数字・_ をピリオドで区切った形、例：ext.contract.nda）。",
    "type": "「{value}」は種別として使えません（yesno, single, multi, text, date, number, file, person）。",
    "weight": "0以上の数値を入力してください（入力値：{value}）。",
    "must_pass": _YES_NO,
    "required": _YES_NO,
    "na_allowed": _YES_NO,
    "derives_from": "「{value}」は根拠として使えません（" + "、".join(OBLIGATION_KEYS) + "）。",
    "deadline_days": "0から3650までの整数（日数）を入力してください（入力値：{value}）。",
    "options": "選択肢を2つ以上入力してください（例：yes:はい:1; no:いいえ:0）。",
    "annex_articles": "「{value}」に特記事項の条項にないキーがあります。",
    "party": "「{value}」は回答者として使えません（事業者 または 所管課）。",
}
_OPTION_MESSAGES = {
    "value": "選択肢の値「{value}」は使えません（半角英数字と _ . - のみ）。",
    "score": "選択肢の点数は0から1の範囲で入力してください（入力値：{value}）。",
}


class _Row:
    """One spreadsheet row: its cells by column key, and the errors found in it."""

    def __init__(self, raw: list[Any], rowno: int, colmap: dict[str, int], source: str):
        self.rowno, self.source = rowno, source
        self.cells = {col: _cell(raw[ci]) if ci < len(raw) else "" for col, ci in colmap.items()}
        self.errors: dict[str, str] = {}
        self.other_errors: list[str] = []

    def get(self, col: str) -> str:
        return self.cells.get(col, "")

    def error(self, col: str, message: str) -> None:
        self.errors.setdefault(col, message)

    def lines(self) -> list[str]:
        cells = [f"{self.rowno}行目「{COLUMN_JA[col]}」: {msg}" for col, msg in self.errors.items()]
        return cells + [f"{self.rowno}行目: {line}" for line in self.other_errors]


def _type_of(row: _Row) -> str:
    cell = unicodedata.normalize("NFKC", row.get("type")).strip().lower()
    if cell == "group":
        row.error("type", "繰り返し項目（group）は表計算シートからは取り込めません。YAMLで定義してください。")
    return TYPE_ALIASES.get(cell) or row.get("type")


def _options_of(row: _Row) -> list[dict] | None:
    if not row.get("options"):
        return None
    options, message = _parse_options_cell(row.get("options"))
    if message:
        row.error("options", message)
    return options


def _flags_of(row: _Row) -> dict[str, Any]:
    flags: dict[str, Any] = {}
    for col in ("must_pass", "required", "na_allowed"):
        if row.get(col):
            flag = _bool(row.get(col))
            flags[col] = row.get(col) if flag is None else flag
    return flags


def _question_of(row: _Row) -> dict[str, Any]:
    """The row as a question in the YAML format (cells converted, nothing checked yet)."""
    derives = unicodedata.normalize("NFKC", row.get("derives_from")).strip()
    q: dict[str, Any] = {"id": row.get("id"), "type": _type_of(row),
                         "text": {"ja": row.get("question"), "en": row.get("question_en")}}
    if row.get("help") or row.get("help_en"):
        q["help"] = {"ja": row.get("help"), "en": row.get("help_en")}
    options = _options_of(row)
    if options is not None:
        q["options"] = options
    q["weight"] = _number(row.get("weight"), float) if row.get("weight") else 1
    q.update({"required": True, "must_pass": False, "na_allowed": False, **_flags_of(row)})
    q["derives_from"] = derives
    q["guideline"] = row.get("guideline") or DEFAULT_GUIDELINE.get(derives, "対策基準")
    arts = [a for a in re.split(r"[,、\s]+", unicodedata.normalize("NFKC", row.get("annex_articles"))) if a]
    if arts:
        q["annex_articles"] = arts
    for col in ("finding", "remediation"):
        if row.get(col):
            q[col] = {"ja": row.get(col)}
    q["deadline_days"] = _number(row.get("deadline_days"), int) if row.get("deadline_days") else 30
    if row.get("party"):
        cell = unicodedata.normalize("NFKC", row.get("party")).strip().lower()
        q["party"] = PARTY_ALIASES.get(cell, row.get("party"))
    return q


def _column_message(row: _Row, err: Any) -> tuple[str, str] | None:
    """(column, message) for a schema error on a cell, or None for a rule across cells."""
    loc = list(err["loc"])
    ctx_field = (err.get("ctx") or {}).get("field", "") if err["type"] == "definition_rule" else ""
    col = FIELD_COLUMN.get(str(loc[0]) if loc else ctx_field.split(".")[0])
    if col is None or (ctx_field and col != "options"):
        return None
    value = row.get(col)
    if not value and col in ("id", "question"):
        return col, f"{COLUMN_JA[col]}が空です。"
    if col == "options" and len(loc) >= 3 and loc[2] in _OPTION_MESSAGES:
        return col, _OPTION_MESSAGES[str(loc[2])].format(value=err.get("input", ""))
    if col == "options" and value and "options は使えません" in err["msg"]:
        return col, f"種別「{row.get('type')}」では選択肢は入力できません。"
    if col in COLUMN_MESSAGES:
        return col, COLUMN_MESSAGES[col].format(value=value)
    return col, err["msg"]


def _validate_row(row: _Row, q: dict[str, Any]) -> None:
    """Check the question with the definition schema; errors go to the row's columns."""
    try:
        QuestionSpec.model_validate(q)
    except ValidationError as e:
        for err in e.errors():
            found = _column_message(row, err)
            if found is None:
                field = (err.get("ctx") or {}).get("field", "")
                row.other_errors.append(f"{row.source}: {q['id']}: {field}: {err['msg']}")
            elif found[0] not in row.errors:
                row.error(*found)
    if not row.get("options") and q["type"] in ("single", "multi"):
        row.error("options", COLUMN_MESSAGES["options"])


# ---------------------------------------------------------------------------------------------
# The whole sheet
# ---------------------------------------------------------------------------------------------


class _Sheet:
    """The questions read so far, grouped into sections, with the rows that gave them."""

    def __init__(self) -> None:
        self.sections: dict[str, dict] = {}
        self.row_of: dict[str, int] = {}
        self.kinds_seen: list[str] = []
        self.errors: list[str] = []

    def duplicate(self, row: _Row) -> None:
        qid = row.get("id")
        if qid in self.row_of:
            row.error("id", f"「{qid}」は{self.row_of[qid]}行目と重複しています。")

    def _section_for(self, row: _Row, qid: str) -> dict:
        cell = row.get("section") or "一般"
        if QUESTION_ID_RE.match(cell):
            sid, title = cell, row.get("section_title") or cell
        else:
            title = cell
            sid = next((s["id"] for s in self.sections.values() if s["title"]["ja"] == title), "")
            sid = sid or f"{qid.split('.')[0]}.s{len(self.sections) + 1}"
        return self.sections.setdefault(sid, {"id": sid, "title": {"ja": title, "en": ""}, "questions": []})

    def add(self, row: _Row, q: dict[str, Any]) -> None:
        self.row_of[q["id"]] = row.rowno
        self._section_for(row, q["id"])["questions"].append(q)

    def read(self, rows: list[list[Any]], header_idx: int, colmap: dict[str, int], source: str) -> None:
        for ri in range(header_idx + 1, len(rows)):
            if _is_blank(rows[ri]):
                continue
            row = _Row(rows[ri], ri + 1, colmap, source)
            q = _question_of(row)
            if q["derives_from"] in OBLIGATION_KEYS:
                self.kinds_seen.append(KIND_OF_KEY[q["derives_from"].split(".")[0]])
            self.duplicate(row)
            _validate_row(row, q)
            if row.errors or row.other_errors:
                self.errors.extend(row.lines())
            else:
                self.add(row, q)
            if row.get("id") and row.get("id") not in self.row_of and "id" not in row.errors:
                self.row_of[row.get("id")] = row.rowno


def _definition(sheet: _Sheet, path: Path, meta: dict[str, str], given: dict[str, str | None]) -> dict:
    kinds = sheet.kinds_seen
    kind = given["kind"] or meta.get("kind") or (max(set(kinds), key=kinds.count) if kinds else "")
    qid = given["id"] or meta.get("id") or re.sub(r"[^a-z0-9_-]+", "-", path.stem.lower()).strip("-")
    title = given["title_ja"] or meta.get("title") or meta.get("title_ja") or path.stem
    return {
        "id": qid,
        "kind": kind,
        "title": {"ja": title, "en": given["title_en"] or meta.get("title_en", "")},
        "description": {"ja": given["description_ja"] or meta.get("description", ""), "en": ""},
        "applies_when": {"kinds": [kind]} if kind in KINDS else {},
        "sections": list(sheet.sections.values()),
    }


def _definition_errors(definition: dict, sheet: _Sheet, name: str) -> list[str]:
    errors = []
    if not sheet.row_of and not sheet.errors:
        errors.append(f"{name}: 設問の行がありません。")
    if definition["kind"] not in KINDS:
        errors.append(f"{name}: 区分（kind）を決められません。{', '.join(KINDS)} のいずれかを指定してください。")
    if not FILE_ID_RE.match(definition["id"] or ""):
        errors.append(f"{name}: 確認票ID「{definition['id']}」が使えません（半角小文字・数字・-）。")
    return errors


def _whole_definition_errors(definition: dict, sheet: _Sheet, name: str) -> list[str]:
    """The checks across questions (the same parse as a YAML file), each pointed at its row."""
    try:
        parse_definition(definition, name)
    except DefinitionError as e:
        out = []
        for msg in e.errors:
            m = re.match(r"^[^:]+: ([a-z0-9_.]+): ", msg)
            row = sheet.row_of.get(m.group(1)) if m else None
            out.append(f"{row}行目: {msg}" if row else msg)
        return out
    return []


def import_sheet(
    path: str | Path,
    *,
    questionnaire_id: str | None = None,
    kind: str | None = None,
    title_ja: str | None = None,
    title_en: str | None = None,
    description_ja: str | None = None,
) -> tuple[dict, list[str]]:
    """Read the sheet and return ``(definition_dict, errors)``.  ``definition_dict`` is in the
    YAML format (write it with :func:`write_definition`); ``errors`` are Japanese strings, empty
    when the definition is valid."""
    path = Path(path)
    try:
        rows, meta = _read_rows(path)
        header_idx, colmap = _column_map(rows)
    except ValueError as e:
        return {}, [f"{path.name}: {e}"]
    sheet = _Sheet()
    sheet.read(rows, header_idx, colmap, path.name)
    given = {"id": questionnaire_id, "kind": kind, "title_ja": title_ja, "title_en": title_en,
             "description_ja": description_ja}
    definition = _definition(sheet, path, meta, given)
    errors = sheet.errors + _definition_errors(definition, sheet, path.name)
    if not errors:
        errors = _whole_definition_errors(definition, sheet, path.name)
    return definition, errors


def dump_definition(definition: dict) -> str:
    header = (
        "# 表計算シートから取り込んだ確認票定義（vendorrisk questionnaires import）。\n"
        "# 英語の設問文・補足・指摘・改善策は必要に応じて追記してください。\n"
    )
    return header + yaml.safe_dump(definition, allow_unicode=True, sort_keys=False, width=1000)


def write_definition(definition: dict, out_dir: str | Path) -> Path:
    out = Path(out_dir) / f"{definition['id']}.yaml"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(dump_definition(definition), encoding="utf-8")
    return out
