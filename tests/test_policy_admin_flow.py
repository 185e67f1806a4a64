# ruff: noqa: E501
"""Issue #11 §3-4 through the test client: an admin sees what was read, corrects it with a reason,
accepts it; a new edition shows a diff first; invitations and annexes keep the edition they cited."""

from __future__ import annotations

import io
import re
import zipfile

from conftest import approve_through_services
from sqlalchemy import func, select

from vendorrisk.extensions import db
from vendorrisk.models import Annex, AuditEvent, Engagement, Organisation, PolicyEdition, User
from vendorrisk.paths import POLICIES_DIR
from vendorrisk.services import invitations, policy_import

TAMANA = (POLICIES_DIR / "tamana-city.txt").read_text(encoding="utf-8")
OLD_EXTERNAL = "外部サービス（クラウドサービス）を利用する場合には、利用に係る規定を整備し対策を講じる。"
NEW_EXTERNAL = "外部サービス（クラウドサービス）を利用する場合には、利用に係る規定を整備し、定期的に見直した上で対策を講じる。"


def _post_file(client, data: bytes, filename: str):
    # The multipart body is encoded here: werkzeug's test client spools big bodies to a temporary
    # file it never closes (a ResourceWarning that is not the app's).
    boundary = "----vendorriskpolicy"
    body = io.BytesIO()
    body.write(f'--{boundary}\r\nContent-Disposition: form-data; name="policy_file"; filename="{filename}"\r\n'
               "Content-Type: application/octet-stream\r\n\r\n".encode())
    body.write(data + f"\r\n--{boundary}--\r\n".encode())
    return client.post("/admin/policy", data=body.getvalue(), content_type=f"multipart/form-data; boundary={boundary}")


def _upload(client, data: bytes, filename: str) -> str:
    r = _post_file(client, data, filename)
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    return r.headers["Location"]


def _edition(app, url: str) -> PolicyEdition:
    edition_id = int(re.search(r"/editions/(\d+)", url).group(1))
    with app.app_context():
        edition = db.session.get(PolicyEdition, edition_id)
        db.session.expunge(edition)
        return edition


def _org(app, slug: str = "tamana-city") -> Organisation:
    with app.app_context():
        org = db.session.scalar(select(Organisation).filter_by(slug=slug))
        db.session.expunge(org)
        return org


def _correction_form(**overrides: str) -> dict[str, str]:
    form = {
        "organisation": "玉名市", "title": "玉名市情報セキュリティ基本方針", "enacted_as_written": "令和8年4月1日策定",
        "bodies": "市長部局\n議会\n教育委員会\n選挙管理委員会\n監査委員\n公平委員会\n農業委員会\n固定資産評価審査委員会\n企業局",
        "clause_number": "6(8)", "clause_title": "業務委託と外部サービス（クラウドサービス）の利用",
        "outsourcing": "業務委託を行う場合には、委託事業者を選定し、情報セキュリティ要件を明記した契約を締結し、委託事業者において必要なセキュリティ対策が確保されていることを確認し、必要に応じて契約に基づき措置を講じる。",
        "external_services": OLD_EXTERNAL,
        "social_media": "ソーシャルメディアサービスを利用する場合には、ソーシャルメディアサービスの運用手順を定め、ソーシャルメディアサービスで発信できる情報を規定し、利用するソーシャルメディアサービスごとの責任者を定める。",
        "reason": "",
    }
    form.update(overrides)
    return form


def test_review_shows_what_was_read_beside_the_source_and_nothing_is_used_yet(app, client, seed, login):
    login(seed.users["admin"])
    html = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>例規</title><script>alert('x')</script></head><body>"
        + "".join(f"<p>{line}</p>" for line in TAMANA.replace("#", "").splitlines() if line.strip())
        + "</body></html>"
    ).replace(OLD_EXTERNAL, NEW_EXTERNAL)
    review = _upload(client, html.encode("utf-8"), "reiki.html")
    page = client.get(review).get_data(as_text=True)
    for shown in ("玉名市", "玉名市情報セキュリティ基本方針", "令和8年4月1日策定", "市長部局", "6(8)",
                  "（原文の表記：(8)）", "業務委託と外部サービス（クラウドサービス）の利用", NEW_EXTERNAL,
                  "読み取りの確からしさ：100%", "原文（条項の前後）", "HTML"):
        assert shown in page, shown
    assert "<mark>(8) 業務委託と外部サービス（クラウドサービス）の利用</mark>" in page
    assert "alert(" not in page
    assert page.count(">変更<span class=\"visually-hidden\">") == 9
    # The diff against what is in force: the changed paragraph, character by character.
    assert "使用中の版との違い" in page and "<ins>、定期的に見直した上で</ins>" in page
    # Nothing is used before the admin accepts it.
    assert _org(app).clause_paragraphs["external_services"] == OLD_EXTERNAL
    assert _edition(app, review).state == "draft"


def test_correct_with_a_reason_then_accept_and_the_organisation_uses_it(app, client, seed, login):
    login(seed.users["admin"])
    review = _upload(client, TAMANA.encode("cp932"), "tamana.txt")
    edit = f"{review}/edit"
    form_page = client.get(edit).get_data(as_text=True)
    assert 'value="6(8)"' in form_page and "修正の理由" in form_page
    # A change without a reason is refused, what was typed is kept.
    r = client.post(edit, data=_correction_form(external_services=NEW_EXTERNAL))
    body = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "<title>エラー：" in body and "入力内容に問題があります" in body
    assert "読み取り結果を修正した理由を入力してください。" in body and NEW_EXTERNAL in body
    assert _edition(app, review).corrections == []
    # A date that is not a date is refused too.
    r = client.post(edit, data=_correction_form(enacted_as_written="四月一日", reason="x"))
    assert r.status_code == 400 and "年月日を含めて" in r.get_data(as_text=True)
    # With a reason the correction is stored with who made it and why.
    r = client.post(edit, data=_correction_form(external_services=NEW_EXTERNAL, reason="改定後の文言に合わせるため"))
    assert r.status_code == 302
    edition = _edition(app, review)
    assert [c["field"] for c in edition.corrections] == ["clause.paragraphs.external_services"]
    assert edition.corrections[0]["read"] == OLD_EXTERNAL and edition.corrections[0]["value"] == NEW_EXTERNAL
    assert edition.correction_reason == "改定後の文言に合わせるため"
    with app.app_context():
        admin = db.session.scalar(select(User).filter_by(email=seed.users["admin"]))
        assert edition.corrected_by_id == admin.id
    page = client.get(review).get_data(as_text=True)
    assert "修正した項目" in page and "改定後の文言に合わせるため" in page and admin.name in page
    # Accept: the organisation now uses the corrected clause, cited with its parent number.
    r = client.post(f"{review}/accept")
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/organisation")
    assert "基本方針を更新しました（第1版、6(8)" in client.get("/admin/organisation").get_data(as_text=True)
    org = _org(app)
    assert org.clause_paragraphs["external_services"] == NEW_EXTERNAL
    assert org.clause_number == "6(8)"
    assert "cloud.rules" in org.obligations
    edition = _edition(app, review)
    assert (edition.state, edition.edition) == ("current", 1)
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).filter_by(action="policy_edition.accept"))
        assert event.data["corrected"] == ["clause.paragraphs.external_services"]
        assert event.data["reason"] == "改定後の文言に合わせるため"
    # A confirmed edition can no longer be changed or accepted again.
    assert client.post(edit, data=_correction_form(reason="x")).status_code == 409
    assert client.post(f"{review}/accept").status_code == 409


def test_new_edition_diff_then_invitations_and_annexes_keep_the_edition_they_cited(app, client, seed, login):
    # An annex issued, and an invitation sent, under the policy as seeded.
    eid = approve_through_services(app, seed)
    with app.app_context():
        annex = db.session.scalar(select(Annex).filter_by(engagement_id=eid))
        annex_id, annex_text, annex_clause = annex.id, annex.text, annex.snapshot["organisation"]["clause"]
        cloud = db.session.get(Engagement, seed.engagements[("tamana-city", "cloud")])
        early = invitations.send_invitation(cloud, recipient_email="early@example.jp").invitation
        db.session.commit()
        early_id = early.id
        first = policy_import.edition_for_invitation(early)
        assert first.fields["clause"]["paragraphs"]["external_services"] == OLD_EXTERNAL
        first_id = first.id

    login(seed.users["admin"])
    review = _upload(client, TAMANA.replace(OLD_EXTERNAL, NEW_EXTERNAL).encode(), "tamana-2027.md")
    page = client.get(review).get_data(as_text=True)
    assert "使用中の版との違い" in page and "<ins>、定期的に見直した上で</ins>" in page
    assert client.post(f"{review}/accept").status_code == 302

    with app.app_context():
        editions = db.session.scalars(select(PolicyEdition).order_by(PolicyEdition.id)).all()
        assert [(e.id == first_id, e.state, e.edition) for e in editions] == [(True, "superseded", 1), (False, "current", 2)]
        # The invitation sent earlier still cites edition 1; a new one cites edition 2.
        early = db.session.get(type(early), early_id)
        assert policy_import.edition_for_invitation(early).id == first_id
        social = db.session.get(Engagement, seed.engagements[("tamana-city", "social_media")])
        late = invitations.send_invitation(social, recipient_email="late@example.jp").invitation
        db.session.commit()
        cited = policy_import.edition_for_invitation(late)
        assert cited.edition == 2 and cited.fields["clause"]["paragraphs"]["external_services"] == NEW_EXTERNAL
        # The annex issued before keeps the clause it quoted.
        annex = db.session.get(Annex, annex_id)
        assert annex.snapshot["organisation"]["clause"] == annex_clause
        assert annex.text == annex_text
        assert annex_clause["paragraphs"]["external_services"] == OLD_EXTERNAL


def test_discard_leaves_the_organisation_as_it_was(app, client, seed, login):
    login(seed.users["admin"])
    review = _upload(client, TAMANA.replace(OLD_EXTERNAL, NEW_EXTERNAL).encode(), "tamana.txt")
    r = client.post(f"{review}/discard")
    assert r.status_code == 302
    assert "取り込まずに破棄しました" in client.get("/admin/organisation").get_data(as_text=True)
    assert _edition(app, review).state == "discarded"
    assert _org(app).clause_paragraphs["external_services"] == OLD_EXTERNAL
    assert client.post(f"{review}/accept").status_code == 409


def test_another_organisations_admin_cannot_see_or_accept_a_draft(app, client, seed, login):
    login(seed.users["admin"])
    review = _upload(client, TAMANA.encode(), "tamana.txt")
    client.post("/logout")
    login(seed.users["other_org_admin"])
    assert client.get(review).status_code == 404
    assert client.post(f"{review}/accept").status_code == 404
    assert client.get("/admin/policy/editions/99999999999999999999").status_code == 404
    assert _edition(app, review).state == "draft"


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("word/document.xml", "<w:document/>")
        zf.writestr("word/media/big.bin", b"\0" * (50 * 1024 * 1024))
    return out.getvalue()


def test_hostile_uploads_are_refused_and_nothing_is_stored(app, client, seed, login):
    login(seed.users["admin"])
    heading = "(8) 業務委託と外部サービス（クラウドサービス）の利用\n"
    cases = [
        (_zip_bomb(), "policy.docx", "大きすぎます"),
        (b"%PDF-1.7\n%garbage", "policy.pdf", "PDF ファイルを読み取れませんでした"),
        ((heading * 2000).encode(), "repeated.txt", "見つかりませんでした"),
        (b"<html><body><script>" + heading.encode() + b"</script><p>no policy</p></body></html>", "page.html", "見つかりませんでした"),
        (b"a" * (6 * 1024 * 1024), "big.txt", "ファイルが大きすぎます"),
    ]
    for data, name, message in cases:
        r = _post_file(client, data, name)
        body = r.get_data(as_text=True)
        assert r.status_code == 400, name
        assert "入力内容に問題があります" in body and message in body, name
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PolicyEdition)) == 0
        assert db.session.scalar(select(AuditEvent).filter(AuditEvent.action.like("policy_edition.%"))) is None
    assert _org(app).clause_number == "6(8)"


def test_editions_page_lists_drafts_and_the_edition_in_force(app, client, seed, login):
    login(seed.users["admin"])
    assert "基本方針の版と確認待ちの読み取り結果を見る" in client.get("/admin/organisation").get_data(as_text=True)
    first = _upload(client, TAMANA.encode(), "first.txt")
    client.post(f"{first}/accept")
    _upload(client, TAMANA.replace(OLD_EXTERNAL, NEW_EXTERNAL).encode(), "second.txt")
    page = client.get("/admin/policy/editions").get_data(as_text=True)
    assert '確認待ち<span class="visually-hidden">（second.txt）' in page
    assert '使用中<span class="visually-hidden">（first.txt）' in page and "第1版" in page


def test_markup_in_the_policy_is_shown_as_text_on_the_review_page(app, client, seed, login):
    login(seed.users["admin"])
    hostile = TAMANA.replace("玉名市", "玉名市<script>alert(1)</script>").replace(OLD_EXTERNAL, OLD_EXTERNAL + "<img src=x onerror=alert(2)>")
    review = _upload(client, hostile.encode(), "x.txt")
    page = client.get(review).get_data(as_text=True)
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page


def test_an_open_questionnaire_keeps_citing_the_edition_it_was_sent_under(app, client, seed, login):
    with app.app_context():
        cloud = db.session.get(Engagement, seed.engagements[("tamana-city", "cloud")])
        early_token = invitations.send_invitation(cloud, recipient_email="early@example.jp").token
        db.session.commit()
        old_number = _org(app).clause_number
    start = client.get(f"/r/{early_token}/").get_data(as_text=True)
    assert f"{old_number}「業務委託と外部サービス（クラウドサービス）の利用」に基づき" in start

    login(seed.users["admin"])
    # The new edition adds an item before the clause: it becomes 6(9).
    renumbered = (TAMANA.replace(OLD_EXTERNAL, NEW_EXTERNAL).replace("## (9) 評価・見直し", "## (10) 評価・見直し")
                  .replace("## (8) 業務委託と", "## (8) 人材の育成\n\n情報セキュリティに関する人材を計画的に育成する。\n\n"
                           "## (9) 業務委託と"))
    review = _upload(client, renumbered.encode(), "tamana-2027.md")
    assert client.post(f"{review}/accept").status_code == 302
    client.post("/logout")
    new_number = _org(app).clause_number
    assert (old_number, new_number) == ("6(8)", "6(9)")

    with app.app_context():
        social = db.session.get(Engagement, seed.engagements[("tamana-city", "social_media")])
        late_token = invitations.send_invitation(social, recipient_email="late@example.jp").token
        db.session.commit()
    early = client.get(f"/r/{early_token}/").get_data(as_text=True)
    late = client.get(f"/r/{late_token}/").get_data(as_text=True)
    assert f"{old_number}「" in early and f"{new_number}「" not in early
    assert f"{new_number}「" in late
