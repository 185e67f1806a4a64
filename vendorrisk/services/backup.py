"""Backup and restore of one instance: the database and the evidence files, in one archive.

An archive is a tar.gz holding:

- `manifest.json` — format, creation time, database kind, Alembic revision, and the sha256 and size of
  every other member;
- `database.sqlite3` (SQLite, taken with the online backup API: consistent while the app serves) or
  `database.pgdump` (PostgreSQL, `pg_dump --format=custom`);
- `uploads/<stored name>` — every evidence file the database refers to, copied *after* the database
  snapshot (files are written before their rows commit, so every file the snapshot names exists).

Annex PDFs live in the database (`annexes.pdf`), so they travel with it. Secrets (`config.py`,
`audit.key`) are left out unless asked for: a backup copied to another place should not carry the keys.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

FORMAT = 1
SECRET_FILES = ("config.py", "audit.key")


class BackupError(Exception):
    """A backup or restore that cannot be done; the message is Japanese and safe to show."""


@dataclass
class BackupReport:
    path: Path
    database: str
    files: int
    missing: list[str] = field(default_factory=list)
    revision: str | None = None


@dataclass
class RestoreReport:
    database: str
    files: int
    revision: str | None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _database_kind(url: str) -> str:
    backend = make_url(url).get_backend_name()
    if backend in ("sqlite", "postgresql"):
        return backend
    raise BackupError(f"このデータベース（{backend}）のバックアップには対応していません。")


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("メモリ上のデータベースはバックアップできません。")
    return Path(database)


def _libpq_url(url: str) -> str:
    """The URL pg_dump understands (no SQLAlchemy driver suffix)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _snapshot_sqlite(url: str, target: Path) -> None:
    source = sqlite3.connect(f"file:{_sqlite_path(url)}?mode=ro", uri=True)
    try:
        dest = sqlite3.connect(target)
        try:
            source.backup(dest)
        finally:
            dest.close()
    finally:
        source.close()


def _run_pg(args: list[str]) -> None:
    tool = shutil.which(args[0])
    if tool is None:
        raise BackupError(
            f"{args[0]} が見つかりません。PostgreSQL のクライアント（postgresql-client）を入れてください。"
        )
    result = subprocess.run([tool, *args[1:]], capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{args[0]} が失敗しました：{result.stderr.strip()[:500]}")


def _referenced_files(sqlite_snapshot: Path | None, session_rows: list[str] | None) -> list[str]:
    if sqlite_snapshot is not None:
        conn = sqlite3.connect(sqlite_snapshot)
        try:
            return [row[0] for row in conn.execute("SELECT stored_name FROM evidence ORDER BY id")]
        finally:
            conn.close()
    return list(session_rows or [])


def _revision_of_sqlite(path: Path) -> str | None:
    conn = sqlite3.connect(path)
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    finally:
        conn.close()
    return row[0] if row else None


def create_backup(database_url: str, instance_dir: Path, upload_dir: Path, out: Path, *,
                  include_secrets: bool = False, pg_evidence_names: list[str] | None = None,
                  pg_revision: str | None = None) -> BackupReport:
    """Write the archive to `out` (atomically: a temporary file renamed into place)."""
    kind = _database_kind(database_url)
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vendorrisk-backup-") as tmp:
        work = Path(tmp)
        members: dict[str, Path] = {}
        snapshot: Path | None = None
        if kind == "sqlite":
            snapshot = work / "database.sqlite3"
            _snapshot_sqlite(database_url, snapshot)
            members["database.sqlite3"] = snapshot
            revision = _revision_of_sqlite(snapshot)
        else:
            dump = work / "database.pgdump"
            _run_pg(["pg_dump", "--format=custom", "--no-owner", "--file", str(dump), _libpq_url(database_url)])
            members["database.pgdump"] = dump
            revision = pg_revision
        missing: list[str] = []
        for name in _referenced_files(snapshot, pg_evidence_names):
            source = upload_dir / name
            if source.is_file():
                members[f"uploads/{name}"] = source
            else:
                missing.append(name)
        if include_secrets:
            for name in SECRET_FILES:
                if (instance_dir / name).is_file():
                    members[f"secrets/{name}"] = instance_dir / name
        manifest = {
            "format": FORMAT,
            "created_at": dt.datetime.now(dt.UTC).isoformat(),
            "database": kind,
            "revision": revision,
            "missing_files": missing,
            "members": {name: {"sha256": _sha256(path), "size": path.stat().st_size} for name, path in members.items()},
        }
        partial = out.with_name(out.name + ".partial")
        with tarfile.open(partial, "w:gz") as tar:
            data = json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")
            info = tarfile.TarInfo("manifest.json")
            info.size = len(data)
            info.mtime = int(dt.datetime.now(dt.UTC).timestamp())
            tar.addfile(info, io.BytesIO(data))
            for name, path in members.items():
                tar.add(path, arcname=name, recursive=False)
        with partial.open("rb") as fh:
            os.fsync(fh.fileno())
        partial.replace(out)
    files = sum(1 for name in members if name.startswith("uploads/"))
    return BackupReport(path=out, database=kind, files=files, missing=missing, revision=revision)


def _safe_members(tar: tarfile.TarFile) -> dict[str, tarfile.TarInfo]:
    out: dict[str, tarfile.TarInfo] = {}
    for info in tar.getmembers():
        parts = Path(info.name).parts
        if not info.isfile() or info.name.startswith("/") or ".." in parts or len(parts) > 2:
            raise BackupError(f"バックアップに不正な項目があります：{info.name[:100]}")
        out[info.name] = info
    return out


def read_manifest(archive: Path) -> dict[str, Any]:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile("manifest.json")
            if member is None:
                raise KeyError("manifest.json")
            manifest: dict[str, Any] = json.loads(member.read().decode("utf-8"))
    except (OSError, KeyError, tarfile.TarError, ValueError) as exc:
        raise BackupError(
            "バックアップファイルを読めません（壊れているか、vendorrisk のバックアップではありません）。"
        ) from exc
    if manifest.get("format") != FORMAT:
        raise BackupError("このバックアップの形式には対応していません。")
    return manifest


def _extract_verified(archive: Path, manifest: dict[str, Any], work: Path) -> None:
    with tarfile.open(archive, "r:gz") as tar:
        members = _safe_members(tar)
        for name, expected in manifest["members"].items():
            info = members.get(name)
            if info is None:
                raise BackupError(f"バックアップに {name} がありません。")
            target = work / name
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(info)
            assert source is not None
            with target.open("wb") as fh:
                shutil.copyfileobj(source, fh)
            if _sha256(target) != expected["sha256"]:
                raise BackupError(f"バックアップの {name} が壊れています（ハッシュが一致しません）。")


def restore_backup(archive: Path, database_url: str, instance_dir: Path, upload_dir: Path, *,
                   restore_secrets: bool = False) -> RestoreReport:
    """Restore into the configured database and upload folder. Every member is checked against the
    manifest before anything in the instance is replaced."""
    manifest = read_manifest(archive)
    kind = _database_kind(database_url)
    if manifest["database"] != kind:
        raise BackupError(
            f"バックアップは {manifest['database']} のものです。{kind} のインスタンスには戻せません。"
        )
    with tempfile.TemporaryDirectory(prefix="vendorrisk-restore-", dir=instance_dir) as tmp:
        work = Path(tmp)
        _extract_verified(archive, manifest, work)
        if kind == "sqlite":
            target = _sqlite_path(database_url)
            target.parent.mkdir(parents=True, exist_ok=True)
            for suffix in ("-wal", "-shm"):
                Path(str(target) + suffix).unlink(missing_ok=True)
            os.replace(work / "database.sqlite3", target)
        else:
            _run_pg(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                     "--dbname", _libpq_url(database_url), str(work / "database.pgdump")])
        upload_dir.mkdir(parents=True, exist_ok=True)
        files = 0
        for path in sorted((work / "uploads").glob("*")) if (work / "uploads").is_dir() else []:
            os.replace(path, upload_dir / path.name)
            files += 1
        if restore_secrets and (work / "secrets").is_dir():
            for path in (work / "secrets").iterdir():
                os.replace(path, instance_dir / path.name)
    return RestoreReport(database=kind, files=files, revision=manifest.get("revision"))
