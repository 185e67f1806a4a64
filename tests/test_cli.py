"""The `vendorrisk` command as a person runs it: a real process on a real instance folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from vendorrisk.paths import POLICIES_DIR, PROJECT_ROOT

VENDORRISK = str(Path(sys.executable).parent / "vendorrisk")


def run(args, instance: Path, **env):
    environ = {**os.environ, "VENDORRISK_INSTANCE": str(instance), "VENDORRISK_SECRET_KEY": "cli-test", **env}
    environ.pop("DATABASE_URL", None)
    return subprocess.run(
        [VENDORRISK, *args], capture_output=True, text=True, env=environ, cwd=PROJECT_ROOT, timeout=600
    )


def test_policy_parse_json(tmp_path):
    r = run(["policy", "parse", str(POLICIES_DIR / "ome-city.txt"), "--json"], tmp_path)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["organisation"] == "青梅市"
    assert data["clause"]["number"] == "(8)"
    assert data["clause"]["paragraphs"]["social_media"].startswith("ソーシャルメディアサービスを利用する場合には")
    assert data["enacted"]["iso"] == "2026-04-01"


def test_policy_parse_without_clause_fails_clearly(tmp_path):
    f = tmp_path / "other.txt"
    f.write_text("# 何かの方針\n\n1 目的\n\nこれは別の文書です。\n", encoding="utf-8")
    r = run(["policy", "parse", str(f), "--json"], tmp_path)
    assert r.returncode != 0
    assert "業務委託と外部サービス（クラウドサービス）の利用" in r.stderr


@pytest.fixture(scope="module")
def demo_instance(tmp_path_factory):
    instance = tmp_path_factory.mktemp("demo")
    r = run(["db", "upgrade"], instance)
    assert r.returncode == 0, r.stderr
    r = run(["demo"], instance)
    assert r.returncode == 0, r.stderr
    return instance, r.stdout


def test_demo_prints_logins_and_is_idempotent(demo_instance):
    instance, first = demo_instance
    assert "password:" in first and "procurement@tamana.example.jp" in first
    before = json.loads(run(["engagements", "list", "--json"], instance).stdout)
    again = run(["demo"], instance)
    assert again.returncode == 0, again.stderr
    after = json.loads(run(["engagements", "list", "--json"], instance).stdout)
    assert before == after


def test_demo_takes_every_kind_to_approval_in_all_five_organisations(demo_instance):
    instance, _ = demo_instance
    rows = json.loads(run(["engagements", "list", "--json"], instance).stdout)
    orgs = {r["org"] for r in rows}
    assert orgs == {"tamana-city", "ryugasaki-eisei-kumiai", "nanbu-town-aomori", "ichikawa-city", "ome-city"}
    for org in orgs:
        mine = [r for r in rows if r["org"] == org]
        assert {k for r in mine for k in r["kinds"]} == {"outsourcing", "cloud", "social_media"}
        assert all(r["state"] == "approved" for r in mine), mine
        assert all({"org", "organisation", "reference", "kinds", "state"} <= set(r) for r in mine)


def test_annex_render_writes_the_organisations_own_annex(demo_instance, tmp_path):
    instance, _ = demo_instance
    out = tmp_path / "annex.pdf"
    r = run(
        ["annex", "render", "--org", "nanbu-town-aomori", "--engagement", "OUT-2026-001", "--out", str(out)], instance
    )
    assert r.returncode == 0, r.stderr
    text = "".join(p.extract_text() for p in PdfReader(out).pages).replace(" ", "").replace("\n", "")
    assert "南部町" in text
    assert "業務委託を行う場合には、委託事業者を選定し、情報セキュリティ要件を明記した契約を締結し" in text
    r = run(["annex", "render", "--org", "nanbu-town-aomori", "--engagement", "NOPE", "--out", str(out)], instance)
    assert r.returncode != 0 and "NOPE" in r.stderr


def test_trace_covers_every_obligation_of_all_five_organisations(demo_instance):
    instance, _ = demo_instance
    for org in ("tamana-city", "ryugasaki-eisei-kumiai", "nanbu-town-aomori", "ichikawa-city", "ome-city"):
        r = run(["questionnaires", "trace", "--org", org, "--json"], instance)
        assert r.returncode == 0, (org, r.stdout, r.stderr)
        traced = json.loads(r.stdout)
        assert len(traced) == 8, org
        assert all(traced[key] for key in traced), (org, [k for k, v in traced.items() if not v])


def test_annex_render_docx(demo_instance, tmp_path):
    from docx import Document

    instance, _ = demo_instance
    out = tmp_path / "annex.docx"
    r = run(
        ["annex", "render", "--org", "ome-city", "--engagement", "SNS-2026-001", "--format", "docx", "--out", str(out)],
        instance,
    )
    assert r.returncode == 0, r.stderr
    text = "\n".join(p.text for p in Document(str(out)).paragraphs)
    assert "情報セキュリティに関する特記事項" in text and "第1条" in text
    assert "ソーシャルメディアサービスを利用する場合には" in text


def test_a_real_deployment_starts_with_org_import_and_a_first_admin(tmp_path):
    instance = tmp_path / "inst"
    assert run(["db", "upgrade"], instance).returncode == 0
    policy = tmp_path / "policy.txt"
    policy.write_bytes((POLICIES_DIR / "ichikawa-city.txt").read_text(encoding="utf-8").encode("cp932"))
    r = run(["org", "import", str(policy), "--slug", "ichikawa-city"], instance)
    assert r.returncode == 0, r.stderr
    assert "created: ichikawa-city 市川市" in r.stdout
    r = run(
        [
            "users",
            "create",
            "--org",
            "ichikawa-city",
            "--email",
            "Admin@City.example.jp",
            "--name",
            "管理 花子",
            "--role",
            "admin",
            "--password",
            "a-long-password-2026",
        ],
        instance,
    )
    assert r.returncode == 0, r.stderr
    r = run(
        [
            "users",
            "create",
            "--org",
            "nowhere",
            "--email",
            "x@example.jp",
            "--name",
            "x",
            "--role",
            "admin",
            "--password",
            "a-long-password-2026",
        ],
        instance,
    )
    assert r.returncode != 0 and "団体「nowhere」はありません" in r.stderr

    from vendorrisk import create_app

    app = create_app({"SECRET_KEY": "cli-test", "TESTING": True, "WTF_CSRF_ENABLED": False}, instance_path=instance)
    client = app.test_client()
    r = client.post("/login", data={"email": "admin@city.example.jp", "password": "a-long-password-2026"})
    assert r.status_code == 302
    assert "市川市" in client.get("/admin/organisation").get_data(as_text=True)
    with app.app_context():
        from vendorrisk.extensions import db

        db.engine.dispose()
