"""Admin: the organisation (policy upload), its officer registry, its users and its settings."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..domain.annex import AnnexCompositionError
from ..domain.scoring import resolve_thresholds
from ..domain.vocabulary import KIND_LABELS, ROLE_LABELS, ROLES
from ..domain.wareki import long_date
from ..extensions import db
from ..models import StateError, User
from ..services import officers, organisation_settings, review, users
from .auth import roles_required
from .forms import (
    AnnexSettingsForm,
    ArticleOverrideForm,
    DeadlineSettingsForm,
    EmptyForm,
    GuidelineEditionForm,
    OfficerForm,
    PolicyUploadForm,
    ThresholdsForm,
    UserForm,
    paragraphs_from_text,
    paragraphs_to_text,
)
from .review_forms import ApprovalRouteForm
from .unit_of_work import refusable

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _thresholds_form() -> ThresholdsForm:
    current = resolve_thresholds((current_user.organisation.settings or {}).get("thresholds"))
    return ThresholdsForm(formdata=None, data=ThresholdsForm.initial(current))


def _annex_settings_form() -> AnnexSettingsForm:
    return AnnexSettingsForm(formdata=None, data=organisation_settings.annex_settings(current_user.organisation))


def _deadlines_form() -> DeadlineSettingsForm:
    org = current_user.organisation
    settings, info = organisation_settings.deadline_settings(org), organisation_settings.contact(org)
    return DeadlineSettingsForm(formdata=None, data={
        "open_days": settings.open_days, "remind_before": settings.remind_before,
        "remind_after": settings.remind_after,
        "closure_days": "\n".join(long_date(d) for d in settings.closure_days),
        "department": info.department, "phone": info.phone, "address": info.address, "sender": info.sender,
    })


def _organisation_page(status: int = 200, **forms: Any) -> Any:
    """The organisation page; a form given here (with its errors and typed values) replaces a blank one."""
    org = current_user.organisation
    staff = db.session.scalars(select(User).filter_by(organisation_id=org.id).order_by(User.id)).all()
    page = render_template(
        "admin/organisation.html",
        org=org,
        users=staff,
        policy_form=forms.get("policy_form") or PolicyUploadForm(),
        officer_form=forms.get("officer_form") or OfficerForm(),
        user_form=forms.get("user_form") or UserForm(),
        thresholds_form=forms.get("thresholds_form") or _thresholds_form(),
        annex_settings_form=forms.get("annex_settings_form") or _annex_settings_form(),
        deadlines_form=forms.get("deadlines_form") or _deadlines_form(),
        edition_form=forms.get("edition_form") or GuidelineEditionForm(
            formdata=None, data={"edition": organisation_settings.guideline_edition(org)}),
        route_form=forms.get("route_form") or _route_form(staff),
        form_has_errors=status != 200,
    )
    return page, status


def _route_form(staff: Any, formdata: Any = None) -> ApprovalRouteForm:
    """Who takes each 決裁 step: nobody (no such step), a role, or one named user of the organisation."""
    choices = [("", "なし"), *((f"role:{r}", f"役割：{ROLE_LABELS[r]}") for r in ROLES),
               *((f"user:{u.id}", f"個人：{u.name}（{u.role_label}）") for u in staff if u.active)]
    current = {step["stage"]: (f"user:{step['user_id']}" if step.get("user_id") else f"role:{step.get('role')}")
               for step in review.approval_route(current_user.organisation)}
    form = (ApprovalRouteForm(formdata=formdata) if formdata is not None
            else ApprovalRouteForm(formdata=None, data=current))
    form.review.choices = choices
    form.approve.choices = choices
    return form


@bp.route("/approval-route", methods=["POST"])
@roles_required("admin")
def approval_route() -> Any:
    org = current_user.organisation
    staff = db.session.scalars(select(User).filter_by(organisation_id=org.id).order_by(User.id)).all()
    form = _route_form(staff, request.form)
    if not form.validate_on_submit():
        return _organisation_page(400, route_form=form)
    with refusable(StateError) as refusal:
        review.set_approval_route(org, {"review": form.review.data or "", "approve": form.approve.data or ""},
                                  current_user)
    if refusal:
        form.form_errors.append(refusal.message)
        return _organisation_page(400, route_form=form)
    flash("決裁の設定を保存しました。これからの判定に使われます。", "success")
    return redirect(url_for("admin.organisation"))


@bp.route("/organisation")
@roles_required("admin")
def organisation() -> Any:
    return _organisation_page()


@bp.route("/policy", methods=["POST"])
@roles_required("admin")
def upload_policy() -> Any:
    """The upload step of the confirm-before-use flow (vendorrisk.web.policy_admin)."""
    from .policy_admin import receive_upload

    return receive_upload(PolicyUploadForm(), _organisation_page)


@bp.route("/officers", methods=["POST"])
@roles_required("admin")
def add_officer() -> Any:
    form = OfficerForm()
    if not form.validate_on_submit():
        return _organisation_page(400, officer_form=form)
    officers.add_officer(
        current_user.organisation,
        role=form.role.data,
        role_title=form.role_title.data,
        name=form.name.data,
        department=form.department.data or "",
        actor=current_user,
    )
    flash("責任者を登録しました。", "success")
    return redirect(url_for("admin.organisation"))


@bp.route("/users", methods=["POST"])
@roles_required("admin")
def add_user() -> Any:
    form = UserForm()
    if form.validate_on_submit():
        with refusable(users.UserRefused) as refusal:
            users.create_user(
                current_user.organisation,
                email=form.email.data,
                name=form.name.data,
                role=form.role.data,
                password=form.password.data,
                actor=current_user,
            )
        if not refusal:
            flash("利用者を登録しました。", "success")
            return redirect(url_for("admin.organisation"))
        form.email.errors = [refusal.message]
    return _organisation_page(400, user_form=form)


@bp.route("/thresholds", methods=["POST"])
@roles_required("admin")
def thresholds() -> Any:
    form = ThresholdsForm()
    valid = form.validate_on_submit()
    for field in form:  # blank after trimming (a full-width space, 「 」 …) is no score: never store null
        if field.name != "csrf_token" and not field.errors and field.data is None:
            field.errors = [*field.errors, "点数を入力してください。"]
            valid = False
    if not valid:
        return _organisation_page(400, thresholds_form=form)
    organisation_settings.save_thresholds(current_user.organisation, form.thresholds(), actor=current_user)
    flash("評価の基準点を保存しました。これから提出される回答の評価に使われます。", "success")
    return redirect(url_for("admin.organisation"))


@bp.route("/annex-settings", methods=["POST"])
@roles_required("admin")
def annex_settings() -> Any:
    form = AnnexSettingsForm()
    if form.validate_on_submit():
        with refusable(organisation_settings.SettingsRefused) as refusal:
            organisation_settings.save_annex_settings(current_user.organisation, form.values(), actor=current_user)
        if not refusal:
            flash("特記事項・覚書の記載を保存しました。これから作成する特記事項・覚書に使われます。", "success")
            return redirect(url_for("admin.organisation"))
        form.head_title.errors = [refusal.message]
    return _organisation_page(400, annex_settings_form=form)


@bp.route("/deadlines", methods=["POST"])
@roles_required("admin")
def deadlines() -> Any:
    form = DeadlineSettingsForm()
    if not form.validate_on_submit():
        return _organisation_page(400, deadlines_form=form)
    settings, info = form.settings()
    organisation_settings.save_deadlines(current_user.organisation, settings, info, actor=current_user)
    flash("回答期限とお知らせ・連絡先の設定を保存しました。", "success")
    return redirect(url_for("admin.organisation"))


@bp.route("/guideline-edition", methods=["POST"])
@roles_required("admin")
def guideline_edition() -> Any:
    """The edition of the national guideline cited wherever a guideline reference is shown."""
    form = GuidelineEditionForm()
    if form.validate_on_submit():
        with refusable(organisation_settings.SettingRefused) as refusal:
            organisation_settings.save_guideline_edition(current_user.organisation, form.edition.data or "",
                                                         actor=current_user)
        if not refusal:
            flash("ガイドラインの版を保存しました。", "success")
            return redirect(url_for("admin.organisation"))
        form.edition.errors = [*form.edition.errors, refusal.message]
    elif not form.edition.errors:
        form.form_errors.append("送信内容を確認できませんでした。もう一度送信してください。")
    return _organisation_page(400, edition_form=form)


# What each article's `when` means, for the articles page.
KIND_CONDITIONS = {
    "subcontracting": "再委託ありのとき",
    "no_subcontracting": "再委託なしのとき",
    "cloud_high": "機密性2以上の外部サービス",
    "cloud_low": "機密性1の外部サービス",
    "personal_data": "個人情報を扱うとき",
    "my_number": "マイナンバーを扱うとき",
    "findings": "是正事項があるとき",
}


def _library() -> dict[str, dict[str, Any]]:
    from ..domain.annex_articles import ARTICLES

    return {a["key"]: a for a in ARTICLES}


@bp.route("/articles")
@roles_required("admin")
def articles() -> Any:
    overrides = organisation_settings.article_overrides(current_user.organisation)
    return render_template(
        "admin/articles.html",
        library=list(_library().values()),
        overrides=overrides,
        kind_labels=KIND_LABELS,
        conditions=KIND_CONDITIONS,
    )


def _article_form(article: dict[str, Any], override: dict[str, Any]) -> ArticleOverrideForm:
    current = {**article, **override}
    return ArticleOverrideForm(
        data={
            "omit": bool(override.get("omit")),
            "heading": current["heading"],
            "paragraphs": paragraphs_to_text(current["paragraphs"]),
        }
    )


@bp.route("/articles/<key>", methods=["GET", "POST"])
@roles_required("admin")
def edit_article(key: str) -> Any:
    library = _library()
    if key not in library:
        abort(404)
    overrides = organisation_settings.article_overrides(current_user.organisation)
    form = _article_form(library[key], overrides.get(key, {}))
    if form.validate_on_submit():
        with refusable(AnnexCompositionError) as refusal:
            organisation_settings.override_article(
                current_user.organisation, key, form.change(library[key]["heading"]), actor=current_user
            )
        if not refusal:
            flash(
                f"「{library[key]['heading']}」の条文を保存しました。次に作成する特記事項から反映されます。", "success"
            )
            return redirect(url_for("admin.articles"))
        form.paragraphs.errors = [f"この条文は使えません：{refusal.message}"]
    return render_template(
        "admin/article_form.html",
        key=key,
        article=library[key],
        form=form,
        overridden=key in overrides,
        reset_form=EmptyForm(),
        form_has_errors=bool(form.errors),
    )


@bp.route("/articles/<key>/reset", methods=["POST"])
@roles_required("admin")
def reset_article(key: str) -> Any:
    if key not in _library() or not EmptyForm().validate_on_submit():
        abort(404)
    organisation_settings.reset_article(current_user.organisation, key, actor=current_user)
    flash("標準の条文に戻しました。", "success")
    return redirect(url_for("admin.articles"))


__all__ = ["bp", "paragraphs_from_text"]
