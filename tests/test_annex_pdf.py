"""WeasyPrint rendering of the annex: text, fonts, PDF/A-3 attachment, untrusted input."""

import io
import json
import re
import time
from pathlib import Path

import pytest
from pypdf import PdfReader

from vendorrisk.adapters.pdf import (
    AnnexRenderer,
    ForbiddenURLError,
    check_harfbuzz_subset,
    default_fonts,
    unsupported_characters,
)
from vendorrisk.domain.annex import annex_text, compose_annex
from vendorrisk.paths import TEMPLATES_DIR

SHA = "3f2a9c0e5b7d1f4a6c8e0b2d4f6a8c0e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a"


def make_snapshot(*, kinds=("outsourcing", "cloud", "social_media"), vendor_name="株式会社サンプル",
                  representative="代表取締役 山田太郎", memorandum=True):
    return {
        "document_id": "VR-tamana-city-OUT-2026-001-v1",
        "version": 1,
        "issued_on": "2026-11-22",
        "answers_sha256": SHA,
        "organisation": {
            "name": "玉名市", "slug": "tamana-city", "policy_title": "玉名市情報セキュリティ基本方針",
            "head_title": "玉名市長",
            "clause": {"number": "6(8)", "title": "業務委託と外部サービス（クラウドサービス）の利用",
                       "paragraphs": {
                           "outsourcing": "業務委託を行う場合には、委託事業者を選定し、"
                                         "情報セキュリティ要件を明記した契約を締結する。",
                           "external_services": "外部サービス（クラウドサービス）を利用する場合には、"
                                               "利用に係る規定を整備し対策を講じる。",
                           "social_media": "ソーシャルメディアサービスを利用する場合には、運用手順を定める。"}},
        },
        "vendor": {"name": vendor_name, "corporate_number": "1234567890123", "address": "熊本県熊本市中央区1-1",
                   "representative": representative},
        "engagement": {"reference": "OUT-2026-001", "title": "住民情報システム保守業務委託", "kinds": list(kinds),
                       "confidentiality": 2, "personal_data": True, "my_number": True,
                       "period_start": "2026-12-01", "period_end": "2027-03-31"},
        "municipal_officers": [
            {"role": "security_manager", "role_title": "情報セキュリティ管理者", "name": "﨑山 一郎",
             "department": "総務課長"},
            {"role": "cloud_manager", "role_title": "外部サービス管理者", "name": "髙野 花子",
             "department": "情報政策課長"},
        ],
        "contractor_people": [
            {"role": "responsible_manager", "role_title": "業務責任者", "name": "髙橋 𠮷男", "title": "部長",
             "department": "公共システム部", "email": "t@example.co.jp", "phone": "096-000-0000"},
            {"role": "security_officer", "role_title": "情報セキュリティ責任者", "name": "山﨑 次郎", "title": "室長",
             "department": "情報セキュリティ推進室", "email": "s@example.co.jp", "phone": "096-000-0001"},
        ],
        "work_site": "乙 熊本本社 7階", "data_storage_site": "乙 データセンター（東京都）",
        "subcontracting": {"declared": True, "subcontractors": [
            {"name": "有限会社テスト開発", "address": "福岡県福岡市", "scope": "帳票改修"}]},
        "cloud": {"high": True, "data_location": "日本国内（東京リージョン）", "governing_law": "日本法",
                  "court": "東京地方裁判所", "service_name": "サンプル住民情報クラウド"} if "cloud" in kinds else None,
        "social_accounts": [{"service": "X (旧Twitter)", "account": "@tamana_city", "section": "秘書広報課",
                             "owner": "秘書広報課長 𠮷田 三郎"}] if "social_media" in kinds else [],
        "findings": [{"question_id": "out.mfa", "title": "多要素認証",
                      "remediation": "管理者に多要素認証を設定すること。",
                      "obligation": "管理者アカウントに多要素認証を設定し",
                      "deadline": "2027-01-31"}],
        "rating": "conditional",
        "memorandum": memorandum,
    }


@pytest.fixture(scope="module")
def renderer():
    return AnnexRenderer()


@pytest.fixture(scope="module")
def rendered(renderer):
    snap = make_snapshot()
    payload = json.dumps(snap, ensure_ascii=False, sort_keys=True).encode()
    doc = compose_annex(snap)
    pdf = renderer.pdf(doc, attachment_json=payload)
    return snap, doc, payload, pdf


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pdf_text(pdf: bytes) -> tuple[PdfReader, list[str]]:
    reader = PdfReader(io.BytesIO(pdf))
    return reader, [page.extract_text() for page in reader.pages]


def test_harfbuzz_subset_available(monkeypatch):
    assert check_harfbuzz_subset() is True
    from weasyprint.text import ffi

    monkeypatch.setattr(ffi, "harfbuzz_subset", None)
    assert check_harfbuzz_subset() is False


def test_warm_up_then_render(renderer):
    renderer.warm_up()
    assert renderer.pdf(compose_annex(make_snapshot(kinds=("cloud",), memorandum=False))).startswith(b"%PDF-1.7")


def test_pdf_text_has_citation_names_numbering_and_ids(rendered):
    _, doc, _, pdf = rendered
    reader, pages = pdf_text(pdf)
    text = squash("".join(pages))
    assert squash("玉名市情報セキュリティ基本方針6(8)「業務委託と外部サービス（クラウドサービス）の利用」"
                  "に定める") in text
    for name in ("﨑山一郎", "髙野花子", "髙橋𠮷男", "山﨑次郎", "𠮷田三郎"):
        assert name in text, name
    assert "（総則）第1条" in text  # 見出し on its own line, the number opening the text
    assert f"（協議）第{len(doc.articles)}条" in text
    n = len(reader.pages)
    assert 4 <= n <= 10
    assert "1/" + str(n) in squash(pages[0])
    assert f"{n}/{n}" in squash(pages[-1])
    assert "VR-tamana-city-OUT-2026-001-v1" not in text  # internals stay in the metadata (issue #10)
    assert SHA not in text and SHA in reader.metadata["/Keywords"]
    assert "令和9年1月31日" in text
    assert "令和8年11月22日" not in text and "令和年月日" in text  # signing date left blank for the 覚書
    assert "記名押印" in text
    assert reader.metadata.title.startswith("情報セキュリティに関する覚書")  # a standalone 覚書 is titled so


def _fonts(reader):
    found = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            found[str(font["/BaseFont"])] = font
    return found


def test_only_declared_fonts_all_embedded(rendered):
    reader = PdfReader(io.BytesIO(rendered[3]))
    fonts = _fonts(reader)
    families = set()
    for base, font in fonts.items():
        families.add(base.split("+", 1)[-1])
        descendants = [d.get_object() for d in font.get("/DescendantFonts", [])] or [font]
        for d in descendants:
            descriptor = d["/FontDescriptor"].get_object()
            assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor.keys()), base
    assert families == {"VR-Annex-Serif", "VR-Annex-Serif-Bold"}  # real bold, nothing else


def _to_unicode(font) -> dict[str, int]:
    data = font["/ToUnicode"].get_object().get_data().decode("latin-1")
    mapping = {}
    for block in re.findall(r"beginbfchar(.*?)endbfchar", data, re.S):
        for code, uni in re.findall(r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
            mapping[bytes.fromhex(uni).decode("utf-16-be")] = int(code, 16)
    return mapping


def test_japanese_face_of_the_collection_and_rare_glyphs(rendered):
    """The .ttc holds JP/KR/SC/TC/HK faces: the glyphs used must be the JP ones, and 𠮷/髙/﨑 present."""
    from fontTools.ttLib import TTCollection

    reader = PdfReader(io.BytesIO(rendered[3]))
    regular = next(f for b, f in _fonts(reader).items() if b.endswith("VR-Annex-Serif"))
    used = _to_unicode(regular)
    collection = TTCollection(str(default_fonts().regular), lazy=True)
    try:
        _check_faces(collection, used, rendered[1])
    finally:
        collection.close()


def _check_faces(collection, used, doc):
    jp, sc = collection.fonts[0], collection.fonts[2]
    assert jp["name"].getDebugName(1).endswith("JP")
    for ch in "直関髙﨑":
        assert used[ch] == jp.getGlyphID(jp.getBestCmap()[ord(ch)]), ch
        assert used[ch] != sc.getGlyphID(sc.getBestCmap()[ord(ch)]), ch
    assert used["𠮷"] == jp.getGlyphID(jp.getBestCmap()[0x20BB7])
    assert 0 not in used.values()  # no .notdef (tofu)
    # every character of the document is covered by the JP face
    cmap = jp.getBestCmap()
    missing = {c for c in annex_text(doc) if not c.isspace() and ord(c) not in cmap}
    assert not missing


def test_pdfa3_attachment_is_the_snapshot(rendered):
    _, _, payload, pdf = rendered
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.pdf_header == "%PDF-1.7"
    assert list(reader.attachments) == ["answers-snapshot.json"]
    assert reader.trailer["/Root"]["/AF"]  # PDF/A-3 associated file
    assert reader.attachments["answers-snapshot.json"][0] == payload
    raw = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert re.search(r"pdfaid:part[>=\"']+3", raw) and re.search(r"pdfaid:conformance[>=\"']+A", raw)


def test_deterministic_output(renderer):
    doc = compose_annex(make_snapshot(memorandum=False))
    a = renderer.pdf(doc, attachment_json=b"{}")
    time.sleep(1.1)  # nothing in the file may come from the clock
    b = renderer.pdf(doc, attachment_json=b"{}")
    assert pdf_text(a)[1] == pdf_text(b)[1]
    assert a == b  # byte-stable: creation date from issued_on, identifier from the document id
    assert PdfReader(io.BytesIO(a)).metadata["/CreationDate"].startswith("D:20261122000000+09")


def test_untrusted_markup_is_text_and_nothing_is_fetched(renderer):
    evil_img = '<img src="file:///etc/passwd">'
    evil_link = '<link rel="stylesheet" href="http://evil.example/x.css">'
    snap = make_snapshot(kinds=("outsourcing",), vendor_name=f"{evil_img}株式会社", representative=evil_link)
    snap["contractor_people"][0]["name"] = '<style>@import url("https://evil.example/a.css");</style>髙橋'
    doc = compose_annex(snap)
    html = renderer.html(doc)
    assert "<img" not in html and "<link rel" not in html and "<style>@import" not in html
    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in html
    renderer.url_fetcher.requested.clear()
    pdf = renderer.pdf(doc)
    text = squash("".join(pdf_text(pdf)[1]))
    assert squash(evil_img) in text and squash(evil_link) in text
    assert "root:x:" not in text
    assert all(u.startswith("file://") and "/etc/" not in u for u in renderer.url_fetcher.requested)
    reader = PdfReader(io.BytesIO(pdf))
    for page in reader.pages:
        assert not page["/Resources"].get("/XObject")


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "http://evil.example/x.css", "https://evil.example/font.woff",
     "data:text/css,body{color:red}", "ftp://evil.example/x", "file://evilhost/etc/passwd",
     "file:///usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
     (TEMPLATES_DIR / "annex" / ".." / ".." / "pyproject.toml").as_uri()],
)
def test_fetcher_refuses_everything_else(renderer, url):
    with pytest.raises(ForbiddenURLError):
        renderer.url_fetcher.fetch(url)


def test_fetcher_serves_own_templates_and_fonts(renderer):
    css = renderer.url_fetcher.fetch((TEMPLATES_DIR / "annex" / "annex.css").as_uri())
    assert b"@font-face" in css.read()
    assert renderer.url_fetcher.fetch(default_fonts().regular.as_uri()).read(4) in (b"ttcf", b"OTTO")


def test_raw_html_cannot_fetch(renderer, tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(Path(__file__).read_bytes())
    html = (f'<html lang="ja"><head><link rel="stylesheet" href="http://127.0.0.1:9/x.css"></head>'
            f'<body><p>テスト</p><img src="{secret.as_uri()}">'
            '<img src="data:image/png;base64,iVBORw0KGgo="></body></html>')
    renderer.url_fetcher.requested.clear()
    pdf = renderer.pdf_from_html(html)
    assert secret.as_uri() in renderer.url_fetcher.requested  # asked for, and refused
    reader = PdfReader(io.BytesIO(pdf))
    resources = reader.pages[0]["/Resources"]
    assert not resources.get("/XObject")  # no image made it in


def test_html_is_standalone_and_escaped(renderer, rendered):
    html = renderer.html(rendered[1])
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="ja">' in html
    assert "@font-face" in html and default_fonts().regular.as_uri() in html
    assert "serif;" not in html.replace('"VR Annex Serif"', "")  # no generic fallback
    assert "http://" not in html and "https://" not in html


def test_unsupported_characters_for_the_check_answers_page():
    assert unsupported_characters("髙橋 𠮷男　山﨑 ABC-123 〒") == []
    # U+1F600 (an emoji) is not in Noto Serif CJK: reported once
    assert unsupported_characters("山田\U0001F600太郎\U0001F600") == ["\U0001F600"]
