"""Review: the reviewer's decision on a scored response, as a municipality takes it.

承認 / 条件付承認 (with 是正事項: obligations with a deadline in 開庁日, tracked until closed) / 差戻し /
不承認, each by a named reviewer with a reason; the reviewer's own evaluation of a question beside the
automatic one; and, where the organisation requires it, the 決裁 (起案 → 審査 → 承認) before the decision
takes effect and the annex can be issued.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from ..domain import questionnaire as qdef
from ..domain.business_days import OfficeCalendar
from ..domain.scoring import evaluation as automatic_evaluation
from ..domain.vocabulary import APPROVAL_STAGE_LABELS, APPROVAL_STAGES, EVALUATIONS, JST, ROLE_LABELS, ROLES
from ..domain.wareki import long_date
from ..extensions import db
from ..models import (
    ApprovalStep,
    Assessment,
    Engagement,
    EvaluationOverride,
    Invitation,
    Organisation,
    Remediation,
    StateError,
    User,
    utcnow,
)
from . import audit, engagements
from .mails import contractor_mails

MAX_OPEN_DAYS = 250  # about a year of 開庁日


@dataclass(frozen=True)
class RemediationDraft:
    """A 是正事項 as the reviewer wrote it: the obligation and its deadline in 開庁日 from the decision."""

    obligation: str
    open_days: int
    question_id: str = ""
    title: str = ""


def office_calendar(org: Organisation) -> OfficeCalendar:
    """The organisation's 開庁日 calendar (its own closure days in settings["closures"], ISO dates)."""
    closures = (org.settings or {}).get("closures") or []
    try:
        return OfficeCalendar.of(closures)
    except (TypeError, ValueError):
        return OfficeCalendar()


def today_jst() -> dt.date:
    return dt.datetime.now(JST).date()


def _engagement_of(assessment: Assessment, user: User) -> Engagement:
    engagement = db.session.get(Engagement, assessment.engagement_id)
    assert engagement is not None
    if engagement.organisation_id != user.organisation_id:
        raise StateError("他の団体の案件は審査できません。")
    return engagement


def decide(assessment: Assessment, decision: str, user: User, note: str = "",
           remediations: list[RemediationDraft] | tuple[RemediationDraft, ...] = ()) -> None:
    """承認 / 条件付承認 / 差戻し / 不承認 by `user` (the reviewer and the actor), with a reason.

    A 条件付承認 carries its 是正事項. With a 決裁 route, an approval waits for it (in_approval)."""
    engagement = _engagement_of(assessment, user)
    if decision == "conditional" and not remediations:
        raise StateError("条件付承認には、是正事項を1件以上入力してください。")
    for item in remediations:
        if not item.obligation.strip():
            raise StateError("是正事項の内容を入力してください。")
        if not 1 <= item.open_days <= MAX_OPEN_DAYS:
            raise StateError(f"是正の期限は1〜{MAX_OPEN_DAYS}開庁日の範囲で入力してください。")
    assessment.decide(decision, user, note)
    if decision == "conditional":
        today = today_jst()
        calendar = office_calendar(engagement.organisation)
        assessment.remediations.extend(
            Remediation(position=i, question_id=item.question_id, title=item.title[:500],
                        obligation=item.obligation.strip(), open_days=item.open_days,
                        deadline=calendar.add_open_days(today, item.open_days))
            for i, item in enumerate(remediations, start=1)
        )
    route = approval_route(engagement.organisation)
    if decision in ("approved", "conditional") and engagement.review_on is None:
        engagement.review_on = engagements.a_year_after(assessment.decided_at or utcnow())
    audit.record(
        f"assessment.{decision}", "assessment", assessment.id, organisation_id=engagement.organisation_id,
        actor=user, data={"engagement": engagement.reference, "note": note,
                          "remediations": [r.obligation for r in remediations], "route": route},
    )
    if decision in ("approved", "conditional") and route:
        rounds = db.session.scalar(select(func.max(ApprovalStep.round)).filter_by(assessment_id=assessment.id))
        for position, step in enumerate(route, start=1):
            assessment.approval_steps.append(ApprovalStep(
                round=(rounds or 0) + 1, position=position, stage=step["stage"], role=step.get("role"),
                user_id=step.get("user_id"), state="pending", note=""))
        engagement.move_to("in_approval")
        return
    # After 差戻し procurement may invite the contractor again; the old answers stay on record.
    engagement.move_to(decision)
    _take_effect(engagement, assessment)


def _take_effect(engagement: Engagement, assessment: Assessment) -> None:
    """The decision is final: the 是正事項 count their 開庁日 from today and the contractor is told."""
    if assessment.decision != "conditional":
        return
    today = today_jst()
    calendar = office_calendar(engagement.organisation)
    for item in assessment.remediations:
        item.deadline = calendar.add_open_days(today, item.open_days)
    _notify_remediations(engagement, assessment)


def _notify_remediations(engagement: Engagement, assessment: Assessment) -> None:
    from .invitations import renew_link, send_after_commit

    invitation = db.session.get(Invitation, assessment.response.invitation_id)
    if invitation is None:
        return
    last = max(item.deadline for item in assessment.remediations)
    link = renew_link(invitation, last)
    mails = contractor_mails(invitation, "remediation", {
        "remediations": [{"obligation": item.obligation, "deadline": long_date(item.deadline)}
                         for item in assessment.remediations],
        "link": link or "", "link_until": long_date(invitation.usable_until),
    })
    for n, mail in enumerate(mails):
        send_after_commit(mail, key=f"mail:remediation:{assessment.id}" + (f":{n}" if n else ""),
                          organisation_id=engagement.organisation_id)


# --- 決裁 -------------------------------------------------------------------------------------


def approval_route(org: Organisation) -> list[dict[str, Any]]:
    """The organisation's 決裁 steps after the reviewer's 起案 ([] = none): [{stage, role | user_id}]."""
    route = (org.settings or {}).get("approval_route") or []
    return [dict(step) for step in route if isinstance(step, dict) and step.get("stage") in APPROVAL_STAGES]


def set_approval_route(org: Organisation, steps: dict[str, str], actor: User) -> None:
    """`steps`: stage → "" (none), "role:<role>" or "user:<id>" (a user of the organisation)."""
    route: list[dict[str, Any]] = []
    for stage in APPROVAL_STAGES:
        who = steps.get(stage) or ""
        kind, _, value = who.partition(":")
        if kind == "role" and value in ROLES:
            route.append({"stage": stage, "role": value})
        elif kind == "user" and value.isdigit():
            member = db.session.get(User, int(value))
            if member is None or member.organisation_id != org.id:
                raise StateError("決裁者に選べるのは、この団体の利用者だけです。")
            route.append({"stage": stage, "user_id": member.id})
        elif who:
            raise StateError("決裁の担当を選び直してください。")
    org.settings["approval_route"] = route
    audit.record("organisation.approval_route", "organisation", org.id, organisation_id=org.id, actor=actor,
                 data={"route": route})


def step_label(step: ApprovalStep | dict[str, Any]) -> str:
    """「審査：法務・契約担当」「承認：山田 太郎」"""
    stage = step.stage if isinstance(step, ApprovalStep) else step["stage"]
    role = step.role if isinstance(step, ApprovalStep) else step.get("role")
    user_id = step.user_id if isinstance(step, ApprovalStep) else step.get("user_id")
    who = ROLE_LABELS.get(role or "", role or "")
    if user_id:
        person = db.session.get(User, user_id)
        who = person.name if person else "（削除された利用者）"
    return f"{APPROVAL_STAGE_LABELS[stage]}：{who}"


def current_round(assessment: Assessment) -> list[ApprovalStep]:
    if not assessment.approval_steps:
        return []
    last = max(step.round for step in assessment.approval_steps)
    return [step for step in assessment.approval_steps if step.round == last]


def pending_step(assessment: Assessment) -> ApprovalStep | None:
    return next((step for step in current_round(assessment) if step.state == "pending"), None)


def take_step(assessment: Assessment, user: User, *, approve: bool, note: str = "") -> ApprovalStep:
    """The next 決裁 step, by the role or person it names (never the 起案者 nor an earlier step's approver).

    Approving the last step makes the decision take effect; returning sends the 起案 back to the reviewer."""
    engagement = _engagement_of(assessment, user)
    step = pending_step(assessment)
    if engagement.state != "in_approval" or step is None:
        raise StateError("この案件は決裁中ではありません。画面を再読み込みしてください。")
    if not step.may_be_taken_by(user):
        raise StateError(f"この段階（{step_label(step)}）を決裁できるのは、指定された担当者だけです。")
    earlier = {s.decided_by_id for s in current_round(assessment) if s.state == "approved"}
    if user.id == assessment.decided_by_id or user.id in earlier:
        raise StateError("起案者や前の段階の決裁者は、この段階を決裁できません。別の担当者が決裁してください。")
    if not approve and not note.strip():
        raise StateError("差し戻す理由を入力してください。")
    step.state = "approved" if approve else "returned"
    step.decided_by_id = user.id
    step.decided_at = dt.datetime.now(dt.UTC)
    step.note = note
    audit.record(
        "approval.approve" if approve else "approval.return", "assessment", assessment.id, actor=user,
        organisation_id=engagement.organisation_id,
        data={"engagement": engagement.reference, "stage": step.stage, "note": note},
    )
    if not approve:
        for other in current_round(assessment):
            if other.state == "pending":
                assessment.approval_steps.remove(other)
        assessment.remediations.clear()
        assessment.undecide()
        engagement.move_to("submitted")
    elif pending_step(assessment) is None:
        assert assessment.decision is not None
        engagement.move_to(assessment.decision)
        _take_effect(engagement, assessment)
    return step


# --- the reviewer's own evaluation ------------------------------------------------------------


def override_evaluation(assessment: Assessment, question: qdef.Question, evaluation: str, reason: str,
                        user: User) -> EvaluationOverride:
    """Record the reviewer's evaluation of one question, kept beside the automatic one (replacing an earlier
    override of the same question)."""
    engagement = _engagement_of(assessment, user)
    if assessment.decision is not None:
        raise StateError("判定済みの審査の評価は変更できません。")
    if evaluation not in EVALUATIONS:
        raise StateError("評価を選んでください。")
    if not reason.strip():
        raise StateError("評価を変える理由を入力してください。")
    given = assessment.answers if assessment.answers is not None else assessment.response.answer_map()
    automatic = automatic_evaluation(question, given.get(question.id))
    row = next((o for o in assessment.overrides if o.question_id == question.id), None)
    if row is None:
        row = EvaluationOverride(question_id=question.id)
        assessment.overrides.append(row)
    row.automatic, row.evaluation, row.reason, row.user_id = automatic, evaluation, reason.strip(), user.id
    row.created_at = dt.datetime.now(dt.UTC)
    db.session.flush()
    audit.record("assessment.override", "assessment", assessment.id, organisation_id=engagement.organisation_id,
                 actor=user, data={"question": question.id, "automatic": automatic, "evaluation": evaluation,
                                   "reason": reason})
    return row


# --- 是正事項 ---------------------------------------------------------------------------------


def open_remediations(engagement: Engagement) -> list[Remediation]:
    assessment = latest_assessment(engagement)
    return list(assessment.remediations) if assessment is not None and assessment.decision == "conditional" else []


def report_remediation(invitation: Invitation, remediation: Remediation, report: str) -> None:
    """The contractor's 是正報告 on one 是正事項 (through the portal link)."""
    engagement = invitation.engagement
    if engagement.state != "conditional" or remediation.assessment.engagement_id != engagement.id:
        raise StateError("この是正事項には報告できません。")
    remediation.record_report(report)
    audit.record("remediation.report", "remediation", remediation.id, organisation_id=engagement.organisation_id,
                 actor=f"contractor:invitation:{invitation.id}", data={"report": report})


def review_remediation(remediation: Remediation, user: User, *, accepted: bool, note: str = "") -> None:
    """The reviewer closes a reported 是正事項, or asks for more (it is open again)."""
    engagement = _engagement_of(remediation.assessment, user)
    remediation.review(accepted, user, note)
    audit.record("remediation.close" if accepted else "remediation.reopen", "remediation", remediation.id,
                 organisation_id=engagement.organisation_id, actor=user, data={"note": note})


def latest_assessment(engagement: Engagement) -> Assessment | None:
    return db.session.scalar(
        select(Assessment).filter_by(engagement_id=engagement.id).order_by(Assessment.id.desc()).limit(1)
    )
