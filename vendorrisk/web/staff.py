"""Staff pages: procurement (vendors, engagements, invitations) and review."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask import Response as FlaskResponse
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..domain.scoring import RATING_JA
from ..domain.vocabulary import ENGAGEMENT_STATE_LABELS, JST, KIND_LABELS, RISK_LABELS
from ..extensions import db
from ..models import Annex, Engagement, Evidence, Invitation, Response, StateError, utcnow
from ..services import audit, definitions, engagements, exports, invitations, listing, vendors
from ..services.review import latest_assessment
from .auth import roles_required
from .downloads import content_disposition
from .forms import EmptyForm, EngagementForm, InvitationForm, VendorForm
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
        "officers": listing.officer_choices(current_user.organisation_id),
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
    return render_template("staff/vendors.html", page=page, query=query, sorts=listing.VENDOR_SORTS)


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
                     **loop_forms: Any) -> Any:
    from .review import engagement_context

    annexes = db.session.scalars(select(Annex).filter_by(engagement_id=eng.id).order_by(Annex.version.desc())).all()
    assessment = latest_assessment(eng)
    page = render_template(
        "staff/engagement.html", engagement=eng, assessment=assessment, annexes=annexes,
        invite_form=invite_form or InvitationForm(recipient_email=eng.vendor.contact_email),
        empty_form=EmptyForm(), form_has_errors=status != 200, **engagement_context(eng, assessment, **loop_forms),
    )
    return page, status


@bp.route("/engagements/<int:engagement_id>/invite", methods=["POST"])
@roles_required("procurement")
def invite(engagement_id: int) -> Any:
    eng = org_engagement(engagement_id)
    form = InvitationForm()
    if not form.validate_on_submit():
        return _engagement_page(eng, form, 400)
    with refusable(StateError) as refusal:
        sent = invitations.send_invitation(
            eng, recipient_email=form.recipient_email.data, recipient_name=form.recipient_name.data or "",
            user=current_user,
        )
    if refusal:
        flash(refusal.message, "error")
        return redirect(url_for("staff.engagement", engagement_id=eng.id))
    delivery = invitations.mail_after_commit(sent)

    def sent_page() -> str:
        if delivery.value.smtp_error:
            flash("メールサーバーへの送信に失敗しました。下のリンクをコピーして、回答者に直接お知らせください。",
                  "warning")
        # The token is shown once, right after sending, for copying; only its hash is stored.
        return render_template("staff/invitation_sent.html", engagement=eng, sent=sent, delivery=delivery.value)

    return RenderAfterCommit(sent_page)


@bp.route("/invitations/<int:invitation_id>/revoke", methods=["POST"])
@roles_required("procurement")
def revoke(invitation_id: int) -> Any:
    invitation = db.one_or_404(
        select(Invitation).join(Engagement).where(
            Invitation.id == invitation_id, Engagement.organisation_id == current_user.organisation_id
        )
    )
    if not EmptyForm().validate_on_submit():
        abort(400)
    with refusable(StateError) as refusal:
        invitations.revoke_invitation(invitation, actor=current_user)
    if refusal:
        flash(refusal.message, "error")
    else:
        flash("回答依頼を取り消しました。リンクはもう使えません。", "success")
    return redirect(url_for("staff.engagement", engagement_id=invitation.engagement_id))


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
    return render_template("staff/trace.html", org=org, rows=rows)


@bp.errorhandler(IntegrityError)
def _integrity(error: IntegrityError) -> Any:
    # The unit of work has rolled back (a unique row registered meanwhile, in another tab).
    flash("同じ内容がすでに登録されています。一覧を確認してください。", "error")
    return redirect(url_for("staff.dashboard"))
