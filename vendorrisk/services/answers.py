"""Answering: save answers (a draft), which questions show, submit and score."""

from __future__ import annotations

from typing import Any

from ..domain import questionnaire as qdef
from ..domain import scoring
from ..domain.vocabulary import canonical_sha256
from ..extensions import db
from ..models import Answer, Assessment, Invitation, Response, StateError, utcnow
from . import audit
from .definitions import invitation_questionnaires


def _response_of(invitation: Invitation) -> Response:
    response = invitation.response
    assert response is not None, "every invitation is created with its response"
    return response


def _mark_section(response: Response, section: str, done: bool) -> None:
    finished = [s for s in (response.completed_sections or []) if s != section]
    if done:
        finished.append(section)
    response.completed_sections = finished


def save_answers(invitation: Invitation, values: dict[str, Any], *, completed_section: str | None = None,
                 section_done: bool | None = None) -> None:
    """Upsert the given answers (already normalised by the form layer).

    Saving is also when the contractor's visit is recorded (`last_opened_at`): opening a page
    writes nothing."""
    response = _response_of(invitation)
    response.ensure_editable()
    existing = {a.question_id: a for a in response.answers}
    for qid, value in values.items():
        if qid in existing:
            existing[qid].value = value
        else:
            response.answers.append(Answer(question_id=qid, value=value))
    if completed_section is not None and section_done is not None:
        _mark_section(response, completed_section, section_done)
    response.updated_at = invitation.last_opened_at = utcnow()
    db.session.flush()


def visible_questions(invitation: Invitation, answers: dict[str, Any] | None = None) -> list[qdef.Question]:
    """The applicable questions currently shown (`shown_when` follows the answers so far)."""
    if answers is None:
        answers = invitation.response.answer_map() if invitation.response else {}
    return qdef.visible_questions(invitation_questionnaires(invitation), answers, invitation.engagement.profile())


def visible_ids(invitation: Invitation, answers: dict[str, Any] | None = None) -> set[str]:
    return {q.id for q in visible_questions(invitation, answers)}


def missing_required(invitation: Invitation) -> list[qdef.Question]:
    """Required, applicable, shown questions that have no answer yet."""
    answers = invitation.response.answer_map() if invitation.response else {}
    return [q for q in visible_questions(invitation, answers)
            if q.required and not qdef.ANSWER_TYPES[q.type].is_answered(answers.get(q.id))]


def submit_response(invitation: Invitation) -> Assessment:
    """Freeze the answers, score them and open the review."""
    response = _response_of(invitation)
    response.ensure_editable()
    missing = missing_required(invitation)
    if missing:
        raise StateError(f"未回答の必須項目が{len(missing)}件あります。すべて回答してから送信してください。")
    answers = response.answer_map()
    response.submit(answers, canonical_sha256(answers))
    invitation.mark_submitted()
    invitation.last_opened_at = utcnow()
    engagement = invitation.engagement
    engagement.move_to("submitted")
    assessment = score_response(invitation)
    audit.record(
        "response.submit", "response", response.id, organisation_id=engagement.organisation_id,
        actor=f"contractor:invitation:{invitation.id}",
        data={"answers_sha256": response.answers_sha256, "score": assessment.score, "rating": assessment.rating},
    )
    return assessment


def score_response(invitation: Invitation) -> Assessment:
    engagement = invitation.engagement
    response = _response_of(invitation)
    thresholds = (engagement.organisation.settings or {}).get("thresholds")
    as_of = (response.submitted_at or utcnow()).date()
    result = scoring.score(
        invitation_questionnaires(invitation), response.answer_map(), engagement.profile(),
        thresholds=thresholds, as_of=as_of,
    )
    assessment = Assessment(
        engagement_id=engagement.id, response_id=response.id, score=result.score, rating=result.rating,
        inherent_risk=result.inherent_risk, result=result.to_json(),
    )
    db.session.add(assessment)
    db.session.flush()
    return assessment
