"""The app factory, configuration, migrations, CSRF, login and error pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from conftest import make_app

from vendorrisk import UnsafeConfigError, create_app
from vendorrisk.extensions import Base, db
from vendorrisk.paths import PROJECT_ROOT, TEMPLATES_DIR


def test_templates_come_from_the_repository_folder(app):
    assert Path(app.jinja_loader.searchpath[0]) == TEMPLATES_DIR == PROJECT_ROOT / "templates"
    with app.app_context():
        source, filename, _ = app.jinja_loader.get_source(app.jinja_env, "base.html")
        assert Path(filename).parent == TEMPLATES_DIR


def test_refuses_to_start_without_secret_key(tmp_path, monkeypatch):
    monkeypatch.delenv("VENDORRISK_SECRET_KEY", raising=False)
    with pytest.raises(UnsafeConfigError, match="SECRET_KEY"):
        create_app({"TESTING": False}, instance_path=tmp_path)


def test_environment_overrides_instance_config(tmp_path, monkeypatch):
    (tmp_path / "config.py").write_text("SECRET_KEY = 'from-file'\nINVITATION_DAYS = 10\n", encoding="utf-8")
    monkeypatch.setenv("VENDORRISK_INVITATION_DAYS", "14")
    app = create_app(instance_path=tmp_path)
    assert app.config["SECRET_KEY"] == "from-file"
    assert app.config["INVITATION_DAYS"] == 14
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'vendorrisk.db'}"


def test_migrations_match_the_models(app):
    with app.app_context(), db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_sqlite_runs_in_wal_mode(app, backend):
    if backend != "sqlite":
        pytest.skip("SQLite only")
    with app.app_context(), db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_post_without_csrf_token_is_refused(backend, tmp_path, request):
    app = make_app(backend, tmp_path / "csrf", request, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    r = client.post("/login", data={"email": "admin@tamana.test", "password": "x"})
    assert r.status_code == 400
    assert "ページを再読み込みして" in r.get_data(as_text=True)


def test_login_errors_are_japanese_and_keep_the_email(client, seed):
    r = client.post("/login", data={"email": seed.users["admin"], "password": "wrong"})
    body = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "メールアドレスまたはパスワードが正しくありません。" in body
    assert f'value="{seed.users["admin"]}"' in body
    assert "<title>エラー：" in body


def test_login_is_rate_limited(backend, tmp_path, request):
    app = make_app(backend, tmp_path / "rl", request, RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    codes = [client.post("/login", data={"email": "x@example.jp", "password": "nope"}).status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200]
    assert codes[3:] == [429, 429]
    assert "しばらく待ってから" in client.post("/login", data={"email": "x@example.jp", "password": "nope"}).get_data(
        as_text=True
    )


def test_safe_redirect_after_login(client, seed):
    r = client.post(
        "/login?next=https://evil.example/",
        data={"email": seed.users["admin"], "password": "correct-horse-battery-2026"},
    )
    assert r.headers["Location"].endswith("/staff/")


def test_error_pages_are_japanese(client, login, seed):
    r = client.get("/no-such-page")
    assert r.status_code == 404 and "ページが見つかりません" in r.get_data(as_text=True)
    login(seed.users["legal"])
    r = client.get("/admin/organisation")
    assert r.status_code == 403 and "権限がありません" in r.get_data(as_text=True)


def test_unexpected_error_gives_japanese_500(app, client):
    @app.route("/boom")
    def boom():
        raise RuntimeError("boom")

    r = client.get("/boom")
    assert r.status_code == 500
    body = r.get_data(as_text=True)
    assert "システムエラーが発生しました" in body and "これまでに保存した内容は残っています" in body
    assert "送った内容は保存されていません" not in body  # a page view sent nothing to save


def test_environment_variables_use_the_vendorrisk_prefix_and_database_url(tmp_path, monkeypatch):
    monkeypatch.setenv("VENDORRISK_INSTANCE", str(tmp_path))
    monkeypatch.setenv("VENDORRISK_BASE_URL", "https://vendorrisk.example.jp")
    monkeypatch.setenv("VENDORRISK_MAIL_PORT", "2525")
    monkeypatch.setenv("DATABASE_URL", "postgres://someone@127.0.0.1:5432/vendorrisk")
    app = create_app({"TESTING": True}, instance_path=tmp_path)
    assert app.config["BASE_URL"] == "https://vendorrisk.example.jp"
    assert app.config["MAIL_PORT"] == 2525
    assert "INSTANCE" not in app.config, "VENDORRISK_INSTANCE names the instance folder, it is not configuration"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://someone@127.0.0.1:5432/vendorrisk"


def test_organisation_settings_changed_in_place_are_saved(app, seed):
    from vendorrisk.models import Organisation
    from vendorrisk.services.unit_of_work import unit_of_work

    with app.app_context(), unit_of_work():
        org = db.session.get(Organisation, seed.org_ids["tamana-city"])
        org.settings["note"] = "保存される"  # a key set in place, no reassignment nor flag_modified
    with app.app_context():
        assert db.session.get(Organisation, seed.org_ids["tamana-city"]).settings["note"] == "保存される"
