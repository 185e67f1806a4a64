"""Upgrading keeps data: for each earlier revision (0001 … the one before head), a database is built
at that revision, every table gets a row (values made from the column types, CHECK constraints and
foreign keys as reflected at that revision), then it is upgraded to head and every row, with every
column that still exists, is found unchanged. On SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from conftest import BASE_CONFIG, PG_ADMIN_DSN, PG_AVAILABLE
from sqlalchemy import create_engine, text

from vendorrisk import create_app
from vendorrisk.extensions import db
from vendorrisk.migrate import upgrade
from vendorrisk.paths import MIGRATIONS_DIR


def _revisions() -> list[str]:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    script = ScriptDirectory.from_config(cfg)
    return [r.revision for r in reversed(list(script.walk_revisions()))]


REVISIONS = _revisions()
EARLIER = REVISIONS[:-1]
WHEN = dt.datetime(2026, 4, 1, 9, 30, tzinfo=dt.UTC)


def _check_choices(inspector: Any, table: str) -> dict[str, str]:
    """column → an allowed value, from CHECK constraints of the form `col IN ('a', 'b')`."""
    out = {}
    for check in inspector.get_check_constraints(table):
        match = re.search(r"\(?\"?(\w+)\"?\)?(?:::\w+(?: \w+)?)?\s+IN\s+\(\s*'([^']*)'", check["sqltext"], re.I)
        if match:
            out[match.group(1)] = match.group(2)
        for any_match in re.finditer(r"\(?(\w+)\)?(?:::text)?\s*=\s*ANY\s*\(\(?ARRAY\['([^']*)'", check["sqltext"]):
            out[any_match.group(1)] = any_match.group(2)
    return out


def _value(table: str, column: Any, choices: dict[str, str]) -> Any:
    name, kind = column.name, column.type
    if name in choices:
        return choices[name]
    if isinstance(kind, sa.Boolean):
        return True
    if isinstance(kind, sa.Integer | sa.Numeric | sa.Float):
        return 1
    if isinstance(kind, sa.DateTime):
        return WHEN
    if isinstance(kind, sa.Date):
        return WHEN.date()
    if isinstance(kind, sa.JSON):
        return {"kept": f"{table}.{name}"}
    if isinstance(kind, sa.LargeBinary):
        return b"kept"
    length = getattr(kind, "length", None) or 200
    return f"{table[:6]}-{name}"[:length]


def _fill(engine: sa.Engine) -> dict[str, dict[str, Any]]:
    """One row in every table (id 1; foreign keys point at id 1 of their table)."""
    inspector = sa.inspect(engine)
    metadata = sa.MetaData()
    metadata.reflect(engine)
    written: dict[str, dict[str, Any]] = {}
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            if table.name == "alembic_version":
                continue
            choices = _check_choices(inspector, table.name)
            row = {c.name: _value(table.name, c, choices) for c in table.columns}
            conn.execute(table.insert().values(**row))
            written[table.name] = row
    return written


def _normalise(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None) if value.tzinfo is None else value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _compare(engine: sa.Engine, written: dict[str, dict[str, Any]]) -> list[str]:
    metadata = sa.MetaData()
    metadata.reflect(engine)
    problems = []
    with engine.connect() as conn:
        for name, row in written.items():
            if name not in metadata.tables:
                problems.append(f"table {name} is gone")
                continue
            table = metadata.tables[name]
            key = {c: row[c] for c in (table.primary_key.columns.keys() or ["id"])}
            found = conn.execute(sa.select(table).filter_by(**key)).mappings().first()
            if found is None:
                problems.append(f"{name}: the row is gone")
                continue
            for column, value in row.items():
                if column in found and _normalise(found[column]) != _normalise(value):
                    problems.append(f"{name}.{column}: {value!r} became {found[column]!r}")
    return problems


def _sqlite_app(tmp_path: Path) -> Any:
    return create_app(dict(BASE_CONFIG), instance_path=tmp_path)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_app(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        app = _sqlite_app(tmp_path)
        yield app
    else:
        if not PG_AVAILABLE:
            pytest.skip("PostgreSQL does not answer at 127.0.0.1:5432")
        name = f"vendorrisk_mig_{secrets.token_hex(4)}"
        admin = create_engine(PG_ADMIN_DSN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = re.sub(r"/[^/]*$", f"/{name}", PG_ADMIN_DSN)
        app = create_app({**BASE_CONFIG, "DATABASE_URL": url}, instance_path=tmp_path)
        yield app
        with app.app_context():
            db.engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        return
    with app.app_context():
        db.engine.dispose()


def test_the_revision_chain_is_known():
    assert REVISIONS[0] == "0001" and len(REVISIONS) >= 2


@pytest.mark.parametrize("revision", EARLIER)
def test_upgrading_from_an_earlier_revision_keeps_every_row(fresh_app, revision):
    upgrade(fresh_app, revision)
    with fresh_app.app_context():
        written = _fill(db.engine)
    assert len(written) >= 10, "every table got its row"
    upgrade(fresh_app)
    with fresh_app.app_context():
        from vendorrisk.migrate import current_heads

        problems = _compare(db.engine, written)
    assert current_heads(fresh_app) == {REVISIONS[-1]}
    assert not problems, "\n".join(problems)

