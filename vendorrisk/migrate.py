"""Alembic, driven from the app's own engine (no alembic.ini to keep in sync)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.config import Config
from flask import Flask
from sqlalchemy import Connection

from .extensions import db
from .paths import MIGRATIONS_DIR


def _config(connection: object) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


@contextmanager
def _migrating() -> Iterator[Connection]:
    """A connection in one transaction for the migration. On SQLite, foreign keys are off while it runs
    (changing a CHECK constraint rebuilds the table: drop, create, copy, which the referencing rows would
    refuse) and every reference is checked before the commit."""
    with db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")  # only outside a transaction
            connection.commit()
        try:
            with connection.begin():
                yield connection
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"the migration left rows pointing at nothing: {broken[:5]}")
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def upgrade(app: Flask, revision: str = "head") -> None:
    with app.app_context(), _migrating() as connection:
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
    with app.app_context(), _migrating() as connection:
        command.downgrade(_config(connection), revision)


def revision(app: Flask, message: str) -> None:
    """Autogenerate a new revision from the models (developer command)."""
    with app.app_context(), db.engine.begin() as connection:
        command.revision(_config(connection), message=message, autogenerate=True)


def current_heads(app: Flask) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    with app.app_context(), db.engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())
