"""Alembic, driven from the app's own engine (no alembic.ini to keep in sync)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from flask import Flask

from .extensions import db
from .paths import MIGRATIONS_DIR


def _config(connection: object) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(app: Flask, revision: str = "head") -> None:
    with app.app_context(), db.engine.begin() as connection:
        command.upgrade(_config(connection), revision)


def repair_data(app: Flask) -> list[str]:
    """Data fixes that need the application's own reading, run after `upgrade` (safe to run again):
    organisations whose stored citation lacks its parents (see services.organisations.repair_citation).
    Returns the slugs changed."""
    from .services.organisations import repair_citations
    from .services.unit_of_work import unit_of_work

    with app.app_context(), unit_of_work():
        return repair_citations()


def downgrade(app: Flask, revision: str) -> None:
    with app.app_context(), db.engine.begin() as connection:
        command.downgrade(_config(connection), revision)


def revision(app: Flask, message: str) -> None:
    """Autogenerate a new revision from the models (developer command)."""
    with app.app_context(), db.engine.begin() as connection:
        command.revision(_config(connection), message=message, autogenerate=True)


def current_heads(app: Flask) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    with app.app_context(), db.engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())
