"""compose_annex: numbering, conditional articles, the organisation's clause, overrides."""

import copy
import re

import pytest

from vendorrisk.domain.annex import AnnexCompositionError, annex_text, compose_annex
from vendorrisk.domain.annex_articles import ARTICLES

CLAUSE = {
    "number": "6(8)",
    "title": "業務委託と外部サービス（クラウドサービス）の利用",
    "paragraphs": {
        "outsourcing": "業務委託を行う場合には、委託事業者を選定し、情報セキュリティ要件を明記した契約を締結し、"
        "委託事業者において必要なセキュリティ対策が確保されていることを確認し、必要に応じて契約に基づき措置を講じる。",
        "external_services": "外部サービス（クラウドサービス）を利用する場合には、利用に係る規定を整備し対策を講じる。",
        "social_media": "ソーシャルメディアサービスを利用する場合には、ソーシャルメディアサービスの運用手順を定め、"
        "ソーシャルメディアサービスで発信できる情報を規定し、利用するソーシャルメディアサービスごとの責任者を定める。",
    },
}


def make_snapshot(kinds=("outsourcing",), *, subcontractors=True, cloud_high=True, findings=False,
                  accounts=True, memorandum=False):
    return {
        "document_id": "VR-tamana-city-OUT-2026-001-v1",
        "version": 1,
        "issued_on": "2026-11-22",
        "answers_sha256": "ab" * 32,
        "organisation": {"name": "玉名市", "slug": "tamana-city", "policy_title": "玉名市情報セキュリティ基本方針",
                         "clause": copy.deepcopy(CLAUSE), "head_title": "玉名市長"},
        "vendor": {"name": "株式会社サンプル", "corporate_number": "1234567890123",
                   "address": "熊本県熊本市中央区手取本町1番1号", "representative": "代表取締役 山田太郎"},
        "engagement": {"reference": "OUT-2026-001", "title": "住民情報システム保守業務委託", "kinds": list(kinds),
                       "confidentiality": 2, "personal_data": True, "my_number": False,
                       "period_start": "2026-12-01", "period_end": "2027-03-31"},
        "municipal_officers": [
            {"role": "security_manager", "role_title": "情報セキュリティ管理者", "name": "﨑山 一郎",
             "department": "総務課長"},
        ],
        "contractor_people": [
            {"role": "responsible_manager", "role_title": "業務責任者", "name": "髙橋 𠮷男", "title": "部長",
             "department": "公共システム部", "email": "t@example.co.jp", "phone": "096-000-0000"},
            {"role": "security_officer", "role_title": "情報セキュリティ責任者", "name": "山﨑 次郎", "title": "室長",
             "department": "情報セキュリティ推進室", "email": "s@example.co.jp", "phone": "096-000-0001"},
        ],
        "work_site": "乙 熊本本社 7階 開発室",
        "data_storage_site": "乙 データセンター（東京都）",
        "subcontracting": {
            "declared": subcontractors,
            "subcontractors": [
                {"name": "有限会社テスト開発", "address": "福岡県福岡市", "scope": "帳票改修"},
                {"name": "株式会社クラウド基盤", "address": "東京都港区", "scope": "基盤監視"},
            ] if subcontractors else [],
        },
        "cloud": {"high": cloud_high, "data_location": "日本国内（東京リージョン）", "governing_law": "日本法",
                  "court": "東京地方裁判所", "service_name": "サンプル住民情報クラウド"} if "cloud" in kinds else None,
        "social_accounts": [
            {"service": "X (旧Twitter)", "account": "@tamana_city", "section": "秘書広報課", "owner": "髙木 﨑子"},
            {"service": "LINE", "account": "玉名市公式", "section": "秘書広報課", "owner": "𠮷田 三郎"},
        ] if ("social_media" in kinds and accounts) else [],
        "findings": [
            {"question_id": "out.mfa", "title": "多要素認証", "remediation": "管理者に多要素認証を設定すること。",
             "obligation": "管理者アカウントに多要素認証を設定し", "deadline": "2027-01-31"},
            {"question_id": "out.log", "title": "操作ログ", "remediation": "操作ログを1年保存すること。",
             "deadline": "2027-02-28"},
        ] if findings else [],
        "rating": "conditional" if findings else "pass",
        "memorandum": memorandum,
    }


ALL = ("outsourcing", "cloud", "social_media")


def test_numbering_is_computed_and_contiguous():
    doc = compose_annex(make_snapshot(ALL, findings=True))
    assert [a.number for a in doc.articles] == list(range(1, len(doc.articles) + 1))
    assert [a.label for a in doc.articles][:3] == ["第1条", "第2条", "第3条"]
    assert doc.articles[0].title == "第1条（総則）"
    for a in doc.articles:
        assert [p.label for p in a.paragraphs] == [""] + [str(n) for n in range(2, len(a.paragraphs) + 1)]
        for p in a.paragraphs:
            assert [i.label for i in p.items] == [f"（{n}）" for n in range(1, len(p.items) + 1)]
    safeguards = doc.article("safeguards")
    assert safeguards.paragraphs[0].items[0].label == "（1）"
    assert len(safeguards.paragraphs[0].items) == 5
    assert [t.label for t in doc.tables] == ["別表1", "別表2", "別表3"]  # one digit style (issue #10)


def test_base_articles_follow_domain_order():
    keys = compose_annex(make_snapshot()).article_keys
    expected = ["general", "basic", "confidentiality", "staff", "responsibility", "work_setup",
                "collection_limit", "safeguards", "no_other_use", "no_takeout", "no_copy", "subcontracting_declared",
                "return_disposal", "incident", "audit", "termination", "laws", "consultation"]
    positions = [keys.index(k) for k in expected]
    assert positions == sorted(positions)


def test_library_has_no_typed_numbering_and_known_placeholders():
    known = {"organisation.name", "organisation.head_title", "organisation.policy_title", "vendor.name",
             "engagement.title", "engagement.reference", "cloud.service_name", "cloud.data_location",
             "cloud.governing_law", "cloud.court", "subcontractors.names", "table.officers", "table.accounts",
             "table.findings"}
    keys = [a["key"] for a in ARTICLES]
    assert len(keys) == len(set(keys))
    for a in ARTICLES:
        texts = [a["heading"]]
        for p in a["paragraphs"]:
            texts += [p] if isinstance(p, str) else [p["text"], *p.get("items", [])]
        for t in texts:
            assert not re.search(r"(?<![法律])第[0-9０-９一二三四五六七八九十]+条", t), t  # statutes excepted
            assert not re.match(r"^[（(]?[0-9０-９]+[）)]?\s", t), t
            for name in re.findall(r"\{([a-z_.0-9]+)\}", t):
                assert name in known or (name.startswith("article.") and name[8:] in keys), name


def test_subcontracting_declared_names_subcontractors():
    doc = compose_annex(make_snapshot(subcontractors=True))
    assert "subcontracting" not in doc.article_keys
    art = doc.article("subcontracting_declared")
    assert art.heading == "再委託"
    assert "「有限会社テスト開発」及び「株式会社クラウド基盤」" in art.paragraphs[0].text
    audit = doc.article("audit")
    assert f"{audit.label}に定める検査" in art.paragraphs[3].text
    captions = [b.caption for b in doc.table("officers").blocks]
    assert "再委託先" in captions


def test_subcontracting_absent_gives_restriction_only():
    doc = compose_annex(make_snapshot(subcontractors=False))
    assert "subcontracting_declared" not in doc.article_keys
    assert doc.article("subcontracting").heading == "再委託の制限"
    assert "書面により甲の承諾" in doc.article("subcontracting").paragraphs[0].text
    assert "再委託先" not in [b.caption for b in doc.table("officers").blocks]
    # declared but with no named subcontractor is treated as none
    snap = make_snapshot(subcontractors=False)
    snap["subcontracting"]["declared"] = True
    assert "subcontracting" in compose_annex(snap).article_keys


def test_cloud_high_adds_location_law_and_exit():
    doc = compose_annex(make_snapshot(("outsourcing", "cloud"), cloud_high=True))
    for key in ("cloud_service", "data_location", "governing_law", "cloud_exit"):
        assert key in doc.article_keys
    assert "cloud_low" not in doc.article_keys
    assert "保存場所は、日本国内（東京リージョン）とし" in doc.article("data_location").paragraphs[0].text
    law = doc.article("governing_law").paragraphs[0].text
    assert "日本法" in law and "東京地方裁判所" in law
    assert "削除" in doc.article("cloud_exit").paragraphs[1].text
    assert "サンプル住民情報クラウド" in doc.article("cloud_service").paragraphs[0].text


def test_cloud_low_omits_high_articles():
    snap = make_snapshot(("cloud",), cloud_high=False)
    snap["organisation"]["cloud_low_document"] = "annex"  # the bilateral annex chosen (issue #10 §4)
    doc = compose_annex(snap)
    assert "cloud_service" in doc.article_keys and "cloud_low" in doc.article_keys
    for key in ("data_location", "governing_law", "cloud_exit", "system_security"):
        assert key not in doc.article_keys


def test_no_cloud_kind_has_no_cloud_articles():
    keys = compose_annex(make_snapshot(("outsourcing",))).article_keys
    assert not {"cloud_service", "cloud_low", "data_location", "governing_law", "cloud_exit"} & set(keys)
    assert "system_security" in keys


def test_cloud_high_requires_location():
    snap = make_snapshot(("cloud",))
    snap["cloud"]["data_location"] = ""
    with pytest.raises(AnnexCompositionError, match="データの保存場所"):
        compose_annex(snap)


def test_social_media_articles_and_accounts_table():
    doc = compose_annex(make_snapshot(("social_media",)))
    for key in ("social_operation", "social_accounts", "social_hijack"):
        assert key in doc.article_keys
    table = doc.table("accounts")
    assert table.label == "別表2"
    rows = table.blocks[0].rows
    assert rows[0] == ("X (旧Twitter)", "@tamana_city", "秘書広報課", "髙木 﨑子")
    assert rows[1][3] == "𠮷田 三郎"
    assert "別表2に掲げるアカウント" in doc.article("social_operation").paragraphs[0].text
    assert "機密性2以上の情報" in [i.text for i in doc.article("social_operation").paragraphs[1].items]
    assert "乗っ取り" in doc.article("social_hijack").paragraphs[0].text


def test_no_social_media_no_accounts_table():
    doc = compose_annex(make_snapshot(("outsourcing",)))
    assert [t.key for t in doc.tables] == ["officers"]
    assert not {"social_operation", "social_accounts", "social_hijack"} & set(doc.article_keys)


def test_social_media_without_accounts_still_has_table():
    doc = compose_annex(make_snapshot(("social_media",), accounts=False))
    assert doc.table("accounts").blocks[0].rows == ()


def test_findings_article_and_table_with_wareki_deadlines():
    doc = compose_annex(make_snapshot(("outsourcing",), findings=True))
    table = doc.table("findings")
    assert table.label == "別表2"  # no social-media table in between
    assert table.blocks[0].rows[0] == (
        "1", "令和9年1月31日までに、管理者アカウントに多要素認証を設定し、その結果を書面で甲に報告すること。",
        "令和9年1月31日")
    art = doc.article("findings")
    assert "別表2に掲げる事項" in art.paragraphs[0].text
    assert f"{doc.article('termination').label}の規定" in art.paragraphs[1].text
    assert "確認結果" not in dict(doc.summary)  # the rating stays in the metadata (issue #10)
    assert "findings" not in compose_annex(make_snapshot()).article_keys


def test_preamble_cites_the_organisations_own_clause():
    doc = compose_annex(make_snapshot(("outsourcing", "cloud")))
    assert ("玉名市情報セキュリティ基本方針6(8)「業務委託と外部サービス（クラウドサービス）の利用」"
            "に定める") in doc.preamble
    assert doc.preamble.startswith("玉名市（以下「甲」という。）と株式会社サンプル（以下「乙」という。）")
    quoted = dict(doc.clause_quote.paragraphs)
    assert quoted["業務委託"] == CLAUSE["paragraphs"]["outsourcing"]
    assert quoted["外部サービス（クラウドサービス）の利用"] == CLAUSE["paragraphs"]["external_services"]
    assert CLAUSE["paragraphs"]["social_media"] not in quoted.values()
    assert doc.party_a.name == "玉名市" and doc.party_a.title == "玉名市長"
    assert doc.party_b.label == "乙" and doc.party_b.name == "株式会社サンプル"


def test_older_policy_without_social_paragraph():
    snap = make_snapshot(("social_media",))
    snap["organisation"]["clause"]["paragraphs"]["social_media"] = None
    doc = compose_annex(snap)
    assert doc.clause_quote is None
    assert "6(8)「業務委託と外部サービス（クラウドサービス）の利用」" in doc.preamble


def test_officers_table_both_sides():
    doc = compose_annex(make_snapshot())
    blocks = {b.caption: b for b in doc.table("officers").blocks}
    assert blocks["甲（玉名市）"].rows == (("情報セキュリティ管理者", "総務課長", "﨑山 一郎"),)
    contractor = blocks["乙（株式会社サンプル）"].rows
    assert contractor[0][:3] == ("業務責任者", "公共システム部　部長", "髙橋 𠮷男")
    assert contractor[1][0] == "情報セキュリティ責任者"
    assert dict(blocks["作業場所等"].rows) == {"作業場所": "乙 熊本本社 7階 開発室",
                                            "データ保管場所": "乙 データセンター（東京都）"}


def test_organisation_overrides_replace_omit_and_add():
    snap = make_snapshot()
    snap["organisation"]["articles_override"] = {
        "reports": {"omit": True},
        "basic": {"heading": "基本的事項（玉名市）", "paragraphs": ["乙は、{organisation.name}の規程を遵守する。"]},
        "tamana_education": {"heading": "研修への参加", "after": "staff",
                             "paragraphs": [{"text": "乙は、次の研修に参加する。", "items": ["甲の実施する研修"]}]},
        "local_extra": {"heading": "その他", "paragraphs": ["{vendor.name}は誠実に履行する。"]},
    }
    doc = compose_annex(snap)
    keys = doc.article_keys
    assert "reports" not in keys
    assert doc.article("basic").heading == "基本的事項（玉名市）"
    assert doc.article("basic").paragraphs[0].text == "乙は、玉名市の規程を遵守する。"
    assert keys.index("tamana_education") == keys.index("staff") + 1
    assert doc.article("tamana_education").paragraphs[0].items[0].label == "（1）"
    assert keys[-2:] == ("local_extra", "consultation")
    assert doc.article("local_extra").paragraphs[0].text == "株式会社サンプルは誠実に履行する。"
    assert [a.number for a in doc.articles] == list(range(1, len(keys) + 1))


@pytest.mark.parametrize(
    "override",
    [
        {"basic": {"paragraphs": ["{engagement.secret}"]}},
        {"new": {"paragraphs": ["x"]}},
        {"new": {"heading": "x", "paragraphs": []}},
        {"new": {"heading": "x", "paragraphs": ["x"], "after": "nope"}},
        {"new": {"heading": "x", "paragraphs": ["x"], "when": ["moon_phase"]}},
        {"findings": {"paragraphs": ["{table.accounts}"]}, "general": {"paragraphs": ["{table.accounts}"]}},
    ],
)
def test_bad_overrides_are_rejected(override):
    snap = make_snapshot()
    snap["organisation"]["articles_override"] = override
    with pytest.raises(AnnexCompositionError):
        compose_annex(snap)


def test_untrusted_values_are_not_re_expanded():
    snap = make_snapshot()
    snap["vendor"]["name"] = "{organisation.name}<b>株式会社</b>"
    doc = compose_annex(snap)
    assert "{organisation.name}<b>株式会社</b>（以下「乙」という。）" in doc.preamble


def test_deterministic_and_plain_text():
    a = compose_annex(make_snapshot(ALL, findings=True, memorandum=True))
    b = compose_annex(make_snapshot(ALL, findings=True, memorandum=True))
    assert a == b
    text = annex_text(a)
    assert text == annex_text(b)
    assert "（総則）\n第1条　本覚書は、" in text  # a standalone 覚書 calls itself 本覚書
    assert "\n2　本覚書と本契約" in text
    assert "\n　（1）　業務上の情報を取り扱う従事者を限定し" in text
    assert "別表1　責任者等一覧" in text
    assert a.document_id not in text  # metadata stays out of the diffable text
    assert a.closing and "記名押印" in a.closing


def test_snapshot_errors():
    snap = make_snapshot()
    snap["engagement"]["kinds"] = []
    with pytest.raises(AnnexCompositionError):
        compose_annex(snap)
    snap = make_snapshot()
    snap["engagement"]["kinds"] = ["outsourcing", "catering"]
    with pytest.raises(AnnexCompositionError):
        compose_annex(snap)
    snap = make_snapshot()
    snap["issued_on"] = "22/11/2026"
    with pytest.raises(AnnexCompositionError):
        compose_annex(snap)
