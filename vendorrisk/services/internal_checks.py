"""The 所管課's internal checklist: the municipality's own questions (``party: municipality``).

Some duties the guideline puts on the municipality itself (listing its official accounts on its
website, reviewing a service's terms, naming an owner per account) are asked here, of procurement,
on the staff engagement page, never through the contractor's link. Each answer is stored with who
gave it and when, and audit-logged. The answers are shown to the reviewer beside the contractor's;
they do not count toward the contractor's rating (the rating is of the contractor).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select

from ..domain import questionnaire as qdef
from ..extensions import db
from ..models import Engagement, InternalCheck, Invitation, User, utcnow
from . import audit
from .definitions import current_definitions, invitation_questionnaires


class ChecklistRefused(Exception):
    """The answer cannot be recorded; the message is Japanese and safe to show."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ChecklistItem:
    questionnaire: qdef.Questionnaire
    question: qdef.Question
    check: InternalCheck | None

    @property
    def display(self) -> str:
        if self.check is None:
            return qdef.UNANSWERED_JA
        return qdef.ANSWER_TYPES[self.question.type].display(self.question, self.check.value)


def _definitions(engagement: Engagement) -> list[qdef.Questionnaire]:
    """The banks of the latest invitation (what the contractor was asked alongside), else the files."""
    latest = db.session.scalar(
        select(Invitation).filter_by(engagement_id=engagement.id).order_by(Invitation.id.desc()).limit(1)
    )
    if latest is not None:
        return invitation_questionnaires(latest)
    try:
        available = current_definitions()
    except qdef.DefinitionError as exc:
        current_app.logger.error("questionnaire definitions are invalid:\n%s", exc)
        return []
    return qdef.select_for_engagement(available, engagement.profile())


def checklist_questions(engagement: Engagement) -> list[tuple[qdef.Questionnaire, qdef.Question]]:
    profile = engagement.profile()
    return [(qn, q) for qn in _definitions(engagement) for q in qn.internal_checklist(profile)]


def checklist(engagement: Engagement) -> list[ChecklistItem]:
    """The engagement's checklist items, in bank order, each with its stored answer (or None)."""
    stored = {
        c.question_id: c
        for c in db.session.scalars(select(InternalCheck).filter_by(engagement_id=engagement.id))
    }
    return [ChecklistItem(qn, q, stored.get(q.id)) for qn, q in checklist_questions(engagement)]


def record_check(engagement: Engagement, question_id: str, raw: Any, *, actor: User) -> InternalCheck:
    """Store (or replace) the municipality's answer to one checklist question, audited."""
    if actor.organisation_id != engagement.organisation_id:
        raise ChecklistRefused("他の団体の案件には記録できません。")
    found = next(((qn, q) for qn, q in checklist_questions(engagement) if q.id == question_id), None)
    if found is None:
        raise ChecklistRefused("この案件の確認項目ではありません。")
    questionnaire, question = found
    try:
        value = qdef.ANSWER_TYPES[question.type].normalize(raw, question)
    except qdef.AnswerError as exc:
        raise ChecklistRefused(str(exc)) from None
    if not qdef.ANSWER_TYPES[question.type].is_answered(value):
        raise ChecklistRefused("回答を入力してください。")
    check = db.session.scalar(select(InternalCheck).filter_by(engagement_id=engagement.id, question_id=question_id))
    previous = check.value if check is not None else None
    if check is None:
        check = InternalCheck(engagement_id=engagement.id, question_id=question_id)
        db.session.add(check)
    check.question_text = question.text_ja
    check.questionnaire_version = questionnaire.version
    check.value = value
    check.answered_by_id = actor.id
    check.answered_at = utcnow()
    db.session.flush()
    audit.record(
        "internal_check.record", "engagement", engagement.id, organisation_id=engagement.organisation_id,
        actor=actor, data={"engagement": engagement.reference, "question": question_id,
                           "value": value, "previous": previous},
    )
    return check
