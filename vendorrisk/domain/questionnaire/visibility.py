"""Which questionnaires and questions an engagement sees, and what each obligation is traced to."""

from __future__ import annotations

from collections.abc import Iterable

from .answers import normalize_answer
from .definition import Question, Questionnaire, normalize_profile
from .terms import KINDS, AnswerError


def select_for_engagement(all_q: dict[str, Questionnaire], profile: dict) -> list[Questionnaire]:
    """The questionnaires an engagement's contractor must answer, in a stable order
    (outsourcing, cloud, social media; then by id)."""
    kinds = normalize_profile(profile)["kinds"]
    chosen = [q for q in all_q.values() if q.kind in kinds and q.applies(profile)]
    return sorted(chosen, key=lambda q: (KINDS.index(q.kind), q.id))


def shown_when_target(question: Question) -> tuple[str, list[str]] | None:
    """(controlling question id, answers that show the question), or None."""
    if not question.shown_when:
        return None
    ((target, values),) = question.shown_when.items()
    return target, list(values)


def _controller_allows(ctrl: Question | None, allowed: list[str], answers: dict, profile: dict | None) -> bool:
    if ctrl is None or (profile is not None and not ctrl.applies(profile)):
        return False
    try:
        value = normalize_answer(ctrl, answers.get(ctrl.id))
    except AnswerError:
        return False
    values = value if isinstance(value, list) else [value]
    return any(v in allowed for v in values)


def is_shown(question: Question, answers: dict, by_id: dict[str, Question], profile: dict | None = None) -> bool:
    """False when the question depends (``shown_when``) on an answer it does not match, or on
    a controlling question that is itself hidden or not applicable."""
    seen = set()
    q = question
    while (target := shown_when_target(q)) is not None:
        if q.id in seen:
            return False
        seen.add(q.id)
        target_id, allowed = target
        ctrl = by_id.get(target_id)
        if not _controller_allows(ctrl, allowed, answers, profile):
            return False
        assert ctrl is not None
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
