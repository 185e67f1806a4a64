"""Issue #10 §6 and #13: legal's tools around the annex — preview, refusals, 新旧対照表, 締結の記録,
unchanged reissue, and two legal users issuing at once."""

from __future__ import annotations

import io
import threading

import pytest
from conftest import approve_through_services, fill_party_a
from pypdf import PdfReader
from sqlalchemy import select

from vendorrisk.domain.annex_compare import compare_versions
from vendorrisk.extensions import db
from vendorrisk.models import Annex, Engagement, Officer


@pytest.fixture
def approved(app, seed):
    return approve_through_services(app, seed)


def _versions(app, eid):
    with app.app_context():
        return [(a.id, a.version) for a in db.session.scalars(
            select(Annex).filter_by(engagement_id=eid).order_by(Annex.version))]


def _rename_officer(app, seed, name="新任 﨑子"):
    with app.app_context():
        officer = db.session.scalar(
            select(Officer).filter_by(role="security_manager", organisation_id=seed.org_ids["tamana-city"]))
        officer.name = name
        db.session.commit()


def _pdf_text(data: bytes) -> str:
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).replace(" ", "").replace("\n", "")


def test_preview_before_a_version_is_created(app, client, seed, login, approved):
    login(seed.users["legal"])
    _rename_officer(app, seed)
    before = _versions(app, approved)
    response = client.get(f"/legal/engagements/{approved}/annex/preview.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("inline")
    assert "新任﨑子" in _pdf_text(response.data)
    assert _versions(app, approved) == before  # nothing stored
    fill_party_a(app, seed.org_ids["tamana-city"])
    memo = client.get(f"/legal/engagements/{approved}/annex/preview.pdf?memorandum=1")
    assert "次のとおり覚書を締結する" in _pdf_text(memo.data)
    page = client.get(f"/legal/engagements/{approved}").get_data(as_text=True)
    assert "プレビュー" in page and "版は作られません" in page


def test_reissuing_unchanged_content_says_so(app, client, seed, login, approved):
    login(seed.users["legal"])
    page = client.post(f"/legal/engagements/{approved}/annex", follow_redirects=True).get_data(as_text=True)
    assert "内容に変更がないため、新しい版は作成していません（第1版のままです）" in page
    assert len(_versions(app, approved)) == 1


def test_issuing_refused_when_party_a_table_would_be_empty(app, client, seed, login, approved):
    login(seed.users["legal"])
    with app.app_context():
        from vendorrisk.models import EngagementOfficer

        for link in db.session.scalars(select(EngagementOfficer).filter_by(engagement_id=approved)):
            db.session.delete(link)
        db.session.commit()
    page = client.post(f"/legal/engagements/{approved}/annex", follow_redirects=True).get_data(as_text=True)
    assert "別表1の甲の担当者が空です" in page
    assert len(_versions(app, approved)) == 1
    preview = client.get(f"/legal/engagements/{approved}/annex/preview.pdf", follow_redirects=True)
    assert "別表1の甲の担当者が空です" in preview.get_data(as_text=True)


def test_issuing_refused_when_a_placeholder_is_unfilled(app, client, seed, login, approved):
    login(seed.users["legal"])
    with app.app_context():
        eng = db.session.get(Engagement, approved)
        eng.title = ""
        db.session.commit()
    page = client.post(f"/legal/engagements/{approved}/annex", follow_redirects=True).get_data(as_text=True)
    assert "差込項目 {engagement.title}（案件の件名）が入力されていません" in page


def test_compare_is_a_side_by_side_table_article_by_article(app, client, seed, login, approved):
    login(seed.users["legal"])
    _rename_officer(app, seed)
    client.post(f"/legal/engagements/{approved}/annex")
    (v1, _), (v2, _) = _versions(app, approved)
    page = client.get(f"/legal/annexes/{v2}/compare/{v1}").get_data(as_text=True)
    assert "新旧対照表" in page and 'class="taisho"' in page
    assert "旧（第1版）" in page and "新（第2版）" in page
    assert 'class="mark"' in page and "新任 﨑子" in page
    css = client.get("/static/legal.css")
    assert "@media (max-width: 40rem)" in css.get_data(as_text=True)  # stacked, readable at 375 px
    css.close()


def test_compare_rows_pair_articles_and_mark_changes():
    old = "題\n\n（総則）\n第1条　甲は、乙と協議する。\n\n（秘密の保持）\n第2条　乙は秘密を守る。\n"
    new = ("題\n\n（総則）\n第1条　甲は、乙と協議する。\n\n（秘密の保持）\n第2条　乙は秘密を厳に守る。\n\n"
           "（協議）\n第3条　協議する。\n")
    rows = compare_versions(old, new)
    assert [(r.heading, r.status) for r in rows] == [
        ("題", "変更なし"), ("（総則）", "変更なし"), ("（秘密の保持）", "変更"), ("（協議）", "追加")]
    changed = rows[2]
    assert [line.changed for line in changed.old] == [False, True]
    assert changed.new[1].text == "第2条　乙は秘密を厳に守る。" and changed.new[1].changed
    assert [r.heading for r in compare_versions(old, new, changed_only=True)] == ["（秘密の保持）", "（協議）"]
    assert compare_versions(new, old)[-1].status == "削除"


def test_recording_that_an_annex_was_signed(app, client, seed, login, approved):
    login(seed.users["legal"])
    (annex_id, _), = _versions(app, approved)
    bad = client.post(f"/legal/annexes/{annex_id}/signed", data={"signed_on": "来週"}, follow_redirects=True)
    assert "締結日を 2026-12-01 の形で入力してください。" in bad.get_data(as_text=True)
    scan = b"%PDF-1.7 signed scan"
    page = client.post(
        f"/legal/annexes/{annex_id}/signed",
        data={"signed_on": "２０２６-１１-３０", "scan": (io.BytesIO(scan), "signed.pdf", "application/pdf")},
        content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)
    assert "第1版の締結（2026-11-30）を記録しました。" in page
    assert "第1版を令和8年11月30日（月）に締結済み" in page
    download = client.get(f"/legal/annexes/{annex_id}/signed-scan")
    assert download.status_code == 200 and download.data == scan
    with app.app_context():
        annex = db.session.get(Annex, annex_id)
        assert annex.signed_on.isoformat() == "2026-11-30" and annex.signed_scan_name == "signed.pdf"
    # The same status where procurement follows the engagement, and for other systems (API).
    client.post("/logout")
    login(seed.users["procurement"])
    staff_page = client.get(f"/staff/engagements/{approved}").get_data(as_text=True)
    assert "締結済み</strong>：第1版を令和8年11月30日（月）に締結" in staff_page
    assert "/signed-scan" not in staff_page  # the scan is legal's to open
    client.post("/logout")
    login(seed.users["legal"])
    assert f"/legal/annexes/{annex_id}/signed-scan" in client.get(f"/staff/engagements/{approved}").get_data(
        as_text=True)
    listed = client.get(f"/api/v1/engagements/{approved}/annexes", headers=_api_key(app, seed)).json["items"]
    assert {k: listed[0][k] for k in ("signed", "signed_on", "signed_scan_name", "signed_scan_mimetype")} == {
        "signed": True, "signed_on": "2026-11-30", "signed_scan_name": "signed.pdf",
        "signed_scan_mimetype": "application/pdf"}
    schema = client.get("/api/v1/openapi.json").json["components"]["schemas"]["AnnexOut"]["properties"]
    assert {"signed", "signed_on", "signed_scan_name", "signed_scan_mimetype"} <= set(schema)


def test_unsigned_annex_says_so_on_the_staff_page_and_in_the_api(app, client, seed, login, approved):
    login(seed.users["procurement"])
    assert "締結の記録はまだありません。" in client.get(f"/staff/engagements/{approved}").get_data(as_text=True)
    listed = client.get(f"/api/v1/engagements/{approved}/annexes", headers=_api_key(app, seed)).json["items"]
    assert listed[0]["signed"] is False and listed[0]["signed_on"] is None


def _api_key(app, seed) -> dict[str, str]:
    from vendorrisk.models import User
    from vendorrisk.services import api_keys

    with app.app_context():
        admin = db.session.scalar(select(User).filter_by(email=seed.users["admin"]))
        secret = api_keys.create_key(admin.organisation, "test read", "read", actor=admin).secret
        db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def test_two_legal_users_issuing_at_once_give_one_version(app, seed, backend, approved):
    """#13: both requests see the same new content; the row lock makes the second reuse the first's
    version (no IntegrityError, no 500)."""
    if backend != "postgres":
        pytest.skip("the race needs a server database with row locks (SQLite has one writer)")
    from vendorrisk.models import User
    from vendorrisk.services import annexes
    from vendorrisk.services.unit_of_work import unit_of_work

    _rename_officer(app, seed)
    barrier = threading.Barrier(2)
    results: list[object] = []

    def issue() -> None:
        try:
            with app.app_context(), unit_of_work():
                eng = db.session.get(Engagement, approved)
                user = db.session.scalar(select(User).filter_by(email=seed.users["legal"]))
                annexes.build_snapshot(eng)  # both read the engagement before either writes
                barrier.wait(timeout=30)
                results.append(annexes.issue(eng, user).created)
        except Exception as exc:  # noqa: BLE001 - the test reports what went wrong
            results.append(exc)

    threads = [threading.Thread(target=issue) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(map(repr, results)) == ["False", "True"], results
    assert [v for _, v in _versions(app, approved)] == [1, 2]
