"""The annex cites each real policy as its 法務担当 would (full number, the body's name), and names 甲's
address and head as the organisation's admin set them (団体設定).

Policies go through the real import path of the command line and the demo, annexes through the real
issue path, and the text is read back from the PDF."""

from __future__ import annotations

import io
import re

import pytest
from conftest import new_engagement, new_vendor
from pypdf import PdfReader
from sqlalchemy import select

from vendorrisk.extensions import db
from vendorrisk.models import Annex, AuditEvent, Engagement, Organisation
from vendorrisk.paths import POLICIES_DIR

#: slug → what the annex must cite: the document's name with the body's name, and the full number.
CITATIONS = {
    "tamana-city": "玉名市情報セキュリティ基本方針6(8)",
    "nanbu-town-aomori": "南部町情報セキュリティポリシー第1章6(8)",
    "ichikawa-city": "市川市情報セキュリティポリシー第1章6(8)",
    "ome-city": "青梅市情報セキュリティポリシー6(8)",
    "ryugasaki-eisei-kumiai": "龍ヶ崎地方衛生組合情報セキュリティ基本方針6(8)",
}
CLAUSE_TITLE = "「業務委託と外部サービス（クラウドサービス）の利用」"


def _pdf_text(data: bytes) -> str:
    return re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages))


def _issue_for_imported(app, slug: str, password_hash: str) -> str:
    """Import the real policy as `vendorrisk org import` does, take an engagement to an issued annex."""
    from vendorrisk.demo import _take_through
    from vendorrisk.models import User
    from vendorrisk.services import officers
    from vendorrisk.services.organisations import import_policy_bytes
    from vendorrisk.services.unit_of_work import unit_of_work

    path = POLICIES_DIR / f"{slug}.txt"
    with app.app_context(), unit_of_work():
        org, created = import_policy_bytes(path.read_bytes(), path.name, slug=slug, actor="cli")
        assert created
        officers.add_officer(org, role="security_manager", role_title="情報セキュリティ管理者",
                             name="管理 太郎", department="情報政策課長", actor="cli")
        db.session.expire(org, ["officers"])
        staff = {}
        for role in ("reviewer", "legal"):
            staff[role] = User(organisation_id=org.id, email=f"{role}@{slug}.test", name=role, role=role,
                               password_hash=password_hash)
            db.session.add(staff[role])
        engagement = new_engagement(org, new_vendor(org), "outsourcing")
        _take_through(engagement, staff["reviewer"], staff["legal"])
        annex = db.session.scalar(select(Annex).filter_by(engagement_id=engagement.id))
        assert annex is not None, "the annex was issued"
        return _pdf_text(annex.pdf)


@pytest.mark.parametrize("slug", sorted(CITATIONS))
def test_each_real_policy_is_cited_with_its_full_number_and_the_bodys_name(app, password_hash, slug):
    text = _issue_for_imported(app, slug, password_hash)
    citation = CITATIONS[slug]
    assert f"{citation}{CLAUSE_TITLE}に定めるところにより" in text  # the preamble
    assert f"（参考）{citation}{CLAUSE_TITLE}（抜粋）" in text  # the quoted clause
    assert "(８" not in text and "（８" not in text
    assert not re.search(r"(?<![0-9章])\(8\)「", text), "a number without its parent"


def test_upgrade_repairs_a_citation_stored_without_its_parents(app):
    """An organisation imported before the fix stored 「(８ )」 and the chapter's name: the upgrade's data
    fix stores the citation; an admin's own correction is kept."""
    from vendorrisk.migrate import repair_data
    from vendorrisk.services.organisations import import_policy_bytes
    from vendorrisk.services.unit_of_work import unit_of_work

    with app.app_context(), unit_of_work():
        for slug in ("nanbu-town-aomori", "tamana-city", "ome-city"):
            path = POLICIES_DIR / f"{slug}.txt"
            import_policy_bytes(path.read_bytes(), path.name, slug=slug)
        old = {"nanbu-town-aomori": ("情報セキュリティ基本方針", "(８ )"),
               "tamana-city": ("玉名市情報セキュリティ基本方針", "(8)"),
               "ome-city": ("青梅市情報セキュリティポリシー", "6-8")}  # ome: an admin's own value
        for slug, (title, number) in old.items():
            org = db.session.scalar(select(Organisation).filter_by(slug=slug))
            org.policy_title, org.clause_number = title, number
    assert sorted(repair_data(app)) == ["nanbu-town-aomori", "tamana-city"]
    with app.app_context():
        got = {o.slug: (o.policy_title, o.clause_number) for o in db.session.scalars(select(Organisation))}
        assert got == {"nanbu-town-aomori": ("南部町情報セキュリティポリシー", "第1章6(8)"),
                       "tamana-city": ("玉名市情報セキュリティ基本方針", "6(8)"),
                       "ome-city": ("青梅市情報セキュリティポリシー", "6-8")}
        assert db.session.scalar(select(AuditEvent).filter_by(action="organisation.repair_citation")) is not None
    assert repair_data(app) == []  # safe to run again


ANNEX_SETTINGS = {
    "head_title": "玉名市長", "head_name": "玉名 一郎", "address": "熊本県玉名市岩崎163番地",
    "heading_style": "inline", "digit_style": "full", "cloud_low_document": "usage_record",
}


def test_admin_sets_party_a_and_the_memorandum_prints_it(app, client, seed, login):
    from conftest import approve_through_services

    approved = approve_through_services(app, seed)
    login(seed.users["admin"])
    page = client.get("/admin/organisation").get_data(as_text=True)
    assert "特記事項・覚書の記載" in page and 'name="address"' in page
    r = client.post("/admin/annex-settings", data=ANNEX_SETTINGS, follow_redirects=True)
    assert r.status_code == 200 and "特記事項・覚書の記載を保存しました" in r.get_data(as_text=True)
    page = client.get("/admin/organisation").get_data(as_text=True)
    assert 'value="熊本県玉名市岩崎163番地"' in page and 'value="玉名 一郎"' in page
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).filter_by(action="organisation.annex_settings"))
        assert event is not None and event.actor.endswith(seed.users["admin"])
    client.post("/logout")
    login(seed.users["legal"])
    client.post(f"/legal/engagements/{approved}/annex", data={"memorandum": "y"})
    with app.app_context():
        annex = db.session.scalars(select(Annex).filter_by(engagement_id=approved).order_by(Annex.version)).all()[-1]
        text = _pdf_text(annex.pdf)
    signatures = text[text.index("本覚書の締結を証するため"):]
    assert "甲熊本県玉名市岩崎163番地玉名市玉名市長玉名一郎乙" in signatures
    assert "第１条（総則）" in text  # the organisation's styles


def test_annex_settings_are_validated_and_kept_on_error(app, client, seed, login):
    login(seed.users["admin"])
    bad = {**ANNEX_SETTINGS, "head_title": "　", "address": "県" * 201, "digit_style": "roman"}
    r = client.post("/admin/annex-settings", data=bad)
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and "入力内容に問題があります" in page
    assert "団体の長の職名を入力してください。" in page and "所在地は200文字以内で入力してください。" in page
    assert "玉名 一郎" in page  # what was typed is kept
    with app.app_context():
        org = db.session.get(Organisation, seed.org_ids["tamana-city"])
        assert "annex_address" not in (org.settings or {}) and org.head_title == "玉名市長"


def test_memorandum_refused_until_the_heads_name_is_entered(app, client, seed, login):
    from conftest import approve_through_services

    approved = approve_through_services(app, seed)
    login(seed.users["legal"])
    page = client.post(f"/legal/engagements/{approved}/annex", data={"memorandum": "y"},
                       follow_redirects=True).get_data(as_text=True)
    assert "覚書の記名押印欄の団体の長の氏名が入力されていません" in page
    assert "覚書の記名押印欄の甲の所在地が入力されていません" in page
    with app.app_context():
        assert len(db.session.scalars(select(Annex).filter_by(engagement_id=approved)).all()) == 1
        assert db.session.get(Engagement, approved).state == "approved"
