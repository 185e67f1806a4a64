"""Admins upload their own organisation's policy in the web UI; new organisations come from the CLI."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from vendorrisk.extensions import db
from vendorrisk.models import AuditEvent, Organisation, PolicyEdition
from vendorrisk.paths import POLICIES_DIR


def _upload(client, data: bytes, filename: str):
    """Upload, then confirm what was read (issue #11: nothing is used before an admin accepts it)."""
    r = client.post(
        "/admin/policy",
        data={"policy_file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )
    if r.status_code != 302:
        return r
    review = r.headers["Location"]
    assert "/admin/policy/editions/" in review
    assert client.get(review).status_code == 200
    return client.post(f"{review}/accept")


def test_an_admin_cannot_create_an_organisation_but_the_cli_can(app, client, seed, login):
    """An admin of one organisation only ever uploads an edition of their own; a new organisation
    is made on the server with `vendorrisk org import` (here with a cp932 file)."""
    login(seed.users["admin"])
    path = POLICIES_DIR / "ryugasaki-eisei-kumiai.txt"
    data = path.read_text(encoding="utf-8").encode("cp932")
    page = client.get("/admin/organisation").get_data(as_text=True)
    assert 'name="slug"' not in page and "vendorrisk org import" in page
    # A hand-made post naming another organisation is read as an edition of the admin's own.
    r = client.post("/admin/policy", data={"policy_file": (io.BytesIO(data), "基本方針.txt"),
                                           "slug": "ryugasaki-eisei-kumiai"}, content_type="multipart/form-data")
    assert r.status_code == 302
    review = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "新しい団体" not in review and "龍ヶ崎地方衛生組合" in review
    with app.app_context():
        assert db.session.scalar(select(Organisation).filter_by(slug="ryugasaki-eisei-kumiai")) is None
        edition = db.session.scalar(select(PolicyEdition).order_by(PolicyEdition.id.desc()))
        assert (edition.slug, edition.organisation_id) == ("tamana-city", seed.org_ids["tamana-city"])
        count = db.session.scalar(select(func.count()).select_from(Organisation))
        # A draft made for a new organisation (as uploads could before) is refused on accept.
        edition.organisation_id, edition.slug = None, "ryugasaki-eisei-kumiai"
        db.session.commit()
    r = client.post(f"{r.headers['Location']}/accept")
    assert r.status_code == 409 and "vendorrisk org import" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Organisation)) == count
    # The command line still creates it.
    result = app.test_cli_runner().invoke(args=["org", "import", str(path), "--slug", "ryugasaki-eisei-kumiai"])
    assert result.exit_code == 0, result.output
    assert "created: ryugasaki-eisei-kumiai 龍ヶ崎地方衛生組合" in result.output
    with app.app_context():
        org = db.session.scalar(select(Organisation).filter_by(slug="ryugasaki-eisei-kumiai"))
        assert org.name == "龍ヶ崎地方衛生組合"
        assert (
            org.clause_paragraphs["external_services"]
            == "外部サービス（クラウドサービス）を利用する場合には、利用に係る規定を整備し対策を講じる。"
        )
        assert "social.owner" in org.obligations


def test_admin_updates_own_organisation_and_the_page_shows_the_clause(app, client, seed, login):
    login(seed.users["admin"])
    data = (POLICIES_DIR / "tamana-city.txt").read_bytes()
    r = _upload(client, data, "tamana.md")
    assert r.status_code == 302
    page = client.get("/admin/organisation").get_data(as_text=True)
    assert "基本方針を更新しました" in page
    assert "ソーシャルメディアサービスを利用する場合には" in page
    with app.app_context():
        assert db.session.scalar(select(AuditEvent).filter_by(action="organisation.import_policy")) is not None


def test_a_file_without_the_clause_is_refused_clearly_and_nothing_changes(app, client, seed, login):
    login(seed.users["admin"])
    r = _upload(client, "# 別の文書\n\nこれは方針ではありません。\n".encode(), "other.txt")
    body = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "入力内容に問題があります" in body
    assert "業務委託と外部サービス（クラウドサービス）の利用" in body
    with app.app_context():
        org = db.session.scalar(select(Organisation).filter_by(slug="tamana-city"))
        assert org.name == "玉名市" and org.clause_number == "6(8)"


def test_unsupported_and_hostile_uploads_are_refused(app, client, seed, login):
    login(seed.users["admin"])
    r = _upload(client, b"\x89PNG\r\n\x1a\n....", "<script>alert(1)</script>.png")
    body = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "<script>alert(1)</script>" not in body, "the file name is escaped"
    r = _upload(client, b"", "empty.txt")
    assert r.status_code == 400 and "空" in r.get_data(as_text=True)
    r = client.post("/admin/policy", data={}, content_type="multipart/form-data")
    assert r.status_code == 400 and "基本方針のファイルを選んでください。" in r.get_data(as_text=True)
