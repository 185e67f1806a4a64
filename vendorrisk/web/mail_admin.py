"""Admin: the organisation's mail templates (edit with a preview, reset to the default) and the log of
the reminders and notices sent."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..domain.mail_templates import MAIL_KINDS, MailTemplateError, check
from ..services import organisation_settings, reminders
from .auth import roles_required
from .forms import EmptyForm, MailTemplateForm
from .unit_of_work import refusable

bp = Blueprint("mail_admin", __name__, url_prefix="/admin/mail")

KIND_LOG_LABELS = {key: kind.label for key, kind in MAIL_KINDS.items()}


@bp.route("/")
@roles_required("admin")
def index() -> Any:
    org = current_user.organisation
    edited = {key: organisation_settings.mail_template(org, key)[2] for key in MAIL_KINDS}
    return render_template("admin/mail_templates.html", kinds=MAIL_KINDS, edited=edited,
                           log=reminders.sent_log(org.id), log_labels=KIND_LOG_LABELS)


@bp.route("/<kind>", methods=["GET", "POST"])
@roles_required("admin")
def edit(kind: str) -> Any:
    """Edit one template; 「プレビュー」 renders it with sample values and saves nothing."""
    if kind not in MAIL_KINDS:
        abort(404)
    org = current_user.organisation
    subject, body, edited = organisation_settings.mail_template(org, kind)
    # Posted: what was typed (an empty post is not the saved text); else the current text.
    form = MailTemplateForm() if request.method == "POST" else MailTemplateForm(data={"subject": subject, "body": body})
    preview = None
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            if request.form.get("action") == "preview":
                with refusable(MailTemplateError) as refusal:
                    preview = check(kind, form.subject.data, form.body.data)
            else:
                with refusable(MailTemplateError) as refusal:
                    organisation_settings.save_mail_template(org, kind, form.subject.data, form.body.data,
                                                             actor=current_user)
                if not refusal:
                    flash(f"「{MAIL_KINDS[kind].label}」の文面を保存しました。", "success")
                    return redirect(url_for("mail_admin.index"))
            if refusal:
                form.body.errors = [refusal.message]
        status = 400 if form.errors else 200
    return render_template("admin/mail_template_form.html", kind=MAIL_KINDS[kind], form=form, preview=preview,
                           edited=edited, reset_form=EmptyForm(), form_has_errors=bool(form.errors)), status


@bp.route("/<kind>/reset", methods=["POST"])
@roles_required("admin")
def reset(kind: str) -> Any:
    if kind not in MAIL_KINDS or not EmptyForm().validate_on_submit():
        abort(404)
    organisation_settings.reset_mail_template(current_user.organisation, kind, actor=current_user)
    flash(f"「{MAIL_KINDS[kind].label}」を標準の文面に戻しました。", "success")
    return redirect(url_for("mail_admin.index"))
