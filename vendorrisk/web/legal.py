"""Legal (法務・契約担当): annexes by engagement, their versions, downloads (audited)."""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import StringField

from ..domain.annex_compare import compare_versions
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


SCAN_TYPES = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg", "image/tiff": "tif"}
MAX_SCAN_BYTES = 20 * 1024 * 1024


class SignedForm(FlaskForm):
    """締結の記録: the date on the signed document and its scan."""

    signed_on = StringField("締結日（例：2026-12-01）")
    scan = FileField("締結した文書の写し（PDF 又は画像）")


def _back(eng: Engagement) -> Any:
    return redirect(request.form.get("next") == "engagement" and url_for("legal.engagement", engagement_id=eng.id)
                    or url_for("legal.index"))


@bp.route("/engagements/<int:engagement_id>/annex", methods=["POST"])
@roles_required("legal")
def issue(engagement_id: int) -> Any:
    eng = org_engagement(engagement_id)
    form = IssueAnnexForm()
    if not form.validate_on_submit():
        abort(400)
    with refusable(StateError) as refusal:
        issued = annex_service.issue(eng, current_user, memorandum=bool(form.memorandum.data))
    if refusal:
        flash(refusal.message, "error")
    elif issued.created:
        flash(f"特記事項（第{issued.annex.version}版）を作成しました。", "success")
    else:
        flash(f"内容に変更がないため、新しい版は作成していません（第{issued.annex.version}版のままです）。", "info")
    return _back(eng)


@bp.route("/engagements/<int:engagement_id>")
@roles_required("legal")
def engagement(engagement_id: int) -> Any:
    """One engagement's annex: preview, versions, 締結の記録."""
    eng = org_engagement(engagement_id)
    versions = db.session.scalars(
        select(Annex).filter_by(engagement_id=eng.id).order_by(Annex.version.desc())).all()
    return render_template("legal/engagement.html", engagement=eng, versions=versions, form=IssueAnnexForm(),
                           signed_form=SignedForm())


@bp.route("/engagements/<int:engagement_id>/annex/preview.pdf")
@roles_required("legal")
def preview(engagement_id: int) -> Any:
    """The annex as it would be issued now; nothing is stored and no version is created."""
    eng = org_engagement(engagement_id)
    memorandum = request.args.get("memorandum") == "1"
    try:
        html = annex_service.preview_html(eng, memorandum=memorandum)
    except StateError as exc:
        flash(f"{exc}", "error")
        return redirect(url_for("legal.engagement", engagement_id=eng.id))
    response = Response(annex_service.renderer().pdf_from_html(html), mimetype="application/pdf")
    response.headers["Content-Disposition"] = content_disposition(
        f"プレビュー_{eng.reference}.pdf", f"preview-{eng.reference}.pdf").replace("attachment", "inline", 1)
    response.headers["Cache-Control"] = "no-store"
    return response


def _signed_date(raw: str) -> dt.date | None:
    text = unicodedata.normalize("NFKC", raw or "").strip().replace("/", "-")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


@bp.route("/annexes/<int:annex_id>/signed", methods=["POST"])
@roles_required("legal")
def signed(annex_id: int) -> Any:
    annex = _org_annex(annex_id)
    form = SignedForm()
    signed_on = _signed_date(form.signed_on.data or "")
    upload = form.scan.data
    data = upload.read(MAX_SCAN_BYTES + 1) if upload else b""
    mimetype = (upload.mimetype if upload else "") or ""
    error = None
    if signed_on is None:
        error = "締結日を 2026-12-01 の形で入力してください。"
    elif not data:
        error = "締結した文書の写し（PDF 又は画像）を選択してください。"
    elif len(data) > MAX_SCAN_BYTES:
        error = "締結した文書の写しは 20MB 以下にしてください。"
    elif mimetype not in SCAN_TYPES:
        error = "締結した文書の写しは PDF、PNG、JPEG 又は TIFF にしてください。"
    if error is None and signed_on is not None:
        with refusable(StateError) as refusal:
            annex_service.record_signed(annex, current_user, signed_on=signed_on, scan=data,
                                        filename=upload.filename or "", mimetype=mimetype)
        error = refusal.message if refusal else None
    if error:
        flash(error, "error")
    else:
        flash(f"第{annex.version}版の締結（{signed_on}）を記録しました。", "success")
    return redirect(url_for("legal.engagement", engagement_id=annex.engagement_id))


@bp.route("/annexes/<int:annex_id>/signed-scan")
@roles_required("legal")
@audited_read
def signed_scan(annex_id: int) -> Any:
    annex = _org_annex(annex_id)
    if not annex.signed_scan:
        abort(404)
    audit.record("annex.download_signed", "annex", annex.id, organisation_id=annex.engagement.organisation_id,
                 actor=current_user, data={"document_id": annex.document_id})
    suffix = SCAN_TYPES.get(annex.signed_scan_mimetype or "", "bin")
    response = Response(annex.signed_scan, mimetype=annex.signed_scan_mimetype or "application/octet-stream")
    response.headers["Content-Disposition"] = content_disposition(
        f"締結済_{annex.engagement.reference}_第{annex.version}版.{suffix}",
        f"signed-{annex.engagement.reference}-v{annex.version}.{suffix}")
    response.headers["Cache-Control"] = "no-store"
    return response


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
    if old.version > new.version:
        new, old = old, new
    rows = compare_versions(old.text, new.text, changed_only=request.args.get("all") != "1")
    return render_template("legal/compare.html", new=new, old=old, rows=rows,
                           all_rows=request.args.get("all") == "1")


@bp.app_errorhandler(StateError)
def _state_error(error: StateError) -> Any:
    # The unit of work has rolled back; say why and go somewhere safe.
    flash(str(error), "error")
    return redirect(url_for("staff.dashboard"))
