"""The OpenAPI 3.1 document, built from the operations as declared (never written by hand)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from . import ERROR_MESSAGES, OPERATIONS, Operation
from .schemas import ErrorOut

REF = "#/components/schemas/{model}"


def _models() -> list[type[BaseModel]]:
    seen: dict[str, type[BaseModel]] = {"ErrorOut": ErrorOut}
    for op in OPERATIONS:
        for model in (op.body, op.response):
            if model is not None:
                seen.setdefault(model.__name__, model)
    return list(seen.values())


def _path_parameters(op: Operation) -> list[dict[str, Any]]:
    names = [part[1:-1] for part in op.path.split("/") if part.startswith("{")]
    return [{"name": name, "in": "path", "required": True,
             "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}} for name in names]


def _operation(op: Operation, refs: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": refs[(ErrorOut, "serialization")]}}}
    if op.response is not None:
        ok = {"description": "成功", "content": {op.media_type: {"schema": refs[(op.response, "serialization")]}}}
    else:
        ok = {"description": "成功", "content": {op.media_type: {"schema": {"type": "string",
                                                                            "contentMediaType": op.media_type}}}}
    responses: dict[str, Any] = {str(op.status): ok}
    for status in op.errors:
        responses[str(status)] = {"description": ERROR_MESSAGES[status], **error}
    doc: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "security": [{"apiKey": [op.scope]}],
        "parameters": _path_parameters(op) + op.query,
        "responses": responses,
    }
    if op.body is not None:
        doc["requestBody"] = {"required": True,
                              "content": {"application/json": {"schema": refs[(op.body, "validation")]}}}
    return doc


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    models = _models()
    modes: tuple[Literal["validation", "serialization"], ...] = ("validation", "serialization")
    inputs = [(m, mode) for mode in modes for m in models]
    refs, top = models_json_schema(inputs, ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(f"/api/v1{op.path}", {})[op.method.lower()] = _operation(op, refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "vendorrisk API",
            "version": "1",
            "description": "委託事業者・委託案件・回答依頼・審査結果・特記事項・監査記録。"
                           "APIキーは団体ごとに管理者が発行します（Authorization: Bearer <キー>）。",
        },
        "paths": paths,
        "components": {
            "schemas": top.get("$defs", {}),
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer",
                                           "description": "団体設定 → APIキー で発行したキー"}},
        },
    }
