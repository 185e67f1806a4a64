"""Admin: the organisation (policy upload), its officer registry and its users."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from sqlalchemy.orm.attributes import flag_modified
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..models import Officer, User
from ..services import audit
from .auth import hash_password, roles_required
from .forms import ThresholdsForm, ArticleOverrideForm, EmptyForm, OfficerForm, PolicyUploadForm, UserForm, paragraphs_from_text, paragraphs_to_text

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _thresholds_form() -> ThresholdsForm:
    from ..domain.scoring import resolve_thresholds

    current = resolve_thresholds((current_user.organisation.settings or {}).get("thresholds"))
    return ThresholdsForm(formdata=None, data=ThresholdsForm.initial(current))


def _organisation_page(status: int = 200, **forms: Any) -> Any:
    """The organisation page; a form given here (with its errors and typed values) replaces a blank one."""
    org = current_user.organisation
    users = db.session.scalars(select(User).filter_by(organisation_id=org.id).order_by(User.id)).all()
    page = render_template(
        "admin/organisation.html", org=org, users=users,
        policy_form=forms.get("policy_form") or PolicyUploadForm(),
        officer_form=forms.get("officer_form") or OfficerForm(),
        user_form=forms.get("user_form") or UserForm(),
        thresholds_form=forms.get("thresholds_form") or _thresholds_form(),
        form_has_errors=status != 200,
    )
    return page, status


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
    org = current_user.organisation
    if form.validate_on_submit():
        officer = Officer(organisation_id=org.id, role=form.role.data, role_title=form.role_title.data,
                          name=form.name.data, department=form.department.data or "")
        db.session.add(officer)
        db.session.flush()
        audit.record("officer.create", "officer", officer.id, organisation_id=org.id, data={"name": officer.name})
        db.session.commit()
        flash("責任者を登録しました。", "success")
        return redirect(url_for("admin.organisation"))
    return _organisation_page(400, officer_form=form)


@bp.route("/users", methods=["POST"])
@roles_required("admin")
def add_user() -> Any:
    form = UserForm()
    org = current_user.organisation
    if form.validate_on_submit():
        email = form.email.data.lower()
        if db.session.scalar(select(User.id).filter_by(email=email)):
            form.email.errors = ["このメールアドレスはすでに登録されています。"]
        else:
            user = User(organisation_id=org.id, email=email, name=form.name.data, role=form.role.data,
                        password_hash=hash_password(form.password.data))
            db.session.add(user)
            db.session.flush()
            audit.record("user.create", "user", user.id, organisation_id=org.id, data={"role": user.role})
            db.session.commit()
            flash("利用者を登録しました。", "success")
            return redirect(url_for("admin.organisation"))
    return _organisation_page(400, user_form=form)


@bp.route("/thresholds", methods=["POST"])
@roles_required("admin")
def thresholds() -> Any:
    form = ThresholdsForm()
    if form.validate_on_submit():
        org = current_user.organisation
        settings = dict(org.settings or {})
        settings["thresholds"] = form.thresholds()
        org.settings = settings
        flag_modified(org, "settings")
        audit.record("organisation.thresholds", "organisation", org.id, organisation_id=org.id, data=settings["thresholds"])
        db.session.commit()
        flash("評価の基準点を保存しました。これから提出される回答の評価に使われます。", "success")
        return redirect(url_for("admin.organisation"))
    return _organisation_page(400, thresholds_form=form)


KIND_CONDITIONS = {
    "subcontracting": "再委託ありのとき", "no_subcontracting": "再委託なしのとき", "cloud_high": "機密性2以上の外部サービス",
    "cloud_low": "機密性1の外部サービス", "personal_data": "個人情報を扱うとき", "my_number": "マイナンバーを扱うとき",
    "findings": "是正事項があるとき",
}


def _library() -> dict[str, dict[str, Any]]:
    from ..domain.annex_articles import ARTICLES

    return {a["key"]: a for a in ARTICLES}


@bp.route("/articles")
@roles_required("admin")
def articles() -> Any:
    from ..models import KIND_LABELS

    overrides = (current_user.organisation.settings or {}).get("articles_override") or {}
    return render_template("admin/articles.html", library=list(_library().values()), overrides=overrides,
                           kind_labels=KIND_LABELS, conditions=KIND_CONDITIONS)


@bp.route("/articles/<key>", methods=["GET", "POST"])
@roles_required("admin")
def edit_article(key: str) -> Any:
    from ..domain.annex import AnnexCompositionError, check_overrides

    library = _library()
    if key not in library:
        abort(404)
    org = current_user.organisation
    settings = dict(org.settings or {})
    overrides = dict(settings.get("articles_override") or {})
    current = {**library[key], **overrides.get(key, {})}
    form = ArticleOverrideForm(data={
        "omit": bool(overrides.get(key, {}).get("omit")),
        "heading": current["heading"],
        "paragraphs": paragraphs_to_text(current["paragraphs"]),
    })
    if form.validate_on_submit():
        if form.omit.data:
            change: dict[str, Any] = {"omit": True}
        else:
            change = {"heading": form.heading.data or library[key]["heading"],
                      "paragraphs": paragraphs_from_text(form.paragraphs.data or "")}
        candidate = {**overrides, key: change}
        try:
            check_overrides(candidate)
        except AnnexCompositionError as exc:
            form.paragraphs.errors = [f"この条文は使えません：{exc}"]
        else:
            settings["articles_override"] = candidate
            org.settings = settings
            flag_modified(org, "settings")
            audit.record("organisation.article_override", "organisation", org.id, organisation_id=org.id,
                         data={"article": key, "change": change})
            db.session.commit()
            flash(f"「{library[key]['heading']}」の条文を保存しました。次に作成する特記事項から反映されます。", "success")
            return redirect(url_for("admin.articles"))
    return render_template("admin/article_form.html", key=key, article=library[key], form=form,
                           overridden=key in overrides, reset_form=EmptyForm(),
                           form_has_errors=bool(form.errors))


@bp.route("/articles/<key>/reset", methods=["POST"])
@roles_required("admin")
def reset_article(key: str) -> Any:
    if key not in _library() or not EmptyForm().validate_on_submit():
        abort(404)
    org = current_user.organisation
    settings = dict(org.settings or {})
    overrides = dict(settings.get("articles_override") or {})
    if overrides.pop(key, None) is not None:
        settings["articles_override"] = overrides
        org.settings = settings
        flag_modified(org, "settings")
        audit.record("organisation.article_reset", "organisation", org.id, organisation_id=org.id, data={"article": key})
        db.session.commit()
    flash("標準の条文に戻しました。", "success")
    return redirect(url_for("admin.articles"))
