"""Staff pages: procurement (vendors, engagements, invitations) and review."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask import Response as FlaskResponse
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..domain.questionnaire import ANSWER_TYPES
from ..domain.scoring import RATING_JA
from ..domain.sheet_import import SheetRefused
from ..domain.vocabulary import ENGAGEMENT_STATE_LABELS, JST, KIND_LABELS, PARTY_LABELS, RISK_LABELS
from ..extensions import db
from ..models import Annex, Engagement, Evidence, Invitation, Response, StateError, utcnow
from ..services import (
    answer_sheets,
    answers,
    audit,
    definitions,
    engagements,
    exports,
    internal_checks,
    invitations,
    listing,
    organisation_settings,
    vendors,
)
from ..services.evidence import EvidenceRefused
from ..services.review import decide, latest_assessment
from .answer_forms import build_checklist_form, field_name
from .auth import roles_required
from .downloads import content_disposition
from .forms import AnswerSheetForm, DecisionForm, EmptyForm, EngagementForm, InvitationForm, VendorForm
from .invitation_links import forget_link, remember_link, shown_link
from .unit_of_work import RenderAfterCommit, audited_read, refusable

bp = Blueprint("staff", __name__, url_prefix="/staff")

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def org_engagement(engagement_id: int) -> Engagement:
    """An engagement of the current user's organisation, or 404 (never reveal others')."""
    return db.one_or_404(
        select(Engagement).filter_by(id=engagement_id, organisation_id=current_user.organisation_id)
    )


def _query(sorts: dict[str, str]) -> listing.ListQuery:
    return listing.ListQuery.from_args(request.args, sorts)


def _list_choices() -> dict[str, Any]:
    """What the filter forms offer (the officer list is the organisation's, a short one)."""
    return {
        "state_labels": ENGAGEMENT_STATE_LABELS, "kind_labels": KIND_LABELS, "due_filters": listing.DUE_FILTERS,
        "archive_filters": listing.ARCHIVE_FILTERS,
        "officers": listing.officer_choices(current_user.organisation_id),
        "departments": listing.department_choices(current_user.organisation_id),
        "per_page_options": [(n, f"{n}件") for n in listing.PER_PAGE_CHOICES],
    }


@bp.route("/")
@login_required
def dashboard() -> Any:
    query = _query(listing.ENGAGEMENT_SORTS)
    page = listing.engagement_page(current_user.organisation_id, query)
    return render_template(
        "staff/dashboard.html", page=page, query=query, sorts=listing.ENGAGEMENT_SORTS, **_list_choices(),
        queue_count=listing.review_queue_count(current_user.organisation_id)
        if current_user.role in ("admin", "reviewer") else None,
    )


@bp.route("/review-queue")
@roles_required("reviewer")
def review_queue() -> Any:
    """審査待ち: submitted answers waiting for the reviewer's decision."""
    query = _query(listing.QUEUE_SORTS)
    page = listing.review_queue_page(current_user.organisation_id, query)
    return render_template(
        "staff/review_queue.html", page=page, query=query, sorts=listing.QUEUE_SORTS, rating_labels=RATING_JA,
        risk_labels=RISK_LABELS, **_list_choices(),
    )


@bp.route("/vendors", endpoint="vendors")
@roles_required("procurement")
def vendor_list() -> Any:
    query = _query(listing.VENDOR_SORTS)
    page = listing.vendor_page(current_user.organisation_id, query)
    return render_template("staff/vendors.html", page=page, query=query, sorts=listing.VENDOR_SORTS,
                           archive_filters=listing.ARCHIVE_FILTERS, empty_form=EmptyForm())


EXPORT_ROLES = {
    "engagements": ("admin", "procurement", "reviewer", "legal"),
    "findings": ("admin", "procurement", "reviewer", "legal"),
    "answers": ("admin", "procurement", "reviewer"),
    "vendors": ("admin", "procurement"),
}


@bp.route("/exports/<what>.<fmt>")
@login_required
@audited_read
def export(what: str, fmt: str) -> Any:
    """A list as CSV or XLSX, filtered like the list (the same URL arguments)."""
    if what not in exports.TABLES or fmt not in exports.FORMATS:
        abort(404)
    if current_user.role not in EXPORT_ROLES[what]:
        abort(403)
    sorts = listing.VENDOR_SORTS if what == "vendors" else listing.ENGAGEMENT_SORTS
    query = _query(sorts)
    table = exports.TABLES[what](current_user.organisation_id, query)
    data = exports.render(table, fmt)
    audit.record(f"export.{what}", "organisation", current_user.organisation_id,
                 organisation_id=current_user.organisation_id, actor=current_user,
                 data={"format": fmt, "filter": query.url_args(page=1)})
    mimetype = XLSX_MIMETYPE if fmt == "xlsx" else "text/csv; charset=utf-8"
    sent = FlaskResponse(data, mimetype=mimetype)
    stamp = utcnow().astimezone(JST).strftime("%Y%m%d")
    sent.headers["Content-Disposition"] = content_disposition(
        f"{table.title}_{stamp}.{fmt}", f"{table.slug}-{stamp}.{fmt}")
    sent.headers["Cache-Control"] = "no-store"
    return sent


@bp.route("/vendors/new", methods=["GET", "POST"])
@roles_required("procurement")
def new_vendor() -> Any:
    form = VendorForm(organisation_id=current_user.organisation_id)
    if form.validate_on_submit():
        vendor = vendors.create_vendor(current_user.organisation, actor=current_user, **form.vendor_fields())
        flash(f"事業者「{vendor.name}」を登録しました。続けて案件を登録できます。", "success")
        return redirect(url_for("staff.new_engagement", vendor_id=vendor.id))
    return render_template("staff/vendor_form.html", form=form, form_has_errors=bool(form.errors))


@bp.route("/engagements/new", methods=["GET", "POST"])
@roles_required("procurement")
def new_engagement() -> Any:
    """The vendor is found by a search (GET, works without JavaScript) and picked from a short list;
    the chosen vendor travels in a hidden field with the rest of the form."""
    org_id = current_user.organisation_id
    form = EngagementForm(organisation_id=org_id)
    if request.method == "GET" and request.args.get("vendor_id", type=int) is not None:
        form.vendor_id.data = request.args.get("vendor_id", type=int)
    if form.validate_on_submit():
        engagement = engagements.create_engagement(
            current_user.organisation, form.vendor, form.officer_ids.data or [], actor=current_user,
            **form.engagement_fields(),
        )
        flash("案件を登録しました。回答依頼を送ってください。", "success")
        return redirect(url_for("staff.engagement", engagement_id=engagement.id))
    chosen = form.vendor or vendors.organisation_vendor(org_id, form.vendor_id.data)
    vendor_q = (request.args.get("vendor_q") or "").strip()[:100]
    return render_template(
        "staff/engagement_form.html", form=form, form_has_errors=bool(form.errors), chosen=chosen,
        vendor_q=vendor_q, vendor_results=listing.vendor_choices(org_id, vendor_q) if vendor_q else None,
        has_vendors=chosen is not None or listing.organisation_has_vendors(org_id),
    )


@bp.route("/engagements/<int:engagement_id>")
@login_required
def engagement(engagement_id: int) -> Any:
    return _engagement_page(org_engagement(engagement_id))


def _engagement_page(eng: Engagement, invite_form: InvitationForm | None = None, status: int = 200,
                     checklist_form: tuple[str, Any] | None = None) -> Any:
    annexes = db.session.scalars(select(Annex).filter_by(engagement_id=eng.id).order_by(Annex.version.desc())).all()
    current = eng.current_invitation()
    default_days = organisation_settings.deadline_settings(eng.organisation).open_days
    page = render_template(
        "staff/engagement.html", engagement=eng, assessment=latest_assessment(eng), annexes=annexes,
        invite_form=invite_form or InvitationForm(recipient_email=eng.vendor.contact_email, open_days=default_days),
        default_days=default_days, default_due=invitations.due_day(eng),
        empty_form=EmptyForm(), decision_form=DecisionForm(), form_has_errors=status != 200,
        history=invitations.invitation_history(eng),
        link_kept=current is not None and shown_link(current) is not None,
        can_audit=current_user.role in AUDIT_ROLES,
        checklist=_checklist_rows(eng, checklist_form), guideline_edition=_edition(),
        carried=answers.carried_summary(eng.current_invitation()), sheet_form=AnswerSheetForm(),
    )
    return page, status


# Who browses the audit trail (records.audit_trail); procurement sees each engagement's invitation history.
AUDIT_ROLES = ("admin", "reviewer", "legal")


def org_invitation(invitation_id: int) -> Invitation:
    return db.one_or_404(
        select(Invitation).join(Engagement).where(
            Invitation.id == invitation_id, Engagement.organisation_id == current_user.organisation_id
        )
    )


def _send(eng: Engagement, recipient_email: str, recipient_name: str, *, due_on: dt.date | None = None,
          contact: tuple[str, str] = ("", "")) -> Any:
    """Send (the POST), then redirect to the page that shows the link: a reload of that page sends
    nothing. The token travels to it sealed in the session, never stored in clear."""
    with refusable(StateError) as refusal:
        sent = invitations.send_invitation(eng, recipient_email=recipient_email, recipient_name=recipient_name,
                                           user=current_user, due_on=due_on, contact_department=contact[0],
                                           contact_phone=contact[1])
    if refusal:
        flash(refusal.message, "error")
        return redirect(url_for("staff.engagement", engagement_id=eng.id))
    delivery = invitations.mail_after_commit(sent)

    def to_result() -> Any:
        remember_link(sent.invitation, sent.token, delivery.value)
        return redirect(url_for("staff.invitation_sent", invitation_id=sent.invitation.id))

    return RenderAfterCommit(to_result)


def _edition() -> str:
    return organisation_settings.guideline_edition(current_user.organisation)


def _checklist_rows(eng: Engagement, posted: tuple[str, Any] | None = None) -> list[dict[str, Any]]:
    """The 所管課's checklist: each item with its stored answer and, for procurement, its small form
    (the one just posted, with its errors and what was typed, in place of a blank one)."""
    editable = current_user.role in ("admin", "procurement")
    rows = []
    for item in internal_checks.checklist(eng):
        form = None
        if editable:
            form = posted[1] if posted and posted[0] == item.question.id else build_checklist_form(
                item.question, item.check.value if item.check else None)
        rows.append({"item": item, "form": form, "field": form[field_name(item.question.id)] if form else None})
    return rows


@bp.route("/engagements/<int:engagement_id>/checklist/<question_id>", methods=["POST"])
@roles_required("procurement")
def record_check(engagement_id: int, question_id: str) -> Any:
    """The 所管課 answers one of the municipality's own questions (internal checklist, audited)."""
    eng = org_engagement(engagement_id)
    item = next((i for i in internal_checks.checklist(eng) if i.question.id == question_id), None)
    if item is None:
        abort(404)
    form = build_checklist_form(item.question, None, posted=True)
    field = form[field_name(question_id)]
    if form.validate_on_submit():
        with refusable(internal_checks.ChecklistRefused) as refusal:
            internal_checks.record_check(eng, question_id, getattr(field, "answer_value", None), actor=current_user)
        if not refusal:
            flash("確認項目の回答を記録しました。", "success")
            return redirect(url_for("staff.engagement", engagement_id=eng.id, _anchor="checklist"))
        field.errors = [*field.errors, refusal.message]
    elif not field.errors:
        form.form_errors.append("送信内容を確認できませんでした。もう一度送信してください。")
    return _engagement_page(eng, status=400, checklist_form=(question_id, form))


@bp.route("/engagements/<int:engagement_id>/invite", methods=["POST"])
@roles_required("procurement")
def invite(engagement_id: int) -> Any:
    eng = org_engagement(engagement_id)
    form = InvitationForm()
    if not form.validate_on_submit():
        return _engagement_page(eng, form, 400)
    with refusable(invitations.DueDateRefused) as bad_date:
        due = invitations.due_day(eng, due_on=form.due_date.data, open_days=form.open_days.data)
    if bad_date:
        form.due_date.errors = [bad_date.message]
        return _engagement_page(eng, form, 400)
    return _send(eng, form.recipient_email.data, form.recipient_name.data or "", due_on=due,
                 contact=(form.contact_department.data or "", form.contact_phone.data or ""))


@bp.route("/invitations/<int:invitation_id>/sent")
@roles_required("procurement")
def invitation_sent(invitation_id: int) -> Any:
    """The result of sending: the mail's fate and the link, while its one-time display is kept in the
    session (then 「新しいリンクで再送する」). Reloading it sends nothing."""
    invitation = org_invitation(invitation_id)
    shown = shown_link(invitation)
    if shown is not None and shown.mail == "error":
        flash("メールサーバーへの送信に失敗しました。下のリンクをコピーして、回答者に直接お知らせください。", "warning")
    return render_template("staff/invitation_sent.html", engagement=invitation.engagement, invitation=invitation,
                           shown=shown, link=invitations.portal_link(shown.token) if shown else None)


@bp.route("/invitations/<int:invitation_id>/resend", methods=["GET", "POST"])
@roles_required("procurement")
def resend(invitation_id: int) -> Any:
    """「新しいリンクで再送する」: a confirmation page, then a new invitation to the same person (the old
    link stops working)."""
    invitation = org_invitation(invitation_id)
    eng = invitation.engagement
    if invitation.state != "open":
        flash("この回答依頼は回答待ちではないため、再送できません。", "error")
        return redirect(url_for("staff.engagement", engagement_id=eng.id))
    form = EmptyForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        forget_link(invitation)
        # The same deadline while it is still ahead; otherwise the organisation's default count of 開庁日.
        today = utcnow().astimezone(JST).date()
        keep = invitation.due_date if invitation.due_date and invitation.due_date > today else None
        return _send(eng, invitation.recipient_email, invitation.recipient_name, due_on=keep,
                     contact=(invitation.contact_department, invitation.contact_phone))
    return render_template("staff/invitation_confirm.html", engagement=eng, invitation=invitation, form=form,
                           action="resend")


@bp.route("/engagements/<int:engagement_id>/reassess", methods=["POST"])
@roles_required("procurement")
def reassess(engagement_id: int) -> Any:
    eng = org_engagement(engagement_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    with refusable(StateError) as refusal:
        successor = engagements.reassess(eng, actor=current_user)
    if refusal:
        flash(refusal.message, "error")
        return redirect(url_for("staff.engagement", engagement_id=eng.id))
    flash(f"再評価の案件「{successor.reference}」を作りました。回答依頼を送ると、前回承認された回答が"
          "「前回の回答」として入力済みになります。事業者は確認と変更だけで回答できます。", "success")
    return redirect(url_for("staff.engagement", engagement_id=successor.id))


def _open_invitation(eng: Engagement) -> Invitation:
    invitation = eng.current_invitation()
    if invitation is None or invitation.state != "open":
        abort(404)
    return invitation


@bp.route("/engagements/<int:engagement_id>/answer-sheet.xlsx")
@roles_required("procurement")
def answer_sheet_download(engagement_id: int) -> Any:
    """The open invitation's questionnaire as XLSX, for a contractor who answers by mail."""
    eng = org_engagement(engagement_id)
    sent = make_response(answer_sheets.workbook_for(_open_invitation(eng)))
    sent.headers["Content-Type"] = XLSX_MIMETYPE
    sent.headers["Content-Disposition"] = content_disposition(f"回答用_{eng.reference}.xlsx",
                                                              f"answers-{eng.reference}.xlsx")
    return sent


@bp.route("/engagements/<int:engagement_id>/answer-sheet", methods=["POST"])
@roles_required("procurement")
def answer_sheet_upload(engagement_id: int) -> Any:
    """Procurement uploads the workbook a contractor filled in and sent back (audited as theirs)."""
    eng = org_engagement(engagement_id)
    invitation = _open_invitation(eng)
    form = AnswerSheetForm()
    if not form.validate_on_submit():
        for message in form.sheet.errors:
            flash(message, "error")
        return redirect(url_for("staff.engagement", engagement_id=eng.id))
    upload = form.sheet.data
    try:
        with refusable(StateError) as refusal:
            done = answer_sheets.import_workbook(invitation, upload.filename or "answers.xlsx", upload.read(),
                                                 current_app.config["UPLOAD_DIR"], actor=current_user)
        errors = [refusal.message] if refusal else done.errors
    except (SheetRefused, EvidenceRefused) as exc:
        errors = [str(exc)]
    if errors:
        flash("ファイルに誤りがあるため、回答は保存していません：" + " ／ ".join(errors), "error")
    else:
        flash(f"ファイルの回答を保存しました（{done.saved}問）。送信は事業者が回答画面から行います。", "success")
    return redirect(url_for("staff.engagement", engagement_id=eng.id))


@bp.route("/invitations/<int:invitation_id>/revoke", methods=["GET", "POST"])
@roles_required("procurement")
def revoke(invitation_id: int) -> Any:
    """Revoking asks first: a page saying what it does, and a button that posts."""
    invitation = org_invitation(invitation_id)
    form = EmptyForm()
    if request.method == "GET":
        if invitation.state != "open":
            flash("この回答依頼は回答待ちではないため、取り消せません。", "error")
            return redirect(url_for("staff.engagement", engagement_id=invitation.engagement_id))
        return render_template("staff/invitation_confirm.html", engagement=invitation.engagement,
                               invitation=invitation, form=form, action="revoke")
    if not form.validate_on_submit():
        abort(400)
    with refusable(StateError) as refusal:
        invitations.revoke_invitation(invitation, actor=current_user)
    if refusal:
        flash(refusal.message, "error")
    else:
        forget_link(invitation)
        flash("回答依頼を取り消しました。リンクはもう使えません。", "success")
    return redirect(url_for("staff.engagement", engagement_id=invitation.engagement_id))


@bp.route("/engagements/<int:engagement_id>/review", methods=["GET", "POST"])
@roles_required("reviewer")
def review(engagement_id: int) -> Any:
    eng = org_engagement(engagement_id)
    assessment = latest_assessment(eng)
    if assessment is None:
        flash("まだ回答が提出されていません。", "info")
        return redirect(url_for("staff.engagement", engagement_id=eng.id))
    form = DecisionForm()
    if form.validate_on_submit():
        with refusable(StateError) as refusal:
            decide(assessment, form.decision.data, current_user, form.note.data or "")
        if not refusal:
            flash("審査結果を登録しました。" if form.decision.data == "approved" else "差し戻しました。", "success")
            return redirect(url_for("staff.engagement", engagement_id=eng.id))
        if assessment.decision is not None:
            # Decided meanwhile (another tab, another reviewer): say so and show the decision.
            flash(refusal.message, "error")
            return redirect(url_for("staff.review", engagement_id=eng.id))
        form.form_errors.append(refusal.message)
    invitation = db.session.get(Invitation, assessment.response.invitation_id)
    return render_template(
        "staff/review.html", engagement=eng, assessment=assessment, form=form,
        answers=_answer_rows(invitation), form_has_errors=bool(form.errors or form.form_errors),
        checklist=internal_checks.checklist(eng), guideline_edition=_edition(),
    )


def _answer_row(questionnaire: Any, section: Any, question: Any, value: Any,
                changes: dict[str, str] | None = None) -> dict[str, Any]:
    shown = value not in (None, "", [])
    return {
        "change": (changes or {}).get(question.id, ""),
        "questionnaire": questionnaire.title_ja, "section": section.title_ja, "question": question,
        "display": ANSWER_TYPES[question.type].display(question, value) if shown else "未回答",
        "evidence_id": value.get("evidence_id") if question.type == "file" and isinstance(value, dict) else None,
    }


def _answer_rows(invitation: Invitation | None) -> list[dict[str, Any]]:
    """(section, question, answer) rows of a submitted response for the reviewer."""
    if invitation is None or invitation.response is None:
        return []
    given = invitation.response.answer_map()
    visible = answers.visible_ids(invitation, given)
    changes = answers.changes_since_last(invitation)  # a re-assessment: what differs from the last approved
    return [
        _answer_row(q, section, question, given.get(question.id), changes)
        for q in definitions.invitation_questionnaires(invitation)
        for section in q.sections
        for question in section.questions
        if question.id in visible
    ]


@bp.route("/evidence/<int:evidence_id>")
@roles_required("reviewer", "procurement")
@audited_read
def evidence(evidence_id: int) -> Any:
    """An uploaded evidence file, always as a download (never rendered inline), audited."""
    item = db.one_or_404(
        select(Evidence).join(Response, Evidence.response_id == Response.id).join(Invitation).join(Engagement)
        .where(Evidence.id == evidence_id, Engagement.organisation_id == current_user.organisation_id)
    )
    path = Path(current_app.config["UPLOAD_DIR"]) / item.stored_name
    if not path.is_file():
        abort(404)
    audit.record("evidence.download", "evidence", item.id, organisation_id=current_user.organisation_id,
                 actor=current_user, data={"filename": item.filename, "sha256": item.sha256})
    sent = FlaskResponse(path.read_bytes(), mimetype=item.content_type)  # at most EVIDENCE_MAX_BYTES
    suffix = Path(item.stored_name).suffix
    sent.headers["Content-Disposition"] = content_disposition(item.filename, f"evidence-{item.id}{suffix}")
    sent.headers["Cache-Control"] = "no-store"
    return sent


@bp.route("/trace")
@login_required
def trace() -> Any:
    """Each obligation of the organisation's clause, its clause text, and the questions covering it."""
    from ..domain.policy import OBLIGATION_LABELS, OBLIGATION_PARAGRAPH
    from ..domain.questionnaire import trace as trace_questions

    org = current_user.organisation
    on_disk = definitions.current_definitions()
    by_id = {x.id: (q, x) for q in on_disk.values() for x in q.questions()}
    rows = []
    for key, ids in trace_questions(on_disk, list(org.obligations)).items():
        paragraph = org.clause_paragraphs.get(OBLIGATION_PARAGRAPH[key.split(".")[0]]) or ""
        rows.append({
            "key": key, "label": OBLIGATION_LABELS.get(key, key), "paragraph": paragraph,
            "questions": [by_id[i] for i in ids if i in by_id],
        })
    return render_template("staff/trace.html", org=org, rows=rows, party_labels=PARTY_LABELS,
                           guideline_edition=_edition())


@bp.errorhandler(IntegrityError)
def _integrity(error: IntegrityError) -> Any:
    # The unit of work has rolled back (a unique row registered meanwhile, in another tab).
    flash("同じ内容がすでに登録されています。一覧を確認してください。", "error")
    return redirect(url_for("staff.dashboard"))
