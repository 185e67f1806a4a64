"""Questionnaire definitions: schema, loading, validation, answer types, versioning.

Pure Python (no Flask, no database).  A definition file in ``questionnaires/*.yaml`` is parsed
into immutable dataclasses; every default is filled in while parsing, so the parsed object is
complete and its canonical JSON (``freeze``) is what the content hash -- the version -- is taken
over.  Formatting or comments in the YAML therefore never change a version; any change of
content does.

An invitation stores ``freeze(q)``; ``thaw`` rebuilds exactly the same object later, whatever
happened to the file since.
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import json
import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from .policy import OBLIGATION_KEYS  # the obligations of clause 6(8) (DOMAIN.md §1)
from .wareki import format_wareki, parse_date

# ---------------------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------------------

KINDS = ("outsourcing", "cloud", "social_media")
#: Article keys a question may feed (``annex_articles``): the article keys of the annex library
#: (vendorrisk/domain/annex_articles.py), kept here so the questionnaire layer stays independent.
ANNEX_ARTICLE_KEYS = (
    "general",                  # 総則
    "basic",                    # 基本的事項（ポリシー等の遵守）
    "confidentiality",          # 秘密の保持
    "staff",                    # 従事者への周知・監督・教育
    "responsibility",           # 責任体制・責任者等の届出
    "work_setup",               # 業務体制・作業場所・データ保管場所
    "collection_limit",         # 収集の制限
    "safeguards",               # 適正管理（安全管理措置・アクセス権限・暗号化）
    "system_security",          # 情報システムに係る措置
    "no_other_use",             # 目的外利用・第三者提供の禁止
    "no_takeout",               # 持出しの禁止
    "no_copy",                  # 複写・複製の禁止
    "subcontracting",           # 再委託の制限
    "subcontracting_declared",  # 再委託（届け出た再委託先）
    "cloud_service",            # 外部サービスの提供
    "cloud_low",                # 取り扱う情報の制限（機密性2以上を扱わない外部サービス）
    "data_location",            # データの保存場所
    "governing_law",            # 準拠法及び裁判管轄
    "cloud_exit",               # 利用終了時の措置
    "social_operation",         # ソーシャルメディアの運用
    "social_accounts",          # アカウントの管理
    "social_hijack",            # 乗っ取り等への対応
    "findings",                 # 是正事項
    "return_disposal",          # 資料等の返還・廃棄
    "incident",                 # 事故発生時の報告（公表を含む）
    "reports",                  # 定期報告
    "audit",                    # 検査・監査
    "termination",              # 契約解除・損害賠償
    "laws",                     # 関係法令の遵守
    "my_number",                # 特定個人情報の取扱い
    "consultation",             # 協議
)
NETWORK_SEGMENTS = ("individual_number", "lgwan", "internet")
APPLIES_KEYS = (
    "kinds",
    "confidentiality_min",
    "confidentiality_max",
    "personal_data",
    "my_number",
    "network_segment",
)
#: Sub-field types allowed inside a ``group``.
GROUP_FIELD_TYPES = ("text", "date", "number", "single", "multi", "yesno")
#: Types whose answers carry their own quality score (the others score "answered or not").
CHOICE_TYPES = ("yesno", "single", "multi")
NA = "na"

QUESTION_ID_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
FIELD_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
FILE_ID_RE = re.compile(r"^[a-z][a-z0-9_-]*$")
OPTION_VALUE_RE = re.compile(r"^[A-Za-z0-9_.-]+$")

DEFAULT_DEADLINE_DAYS = 30
FROZEN_FORMAT = 1


class DefinitionError(ValueError):
    """A definition file (or frozen definition) is invalid.  ``errors`` lists every problem."""

    def __init__(self, errors: Iterable[str]):
        self.errors = list(errors)
        super().__init__("\n".join(self.errors) if self.errors else "invalid definition")


class AnswerError(ValueError):
    """An answer value is not acceptable for its question.  The message is Japanese, for users."""


# ---------------------------------------------------------------------------------------------
# Dataclasses
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    value: str
    label_ja: str
    label_en: str
    score: float


@dataclass(frozen=True)
class Question:
    id: str
    section_id: str
    type: str
    text_ja: str
    text_en: str
    help_ja: str = ""
    help_en: str = ""
    options: tuple[Option, ...] = ()
    weight: float = 1.0
    required: bool = True
    must_pass: bool = False
    na_allowed: bool = False
    applies_when: dict = field(default_factory=dict, hash=False)
    shown_when: dict | None = field(default=None, hash=False)
    derives_from: str = ""
    guideline: str = ""
    annex_articles: tuple[str, ...] = ()
    finding_ja: str = ""
    remediation_ja: str = ""
    deadline_days: int = DEFAULT_DEADLINE_DAYS
    fields: tuple["Question", ...] = ()

    def option(self, value: str) -> Option | None:
        for opt in self.options:
            if opt.value == value:
                return opt
        return None

    def applies(self, profile: dict) -> bool:
        return matches(self.applies_when, profile)


@dataclass(frozen=True)
class Section:
    id: str
    title_ja: str
    title_en: str
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class Questionnaire:
    id: str
    kind: str
    title_ja: str
    title_en: str
    description_ja: str
    applies_when: dict = field(hash=False)
    sections: tuple[Section, ...]
    version: str
    description_en: str = ""

    @property
    def short_version(self) -> str:
        return self.version[:12]

    def questions(self) -> list[Question]:
        return [q for s in self.sections for q in s.questions]

    def question(self, qid: str) -> Question | None:
        for q in self.questions():
            if q.id == qid:
                return q
        return None

    def applies(self, profile: dict) -> bool:
        return matches(self.applies_when, profile)

    def applicable(self, profile: dict) -> list[Question]:
        """Questions whose ``applies_when`` matches the engagement profile (file-level condition
        is *not* re-checked here: use :func:`select_for_engagement` for that)."""
        return [q for q in self.questions() if q.applies(profile)]


# ---------------------------------------------------------------------------------------------
# Engagement profile and conditions
# ---------------------------------------------------------------------------------------------


def normalize_profile(profile: dict | None) -> dict:
    """Fill defaults: no kinds, 機密性1, no personal data, no マイナンバー, no segment."""
    p = dict(profile or {})
    kinds = p.get("kinds") or []
    if isinstance(kinds, str):
        kinds = [kinds]
    return {
        "kinds": list(kinds),
        "confidentiality": int(p.get("confidentiality") or 1),
        "integrity": int(p.get("integrity") or 1),
        "availability": int(p.get("availability") or 1),
        "personal_data": bool(p.get("personal_data", False)),
        "my_number": bool(p.get("my_number", False)),
        "network_segment": p.get("network_segment") or None,
    }


def matches(cond: dict | None, profile: dict) -> bool:
    """All conditions must hold (AND).  ``kinds``: the engagement has at least one of the kinds;
    ``confidentiality_min`` / ``confidentiality_max``: inclusive bounds on 機密性;
    ``personal_data`` / ``my_number``: exact match; ``network_segment``: one of the list."""
    if not cond:
        return True
    p = normalize_profile(profile)
    if "kinds" in cond and not set(cond["kinds"]) & set(p["kinds"]):
        return False
    if "confidentiality_min" in cond and p["confidentiality"] < cond["confidentiality_min"]:
        return False
    if "confidentiality_max" in cond and p["confidentiality"] > cond["confidentiality_max"]:
        return False
    if "personal_data" in cond and p["personal_data"] != cond["personal_data"]:
        return False
    if "my_number" in cond and p["my_number"] != cond["my_number"]:
        return False
    if "network_segment" in cond and p["network_segment"] not in cond["network_segment"]:
        return False
    return True


# ---------------------------------------------------------------------------------------------
# Answer types
# ---------------------------------------------------------------------------------------------

YESNO_LABELS = {
    "yes": ("はい", "Yes", 1.0),
    "partial": ("一部", "Partly", 0.5),
    "no": ("いいえ", "No", 0.0),
    "na": ("該当なし", "Not applicable", 0.0),
}
_YESNO_ALIASES = {
    "yes": "yes", "y": "yes", "true": "yes", "はい": "yes", "有": "yes", "あり": "yes", "済": "yes",
    "partial": "partial", "一部": "partial", "一部対応": "partial", "partly": "partial",
    "no": "no", "n": "no", "false": "no", "いいえ": "no", "無": "no", "なし": "no", "未": "no",
    "na": "na", "n/a": "na", "該当なし": "na", "対象外": "na",
}
UNANSWERED_JA = "（未回答）"
PERSON_FIELDS = (
    ("name", "氏名", "Name", True),
    ("title", "役職", "Title", False),
    ("department", "所属", "Department", False),
    ("email", "メールアドレス", "Email", False),
    ("phone", "電話番号", "Phone", False),
)
TEXT_MAX = 4000
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _nfkc(s: str) -> str:
    return unicodedata.normalize("NFKC", s).strip()


def _is_na(raw: Any) -> bool:
    return isinstance(raw, str) and _YESNO_ALIASES.get(_nfkc(raw).lower()) == NA


def _check_na(question: Question | None) -> str:
    if question is not None and not question.na_allowed:
        raise AnswerError("この設問では「該当なし」は選べません。")
    return NA


def to_wareki(d: _dt.date) -> str:
    """令和N年M月D日 (元年 for year 1); a date before 明治6年 stays in the Western calendar."""
    try:
        return format_wareki(d)
    except ValueError:
        return f"{d.year}年{d.month}月{d.day}日"


class AnswerType:
    """Base answer type.  ``normalize(raw, question=None)`` returns the stored JSON value (or
    None for "no answer"), raising :class:`AnswerError` with a Japanese message when invalid.
    When the question is given, options and 該当なし are checked against it."""

    key = ""
    label_ja = ""
    has_options = False
    quality_scored = False  # the answer's content carries a score (vs. answered / not)

    def normalize(self, raw: Any, question: Question | None = None) -> Any:
        raise NotImplementedError

    def is_answered(self, value: Any) -> bool:
        return value is not None and value != "" and value != [] and value != {}

    def choices(self, question: Question) -> list[Option]:
        return list(question.options)

    def score(self, question: Question, value: Any) -> float | None:
        """1.0 best .. 0.0 worst; None = not scored (該当なし where allowed, or an optional
        question of an unscored type).  An unanswered required question scores 0.0."""
        if value == NA and question.type != "text":
            return None if question.na_allowed else 0.0
        if not self.is_answered(value):
            return 0.0 if question.required else None
        return self._score(question, value)

    def _score(self, question: Question, value: Any) -> float | None:
        return 1.0 if question.required else None

    def display(self, question: Question, value: Any) -> str:
        if value == NA and question.type != "text":
            return YESNO_LABELS[NA][0]
        if not self.is_answered(value):
            return UNANSWERED_JA
        return self._display(question, value)

    def _display(self, question: Question, value: Any) -> str:
        return str(value)


class YesNoType(AnswerType):
    key, label_ja, has_options, quality_scored = "yesno", "はい／一部／いいえ", True, True

    def normalize(self, raw, question=None):
        if raw is None or raw == "":
            return None
        if raw is True:
            return "yes"
        if raw is False:
            return "no"
        if isinstance(raw, str):
            v = _YESNO_ALIASES.get(_nfkc(raw).lower())
            if v == NA:
                return _check_na(question)
            if v:
                return v
        raise AnswerError("「はい」「一部」「いいえ」「該当なし」のいずれかを選んでください。")

    def choices(self, question):
        keys = ["yes", "partial", "no"] + (["na"] if question.na_allowed else [])
        return [Option(k, YESNO_LABELS[k][0], YESNO_LABELS[k][1], YESNO_LABELS[k][2]) for k in keys]

    def _score(self, question, value):
        return YESNO_LABELS[value][2]

    def _display(self, question, value):
        return YESNO_LABELS.get(value, (str(value),))[0]


class SingleType(AnswerType):
    key, label_ja, has_options, quality_scored = "single", "単一選択", True, True

    def normalize(self, raw, question=None):
        if raw is None or raw == "":
            return None
        if not isinstance(raw, str):
            raise AnswerError("選択肢から一つ選んでください。")
        v = raw.strip()
        if question is not None:
            if question.option(v) is None:
                if _is_na(v):
                    return _check_na(question)
                raise AnswerError("選択肢から一つ選んでください。")
        return v

    def _score(self, question, value):
        opt = question.option(value)
        return opt.score if opt else 0.0

    def _display(self, question, value):
        opt = question.option(value)
        return opt.label_ja if opt else str(value)


class MultiType(AnswerType):
    """Several options; the score is the sum of the chosen options' scores, capped at 1."""

    key, label_ja, has_options, quality_scored = "multi", "複数選択", True, True

    def normalize(self, raw, question=None):
        if raw is None or raw == "" or raw == []:
            return None
        if isinstance(raw, str):
            if _is_na(raw):
                return _check_na(question)
            raw = [p for p in re.split(r"[,、，\s]+", raw) if p]
        if not isinstance(raw, (list, tuple)) or not all(isinstance(v, str) for v in raw):
            raise AnswerError("選択肢から選んでください。")
        chosen = [v.strip() for v in raw if v.strip()]
        if question is not None:
            bad = [v for v in chosen if question.option(v) is None]
            if bad:
                raise AnswerError(f"選択肢にない値があります：{'、'.join(bad)}")
            order = [o.value for o in question.options]
            chosen = sorted(set(chosen), key=order.index)
        else:
            chosen = list(dict.fromkeys(chosen))
        return chosen or None

    def _score(self, question, value):
        total = sum((question.option(v).score if question.option(v) else 0.0) for v in value)
        return min(1.0, total)

    def _display(self, question, value):
        return "、".join((question.option(v).label_ja if question.option(v) else v) for v in value)


class TextType(AnswerType):
    key, label_ja = "text", "文章"

    def normalize(self, raw, question=None):
        if raw is None:
            return None
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            raw = str(raw)
        if not isinstance(raw, str):
            raise AnswerError("文字で入力してください。")
        v = raw.replace("\r\n", "\n").strip()
        if len(v) > TEXT_MAX:
            raise AnswerError(f"{TEXT_MAX}文字以内で入力してください（現在{len(v)}文字）。")
        return v or None


class DateType(AnswerType):
    key, label_ja = "date", "日付"

    def normalize(self, raw, question=None):
        if raw is None or raw == "":
            return None
        if isinstance(raw, _dt.datetime):
            return raw.date().isoformat()
        if isinstance(raw, _dt.date):
            return raw.isoformat()
        if not isinstance(raw, str):
            raise AnswerError("日付は「2025-04-01」または「令和7年4月1日」の形で入力してください。")
        try:
            return parse_date(raw).isoformat()
        except ValueError:
            pass
        if re.search(r"\d", _nfkc(raw)) and (_nfkc(raw).count("年") or _nfkc(raw).count("-") or _nfkc(raw).count("/")):
            raise AnswerError("存在しない日付です。日付を確認してください。")
        raise AnswerError("日付は「2025-04-01」または「令和7年4月1日」の形で入力してください。")

    def _display(self, question, value):
        try:
            return to_wareki(_dt.date.fromisoformat(value))
        except (TypeError, ValueError):
            return str(value)


class NumberType(AnswerType):
    key, label_ja = "number", "数値"

    def normalize(self, raw, question=None):
        if raw is None or raw == "":
            return None
        if isinstance(raw, bool):
            raise AnswerError("数値で入力してください。")
        if isinstance(raw, (int, float)):
            v = raw
        elif isinstance(raw, str):
            s = _nfkc(raw).replace(",", "").replace(" ", "")
            if not re.fullmatch(r"[-+]?(\d+(\.\d*)?|\.\d+)", s):
                raise AnswerError("数値で入力してください（例：99.9）。")
            v = float(s)
        else:
            raise AnswerError("数値で入力してください。")
        if isinstance(v, float):
            if not math.isfinite(v):
                raise AnswerError("数値で入力してください。")
            if v.is_integer() and abs(v) < 2**53:
                v = int(v)
        return v

    def _display(self, question, value):
        return f"{value:,}" if isinstance(value, int) else f"{value:,}".rstrip("0").rstrip(".")


class FileType(AnswerType):
    key, label_ja = "file", "ファイル"

    def normalize(self, raw, question=None):
        if raw is None or raw == {} or raw == "":
            return None
        if not isinstance(raw, dict):
            raise AnswerError("ファイルを添付してください。")
        eid = raw.get("evidence_id")
        name = raw.get("filename")
        if isinstance(eid, bool) or not isinstance(eid, int) or not isinstance(name, str) or not name:
            raise AnswerError("添付ファイルの情報が正しくありません。もう一度添付してください。")
        return {"evidence_id": eid, "filename": name}

    def is_answered(self, value):
        return isinstance(value, dict) and bool(value.get("filename"))

    def _display(self, question, value):
        return value["filename"]


class PersonType(AnswerType):
    key, label_ja = "person", "担当者"

    def normalize(self, raw, question=None):
        if raw is None or raw == {}:
            return None
        if not isinstance(raw, dict):
            raise AnswerError("氏名・役職・所属・連絡先を入力してください。")
        out = {}
        for key, label, _en, _req in PERSON_FIELDS:
            v = raw.get(key)
            if v is None:
                v = ""
            if not isinstance(v, str):
                raise AnswerError(f"{label}は文字で入力してください。")
            v = v.strip()
            if key in ("email", "phone"):
                v = _nfkc(v)
            if len(v) > 200:
                raise AnswerError(f"{label}は200文字以内で入力してください。")
            out[key] = v
        if not any(out.values()):
            return None
        if not out["name"]:
            raise AnswerError("氏名を入力してください。")
        if out["email"] and not _EMAIL_RE.match(out["email"]):
            raise AnswerError("メールアドレスの形式が正しくありません。")
        if out["phone"] and not re.fullmatch(r"[0-9()+\- ]{6,20}", out["phone"]):
            raise AnswerError("電話番号は数字とハイフンで入力してください。")
        return out

    def is_answered(self, value):
        return isinstance(value, dict) and bool(value.get("name"))

    def _display(self, question, value):
        s = value["name"]
        extra = "・".join(v for v in (value.get("department"), value.get("title")) if v)
        if extra:
            s += f"（{extra}）"
        contact = " ".join(v for v in (value.get("email"), value.get("phone")) if v)
        return f"{s} {contact}".strip()


class GroupType(AnswerType):
    """Repeatable rows; each row is a dict keyed by sub-field id.  Empty rows are dropped.
    Scored (when required): 1 if at least one row and every row has its required fields."""

    key, label_ja = "group", "繰り返し項目"

    def normalize(self, raw, question=None):
        if raw is None or raw == []:
            return None
        if not isinstance(raw, (list, tuple)) or not all(isinstance(r, dict) for r in raw):
            raise AnswerError("表の形で入力してください。")
        rows = []
        for i, row in enumerate(raw, start=1):
            if question is None:
                clean = {k: v for k, v in row.items() if v not in (None, "", [])}
            else:
                clean = {}
                for f in question.fields:
                    try:
                        v = ANSWER_TYPES[f.type].normalize(row.get(f.id), f)
                    except AnswerError as e:
                        raise AnswerError(f"{i}行目「{f.text_ja}」：{e}") from None
                    if v is not None:
                        clean[f.id] = v
            if clean:
                rows.append(clean)
        return rows or None

    def is_answered(self, value):
        return isinstance(value, list) and len(value) > 0

    def complete(self, question: Question, value: Any) -> bool:
        if not self.is_answered(value):
            return False
        return all(
            ANSWER_TYPES[f.type].is_answered(row.get(f.id))
            for row in value
            for f in question.fields
            if f.required
        )

    def _score(self, question, value):
        if not question.required:
            return None
        return 1.0 if self.complete(question, value) else 0.0

    def _display(self, question, value):
        parts = []
        for row in value:
            cells = []
            for f in question.fields:
                if f.id in row:
                    cells.append(f"{f.text_ja}：{ANSWER_TYPES[f.type].display(f, row[f.id])}")
            parts.append("、".join(cells))
        return "／".join(parts)


ANSWER_TYPES: dict[str, AnswerType] = {
    t.key: t
    for t in (
        YesNoType(), SingleType(), MultiType(), TextType(), DateType(), NumberType(),
        FileType(), PersonType(), GroupType(),
    )
}


def normalize_answer(question: Question, raw: Any) -> Any:
    return ANSWER_TYPES[question.type].normalize(raw, question)


def answer_score(question: Question, value: Any) -> float | None:
    return ANSWER_TYPES[question.type].score(question, value)


def answer_display(question: Question, value: Any) -> str:
    return ANSWER_TYPES[question.type].display(question, value)


# ---------------------------------------------------------------------------------------------
# Parsing and validation
# ---------------------------------------------------------------------------------------------

_Q_KEYS = {
    "id", "type", "text", "help", "options", "weight", "required", "must_pass", "na_allowed",
    "applies_when", "shown_when", "derives_from", "guideline", "annex_articles", "finding",
    "remediation", "deadline_days", "fields",
}
_SECTION_DEFAULT_KEYS = {
    "weight", "required", "must_pass", "na_allowed", "applies_when", "derives_from",
    "guideline", "annex_articles", "deadline_days",
}
_FILE_KEYS = {"id", "kind", "title", "description", "applies_when", "sections"}


class _Errors:
    def __init__(self, source: str):
        self.source = source
        self.items: list[str] = []

    def add(self, where: str, fieldname: str, msg: str) -> None:
        parts = [self.source] + [p for p in (where, fieldname) if p]
        self.items.append(": ".join(parts) + ": " + msg)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _text_pair(
    raw: Any, errs: _Errors, where: str, fieldname: str, *, required: bool, need_en: bool = False
) -> tuple[str, str]:
    if raw is None:
        if required:
            errs.add(where, fieldname, "is required ({ja, en})")
        return "", ""
    if isinstance(raw, str):
        raw = {"ja": raw}
    if not isinstance(raw, dict):
        errs.add(where, fieldname, "must be a mapping {ja, en}")
        return "", ""
    unknown = set(raw) - {"ja", "en"}
    if unknown:
        errs.add(where, fieldname, f"unknown language key(s): {', '.join(sorted(unknown))}")
    ja, en = raw.get("ja", ""), raw.get("en", "")
    if not isinstance(ja, str) or not isinstance(en, str):
        errs.add(where, fieldname, "ja/en must be strings")
        return "", ""
    if required and not ja.strip():
        errs.add(where, f"{fieldname}.ja", "is required")
    if need_en and not en.strip():
        errs.add(where, f"{fieldname}.en", "is required")
    return ja.strip(), en.strip()


def _parse_applies(raw: Any, errs: _Errors, where: str, fieldname: str = "applies_when") -> dict:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        errs.add(where, fieldname, "must be a mapping")
        return {}
    out: dict = {}
    for k, v in raw.items():
        f = f"{fieldname}.{k}"
        if k not in APPLIES_KEYS:
            errs.add(where, f, f"unknown condition (allowed: {', '.join(APPLIES_KEYS)})")
        elif k == "kinds":
            if isinstance(v, str):
                v = [v]
            if not isinstance(v, list) or not v or any(x not in KINDS for x in v):
                errs.add(where, f, f"must be a non-empty list of {', '.join(KINDS)}")
            else:
                out[k] = sorted(set(v), key=KINDS.index)
        elif k in ("confidentiality_min", "confidentiality_max"):
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 3:
                errs.add(where, f, "must be an integer 1..3")
            else:
                out[k] = v
        elif k in ("personal_data", "my_number"):
            if not isinstance(v, bool):
                errs.add(where, f, "must be true or false")
            else:
                out[k] = v
        elif k == "network_segment":
            if isinstance(v, str) or v is None:
                v = [v]
            if not isinstance(v, list) or not v or any(
                x not in NETWORK_SEGMENTS and x is not None for x in v
            ):
                errs.add(where, f, f"must be a list of {', '.join(NETWORK_SEGMENTS)} (or null)")
            else:
                out[k] = list(dict.fromkeys(v))
    if (
        "confidentiality_min" in out
        and "confidentiality_max" in out
        and out["confidentiality_min"] > out["confidentiality_max"]
    ):
        errs.add(where, fieldname, "confidentiality_min is greater than confidentiality_max")
    return out


def _parse_options(raw: Any, errs: _Errors, where: str, need_en: bool) -> tuple[Option, ...]:
    if not isinstance(raw, list) or len(raw) < 2:
        errs.add(where, "options", "must be a list of at least 2 options")
        return ()
    opts, seen = [], set()
    for i, o in enumerate(raw):
        f = f"options[{i}]"
        if not isinstance(o, dict):
            errs.add(where, f, "must be a mapping {value, label, score}")
            continue
        unknown = set(o) - {"value", "label", "score"}
        if unknown:
            errs.add(where, f, f"unknown key(s): {', '.join(sorted(unknown))}")
        value = o.get("value")
        if isinstance(value, bool) or not isinstance(value, (str, int)) or not OPTION_VALUE_RE.match(
            str(value)
        ):
            errs.add(where, f"{f}.value", "must be a short code (letters, digits, _ . -)")
            continue
        value = str(value)
        if value == NA:
            errs.add(where, f"{f}.value", "'na' is reserved: use na_allowed instead")
        if value in seen:
            errs.add(where, f"{f}.value", f"duplicate option value '{value}'")
        seen.add(value)
        ja, en = _text_pair(o.get("label"), errs, where, f"{f}.label", required=True, need_en=need_en)
        score = o.get("score")
        if not _is_number(score) or not 0 <= score <= 1:
            errs.add(where, f"{f}.score", "must be a number between 0 and 1")
            score = 0.0
        opts.append(Option(value, ja, en, float(score)))
    return tuple(opts)


def _parse_shown_when(raw: Any, errs: _Errors, where: str) -> dict | None:
    """Authoring forms: ``{question: <id>, equals: <value>}``, ``{question: <id>, in: [..]}`` or
    ``{<id>: <value or [values]>}``.  Parsed form: ``{<id>: [values]}`` (one controlling
    question)."""
    if raw is None:
        return None
    usage = "must be {question: <id>, equals: <value>} or {question: <id>, in: [..]}"
    if not isinstance(raw, dict) or not raw:
        errs.add(where, "shown_when", usage)
        return None
    if "question" in raw:
        unknown = set(raw) - {"question", "equals", "in"}
        if unknown:
            errs.add(where, "shown_when", f"unknown key(s): {', '.join(sorted(unknown))}")
        if not isinstance(raw["question"], str) or ("equals" in raw) == ("in" in raw):
            errs.add(where, "shown_when", usage)
            return None
        target = raw["question"]
        values = [raw["equals"]] if "equals" in raw else raw["in"]
    else:
        if len(raw) != 1:
            errs.add(where, "shown_when", "may depend on one question only")
            return None
        ((target, values),) = raw.items()
        if not isinstance(values, list):
            values = [values]
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        errs.add(where, "shown_when", "values must be option codes (strings)")
        return None
    return {str(target): list(dict.fromkeys(values))}


def shown_when_target(question: Question) -> tuple[str, list[str]] | None:
    """(controlling question id, answers that show the question), or None."""
    if not question.shown_when:
        return None
    ((target, values),) = question.shown_when.items()
    return target, list(values)


def _parse_question(
    raw: Any,
    errs: _Errors,
    section_id: str,
    defaults: dict,
    index: str,
    *,
    need_en: bool,
    sub: bool = False,
) -> Question | None:
    if not isinstance(raw, dict):
        errs.add(index, "", "question must be a mapping")
        return None
    qid = raw.get("id")
    id_re = FIELD_ID_RE if sub else QUESTION_ID_RE
    if not isinstance(qid, str) or not id_re.match(qid):
        errs.add(
            f"{index}" + (f" ({qid})" if qid else ""),
            "id",
            "must be a dotted lower-case id like out.contract.confidentiality"
            if not sub
            else "must be a lower-case field id like name",
        )
        qid = str(qid) if qid else index
    where = qid
    unknown = set(raw) - _Q_KEYS
    if unknown:
        errs.add(where, "", f"unknown key(s): {', '.join(sorted(unknown))}")

    d = {**defaults, **{k: v for k, v in raw.items()}}
    qtype = d.get("type")
    allowed_types = GROUP_FIELD_TYPES if sub else tuple(ANSWER_TYPES)
    if qtype not in allowed_types:
        errs.add(where, "type", f"must be one of {', '.join(allowed_types)}")
        qtype = "text"
    text_ja, text_en = _text_pair(d.get("text"), errs, where, "text", required=True, need_en=need_en)
    help_ja, help_en = _text_pair(d.get("help"), errs, where, "help", required=False)

    options: tuple[Option, ...] = ()
    if qtype in ("single", "multi"):
        options = _parse_options(d.get("options"), errs, where, need_en)
    elif "options" in raw:
        errs.add(where, "options", f"not allowed for type {qtype}")

    weight = d.get("weight", 0.0 if sub else 1.0)
    if not _is_number(weight) or weight < 0:
        errs.add(where, "weight", "must be a number ≥ 0")
        weight = 0.0
    flags = {}
    for name, default in (("required", True if not sub else False), ("must_pass", False), ("na_allowed", False)):
        v = d.get(name, default)
        if not isinstance(v, bool):
            errs.add(where, name, "must be true or false")
            v = default
        flags[name] = v
    if flags["must_pass"] and not flags["required"]:
        errs.add(where, "must_pass", "a must-pass question must also be required")
    if flags["must_pass"] and qtype not in CHOICE_TYPES:
        errs.add(where, "must_pass", "only yesno/single/multi questions can be must-pass")
    if flags["must_pass"] and flags["na_allowed"]:
        errs.add(where, "na_allowed", "a must-pass question cannot allow 該当なし")
    if flags["must_pass"] and weight <= 0:
        errs.add(where, "weight", "a must-pass question must have weight > 0")

    applies = _parse_applies(d.get("applies_when"), errs, where)
    shown = _parse_shown_when(d.get("shown_when"), errs, where) if not sub else None
    if sub and "shown_when" in raw:
        errs.add(where, "shown_when", "not allowed on a group field")

    derives = d.get("derives_from", "")
    if not sub:
        if derives not in OBLIGATION_KEYS:
            errs.add(where, "derives_from", f"must be one of {', '.join(OBLIGATION_KEYS)}")
            derives = str(derives or "")
    guideline = d.get("guideline", "")
    if not isinstance(guideline, str) or (not sub and not guideline.strip()):
        errs.add(where, "guideline", "is required (e.g. 対策基準 8.1(2))")
        guideline = str(guideline or "")
    arts = d.get("annex_articles", [])
    if isinstance(arts, str):
        arts = [arts]
    if not isinstance(arts, list) or not all(isinstance(a, str) for a in arts):
        errs.add(where, "annex_articles", "must be a list of article keys like confidentiality")
        arts = []
    for a in arts:
        if a not in ANNEX_ARTICLE_KEYS:
            errs.add(where, "annex_articles", f"unknown article key '{a}' (see ANNEX_ARTICLE_KEYS)")
    finding_ja, _ = _text_pair(d.get("finding"), errs, where, "finding", required=False)
    remediation_ja, _ = _text_pair(d.get("remediation"), errs, where, "remediation", required=False)
    if not finding_ja and not sub:
        finding_ja = f"「{text_ja}」について、十分な回答が得られていません。"
    if not remediation_ja and not sub:
        remediation_ja = "回答内容を確認し、必要な対策を講じたうえで回答を更新してください。"
    deadline = d.get("deadline_days", DEFAULT_DEADLINE_DAYS)
    if isinstance(deadline, bool) or not isinstance(deadline, int) or not 0 <= deadline <= 3650:
        errs.add(where, "deadline_days", "must be an integer of days 0..3650")
        deadline = DEFAULT_DEADLINE_DAYS

    fields: tuple[Question, ...] = ()
    if qtype == "group":
        raw_fields = raw.get("fields")
        if not isinstance(raw_fields, list) or not raw_fields:
            errs.add(where, "fields", "a group needs a non-empty list of fields")
        else:
            parsed = []
            for i, rf in enumerate(raw_fields):
                fq = _parse_question(rf, errs, section_id, {}, f"{where}.fields[{i}]", need_en=need_en, sub=True)
                if fq:
                    parsed.append(fq)
            ids = [f.id for f in parsed]
            for dup in sorted({i for i in ids if ids.count(i) > 1}):
                errs.add(where, "fields", f"duplicate field id '{dup}'")
            fields = tuple(parsed)
    elif qtype == "person":
        if "fields" in raw:
            errs.add(where, "fields", "person fields are built in (name, title, department, email, phone)")
        fields = tuple(
            Question(id=k, section_id=section_id, type="text", text_ja=ja, text_en=en, required=req,
                     weight=0.0, finding_ja="", remediation_ja="")
            for k, ja, en, req in PERSON_FIELDS
        )
    elif "fields" in raw:
        errs.add(where, "fields", f"not allowed for type {qtype}")

    return Question(
        id=qid,
        section_id=section_id,
        type=qtype,
        text_ja=text_ja,
        text_en=text_en,
        help_ja=help_ja,
        help_en=help_en,
        options=options,
        weight=float(weight),
        required=flags["required"],
        must_pass=flags["must_pass"],
        na_allowed=flags["na_allowed"],
        applies_when=applies,
        shown_when=shown,
        derives_from=derives if not sub else "",
        guideline=guideline.strip(),
        annex_articles=tuple(dict.fromkeys(arts)),
        finding_ja=finding_ja,
        remediation_ja=remediation_ja,
        deadline_days=deadline,
        fields=fields,
    )


def _check_shown_when(q: Question, by_id: dict[str, Question], errs: _Errors) -> None:
    sw = shown_when_target(q)
    if not sw:
        return
    target_id, values = sw
    target = by_id.get(target_id)
    if target is None:
        errs.add(q.id, "shown_when", f"refers to unknown question '{target_id}'")
        return
    if target.id == q.id:
        errs.add(q.id, "shown_when", "cannot refer to itself")
        return
    if target.type not in CHOICE_TYPES:
        errs.add(q.id, "shown_when", f"'{target.id}' must be a yesno/single/multi question")
        return
    valid = [o.value for o in ANSWER_TYPES[target.type].choices(target)]
    for v in values:
        if v not in valid:
            errs.add(q.id, "shown_when", f"'{v}' is not an answer of '{target.id}' ({', '.join(valid)})")
    if target.weight != 0 or target.must_pass:
        errs.add(
            q.id,
            "shown_when",
            f"'{target.id}' controls other questions, so it must have weight 0 and not be must-pass",
        )
    # cycles
    seen, cur = {q.id}, target
    while cur is not None and cur.shown_when:
        if cur.id in seen:
            errs.add(q.id, "shown_when", "circular shown_when chain")
            return
        seen.add(cur.id)
        cur = by_id.get(shown_when_target(cur)[0])


def parse_definition(data: Any, source: str, *, need_en: bool = False) -> Questionnaire:
    """Validate a raw definition (the YAML's mapping) and build the Questionnaire.
    Raises DefinitionError listing every problem, each prefixed by ``source``."""
    errs = _Errors(source)
    if not isinstance(data, dict):
        raise DefinitionError([f"{source}: the file must contain a mapping (id, kind, title, sections)"])
    unknown = set(data) - _FILE_KEYS
    if unknown:
        errs.add("", "", f"unknown top-level key(s): {', '.join(sorted(unknown))}")
    qid = data.get("id")
    if not isinstance(qid, str) or not FILE_ID_RE.match(qid):
        errs.add("", "id", "must be a lower-case id like outsourcing or cloud-high")
        qid = str(qid or "")
    kind = data.get("kind")
    if kind not in KINDS:
        errs.add("", "kind", f"must be one of {', '.join(KINDS)}")
    title_ja, title_en = _text_pair(data.get("title"), errs, "", "title", required=True, need_en=need_en)
    desc_ja, desc_en = _text_pair(data.get("description"), errs, "", "description", required=False)
    applies = _parse_applies(data.get("applies_when"), errs, "")

    sections = []
    raw_sections = data.get("sections")
    if not isinstance(raw_sections, list) or not raw_sections:
        errs.add("", "sections", "must be a non-empty list")
        raw_sections = []
    seen_sections: set[str] = set()
    for si, rs in enumerate(raw_sections):
        if not isinstance(rs, dict):
            errs.add(f"sections[{si}]", "", "must be a mapping")
            continue
        sid = rs.get("id")
        if not isinstance(sid, str) or not QUESTION_ID_RE.match(sid):
            errs.add(f"sections[{si}]", "id", "must be a dotted lower-case id like out.contract")
            sid = f"sections[{si}]"
        if sid in seen_sections:
            errs.add(sid, "id", "duplicate section id")
        seen_sections.add(sid)
        unknown = set(rs) - {"id", "title", "defaults", "questions"}
        if unknown:
            errs.add(sid, "", f"unknown key(s): {', '.join(sorted(unknown))}")
        st_ja, st_en = _text_pair(rs.get("title"), errs, sid, "title", required=True, need_en=need_en)
        defaults = rs.get("defaults") or {}
        if not isinstance(defaults, dict) or set(defaults) - _SECTION_DEFAULT_KEYS:
            errs.add(sid, "defaults", f"allowed keys: {', '.join(sorted(_SECTION_DEFAULT_KEYS))}")
            defaults = {}
        rqs = rs.get("questions")
        if not isinstance(rqs, list) or not rqs:
            errs.add(sid, "questions", "must be a non-empty list")
            rqs = []
        qs = []
        for qi, rq in enumerate(rqs):
            q = _parse_question(rq, errs, sid, defaults, f"{sid}.questions[{qi}]", need_en=need_en)
            if q:
                qs.append(q)
        sections.append(Section(sid, st_ja, st_en, tuple(qs)))

    by_id: dict[str, Question] = {}
    for s in sections:
        for q in s.questions:
            if q.id in by_id:
                errs.add(q.id, "id", "duplicate question id")
            by_id[q.id] = q
    for q in by_id.values():
        _check_shown_when(q, by_id, errs)

    if errs.items:
        raise DefinitionError(errs.items)
    body = _freeze_body(qid, kind, title_ja, title_en, desc_ja, desc_en, applies, sections)
    return Questionnaire(
        id=qid, kind=kind, title_ja=title_ja, title_en=title_en, description_ja=desc_ja,
        applies_when=applies, sections=tuple(sections), version=content_hash(body),
        description_en=desc_en,
    )


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def load_questionnaire(path: str | Path) -> Questionnaire:
    path = Path(path)
    source = _display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DefinitionError([f"{source}: cannot read file: {e}"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise DefinitionError([f"{source}: {where}YAML syntax error: {problem}"]) from None
    q = parse_definition(data, source)
    if q.id != path.stem:
        raise DefinitionError([f"{source}: id: '{q.id}' must match the file name '{path.stem}'"])
    return q


def _definition_files(directory: str | Path) -> list[Path]:
    d = Path(directory)
    return sorted(list(d.glob("*.yaml")) + list(d.glob("*.yml")))


def _load_all(directory: str | Path) -> tuple[dict[str, Questionnaire], list[str]]:
    errors: list[str] = []
    result: dict[str, Questionnaire] = {}
    files = _definition_files(directory)
    if not Path(directory).is_dir():
        return {}, [f"{directory}: not a directory"]
    owner_of_q: dict[str, str] = {}
    owner_of_s: dict[str, str] = {}
    for path in files:
        try:
            q = load_questionnaire(path)
        except DefinitionError as e:
            errors.extend(e.errors)
            continue
        src = _display_path(path)
        if q.id in result:
            errors.append(f"{src}: id: duplicate questionnaire id '{q.id}'")
            continue
        for s in q.sections:
            if s.id in owner_of_s:
                errors.append(f"{src}: {s.id}: id: section id also used in {owner_of_s[s.id]}")
            owner_of_s[s.id] = src
        for qq in q.questions():
            if qq.id in owner_of_q:
                errors.append(f"{src}: {qq.id}: id: question id also used in {owner_of_q[qq.id]}")
            owner_of_q[qq.id] = src
        result[q.id] = q
    return result, errors


def load_all(directory: str | Path) -> dict[str, Questionnaire]:
    result, errors = _load_all(directory)
    if errors:
        raise DefinitionError(errors)
    return result


def check_all(directory: str | Path) -> list[str]:
    return _load_all(directory)[1]


# ---------------------------------------------------------------------------------------------
# Canonical form, hash, freeze / thaw
# ---------------------------------------------------------------------------------------------


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


def content_hash(body: dict) -> str:
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def _freeze_question(q: Question) -> dict:
    return {
        "id": q.id,
        "section_id": q.section_id,
        "type": q.type,
        "text": {"ja": q.text_ja, "en": q.text_en},
        "help": {"ja": q.help_ja, "en": q.help_en},
        "options": [
            {"value": o.value, "label": {"ja": o.label_ja, "en": o.label_en}, "score": o.score}
            for o in q.options
        ],
        "weight": q.weight,
        "required": q.required,
        "must_pass": q.must_pass,
        "na_allowed": q.na_allowed,
        "applies_when": copy.deepcopy(q.applies_when),
        "shown_when": copy.deepcopy(q.shown_when),
        "derives_from": q.derives_from,
        "guideline": q.guideline,
        "annex_articles": list(q.annex_articles),
        "finding": {"ja": q.finding_ja},
        "remediation": {"ja": q.remediation_ja},
        "deadline_days": q.deadline_days,
        "fields": [_freeze_question(f) for f in q.fields],
    }


def _freeze_body(qid, kind, title_ja, title_en, desc_ja, desc_en, applies, sections) -> dict:
    return {
        "format": FROZEN_FORMAT,
        "id": qid,
        "kind": kind,
        "title": {"ja": title_ja, "en": title_en},
        "description": {"ja": desc_ja, "en": desc_en},
        "applies_when": copy.deepcopy(applies),
        "sections": [
            {
                "id": s.id,
                "title": {"ja": s.title_ja, "en": s.title_en},
                "questions": [_freeze_question(q) for q in s.questions],
            }
            for s in sections
        ],
    }


def freeze(q: Questionnaire) -> dict:
    """A JSON-able snapshot of the parsed definition, with its version.  Store it with an
    invitation; ``thaw`` gives back an equal Questionnaire (same version)."""
    body = _freeze_body(
        q.id, q.kind, q.title_ja, q.title_en, q.description_ja, q.description_en,
        q.applies_when, q.sections,
    )
    body["version"] = q.version
    return body


def _thaw_question(d: dict) -> Question:
    return Question(
        id=d["id"],
        section_id=d["section_id"],
        type=d["type"],
        text_ja=d["text"]["ja"],
        text_en=d["text"]["en"],
        help_ja=d["help"]["ja"],
        help_en=d["help"]["en"],
        options=tuple(
            Option(o["value"], o["label"]["ja"], o["label"]["en"], float(o["score"]))
            for o in d["options"]
        ),
        weight=float(d["weight"]),
        required=d["required"],
        must_pass=d["must_pass"],
        na_allowed=d["na_allowed"],
        applies_when=copy.deepcopy(d["applies_when"]),
        shown_when=copy.deepcopy(d["shown_when"]),
        derives_from=d["derives_from"],
        guideline=d["guideline"],
        annex_articles=tuple(d["annex_articles"]),
        finding_ja=d["finding"]["ja"],
        remediation_ja=d["remediation"]["ja"],
        deadline_days=int(d["deadline_days"]),
        fields=tuple(_thaw_question(f) for f in d["fields"]),
    )


def thaw(d: dict) -> Questionnaire:
    """Rebuild a Questionnaire from ``freeze`` output.  The stored version is checked against
    the hash of the stored content, so a tampered snapshot is refused."""
    if not isinstance(d, dict) or "version" not in d:
        raise DefinitionError(["frozen definition: version: missing"])
    if d.get("format") != FROZEN_FORMAT:
        raise DefinitionError([f"frozen definition: format: unsupported ({d.get('format')!r})"])
    body = {k: v for k, v in d.items() if k != "version"}
    if content_hash(body) != d["version"]:
        raise DefinitionError(
            [f"frozen definition {d.get('id')}: version: content does not match its hash"]
        )
    try:
        sections = tuple(
            Section(
                s["id"], s["title"]["ja"], s["title"]["en"],
                tuple(_thaw_question(q) for q in s["questions"]),
            )
            for s in d["sections"]
        )
        return Questionnaire(
            id=d["id"], kind=d["kind"], title_ja=d["title"]["ja"], title_en=d["title"]["en"],
            description_ja=d["description"]["ja"], applies_when=copy.deepcopy(d["applies_when"]),
            sections=sections, version=d["version"], description_en=d["description"]["en"],
        )
    except (KeyError, TypeError) as e:
        raise DefinitionError([f"frozen definition {d.get('id')}: malformed: {e}"]) from None


# ---------------------------------------------------------------------------------------------
# Engagement selection, visibility, traceability
# ---------------------------------------------------------------------------------------------


def select_for_engagement(all_q: dict[str, Questionnaire], profile: dict) -> list[Questionnaire]:
    """The questionnaires an engagement's contractor must answer, in a stable order
    (outsourcing, cloud, social media; then by id)."""
    chosen = [q for q in all_q.values() if q.kind in normalize_profile(profile)["kinds"] and q.applies(profile)]
    return sorted(chosen, key=lambda q: (KINDS.index(q.kind), q.id))


def is_shown(question: Question, answers: dict, by_id: dict[str, Question], profile: dict | None = None) -> bool:
    """False when the question depends (``shown_when``) on an answer it does not match, or on
    a controlling question that is itself hidden or not applicable."""
    seen = set()
    q = question
    while q.shown_when:
        if q.id in seen:
            return False
        seen.add(q.id)
        target_id, allowed = shown_when_target(q)
        ctrl = by_id.get(target_id)
        if ctrl is None or (profile is not None and not ctrl.applies(profile)):
            return False
        try:
            value = normalize_answer(ctrl, answers.get(ctrl.id))
        except AnswerError:
            return False
        values = value if isinstance(value, list) else [value]
        if not any(v in allowed for v in values):
            return False
        q = ctrl
    return True


def visible_questions(questionnaires: Iterable[Questionnaire], answers: dict, profile: dict) -> list[Question]:
    """Applicable questions that are currently shown, given the answers so far."""
    qs = list(questionnaires)
    by_id = {q.id: q for qn in qs for q in qn.questions()}
    return [q for qn in qs for q in qn.applicable(profile) if is_shown(q, answers, by_id, profile)]


def trace(all_q: dict[str, Questionnaire], obligation_keys: list[str]) -> dict[str, list[str]]:
    """For each obligation key in the organisation's clause, the ids of the questions that
    derive from it.  A key mapped to an empty list is not covered (see :func:`uncovered`)."""
    result: dict[str, list[str]] = {k: [] for k in obligation_keys}
    for qn in sorted(all_q.values(), key=lambda q: q.id):
        for q in qn.questions():
            if q.derives_from in result:
                result[q.derives_from].append(q.id)
    return result


def uncovered(traced: dict[str, list[str]]) -> list[str]:
    return [k for k, ids in traced.items() if not ids]
