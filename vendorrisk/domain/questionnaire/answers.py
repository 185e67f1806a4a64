"""Answer types: how each question type normalizes, scores and shows an answer (a registry)."""

from __future__ import annotations

import datetime as _dt
import math
import re
import unicodedata
from typing import Any

from email_validator import EmailNotValidError, validate_email

from ..vocabulary import PERSON_FIELDS
from ..wareki import format_wareki, parse_date
from .definition import Option, Question
from .terms import NA, AnswerError

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
TEXT_MAX = 4000


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
        if question is not None and question.option(v) is None:
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
        if out["email"]:
            try:
                validate_email(out["email"], check_deliverability=False)
            except EmailNotValidError as exc:
                raise AnswerError("メールアドレスの形式が正しくありません。") from exc
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


