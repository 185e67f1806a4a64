"""Correcting, archiving and restoring vendors and engagements, and the audit trail staff browse."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..models import StateError, Vendor
from ..services import audit_trail, engagements, vendors
from .auth import roles_required
from .forms import EmptyForm, EngagementEditForm, VendorForm
from .staff import AUDIT_ROLES, org_engagement
from .unit_of_work import refusable

bp = Blueprint("records", __name__, url_prefix="/staff")


def org_vendor(vendor_id: int) -> Vendor:
    return db.one_or_404(select(Vendor).filter_by(id=vendor_id, organisation_id=current_user.organisation_id))


def _posted_button() -> None:
    if not EmptyForm().validate_on_submit():
        abort(400)


@bp.route("/vendors/<int:vendor_id>/edit", methods=["GET", "POST"])
@roles_required("procurement")
def edit_vendor(vendor_id: int) -> Any:
    vendor = org_vendor(vendor_id)
    # Pre-filled from the vendor on GET only: a POST is read from what was sent, never filled in from the row.
    form = VendorForm(obj=vendor if request.method == "GET" else None, organisation_id=current_user.organisation_id,
                      vendor_id=vendor.id)
    if form.validate_on_submit():
        changed = vendors.update_vendor(vendor, actor=current_user, **form.vendor_fields())
        flash(f"事業者「{vendor.name}」を修正しました。" if changed else "変更はありませんでした。", "success")
        return redirect(url_for("staff.vendors", q=vendor.name))
    return render_template("staff/vendor_form.html", form=form, form_has_errors=bool(form.errors), vendor=vendor)


def _flash_outcome(action: Callable[[], object], done: str) -> None:
    """Run an archive or restore: `done` when it went through, the refusal's message otherwise."""
    with refusable(StateError) as refusal:
        action()
    flash(refusal.message if refusal else done, "error" if refusal else "success")


@bp.route("/vendors/<int:vendor_id>/archive", methods=["POST"])
@roles_required("procurement")
def archive_vendor(vendor_id: int) -> Any:
    vendor = org_vendor(vendor_id)
    _posted_button()
    _flash_outcome(lambda: vendors.archive_vendor(vendor, actor=current_user),
                   f"事業者「{vendor.name}」をアーカイブしました。一覧の「アーカイブ」で表示し、元に戻せます。")
    return redirect(url_for("staff.vendors"))


@bp.route("/vendors/<int:vendor_id>/restore", methods=["POST"])
@roles_required("procurement")
def restore_vendor(vendor_id: int) -> Any:
    vendor = org_vendor(vendor_id)
    _posted_button()
    _flash_outcome(lambda: vendors.restore_vendor(vendor, actor=current_user),
                   f"事業者「{vendor.name}」を元に戻しました。")
    return redirect(url_for("staff.vendors", q=vendor.name))


@bp.route("/engagements/<int:engagement_id>/edit", methods=["GET", "POST"])
@roles_required("procurement")
def edit_engagement(engagement_id: int) -> Any:
    eng = org_engagement(engagement_id)
    form = EngagementEditForm(obj=eng if request.method == "GET" else None,
                              organisation_id=current_user.organisation_id, engagement_id=eng.id)
    if request.method == "GET":
        form.officer_ids.data = [link.officer_id for link in eng.officer_links]
    if form.validate_on_submit():
        with refusable(StateError) as refusal:
            result = engagements.update_engagement(
                eng, form.officer_ids.data or [], actor=current_user, reason=form.reason.data or "",
                **form.engagement_fields())
        if not refusal:
            _flash_update(result)
            return redirect(url_for("staff.engagement", engagement_id=eng.id))
        if isinstance(refusal.error, engagements.ReasonRequired):
            form.reason.errors = [*form.reason.errors, refusal.message]
        else:
            form.form_errors.append(refusal.message)
    return render_template("staff/engagement_edit.html", form=form, engagement=eng,
                           form_has_errors=bool(form.errors or form.form_errors),
                           locked=engagements.questionnaire_locked(eng))


def _flash_update(result: engagements.EngagementUpdate) -> None:
    if not result.changes:
        flash("変更はありませんでした。", "info")
        return
    flash("案件を修正しました。", "success")
    if result.revoked is not None:
        flash(f"質問票に関わる項目を変えたため、{result.revoked.recipient_email} に送った回答依頼を取り消しました。"
              "そのリンクはもう使えません。新しい回答依頼を送ってください。", "warning")
    elif result.needs_new_invitation:
        flash("質問票に関わる項目を変えたため、新しい回答依頼が必要です。これまでの回答は記録に残っています。",
              "warning")


@bp.route("/engagements/<int:engagement_id>/archive", methods=["POST"])
@roles_required("procurement")
def archive_engagement(engagement_id: int) -> Any:
    eng = org_engagement(engagement_id)
    _posted_button()
    _flash_outcome(lambda: engagements.archive_engagement(eng, actor=current_user),
                   "案件をアーカイブしました。案件一覧には「アーカイブ」の条件で表示され、元に戻せます。")
    return redirect(url_for("staff.engagement", engagement_id=eng.id))


@bp.route("/engagements/<int:engagement_id>/restore", methods=["POST"])
@roles_required("procurement")
def restore_engagement(engagement_id: int) -> Any:
    eng = org_engagement(engagement_id)
    _posted_button()
    _flash_outcome(lambda: engagements.restore_engagement(eng, actor=current_user), "案件を元に戻しました。")
    return redirect(url_for("staff.engagement", engagement_id=eng.id))


@bp.route("/audit")
@roles_required(*AUDIT_ROLES)
def audit_trail_page() -> Any:
    """監査記録: the organisation's trail, filtered by who, engagement, action and dates, newest first."""
    query = audit_trail.AuditQuery.from_args(request.args)
    page = audit_trail.trail_page(current_user.organisation_id, query)
    return render_template(
        "staff/audit.html", page=page, query=query, actors=audit_trail.actor_choices(current_user.organisation_id),
        actions=sorted(audit_trail.ACTION_LABELS.items(), key=lambda item: item[0]),
    )
