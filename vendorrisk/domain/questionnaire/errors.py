"""Turn pydantic's validation errors into lines an author can act on.

Each line names the file, the question (or section) and the field:
``questionnaires/sample.yaml: smp.main.nda: weight: 0以上の数値にしてください。``.  A question whose id
is itself broken is named by its position, ``smp.main.questions[2] (Bad Id)``.

Wording: every message is Japanese and says what to write; pydantic's own error types are
translated through ``BY_TYPE``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from .terms import APPLIES_KEYS, FIELD_ID_RE, QUESTION_ID_RE

_TRUE_OR_FALSE = "true か false で書いてください。"
#: Messages for a field whatever pydantic found wrong with it.
BY_FIELD: dict[str, str] = {
    "weight": "0以上の数値にしてください。",
    "required": _TRUE_OR_FALSE,
    "must_pass": _TRUE_OR_FALSE,
    "na_allowed": _TRUE_OR_FALSE,
    "personal_data": _TRUE_OR_FALSE,
    "my_number": _TRUE_OR_FALSE,
    "confidentiality_min": "1〜3の整数にしてください。",
    "confidentiality_max": "1〜3の整数にしてください。",
    "deadline_days": "0〜3650の整数（日数）にしてください。",
    "score": "0〜1の数値にしてください。",
}
#: Messages for a field and one kind of error.
BY_FIELD_AND_TYPE: dict[tuple[str, str], str] = {
    ("text", "missing"): "必須です（ja: 日本語、en: 英語）。",
    ("title", "missing"): "必須です（ja: 日本語、en: 英語）。",
    ("options", "too_short"): "選択肢を2つ以上のリストで書いてください。",
    ("sections", "too_short"): "1つ以上必要です。",
    ("questions", "too_short"): "1つ以上必要です。",
    ("fields", "too_short"): "group には項目（fields）を1つ以上書いてください。",
    ("guideline", "missing"): "必須です（例：対策基準 8.1(2)）",
}
#: pydantic's error types, in Japanese.
BY_TYPE: dict[str, str] = {
    "missing": "必須の項目です。",
    "literal_error": "次のいずれかにしてください：{expected}",
    "string_type": "文字列で書いてください。",
    "list_type": "リスト（- で始まる行、または [..]）で書いてください。",
    "dict_type": "キーと値の組（マッピング）で書いてください。",
    "model_type": "キーと値の組（マッピング）で書いてください。",
    "model_attributes_type": "キーと値の組（マッピング）で書いてください。",
    "bool_type": "true か false で書いてください。",
    "int_type": "整数で書いてください。",
    "float_type": "数値で書いてください。",
    "finite_number": "有限の数値で書いてください。",
    "greater_than_equal": "{ge} 以上にしてください。",
    "less_than_equal": "{le} 以下にしてください。",
    "too_short": "{min_length} 個以上必要です。",
    "string_pattern_mismatch": "形式が正しくありません（{pattern}）。",
    "extra_forbidden": "使えないキーです：{key}",
}


def _item_label(container: str, index: int, item: Any, parent: str) -> str:
    """How a section / question / group field is named in an error line."""
    item_id = item.get("id") if isinstance(item, dict) else None
    pattern = FIELD_ID_RE if container == "fields" else QUESTION_ID_RE
    if isinstance(item_id, str) and pattern.match(item_id):
        return item_id
    label = f"{parent}.{container}[{index}]" if parent else f"{container}[{index}]"
    return f"{label} ({item_id})" if item_id else label


def _locate(loc: tuple, data: Any) -> tuple[str, list]:
    """(where, rest of the location) for a pydantic error location over the raw file data."""
    where, node, i = "", data, 0
    while (
        i + 1 < len(loc)
        and loc[i] in ("sections", "questions", "fields")
        and isinstance(loc[i + 1], int)
        and isinstance(node, dict)
        and isinstance(node.get(loc[i]), list)
        and loc[i + 1] < len(node[loc[i]])
    ):
        item = node[loc[i]][loc[i + 1]]
        where = _item_label(loc[i], loc[i + 1], item, where)
        node, i = item, i + 2
    return where, list(loc[i:])


def _field_path(parts: list) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def _message(err: Mapping[str, Any], parts: list) -> tuple[list, str]:
    """(field path parts, message) for one pydantic error."""
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "definition_rule":
        extra = [p for p in str(ctx.get("field", "")).split(".") if p]
        return parts + extra, err["msg"]
    if kind == "extra_forbidden":
        *parent, key = parts
        if parent and parent[-1] == "applies_when":
            return parts, f"使えない条件です（使える条件：{'、'.join(APPLIES_KEYS)}）"
        if parent and parent[-1] in ("text", "help", "title", "description", "label", "finding", "remediation"):
            return parent, f"言語のキー {key} は使えません（ja・en のみ）"
        return parent, f"使えないキーです：{key}"
    names = [p for p in parts if isinstance(p, str)]
    last = names[-1] if names else ""
    message = BY_FIELD_AND_TYPE.get((last, kind)) or BY_FIELD.get(last)
    if message is None:
        message = BY_TYPE.get(kind, f"正しくありません（{err['msg']}）。")
        message = message.format(**{k: _plain(v) for k, v in ctx.items()})
    return parts, message


def _plain(value: Any) -> str:
    return re.sub(r"'", "", str(value)).replace(" or ", ", ")


def error_lines(exc: ValidationError, data: Any, source: str) -> list[str]:
    """Every problem pydantic found, as ``source: where: field: message`` lines (in order, unique)."""
    lines: list[str] = []
    for err in exc.errors():
        where, rest = _locate(tuple(err["loc"]), data)
        parts, message = _message(err, rest)
        line = ": ".join(p for p in (source, where, _field_path(parts)) if p) + ": " + message
        if line not in lines:
            lines.append(line)
    return lines
