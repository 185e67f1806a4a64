"""Invitations: send one (the link and its mail), find one by its token, revoke one."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from ..adapters.mail import DeliveryResult, OutgoingMail, deliver
from ..domain import questionnaire as qdef
from ..domain.vocabulary import JST
from ..domain.wareki import long_date
from ..extensions import db
from ..models import Answer, Engagement, Invitation, InvitationQuestionnaire, Response, StateError, User, utcnow
from . import audit, organisation_settings
from .definitions import current_definitions, store_version
from .unit_of_work import Pending, after_commit


class DueDateRefused(StateError):
    """A deadline that cannot be used (passed, too far, a closed day); the message is Japanese."""


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
    from .mails import compose, contact_line, sender_of

    org = engagement.organisation
    preparation = preparation_for(engagement, definitions)
    subject, body = compose(org, "invitation", {
        "recipient_name": invitation.recipient_name or engagement.vendor.name,
        "vendor_name": engagement.vendor.name, "engagement_title": engagement.title,
        "engagement_reference": engagement.reference, "due_date": long_date(invitation.due_date), "link": link,
        "questionnaires": "、".join(q.title_ja for q in definitions), "policy_title": org.policy_title,
        "clause_number": org.clause_number, "clause_title": org.clause_title,
        "self_reference": org.self_reference, "minutes": preparation.minutes, "question_count": preparation.questions,
        "documents": "、".join(preparation.documents) or "なし",
        "contact": contact_line(invitation),
    })
    return OutgoingMail(to=invitation.recipient_email, subject=subject, body=body, sender=sender_of(org))


def due_day(engagement: Engagement, *, due_on: dt.date | None = None, open_days: int | None = None,
            today: dt.date | None = None) -> dt.date:
    """The deadline: the chosen day, else `open_days` 開庁日 (the organisation's default) after today.

    Raises DueDateRefused (Japanese) for a day that has passed or on which the office is closed."""
    org = engagement.organisation
    calendar = organisation_settings.office_calendar(org)
    today = today or utcnow().astimezone(JST).date()
    if due_on is None:
        count = open_days or organisation_settings.deadline_settings(org).open_days
        return calendar.add_open_days(today, count)
    if due_on <= today:
        raise DueDateRefused("回答期限には明日以降の日を指定してください。")
    if due_on > today + dt.timedelta(days=366):
        raise DueDateRefused("回答期限は1年以内の日を指定してください。")
    closed = calendar.closed_because(due_on)
    if closed:
        raise DueDateRefused(f"{long_date(due_on)}は{closed}のため閉庁日です。開庁日を回答期限にしてください。")
    return due_on


def end_of_day(day: dt.date) -> dt.datetime:
    """The first instant after `day` in JST (when a link due that day stops working), in UTC."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), JST).astimezone(dt.UTC)


def send_invitation(
    engagement: Engagement, *, recipient_email: str, recipient_name: str = "", user: User | None = None,
    due_on: dt.date | None = None, open_days: int | None = None, contact_department: str = "",
    contact_phone: str = "",
) -> SentInvitation:
    """A new invitation (replacing any open one) with the questionnaires frozen, and its mail.

    `user` is the sender (recorded and audited; None for the system). The deadline is `due_on` or
    `open_days` 開庁日 from today (`due_day`); the link works until the end of that day (JST).
    The mail is not sent here: call `mail_after_commit` (the web) or leave it (the demo)."""
    if not engagement.can_move_to("invited"):
        raise StateError("この案件は回答が提出済みのため、新しい回答依頼は送れません。")
    if engagement.archived_at is not None:
        raise StateError("アーカイブされた案件には回答依頼を送れません。元に戻してから送ってください。")
    due = due_day(engagement, due_on=due_on, open_days=open_days)
    definitions = _definitions_for(engagement)
    for earlier in engagement.invitations:
        if earlier.state == "open":
            earlier.revoke()
    token = secrets.token_urlsafe(32)  # 256 bits
    invitation = Invitation(
        token_hash=Invitation.hash_token(token), recipient_email=recipient_email, recipient_name=recipient_name,
        due_on=due, expires_at=end_of_day(due), created_by_id=user.id if user else None,
        contact_department=contact_department, contact_phone=contact_phone,
        contact_name=user.name if user else "", contact_email=user.email if user else "",
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
    engagement.needs_new_invitation = False
    db.session.flush()
    if previous:
        # After a 差戻し the contractor starts from what they answered last time, not from an empty form.
        invitation.response.answers.extend(
            Answer(question_id=qid, value=value, version=1) for qid, value in previous.items() if value is not None
        )
        db.session.flush()
        carried = 0
    else:
        from .answers import prefill_from_last_approved  # answers reads the definitions frozen above

        carried = prefill_from_last_approved(invitation)
    link = portal_link(token)
    audit.record(
        "invitation.send", "invitation", invitation.id, organisation_id=engagement.organisation_id,
        actor=user or audit.SYSTEM,
        data={"engagement": engagement.reference, "to": recipient_email, "carried_over": carried,
              "questionnaires": [f"{q.id}@{q.version}" for q in definitions], "due_on": due.isoformat()},
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
    wanted = end_of_day(until + dt.timedelta(days=7))
    link = None
    if not invitation.is_usable():
        token = secrets.token_urlsafe(32)
        invitation.token_hash = Invitation.hash_token(token)
        link = portal_link(token)
    invitation.expires_at = max(invitation.expires_at, wanted)
    return link


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

        jobs.enqueue_mail(mail.to, mail.subject, mail.body, key=key, organisation_id=organisation_id,
                          sender=mail.sender)
        return after_commit(lambda: DeliveryResult(eml_path=None, smtp_sent=False, queued=True))
    return after_commit(lambda: deliver(mail, config))


class Expired(NotFound):
    """The token is right but its link has expired (not revoked): the portal says so, and whom to ask."""

    def __init__(self, invitation: Invitation):
        super().__init__()
        self.invitation = invitation


# Every portal request: built once (building it and its cache key cost as much as running it), and
# with the response and the engagement every portal page reads (one statement instead of three).
_BY_TOKEN = (select(Invitation).where(Invitation.token_hash == bindparam("token_hash"))
             .options(joinedload(Invitation.response), joinedload(Invitation.engagement)))


def invitation_for_token(token: str) -> Invitation:
    """The usable invitation behind a token; Expired for a right token past its date, NotFound for
    a wrong or revoked one (neutral)."""
    if not token or len(token) > 200:
        raise NotFound()
    invitation = db.session.scalar(_BY_TOKEN, {"token_hash": Invitation.hash_token(token)})
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
    from .mails import contractor_mails

    (mail,) = contractor_mails(invitation, "handover", {
        "delegate_name": name, "link": link, "self_reference": engagement.organisation.self_reference,
        "recipient_name": invitation.recipient_name or invitation.recipient_email,  # who handed it over
    }, to=[email])
    return mail


def revoke_invitation(invitation: Invitation, *, actor: audit.Actor = audit.SYSTEM, reason: str = "") -> None:
    invitation.revoke()
    engagement = invitation.engagement
    if engagement.current_invitation() is None and engagement.state == "invited":
        engagement.move_to("draft")
    audit.record("invitation.revoke", "invitation", invitation.id, organisation_id=engagement.organisation_id,
                 actor=actor, data={"engagement": engagement.reference, **({"reason": reason} if reason else {})})


@dataclass
class HistoryEntry:
    at: dt.datetime
    what: str  # Japanese: 送信, 開封, 取消, 提出 ...
    who: str = ""
    note: str = ""


@dataclass
class InvitationHistory:
    invitation: Invitation
    entries: list[HistoryEntry]


REMINDER_ACTIONS = ("invitation.remind", "invitation.reminder")
# Mails `vendorrisk reminders send` logged for an invitation, as the history names them.
MAIL_LOG_LABELS = {
    "reminder_before": "お知らせを送信（回答期限の前）",
    "reminder_after": "お知らせを送信（回答期限の後）",
    "staff_submitted": "提出を職員に通知",
}


def _history_events(engagement: Engagement, items: list[Invitation]) -> dict[str, list[Any]]:
    """The audit events of these invitations, by invitation id (as the audit log stores it)."""
    from ..models import AuditEvent

    events: dict[str, list[AuditEvent]] = {}
    for event in db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.organisation_id == engagement.organisation_id, AuditEvent.object_type == "invitation",
            AuditEvent.object_id.in_([str(i.id) for i in items]),
        ).order_by(AuditEvent.id)
    ):
        events.setdefault(event.object_id, []).append(event)
    return events


def _history_mails(items: list[Invitation]) -> dict[int, list[Any]]:
    """The reminders and notices logged for these invitations, by invitation id."""
    from ..models import MailLog

    mails: dict[int, list[MailLog]] = {}
    for mail in db.session.scalars(
        select(MailLog).where(MailLog.invitation_id.in_([i.id for i in items]),
                              MailLog.kind.in_(list(MAIL_LOG_LABELS))).order_by(MailLog.id)
    ):
        assert mail.invitation_id is not None
        mails.setdefault(mail.invitation_id, []).append(mail)
    return mails


def _history_entries(invitation: Invitation, own: list[Any], mails: list[Any],
                     names: Any) -> list[HistoryEntry]:
    by_action = {e.action: e for e in own}
    sent_by = by_action.get("invitation.send")
    entries = [HistoryEntry(invitation.created_at, "送信", names(sent_by.actor) if sent_by else "",
                            f"{invitation.recipient_name + ' 様 ' if invitation.recipient_name else ''}"
                            f"{invitation.recipient_email}")]
    if invitation.last_opened_at:
        entries.append(HistoryEntry(invitation.last_opened_at, "回答者が開いた（最後）"))
    entries += [HistoryEntry(e.at, "催促", names(e.actor)) for e in own if e.action in REMINDER_ACTIONS]
    entries += [HistoryEntry(m.sent_at or m.created_at, MAIL_LOG_LABELS[m.kind], "自動", m.recipient) for m in mails]
    if invitation.revoked_at:
        revoked = by_action.get("invitation.revoke")
        entries.append(HistoryEntry(invitation.revoked_at, "取消", names(revoked.actor) if revoked else "",
                                    str(revoked.data.get("reason", "")) if revoked else ""))
    response = invitation.response
    if response is not None and response.submitted_at:
        entries.append(HistoryEntry(response.submitted_at, "提出", "回答者"))
    entries.sort(key=lambda entry: entry.at)
    return entries


def invitation_history(engagement: Engagement) -> list[InvitationHistory]:
    """Every invitation of the engagement, newest first, with what happened to it: sent, opened,
    reminded, revoked, submitted (from the invitation rows, their audit events and the mail log)."""
    items = list(reversed(engagement.invitations))
    if not items:
        return []
    events, mails = _history_events(engagement, items), _history_mails(items)
    names = audit.actor_names(engagement.organisation_id)
    return [InvitationHistory(invitation, _history_entries(invitation, events.get(str(invitation.id), []),
                                                           mails.get(invitation.id, []), names))
            for invitation in items]
