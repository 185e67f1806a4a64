"""python-docx rendering carries the same content as the PDF."""

import io
import re
import shutil
import subprocess  # nosec B404 - runs LibreOffice on files the test wrote
import time
import zipfile

import docx
import pytest
from pypdf import PdfReader

from vendorrisk.adapters.docx import DOCX_FONT, render_docx
from vendorrisk.domain.annex import compose_annex


def make_snapshot(memorandum=False):
    return {
        "document_id": "VR-ome-city-SNS-2026-004-v2",
        "version": 2,
        "issued_on": "2026-11-22",
        "answers_sha256": "cd" * 32,
        "organisation": {
            "name": "青梅市", "slug": "ome-city", "policy_title": "青梅市情報セキュリティポリシー",
            "head_title": "青梅市長",
            "clause": {"number": "6(８)", "title": "外部委託と外部サービスの利用",
                       "paragraphs": {"outsourcing": "外部委託をする場合には、委託事業者を選定し、契約を締結する。",
                                      "external_services": "外部サービスを利用する場合には、規定を整備する。",
                                      "social_media": None}},
            "articles_override": {"reports": {"omit": True}},
        },
        "vendor": {"name": "株式会社𠮷野広告", "corporate_number": "1234567890123", "address": "東京都青梅市1-1",
                   "representative": "代表取締役 髙田 﨑"},
        "engagement": {"reference": "SNS-2026-004", "title": "公式SNS運用業務委託",
                       "kinds": ["outsourcing", "social_media"],
                       "confidentiality": 1, "personal_data": False, "my_number": False,
                       "period_start": "2027-04-01", "period_end": "2028-03-31"},
        "municipal_officers": [{"role": "security_manager", "role_title": "情報セキュリティ管理者", "name": "﨑田 一郎",
                                "department": "秘書広報課長"}],
        "contractor_people": [{"role": "responsible_manager", "role_title": "業務責任者", "name": "髙橋 𠮷男",
                               "title": "部長", "department": "運用部", "email": "t@example.jp",
                               "phone": "03-0000-0000"}],
        "work_site": "乙 本社", "data_storage_site": "乙 本社サーバ室",
        "subcontracting": {"declared": False, "subcontractors": []},
        "cloud": None,
        "social_accounts": [{"service": "LINE", "account": "青梅市公式", "section": "秘書広報課",
                             "owner": "﨑田 一郎"}],
        "findings": [{"question_id": "sns.mfa", "title": "多要素認証", "remediation": "設定すること。",
                      "deadline": "2027-05-31"}],
        "rating": "conditional",
        "memorandum": memorandum,
    }


def read(data: bytes) -> docx.document.Document:
    return docx.Document(io.BytesIO(data))


def test_docx_has_the_same_article_headings_and_tables():
    annex = compose_annex(make_snapshot())
    d = read(render_docx(annex))
    headings = [p.text for p in d.paragraphs if p.style.name == "Heading 3"]
    assert headings == [a.heading_line for a in annex.articles]
    assert headings[0] == "（総則）"  # 見出し on its own line; 「第1条　」 opens the text
    assert headings[-1] == "（協議）"
    body = "\n".join(p.text for p in d.paragraphs)
    assert annex.preamble in body
    assert "青梅市情報セキュリティポリシー6(8)「外部委託と外部サービスの利用」に定める" in body
    assert "\n第1条　本特記事項は" in body and "\n2　" in body and "（1）" in body
    table_titles = [p.text for p in d.paragraphs if p.style.name == "Heading 2"]
    assert table_titles == [t.heading for t in annex.tables]
    cells = {c.text for t in d.tables for row in t.rows for c in row.cells}
    for name in ("﨑田 一郎", "髙橋 𠮷男", "青梅市公式", "令和9年5月31日"):
        assert name in cells, name
    for internal in (annex.answers_sha256, annex.document_id):  # metadata only (issue #10)
        assert not any(internal in c for c in cells) and internal not in body


def test_docx_fonts_and_metadata_are_deterministic():
    annex = compose_annex(make_snapshot(memorandum=True))
    a = render_docx(annex)
    time.sleep(1.1)  # python-docx stamps zip members with the clock; the renderer must not
    b = render_docx(annex)
    assert a == b
    d = read(a)
    assert d.core_properties.created.date().isoformat() == "2026-11-22"
    assert d.core_properties.identifier == annex.document_id
    run = next(p for p in d.paragraphs if p.style.name == "Heading 3").runs[0]
    assert run.font.name == DOCX_FONT and run.font.bold
    east_asia = run._r.rPr.rFonts.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia")
    assert east_asia == DOCX_FONT
    text = "\n".join(p.text for p in d.paragraphs)
    assert "記名押印" in text and "代表取締役 髙田 﨑" in text
    footer = d.sections[0].footer.paragraphs[0]._p.xml
    assert "PAGE" in footer and "NUMPAGES" in footer


def test_docx_untrusted_text_is_plain_text():
    snap = make_snapshot()
    snap["vendor"]["name"] = '<w:p>株式会社</w:p><img src="file:///etc/passwd">'
    d = read(render_docx(compose_annex(snap)))
    assert any('<w:p>株式会社</w:p><img src="file:///etc/passwd">' in p.text for p in d.paragraphs)


W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _part(data: bytes, name: str):
    from lxml import etree

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return etree.fromstring(z.read(name))


def test_docx_declares_japanese_and_the_pdfs_font_in_its_styles():
    data = render_docx(compose_annex(make_snapshot()))
    styles = _part(data, "word/styles.xml")
    lang = styles.find(f"{W}docDefaults/{W}rPrDefault/{W}rPr/{W}lang")
    assert (lang.get(f"{W}val"), lang.get(f"{W}eastAsia")) == ("ja-JP", "ja-JP")
    fonts = list(styles.iter(f"{W}rFonts"))
    assert fonts and all(f.get(f"{W}eastAsia") == f.get(f"{W}ascii") == DOCX_FONT for f in fonts)
    assert not any(k.endswith("Theme") or k.endswith("theme") for f in fonts for k in f.attrib)
    heading = styles.find(f"{W}style[@{W}styleId='Heading3']/{W}rPr/{W}rFonts")
    assert heading.get(f"{W}eastAsia") == DOCX_FONT


def test_docx_tables_have_fixed_column_widths():
    body = _part(render_docx(compose_annex(make_snapshot())), "word/document.xml")
    tables = list(body.iter(f"{W}tbl"))
    assert len(tables) >= 5
    for tbl in tables:
        assert tbl.find(f"{W}tblPr/{W}tblLayout").get(f"{W}type") == "fixed"
        width = tbl.find(f"{W}tblPr/{W}tblW")
        grid = [int(c.get(f"{W}w")) for c in tbl.iter(f"{W}gridCol")]
        assert width.get(f"{W}type") == "dxa" and int(width.get(f"{W}w")) == sum(grid) == 9411  # 166 mm
        for tr in tbl.iter(f"{W}tr"):
            column = 0
            for tc in tr.iter(f"{W}tc"):
                span = tc.find(f"{W}tcPr/{W}gridSpan")
                n = int(span.get(f"{W}val")) if span is not None else 1
                tc_w = tc.find(f"{W}tcPr/{W}tcW")
                assert tc_w.get(f"{W}type") == "dxa" and int(tc_w.get(f"{W}w")) == sum(grid[column:column + n])
                column += n
            assert column == len(grid)


LO_KINDS = [("outsourcing",), ("cloud",), ("social_media",), ("outsourcing", "cloud", "social_media")]


@pytest.fixture(scope="module")
def soffice():
    path = shutil.which("soffice")
    assert path, "LibreOffice is missing: run `make setup` (installs libreoffice-writer-nogui)"
    return path


def test_libreoffice_lays_the_docx_out_like_the_pdf(soffice, tmp_path):
    """Each kind's DOCX, opened by LibreOffice (a real word processor, not python-docx), comes to the
    PDF's page count ±1, in Noto Serif CJK JP."""
    from test_annex_pdf import make_snapshot as pdf_snapshot

    from vendorrisk.adapters.pdf import AnnexRenderer

    renderer = AnnexRenderer()
    expected = {}
    for kinds in LO_KINDS:
        doc = compose_annex(pdf_snapshot(kinds=kinds, memorandum=False))
        name = "-".join(kinds)
        data = render_docx(doc)
        (tmp_path / f"{name}.docx").write_bytes(data)
        expected[name] = len(PdfReader(io.BytesIO(renderer.pdf(doc))).pages)
        lang = _part(data, "word/styles.xml").find(f"{W}docDefaults/{W}rPrDefault/{W}rPr/{W}lang")
        assert lang.get(f"{W}eastAsia") == "ja-JP"
        assert f'w:eastAsia="{DOCX_FONT}"' in zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode()
    # Its own profile: never shares (or waits on) another LibreOffice running on this machine.
    subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp_path}/profile", "--headless", "--convert-to", "pdf",
         "--outdir", str(tmp_path / "out"), *sorted(str(p) for p in tmp_path.glob("*.docx"))],
        check=True, capture_output=True, timeout=300,
    )
    for name, pages in expected.items():
        converted = tmp_path / "out" / f"{name}.pdf"
        reader = PdfReader(str(converted))
        assert abs(len(reader.pages) - pages) <= 1, (name, len(reader.pages), pages)
        fonts = _font_names(reader)
        assert fonts and all("NotoSerifCJK" in f for f in fonts), (name, fonts)
        assert "秘密の保持" in re.sub(r"\s+", "", "".join(p.extract_text() for p in reader.pages))


def _font_names(reader) -> set[str]:
    names = set()
    for page in reader.pages:
        for font in (page["/Resources"].get_object().get("/Font") or {}).values():
            names.add(str(font.get_object().get("/BaseFont")))
    return names
