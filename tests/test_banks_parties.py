"""Questions asked of the right party, and guideline citations in the current chapter order.

The municipality's own duties (its website's list of official accounts, its review of terms, its
choice of account owners) are a checklist the 所管課 completes on the engagement page, never on the
contractor's link; the cloud bank asks the provider's 資本関係・役員・国籍; every citation names the
chapter of the 対策基準 that covers its bank (8.1 業務委託 … 8.5 ソーシャルメディアサービス), and the
edition shown beside it is the organisation's setting."""

from __future__ import annotations

import re
import shutil

import pytest
from sqlalchemy import select

from vendorrisk.domain.questionnaire import check_all, freeze, load_all, thaw
from vendorrisk.domain.vocabulary import DEFAULT_GUIDELINE_EDITION
from vendorrisk.extensions import db
from vendorrisk.models import AuditEvent, InternalCheck, User
from vendorrisk.paths import QUESTIONNAIRES_DIR
from vendorrisk.web.answer_forms import field_name

# Which chapters each bank may cite (the guideline's current order).
BANK_CHAPTERS = {
    "outsourcing": {"8.1", "8.2"},  # 8.2: the information-system work of the outsourcing bank
    "cloud-high": {"8.3"},  # 外部サービス（機密性2以上）
    "cloud-low": {"8.4"},  # 外部サービス（機密性2以上を取り扱わない）
    "social-media": {"8.5"},  # ソーシャルメディアサービス
}
MUNICIPAL_SNS = {
    "sns.owner.per_account": "アカウントごとに責任者を定め",
    "sns.procedure.policy_public": "運用方針（ソーシャルメディアポリシー）を本市のウェブサイトで公開",
    "sns.procedure.official_list": "公式アカウントの一覧を本市のウェブサイトに掲載",
    "sns.procedure.terms": "サービスの利用規約を確認し",
}
OFFICIAL_LIST = "sns.procedure.official_list"


def test_every_guideline_citation_uses_the_chapter_of_its_bank():
    banks = load_all(QUESTIONNAIRES_DIR)
    assert set(banks) == set(BANK_CHAPTERS)
    for bank_id, q in banks.items():
        cited = set()
        for question in q.questions():
            ref = question.guideline_ref
            assert ref is not None, (bank_id, question.id, question.guideline)
            assert ref.chapter in BANK_CHAPTERS[bank_id], (bank_id, question.id, question.guideline)
            cited.add(ref.chapter)
        assert cited == BANK_CHAPTERS[bank_id], bank_id  # 8.2 情報システム is cited too
    system = [x for x in banks["outsourcing"].questions() if x.section_id == "out.system"]
    assert system and {x.guideline_ref.chapter for x in system} == {"8.2"}


def test_a_bank_citing_a_chapter_of_another_kind_is_refused(tmp_path):
    shutil.copy(QUESTIONNAIRES_DIR / "social-media.yaml", tmp_path / "social-media.yaml")
    path = tmp_path / "social-media.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("対策基準 8.5 ソーシャルメディアサービスの利用（運用手順）",
                                 "対策基準 8.4 ソーシャルメディアサービスの利用（運用手順）"), encoding="utf-8")
    errors = check_all(tmp_path)
    assert errors and all("sns.procedure." in e and "引用できる章は 8.5" in e for e in errors)
    path.write_text(text.replace("対策基準 8.5 ソーシャルメディアサービスの利用（運用手順）", "対策基準 第8章"),
                    encoding="utf-8")
    assert any("「対策基準 <章>(<項>) <見出し>」の形に" in e for e in check_all(tmp_path))


def test_the_cloud_bank_asks_the_providers_capital_officers_and_nationality():
    cloud_high = load_all(QUESTIONNAIRES_DIR)["cloud-high"]
    profile = {"kinds": ["cloud"], "confidentiality": 2}
    asked = [x for x in cloud_high.applicable(profile)
             if all(word in x.text_ja for word in ("資本関係", "役員", "国籍"))]
    assert [x.id for x in asked] == ["ch.service.capital"]
    assert asked[0].for_contractor and asked[0].guideline_ref.chapter == "8.3"


def test_the_municipalitys_own_questions_are_declared_and_kept_when_frozen():
    banks = load_all(QUESTIONNAIRES_DIR)
    social = banks["social-media"]
    profile = {"kinds": ["social_media"]}
    assert {x.id for x in social.internal_checklist(profile)} == set(MUNICIPAL_SNS)
    assert not set(MUNICIPAL_SNS) & {x.id for x in social.applicable(profile)}
    assert [x.id for x in banks["cloud-low"].internal_checklist({"kinds": ["cloud"]})] == ["cl.terms.reviewed"]
    thawed = thaw(freeze(social))
    assert {x.id for x in thawed.questions() if x.party == "municipality"} == set(MUNICIPAL_SNS)


@pytest.mark.parametrize("change, message", [
    (lambda t: t.replace("  type: yesno\n", "  type: yesno\n        must_pass: true\n"), "必須合格にできません"),
    (lambda t: t.replace("  type: yesno\n", "  type: file\n"), "種別は"),
])
def test_a_municipality_question_cannot_bind_the_contractor(tmp_path, change, message):
    text = (QUESTIONNAIRES_DIR / "social-media.yaml").read_text(encoding="utf-8")
    head, tail = text.split("      - id: sns.procedure.official_list\n")
    question, rest = tail.split("      - id: ", 1)
    assert "party: municipality" in question
    (tmp_path / "social-media.yaml").write_text(
        head + "      - id: sns.procedure.official_list\n" + change(question) + "      - id: " + rest, encoding="utf-8")
    errors = check_all(tmp_path)
    assert any("sns.procedure.official_list" in e and message in e for e in errors), errors


def _portal_pages(client, token: str) -> str:
    start = client.get(f"/r/{token}/").get_data(as_text=True)
    links = sorted(set(re.findall(rf'href="(/r/{token}/s/[^"]+)"', start)))
    assert links
    pages = [start, client.get(f"/r/{token}/check").get_data(as_text=True)]
    pages += [client.get(link).get_data(as_text=True) for link in links]
    return "\n".join(pages)


def test_the_contractors_link_never_shows_the_municipalitys_questions(client, invite):
    token = invite("social_media")
    pages = _portal_pages(client, token)
    assert "多要素認証" in pages  # the contractor's own questions are there
    for text in MUNICIPAL_SNS.values():
        assert text not in pages


def _engagement_page(client, eid: int) -> str:
    page = client.get(f"/staff/engagements/{eid}")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def test_procurement_completes_the_checklist_on_the_engagement_page(app, client, seed, login,
                                                                    make_submitted_invitation):
    eid = seed.engagements[("tamana-city", "social_media")]
    login(seed.users["procurement"])
    page = _engagement_page(client, eid)
    assert "所管課の確認項目" in page
    for text in MUNICIPAL_SNS.values():
        assert text in page
    url = f"/staff/engagements/{eid}/checklist/{OFFICIAL_LIST}"
    name = field_name(OFFICIAL_LIST)

    refused = client.post(url, data={name: "maybe"})  # not one of the choices: a message, nothing stored
    assert refused.status_code == 400
    body = refused.get_data(as_text=True)
    assert "入力内容に問題があります" in body and "いずれかを選んでください" in body
    blank = client.post(url, data={})
    assert blank.status_code == 400 and "回答を入力してください" in blank.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(InternalCheck)) is None

    done = client.post(url, data={name: "yes"})
    assert done.status_code == 302
    page = _engagement_page(client, eid)
    section = page[page.index(f'id="check-{OFFICIAL_LIST.replace(".", "-")}"'):]
    section = section[:section.index("</section>")]
    assert re.search(r"記録：<strong>はい</strong>（procurementさん、令和\d+年\d+月\d+日（.）\d+時\d\d分）", section)
    assert f"ガイドライン（{DEFAULT_GUIDELINE_EDITION}）対策基準 8.5" in section
    with app.app_context():
        check = db.session.scalar(select(InternalCheck))
        procurement = db.session.scalar(select(User).filter_by(email=seed.users["procurement"]))
        assert (check.engagement_id, check.question_id, check.value) == (eid, OFFICIAL_LIST, "yes")
        assert check.answered_by_id == procurement.id and check.questionnaire_version
        event = db.session.scalar(select(AuditEvent).filter_by(action="internal_check.record"))
        assert event.actor == f"user:{procurement.id}:{procurement.email}"
        assert event.data["question"] == OFFICIAL_LIST and event.data["value"] == "yes"

    # The reviewer sees it beside the contractor's answers; it is not scored as the contractor's.
    make_submitted_invitation(eid)
    client.post("/logout")
    login(seed.users["reviewer"])
    review = client.get(f"/staff/engagements/{eid}/review").get_data(as_text=True)
    listed = review[review.index("所管課の確認項目"):review.index("<h2 id=\"decision\">判定</h2>")]
    assert MUNICIPAL_SNS[OFFICIAL_LIST] in listed and "はい（procurementさん" in listed
    assert "<form" not in _engagement_page(client, eid).split('id="checklist"')[1].split("<h2>")[0]
    assert client.post(url, data={name: "no"}).status_code == 403


def test_an_edition_set_by_the_admin_is_shown_with_every_citation(app, client, seed, login):
    eid = seed.engagements[("tamana-city", "social_media")]
    login(seed.users["reviewer"])
    before = client.get("/staff/trace").get_data(as_text=True)
    assert f"ガイドライン（{DEFAULT_GUIDELINE_EDITION}）対策基準 8.1(1)" in before
    client.post("/logout")

    login(seed.users["admin"])
    too_long = client.post("/admin/guideline-edition", data={"edition": "令和" + "9" * 60})
    assert too_long.status_code == 400
    body = too_long.get_data(as_text=True)
    assert "入力内容に問題があります" in body and "令和" + "9" * 60 in body
    assert client.post("/admin/guideline-edition", data={"edition": " 令和6年10月版 "}).status_code == 302
    assert 'value="令和6年10月版"' in client.get("/admin/organisation").get_data(as_text=True)
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).filter_by(action="organisation.guideline_edition"))
        assert event.data == {"edition": "令和6年10月版", "previous": DEFAULT_GUIDELINE_EDITION}
    client.post("/logout")

    login(seed.users["reviewer"])
    trace = client.get("/staff/trace").get_data(as_text=True)
    assert "ガイドライン（令和6年10月版）対策基準 8.5 ソーシャルメディアサービスの利用" in trace
    assert "ガイドライン（令和6年10月版）対策基準 8.2 情報システムに関する業務委託" in trace
    assert DEFAULT_GUIDELINE_EDITION not in trace
    assert "回答する者：本市（所管課）" in trace and "回答する者：委託事業者" in trace
    assert "ガイドライン（令和6年10月版）対策基準 8.5" in _engagement_page(client, eid)


def test_one_section_saved_for_engagements_of_different_profiles(app, client, seed, invite, make_engagement):
    """The same section shows a question to one engagement only (Pマーク: personal data); saving it for
    both, one after the other in one process, works for both (the form built for one is not reused)."""
    from helpers import form_data_for, portal_sections

    with app.app_context():
        from vendorrisk.models import Engagement

        vendor_id = db.session.get(Engagement, seed.engagements[("tamana-city", "outsourcing")]).vendor_id
    org = seed.org_ids["tamana-city"]
    without = make_engagement(org, vendor_id, "outsourcing", reference="PD-0", personal_data=False)
    with_pd = make_engagement(org, vendor_id, "outsourcing", reference="PD-1", personal_data=True)
    for eid, has_pmark in ((without, False), (with_pd, True)):
        token = invite(eid=eid)
        qid, sid, questions = next(s for s in portal_sections(app, token) if s[1] == "out.select")
        assert ("out.select.pmark" in {q.id for q in questions}) == has_pmark
        client.get(f"/r/{token}/s/{qid}/{sid}")
        assert client.post(f"/r/{token}/s/{qid}/{sid}", data=form_data_for(questions)).status_code == 302
