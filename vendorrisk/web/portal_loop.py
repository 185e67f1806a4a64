"""Portal pages of the review loop (routes on the portal blueprint): the reviewer's questions (only the
asked questions open again, every other answer read-only) and the 是正事項 with the 是正報告."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, g, redirect, render_template, request, url_for

from ..domain.questionnaire import ANSWER_TYPES, Question
from ..extensions import db, limiter
from ..models import Invitation, Remediation, StateError
from ..services import answers, clarifications, definitions, evidence
from ..services import review as review_service
from .answer_forms import build_section_form, field_name
from .portal import _portal_key, _rate_limit, bp, stored_answers, supplement_values
from .review_forms import RemediationReportForm
from .unit_of_work import keep_changes, refusable

REPLY_MAX = clarifications.MAX_MESSAGE


def _questions(inv: Invitation) -> tuple[list[Question], list[dict[str, Any]]]:
    """(the reopened questions, every other shown question with its answer, read-only)."""
    assert inv.response is not None
    reopened = set(inv.response.reopened_questions or [])
    given = inv.response.answer_map()
    visible = answers.visible_ids(inv, given)
    asked, others = [], []
    for q in definitions.invitation_questionnaires(inv):
        for question in q.questions():
            if question.id in reopened:
                asked.append(question)
            elif question.id in visible:
                value = given.get(question.id)
                atype = ANSWER_TYPES[question.type]
                others.append({"question": question,
                               "display": atype.display(question, value) if atype.is_answered(value) else "未回答"})
    return asked, others


def _render(inv: Invitation, asked: list[Question], others: list[dict[str, Any]], form: Any,
            replies: dict[str, str], *, errors: list[str] | None = None, status: int = 200) -> Any:
    assert inv.response is not None
    return render_template(
        "portal/clarification.html", invitation=inv, engagement=inv.engagement, asked=asked, others=others,
        form=form, replies=replies, threads=clarifications.threads(inv.response), field_name=field_name,
        answers=inv.response.answer_map(), due=clarifications.due_date(inv.response), problems=errors or [],
        form_has_errors=status != 200,
    ), status


@bp.route("/clarification", methods=["GET", "POST"])
@limiter.limit(_rate_limit, methods=["POST"], key_func=_portal_key)
def clarification() -> Any:
    """What the reviewer asked, one question at a time: the thread, the answer to change, a reply."""
    inv: Invitation = g.invitation
    assert inv.response is not None
    if inv.response.state != "reopened":
        return redirect(url_for("portal.start"))
    asked, others = _questions(inv)
    stored = stored_answers(inv.response, asked)
    form = build_section_form(asked, stored, done=False, bilingual=g.bilingual)
    if request.method == "GET":
        return _render(inv, asked, others, form, {})
    replies = {q.id: (request.form.get("reply_" + field_name(q.id)) or "").strip()[:REPLY_MAX] for q in asked}
    if not form.validate_on_submit() and "csrf_token" in form.errors:
        expired = "画面の有効期限が切れました。入力内容はこの画面に残しています。もう一度送ってください。"
        return _render(inv, asked, others, form, replies, errors=[expired], status=400)
    action = request.form.get("action") or "save"
    if action.startswith("add:"):
        # 「行を追加する」 (a group's row): the page again with one more empty row, keeping what was typed
        # and the replies; nothing is saved. Enter in a text field presses the first button, 「保存する」.
        more = build_section_form(asked, stored, done=False, extra_rows={action[4:]: 1}, bilingual=g.bilingual)
        return _render(inv, asked, others, more, replies)
    values = _values(inv, asked, form)
    with refusable(StateError) as refusal:
        answers.save_answers(inv, values)
        clarifications.reply(inv, replies)
    if refusal:
        flash(refusal.message, "error")
        return redirect(url_for("portal.start"))
    if any(f.errors for q in asked for f in form if f.name.startswith(field_name(q.id))):
        keep_changes()  # the valid answers and the replies are saved; the page shows what failed
        return _render(inv, asked, others, form, {}, status=400)
    if action != "resubmit":
        flash("保存しました。回答が終わったら「回答を再提出する」を押してください。", "success")
        return redirect(url_for("portal.clarification"))
    missing = answers.missing_required(inv)
    if missing:
        keep_changes()
        names = "、".join(f"「{q.text_ja}」" for q in missing)
        problem = f"次の必須の設問が未回答のため、再提出できません：{names}"
        return _render(inv, asked, others, form, {}, errors=[problem], status=400)
    with refusable(StateError) as refusal:
        answers.submit_response(inv)
    if refusal:
        flash(refusal.message, "error")
    return redirect(url_for("portal.start"))


def _values(inv: Invitation, asked: list[Question], form: Any) -> dict[str, Any]:
    assert inv.response is not None
    values: dict[str, Any] = {}
    for question in asked:
        field = form[field_name(question.id)]
        if question.type == "file":
            upload = field.data
            if upload and not field.errors:
                try:
                    values[question.id] = evidence.store_evidence(
                        inv.response, question.id, upload.filename or "file", upload.read(),
                        current_app.config["UPLOAD_DIR"])
                except evidence.EvidenceRefused as exc:
                    field.errors = [str(exc)]
        elif not field.errors:
            values[question.id] = getattr(field, "answer_value", None)
        values.update(supplement_values(inv, question, form))
    return values


def _remediations(inv: Invitation) -> list[Remediation]:
    if inv.engagement.state != "conditional":
        return []
    return review_service.open_remediations(inv.engagement)


def _render_remediations(inv: Invitation, forms: dict[int, RemediationReportForm] | None = None,
                         status: int = 200) -> Any:
    items = _remediations(inv)
    forms = forms or {}
    shown = {item.id: forms.get(item.id) or RemediationReportForm(prefix=f"rem{item.id}")
             for item in items if item.state == "open"}
    return render_template("portal/remediation.html", invitation=inv, engagement=inv.engagement, items=items,
                           forms=shown, form_has_errors=status != 200), status


@bp.route("/remediation")
def remediation() -> Any:
    """The 是正事項 of a 条件付承認, each with its deadline and state, and a 是正報告 form for the open ones."""
    inv: Invitation = g.invitation
    if not _remediations(inv):
        return redirect(url_for("portal.start"))
    return _render_remediations(inv)


@bp.route("/remediation/<int:remediation_id>", methods=["POST"])
@limiter.limit(_rate_limit, key_func=_portal_key)
def report_remediation(remediation_id: int) -> Any:
    inv: Invitation = g.invitation
    item = next((r for r in _remediations(inv) if r.id == remediation_id), None)
    if item is None:
        return redirect(url_for("portal.start"))
    form = RemediationReportForm(prefix=f"rem{item.id}")
    if not form.validate_on_submit():
        return _render_remediations(inv, {item.id: form}, status=400)
    with refusable(StateError) as refusal:
        review_service.report_remediation(inv, item, form.report.data or "")
    if refusal:
        flash(refusal.message, "error")
    else:
        flash("是正報告を送りました。担当者が確認します。", "success")
    db.session.flush()
    return redirect(url_for("portal.remediation"))
