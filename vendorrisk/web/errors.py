"""Japanese error pages for 400/403/404/405/413/429/500 (and the CSRF failure)."""

from __future__ import annotations

from flask import Flask, Response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

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
        "入力済みの内容は保存されています。時間をおいてもう一度お試しください。解決しない場合は担当者にお問い合わせください。",
    ),
}


def render_error(code: int, message: str | None = None) -> tuple[str, int]:
    title, default_message = PAGES.get(code, PAGES[500])
    return render_template("errors/error.html", title=title, message=message or default_message), code


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError) -> tuple[str, int]:
        return render_error(
            400, "画面の有効期限が切れたか、不正な送信です。ページを再読み込みして、もう一度操作してください。"
        )

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> tuple[str, int] | Response:
        code = error.code or 500
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
