"""Legal (法務・契約担当): annexes by engagement, their versions, downloads (audited)."""

from __future__ import annotations

import difflib
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..domain.vocabulary import KIND_LABELS
from ..extensions import db
from ..models import Annex, Engagement, StateError
from ..services import annexes as annex_service
from ..services import audit, listing
from .auth import roles_required
from .downloads import content_disposition
from .forms import IssueAnnexForm
from .staff import org_engagement
from .unit_of_work import audited_read, refusable

bp = Blueprint("legal", __name__, url_prefix="/legal")

DOCX_MIMETYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@bp.route("/")
@roles_required("legal")
def index() -> Any:
    """Approved engagements (paged, searchable) with their annex versions, in a fixed number of queries."""
    query = listing.ListQuery.from_args(request.args, listing.ANNEX_SORTS)
    page = listing.annex_page(current_user.organisation_id, query)
    return render_template(
        "legal/index.html", page=page, query=query, sorts=listing.ANNEX_SORTS, annex_filters=listing.ANNEX_FILTERS,
        kind_labels=KIND_LABELS, form=IssueAnnexForm(),
    )


@bp.route("/engagements/<int:engagement_id>/annex", methods=["POST"])
@roles_required("legal")
def issue(engagement_id: int) -> Any:
    eng = org_engagement(engagement_id)
    form = IssueAnnexForm()
    if not form.validate_on_submit():
        abort(400)
    with refusable(StateError) as refusal:
        annex = annex_service.issue_annex(eng, current_user, memorandum=bool(form.memorandum.data))
    if refusal:
        flash(refusal.message, "error")
    else:
        flash(f"特記事項（第{annex.version}版）を作成しました。", "success")
    return redirect(url_for("legal.index"))


def _org_annex(annex_id: int) -> Annex:
    return db.one_or_404(
        select(Annex).join(Engagement).where(
            Annex.id == annex_id, Engagement.organisation_id == current_user.organisation_id
        )
    )


def _download(annex: Annex, data: bytes, mimetype: str, suffix: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = content_disposition(
        annex_service.annex_filename(annex, suffix), f"annex-{annex.engagement.reference}-v{annex.version}.{suffix}"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/annexes/<int:annex_id>.pdf")
@roles_required("legal")
@audited_read
def download(annex_id: int) -> Any:
    annex = _org_annex(annex_id)
    audit.record(
        "annex.download", "annex", annex.id, organisation_id=annex.engagement.organisation_id, actor=current_user,
        data={"document_id": annex.document_id, "pdf_sha256": annex.pdf_sha256},
    )
    return _download(annex, annex.pdf, "application/pdf", "pdf")


@bp.route("/annexes/<int:annex_id>.docx")
@roles_required("legal")
@audited_read
def download_docx(annex_id: int) -> Any:
    annex = _org_annex(annex_id)
    data = annex_service.annex_docx(annex)
    audit.record(
        "annex.download_docx", "annex", annex.id, organisation_id=annex.engagement.organisation_id,
        actor=current_user, data={"document_id": annex.document_id},
    )
    return _download(annex, data, DOCX_MIMETYPE, "docx")


@bp.route("/annexes/<int:annex_id>/compare/<int:other_id>")
@roles_required("legal")
def compare(annex_id: int, other_id: int) -> Any:
    new, old = _org_annex(annex_id), _org_annex(other_id)
    if new.engagement_id != old.engagement_id:
        abort(404)
    diff = list(difflib.unified_diff(old.text.splitlines(), new.text.splitlines(), f"第{old.version}版",
                                     f"第{new.version}版", lineterm=""))
    return render_template("legal/compare.html", new=new, old=old, diff=diff)


@bp.app_errorhandler(StateError)
def _state_error(error: StateError) -> Any:
    # The unit of work has rolled back; say why and go somewhere safe.
    flash(str(error), "error")
    return redirect(url_for("staff.dashboard"))
