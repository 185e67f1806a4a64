"""The contract facts a set of answers supplies, found through the questions' ``annex_field``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .definition import Questionnaire


def _answered(value: Any) -> bool:
    return value not in (None, "", [], {})


def declarations(questionnaires: Iterable[Questionnaire]) -> dict[str, list[str]]:
    """annex field → ids of the questions declaring it, in id order."""
    declared: dict[str, list[str]] = {}
    for qn in questionnaires:
        for q in qn.questions():
            if q.annex_field:
                declared.setdefault(q.annex_field, []).append(q.id)
    return {name: sorted(ids) for name, ids in declared.items()}


def annex_answers(questionnaires: Iterable[Questionnaire], answers: dict[str, Any]) -> dict[str, Any]:
    """annex field → the first non-empty answer among the questions that declare it (by id).
    A field no answered question declares is absent."""
    facts: dict[str, Any] = {}
    for name, ids in declarations(questionnaires).items():
        value = next((answers[qid] for qid in ids if _answered(answers.get(qid))), None)
        if value is not None:
            facts[name] = value
    return facts
