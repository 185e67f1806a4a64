"""Invitations: send one (the link and its mail), find one by its token, revoke one."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from flask import current_app, render_template
from sqlalchemy import select

from ..adapters.mail import DeliveryResult, OutgoingMail, deliver
from ..domain import questionnaire as qdef
from ..extensions import db
from ..models import Answer, Engagement, Invitation, InvitationQuestionnaire, Response, StateError, User, utcnow
from . import audit
from .definitions import current_definitions, store_version
from .unit_of_work import Pending, after_commit


class NotFound(Exception):
    """Raised for a bad, expired or revoked token: the caller answers with a neutral 404."""


@dataclass(frozen=True)
class SentInvitation:
    invitation: Invitation
    token: str
    link: str
    mail: OutgoingMail


def portal_link(token: str) -> str:
    from ..serving import public_base_url  # BASE_URL, else the address served on

    return f"{public_base_url()}/r/{token}"


def _definitions_for(engagement: Engagement) -> list[qdef.Questionnaire]:
    """The questionnaires that fit the engagement's profile, or a StateError saying why none."""
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
    return definitions


def _invitation_mail(engagement: Engagement, invitation: Invitation, link: str,
                     definitions: list[qdef.Questionnaire]) -> OutgoingMail:
    return OutgoingMail(
        to=invitation.recipient_email,
        subject=f"【{engagement.organisation.name}】情報セキュリティに関する確認のお願い（{engagement.title}）",
        body=render_template(
            "emails/invitation.txt", engagement=engagement, invitation=invitation, link=link,
            questionnaires=definitions,
        ),
    )


def send_invitation(
    engagement: Engagement, *, recipient_email: str, recipient_name: str = "", user: User | None = None,
    days: int | None = None,
) -> SentInvitation:
    """A new invitation (replacing any open one) with the questionnaires frozen, and its mail.

    `user` is the sender (recorded and audited; None for the system). The mail is not sent here:
    call `mail_after_commit` (the web) or leave it (the demo)."""
    if not engagement.can_move_to("invited"):
        raise StateError("この案件は回答が提出済みのため、新しい回答依頼は送れません。")
    definitions = _definitions_for(engagement)
    for earlier in engagement.invitations:
        if earlier.state == "open":
            earlier.revoke()
    token = secrets.token_urlsafe(32)  # 256 bits
    days = days or int(current_app.config["INVITATION_DAYS"])
    invitation = Invitation(
        token_hash=Invitation.hash_token(token), recipient_email=recipient_email, recipient_name=recipient_name,
        expires_at=utcnow() + dt.timedelta(days=days), created_by_id=user.id if user else None,
    )
    engagement.invitations.append(invitation)
    db.session.flush()
    for position, q in enumerate(definitions):
        invitation.questionnaire_links.append(
            InvitationQuestionnaire(questionnaire_version_id=store_version(q).id, position=position)
        )
    previous = _previous_answers(engagement)
    invitation.response = Response()
    engagement.move_to("invited")
    db.session.flush()
    # After a 差戻し the contractor starts from what they answered last time, not from an empty form.
    invitation.response.answers.extend(
        Answer(question_id=qid, value=value, version=1) for qid, value in previous.items() if value is not None
    )
    db.session.flush()
    link = portal_link(token)
    audit.record(
        "invitation.send", "invitation", invitation.id, organisation_id=engagement.organisation_id,
        actor=user or audit.SYSTEM,
        data={"engagement": engagement.reference, "to": recipient_email,
              "questionnaires": [f"{q.id}@{q.version}" for q in definitions]},
    )
    return SentInvitation(invitation, token, link, _invitation_mail(engagement, invitation, link, definitions))


def _previous_answers(engagement: Engagement) -> dict[str, Any]:
    """The answers of the engagement's last submitted (or reopened) response, or none."""
    for earlier in reversed(engagement.invitations):
        response = earlier.response
        if response is not None and response.state in ("submitted", "reopened"):
            return response.answer_map()
    return {}


def renew_link(invitation: Invitation, until: dt.date) -> str | None:
    """Keep the contractor's link usable until `until` (JST, end of day) and a week after.

    A link still valid keeps working (its expiry moved later when needed) and None is returned: the
    contractor uses the link of the first mail. An expired link cannot be opened again: a new token
    is made for the same invitation and its link returned (the old one stays dead)."""
    from ..domain.vocabulary import JST

    wanted = dt.datetime.combine(until + dt.timedelta(days=7), dt.time(23, 59), JST).astimezone(dt.UTC)
    link = None
    if not invitation.is_usable():
        token = secrets.token_urlsafe(32)
        invitation.token_hash = Invitation.hash_token(token)
        link = portal_link(token)
    invitation.expires_at = max(invitation.expires_at, wanted)
    return link


def queue_mail(mail: OutgoingMail, *, key: str, organisation_id: int) -> Pending[DeliveryResult]:
    """Deliver a mail once the transaction commits: a queued job with REDIS_URL, else right after it."""
    config = dict(current_app.config)
    if config.get("REDIS_URL"):
        from . import jobs

        jobs.enqueue_mail(mail.to, mail.subject, mail.body, key=key, organisation_id=organisation_id)
        return after_commit(lambda: DeliveryResult(eml_path=None, smtp_sent=False, queued=True))
    return after_commit(lambda: deliver(mail, config))


def deliver_mail(mail: OutgoingMail) -> DeliveryResult:
    """Write the .eml to the outbox and send it by SMTP when configured. Call after the commit."""
    return deliver(mail, current_app.config)


def mail_after_commit(sent: SentInvitation) -> Pending[DeliveryResult]:
    """Deliver the invitation mail once the invitation is committed (never for a rolled-back one).

    With REDIS_URL the mail is a job on the queue (retried with backoff by the worker); without it
    it is written and sent right after the commit, and the page can say whether SMTP took it."""
    return queue_mail(sent.mail, key=f"mail:invitation:{sent.invitation.id}",
                      organisation_id=sent.invitation.engagement.organisation_id)


def invitation_for_token(token: str) -> Invitation:
    """The usable invitation behind a token, or NotFound (wrong, expired and revoked alike)."""
    if not token or len(token) > 200:
        raise NotFound()
    invitation = db.session.scalar(select(Invitation).filter_by(token_hash=Invitation.hash_token(token)))
    if invitation is None or not invitation.is_usable():
        raise NotFound()
    return invitation


def revoke_invitation(invitation: Invitation, *, actor: audit.Actor = audit.SYSTEM) -> None:
    invitation.revoke()
    engagement = invitation.engagement
    if engagement.current_invitation() is None and engagement.state == "invited":
        engagement.move_to("draft")
    audit.record("invitation.revoke", "invitation", invitation.id, organisation_id=engagement.organisation_id,
                 actor=actor)
