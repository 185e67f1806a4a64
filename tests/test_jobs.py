"""Background jobs: inline without Redis; on a real RQ worker (real Redis at 127.0.0.1:6379) with
REDIS_URL. Jobs are idempotent (one job per key, a done job never runs twice), retried with backoff,
and their failures are visible on the admin page."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from conftest import TEST_PASSWORD, approve_through_services, make_app, seed_data
from helpers import free_port
from sqlalchemy import delete, func, select

from vendorrisk.extensions import db
from vendorrisk.models import Annex, JobRun
from vendorrisk.services import jobs

REDIS = "redis://127.0.0.1:6379/0"


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2):
            return True
    except OSError:
        return False


needs_redis = pytest.mark.skipif(not _redis_answers() and os.environ.get("CI") != "true",
                                 reason="Redis does not answer at 127.0.0.1:6379")








def _run_worker(app, **env: str) -> subprocess.CompletedProcess:
    """A real `vendorrisk worker --burst` process on the same database and queue."""
    environ = {
        **os.environ,
        "VENDORRISK_INSTANCE": app.instance_path,
        "VENDORRISK_SECRET_KEY": "worker-test-secret",
        "REDIS_URL": app.config["REDIS_URL"],
        "VENDORRISK_JOB_QUEUE": app.config["JOB_QUEUE"],
        **env,
    }
    if app.config.get("DATABASE_URL"):
        environ["DATABASE_URL"] = app.config["DATABASE_URL"]
    cli = Path(sys.executable).with_name("vendorrisk")
    return subprocess.run([str(cli), "worker", "--burst"], env=environ, capture_output=True, text=True,
                          timeout=120, check=False)


def test_inline_jobs_run_after_commit_once_per_key(app):
    with app.app_context():
        first = jobs.enqueue_mail("a@example.jp", "件名", "本文", key="mail:test:1")
        again = jobs.enqueue_mail("a@example.jp", "件名", "本文", key="mail:test:1")
        assert first.id == again.id
        db.session.commit()
        assert jobs.dispatch_pending() == [first.id]
        run = db.session.get(JobRun, first.id)
        assert run.state == "done" and run.attempts == 1
        assert len(list(Path(app.config["OUTBOX_DIR"]).glob("*.eml"))) == 1
        # Asked again after it is done: the same row, nothing sent twice.
        jobs.enqueue_mail("a@example.jp", "件名", "本文", key="mail:test:1")
        db.session.commit()
        assert jobs.dispatch_pending() == []
        assert jobs.run_job(first.id) is True
        assert len(list(Path(app.config["OUTBOX_DIR"]).glob("*.eml"))) == 1


def test_a_rolled_back_request_dispatches_nothing(app):
    with app.app_context():
        jobs.enqueue_mail("a@example.jp", "件名", "本文", key="mail:test:rollback")
        db.session.rollback()
        jobs.discard_pending()
        assert jobs.dispatch_pending() == []
        assert db.session.scalar(select(func.count(JobRun.id))) == 0


def test_bulk_annex_issue_inline(app, seed):
    approve_through_services(app, seed, kind="outsourcing")
    cloud = approve_through_services(app, seed, kind="cloud")
    with app.app_context():
        # The cloud engagement is approved but its annex not yet issued.
        db.session.execute(delete(Annex).where(Annex.engagement_id == cloud))
        db.session.commit()
        before = db.session.scalar(select(func.count(Annex.id)))
        assert before == 1
    result = app.test_cli_runner().invoke(args=["annex", "issue-all", "--org", "tamana-city", "--date", "2027-04-01"])
    assert result.exit_code == 0, result.output
    assert "queued: 2 annex jobs" in result.output
    with app.app_context():
        runs = db.session.scalars(select(JobRun).filter_by(name="annex.issue")).all()
        assert [r.state for r in runs] == ["done", "done"]
        # The outsourcing annex is unchanged (no new version); the cloud one is issued.
        assert db.session.scalar(select(func.count(Annex.id))) == 2
        assert db.session.scalar(select(Annex.engagement_id).order_by(Annex.id.desc()).limit(1)) == cloud
    # The same run again is the same jobs: nothing new.
    result = app.test_cli_runner().invoke(args=["annex", "issue-all", "--org", "tamana-city", "--date", "2027-04-01"])
    with app.app_context():
        assert db.session.scalar(select(func.count(JobRun.id))) == 2
        assert db.session.scalar(select(func.count(Annex.id))) == 2


@needs_redis
def test_real_worker_delivers_mail_and_retries_failures(backend, tmp_path, request, smtp, password_hash):
    controller, handler = smtp
    queue = f"vendorrisk-test-{secrets.token_hex(4)}"
    # Backoff intervals are set when a job is queued: none here, so the burst worker retries at once.
    app = make_app(backend, tmp_path, request, REDIS_URL=REDIS, JOB_QUEUE=queue, JOB_RETRY_INTERVALS=[0, 0])
    ns = seed_data(app, password_hash)
    with app.app_context():
        org_id = ns.org_ids["tamana-city"]
        ok = jobs.enqueue_mail("yamasaki@example.jp", "【玉名市】確認のお願い", "本文です。", key="mail:ok",
                               organisation_id=org_id)
        bad = jobs.enqueue_mail("nobody@example.jp", "届かないメール", "本文", key="mail:bad",
                                organisation_id=org_id)
        db.session.commit()
        jobs.dispatch_pending()
        ok_id, bad_id = ok.id, bad.id
        # Queued, not run: no worker yet.
        assert db.session.get(JobRun, ok_id).state == "queued"

    closed_port = str(free_port())
    # First worker: SMTP on a closed port, retries with no wait → both fail after every attempt.
    result = _run_worker(app, VENDORRISK_MAIL_SERVER="127.0.0.1", VENDORRISK_MAIL_PORT=closed_port)
    assert result.returncode == 0, result.stderr[-2000:]
    with app.app_context():
        db.session.expire_all()
        failed = db.session.get(JobRun, bad_id)
        assert failed.state == "failed" and failed.attempts == 3
        assert "SMTP delivery failed" in failed.last_error
        assert handler.messages == []

    # The admin sees the failure with its error, and retries the good one once SMTP is back.
    client = app.test_client()
    client.post("/login", data={"email": ns.users["admin"], "password": TEST_PASSWORD})
    page = client.get("/admin/jobs/?state=failed").get_data(as_text=True)
    assert "メール送信" in page and "失敗" in page and "SMTP delivery failed" in page
    r = client.post(f"/admin/jobs/{ok_id}/retry")
    assert r.status_code == 302
    other = app.test_client()
    other.post("/login", data={"email": ns.users["other_org_admin"], "password": TEST_PASSWORD})
    assert other.post(f"/admin/jobs/{bad_id}/retry").status_code == 404

    result = _run_worker(app, VENDORRISK_MAIL_SERVER="127.0.0.1", VENDORRISK_MAIL_PORT=str(controller.port))
    assert result.returncode == 0, result.stderr[-2000:]
    with app.app_context():
        db.session.expire_all()
        done = db.session.get(JobRun, ok_id)
        assert done.state == "done" and done.attempts == 4
        assert db.session.get(JobRun, bad_id).state == "failed"
    subjects = [str(make_header(decode_header(m["Subject"]))) for m in handler.messages]
    assert subjects == ["【玉名市】確認のお願い"]

    # Running the worker again sends nothing twice.
    assert _run_worker(app, VENDORRISK_MAIL_SERVER="127.0.0.1",
                       VENDORRISK_MAIL_PORT=str(controller.port)).returncode == 0
    assert len(handler.messages) == 1
