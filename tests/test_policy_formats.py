# ruff: noqa: E501  (expected texts are whole sentences of the policies)
"""Issue #11: every format a municipality publishes its policy in, every layout, and hostile files.

The fixtures in tests/fixtures/policies/ are written the way 例規集 pages and policy documents look
(chrome, scripts and entities in the HTML; captions above articles; titles sharing a line with the
body; kanji and 2―8 numbering). Word files are built here with python-docx, headers and footers too.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path

import docx
import pytest

from vendorrisk.domain.policy import (
    CLAUSE_TITLE,
    OBLIGATION_KEYS,
    Limits,
    PolicyParseError,
    PolicyTooLargeError,
    parse_policy_bytes,
    parse_policy_file,
    parse_policy_text,
    read_policy_bytes,
)
from vendorrisk.paths import POLICIES_DIR

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "policies"

OUTSOURCING = "業務委託を行う場合には、委託事業者を選定し、情報セキュリティ要件を明記した契約を締結し、委託事業者において必要なセキュリティ対策が確保されていることを確認し、必要に応じて契約に基づき措置を講じる。"
EXTERNAL = "外部サービス（クラウドサービス）を利用する場合には、利用に係る規定を整備し対策を講じる。"
SOCIAL = "ソーシャルメディアサービスを利用する場合には、ソーシャルメディアサービスの運用手順を定め、ソーシャルメディアサービスで発信できる情報を規定し、利用するソーシャルメディアサービスごとの責任者を定める。"


def _paragraph_text(policy) -> str:
    return "".join(p or "" for p in policy.clause.paragraphs().values())


# --------------------------------------------------------------------------- HTML (例規集)


def test_reiki_html_page_in_shift_jis() -> None:
    data = (FIXTURES / "reiki-kakuu-town.html").read_bytes()
    source = read_policy_bytes(data, "reiki.html")
    assert source.format == "html"
    text = source.text
    # Entities decoded, nested spans kept on their line; chrome and scripts gone.
    assert "第1条　この方針は、架空町（以下「本町」という。）" in text
    for chrome in ("これはスクリプトです", "第9条", "関連リンク", "トップ", "Copyright", "ページの先頭へ", "架空町例規集", "console.log"):
        assert chrome not in text, chrome
    policy = parse_policy_bytes(data, "reiki.html")
    assert policy.source_format == "html"
    assert policy.organisation == "架空町"
    assert policy.title == "架空町情報セキュリティ基本方針"
    assert policy.enacted_as_written == "平成29年3月31日"
    assert policy.bodies == ("町長部局", "教育委員会", "選挙管理委員会", "監査委員", "議会")
    clause = policy.clause
    assert (clause.number, clause.number_full, clause.title, clause.layout) == ("第6条", "第6条", "外部委託", "article")
    # 第1項 with its 号 (1)-(4); 項 ２ and ３ become the other two paragraphs, their numbers dropped.
    assert clause.outsourcing == (
        "実施機関は、業務委託を行う場合には、次に掲げる措置を講じなければならない。"
        "(1)　委託事業者を選定すること。(2)　情報セキュリティ要件を明記した契約を締結すること。"
        "(3)　委託事業者において必要なセキュリティ対策が確保されていることを確認すること。"
        "(4)　必要に応じて契約に基づき措置を講ずること。"
    )
    assert clause.external_services == "実施機関は、外部サービス（クラウドサービス）を利用する場合には、利用に係る規定を整備し対策を講じなければならない。"
    assert clause.social_media is not None and clause.social_media.startswith("実施機関は、ソーシャルメディアサービスを利用する場合には")
    assert clause.obligations == OBLIGATION_KEYS
    # The clause ends at the next caption/article: 第7条 is not swallowed.
    assert "監査" not in _paragraph_text(policy)
    assert any("例規" in w for w in policy.warnings)
    assert any("旧表記" in w for w in policy.warnings)


def test_html_is_detected_by_content_and_charset_declaration() -> None:
    page = (FIXTURES / "reiki-kakuu-town.html").read_bytes().decode("cp932")
    utf8 = page.replace("charset=Shift_JIS", "charset=UTF-8").encode("utf-8")
    reference = parse_policy_bytes((FIXTURES / "reiki-kakuu-town.html").read_bytes(), "a.html")
    assert parse_policy_bytes(utf8, "download.txt") == reference


def test_html_without_the_clause_names_the_title() -> None:
    page = "<!DOCTYPE html><html><body><h1>架空市情報公開条例</h1><p>第1条&nbsp;この条例は、情報公開について定める。</p></body></html>"
    with pytest.raises(PolicyParseError, match=CLAUSE_TITLE):
        parse_policy_bytes(page.encode(), "page.html")


def test_html_with_the_clause_only_in_scripts_and_hidden_parts_is_refused() -> None:
    page = (
        "<html><head><script>var t='(8) 業務委託と外部サービス（クラウドサービス）の利用';</script></head><body>"
        f"<div style='display: none'><p>(8) {CLAUSE_TITLE}</p><p>{OUTSOURCING}</p></div>"
        f"<nav><p>(8) {CLAUSE_TITLE}</p><p>{OUTSOURCING}</p></nav>"
        f"<noscript><p>(8) {CLAUSE_TITLE}</p><p>{OUTSOURCING}</p></noscript>"
        "<p>架空市情報セキュリティ基本方針</p><p>1 目的</p><p>目的を定める。</p></body></html>"
    )
    with pytest.raises(PolicyParseError, match="見つかりませんでした"):
        parse_policy_bytes(page.encode(), "hostile.html")


# --------------------------------------------------------------------------- Word (.docx)


def _docx(build) -> bytes:
    document = docx.Document()
    build(document)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _with_header_and_footer(document, header: str, footer: str) -> None:
    section = document.sections[0]
    section.header.paragraphs[0].text = header
    section.footer.paragraphs[0].text = footer


def test_docx_with_heading_styles_and_only_the_outsourcing_paragraph() -> None:
    def build(d) -> None:
        d.add_paragraph("架空広域連合情報セキュリティ基本方針", style="Title")
        d.add_paragraph("平成27年4月1日 策定")
        d.add_heading("目的", level=1)
        d.add_paragraph("この基本方針は、架空広域連合が保有する情報資産を守るための基本的な事項を定める。")
        d.add_heading("情報セキュリティ対策", level=1)
        d.add_heading("外部委託", level=2)
        d.add_paragraph(
            "外部委託する場合には、外部委託事業者を選定し、情報セキュリティ要件を明記した契約を締結し、"
            "外部委託事業者において必要なセキュリティ対策が確保されていることを確認し、必要に応じて契約に基づき措置を講じる。"
        )
        d.add_heading("評価・見直し", level=2)
        d.add_paragraph("情報セキュリティポリシーの見直しを定期的に行う。")
        # A header that repeats a clause heading and a page-number footer must not be read.
        _with_header_and_footer(d, f"(8) {CLAUSE_TITLE}　{EXTERNAL}", "- 1 -")

    data = _docx(build)
    source = read_policy_bytes(data, "kihon-houshin.docx")
    assert source.format == "docx"
    assert EXTERNAL not in source.text and "- 1 -" not in source.text
    policy = parse_policy_bytes(data, "kihon-houshin.docx")
    assert policy.organisation == "架空広域連合"
    assert policy.enacted_as_written == "平成27年4月1日 策定"
    assert policy.clause.title == "外部委託"
    assert policy.clause.outsourcing is not None and policy.clause.outsourcing.startswith("外部委託する場合には")
    assert policy.clause.external_services is None and policy.clause.social_media is None
    assert policy.clause.obligations == OBLIGATION_KEYS[:4]
    assert "見直し" not in _paragraph_text(policy)


def test_docx_with_plain_numbered_paragraphs_and_a_table() -> None:
    def build(d) -> None:
        d.add_paragraph("架空市情報セキュリティ基本方針")
        d.add_paragraph("令和７年４月１日　一部改定")
        d.add_paragraph("１　目的")
        d.add_paragraph("本基本方針は、架空市の情報資産を守るための基本的な事項を定める。")
        table = d.add_table(rows=2, cols=2)
        table.cell(0, 0).text, table.cell(0, 1).text = "版", "改定日"
        table.cell(1, 0).text, table.cell(1, 1).text = "第3版", "令和７年４月１日"
        d.add_paragraph("６　情報セキュリティ対策")
        d.add_paragraph("（７）　運用")
        d.add_paragraph("運用面の対策を講じる。")
        d.add_paragraph(f"（８）　{CLAUSE_TITLE}")
        for text in (OUTSOURCING, EXTERNAL, SOCIAL):
            d.add_paragraph(text)
        d.add_paragraph("（９）　評価・見直し")
        d.add_paragraph("定期的に情報セキュリティ監査を実施し、見直しを行う。")
        _with_header_and_footer(d, "架空市　情報政策課", "1/3")

    policy = parse_policy_bytes(_docx(build), "policy.docx")
    assert policy.source_format == "docx"
    assert policy.organisation == "架空市"
    assert (policy.clause.number, policy.clause.number_full) == ("（８）", "6(8)")
    assert policy.clause.paragraphs() == {"outsourcing": OUTSOURCING, "external_services": EXTERNAL, "social_media": SOCIAL}
    assert "監査" not in _paragraph_text(policy)


def test_docx_zip_bomb_is_refused_before_it_is_expanded() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")
        zf.writestr("word/media/image1.bin", b"\0" * (60 * 1024 * 1024))
    data = out.getvalue()
    assert len(data) < 1024 * 1024  # small on disk, 60MB expanded
    with pytest.raises(PolicyTooLargeError, match="大きすぎます"):
        parse_policy_bytes(data, "bomb.docx")


def test_zip_that_is_not_a_word_document_is_unsupported() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(PolicyParseError, match="対応していないファイル形式です.*Word 文書"):
        parse_policy_bytes(out.getvalue(), "policy.xlsx")


def test_broken_docx_gives_a_japanese_message() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("word/document.xml", "<not xml")
    with pytest.raises(PolicyParseError, match="Word 文書"):
        parse_policy_bytes(out.getvalue(), "broken.docx")


# --------------------------------------------------------------------------- layouts in text


def test_title_and_body_on_one_line_with_kanji_numbers() -> None:
    policy = parse_policy_file(FIXTURES / "inline-kanji-village.txt")
    assert policy.organisation == "架空村"
    assert policy.enacted_as_written == "令和５年３月２４日　改定"
    assert policy.bodies == ("村長部局", "教育委員会", "議会事務局", "農業委員会")
    clause = policy.clause
    assert (clause.number, clause.number_full, clause.title, clause.layout) == ("（八）", "四(八)", CLAUSE_TITLE, "inline")
    # The three paragraphs, all on the heading's line, split at their own openings.
    assert clause.paragraphs() == {"outsourcing": OUTSOURCING, "external_services": EXTERNAL, "social_media": SOCIAL}
    assert clause.obligations == OBLIGATION_KEYS
    assert "監査" not in _paragraph_text(policy)


@pytest.mark.parametrize(
    ("fixture", "organisation"),
    [("inline-halfspace-city.txt", "架空市"), ("reiki-nbsp-city.html", "架空野市")],
)
def test_title_and_body_on_one_line_separated_by_one_space(fixture: str, organisation: str) -> None:
    """「（８） 業務委託と…の利用 業務委託を行う場合には…」: one ordinary space (text) or &nbsp; (a
    例規集 page) after the title is enough; the next item, written the same way, ends the clause."""
    policy = parse_policy_file(FIXTURES / fixture)
    assert policy.organisation == organisation
    clause = policy.clause
    assert (clause.number, clause.number_full, clause.title, clause.layout) == ("（８）", "3(8)", CLAUSE_TITLE, "inline")
    assert clause.paragraphs() == {"outsourcing": OUTSOURCING, "external_services": EXTERNAL, "social_media": SOCIAL}
    assert clause.obligations == OBLIGATION_KEYS
    assert "監査" not in _paragraph_text(policy) and "スクリプト" not in _paragraph_text(policy)


def test_one_space_never_splits_inside_a_recognised_title() -> None:
    from vendorrisk.domain.policy.lines import Lines

    for line, heading in (
        ("（８） 業務委託と外部サービス（クラウドサービス）の利用 業務委託を行う場合には、委託する。",
         "（８） 業務委託と外部サービス（クラウドサービス）の利用"),
        ("(8)\u00a0業務委託と外部サービス (クラウドサービス) の利用\u00a0業務委託を行う場合には、委託する。",
         "(8) 業務委託と外部サービス (クラウドサービス) の利用"),
        ("（８） 外部サービスの利用 外部サービスを利用する場合には、規定を整備する。", "（８） 外部サービスの利用"),
    ):
        doc = Lines.build(line)
        assert doc.lines[0] == heading and doc.layouts == {0: "inline"}, line
        assert doc.headings[0] is not None and doc.headings[1] is None


def test_ruby_readings_are_dropped_from_html() -> None:
    page = (
        "<html><body><p>情報セキュリティ要件を明記した<ruby>契約<rt>けいやく</rt></ruby>を締結し、"
        "<ruby>委託<rp>(</rp><rt>いたく</rt><rp>)</rp></ruby>事業者を<ruby>選定<rt>せんてい</ruby>する。</p>"
        "<p>次の段落。</p></body></html>"
    ).encode()
    text = read_policy_bytes(page, "ruby.html").text
    assert text.splitlines() == ["情報セキュリティ要件を明記した契約を締結し、委託事業者を選定する。", "次の段落。"]


def test_broken_pdf_gives_only_the_japanese_message(tmp_path: Path) -> None:
    """pypdf's own complaint ("EOF marker not found") must not show next to our message. Run as a
    real command: inside pytest, log records are captured and would never reach stderr."""
    import subprocess
    import sys

    broken = tmp_path / "broken-policy.pdf"
    broken.write_bytes(b"%PDF-1.4\nbroken, no trailer")
    command = Path(sys.executable).with_name("vendorrisk")
    run = subprocess.run([str(command), "policy", "parse", str(broken)], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path, check=False)
    assert run.returncode == 2
    assert run.stderr.strip() == "エラー: PDF ファイルを読み取れませんでした（PdfStreamError）。"
    assert run.stdout == ""


def test_article_whose_item_holds_the_clause() -> None:
    policy = parse_policy_file(FIXTURES / "article-item-town.txt")
    clause = policy.clause
    assert (clause.number, clause.number_full) == ("(8)", "第6条第8号")
    assert clause.outsourcing == OUTSOURCING.replace("講じる。", "講ずる。")
    assert clause.external_services == EXTERNAL.replace("講じる。", "講ずる。")
    assert clause.social_media == SOCIAL
    assert "監査" not in _paragraph_text(policy)
    assert policy.bodies == ("町長部局", "教育委員会", "選挙管理委員会", "監査委員", "議会事務局")


@pytest.mark.parametrize(
    ("transform", "number", "full"),
    [
        # 第１章 of 架空市情報セキュリティポリシー: cited with its chapter.
        (lambda t: t, "２―８", "第1章2―8"),
        (lambda t: t.replace("―", "-").translate(str.maketrans("０１２３４５６７８９", "0123456789")), "2-8",
         "第1章2-8"),
    ],
    ids=["full-width-dash", "half-width-hyphen"],
)
def test_dashed_numbers_older_wording_and_hard_wraps(transform, number: str, full: str) -> None:
    text = transform((FIXTURES / "dashed-number-city.txt").read_text(encoding="utf-8"))
    policy = parse_policy_text(text)
    clause = policy.clause
    assert (clause.number, clause.number_full, clause.title) == (number, full, "業務委託と外部サービスの利用")
    assert clause.outsourcing == OUTSOURCING
    assert clause.external_services == "外部サービスを利用する場合には、利用に係る規定を整備し対策を講じる。"
    assert clause.social_media is None
    assert clause.obligations == OBLIGATION_KEYS[:5]
    assert "監査" not in _paragraph_text(policy) and "対象範囲" not in _paragraph_text(policy)
    assert any("旧表記" in w for w in policy.warnings)


def test_older_title_external_services_only() -> None:
    policy = parse_policy_file(FIXTURES / "service-only-old.txt")
    clause = policy.clause
    assert (clause.number, clause.number_full, clause.title) == ("(8)", "2(8)", "外部サービスの利用")
    assert clause.outsourcing is None and clause.social_media is None
    assert clause.external_services == "外部サービスを利用する場合には、利用に係る規定を整備し対策を講じる。"
    assert clause.obligations == ("cloud.rules",)


def test_clause_ends_at_the_next_heading_of_its_level_not_at_a_sub_list() -> None:
    text = (
        "架空市情報セキュリティ基本方針\n\n6 情報セキュリティ対策\n\n"
        f"(8) {CLAUSE_TITLE}\n\n{OUTSOURCING}\n\n"
        "（一）委託先の選定基準\n\n委託先の選定基準は、別に定める。\n\n"
        f"{EXTERNAL}\n\n{SOCIAL}\n\n"
        "7 情報セキュリティ監査\n\n監査を実施する。\n"
    )
    policy = parse_policy_text(text)
    assert policy.clause.external_services == EXTERNAL and policy.clause.social_media == SOCIAL
    assert "監査" not in _paragraph_text(policy)
    assert policy.clause.number_full == "6(8)"


#: A policy that is a chapter of a larger document is cited with its chapter (numbering restarts).
REAL_CITATIONS = {
    "ichikawa-city.txt": ("市川市情報セキュリティポリシー", "第1章6(8)"),
    "nanbu-town-aomori.txt": ("南部町情報セキュリティポリシー", "第1章6(8)"),
    "ome-city.txt": ("青梅市情報セキュリティポリシー", "6(8)"),
    "ryugasaki-eisei-kumiai.txt": ("龍ヶ崎地方衛生組合情報セキュリティ基本方針", "6(8)"),
    "tamana-city.txt": ("玉名市情報セキュリティ基本方針", "6(8)"),
}


def test_the_five_real_policies_cite_the_number_with_its_parent() -> None:
    for path in sorted(POLICIES_DIR.glob("*.txt")):
        policy = parse_policy_file(path)
        assert (policy.title, policy.clause.number_full) == REAL_CITATIONS[path.name], path.name
        assert policy.confidence >= 0.9, (path.name, policy.warnings)


# --------------------------------------------------------------------------- hostile and huge files


def test_hundred_megabyte_text_is_refused_by_size() -> None:
    data = b"a" * (100 * 1024 * 1024)
    with pytest.raises(PolicyTooLargeError, match="ファイルが大きすぎます"):
        parse_policy_bytes(data, "huge.txt")


def test_huge_file_on_disk_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as fh:
        fh.truncate(100 * 1024 * 1024)  # sparse: nothing to read unless the reader reads it
    with pytest.raises(PolicyTooLargeError, match="ファイルが大きすぎます"):
        parse_policy_file(path)


def test_repeated_clause_headings_parse_within_the_parsers_own_time_bound() -> None:
    # Issue #13: an 83 KB policy of repeated clause headings took 42 s (cubic). With a bound of
    # 5 s the parser raises PolicyTooLargeError if it is slow, so a regression turns this red.
    heading = f"(8) {CLAUSE_TITLE}\n"
    text = heading * (83_000 // len(heading.encode()))
    bounded = Limits(max_seconds=5)
    with pytest.raises(PolicyParseError) as info:
        parse_policy_text(text, limits=bounded)
    assert not isinstance(info.value, PolicyTooLargeError)
    # The same with a body after every heading: each candidate has a body, the first one wins.
    policy = parse_policy_text("架空市情報セキュリティ基本方針\n" + (heading + OUTSOURCING + "\n") * 700, limits=bounded)
    assert policy.clause.outsourcing == OUTSOURCING
    assert any("複数" in w for w in policy.warnings)


def test_the_time_bound_stops_work_with_a_clear_message() -> None:
    text = (POLICIES_DIR / "tamana-city.txt").read_text(encoding="utf-8")
    with pytest.raises(PolicyTooLargeError, match="時間がかかりすぎる"):
        parse_policy_text(text, limits=Limits(max_seconds=0))


def test_text_with_too_many_characters_is_refused() -> None:
    with pytest.raises(PolicyTooLargeError, match="長すぎます"):
        parse_policy_text("あ" * 1000, limits=Limits(max_text_chars=999))


def _pdf_with_content(content: bytes) -> bytes:
    """A one-page PDF whose page content stream is *content*, Flate-compressed."""
    stream = zlib.compress(content, 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_pdf_bomb_is_refused() -> None:
    bomb = _pdf_with_content(b" " * (40 * 1024 * 1024))
    assert len(bomb) < 200 * 1024
    with pytest.raises(PolicyTooLargeError, match="PDF"):
        parse_policy_bytes(bomb, "bomb.pdf")


def test_pdf_with_too_many_pages_is_refused() -> None:
    pdf = _pdf_with_content(b"BT ET")
    with pytest.raises(PolicyTooLargeError, match="ページ数"):
        parse_policy_bytes(pdf, "a.pdf", limits=Limits(max_pages=0))


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "画像"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, ".doc"),
        (b"\x1f\x8b\x08\x00" + b"\0" * 100, "圧縮"),
        (b"MZ\x90\x00\x03\x00\x00\x00" + b"\0" * 100 + b"binary", "文字のファイルではありません"),
    ],
)
def test_other_formats_are_refused_naming_the_accepted_ones(data: bytes, detail: str) -> None:
    with pytest.raises(PolicyParseError) as info:
        parse_policy_bytes(data, "upload.bin")
    message = str(info.value)
    assert "対応していないファイル形式です" in message and detail in message
    for accepted in ("テキスト", "PDF", "HTML", "Word"):
        assert accepted in message


def test_html5_page_keeps_the_articles_own_header_and_survives_an_unclosed_head() -> None:
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>例規</title>"  # no </head>
        "<body><header class='site'><p>(8) 業務委託と外部サービス（クラウドサービス）の利用</p></header>"
        "<main><article><header><h1>架空市情報セキュリティ基本方針</h1><p>令和6年4月1日&emsp;改定</p></header>"
        "<h2>6&nbsp;情報セキュリティ対策</h2>"
        f"<h3>(8)&nbsp;{CLAUSE_TITLE}</h3><p>{OUTSOURCING}</p><p>{EXTERNAL}</p><p>{SOCIAL}</p>"
        "<h3>(9)&nbsp;評価・見直し</h3><p>見直しを行う。</p></article></main>"
        "<footer><p>架空市役所 &copy; 2026</p></footer></body></html>"
    )
    policy = parse_policy_bytes(page.encode(), "page")
    assert policy.title == "架空市情報セキュリティ基本方針"
    assert policy.enacted_on is not None and policy.enacted_on.isoformat() == "2024-04-01"
    assert policy.clause.number_full == "6(8)"
    assert policy.clause.paragraphs() == {"outsourcing": OUTSOURCING, "external_services": EXTERNAL, "social_media": SOCIAL}


def test_cli_reads_html_and_reports_what_an_admin_must_check(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from vendorrisk.cli_policy import cmd_policy_parse

    assert cmd_policy_parse(str(FIXTURES / "reiki-kakuu-town.html"), as_json=True) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["source_format"] == "html"
    assert data["clause"]["number_full"] == "第6条" and data["clause"]["layout"] == "article"
    assert data["confidence"] < 1 and data["warnings"]
    assert cmd_policy_parse(str(FIXTURES / "article-item-town.txt"), as_json=False) == 0
    out = capsys.readouterr().out
    assert "引用する番号: 第6条第8号" in out and "注意: 表題と本文が同じ行にある書式でした。" in out


def test_policy_text_loses_what_cannot_live_in_a_document() -> None:
    """The same cleaning as web forms and the API (`vocabulary.clean_text`), once, as the file is read."""
    text = (FIXTURES / "inline-halfspace-city.txt").read_text(encoding="utf-8")
    dirty = text.replace("委託事業者を選定し", "委託\uffff事業者を\ufdd0選定\x0bし")
    policy = parse_policy_bytes(dirty.encode("utf-8"), "dirty.txt")
    assert policy.clause.outsourcing == OUTSOURCING
