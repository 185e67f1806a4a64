"""Invitations: send one (the link and its mail), find one by its token, revoke one."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from flask import current_app, render_template
from sqlalchemy import select

from ..adapters.mail import DeliveryResult, OutgoingMail, deliver
from ..domain import questionnaire as qdef
from ..extensions import db
from ..models import Engagement, Invitation, InvitationQuestionnaire, Response, StateError, User, utcnow
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


@dataclass(frozen=True)
class Contact:
    """The municipal contact a contractor asks (department, person, phone, mail)."""

    department: str
    name: str
    phone: str
    email: str

    def rows(self) -> list[tuple[str, str]]:
        """(label, value) for each known item, in the order the portal and the mails show them."""
        rows = [("担当課", self.department), ("担当者", self.name), ("電話番号", self.phone),
                ("メールアドレス", self.email)]
        return [(label, value) for label, value in rows if value]


def contact_of(invitation: Invitation) -> Contact:
    """The contact recorded on the invitation; the sender's name and mail for older invitations."""
    sender = db.session.get(User, invitation.created_by_id) if invitation.created_by_id else None
    return Contact(
        department=invitation.contact_department,
        name=invitation.contact_name or (sender.name if sender else ""),
        phone=invitation.contact_phone,
        email=invitation.contact_email or (sender.email if sender else ""),
    )


MINUTES_PER_QUESTION = 1.5  # measured on the demo banks: a considered yes/no or a short text


@dataclass(frozen=True)
class Preparation:
    """What a contractor should know before starting: how long, and which documents to have at hand."""

    questions: int
    minutes: int
    documents: list[str]


def preparation_for(engagement: Engagement, definitions: list[qdef.Questionnaire]) -> Preparation:
    """The time estimate and the documents to prepare (the bank's file questions), for this profile."""
    profile = engagement.profile()
    questions = [q for d in definitions for q in d.applicable(profile)]
    minutes = max(10, int(-(-len(questions) * MINUTES_PER_QUESTION // 10) * 10))  # rounded up to 10 minutes
    documents = [engagement.organisation.localize(q.text_ja) for q in questions if q.type == "file"]
    return Preparation(questions=len(questions), minutes=minutes, documents=documents)


def _invitation_mail(engagement: Engagement, invitation: Invitation, link: str,
                     definitions: list[qdef.Questionnaire]) -> OutgoingMail:
    return OutgoingMail(
        to=invitation.recipient_email,
        subject=f"【{engagement.organisation.name}】情報セキュリティに関する確認のお願い（{engagement.title}）",
        body=render_template(
            "emails/invitation.txt", engagement=engagement, invitation=invitation, link=link,
            questionnaires=definitions, contact=contact_of(invitation),
            preparation=preparation_for(engagement, definitions),
        ),
    )


def send_invitation(
    engagement: Engagement, *, recipient_email: str, recipient_name: str = "", user: User | None = None,
    days: int | None = None, contact_department: str = "", contact_phone: str = "",
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
        contact_department=contact_department, contact_phone=contact_phone,
        contact_name=user.name if user else "", contact_email=user.email if user else "",
    )
    engagement.invitations.append(invitation)
    db.session.flush()
    for position, q in enumerate(definitions):
        invitation.questionnaire_links.append(
            InvitationQuestionnaire(questionnaire_version_id=store_version(q).id, position=position)
        )
    invitation.response = Response()
    engagement.move_to("invited")
    db.session.flush()
    from .answers import prefill_from_last_approved  # answers reads the definitions frozen above

    carried = prefill_from_last_approved(invitation)
    link = portal_link(token)
    audit.record(
        "invitation.send", "invitation", invitation.id, organisation_id=engagement.organisation_id,
        actor=user or audit.SYSTEM,
        data={"engagement": engagement.reference, "to": recipient_email, "carried_over": carried,
              "questionnaires": [f"{q.id}@{q.version}" for q in definitions]},
    )
    return SentInvitation(invitation, token, link, _invitation_mail(engagement, invitation, link, definitions))


def deliver_mail(mail: OutgoingMail) -> DeliveryResult:
    """Write the .eml to the outbox and send it by SMTP when configured. Call after the commit."""
    return deliver(mail, current_app.config)


def mail_after_commit(sent: SentInvitation) -> Pending[DeliveryResult]:
    """Deliver the invitation mail once the invitation is committed (never for a rolled-back one)."""
    return send_after_commit(sent.mail, key=f"mail:invitation:{sent.invitation.id}",
                             organisation_id=sent.invitation.engagement.organisation_id)


def send_after_commit(mail: OutgoingMail, *, key: str, organisation_id: int | None) -> Pending[DeliveryResult]:
    """Deliver a mail once the unit of work is committed (never for a rolled-back one).

    With REDIS_URL the mail is a job on the queue (retried with backoff by the worker); without it
    it is written and sent right after the commit, and the page can say whether SMTP took it."""
    config = dict(current_app.config)
    if config.get("REDIS_URL"):
        from . import jobs

        jobs.enqueue_mail(mail.to, mail.subject, mail.body, key=key, organisation_id=organisation_id)
        return after_commit(lambda: DeliveryResult(eml_path=None, smtp_sent=False, queued=True))
    return after_commit(lambda: deliver(mail, config))


class Expired(NotFound):
    """The token is right but its link has expired (not revoked): the portal says so, and whom to ask."""

    def __init__(self, invitation: Invitation):
        super().__init__()
        self.invitation = invitation


def invitation_for_token(token: str) -> Invitation:
    """The usable invitation behind a token; Expired for a right token past its date, NotFound for
    a wrong or revoked one (neutral)."""
    if not token or len(token) > 200:
        raise NotFound()
    invitation = db.session.scalar(select(Invitation).filter_by(token_hash=Invitation.hash_token(token)))
    if invitation is None or invitation.state == "revoked":
        raise NotFound()
    if not invitation.is_usable():
        raise Expired(invitation)
    return invitation


def hand_over(invitation: Invitation, *, name: str, email: str, link: str) -> OutgoingMail:
    """The contractor hands the link to a colleague: recorded on the invitation (a second named
    contact, who also gets the confirmation and expiry mails) and in the audit log; the mail that
    brings the colleague the link is returned (send it after the commit)."""
    if invitation.state != "open":
        raise StateError("回答は送信済みのため、引き継ぐ必要はありません。")
    engagement = invitation.engagement
    previous = invitation.delegate_email
    invitation.delegate_name, invitation.delegate_email = name, email
    audit.record(
        "invitation.handover", "invitation", invitation.id, organisation_id=engagement.organisation_id,
        actor=f"contractor:invitation:{invitation.id}",
        data={"from": invitation.recipient_email, "to": email, "to_name": name, "replaces": previous},
    )
    return OutgoingMail(
        to=email,
        subject=f"【{engagement.organisation.name}】情報セキュリティに関する確認の引継ぎ（{engagement.title}）",
        body=render_template("emails/handover.txt", engagement=engagement, invitation=invitation, link=link,
                             contact=contact_of(invitation)),
    )


EXPIRY_NOTICE_DAYS = 3


def warn_expiring(now: dt.datetime | None = None) -> list[OutgoingMail]:
    """For each open invitation whose link expires within three days and was not warned yet: the
    mail saying so (to the recipient and the colleague it was handed to), and the warning recorded.
    The link itself is not in the mail (only its hash is stored): the earlier mail holds it."""
    now = now or utcnow()
    due = db.session.scalars(
        select(Invitation).where(
            Invitation.state == "open", Invitation.expiry_warned_at.is_(None), Invitation.expires_at > now,
            Invitation.expires_at <= now + dt.timedelta(days=EXPIRY_NOTICE_DAYS),
        ).order_by(Invitation.id)
    ).all()
    mails = []
    for invitation in due:
        engagement = invitation.engagement
        invitation.expiry_warned_at = now
        body = render_template("emails/expiring.txt", engagement=engagement, invitation=invitation,
                               contact=contact_of(invitation))
        subject = f"【{engagement.organisation.name}】回答の期限が近づいています（{engagement.title}）"
        for to in dict.fromkeys(x for x in (invitation.recipient_email, invitation.delegate_email) if x):
            mails.append(OutgoingMail(to=to, subject=subject, body=body))
        audit.record("invitation.expiry_warning", "invitation", invitation.id,
                     organisation_id=engagement.organisation_id, actor=audit.SYSTEM,
                     data={"expires_at": invitation.expires_at.isoformat()})
    return mails


def revoke_invitation(invitation: Invitation, *, actor: audit.Actor = audit.SYSTEM) -> None:
    invitation.revoke()
    engagement = invitation.engagement
    if engagement.current_invitation() is None and engagement.state == "invited":
        engagement.move_to("draft")
    audit.record("invitation.revoke", "invitation", invitation.id, organisation_id=engagement.organisation_id,
                 actor=actor)
