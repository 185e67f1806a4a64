"""Checks across questions of a validated definition: ids, ``shown_when`` links, annex links, and the
guideline chapters a bank of its kind may cite.

Each check returns ``(where, field, message)`` triples; ``loading`` prefixes the file name.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..annex_articles import ANNEX_FIELDS, ARTICLES
from ..vocabulary import GUIDELINE_CHAPTERS, GUIDELINE_CHAPTERS_BY_KIND, KIND_LABELS
from .answers import ANSWER_TYPES
from .definition import Question, Section
from .guideline import parse_guideline
from .terms import CHOICE_TYPES
from .visibility import shown_when_target

Problem = tuple[str, str, str]
_ARTICLES_BY_KEY = {a["key"]: a for a in ARTICLES}


def duplicate_ids(sections: tuple[Section, ...]) -> Iterator[Problem]:
    seen_sections: set[str] = set()
    seen_questions: set[str] = set()
    for s in sections:
        if s.id in seen_sections:
            yield s.id, "id", "セクションIDが重複しています"
        seen_sections.add(s.id)
        for q in s.questions:
            if q.id in seen_questions:
                yield q.id, "id", "設問IDが重複しています。"
            seen_questions.add(q.id)


def _shown_when_target_problem(q: Question, target: Question | None, target_id: str) -> str | None:
    if target is None:
        return f"存在しない設問「{target_id}」を参照しています。"
    if target.id == q.id:
        return "自分自身は参照できません"
    if target.type not in CHOICE_TYPES:
        return f"'{target.id}' は yesno/single/multi の設問にしてください"
    if target.party != q.party:
        return f"'{target.id}' は回答する者（party）が違う設問です。事業者の設問は事業者の回答だけで表示を決めます"
    return None


def _is_circular(q: Question, by_id: dict[str, Question]) -> bool:
    seen: set[str] = set()
    cur: Question | None = q
    while cur is not None and (target := shown_when_target(cur)) is not None:
        if cur.id in seen:
            return True
        seen.add(cur.id)
        cur = by_id.get(target[0])
    return False


def _shown_when_problems(q: Question, by_id: dict[str, Question]) -> Iterator[str]:
    target_id, values = shown_when_target(q) or ("", [])
    target = by_id.get(target_id)
    problem = _shown_when_target_problem(q, target, target_id)
    if problem or target is None:
        yield problem or ""
        return
    valid = [o.value for o in ANSWER_TYPES[target.type].choices(target)]
    for v in values:
        if v not in valid:
            yield f"「{v}」は設問「{target.id}」の回答にありません（{'、'.join(valid)}）。"
    if target.weight != 0 or target.must_pass:
        yield f"「{target.id}」はほかの設問の表示を切り替えるため、weight を0にし、must_pass にしないでください。"
    if _is_circular(q, by_id):
        yield "shown_when の参照が循環しています"


def shown_when_links(sections: tuple[Section, ...]) -> Iterator[Problem]:
    by_id = {q.id: q for s in sections for q in s.questions}
    for q in by_id.values():
        if q.shown_when:
            for message in _shown_when_problems(q, by_id):
                yield q.id, "shown_when", message


# ---------------------------------------------------------------------------------------------
# Links to the annex: an article or a contract fact must be composed for the questionnaire's kind
# ---------------------------------------------------------------------------------------------


def _bounds(*conditions: Mapping[str, Any]) -> dict[str, Any]:
    """What the file-level and question-level conditions together say about every engagement
    that answers the question: 機密性 bounds, personal data, マイナンバー."""
    low = max([c.get("confidentiality_min", 1) for c in conditions])
    high = min([c.get("confidentiality_max", 3) for c in conditions])
    flags = {k: c[k] for c in conditions for k in ("personal_data", "my_number") if k in c}
    return {"low": low, "high": high, **flags}


def _impossible_condition(name: str, kind: str, bounds: Mapping[str, Any]) -> str | None:
    """Why the annex condition ``name`` can never hold for such an engagement, or None."""
    if name == "cloud_high" and (kind != "cloud" or bounds["high"] < 2):
        return "機密性2以上の外部サービスのときだけ入ります"
    if name == "cloud_low" and (kind != "cloud" or bounds["low"] >= 2):
        return "機密性1の外部サービスのときだけ入ります"
    if name in ("personal_data", "my_number") and bounds.get(name) is False:
        return "個人情報（特定個人情報）を扱うときだけ入ります"
    return None


def never_composed_reason(spec: Mapping[str, Any], kind: str, bounds: Mapping[str, Any]) -> str | None:
    """Why an article / a contract fact (``kinds``, ``when``) never appears in the annex of an
    engagement that answers this question, or None when it can appear."""
    kinds = spec.get("kinds")
    if kinds and kind not in kinds:
        return "・".join(KIND_LABELS[k] for k in kinds) + "のときだけ入ります"
    for name in spec.get("when") or ():
        reason = _impossible_condition(name, kind, bounds)
        if reason:
            return reason
    return None


def _question_annex_problems(q: Question, kind: str, file_condition: Mapping[str, Any]) -> Iterator[Problem]:
    bounds = _bounds(file_condition, q.applies_when)
    label = KIND_LABELS.get(kind, kind)
    for key in q.annex_articles:
        reason = never_composed_reason(_ARTICLES_BY_KEY[key], kind, bounds)
        if reason:
            yield q.id, "annex_articles", f"条項「{key}」は{label}のこの質問票の特記事項には入りません（{reason}）"
    if q.annex_field:
        reason = never_composed_reason(ANNEX_FIELDS[q.annex_field], kind, bounds)
        if reason:
            message = f"項目「{q.annex_field}」は{label}のこの質問票の特記事項には入りません（{reason}）"
            yield q.id, "annex_field", message


def annex_links(kind: str, file_condition: Mapping[str, Any], sections: tuple[Section, ...]) -> Iterator[Problem]:
    for s in sections:
        for q in s.questions:
            yield from _question_annex_problems(q, kind, file_condition)


def guideline_chapters(kind: str, sections: tuple[Section, ...]) -> Iterator[Problem]:
    """Each citation names a chapter of the 対策基準 that covers the bank's kind (8.1–8.5, current order)."""
    allowed = GUIDELINE_CHAPTERS_BY_KIND[kind]
    names = "、".join(f"{c} {GUIDELINE_CHAPTERS[c]}" for c in allowed)
    for s in sections:
        for q in s.questions:
            ref = parse_guideline(q.guideline)
            if ref is not None and ref.chapter not in allowed:
                yield q.id, "guideline", (f"{KIND_LABELS[kind]}の質問票が引用できる章は {names} です"
                                          f"（{ref.chapter} は {ref.chapter_title} の章です）。")
