"""One unit of work per request: one place commits after success, any error rolls back, a plain
GET writes nothing, and mail and file clean-up wait for the outcome."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import abort, flash, redirect
from helpers import form_data_for, portal_sections
from sqlalchemy import select

from vendorrisk import create_app
from vendorrisk.extensions import db
from vendorrisk.models import Engagement, Evidence, Invitation, Organisation, StateError, Vendor
from vendorrisk.services import evidence
from vendorrisk.services.unit_of_work import after_commit, after_rollback, unit_of_work
from vendorrisk.services.vendors import create_vendor
from vendorrisk.web import answer_forms
from vendorrisk.web.unit_of_work import keep_changes, refusable

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _vendor_names(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(select(Vendor.name)))


@pytest.fixture
def routes(app, seed):
    """Small views that write a vendor and then answer in different ways."""
    ran: list[str] = []

    def write(name: str) -> None:
        org = db.session.get(Organisation, seed.org_ids["tamana-city"])
        create_vendor(org, name=name)

    @app.post("/_uow/ok")
    def ok():
        write("committed")
        after_commit(lambda: ran.append("mail"))
        return "ok"

    @app.post("/_uow/bad-request")
    def bad_request():
        write("refused-400")
        after_commit(lambda: ran.append("mail-400"))
        return "no", 400

    @app.post("/_uow/kept")
    def kept():
        write("kept-422")
        keep_changes()
        return "partly saved", 422

    @app.post("/_uow/boom")
    def boom():
        write("exploded")
        after_rollback(lambda: ran.append("cleanup"))
        raise RuntimeError("boom")

    @app.post("/_uow/abort")
    def aborted():
        write("aborted")
        abort(404)

    @app.post("/_uow/refused")
    def refused():
        with refusable(StateError) as refusal:
            write("refused-move")
            raise StateError("この操作はできません。")
        flash(refusal.message, "error")
        return redirect("/")

    @app.get("/_uow/get")
    def get_writes():
        write("written-on-get")
        return "looked"

    @app.post("/_uow/upload-then-fail")
    def upload_then_fail():
        org_engagement = db.session.scalar(select(Engagement))
        inv = org_engagement.current_invitation()
        evidence.store_evidence(inv.response, "x.y", "ok.pdf", PDF, app.config["UPLOAD_DIR"])
        raise RuntimeError("after the file was written")

    return ran


def test_success_commits_once_then_runs_after_commit_work(app, client, routes):
    assert client.post("/_uow/ok").status_code == 200
    assert "committed" in _vendor_names(app)
    assert routes == ["mail"]


def test_an_error_status_rolls_back_and_after_commit_work_never_runs(app, client, routes):
    assert client.post("/_uow/bad-request").status_code == 400
    assert client.post("/_uow/abort").status_code == 404
    names = _vendor_names(app)
    assert "refused-400" not in names and "aborted" not in names
    assert routes == []


def test_a_view_may_keep_its_valid_changes_with_an_error_status(app, client, routes):
    assert client.post("/_uow/kept").status_code == 422
    assert "kept-422" in _vendor_names(app)


def test_an_exception_rolls_back_and_runs_the_clean_up(app, client, routes):
    r = client.post("/_uow/boom")
    body = r.get_data(as_text=True)
    assert r.status_code == 500 and "システムエラーが発生しました" in body
    # The page says what is true after a rollback: what was just sent was not saved.
    assert "この操作で送った内容は保存されていません" in body and "入力済みの内容は保存されています" not in body
    assert "exploded" not in _vendor_names(app)
    assert routes == ["cleanup"]


def test_a_refused_move_rolls_back_even_when_the_view_redirects(app, client, routes):
    r = client.post("/_uow/refused")
    assert r.status_code == 302
    assert "refused-move" not in _vendor_names(app)


def test_a_plain_get_writes_nothing(app, client, routes):
    assert client.get("/_uow/get").status_code == 200
    assert "written-on-get" not in _vendor_names(app)


def test_an_upload_of_a_rolled_back_request_leaves_no_file(app, client, routes, invite):
    invite()
    assert client.post("/_uow/upload-then-fail").status_code == 500
    with app.app_context():
        assert db.session.scalar(select(Evidence)) is None
    assert list(Path(app.config["UPLOAD_DIR"]).glob("*")) == []


def test_opening_the_portal_records_nothing_saving_records_the_visit(app, client, invite):
    token = invite()
    for path in ("/", "/check"):
        assert client.get(f"/r/{token}{path}").status_code == 200
    with app.app_context():
        assert db.session.scalar(select(Invitation.last_opened_at)) is None
    qid, sid, questions = portal_sections(app, token)[0]
    assert client.post(f"/r/{token}/s/{qid}/{sid}", data=form_data_for(questions)).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Invitation.last_opened_at)) is not None


def test_the_cli_unit_of_work_commits_or_rolls_back(app, seed):
    with app.app_context():
        org = db.session.get(Organisation, seed.org_ids["tamana-city"])
        with unit_of_work():
            create_vendor(org, name="CLIで登録")
        with pytest.raises(RuntimeError), unit_of_work():
            create_vendor(org, name="取り消される")
            raise RuntimeError("stop")
    names = _vendor_names(app)
    assert "CLIで登録" in names and "取り消される" not in names


def test_an_illegal_engagement_move_is_refused_in_japanese(app, seed):
    with app.app_context():
        eng = db.session.get(Engagement, seed.engagements[("tamana-city", "outsourcing")])
        assert eng.state == "draft"
        with pytest.raises(StateError, match="「下書き」から「承認済み」に変えることはできません"):
            eng.move_to("approved")
        eng.move_to("invited")
        assert eng.state == "invited"


def test_start_up_fails_when_an_answer_type_has_no_web_field(tmp_path, monkeypatch):
    monkeypatch.delitem(answer_forms.WEB_ANSWER_TYPES, "date")
    with pytest.raises(RuntimeError, match=r"without a web field \['date'\]"):
        create_app({"TESTING": True}, instance_path=tmp_path)


def test_views_never_commit_nor_roll_back():
    from vendorrisk.paths import PACKAGE_DIR

    # The web layer, the request wrapper included, leaves commit and rollback to services.unit_of_work.
    for path in sorted((PACKAGE_DIR / "web").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert ".commit()" not in text and ".rollback()" not in text, f"{path.name} commits or rolls back by hand"
