"""Staff login (Flask-Login), roles and organisation scoping."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.security import check_password_hash
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from ..extensions import db, limiter, login_manager
from ..models import User
from ..services import users

bp = Blueprint("auth", __name__)

F = TypeVar("F", bound=Callable[..., Any])

# A hash to compare against when the e-mail is unknown, so both paths take the same time.
_DUMMY_HASH = users.hash_password("not-a-real-password")


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    return user if user is not None and user.active else None


def roles_required(*roles: str) -> Callable[[F], F]:
    """Login required, and the user's role must be one of `roles` (admin always passes)."""

    def decorator(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.role != "admin" and current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


class LoginForm(FlaskForm):
    email = EmailField("メールアドレス", validators=[DataRequired("メールアドレスを入力してください。")])
    password = PasswordField("パスワード", validators=[DataRequired("パスワードを入力してください。")])


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/")
def index() -> Any:
    return redirect(url_for("staff.dashboard") if current_user.is_authenticated else url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("staff.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        user = users.find_user(form.email.data or "")
        ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, form.password.data or "")
        if user is not None and ok and user.active:
            login_user(user)
            users.record_login(user)
            return redirect(_safe_next(request.args.get("next")) or url_for("staff.dashboard"))
        form.form_errors.append("メールアドレスまたはパスワードが正しくありません。")
    return render_template("auth/login.html", form=form, form_has_errors=bool(form.errors or form.form_errors))


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Any:
    logout_user()
    flash("ログアウトしました。", "success")
    return redirect(url_for("auth.login"))
