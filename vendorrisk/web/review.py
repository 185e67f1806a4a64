"""The reviewer's pages: answers with their evaluations and threads, the decision, clarification,
overrides, the 決裁 steps and the 是正事項 (routes on the staff blueprint)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from ..domain.questionnaire import ANSWER_TYPES, Question, evidence_key, note_key
from ..domain.scoring import evaluation as automatic_evaluation
from ..domain.vocabulary import DECISION_LABELS, EVALUATION_LABELS
from ..domain.wareki import long_date
from ..extensions import db
from ..models import Assessment, Engagement, Invitation, Remediation, StateError
from ..services import answers, clarifications, definitions, internal_checks
from ..services import review as review_service
from ..services.annexes import obligation_wordings
from .auth import roles_required
from .review_forms import (
    ApprovalForm,
    ClarifyForm,
    DecisionForm,
    OverrideForm,
    RemediationReviewForm,
    clarify_form,
    decision_form,
)
from .staff import _edition, bp, org_engagement
from .unit_of_work import refusable

DONE_MESSAGES = {
    "approved": "承認しました。", "conditional": "条件付承認としました。是正事項を事業者にお知らせします。",
    "rejected": "差し戻しました。", "declined": "不承認としました。",
}


def _invitation(assessment: Assessment) -> Invitation:
    invitation = db.session.get(Invitation, assessment.response.invitation_id)
    assert invitation is not None
    return invitation


def _shown_questions(invitation: Invitation, given: dict[str, Any]) -> list[tuple[Any, Any, Question]]:
    visible = answers.visible_ids(invitation, given)
    return [
        (q, section, question)
        for q in definitions.invitation_questionnaires(invitation)
        for section in q.sections
        for question in section.questions
        if question.id in visible
    ]


def answer_rows(assessment: Assessment) -> list[dict[str, Any]]:
    """Every shown question of the submission with its answer, the automatic evaluation and the
    reviewer's override beside it, and the clarification thread about it."""
    invitation = _invitation(assessment)
    response = assessment.response
    given = assessment.answers if assessment.answers is not None else response.answer_map()
    overrides = {o.question_id: o for o in assessment.overrides}
    threads = clarifications.threads(response)
    changes = answers.changes_since_last(invitation) or {}  # a re-assessment: what differs from the last approved
    rows = []
    for questionnaire, section, question in _shown_questions(invitation, given):
        value = given.get(question.id)
        shown = ANSWER_TYPES[question.type].is_answered(value)
        automatic = automatic_evaluation(question, value)
        rows.append({
            "change": changes.get(question.id, ""),
            "questionnaire": questionnaire.title_ja, "section": section.title_ja, "question": question,
            "display": ANSWER_TYPES[question.type].display(question, value) if shown else "未回答",
            "evidence_id": value.get("evidence_id") if question.type == "file" and isinstance(value, dict) else None,
            "automatic": EVALUATION_LABELS.get(automatic or "", ""), "override": overrides.get(question.id),
            "thread": threads.get(question.id), "note": given.get(note_key(question.id)) or "",
            "evidence": given.get(evidence_key(question.id)),
        })
    return rows


def _render(eng: Engagement, assessment: Assessment, *, decision: DecisionForm | None = None,
            clarify: ClarifyForm | None = None, override: OverrideForm | None = None, status: int = 200) -> Any:
    invitation = _invitation(assessment)
    rows = answer_rows(assessment)
    undecided = assessment.decision is None and eng.state == "submitted"
    if decision is None:
        decision = decision_form(assessment.result.get("findings", []), obligation_wordings(invitation))
    if clarify is None:
        clarify = clarify_form([row["question"].id for row in rows])
    by_qid = {entry.form.question_id.data: entry for entry in clarify.rows.entries}
    override = override or _override_form(rows)
    return render_template(
        "staff/review.html", engagement=eng, assessment=assessment, form=decision, answers=rows,
        undecided=undecided, clarify=clarify, clarify_rows=by_qid, override_form=override,
        changes=answers.changes_since_previous(invitation, assessment), decision_labels=DECISION_LABELS,
        route=[review_service.step_label(s) for s in review_service.approval_route(
            eng.organisation)],
        checklist=internal_checks.checklist(eng), guideline_edition=_edition(), form_has_errors=status != 200,
    ), status


def _override_form(rows: list[dict[str, Any]], formdata: Any = None) -> OverrideForm:
    form = OverrideForm(formdata=formdata) if formdata is not None else OverrideForm(formdata=None)
    form.question_id.choices = [("", "選んでください")] + [
        (row["question"].id, f"{row['question'].text_ja[:60]}（自動評価：{row['automatic']}）")
        for row in rows if row["automatic"]
    ]
    return form


def _under_review(engagement_id: int) -> tuple[Engagement, Assessment]:
    """The organisation's engagement and its latest assessment; without one, back to the engagement."""
    eng = org_engagement(engagement_id)
    assessment = review_service.latest_assessment(eng)
    if assessment is None:
        flash("まだ回答が提出されていません。", "info")
        abort(redirect(url_for("staff.engagement", engagement_id=eng.id)))
    return eng, assessment


@bp.route("/engagements/<int:engagement_id>/review", methods=["GET", "POST"])
@roles_required("reviewer")
def review(engagement_id: int) -> Any:
    eng, assessment = _under_review(engagement_id)
    if request.method == "GET":
        return _render(eng, assessment)
    form = decision_form([], {}, formdata=request.form)
    if not form.validate_on_submit():
        return _render(eng, assessment, decision=form, status=400)
    with refusable(StateError) as refusal:
        review_service.decide(assessment, form.decision.data, current_user, form.note.data or "", form.drafts())
    if not refusal:
        message = DONE_MESSAGES[form.decision.data]
        if eng.state == "in_approval":
            message = "起案しました。決裁が終わると判定が確定します。"
        flash(message, "success")
        return redirect(url_for("staff.engagement", engagement_id=eng.id))
    if assessment.decision is not None:
        # Decided meanwhile (another tab, another reviewer): say so and show the decision.
        flash(refusal.message, "error")
        return redirect(url_for("staff.review", engagement_id=eng.id))
    form.form_errors.append(refusal.message)
    return _render(eng, assessment, decision=form, status=400)


@bp.route("/engagements/<int:engagement_id>/clarify", methods=["POST"])
@roles_required("reviewer")
def clarify(engagement_id: int) -> Any:
    """Ask the contractor about the chosen questions: only those reopen."""
    eng, assessment = _under_review(engagement_id)
    form = clarify_form([], formdata=request.form)
    if not form.validate_on_submit():
        return _render(eng, assessment, clarify=form, status=400)
    invitation = _invitation(assessment)
    given = assessment.response.answer_map()
    known = {question.id: question for _q, _s, question in _shown_questions(invitation, given)}
    with refusable(StateError) as refusal:
        asked, link = clarifications.request_clarification(
            assessment, form.questions(), int(form.open_days.data), current_user, known)
    if refusal:
        form.form_errors.append(refusal.message)
        return _render(eng, assessment, clarify=form, status=400)
    due = min(t.due_on for t in asked)
    flash(f"{len(asked)}件の設問について確認を依頼しました（回答期限 {long_date(due)}）。"
          + ("リンクの有効期限が切れていたため、新しいリンクをメールで送りました。" if link else ""), "success")
    return redirect(url_for("staff.engagement", engagement_id=eng.id))


@bp.route("/engagements/<int:engagement_id>/override", methods=["POST"])
@roles_required("reviewer")
def override(engagement_id: int) -> Any:
    """The reviewer's own evaluation of one question, with the reason (kept beside the automatic one)."""
    eng, assessment = _under_review(engagement_id)
    rows = answer_rows(assessment)
    form = _override_form(rows, request.form)
    if not form.validate_on_submit():
        return _render(eng, assessment, override=form, status=400)
    question = next(row["question"] for row in rows if row["question"].id == form.question_id.data)
    with refusable(StateError) as refusal:
        review_service.override_evaluation(assessment, question, form.evaluation.data, form.reason.data or "",
                                           current_user)
    if refusal:
        form.form_errors.append(refusal.message)
        return _render(eng, assessment, override=form, status=400)
    flash("評価を変更しました。自動評価と並べて表示します。", "success")
    return redirect(url_for("staff.review", engagement_id=eng.id) + "#answers")


@bp.route("/engagements/<int:engagement_id>/approval", methods=["POST"])
@login_required
def approval(engagement_id: int) -> Any:
    """One 決裁 step (審査 or 承認), by the role or person it names."""
    eng = org_engagement(engagement_id)
    assessment = review_service.latest_assessment(eng)
    if assessment is None:
        abort(404)
    form = ApprovalForm()
    if not form.validate_on_submit():
        from .staff import _engagement_page

        return _engagement_page(eng, status=400, approval_form=form)
    with refusable(StateError) as refusal:
        step = review_service.take_step(assessment, current_user, approve=form.action.data == "approve",
                                        note=form.note.data or "")
    if refusal:
        flash(refusal.message, "error")
    elif step.state == "returned":
        flash("起案者に差し戻しました。", "success")
    elif eng.state == "in_approval":
        flash("決裁しました。次の段階の決裁を待っています。", "success")
    else:
        flash(f"決裁が終わり、判定（{assessment.decision_label}）が確定しました。", "success")
    return redirect(url_for("staff.engagement", engagement_id=eng.id))


@bp.route("/remediations/<int:remediation_id>/review", methods=["POST"])
@roles_required("reviewer")
def review_remediation(remediation_id: int) -> Any:
    """Close a reported 是正事項, or ask for more."""
    item = db.one_or_404(
        select(Remediation).join(Assessment).join(Engagement).where(
            Remediation.id == remediation_id, Engagement.organisation_id == current_user.organisation_id)
    )
    eng = db.session.get(Engagement, item.assessment.engagement_id)
    assert eng is not None
    form = RemediationReviewForm(prefix=f"rem{item.id}")
    if not form.validate_on_submit():
        from .staff import _engagement_page

        return _engagement_page(eng, status=400, remediation_forms={item.id: form})
    with refusable(StateError) as refusal:
        review_service.review_remediation(item, current_user, accepted=form.outcome.data == "close",
                                          note=form.note.data or "")
    if refusal:
        flash(refusal.message, "error")
    else:
        flash("是正事項を完了にしました。" if form.outcome.data == "close" else "再対応を求めました。", "success")
    return redirect(url_for("staff.engagement", engagement_id=eng.id) + "#remediations")


def engagement_context(eng: Engagement, assessment: Assessment | None, *, approval_form: ApprovalForm | None = None,
                       remediation_forms: dict[int, RemediationReviewForm] | None = None) -> dict[str, Any]:
    """What the engagement page shows of the loop: the 決裁 steps (and the form for whoever may take the
    next one) and the 是正事項 with their state."""
    if assessment is None:
        return {"steps": [], "approval_form": None, "remediations": [], "remediation_forms": {}}
    steps = review_service.current_round(assessment)
    pending = review_service.pending_step(assessment) if eng.state == "in_approval" else None
    may_take = pending is not None and pending.may_be_taken_by(current_user)
    items = list(assessment.remediations) if assessment.decision == "conditional" else []
    forms = remediation_forms or {}
    return {
        "steps": [(step, review_service.step_label(step)) for step in steps],
        "approval_form": (approval_form or ApprovalForm()) if may_take else None,
        "remediations": items,
        "remediation_forms": {item.id: forms.get(item.id) or RemediationReviewForm(prefix=f"rem{item.id}")
                              for item in items if item.state == "reported"}
        if current_user.role in ("admin", "reviewer") else {},
    }
