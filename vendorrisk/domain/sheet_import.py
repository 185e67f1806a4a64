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
remediation (改善策), deadline_days (期限日数), section_title (セクション名).

An .xlsx may carry a sheet named ``meta`` (or ``定義情報``) with key / value rows: id, kind,
title, title_en, description.  Otherwise they come from the keyword arguments or are guessed
(id from the file name, kind from the obligation keys).

Row errors are Japanese and name the row number and the column.  The result is validated with
the same validator as the YAML files before it is written.
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

from .questionnaire import (
    DefinitionError,
    FILE_ID_RE,
    KINDS,
    OBLIGATION_KEYS,
    OPTION_VALUE_RE,
    QUESTION_ID_RE,
    parse_definition,
)

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
}
REQUIRED_COLUMNS = ("id", "section", "question", "type", "options", "weight", "must_pass", "derives_from")
COLUMN_JA = {
    "id": "ID", "section": "セクション", "question": "設問", "type": "種別", "options": "選択肢",
    "weight": "重み", "must_pass": "必須合格", "derives_from": "根拠", "question_en": "設問（英語）",
    "help": "補足", "help_en": "補足（英語）", "required": "回答必須", "na_allowed": "該当なし可",
    "guideline": "ガイドライン", "annex_articles": "特記事項", "finding": "指摘", "remediation": "改善策",
    "deadline_days": "期限日数", "section_title": "セクション名",
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
    "cloud.rules": "対策基準 8.2 外部サービスの利用",
    "social.procedure": "対策基準 8.4 ソーシャルメディアサービスの利用（運用手順）",
    "social.content": "対策基準 8.4 ソーシャルメディアサービスの利用（発信できる情報）",
    "social.owner": "対策基準 8.4 ソーシャルメディアサービスの利用（アカウントごとの責任者）",
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
    return unicodedata.normalize("NFC", str(v)).strip()


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


def _read_xlsx(path: Path) -> tuple[list[list[Any]], dict[str, str]]:
    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        meta: dict[str, str] = {}
        rows: list[list[Any]] | None = None
        for ws in wb.worksheets:
            title = unicodedata.normalize("NFKC", ws.title).strip().lower()
            data = [list(r) for r in ws.iter_rows(values_only=True)]
            if title in ("meta", "定義情報", "情報"):
                for r in data:
                    if r and r[0] is not None and len(r) > 1:
                        meta[_norm_header(r[0])] = _cell(r[1])
            elif rows is None:
                rows = data
        return rows or [], meta
    finally:
        wb.close()


def _bool(v: str) -> bool | None:
    s = unicodedata.normalize("NFKC", v).strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    return None


def _parse_options_cell(cell: str) -> tuple[list[dict], str | None]:
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
        if not OPTION_VALUE_RE.match(value):
            return [], f"「{value}」は選択肢の値に使えません（半角英数字と _ . - のみ）"
        try:
            sc = float(score)
        except ValueError:
            return [], f"「{p}」の点数「{score}」が数値ではありません"
        if not 0 <= sc <= 1:
            return [], f"「{p}」の点数は0から1の範囲で入力してください"
        opts.append({"value": value, "label": {"ja": label, "en": ""}, "score": sc})
    return opts, None


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
    errors: list[str] = []
    meta: dict[str, str] = {}
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            rows = _read_csv(path)
        elif suffix in (".xlsx", ".xlsm"):
            rows, meta = _read_xlsx(path)
        else:
            return {}, [f"{path.name}: 対応していないファイル形式です（.xlsx または .csv を指定してください）。"]
    except ValueError as e:
        return {}, [f"{path.name}: {e}"]
    except Exception as e:  # openpyxl raises assorted errors for broken files
        return {}, [f"{path.name}: ファイルを読み込めません（{type(e).__name__}）。"]

    # header: the first non-empty row
    header_idx = next((i for i, r in enumerate(rows) if any(_cell(c) for c in r)), None)
    if header_idx is None:
        return {}, [f"{path.name}: 見出し行がありません。"]
    colmap: dict[str, int] = {}
    for ci, h in enumerate(rows[header_idx]):
        key = _HEADER_LOOKUP.get(_norm_header(h))
        if key and key not in colmap:
            colmap[key] = ci
    missing = [COLUMN_JA[c] for c in REQUIRED_COLUMNS if c not in colmap and c != "options"]
    if missing:
        return {}, [f"{path.name}: 1行目（見出し）: 必要な列がありません：{'、'.join(missing)}"]

    qid_default = questionnaire_id or meta.get("id") or re.sub(r"[^a-z0-9_-]+", "-", path.stem.lower()).strip("-")
    sections: dict[str, dict] = {}
    seen_ids: dict[str, int] = {}
    kinds_seen: list[str] = []
    section_order = 0

    for ri in range(header_idx + 1, len(rows)):
        raw = rows[ri]
        rowno = ri + 1

        def get(col: str) -> str:
            ci = colmap.get(col)
            return _cell(raw[ci]) if ci is not None and ci < len(raw) else ""

        if not any(_cell(c) for c in raw):
            continue

        def err(col: str, msg: str) -> None:
            errors.append(f"{rowno}行目「{COLUMN_JA[col]}」: {msg}")

        n_before = len(errors)
        qid = get("id")
        if not qid:
            err("id", "IDが空です。")
        elif not QUESTION_ID_RE.match(qid):
            err("id", f"「{qid}」はIDに使えません（半角小文字・数字・_ をピリオドで区切った形、例：ext.contract.nda）。")
        elif qid in seen_ids:
            err("id", f"「{qid}」は{seen_ids[qid]}行目と重複しています。")
        else:
            seen_ids[qid] = rowno

        text = get("question")
        if not text:
            err("question", "設問が空です。")

        type_cell = unicodedata.normalize("NFKC", get("type")).strip().lower()
        qtype = TYPE_ALIASES.get(type_cell)
        if type_cell == "group":
            err("type", "繰り返し項目（group）は表計算シートからは取り込めません。YAMLで定義してください。")
        elif qtype is None:
            err("type", f"「{get('type')}」は種別として使えません（yesno, single, multi, text, date, number, file, person）。")

        options: list[dict] = []
        if qtype in ("single", "multi"):
            options, msg = _parse_options_cell(get("options"))
            if msg:
                err("options", msg)
            elif len(options) < 2:
                err("options", "選択肢を2つ以上入力してください（例：yes:はい:1; no:いいえ:0）。")
        elif get("options"):
            err("options", f"種別「{get('type')}」では選択肢は入力できません。")

        weight: float = 1.0
        wcell = unicodedata.normalize("NFKC", get("weight"))
        if wcell:
            try:
                weight = float(wcell)
                if weight < 0 or weight != weight:
                    raise ValueError
            except ValueError:
                err("weight", f"0以上の数値を入力してください（入力値：{get('weight')}）。")
        if weight.is_integer():
            weight = int(weight)

        flags: dict[str, bool] = {}
        for col, default in (("must_pass", False), ("required", True), ("na_allowed", False)):
            cell = get(col)
            if not cell:
                flags[col] = default
                continue
            b = _bool(cell)
            if b is None:
                err(col, f"「はい」か「いいえ」（○／×）で入力してください（入力値：{cell}）。")
                b = default
            flags[col] = b

        derives = unicodedata.normalize("NFKC", get("derives_from")).strip()
        if derives not in OBLIGATION_KEYS:
            err("derives_from", f"「{get('derives_from')}」は根拠として使えません（{'、'.join(OBLIGATION_KEYS)}）。")
        else:
            kinds_seen.append(KIND_OF_KEY[derives.split(".")[0]])

        deadline = 30
        if get("deadline_days"):
            try:
                deadline = int(unicodedata.normalize("NFKC", get("deadline_days")))
                if deadline < 0:
                    raise ValueError
            except ValueError:
                err("deadline_days", f"0以上の整数（日数）を入力してください（入力値：{get('deadline_days')}）。")
                deadline = 30

        arts = [a for a in re.split(r"[,、\s]+", unicodedata.normalize("NFKC", get("annex_articles"))) if a]

        if len(errors) > n_before:
            continue

        section_cell = get("section") or "一般"
        if QUESTION_ID_RE.match(section_cell):
            sid, stitle = section_cell, get("section_title") or section_cell
        else:
            stitle = section_cell
            sid = next((s["id"] for s in sections.values() if s["title"]["ja"] == stitle), None)
            if sid is None:
                section_order += 1
                prefix = qid.split(".")[0]
                sid = f"{prefix}.s{section_order}"
        sec = sections.setdefault(sid, {"id": sid, "title": {"ja": stitle, "en": ""}, "questions": []})

        q: dict[str, Any] = {
            "id": qid,
            "type": qtype,
            "text": {"ja": text, "en": get("question_en")},
        }
        if get("help") or get("help_en"):
            q["help"] = {"ja": get("help"), "en": get("help_en")}
        if options:
            q["options"] = options
        q["weight"] = weight
        q["required"] = flags["required"]
        q["must_pass"] = flags["must_pass"]
        q["na_allowed"] = flags["na_allowed"]
        q["derives_from"] = derives
        q["guideline"] = get("guideline") or DEFAULT_GUIDELINE[derives]
        if arts:
            q["annex_articles"] = arts
        if get("finding"):
            q["finding"] = {"ja": get("finding")}
        if get("remediation"):
            q["remediation"] = {"ja": get("remediation")}
        q["deadline_days"] = deadline
        sec["questions"].append(q)

    if not seen_ids and not errors:
        errors.append(f"{path.name}: 設問の行がありません。")

    kind_value = kind or meta.get("kind") or (max(set(kinds_seen), key=kinds_seen.count) if kinds_seen else "")
    if kind_value not in KINDS:
        errors.append(f"{path.name}: 区分（kind）を決められません。outsourcing, cloud, social_media のいずれかを指定してください。")
    if not FILE_ID_RE.match(qid_default or ""):
        errors.append(f"{path.name}: 確認票ID「{qid_default}」が使えません（半角小文字・数字・-）。")

    definition: dict[str, Any] = {
        "id": qid_default,
        "kind": kind_value,
        "title": {"ja": title_ja or meta.get("title") or meta.get("title_ja") or path.stem, "en": title_en or meta.get("title_en", "")},
        "description": {"ja": description_ja or meta.get("description", ""), "en": ""},
        "applies_when": {"kinds": [kind_value]} if kind_value in KINDS else {},
        "sections": list(sections.values()),
    }

    if not errors:
        try:
            parse_definition(definition, path.name)
        except DefinitionError as e:
            for msg in e.errors:
                m = re.match(r"^[^:]+: ([a-z0-9_.]+): ", msg)
                row = seen_ids.get(m.group(1)) if m else None
                errors.append(f"{row}行目: {msg}" if row else msg)
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
