"""Staff login (Flask-Login), roles and organisation scoping."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.security import check_password_hash
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from ..extensions import db, limiter, login_manager
from ..models import User
from ..services import users

bp = Blueprint("auth", __name__)

F = TypeVar("F", bound=Callable[..., Any])

# A hash to compare against when the e-mail is unknown, so both paths take the same time.
_DUMMY_HASH = users.hash_password("not-a-real-password")


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The cookie holds "id:epoch" (User.get_id); a cookie from before the last logout or password
    change carries an older epoch and logs nobody in."""
    uid, _, epoch = user_id.partition(":")
    if not (uid.isdigit() and epoch.isdigit()) or len(uid) > 18:
        return None
    user = db.session.get(User, int(uid))
    if user is None or not user.active or str(user.session_epoch or 0) != epoch:
        return None
    return user


def _start_session(user: User) -> None:
    """A fresh session at login: nothing carried over from before (no fixation), a new CSRF token."""
    session.clear()
    login_user(user)


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


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField("現在のパスワード",
                                     validators=[DataRequired("現在のパスワードを入力してください。")])
    new_password = PasswordField("新しいパスワード", description="12文字以上で入力してください。", validators=[
        DataRequired("新しいパスワードを入力してください。"),
        Length(min=12, max=200, message="パスワードは12文字以上200文字以内にしてください。"),
    ])
    confirm_password = PasswordField("新しいパスワード（確認）", validators=[
        DataRequired("確認のため、新しいパスワードをもう一度入力してください。"),
        EqualTo("new_password", "確認用のパスワードが一致しません。同じものを入力してください。"),
    ])


def _safe_next(target: str | None) -> str | None:
    """A path on this site, or None. Control characters (CR/LF: header injection) and backslashes
    (browsers read `/\\evil.example` as `//evil.example`) are refused."""
    if not target or any(ord(c) < 0x20 or ord(c) == 0x7F or c == "\\" for c in target):
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
            _start_session(user)
            users.record_login(user)
            return redirect(_safe_next(request.args.get("next")) or url_for("staff.dashboard"))
        form.form_errors.append("メールアドレスまたはパスワードが正しくありません。")
    return render_template("auth/login.html", form=form, form_has_errors=bool(form.errors or form.form_errors))


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Any:
    users.record_logout(current_user._get_current_object())
    logout_user()
    session.clear()
    flash("ログアウトしました。", "success")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def change_password() -> Any:
    form = PasswordChangeForm()
    user: User = current_user._get_current_object()
    if form.validate_on_submit():
        if users.change_password(user, form.current_password.data or "", form.new_password.data or ""):
            _start_session(user)  # this browser stays logged in, with a new cookie
            flash("パスワードを変更しました。ほかの端末でのログインは終了しました。", "success")
            return redirect(url_for("staff.dashboard"))
        form.current_password.errors = ["現在のパスワードが正しくありません。"]
    has_errors = bool(form.errors)
    return render_template("auth/password.html", form=form, form_has_errors=has_errors), 400 if has_errors else 200
