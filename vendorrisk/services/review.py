"""Review: the reviewer's decision on a scored response."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import Assessment, Engagement, StateError, User, utcnow
from . import audit, engagements


def decide(assessment: Assessment, decision: str, user: User, note: str = "") -> None:
    """Approve or reject (差戻し); `user` is the reviewer and the actor."""
    engagement = db.session.get(Engagement, assessment.engagement_id)
    assert engagement is not None
    if engagement.organisation_id != user.organisation_id:
        raise StateError("他の団体の案件は審査できません。")
    assessment.decide(decision, user, note)
    # After 差戻し procurement may invite the contractor again; the old answers stay on record.
    engagement.move_to("approved" if decision == "approved" else "rejected")
    if decision == "approved" and engagement.review_on is None:
        engagement.review_on = engagements.a_year_after(assessment.decided_at or utcnow())
    audit.record(
        f"assessment.{decision}", "assessment", assessment.id, organisation_id=engagement.organisation_id,
        actor=user, data={"engagement": engagement.reference, "note": note},
    )


def latest_assessment(engagement: Engagement) -> Assessment | None:
    return db.session.scalar(
        select(Assessment).filter_by(engagement_id=engagement.id).order_by(Assessment.id.desc()).limit(1)
    )
