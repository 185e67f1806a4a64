"""Staff pages: procurement (vendors, engagements, invitations) and review."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Response as FlaskResponse
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Annex, Assessment, Engagement, Evidence, Invitation, Officer, Response, StateError, Vendor
from ..services import audit, workflow
from .auth import roles_required
from .downloads import content_disposition
from .forms import DecisionForm, EmptyForm, EngagementForm, InvitationForm, VendorForm, opts

bp = Blueprint("staff", __name__, url_prefix="/staff")


def org_engagement(engagement_id: int) -> Engagement:
    """An engagement of the current user's organisation, or 404 (never reveal others')."""
    engagement = db.session.get(Engagement, engagement_id)
    if engagement is None or engagement.organisation_id != current_user.organisation_id:
        abort(404)
    return engagement


@bp.route("/")
@login_required
def dashboard() -> Any:
    engagements = db.session.scalars(
        select(Engagement).filter_by(organisation_id=current_user.organisation_id)
        .options(selectinload(Engagement.vendor)).order_by(Engagement.id.desc())
    ).all()
    # The latest assessment of each engagement, in one query.
    latest: dict[int, Assessment] = {}
    for assessment in db.session.scalars(
        select(Assessment).where(Assessment.engagement_id.in_([e.id for e in engagements])).order_by(Assessment.id)
    ):
        latest[assessment.engagement_id] = assessment
    return render_template("staff/dashboard.html", engagements=engagements, latest=latest)


@bp.route("/vendors")
@roles_required("procurement")
def vendors() -> Any:
    rows = db.session.scalars(
        select(Vendor).filter_by(organisation_id=current_user.organisation_id).order_by(Vendor.name)
    ).all()
    return render_template("staff/vendors.html", vendors=rows)


@bp.route("/vendors/new", methods=["GET", "POST"])
@roles_required("procurement")
def new_vendor() -> Any:
    form = VendorForm()
    if form.validate_on_submit():
        if form.corporate_number.data and db.session.scalar(
            select(Vendor.id).filter_by(organisation_id=current_user.organisation_id, corporate_number=form.corporate_number.data)
        ):
            form.corporate_number.errors = ["この法人番号の事業者はすでに登録されています。事業者一覧から選んでください。"]
        else:
            vendor = workflow.create_vendor(
                current_user.organisation,
                name=form.name.data, corporate_number=form.corporate_number.data or None,
                address=form.address.data or "", representative=form.representative.data or "",
                contact_email=form.contact_email.data or "",
            )
            db.session.commit()
            flash(f"事業者「{vendor.name}」を登録しました。続けて案件を登録できます。", "success")
            return redirect(url_for("staff.new_engagement", vendor_id=vendor.id))
    return render_template("staff/vendor_form.html", form=form, form_has_errors=bool(form.errors))


def _engagement_form() -> EngagementForm:
    form = EngagementForm()
    vendors = db.session.scalars(
        select(Vendor).filter_by(organisation_id=current_user.organisation_id).order_by(Vendor.name)
    ).all()
    form.vendor_id.choices = opts([(0, "選んでください")] + [(v.id, v.name) for v in vendors])
    officers = db.session.scalars(
        select(Officer).filter_by(organisation_id=current_user.organisation_id).order_by(Officer.id)
    ).all()
    form.officer_ids.choices = opts((o.id, f"{o.role_title}　{o.name}（{o.department}）") for o in officers)
    return form


@bp.route("/engagements/new", methods=["GET", "POST"])
@roles_required("procurement")
def new_engagement() -> Any:
    form = _engagement_form()
    if request.method == "GET" and request.args.get("vendor_id", type=int) is not None:
        form.vendor_id.data = request.args.get("vendor_id", type=int)
    if form.validate_on_submit():
        vendor = db.session.get(Vendor, form.vendor_id.data)
        if vendor is None or vendor.organisation_id != current_user.organisation_id:
            form.vendor_id.errors = ["委託事業者を選んでください。"]
        elif db.session.scalar(select(Engagement.id).filter_by(organisation_id=current_user.organisation_id, reference=form.reference.data)):
            form.reference.errors = ["この案件番号はすでに使われています。別の番号を入力してください。"]
        else:
            engagement = workflow.create_engagement(
                current_user.organisation, vendor, form.officer_ids.data or [],
                reference=form.reference.data, title=form.title.data, kinds=list(form.kinds.data),
                confidentiality=form.confidentiality.data, integrity=form.integrity.data or 1,
                availability=form.availability.data or 1, personal_data=form.personal_data.data,
                my_number=form.my_number.data, network_segment=form.network_segment.data or None,
                period_start=form.period_start.data, period_end=form.period_end.data,
            )
            db.session.commit()
            flash("案件を登録しました。回答依頼を送ってください。", "success")
            return redirect(url_for("staff.engagement", engagement_id=engagement.id))
    return render_template("staff/engagement_form.html", form=form, form_has_errors=bool(form.errors))


@bp.route("/engagements/<int:engagement_id>")
@login_required
def engagement(engagement_id: int) -> Any:
    eng = org_engagement(engagement_id)
    assessment = workflow.latest_assessment(eng)
    annexes = db.session.scalars(select(Annex).filter_by(engagement_id=eng.id).order_by(Annex.version.desc())).all()
    return render_template(
        "staff/engagement.html", engagement=eng, assessment=assessment, annexes=annexes,
        invite_form=InvitationForm(recipient_email=eng.vendor.contact_email), empty_form=EmptyForm(),
        decision_form=DecisionForm(),
    )


@bp.route("/engagements/<int:engagement_id>/invite", methods=["POST"])
@roles_required("procurement")
def invite(engagement_id: int) -> Any:
    eng = org_engagement(engagement_id)
    form = InvitationForm()
    if not form.validate_on_submit():
        assessment = workflow.latest_assessment(eng)
        return render_template(
            "staff/engagement.html", engagement=eng, assessment=assessment, annexes=[], invite_form=form,
            empty_form=EmptyForm(), decision_form=DecisionForm(), form_has_errors=True,
        ), 400
    try:
        sent = workflow.send_invitation(
            eng, recipient_email=form.recipient_email.data, recipient_name=form.recipient_name.data or "", user=current_user,
        )
    except StateError as exc:
        flash(str(exc), "error")
        return redirect(url_for("staff.engagement", engagement_id=eng.id))
    db.session.commit()
    result = workflow.deliver_mail(sent.mail)
    if result.smtp_error:
        flash("メールサーバーへの送信に失敗しました。下のリンクをコピーして、回答者に直接お知らせください。", "warning")
    # The token is shown once, right after sending, for copying; only its hash is stored.
    return render_template("staff/invitation_sent.html", engagement=eng, sent=sent, delivery=result)


@bp.route("/invitations/<int:invitation_id>/revoke", methods=["POST"])
@roles_required("procurement")
def revoke(invitation_id: int) -> Any:
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.engagement.organisation_id != current_user.organisation_id:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        workflow.revoke_invitation(invitation)
        db.session.commit()
        flash("回答依頼を取り消しました。リンクはもう使えません。", "success")
    except StateError as exc:
        flash(str(exc), "error")
    return redirect(url_for("staff.engagement", engagement_id=invitation.engagement_id))


@bp.route("/engagements/<int:engagement_id>/review", methods=["GET", "POST"])
@roles_required("reviewer")
def review(engagement_id: int) -> Any:
    eng = org_engagement(engagement_id)
    assessment = workflow.latest_assessment(eng)
    if assessment is None:
        flash("まだ回答が提出されていません。", "info")
        return redirect(url_for("staff.engagement", engagement_id=eng.id))
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            workflow.decide(assessment, form.decision.data, current_user, form.note.data or "")
            db.session.commit()
            flash("審査結果を登録しました。" if form.decision.data == "approved" else "差し戻しました。", "success")
            return redirect(url_for("staff.engagement", engagement_id=eng.id))
        except StateError as exc:
            db.session.rollback()
            if assessment.decision is not None:
                # Decided meanwhile (another tab, another reviewer): say so and show the decision.
                flash(str(exc), "error")
                return redirect(url_for("staff.review", engagement_id=eng.id))
            form.form_errors.append(str(exc))
    invitation = db.session.get(Invitation, assessment.response.invitation_id)
    return render_template(
        "staff/review.html", engagement=eng, assessment=assessment, form=form,
        answers=_answer_rows(invitation), form_has_errors=bool(form.errors or form.form_errors),
    )


def _answer_rows(invitation: Invitation | None) -> list[dict[str, Any]]:
    """(section, question, answer) rows of a submitted response for the reviewer."""
    if invitation is None or invitation.response is None:
        return []
    from ..domain.questionnaire import ANSWER_TYPES

    answers = invitation.response.answer_map()
    visible = workflow.visible_ids(invitation, answers)
    rows = []
    for q in workflow.invitation_questionnaires(invitation):
        for section in q.sections:
            for question in section.questions:
                if question.id not in visible:
                    continue
                value = answers.get(question.id)
                rows.append({
                    "questionnaire": q.title_ja, "section": section.title_ja, "question": question,
                    "display": ANSWER_TYPES[question.type].display(question, value) if value not in (None, "", []) else "未回答",
                    "evidence_id": value.get("evidence_id") if question.type == "file" and isinstance(value, dict) else None,
                })
    return rows


@bp.route("/evidence/<int:evidence_id>")
@roles_required("reviewer", "procurement")
def evidence(evidence_id: int) -> Any:
    """An uploaded evidence file, always as a download (never rendered inline), audited."""
    item = db.session.get(Evidence, evidence_id)
    response_row = db.session.get(Response, item.response_id) if item else None
    if item is None or response_row is None or response_row.invitation.engagement.organisation_id != current_user.organisation_id:
        abort(404)
    path = Path(current_app.config["UPLOAD_DIR"]) / item.stored_name
    if not path.is_file():
        abort(404)
    audit.record("evidence.download", "evidence", item.id, organisation_id=current_user.organisation_id,
                 data={"filename": item.filename, "sha256": item.sha256})
    db.session.commit()
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
    definitions = workflow.current_definitions()
    by_id = {x.id: (q, x) for q in definitions.values() for x in q.questions()}
    rows = []
    for key, ids in trace_questions(definitions, list(org.obligations)).items():
        paragraph = org.clause_paragraphs.get(OBLIGATION_PARAGRAPH[key.split(".")[0]]) or ""
        rows.append({
            "key": key, "label": OBLIGATION_LABELS.get(key, key), "paragraph": paragraph,
            "questions": [by_id[i] for i in ids if i in by_id],
        })
    return render_template("staff/trace.html", org=org, rows=rows)


@bp.errorhandler(IntegrityError)
def _integrity(error: IntegrityError) -> Any:
    db.session.rollback()
    flash("同じ内容がすでに登録されています。一覧を確認してください。", "error")
    return redirect(url_for("staff.dashboard"))
