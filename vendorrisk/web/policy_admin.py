"""Admin: confirm what was read from an uploaded policy, correct it, and put it in force.

Upload (the form on 団体設定 posts to ``admin.upload_policy``, which hands over to
:func:`receive_upload`) → review page (what was read beside the source, confidence, warnings,
the diff against the edition in force) → optional corrections with a reason → accept or discard.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..domain.policy import PARAGRAPH_KEYS, PARAGRAPH_LABELS, PolicyParseError
from ..domain.policy.front import enactment_date
from ..extensions import db
from ..models import PolicyEdition, User
from ..services import audit, policy_import
from .auth import roles_required
from .forms import EmptyForm, PolicyUploadForm
from .unit_of_work import refusable

bp = Blueprint("policy_admin", __name__, url_prefix="/admin/policy")

MAX_POLICY_BYTES = 5 * 1024 * 1024


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class PolicyCorrectionForm(FlaskForm):
    organisation = StringField(
        "団体名", filters=[_strip], validators=[DataRequired("団体名を入力してください。"), Length(max=200)]
    )
    title = StringField(
        "方針の名称", filters=[_strip], validators=[DataRequired("方針の名称を入力してください。"), Length(max=300)]
    )
    enacted_as_written = StringField(
        "制定・改定（記載のとおり）",
        filters=[_strip],
        validators=[Optional(), Length(max=100)],
        description="例：令和8年4月1日 一部改定。記載がなければ空欄にします。",
    )
    bodies = TextAreaField(
        "対象機関", filters=[_strip], description="1行に1つ書きます。", validators=[Length(max=4000)]
    )
    clause_number = StringField(
        "引用する条項の番号",
        filters=[_strip],
        validators=[DataRequired("条項の番号を入力してください（例：6(8)、第6条第8号）。"), Length(max=40)],
        description="特記事項で引用する番号です。上位の番号も含めて書きます（例：6(8)、第6条第8号）。",
    )
    clause_title = StringField(
        "条項の表題", filters=[_strip], validators=[DataRequired("条項の表題を入力してください。"), Length(max=200)]
    )
    outsourcing = TextAreaField(
        f"段落：{PARAGRAPH_LABELS['outsourcing']}",
        filters=[_strip],
        validators=[Length(max=4000)],
        description="該当する段落がなければ空欄にします。",
    )
    external_services = TextAreaField(
        f"段落：{PARAGRAPH_LABELS['external_services']}",
        filters=[_strip],
        validators=[Length(max=4000)],
        description="該当する段落がなければ空欄にします。",
    )
    social_media = TextAreaField(
        f"段落：{PARAGRAPH_LABELS['social_media']}",
        filters=[_strip],
        validators=[Length(max=4000)],
        description="該当する段落がなければ空欄にします。",
    )
    reason = TextAreaField(
        "修正の理由",
        filters=[_strip],
        validators=[Length(max=1000)],
        description="読み取り結果を修正したときは、理由を書きます（例：PDFの改行で段落が切れていたため）。",
    )

    def validate_enacted_as_written(self, field: Any) -> None:
        if field.data and enactment_date(field.data) is None:
            raise ValidationError("制定・改定日は「令和8年4月1日」のように年月日を含めて入力してください。")

    def validate_outsourcing(self, field: Any) -> None:
        if not (field.data or self.external_services.data or self.social_media.data):
            raise ValidationError("条項の段落を少なくとも1つ入力してください。")

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> PolicyCorrectionForm:
        clause = fields["clause"]
        return cls(
            data={
                "organisation": fields["organisation"],
                "title": fields["title"],
                "enacted_as_written": fields.get("enacted_as_written") or "",
                "bodies": "\n".join(fields.get("bodies") or []),
                "clause_number": clause["number_full"],
                "clause_title": clause["title"],
                **{k: clause["paragraphs"].get(k) or "" for k in PARAGRAPH_KEYS},
            }
        )

    def changes(self) -> dict[str, Any]:
        enacted = self.enacted_as_written.data or None
        date = enactment_date(enacted) if enacted else None
        return {
            "organisation": self.organisation.data,
            "title": self.title.data,
            "enacted_as_written": enacted,
            "enacted_on": date.isoformat() if date else None,
            "bodies": [line.strip() for line in (self.bodies.data or "").splitlines() if line.strip()],
            "clause.number_full": self.clause_number.data,
            "clause.title": self.clause_title.data,
            **{f"clause.paragraphs.{k}": (getattr(self, k).data or None) for k in PARAGRAPH_KEYS},
        }


def _user() -> User | None:
    user = current_user._get_current_object()
    return user if isinstance(user, User) else None


def _edition_or_404(edition_id: int) -> PolicyEdition:
    if edition_id > 2**62:
        abort(404)
    edition = policy_import.draft_for(current_user.organisation, edition_id)
    if edition is None:
        abort(404)
    return edition


def receive_upload(form: PolicyUploadForm, organisation_page: Any) -> Any:
    """The upload step: read the file into a draft and show it, or re-render the form with the error.

    *organisation_page* renders 団体設定 with the form (status 400) when the upload is refused."""
    org = current_user.organisation
    if not form.validate_on_submit():
        return organisation_page(400, policy_form=form)
    upload = form.policy_file.data
    data = upload.read(MAX_POLICY_BYTES + 1)
    if len(data) > MAX_POLICY_BYTES:
        form.policy_file.errors = ["ファイルが大きすぎます。5MB以下のファイルを選んでください。"]
        return organisation_page(400, policy_form=form)
    # Always an edition of the admin's own organisation: new organisations are made with the CLI
    # (`vendorrisk org import`), never from the web.
    with refusable(PolicyParseError) as refusal:
        edition = policy_import.create_draft(data, upload.filename or "policy", owner=org, user=_user())
    if refusal:
        form.policy_file.errors = [refusal.message]
        return organisation_page(400, policy_form=form)
    return redirect(url_for("policy_admin.review", edition_id=edition.id))


def _review_page(edition: PolicyEdition, status: int = 200, error: str | None = None) -> Any:
    changes = policy_import.diff_against_current(edition)
    paragraph_diffs = {}
    if changes is not None:
        for change in changes:
            if change.key.startswith("clause.paragraphs.") and change.changed:
                paragraph_diffs[change.key] = policy_import.text_diff(change.before, change.after)
    page = render_template(
        "admin/policy_review.html",
        edition=edition,
        fields=edition.fields,
        labels=policy_import.FIELD_LABELS,
        paragraph_keys=PARAGRAPH_KEYS,
        paragraph_labels=PARAGRAPH_LABELS,
        context=policy_import.source_context(edition),
        changes=changes,
        paragraph_diffs=paragraph_diffs,
        corrected_by=db.session.get(User, edition.corrected_by_id) if edition.corrected_by_id else None,
        action_form=EmptyForm(),
        error=error,
        form_has_errors=status != 200,
    )
    return page, status


@bp.route("/editions/<int:edition_id>")
@roles_required("admin")
def review(edition_id: int) -> Any:
    return _review_page(_edition_or_404(edition_id))


@bp.route("/editions/<int:edition_id>/edit", methods=["GET", "POST"])
@roles_required("admin")
def edit(edition_id: int) -> Any:
    edition = _edition_or_404(edition_id)
    if edition.state != "draft":
        return _review_page(edition, 409, "この読み取り結果はすでに確定または破棄されているため、変更できません。")
    form = PolicyCorrectionForm() if FlaskForm().is_submitted() else PolicyCorrectionForm.from_fields(edition.fields)
    if form.validate_on_submit():
        changes = form.changes()
        pending = policy_import.pending_corrections(edition, changes)
        if pending and not form.reason.data:
            form.reason.errors = ["読み取り結果を修正した理由を入力してください。"]
        else:
            corrections = policy_import.correct(edition, changes, reason=form.reason.data or "", user=_user())
            flash(
                f"修正を保存しました（{len(corrections)}項目）。内容を確かめて「この内容で取り込む」を押してください。"
                if corrections
                else "読み取りどおりの内容に戻しました。",
                "success",
            )
            return redirect(url_for("policy_admin.review", edition_id=edition.id))
    status = 400 if form.errors or form.reason.errors else 200
    return render_template(
        "admin/policy_edit.html",
        edition=edition,
        form=form,
        paragraph_keys=PARAGRAPH_KEYS,
        form_has_errors=status != 200,
    ), status


@bp.route("/editions/<int:edition_id>/accept", methods=["POST"])
@roles_required("admin")
def accept(edition_id: int) -> Any:
    edition = _edition_or_404(edition_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    with refusable(policy_import.PolicyImportError) as refusal:
        org = policy_import.accept(edition, user=_user())
    if refusal:
        return _review_page(edition, 409, refusal.message)
    flash(f"「{org.name}」の基本方針を更新しました（第{edition.edition}版、{org.clause_number} {org.clause_title}）。",
          "success")
    return redirect(url_for("admin.organisation"))


@bp.route("/editions/<int:edition_id>/discard", methods=["POST"])
@roles_required("admin")
def discard(edition_id: int) -> Any:
    edition = _edition_or_404(edition_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    with refusable(policy_import.PolicyImportError) as refusal:
        policy_import.discard(edition, actor=_user() or audit.SYSTEM)
    if refusal:
        return _review_page(edition, 409, refusal.message)
    flash("読み取った基本方針を取り込まずに破棄しました。", "success")
    return redirect(url_for("admin.organisation"))


@bp.route("/editions")
@roles_required("admin")
def editions() -> Any:
    """Every reading uploaded by this organisation's admins: drafts waiting, the edition in force, history."""
    org = current_user.organisation
    rows = db.session.scalars(
        select(PolicyEdition).filter_by(owner_organisation_id=org.id).order_by(PolicyEdition.id.desc())
    ).all()
    return render_template("admin/policy_editions.html", editions=rows)
