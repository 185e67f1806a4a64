"""Japanese error pages for 400/403/404/405/413/429/500 (and the CSRF failure), the limit on
token guessing and the masking of tokens in log lines.

Token guessing: every 404 under /r/ (a wrong, expired or revoked token) counts against two budgets
in the rate-limit storage (Redis when configured, so every worker shares them): one per client
address (TOKEN_GUESS_RATE_LIMIT) and one for the whole server (TOKEN_GUESS_GLOBAL_LIMIT). When
either is spent, every request under /r/ from that address (or, globally, every request under /r/
that does not carry a valid token) answers 429 before the token is looked up.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, abort, current_app, render_template, request
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError
from limits import RateLimitItem, parse
from werkzeug.exceptions import HTTPException

from .. import logging_filters
from ..extensions import limiter

PAGES = {
    400: ("リクエストを処理できませんでした", "入力内容を確認して、もう一度お試しください。"),
    403: (
        "このページを表示する権限がありません",
        "ご自身の団体・担当の範囲外のページです。必要な場合は管理者に権限を確認してください。",
    ),
    404: (
        "ページが見つかりません",
        "URLが正しいか確認してください。回答依頼のリンクの場合は、有効期限が切れたか、取り消された可能性があります。依頼元の担当者にお問い合わせください。",
    ),
    405: ("この操作はできません", "ページを再読み込みして、画面のボタンから操作してください。"),
    413: ("ファイルが大きすぎます", "10MB以下のファイルを選んでください。"),
    429: ("短時間にアクセスが集中しています", "しばらく待ってから、もう一度お試しください。"),
    500: (
        "システムエラーが発生しました",
        "これまでに保存した内容は残っています。時間をおいてもう一度お試しください。"
        "解決しない場合は担当者にお問い合わせください。",
    ),
}
# After a failed POST the unit of work has rolled back: what was just sent was NOT saved.
FAILED_WRITE_MESSAGE = (
    "この操作で送った内容は保存されていません（それより前に保存した内容は残っています）。"
    "時間をおいて、もう一度入力・操作してください。解決しない場合は担当者にお問い合わせください。"
)


def render_error(code: int, message: str | None = None) -> tuple[str, int]:
    title, default_message = PAGES.get(code, PAGES[500])
    if code == 500 and message is None and request.method not in ("GET", "HEAD", "OPTIONS"):
        default_message = FAILED_WRITE_MESSAGE
    return render_template("errors/error.html", title=title, message=message or default_message), code


def _guess_limits() -> list[tuple[RateLimitItem, str]]:
    config = current_app.config
    per_address = parse(str(config["TOKEN_GUESS_RATE_LIMIT"]))
    overall = parse(str(config["TOKEN_GUESS_GLOBAL_LIMIT"]))
    # The configured RATELIMIT_KEY_PREFIX applies here too (Flask-Limiter adds it only to the limits it
    # checks itself): deployments, and test servers, sharing one Redis keep separate budgets.
    prefix = str(config.get("RATELIMIT_KEY_PREFIX") or "")
    return [(per_address, f"{prefix}address:{get_remote_address()}"), (overall, f"{prefix}global")]


def _is_portal_path() -> bool:
    return request.path.startswith("/r/")


def _count_token_guess() -> None:
    if not limiter.enabled:
        return
    for item, key in _guess_limits():
        limiter.limiter.hit(item, "token-guess", key)


def _token_guessing_exhausted() -> bool:
    if not limiter.enabled:
        return False
    return any(not limiter.limiter.test(item, "token-guess", key) for item, key in _guess_limits())


def register(app: Flask) -> None:
    logging_filters.install()

    @app.url_value_preprocessor  # app-wide ones run before the portal's token lookup
    def _refuse_token_guessing(endpoint: str | None, values: dict[str, Any] | None) -> None:
        if _is_portal_path() and _token_guessing_exhausted():
            abort(429)

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError) -> tuple[str, int]:
        return render_error(
            400, "画面の有効期限が切れたか、不正な送信です。ページを再読み込みして、もう一度操作してください。"
        )

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> tuple[str, int] | Response:
        code = error.code or 500
        if code == 404 and _is_portal_path():
            _count_token_guess()
        if request.path.startswith("/api/"):
            from .api import error_response

            return error_response(code)
        return render_error(code if code in PAGES else 500)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> tuple[str, int] | Response:
        app.logger.exception("unhandled error")  # the unit of work has rolled back already
        if request.path.startswith("/api/"):
            from .api import error_response

            return error_response(500)
        return render_error(500)
