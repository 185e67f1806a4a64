"""vendorrisk: 委託事業者・外部サービスの情報セキュリティ確認から特記事項の作成まで.

The package itself imports nothing heavy: `create_app` loads Flask and SQLAlchemy on first call,
so worker processes that only render annexes (bench, job queue) start fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(test_config: dict[str, Any] | None = None, *, instance_path: str | Path | None = None) -> Flask:
    from .app import create_app as _create_app

    return _create_app(test_config, instance_path=instance_path)


def __getattr__(name: str) -> Any:
    if name in ("UnsafeConfigError", "JST"):
        from . import app

        return getattr(app, name)
    raise AttributeError(name)
