"""The JSON API (`/api/v1`): per-organisation API keys, scoped read / write.

Every operation is declared once with `operation(...)`: the same declaration registers the Flask
route, checks the key's scope, validates the body with its pydantic model, and describes the
operation in the OpenAPI 3.1 document served at `/api/v1/openapi.json`. Every query is limited to the
key's organisation: another organisation's ids answer 404, exactly like ids that do not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException

from ...extensions import csrf, limiter
from ...models import ApiKey
from ...services import api_keys
from ..unit_of_work import audited_read

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

MAX_ID = 2**31 - 1  # ids beyond the database's integer answer 404, never a database error

ERROR_MESSAGES = {
    400: "リクエストの形式が正しくありません。",
    401: "APIキーがないか、無効です。Authorization: Bearer <APIキー> を付けてください。",
    403: "このAPIキーには、この操作の権限がありません（読み書きの権限が必要です）。",
    404: "指定されたものは見つかりません。",
    405: "このURLでは、この操作はできません。",
    409: "すでに登録されている内容と重なります。",
    413: "リクエストが大きすぎます。",
    415: "本文は application/json で送ってください。",
    422: "入力内容に問題があります。",
    429: "短い時間にリクエストが多すぎます。しばらく待ってから再度お試しください。",
    500: "サーバーで問題が起きました。時間をおいて再度お試しください。",
}


@dataclass
class Operation:
    method: str
    path: str  # OpenAPI form: /vendors/{vendor_id}
    summary: str
    scope: str
    response: type[BaseModel] | None
    status: int = 200
    body: type[BaseModel] | None = None
    query: list[dict[str, Any]] = field(default_factory=list)
    errors: tuple[int, ...] = (401, 404)
    media_type: str = "application/json"
    operation_id: str = ""


OPERATIONS: list[Operation] = []


class ApiError(Exception):
    def __init__(self, status: int, message: str | None = None, code: str | None = None,
                 details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message or ERROR_MESSAGES.get(status, ""))
        self.status = status
        self.message = message or ERROR_MESSAGES.get(status, "")
        self.code = code or {401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict",
                             422: "invalid", 400: "bad_request"}.get(status, "error")
        self.details = details


def error_response(status: int, message: str | None = None, code: str | None = None,
                   details: list[dict[str, Any]] | None = None) -> Response:
    err = ApiError(status, message, code, details)
    body: dict[str, Any] = {"code": err.code, "message": err.message}
    if details is not None:
        body["details"] = details
    response = jsonify({"error": body})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="vendorrisk"'
    return response


def _flask_path(path: str) -> str:
    return path.replace("{", "<int:").replace("}", ">")


def _authenticate(scope: str) -> ApiKey:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ApiError(401)
    key = api_keys.authenticate(secret.strip())
    if key is None:
        raise ApiError(401)
    if not key.allows(scope):
        raise ApiError(403)
    g.api_key = key
    return key


def _parse_body(model: type[BaseModel]) -> BaseModel:
    if not request.is_json:
        raise ApiError(415, code="unsupported_media_type")
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "本文をJSONとして読めません。")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = [{"field": ".".join(str(p) for p in e["loc"]), "type": e["type"], "message": e["msg"]}
                   for e in exc.errors(include_url=False, include_context=False, include_input=False)]
        raise ApiError(422, details=details) from exc


def _rate_limit() -> str:
    return str(current_app.config["API_RATE_LIMIT"])


def _limit_key() -> str:
    header = request.headers.get("Authorization", "")
    return "api:" + (header.rpartition("_")[0][-24:] or request.remote_addr or "anonymous")


def operation(method: str, path: str, summary: str, *, scope: str = "read",
              response: type[BaseModel] | None = None, status: int = 200, body: type[BaseModel] | None = None,
              query: list[dict[str, Any]] | None = None, errors: tuple[int, ...] = (401, 404),
              media_type: str = "application/json") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register one API operation (route, scope, body model, OpenAPI description)."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        op = Operation(method, path, summary, scope, response, status, body, query or [],
                       tuple(sorted({*errors, 401, 429})), media_type, view.__name__)
        OPERATIONS.append(op)

        @wraps(view)
        def wrapped(**ids: int) -> Any:
            if any(value > MAX_ID for value in ids.values()):
                raise ApiError(404)
            key = _authenticate(scope)
            parsed = _parse_body(body) if body is not None else None
            result = view(key, parsed, **ids) if body is not None else view(key, **ids)
            if isinstance(result, Response):
                return result
            out = jsonify(result)
            out.status_code = status
            return out

        limited = limiter.limit(_rate_limit, key_func=_limit_key)(wrapped)
        if method == "GET":
            # A read records the key's last use (and downloads their audit event): committed.
            limited = audited_read(limited)
        bp.add_url_rule(_flask_path(path), endpoint=view.__name__, view_func=limited, methods=[method])
        return limited

    return decorator


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> Response:
    return error_response(exc.status, exc.message, exc.code, exc.details)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    return error_response(exc.code or 500)


def is_api_request() -> bool:
    """For the app's error handlers: URLs under /api/ answer JSON, never the HTML error page."""
    return request.path.startswith("/api/")


from . import views  # noqa: E402,F401  (registers the operations)
from .openapi import openapi_document  # noqa: E402

bp.add_url_rule("/openapi.json", "openapi", lambda: jsonify(openapi_document()))
