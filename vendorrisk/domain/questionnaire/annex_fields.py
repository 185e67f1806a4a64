"""The contract facts a set of answers supplies, found through the questions' ``annex_field``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .definition import Question, Questionnaire


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


#: Facts about the contractor asked once per invitation, however many questionnaires declare them
#: (WCAG 2.2 SC 3.3.7 Redundant Entry): its responsible persons, work site and data location.
ENTER_ONCE = ("responsible_manager", "security_officer", "work_site", "data_storage_site", "data_location")


def _same_shape(a: Question, b: Question) -> bool:
    """Two questions can share one answer: same type, same choices, neither shown conditionally."""
    return (a.type == b.type and [o.value for o in a.options] == [o.value for o in b.options]
            and a.shown_when is None and b.shown_when is None)


def shared_questions(questionnaires: Iterable[Questionnaire], profile: dict) -> dict[str, list[str]]:
    """Question asked → the ids of the later questions (other questionnaires of the same invitation)
    that declare the same `annex_field` among ENTER_ONCE and take its answer instead of being asked.
    The asked one is the first required declaration, else the first."""
    by_field: dict[str, list[Question]] = {}
    for qn in questionnaires:
        for q in qn.applicable(profile):
            if q.annex_field in ENTER_ONCE:
                by_field.setdefault(q.annex_field, []).append(q)
    out: dict[str, list[str]] = {}
    for questions in by_field.values():
        asked = next((q for q in questions if q.required), questions[0])
        copies = [q.id for q in questions if q is not asked and _same_shape(asked, q)]
        if copies:
            out[asked.id] = copies
    return out
