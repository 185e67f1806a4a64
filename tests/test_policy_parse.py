# ruff: noqa: E501  (expected texts are whole sentences of the real policies)
"""Tests for vendorrisk.domain.policy (pure parsing, no app fixtures)."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vendorrisk.cli_policy import cmd_policy_parse
from vendorrisk.domain.policy import (
    CLAUSE_TITLE,
    OBLIGATION_KEYS,
    ParsedPolicy,
    PolicyParseError,
    parse_policy_bytes,
    parse_policy_file,
    parse_policy_text,
    read_policy_file,
)

POLICY_DIR = Path(__file__).resolve().parents[1] / "vendorrisk" / "data" / "policies"
FONT_URL = "file:///usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"


def _policy_text(name: str) -> str:
    return (POLICY_DIR / f"{name}.txt").read_text(encoding="utf-8")


# Expected values, read off the five real policies by hand.
EXPECTED: dict[str, dict[str, object]] = {
    "tamana-city": {
        "organisation": "玉名市",
        "title": "玉名市情報セキュリティ基本方針",
        "enacted_as_written": "令和8年4月1日策定",
        "enacted_on": dt.date(2026, 4, 1),
        "number": "(8)",
        "bodies": (
            "市長部局", "議会", "教育委員会", "選挙管理委員会", "監査委員",
            "公平委員会", "農業委員会", "固定資産評価審査委員会", "企業局",
        ),
        "outsourcing": "業務委託を行う場合には、委託事業者を選定し、情報セキュリティ要件を明記した契約を締結し、委託事業者において必要なセキュリティ対策が確保されていることを確認し、必要に応じて契約に基づき措置を講じる。",
        "external_services": "外部サービス（クラウドサービス）を利用する場合には、利用に係る規定を整備し対策を講じる。",
        "social_media": "ソーシャルメディアサービスを利用する場合には、ソーシャルメディアサービスの運用手順を定め、ソーシャルメディアサービスで発信できる情報を規定し、利用するソーシャルメディアサービスごとの責任者を定める。",
    },
    "ryugasaki-eisei-kumiai": {
        "organisation": "龍ヶ崎地方衛生組合",
        "title": "龍ヶ崎地方衛生組合情報セキュリティ基本方針",
        "enacted_as_written": "令和8年3月31日",
        "enacted_on": dt.date(2026, 3, 31),
        "number": "(8)",
        "bodies": ("管理者の内部部局", "公平委員会", "監査委員", "議会"),
        "outsourcing": "業務委託を行う場合には、委託事業者を選定し、情報セキュリティ要件を明記した契約を締結し、委託事業者において必要なセキュリティ対策が確保されていることを確認し、必要に応じて契約に基づき措置を講じる。",
        "external_services": "外部サービス（クラウドサービス）を利用する場合には、利用に係る規定を整備し対策を講じる。",
        "social_media": "ソーシャルメディアサービスを利用する場合には、ソーシャルメディアサービスの運用手順を定め、ソーシャルメディアサービスで発信できる情報を規定し、利用するソーシャルメディアサービスごとの責任者を定める。",
    },
    "nanbu-town-aomori": {
        "organisation": "南部町",
        # The text is 「第１章 情報セキュリティ基本方針」 of the 南部町情報セキュリティポリシー it names.
        "title": "南部町情報セキュリティポリシー",
        "enacted_as_written": None,
        "enacted_on": None,
        "number": "(８ )",
        "bodies": (
            "町長部局", "教育委員会", "議会", "選挙管理委員会", "監査委員", "農業委員会",
            "固定資産評価審査委員会", "地方公営企業", "各出先機関",
        ),
        "outsourcing": "業務委託を行う場合には、委託事業者を選定し、情報セキュリティ要件を明記した契約を締結し、委託事業者において必要なセキュリティ対策が確保されていることを確認し、必要に応じて契約に基づき措置を講じる。",
        "external_services": "外部サービス（クラウドサービス）を利用する場合には、利用にかかる規定を整備し対策を講じる。",
        "social_media": "ソーシャルメディアサービスを利用する場合には、ソーシャルメディアサービスの運用手順を定め、ソーシャルメディアサービスで発信できる情報を規定し、利用するソーシャルメディアサービスごとの責任者を定める。",
    },
    "ichikawa-city": {
        "organisation": "市川市",
        "title": "市川市情報セキュリティポリシー",
        "enacted_as_written": "令和8年4月1日 一部改定",
        "enacted_on": dt.date(2026, 4, 1),
        "number": "(8)",
        "bodies": ("内部部局", "行政委員会", "委員", "議会事務局", "消防本部", "消防署", "学校"),
        "outsourcing": "業務委託を行う場合には、委託事業者を選定し、情報セキュリティ要件を明記した契約を締結し、委託事業者において必要なセキュリティ対策が確保されていることを確認し、必要に応じて契約に基づき措置を講じる。",
        "external_services": "外部サービス（クラウドサービス）を利用する場合には、利用に係る規定を整備し対策を講じる。",
        "social_media": "ソーシャルメディアサービスを利用する場合には、ソーシャルメディアサービスの運用手順を定め、ソーシャルメディアサービスで発信できる情報を規定し、利用するソーシャルメディアサービスごとの責任者を定める。",
    },
    "ome-city": {
        "organisation": "青梅市",
        "title": "青梅市情報セキュリティポリシー",
        "enacted_as_written": "令和8年4月1日",
        "enacted_on": dt.date(2026, 4, 1),
        "number": "(8)",
        "bodies": (
            "市長部局", "教育委員会", "選挙管理委員会", "農業委員会", "監査委員",
            "固定資産評価審査委員会", "議会", "病院事業局", "ポートレース事業局",
        ),
        "outsourcing": "業務委託を行う場合には、委託事業者を選定し、情報セキュリティ要件を明記した契約を締結し、委託事業者において必要なセキュリティ対策が確保されていることを確認し、必要に応じて契約にもとづき措置を講ずる。",
        "external_services": "外部サービス（クラウドサービス）を利用する場合には、利用にかかる規定を整備し対策を講ずる。",
        "social_media": "ソーシャルメディアサービスを利用する場合には、ソーシャルメディアサービスの運用手順を定め、ソーシャルメディアサービスで発信できる情報を規定し、利用するソーシャルメディアサービスごとの責任者を定める。",
    },
}
NAMES = sorted(EXPECTED)


def _assert_clause_paragraphs(policy: ParsedPolicy, name: str) -> None:
    exp = EXPECTED[name]
    assert policy.clause.title == CLAUSE_TITLE
    assert policy.clause.outsourcing == exp["outsourcing"]
    assert policy.clause.external_services == exp["external_services"]
    assert policy.clause.social_media == exp["social_media"]
    assert policy.clause.obligations == OBLIGATION_KEYS


# --------------------------------------------------------------------------- real policies


@pytest.mark.parametrize("name", NAMES)
def test_real_policy(name: str) -> None:
    exp = EXPECTED[name]
    policy = parse_policy_file(POLICY_DIR / f"{name}.txt")
    assert policy.organisation == exp["organisation"]
    assert policy.title == exp["title"]
    assert policy.enacted_as_written == exp["enacted_as_written"]
    assert policy.enacted_on == exp["enacted_on"]
    assert policy.bodies == exp["bodies"]
    assert policy.clause.number == exp["number"]
    _assert_clause_paragraphs(policy, name)


@pytest.mark.parametrize("name", NAMES)
def test_to_json_shape(name: str) -> None:
    policy = parse_policy_text(_policy_text(name))
    data = policy.to_json()
    # Must survive a JSON round trip unchanged.
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert set(data) == {"organisation", "title", "enacted", "bodies", "clause"}
    assert data["enacted"] == {
        "as_written": EXPECTED[name]["enacted_as_written"],
        "iso": EXPECTED[name]["enacted_on"].isoformat() if EXPECTED[name]["enacted_on"] else None,  # type: ignore[union-attr]
    }
    clause = data["clause"]
    assert set(clause) == {"number", "title", "paragraphs", "obligations"}
    assert clause["paragraphs"] == {
        "outsourcing": EXPECTED[name]["outsourcing"],
        "external_services": EXPECTED[name]["external_services"],
        "social_media": EXPECTED[name]["social_media"],
    }
    assert clause["obligations"] == list(OBLIGATION_KEYS)


# --------------------------------------------------------------------------- encodings


@pytest.mark.parametrize("name", NAMES)
def test_cp932_and_bom_read_identically(name: str, tmp_path: Path) -> None:
    text = _policy_text(name)
    cp932 = tmp_path / f"{name}-sjis.txt"
    cp932.write_bytes(text.encode("cp932"))
    bom = tmp_path / f"{name}-bom.md"
    bom.write_bytes(text.encode("utf-8-sig"))
    assert read_policy_file(cp932) == text
    assert read_policy_file(bom) == text
    reference = parse_policy_text(text)
    assert parse_policy_file(cp932) == reference
    assert parse_policy_bytes(text.encode("cp932"), "policy.txt") == reference
    assert parse_policy_bytes(text.encode("utf-8-sig"), "policy.md") == reference


def test_undecodable_text_raises_japanese_message() -> None:
    with pytest.raises(PolicyParseError, match="文字コード"):
        parse_policy_bytes(b"\xff\xfe\x00\x81\xff" * 10, "policy.txt")


# --------------------------------------------------------------------------- PDF


def _policy_pdf(text: str, header: str) -> bytes:
    """A text-based PDF of *text*, one <p> per line, with a running header, page numbers
    and a forced page break in the middle of the clause's first paragraph."""
    from weasyprint import HTML

    parts: list[str] = []
    for line in text.splitlines():
        line = line.lstrip("#").strip()  # a PDF has no markdown markers
        if not line:
            continue
        if line.startswith("業務委託を行う場合には"):
            # Split the sentence across two pages.
            cut = len(line) // 2
            parts.append(f"<p>{html.escape(line[:cut])}</p>")
            parts.append('<div style="break-before: page"></div>')
            parts.append(f"<p>{html.escape(line[cut:])}</p>")
        else:
            parts.append(f"<p>{html.escape(line)}</p>")
    css = (
        f'@font-face{{font-family:"T";src:url({FONT_URL})}}'
        "@page{size:A5;margin:18mm 15mm;"
        f'@top-center{{content:"{header}";font-family:T;font-size:8pt}}'
        '@bottom-center{content:"- " counter(page) " -";font-family:T;font-size:8pt}}'
        "body{font-family:T;font-size:10pt}p{margin:0 0 3pt 0}"
    )
    doc = f"<html><head><meta charset='utf-8'><style>{css}</style></head><body>{''.join(parts)}</body></html>"
    return HTML(string=doc).write_pdf()


@pytest.fixture(scope="module")
def tamana_pdf() -> bytes:
    return _policy_pdf(_policy_text("tamana-city"), "玉名市情報セキュリティ基本方針")


def test_pdf_text_is_actually_wrapped(tamana_pdf: bytes, tmp_path: Path) -> None:
    path = tmp_path / "tamana.pdf"
    path.write_bytes(tamana_pdf)
    text = read_policy_file(path)
    # The narrow page must force hard line breaks and page furniture into the clause.
    assert EXPECTED["tamana-city"]["outsourcing"] not in text
    clause = text[text.index(f"(8) {CLAUSE_TITLE}") : text.index("(9) 評価・見直し")]
    assert "\n玉名市情報セキュリティ基本方針\n" in clause
    assert re.search(r"\n- \d+ -\n", clause)
    assert "#" not in text


def test_pdf_parses_to_same_clause(tamana_pdf: bytes, tmp_path: Path) -> None:
    path = tmp_path / "tamana.pdf"
    path.write_bytes(tamana_pdf)
    for policy in (parse_policy_file(path), parse_policy_bytes(tamana_pdf, "upload.pdf")):
        assert policy.organisation == "玉名市"
        assert policy.title == "玉名市情報セキュリティ基本方針"
        assert policy.enacted_on == dt.date(2026, 4, 1)
        assert policy.clause.number == "(8)"
        _assert_clause_paragraphs(policy, "tamana-city")


def test_pdf_detected_by_magic_without_suffix(tamana_pdf: bytes) -> None:
    policy = parse_policy_bytes(tamana_pdf, "upload.txt")
    _assert_clause_paragraphs(policy, "tamana-city")


def test_nanbu_pdf_with_foreign_running_header() -> None:
    pdf = _policy_pdf(_policy_text("nanbu-town-aomori"), "南部町情報セキュリティポリシー")
    policy = parse_policy_bytes(pdf, "nanbu.pdf")
    assert policy.organisation == "南部町"
    assert policy.clause.number == "(８ )"
    _assert_clause_paragraphs(policy, "nanbu-town-aomori")


def test_pdf_suffix_but_not_pdf() -> None:
    with pytest.raises(PolicyParseError, match="PDF ファイルではありません"):
        parse_policy_bytes("玉名市".encode(), "policy.pdf")


def test_broken_pdf_raises_japanese_message() -> None:
    with pytest.raises(PolicyParseError, match="PDF"):
        parse_policy_bytes(b"%PDF-1.7\n%garbage that is not a pdf\n", "policy.pdf")


def test_pdf_without_text_raises() -> None:
    from weasyprint import HTML

    blank = HTML(string="<html><body><div style='height:10mm'></div></body></html>").write_pdf()
    with pytest.raises(PolicyParseError, match="文字を取り出せません"):
        parse_policy_bytes(blank, "scan.pdf")


# --------------------------------------------------------------------------- noisy variants


def test_page_numbers_and_running_header_inside_clause() -> None:
    text = _policy_text("tamana-city")
    sentence = EXPECTED["tamana-city"]["outsourcing"]
    assert isinstance(sentence, str)
    cut = sentence.index("委託事業者において")
    noisy = sentence[:cut] + "\n\n- 12 -\n\n玉名市情報セキュリティ基本方針\n\n１２\n\n" + sentence[cut:]
    text = text.replace(sentence, noisy)
    text = text.replace(
        "ソーシャルメディアサービスを利用する場合には、",
        "12/30\n玉名市情報セキュリティ基本方針\nソーシャルメディアサービスを利用する場合には、",
    )
    policy = parse_policy_text(text)
    assert policy.clause.number == "(8)"
    _assert_clause_paragraphs(policy, "tamana-city")


def test_repeated_running_header_not_equal_to_title() -> None:
    # A header repeated on every "page" that is not the document title.
    header = "情報政策課　令和8年度版"
    lines = _policy_text("ryugasaki-eisei-kumiai").splitlines()
    out: list[str] = []
    for i, line in enumerate(lines):
        out.append(line)
        if i % 25 == 0:
            out += ["", header, ""]
        if line.startswith("業務委託を行う場合には"):
            out[-1] = line[:30]
            out += ["", header, "- 3 -", "", line[30:]]
    policy = parse_policy_text("\n".join(out))
    _assert_clause_paragraphs(policy, "ryugasaki-eisei-kumiai")


def test_full_width_digits_and_spaces() -> None:
    text = (
        "　龍ヶ崎地方衛生組合　情報セキュリティ基本方針\n\n"
        "令和８年４月１日　策定\n\n"
        "１　目的\n\n本基本方針は、情報資産を守るためのものである。\n\n"
        "６　情報セキュリティ対策\n\n"
        "（７）　運用\n\n運用面の対策を講じる。\n\n"
        "（８ ）　業務委託と外部サービス　（クラウドサービス）　の利用\n\n"
        "業務委託を行う場合には、委託事業者を選定し、情報セキュリティ要件を明記した契約を締結し、\n"
        "委託事業者において必要なセキュリティ対策が確保されていることを確認し、必要に応じて契約に\n"
        "基づき措置を講じる。\n"
        "外部サービス（クラウドサービス）を利用する場合には、利用に係る規定を整備し対策を講じる。\n"
        "ソーシャルメディアサービスを利用する場合には、ソーシャルメディアサービスの運用手順を定め、"
        "ソーシャルメディアサービスで発信できる情報を規定し、利用するソーシャルメディアサービスごとの責任者を定める。\n"
        "（９）　評価・見直し\n\n見直しを行う。\n"
    )
    policy = parse_policy_text(text)
    assert policy.organisation == "龍ヶ崎地方衛生組合"
    assert policy.title == "龍ヶ崎地方衛生組合情報セキュリティ基本方針"
    assert policy.enacted_as_written == "令和８年４月１日　策定"
    assert policy.enacted_on == dt.date(2026, 4, 1)
    assert policy.clause.number == "（８ ）"
    assert policy.clause.title == CLAUSE_TITLE
    _assert_clause_paragraphs(policy, "ryugasaki-eisei-kumiai")


def test_compound_number_and_markdown_bullets() -> None:
    text = (
        "# 架空市情報セキュリティ基本方針\n\n"
        "平成31年4月1日制定\n\n"
        "## 1 目的\n\n目的を定める。\n\n"
        "6(8) 業務委託と外部サービス（クラウドサービス）の利用\n\n"
        "- 業務委託を行う場合には、委託事業者を選定し、情報セキュリティ要件を明記した契約を締結し、"
        "委託事業者において必要なセキュリティ対策が確保されていることを確認し、必要に応じて契約に基づき措置を講ずる。\n"
        "- 外部サービス（クラウドサービス）を利用する場合には、利用にかかる規定を整備し対策を講ずる。\n"
        "- ソーシャルメディアサービスを利用する場合には、運用手順を定め、発信できる情報を規定し、責任者を定める。\n\n"
        "## 7 情報セキュリティ監査\n\n監査を行う。\n"
    )
    policy = parse_policy_text(text)
    assert policy.organisation == "架空市"
    assert policy.enacted_as_written == "平成31年4月1日制定"
    assert policy.enacted_on == dt.date(2019, 4, 1)
    assert policy.clause.number == "6(8)"
    assert policy.clause.outsourcing is not None
    assert policy.clause.outsourcing.startswith("業務委託を行う場合には")
    assert policy.clause.outsourcing.endswith("措置を講ずる。")
    assert policy.clause.external_services == "外部サービス（クラウドサービス）を利用する場合には、利用にかかる規定を整備し対策を講ずる。"
    assert policy.clause.social_media == "ソーシャルメディアサービスを利用する場合には、運用手順を定め、発信できる情報を規定し、責任者を定める。"
    assert policy.clause.obligations == OBLIGATION_KEYS


@pytest.mark.parametrize(
    ("written", "iso"),
    [
        ("令和元年5月1日策定", dt.date(2019, 5, 1)),
        ("令和２年１２月２５日 一部改定", dt.date(2020, 12, 25)),
        ("平成元年1月8日", dt.date(1989, 1, 8)),
        ("昭和64年1月7日", dt.date(1989, 1, 7)),
        ("2024年10月1日改定", dt.date(2024, 10, 1)),
        ("令和8年2月30日", None),
    ],
)
def test_enactment_dates(written: str, iso: dt.date | None) -> None:
    text = f"架空町情報セキュリティ基本方針\n{written}\n" + _policy_text("ryugasaki-eisei-kumiai")
    policy = parse_policy_text(text)
    assert policy.organisation == "架空町"
    assert policy.enacted_as_written == written
    assert policy.enacted_on == iso


def test_enactment_from_supplementary_provision() -> None:
    text = _policy_text("nanbu-town-aomori") + "\n附則\n\nこの方針は、令和3年4月1日から施行する。\n"
    policy = parse_policy_text(text)
    assert policy.enacted_as_written == "令和3年4月1日から施行"
    assert policy.enacted_on == dt.date(2021, 4, 1)


def test_table_of_contents_entry_is_skipped() -> None:
    toc = (
        "目次\n(7) 運用\n(8) 業務委託と外部サービス（クラウドサービス）の利用\n(9) 評価・見直し\n\n"
    )
    text = _policy_text("ome-city").replace("序 青梅市情報セキュリティポリシー", toc + "序 青梅市情報セキュリティポリシー")
    policy = parse_policy_text(text)
    _assert_clause_paragraphs(policy, "ome-city")


# --------------------------------------------------------------------------- older wording


def test_old_policy_without_social_media_paragraph() -> None:
    text = (
        "旧市情報セキュリティ基本方針\n\n平成30年4月1日\n\n"
        "1 目的\n\n目的を定める。\n\n"
        "(8) 業務委託と外部サービスの利用\n\n"
        "業務委託を行う場合には、委託事業者を選定し、情報セキュリティ要件を明記した契約を締結し、"
        "委託事業者において必要なセキュリティ対策が確保されていることを確認し、必要に応じて契約に基づき措置を講じる。\n\n"
        "外部サービスを利用する場合には、利用にかかる規定を整備し対策を講じる。\n\n"
        "(9) 評価・見直し\n\n見直す。\n"
    )
    policy = parse_policy_text(text)
    assert policy.clause.title == "業務委託と外部サービスの利用"
    assert policy.clause.social_media is None
    assert policy.clause.external_services == "外部サービスを利用する場合には、利用にかかる規定を整備し対策を講じる。"
    assert policy.clause.obligations == (
        "outsourcing.select", "outsourcing.contract", "outsourcing.verify", "outsourcing.measures", "cloud.rules",
    )
    assert not any(k.startswith("social.") for k in policy.clause.obligations)
    assert policy.to_json()["clause"]["paragraphs"]["social_media"] is None  # type: ignore[index]


def test_oldest_policy_with_gaibu_itaku_title() -> None:
    text = (
        "旧町情報セキュリティ基本方針\n\n"
        "(8) 外部委託\n\n"
        "外部委託する場合には、外部委託事業者を選定し、情報セキュリティ要件を明記した契約を締結し、\n"
        "外部委託事業者において必要なセキュリティ対策が確保されていることを確認し、必要に応じて契約に基づき措置を講じる。\n\n"
        "(9) 評価・見直し\n\n見直す。\n"
    )
    policy = parse_policy_text(text)
    assert policy.organisation == "旧町"
    assert policy.clause.title == "外部委託"
    assert policy.clause.external_services is None
    assert policy.clause.social_media is None
    assert policy.clause.obligations == OBLIGATION_KEYS[:4]


def test_partial_obligations_detected_from_wording() -> None:
    text = (
        "(8) 業務委託と外部サービス（クラウドサービス）の利用\n"
        "業務委託を行う場合には、情報セキュリティ要件を明記した契約を締結する。\n"
        "外部サービス（クラウドサービス）を利用する場合には、適切に利用する。\n"
        "ソーシャルメディアサービスを利用する場合には、責任者を定める。\n"
    )
    policy = parse_policy_text(text)
    assert policy.clause.obligations == ("outsourcing.contract", "social.owner")


# --------------------------------------------------------------------------- errors


def test_missing_clause_names_the_title() -> None:
    text = _policy_text("tamana-city")
    start = text.index("## (8) 業務委託")
    end = text.index("## (9) 評価")
    with pytest.raises(PolicyParseError) as info:
        parse_policy_text(text[:start] + text[end:])
    assert "「業務委託と外部サービス（クラウドサービス）の利用」" in str(info.value)
    assert "外部委託" in str(info.value)


def test_heading_without_body_raises() -> None:
    text = "(8) 業務委託と外部サービス（クラウドサービス）の利用\n(9) 評価・見直し\n見直す。\n"
    with pytest.raises(PolicyParseError, match="業務委託と外部サービス"):
        parse_policy_text(text)


def test_empty_text_raises() -> None:
    with pytest.raises(PolicyParseError, match="空"):
        parse_policy_text("  \n")


def test_name_claiming_docx_but_text_inside_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "policy.docx"
    path.write_text(_policy_text("tamana-city"), encoding="utf-8")
    with pytest.raises(PolicyParseError, match="対応していないファイル形式です"):
        read_policy_file(path)
    with pytest.raises(PolicyParseError, match="対応していないファイル形式です"):
        parse_policy_bytes(path.read_bytes(), "policy.docx")


@pytest.mark.parametrize("filename", ["policy", "policy.html", "方針.dat"])
def test_format_is_decided_by_content_not_name(filename: str, tmp_path: Path) -> None:
    # Issue #11: plain text is read as text whatever the file is called.
    path = tmp_path / filename
    path.write_text(_policy_text("tamana-city"), encoding="utf-8")
    _assert_clause_paragraphs(parse_policy_file(path), "tamana-city")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyParseError, match="ファイルが見つかりません"):
        parse_policy_file(tmp_path / "nope.txt")


def test_empty_upload() -> None:
    with pytest.raises(PolicyParseError, match="ファイルが空です"):
        parse_policy_bytes(b"", "policy.txt")


# --------------------------------------------------------------------------- property: hard wraps

_SOCIAL = EXPECTED["tamana-city"]["social_media"]
_CLAUSE_PARAGRAPHS = [
    EXPECTED["tamana-city"]["outsourcing"],
    EXPECTED["tamana-city"]["external_services"],
    _SOCIAL,
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    widths=st.lists(st.integers(min_value=8, max_value=60), min_size=3, max_size=3),
    separators=st.lists(st.sampled_from(["\n", "\n\n", " \n\n", "\n \n"]), min_size=3, max_size=3),
)
def test_any_hard_wrap_is_rejoined(widths: list[int], separators: list[str]) -> None:
    wrapped: list[str] = []
    for para, width, sep in zip(_CLAUSE_PARAGRAPHS, widths, separators, strict=True):
        assert isinstance(para, str)
        wrapped.append(sep.join(para[i : i + width] for i in range(0, len(para), width)))
    text = (
        "玉名市情報セキュリティ基本方針\n\n(8) 業務委託と外部サービス（クラウドサービス）の利用\n\n"
        + "\n\n".join(wrapped)
        + "\n\n(9) 評価・見直し\n\n見直す。\n"
    )
    policy = parse_policy_text(text)
    _assert_clause_paragraphs(policy, "tamana-city")


# --------------------------------------------------------------------------- CLI body


def test_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert cmd_policy_parse(str(POLICY_DIR / "ome-city.txt"), as_json=True) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["organisation"] == "青梅市"
    assert data["clause"]["obligations"] == list(OBLIGATION_KEYS)


def test_cli_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert cmd_policy_parse(str(POLICY_DIR / "nanbu-town-aomori.txt"), as_json=False) == 0
    out = capsys.readouterr().out
    assert "団体名: 南部町" in out
    assert "(８ ) 業務委託と外部サービス（クラウドサービス）の利用" in out
    assert "義務の記載: 8/8 件" in out


def test_cli_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cmd_policy_parse(str(tmp_path / "missing.txt"), as_json=True) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "ファイルが見つかりません" in captured.err
    bad = tmp_path / "bad.txt"
    bad.write_text("目的\n\n何もない。\n", encoding="utf-8")
    assert cmd_policy_parse(str(bad), as_json=False) == 2
    assert "業務委託と外部サービス（クラウドサービス）の利用" in capsys.readouterr().err


@pytest.mark.parametrize(
    "heading",
    [
        "(8) 業務委託と外部サービス（クラウド\nサービス）の利用",
        "(8)\n業務委託と外部サービス（クラウドサービス）の利用",
        "(8) 業務委託と外部サービス\n\n（クラウドサービス）の利用",
    ],
)
def test_clause_title_wrapped_over_two_lines(heading: str) -> None:
    text = _policy_text("tamana-city").replace(f"## (8) {CLAUSE_TITLE}", heading)
    policy = parse_policy_text(text)
    assert policy.clause.number == "(8)"
    _assert_clause_paragraphs(policy, "tamana-city")
