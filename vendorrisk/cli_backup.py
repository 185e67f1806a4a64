"""`vendorrisk backup` and `vendorrisk restore`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import inspect, select, text

from .services.backup import BackupError, create_backup, restore_backup


def _default_archive() -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(current_app.instance_path) / "backups" / f"vendorrisk-{stamp}.tar.gz"


def _pg_details() -> tuple[list[str], str | None]:
    from .extensions import db
    from .models import Evidence

    names = list(db.session.scalars(select(Evidence.stored_name).order_by(Evidence.id)))
    revision = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return names, revision


@click.command("backup")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="書き出すファイル（省略時は instance/backups/vendorrisk-日時.tar.gz）")
@click.option("--include-secrets", is_flag=True, help="config.py と audit.key も含める（保管場所に注意）")
@with_appcontext
def backup_command(out: str | None, include_secrets: bool) -> None:
    """データベースと証跡ファイルをひとつのファイルにバックアップする（稼働中でも一貫した内容）。"""
    url = current_app.config["SQLALCHEMY_DATABASE_URI"]
    names, revision = (None, None)
    if url.startswith("postgresql"):
        names, revision = _pg_details()
    try:
        report = create_backup(
            url, Path(current_app.instance_path), Path(current_app.config["UPLOAD_DIR"]),
            Path(out) if out else _default_archive(), include_secrets=include_secrets,
            pg_evidence_names=names, pg_revision=revision,
        )
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"backup: {report.path} (database {report.database}, revision {report.revision}, "
               f"{report.files} files)")
    for name in report.missing:
        click.echo(f"warning: 証跡ファイル {name} が見つからないため、含めていません。", err=True)


def _has_data() -> bool:
    from .extensions import db

    if not inspect(db.engine).has_table("organisations"):
        return False
    return bool(db.session.execute(text("SELECT 1 FROM organisations LIMIT 1")).first())


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="データのあるインスタンスを上書きする")
@click.option("--restore-secrets", is_flag=True, help="バックアップに含まれる config.py と audit.key も戻す")
@with_appcontext
def restore_command(archive: str, force: bool, restore_secrets: bool) -> None:
    """バックアップから、このインスタンスのデータベースと証跡ファイルを戻す。"""
    from .extensions import db
    from .migrate import upgrade

    if _has_data() and not force:
        raise click.ClickException(
            "このインスタンスにはすでにデータがあります。上書きしてよい場合は --force を付けてください。"
        )
    db.session.remove()
    db.engine.dispose()
    try:
        report = restore_backup(
            Path(archive), current_app.config["SQLALCHEMY_DATABASE_URI"], Path(current_app.instance_path),
            Path(current_app.config["UPLOAD_DIR"]), restore_secrets=restore_secrets,
        )
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    db.engine.dispose()
    upgrade(current_app._get_current_object())  # type: ignore[attr-defined]  # an older backup moves to head
    click.echo(f"restored: database {report.database} (revision {report.revision}), {report.files} files")
