"""Admin: the organisation's API keys (issue, show once, revoke; last use shown)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import RadioField, StringField
from wtforms.validators import DataRequired, Length

from ..extensions import db
from ..models import ApiKey, StateError
from ..services import api_keys
from .auth import roles_required
from .forms import EmptyForm, opts
from .unit_of_work import refusable

bp = Blueprint("api_keys_admin", __name__, url_prefix="/admin/api-keys")


class ApiKeyForm(FlaskForm):
    name = StringField(
        "用途", filters=[lambda v: v.strip() if isinstance(v, str) else v],
        validators=[DataRequired("用途を入力してください（例：文書管理システム連携）。"),
                    Length(max=100, message="用途は100文字以内で入力してください。")],
        description="どのシステムが使うキーかを書きます。一覧に表示されます。",
    )
    scope = RadioField(
        "権限", default="read",
        choices=opts([("read", "読み取りのみ（一覧・状態・審査結果・特記事項・監査記録）"),
                      ("write", "読み書き（上記に加えて、事業者・案件の登録、回答依頼の送付・取消し）")]),
        validators=[DataRequired("権限を選んでください。")],
    )


def _page(form: ApiKeyForm, *, new_secret: str | None = None, status: int = 200) -> Any:
    keys = api_keys.keys_of(current_user.organisation)
    return render_template("admin/api_keys.html", keys=keys, form=form, revoke_form=EmptyForm(),
                           new_secret=new_secret, form_has_errors=status != 200), status


@bp.route("/")
@roles_required("admin")
def index() -> Any:
    return _page(ApiKeyForm(formdata=None))


@bp.route("/", methods=["POST"])
@roles_required("admin")
def create() -> Any:
    form = ApiKeyForm()
    if not form.validate_on_submit():
        return _page(form, status=400)
    new = api_keys.create_key(current_user.organisation, form.name.data, form.scope.data, actor=current_user)
    # Shown once, on this response only: the key is never stored and cannot be shown again.
    return _page(ApiKeyForm(formdata=None), new_secret=new.secret)


@bp.route("/<int:key_id>/revoke", methods=["POST"])
@roles_required("admin")
def revoke(key_id: int) -> Any:
    key = db.one_or_404(select(ApiKey).filter_by(id=key_id, organisation_id=current_user.organisation_id))
    if not EmptyForm().validate_on_submit():
        abort(400)
    with refusable(StateError) as refusal:
        api_keys.revoke_key(key, actor=current_user)
    if refusal:
        flash(refusal.message, "info")
        return redirect(url_for("api_keys_admin.index"))
    flash(f"APIキー「{key.name}」を無効にしました。このキーでの利用はすぐにできなくなります。", "success")
    return redirect(url_for("api_keys_admin.index"))
