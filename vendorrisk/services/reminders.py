"""Reminders and staff notices: what `vendorrisk reminders send` mails, once each.

For each organisation, counted in its 開庁日 (`organisation_settings.office_calendar`):
- the contractor (and the colleague the answering was handed to), N 開庁日 before the deadline of
  an open invitation and M 開庁日 after it (N and M per organisation; 0 turns one off);
- the procurement officer who sent the invitation, when the answers are submitted;
- the organisation's reviewers, on each 開庁日 while submitted answers wait for their decision;
- the procurement officer, when the 是正 deadline of a finding of an approved assessment passes;
- the procurement officer, when an approved engagement's 次回の再評価日 is REVIEW_NOTICE_OPEN_DAYS
  開庁日 away, and again once it has passed;
- the procurement officer, when a certificate or ISMAP registration given in the approved answers
  expires within CERTIFICATE_NOTICE_DAYS, and again once it has expired.

Every mail is claimed in `mail_log` under a unique dedupe key, in the same transaction that queues
its delivery job: a second run, or two runs at once, find the key taken and send nothing again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..domain.questionnaire import ANSWER_TYPES, AnswerError
from ..domain.vocabulary import JST
from ..domain.wareki import date_time, long_date
from ..extensions import db
from ..models import Assessment, Engagement, Invitation, MailLog, Organisation, Response, User, utcnow
from . import jobs, organisation_settings
from .mails import compose, contractor_addressees, contractor_context, sender_of
from .unit_of_work import abandon, complete

SUBMITTED_WITHIN = dt.timedelta(days=7)  # a submission older than this when first seen is not announced
LATE_WITHIN = dt.timedelta(days=30)  # an after-deadline reminder or 是正 notice this late is not sent
REVIEW_NOTICE_OPEN_DAYS = 20  # 開庁日 before the 次回の再評価日
CERTIFICATE_NOTICE_DAYS = 60  # days before a certificate's expiry date
# Questions of the banks whose (date) answer is when a certificate or registration expires.
CERTIFICATE_EXPIRY_QUESTIONS = {
    "out.select.isms_expiry": "ISMS認証",
    "out.select.pmark_expiry": "プライバシーマーク",
    "ch.ismap.expiry": "ISMAP登録",
}
SOON, PASSED = "が近づいています", "を過ぎました"


@dataclass(frozen=True)
class PlannedMail:
    organisation_id: int
    kind: str
    key: str
    recipient: str
    subject: str
    body: str
    sender: str
    engagement_id: int | None = None
    invitation_id: int | None = None


def _base_url() -> str:
    from ..serving import public_base_url

    return public_base_url()


def _plan(org: Organisation, kind: str, key: str, recipient: str, context: dict[str, Any],
          engagement: Engagement | None = None, invitation: Invitation | None = None) -> PlannedMail:
    subject, body = compose(org, kind, context)
    return PlannedMail(org.id, kind, key, recipient, subject, body, sender_of(org),
                       engagement.id if engagement else None, invitation.id if invitation else None)


def _contractor_reminders(org: Organisation, today: dt.date) -> Iterator[PlannedMail]:
    settings = organisation_settings.deadline_settings(org)
    calendar = organisation_settings.office_calendar(org)
    open_invitations = db.session.scalars(
        select(Invitation).join(Engagement).where(Engagement.organisation_id == org.id, Invitation.state == "open")
        .order_by(Invitation.id)
    )
    for invitation in open_invitations:
        due = invitation.due_date
        sent_on = invitation.created_at.astimezone(JST).date()
        if settings.remind_before:
            target = calendar.add_open_days(due, -settings.remind_before)
            if sent_on < target <= today <= due:
                yield from _to_contractor(org, "reminder_before", invitation)
        if settings.remind_after:
            target = calendar.add_open_days(due, settings.remind_after)
            if target <= today <= target + LATE_WITHIN:
                yield from _to_contractor(org, "reminder_after", invitation)


def _to_contractor(org: Organisation, kind: str, invitation: Invitation) -> Iterator[PlannedMail]:
    """The reminder to the recipient and to the colleague the answering was handed to (its own key)."""
    key = f"{kind}:{invitation.id}:{invitation.due_date.isoformat()}"
    for n, (address, name) in enumerate(contractor_addressees(invitation)):
        yield _plan(org, kind, key if n == 0 else f"{key}:{address}", address,
                    contractor_context(invitation, name), invitation.engagement, invitation)


def _staff(org: Organisation, role: str) -> list[User]:
    return list(db.session.scalars(
        select(User).where(User.organisation_id == org.id, User.role == role, User.active.is_(True)).order_by(User.id)
    ))


def _officers_of(invitation: Invitation) -> list[User]:
    """The procurement officer who sent the invitation, else the organisation's procurement staff."""
    sender = db.session.get(User, invitation.created_by_id) if invitation.created_by_id else None
    if sender is not None and sender.active:
        return [sender]
    return _staff(invitation.engagement.organisation, "procurement")


def _engagement_url(engagement: Engagement) -> str:
    return f"{_base_url()}/staff/engagements/{engagement.id}"


def _submissions(org: Organisation, now: dt.datetime) -> Iterator[PlannedMail]:
    submitted = db.session.scalars(
        select(Invitation).join(Engagement).join(Response, Response.invitation_id == Invitation.id)
        .where(Engagement.organisation_id == org.id, Response.state == "submitted",
               Response.submitted_at >= now - SUBMITTED_WITHIN)
        .order_by(Invitation.id)
    )
    for invitation in submitted:
        engagement = invitation.engagement
        assert invitation.response is not None
        for user in _officers_of(invitation):
            yield _plan(org, "staff_submitted", f"staff_submitted:{invitation.id}:{user.id}", user.email, {
                "staff_name": user.name, "engagement_title": engagement.title,
                "engagement_reference": engagement.reference, "vendor_name": engagement.vendor.name,
                "submitted_at": date_time(invitation.response.submitted_at),
                "engagement_url": _engagement_url(engagement),
            }, engagement, invitation)


def _awaiting_decisions(org: Organisation, today: dt.date) -> Iterator[PlannedMail]:
    if not organisation_settings.office_calendar(org).is_open(today):
        return
    waiting = db.session.scalars(
        select(Assessment).join(Engagement, Assessment.engagement_id == Engagement.id)
        .where(Engagement.organisation_id == org.id, Assessment.decision.is_(None)).order_by(Assessment.id)
    ).all()
    if not waiting:
        return
    items = []
    for assessment in waiting:
        engagement = db.session.get(Engagement, assessment.engagement_id)
        assert engagement is not None
        items.append({"reference": engagement.reference, "title": engagement.title,
                      "vendor": engagement.vendor.name, "submitted": long_date(assessment.created_at)})
    for user in _staff(org, "reviewer"):
        yield _plan(org, "staff_awaiting", f"staff_awaiting:{org.id}:{user.id}:{today.isoformat()}", user.email, {
            "staff_name": user.name, "count": len(items), "items": items,
            "queue_url": f"{_base_url()}/staff/review-queue",
        })


def _passed_deadlines(assessment: Assessment, today: dt.date) -> list[tuple[dt.date, str]]:
    """(deadline, what) of the 是正 a decision asks for whose deadline has passed (at most LATE_WITHIN ago):
    the 是正事項 of a 条件付承認 not yet closed, or else the findings' own deadlines."""
    if assessment.remediations:
        return [(r.deadline, r.obligation) for r in assessment.remediations
                if r.state != "closed" and r.deadline < today <= r.deadline + LATE_WITHIN]
    passed = []
    for finding in (assessment.result or {}).get("findings") or []:
        deadline = dt.date.fromisoformat(finding["deadline"]) if finding.get("deadline") else None
        if deadline is not None and deadline < today <= deadline + LATE_WITHIN:
            passed.append((deadline, str(finding.get("question_text") or "")))
    return passed


def _remediation_deadlines(org: Organisation, today: dt.date) -> Iterator[PlannedMail]:
    """Approved or conditionally approved assessments whose 是正 deadline has passed."""
    approved = db.session.scalars(
        select(Assessment).join(Engagement, Assessment.engagement_id == Engagement.id)
        .where(Engagement.organisation_id == org.id, Assessment.decision.in_(("approved", "conditional")))
        .order_by(Assessment.id)
    )
    for assessment in approved:
        passed = _passed_deadlines(assessment, today)
        if not passed:
            continue
        engagement = db.session.get(Engagement, assessment.engagement_id)
        invitation = assessment.response.invitation
        assert engagement is not None
        latest = max(d for d, _ in passed)
        for user in _officers_of(invitation):
            yield _plan(org, "staff_remediation", f"staff_remediation:{assessment.id}:{latest.isoformat()}:{user.id}",
                        user.email, {
                            "staff_name": user.name, "engagement_title": engagement.title,
                            "engagement_reference": engagement.reference, "vendor_name": engagement.vendor.name,
                            "findings": [{"question": org.localize(q), "deadline": long_date(d)}
                                         for d, q in sorted(passed)],
                            "engagement_url": _engagement_url(engagement),
                        }, engagement, invitation)


def _procurement_of(engagement: Engagement) -> list[User]:
    invitation = engagement.invitations[-1] if engagement.invitations else None
    return _officers_of(invitation) if invitation is not None else _staff(engagement.organisation, "procurement")


def _approved_engagements(org: Organisation) -> list[Engagement]:
    return list(db.session.scalars(
        select(Engagement).where(Engagement.organisation_id == org.id, Engagement.state == "approved",
                                 Engagement.archived_at.is_(None)).order_by(Engagement.id)
    ))


def _stage(due: dt.date, notice_from: dt.date, today: dt.date) -> str | None:
    """SOON from `notice_from` to `due`, PASSED after it (for LATE_WITHIN), else None."""
    if notice_from <= today <= due:
        return SOON
    if due < today <= due + LATE_WITHIN:
        return PASSED
    return None


def _engagement_context(engagement: Engagement, user: User) -> dict[str, Any]:
    return {"staff_name": user.name, "engagement_title": engagement.title,
            "engagement_reference": engagement.reference, "vendor_name": engagement.vendor.name,
            "engagement_url": _engagement_url(engagement)}


def _review_dates(org: Organisation, today: dt.date) -> Iterator[PlannedMail]:
    """Approved engagements whose 次回の再評価日 is near (in 開庁日) or has passed."""
    calendar = organisation_settings.office_calendar(org)
    for engagement in _approved_engagements(org):
        due = engagement.review_on
        if due is None:
            continue
        stage = _stage(due, calendar.add_open_days(due, -REVIEW_NOTICE_OPEN_DAYS), today)
        if stage is None:
            continue
        step = "soon" if stage == SOON else "passed"
        for user in _procurement_of(engagement):
            yield _plan(org, "staff_review_due", f"staff_review_due:{engagement.id}:{due.isoformat()}:{step}:{user.id}",
                        user.email, {**_engagement_context(engagement, user), "review_date": long_date(due),
                                     "status": stage}, engagement)


def _expiry_dates(answers: dict[str, Any]) -> Iterator[tuple[str, str, dt.date]]:
    for question_id, certificate in CERTIFICATE_EXPIRY_QUESTIONS.items():
        try:
            day = ANSWER_TYPES["date"].normalize(answers.get(question_id))
        except AnswerError:
            continue  # not a date: nothing to remind of
        if day:
            yield question_id, certificate, dt.date.fromisoformat(day)


def _certificate_expiries(org: Organisation, today: dt.date) -> Iterator[PlannedMail]:
    """Certificates and ISMAP registrations, given in an approved engagement's answers, about to expire."""
    for engagement in _approved_engagements(org):
        assessment = db.session.scalar(
            select(Assessment).filter_by(engagement_id=engagement.id, decision="approved")
            .order_by(Assessment.id.desc()).limit(1))
        if assessment is None:
            continue
        for question_id, certificate, expiry in _expiry_dates(assessment.response.answer_map()):
            stage = _stage(expiry, expiry - dt.timedelta(days=CERTIFICATE_NOTICE_DAYS), today)
            if stage is None:
                continue
            step = "soon" if stage == SOON else "passed"
            for user in _procurement_of(engagement):
                yield _plan(org, "staff_certificate_expiry",
                            f"staff_certificate_expiry:{assessment.id}:{question_id}:{expiry.isoformat()}:{step}:"
                            f"{user.id}", user.email,
                            {**_engagement_context(engagement, user), "certificate": certificate,
                             "expiry_date": long_date(expiry), "status": stage}, engagement)


def plan(org: Organisation, now: dt.datetime | None = None) -> list[PlannedMail]:
    """Every mail due now for the organisation (claimed or not: `claim` tells)."""
    now = now or utcnow()
    today = now.astimezone(JST).date()
    return [*_contractor_reminders(org, today), *_submissions(org, now), *_awaiting_decisions(org, today),
            *_remediation_deadlines(org, today), *_review_dates(org, today), *_certificate_expiries(org, today)]


def claim(mail: PlannedMail) -> bool:
    """Log the mail under its dedupe key and queue its delivery, in one committed transaction.

    False when the key is already taken (sent by an earlier run, or by a run going on now)."""
    if db.session.scalar(select(MailLog.id).filter_by(dedupe_key=mail.key)) is not None:
        return False
    log = MailLog(organisation_id=mail.organisation_id, engagement_id=mail.engagement_id,
                  invitation_id=mail.invitation_id, kind=mail.kind, recipient=mail.recipient,
                  subject=mail.subject[:300], dedupe_key=mail.key)
    db.session.add(log)
    try:
        db.session.flush()
    except IntegrityError:
        abandon()  # another run claimed it between our look and our insert
        return False
    jobs.enqueue_mail(mail.recipient, mail.subject, mail.body, key=f"mail.log:{log.id}",
                      organisation_id=mail.organisation_id, sender=mail.sender, log_id=log.id)
    try:
        complete()  # commit, then hand the delivery job over (RQ, or inline at once)
    except IntegrityError:
        abandon()
        return False
    return True


def send_for_organisation(org_id: int, now: dt.datetime | None = None) -> int:
    """Claim and queue every mail due for one organisation; the number newly queued."""
    org = db.session.get(Organisation, org_id)
    if org is None:
        return 0
    planned = plan(org, now)
    db.session.commit()  # end the read transaction: each claim is its own short one
    return sum(1 for mail in planned if claim(mail))


def sent_log(organisation_id: int, *, limit: int = 100) -> list[MailLog]:
    return list(db.session.scalars(
        select(MailLog).filter_by(organisation_id=organisation_id).order_by(MailLog.id.desc()).limit(limit)
    ))
