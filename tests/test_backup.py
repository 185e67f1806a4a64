"""`vendorrisk backup` / `restore`: a backup restored into a new instance holds every answer, evidence
file and annex, byte for byte (hashes equal), on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import re
import secrets
import tarfile
from pathlib import Path

import pytest
from conftest import BASE_CONFIG, PG_ADMIN_DSN, approve_through_services
from helpers import form_data_for, portal_sections
from sqlalchemy import create_engine, select, text
from weasyprint import HTML

from vendorrisk import create_app
from vendorrisk.extensions import db
from vendorrisk.migrate import upgrade
from vendorrisk.models import Annex, Evidence, Response
from vendorrisk.web.answer_forms import field_name


def _upload_evidence(app, client, token: str) -> bytes:
    for qid, sid, questions in portal_sections(app, token):
        files = [x for x in questions if x.type == "file"]
        if files:
            pdf = HTML(string="<p>ISMS 登録証（バックアップ確認）</p>").write_pdf()
            data = form_data_for(questions)
            data[field_name(files[0].id)] = (io.BytesIO(pdf), "ISMS登録証.pdf")
            r = client.post(f"/r/{token}/s/{qid}/{sid}", data=data, content_type="multipart/form-data")
            assert r.status_code == 302
            return pdf
    raise AssertionError("the outsourcing bank asks for evidence files")


def _state(app) -> dict:
    """What a person would miss after a bad restore: answers, evidence bytes, annex PDFs."""
    with app.app_context():
        upload_dir = Path(app.config["UPLOAD_DIR"])
        answers = {r.id: (r.answers_sha256, r.frozen_answers, sorted((a.question_id, repr(a.value)) for a in r.answers))
                   for r in db.session.scalars(select(Response))}
        evidence = {e.stored_name: (e.sha256, hashlib.sha256((upload_dir / e.stored_name).read_bytes()).hexdigest())
                    for e in db.session.scalars(select(Evidence))}
        annexes = {a.document_id: (a.pdf_sha256, hashlib.sha256(a.pdf).hexdigest())
                   for a in db.session.scalars(select(Annex))}
    return {"answers": answers, "evidence": evidence, "annexes": annexes}


@pytest.fixture
def target_app(backend, tmp_path, request):
    """An empty, migrated instance in another folder (and, for PostgreSQL, another database)."""
    folder = tmp_path / "restored"
    config = dict(BASE_CONFIG)
    if backend == "postgres":
        name = f"vendorrisk_restore_{secrets.token_hex(4)}"
        admin = create_engine(PG_ADMIN_DSN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))

        def drop() -> None:
            with admin.connect() as conn:
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            admin.dispose()

        request.addfinalizer(drop)
        config["DATABASE_URL"] = re.sub(r"/[^/]*$", f"/{name}", PG_ADMIN_DSN)
    app = create_app(config, instance_path=folder)
    upgrade(app)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_backup_restores_into_a_new_instance_with_every_answer_file_and_annex(
        app, client, seed, invite, target_app, tmp_path):
    token = invite("outsourcing")
    evidence_pdf = _upload_evidence(app, client, token)
    approve_through_services(app, seed, kind="cloud")
    before = _state(app)
    assert before["evidence"] and before["annexes"] and before["answers"]

    archive = tmp_path / "backup.tar.gz"
    result = app.test_cli_runner().invoke(args=["backup", "--out", str(archive)])
    assert result.exit_code == 0, result.output
    assert "backup:" in result.output and "1 files" in result.output
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "manifest.json" in names and not any(n.startswith("secrets/") for n in names)

    result = target_app.test_cli_runner().invoke(args=["restore", str(archive)])
    assert result.exit_code == 0, result.output
    after = _state(target_app)
    assert after == before
    with target_app.app_context():
        stored = db.session.scalar(select(Evidence)).stored_name
    assert (Path(target_app.config["UPLOAD_DIR"]) / stored).read_bytes() == evidence_pdf

    # A second restore over data is refused without --force, and nothing changes.
    result = target_app.test_cli_runner().invoke(args=["restore", str(archive)])
    assert result.exit_code != 0 and "--force" in result.output
    assert _state(target_app) == before


def test_a_damaged_backup_is_refused_and_the_instance_is_untouched(app, client, seed, invite, target_app, tmp_path):
    invite("outsourcing")
    archive = tmp_path / "backup.tar.gz"
    assert app.test_cli_runner().invoke(args=["backup", "--out", str(archive)]).exit_code == 0
    # Re-pack with one member's bytes changed: the manifest's hash no longer matches.
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(archive) as src, tarfile.open(damaged, "w:gz") as dst:
        for info in src.getmembers():
            data = src.extractfile(info).read()
            if info.name.startswith("database"):
                data = data[:-10] + b"0123456789"
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))
    result = target_app.test_cli_runner().invoke(args=["restore", str(damaged)])
    assert result.exit_code != 0 and "壊れています" in result.output
    with target_app.app_context():
        assert db.session.scalar(select(Response)) is None

    (tmp_path / "not-a-backup.tar.gz").write_bytes(b"hello")
    result = target_app.test_cli_runner().invoke(args=["restore", str(tmp_path / "not-a-backup.tar.gz")])
    assert result.exit_code != 0 and "バックアップファイルを読めません" in result.output
