"""Use cases of the thin path: register, invite, answer, submit, score, review.

Each function changes objects and flushes; the caller (a view or CLI command) commits once and
sends mail only after that commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import current_app, render_template
from sqlalchemy import select

from ..adapters.mail import DeliveryResult, OutgoingMail, deliver
from ..domain import questionnaire as qdef
from ..domain import scoring
from ..extensions import db
from ..models import (
    Answer,
    Assessment,
    Engagement,
    EngagementOfficer,
    Invitation,
    InvitationQuestionnaire,
    Officer,
    Organisation,
    QuestionnaireVersion,
    Response,
    StateError,
    User,
    Vendor,
    utcnow,
)
from ..paths import QUESTIONNAIRES_DIR
from . import audit


class NotFound(Exception):
    """Raised for a bad, expired or revoked token: the caller answers with a neutral 404."""


# --- questionnaire definitions -------------------------------------------------------------


@lru_cache(maxsize=4)
def _load_definitions(directory: str, stamp: tuple[tuple[str, int, int], ...]) -> dict[str, qdef.Questionnaire]:
    return qdef.load_all(Path(directory))


def current_definitions(directory: Path | None = None) -> dict[str, qdef.Questionnaire]:
    """The definitions on disk (config QUESTIONNAIRES_DIR), reloaded when a file changes (mtime)."""
    directory = directory or Path(current_app.config.get("QUESTIONNAIRES_DIR") or QUESTIONNAIRES_DIR)
    stamp = tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in directory.glob("*.yaml")))
    return _load_definitions(str(directory), stamp)


def store_version(q: qdef.Questionnaire) -> QuestionnaireVersion:
    """The frozen row for this definition's content hash, created on first use."""
    row = db.session.scalar(
        select(QuestionnaireVersion).filter_by(questionnaire_id=q.id, version=q.version)
    )
    if row is None:
        row = QuestionnaireVersion(
            questionnaire_id=q.id, version=q.version, kind=q.kind, title=q.title_ja, definition=qdef.freeze(q)
        )
        db.session.add(row)
        db.session.flush()
    return row


def invitation_questionnaires(invitation: Invitation) -> list[qdef.Questionnaire]:
    """The definitions frozen when the invitation was sent (never the files on disk)."""
    return [_thawed(link.questionnaire_version) for link in invitation.questionnaire_links]


# Frozen definitions by content hash: the hash is the content, so one process-wide cache is safe.
_THAWED: dict[str, qdef.Questionnaire] = {}


def _thawed(row: QuestionnaireVersion) -> qdef.Questionnaire:
    if row.version not in _THAWED:
        _THAWED[row.version] = qdef.thaw(row.definition)
    return _THAWED[row.version]


# --- vendors and engagements ---------------------------------------------------------------


def create_vendor(org: Organisation, **fields: Any) -> Vendor:
    vendor = Vendor(organisation_id=org.id, **fields)
    db.session.add(vendor)
    db.session.flush()
    audit.record("vendor.create", "vendor", vendor.id, organisation_id=org.id, data={"name": vendor.name})
    return vendor


def create_engagement(org: Organisation, vendor: Vendor, officer_ids: list[int], **fields: Any) -> Engagement:
    if vendor.organisation_id != org.id:
        raise StateError("他の団体の事業者は指定できません。")
    engagement = Engagement(organisation_id=org.id, vendor_id=vendor.id, **fields)
    db.session.add(engagement)
    db.session.flush()
    officers = db.session.scalars(
        select(Officer).where(Officer.id.in_(officer_ids), Officer.organisation_id == org.id)
    ).all()
    for officer in officers:
        engagement.officer_links.append(EngagementOfficer(officer_id=officer.id))
    db.session.flush()
    audit.record(
        "engagement.create", "engagement", engagement.id, organisation_id=org.id,
        data={"reference": engagement.reference, "kinds": engagement.kinds},
    )
    return engagement


# --- invitations ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SentInvitation:
    invitation: Invitation
    token: str
    link: str
    mail: OutgoingMail


def portal_link(token: str) -> str:
    from ..serving import public_base_url  # BASE_URL, else the address served on

    return f"{public_base_url()}/r/{token}"


def send_invitation(
    engagement: Engagement, *, recipient_email: str, recipient_name: str = "", user: User | None = None,
    days: int | None = None,
) -> SentInvitation:
    if engagement.state in ("submitted", "approved"):
        raise StateError("この案件は回答が提出済みのため、新しい回答依頼は送れません。")
    try:
        available = current_definitions()
    except qdef.DefinitionError as exc:
        current_app.logger.error("questionnaire definitions are invalid:\n%s", exc)
        raise StateError(
            "質問票の定義ファイルに誤りがあるため、回答依頼を送れません。管理者が "
            "`vendorrisk questionnaires check` で確認してください。"
        ) from exc
    definitions = qdef.select_for_engagement(available, engagement.profile())
    if not definitions:
        raise StateError("この案件の種別に合う質問票がありません。")
    # A new invitation replaces any earlier open one.
    for earlier in engagement.invitations:
        if earlier.state == "open":
            earlier.revoke()
    token = secrets.token_urlsafe(32)  # 256 bits
    days = days or int(current_app.config["INVITATION_DAYS"])
    invitation = Invitation(
        token_hash=Invitation.hash_token(token),
        recipient_email=recipient_email,
        recipient_name=recipient_name,
        expires_at=utcnow() + dt.timedelta(days=days),
        created_by_id=user.id if user else None,
    )
    engagement.invitations.append(invitation)
    db.session.flush()
    for position, q in enumerate(definitions):
        invitation.questionnaire_links.append(
            InvitationQuestionnaire(questionnaire_version_id=store_version(q).id, position=position)
        )
    invitation.response = Response()
    engagement.state = "invited"
    db.session.flush()
    link = portal_link(token)
    mail = OutgoingMail(
        to=recipient_email,
        subject=f"【{engagement.organisation.name}】情報セキュリティに関する確認のお願い（{engagement.title}）",
        body=render_template(
            "emails/invitation.txt", engagement=engagement, invitation=invitation, link=link,
            questionnaires=definitions,
        ),
    )
    audit.record(
        "invitation.send", "invitation", invitation.id, organisation_id=engagement.organisation_id,
        data={"engagement": engagement.reference, "to": recipient_email,
              "questionnaires": [f"{q.id}@{q.version}" for q in definitions]},
    )
    return SentInvitation(invitation, token, link, mail)


def deliver_mail(mail: OutgoingMail) -> DeliveryResult:
    """Write the .eml to the outbox and send it by SMTP when configured. Call after the commit."""
    return deliver(mail, current_app.config)


def invitation_for_token(token: str) -> Invitation:
    """The usable invitation behind a token, or NotFound (wrong, expired and revoked alike)."""
    if not token or len(token) > 200:
        raise NotFound()
    invitation = db.session.scalar(select(Invitation).filter_by(token_hash=Invitation.hash_token(token)))
    if invitation is None or not invitation.is_usable():
        raise NotFound()
    return invitation


def revoke_invitation(invitation: Invitation) -> None:
    invitation.revoke()
    engagement = invitation.engagement
    if engagement.current_invitation() is None and engagement.state == "invited":
        engagement.state = "draft"
    audit.record("invitation.revoke", "invitation", invitation.id, organisation_id=engagement.organisation_id)


# --- answering -----------------------------------------------------------------------------


def save_answers(invitation: Invitation, values: dict[str, Any], *, completed_section: str | None = None,
                 section_done: bool | None = None) -> None:
    """Upsert the given answers (already normalised by the form layer)."""
    response = invitation.response
    assert response is not None
    response.ensure_editable()
    existing = {a.question_id: a for a in response.answers}
    for qid, value in values.items():
        if qid in existing:
            existing[qid].value = value
        else:
            response.answers.append(Answer(question_id=qid, value=value))
    if completed_section is not None and section_done is not None:
        done = [s for s in (response.completed_sections or []) if s != completed_section]
        if section_done:
            done.append(completed_section)
        response.completed_sections = done
    response.updated_at = utcnow()
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


def canonical_sha256(data: Any) -> str:
    return hashlib.sha256(
        json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    ).hexdigest()


def submit_response(invitation: Invitation) -> Assessment:
    """Freeze the answers, score them and open the review."""
    response = invitation.response
    assert response is not None
    response.ensure_editable()
    missing = missing_required(invitation)
    if missing:
        raise StateError(f"未回答の必須項目が{len(missing)}件あります。すべて回答してから送信してください。")
    answers = response.answer_map()
    response.frozen_answers = answers
    response.answers_sha256 = canonical_sha256(answers)
    response.state = "submitted"
    response.submitted_at = utcnow()
    invitation.state = "submitted"
    engagement = invitation.engagement
    engagement.state = "submitted"
    assessment = score_response(invitation)
    audit.record(
        "response.submit", "response", response.id, organisation_id=engagement.organisation_id,
        actor=f"contractor:invitation:{invitation.id}",
        data={"answers_sha256": response.answers_sha256, "score": assessment.score, "rating": assessment.rating},
    )
    return assessment


def score_response(invitation: Invitation) -> Assessment:
    engagement = invitation.engagement
    response = invitation.response
    assert response is not None
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


# --- review --------------------------------------------------------------------------------


def decide(assessment: Assessment, decision: str, user: User, note: str = "") -> None:
    engagement = db.session.get(Engagement, assessment.engagement_id)
    assert engagement is not None
    if engagement.organisation_id != user.organisation_id:
        raise StateError("他の団体の案件は審査できません。")
    assessment.decide(decision, user, note)
    # After 差戻し procurement may invite the contractor again; the old answers stay on record.
    engagement.state = "approved" if decision == "approved" else "rejected"
    audit.record(
        f"assessment.{decision}", "assessment", assessment.id, organisation_id=engagement.organisation_id,
        data={"engagement": engagement.reference, "note": note},
    )


def latest_assessment(engagement: Engagement) -> Assessment | None:
    return db.session.scalar(
        select(Assessment).filter_by(engagement_id=engagement.id).order_by(Assessment.id.desc()).limit(1)
    )
