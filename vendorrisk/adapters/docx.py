"""Render an AnnexDocument as a Word file (python-docx) — the same content as the PDF.

Legal departments often want to edit the wording before signing; this gives them an editable copy of
exactly what the PDF shows: title, summary, preamble and cited clause,
第N条 articles with 項/号, the 別表 tables and the optional 記名押印 block. The PDF stays the record.
"""

from __future__ import annotations

import zipfile
from datetime import datetime
from io import BytesIO

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor, Twips

from vendorrisk.domain.annex import AnnexDocument

__all__ = ["render_docx", "DOCX_FONT", "DOCX_LANGUAGE"]

#: The family Word should use (the same Noto Serif CJK JP as the PDF; Word substitutes if absent).
DOCX_FONT = "Noto Serif CJK JP"
#: The document's language (spelling, line breaking and font choice for Japanese).
DOCX_LANGUAGE = "ja-JP"
_BLACK = RGBColor(0, 0, 0)
#: Sizes and line heights as annex.css sets them (10.5pt text at 1.7, tables 9.5pt at 1.55, the title
#: at 1.4), as exact line spacing: "1.5 lines" of Noto CJK (tall ascent + descent) reflowed the pages.
_BODY_PT, _BODY_LINE, _TABLE_PT, _TABLE_LINE, _TITLE_LINE = 10.5, 1.7, 9.5, 1.55, 1.4


def _line(size: float, factor: float) -> Pt:
    return Pt(round(size * factor, 2))
_FONT_ATTRS = ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs")
_THEME_ATTRS = ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme")
#: The text width: A4 (210 mm) less the margins, in twips (1/20 pt), what the tables are divided into.
_TEXT_WIDTH_TWIPS = int(Mm(166).twips)


def _explicit_fonts(rfonts) -> None:
    """The named family in every script slot; theme fonts (Calibri, ＭＳ 明朝 …) never apply."""
    for attr in _FONT_ATTRS:
        rfonts.set(qn(attr), DOCX_FONT)
    for attr in _THEME_ATTRS:
        rfonts.attrib.pop(qn(attr), None)


def _declare_fonts_and_language(document) -> None:
    """styles.xml: the defaults and every style (headings, Title, table styles …) name Noto Serif CJK JP
    and the language is ja-JP; settings.xml: theme fonts, if any application falls back to them, are
    the Japanese ones."""
    styles = document.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    if rpr.find(qn("w:rFonts")) is None:
        rpr.insert(0, OxmlElement("w:rFonts"))
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), DOCX_LANGUAGE)
    lang.set(qn("w:eastAsia"), DOCX_LANGUAGE)
    for rfonts in styles.iter(qn("w:rFonts")):
        _explicit_fonts(rfonts)
    theme_lang = document.settings.element.find(qn("w:themeFontLang"))
    if theme_lang is not None:
        theme_lang.set(qn("w:val"), DOCX_LANGUAGE)
        theme_lang.set(qn("w:eastAsia"), DOCX_LANGUAGE)


def _set_font(run_or_style, *, size: float | None = None, bold: bool | None = None) -> None:
    font = run_or_style.font
    font.name = DOCX_FONT
    if size is not None:
        font.size = Pt(size)
    if bold is not None:
        font.bold = bold
    font.color.rgb = _BLACK
    element = run_or_style.element
    rpr = element.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.append(rfonts)
    _explicit_fonts(rfonts)


def _para(document, text: str = "", *, style: str | None = None, size: float | None = None,
          bold: bool | None = None, align=None, left_mm: float = 0, first_line_mm: float = 0,
          space_after: float = 0):
    p = document.add_paragraph(style=style)
    if text:
        _set_font(p.add_run(text), size=size, bold=bold)
    fmt = p.paragraph_format
    fmt.space_after = Pt(space_after)
    fmt.space_before = Pt(0)
    fmt.line_spacing = _line(size or _BODY_PT, _TITLE_LINE if style == "Title" else _BODY_LINE)
    if align is not None:
        p.alignment = align
    if left_mm:
        fmt.left_indent = Mm(left_mm)
    if first_line_mm:
        fmt.first_line_indent = Mm(first_line_mm)
    return p


def _field(run, instruction: str) -> None:
    """Append a Word field (PAGE, NUMPAGES) to a run."""
    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    run._r.append(begin)
    run._r.append(instr)
    run._r.append(end)


def _table(document, columns, rows, widths=()):
    table = document.add_table(rows=1, cols=len(columns))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, columns, strict=False):
        cell.text = ""
        _set_font(cell.paragraphs[0].add_run(text), size=9.5, bold=True)
    if not rows:
        cells = table.add_row().cells
        merged = cells[0].merge(cells[-1]) if len(cells) > 1 else cells[0]
        _set_font(merged.paragraphs[0].add_run("（該当なし）"), size=9.5)
    for row in rows:
        cells = table.add_row().cells
        for cell, text in zip(cells, row, strict=False):
            lines = str(text).split("\n")
            run = cell.paragraphs[0].add_run(lines[0])
            _set_font(run, size=9.5)
            for extra in lines[1:]:
                run.add_break()
                run.add_text(extra)
    _fixed_widths(table, widths or (100 / len(columns),) * len(columns))
    _table_lines(table)
    return table


def _table_lines(table) -> None:
    for row in table.rows:
        for cell in row.cells:
            for p in cell.paragraphs:
                p.paragraph_format.line_spacing = _line(_TABLE_PT, _TABLE_LINE)
                p.paragraph_format.space_after = Pt(0)


def _twips(percentages) -> list[int]:
    """Relative widths → twips summing exactly to the text width."""
    total = sum(percentages)
    out = [int(_TEXT_WIDTH_TWIPS * p / total) for p in percentages]
    out[-1] += _TEXT_WIDTH_TWIPS - sum(out)
    return out


def _fixed_widths(table, percentages) -> None:
    """Real column widths: a fixed layout of the text width (tblW), the grid (gridCol) and every cell
    (tcW, a merged cell the sum of its columns) agreeing, so Word and LibreOffice lay it out alike."""
    widths = _twips(percentages)
    tbl = table._tbl
    table.autofit = False  # w:tblLayout w:type="fixed"
    tbl_w = tbl.tblPr.find(qn("w:tblW"))
    if tbl_w is None:
        tbl_w = OxmlElement("w:tblW")
        tbl.tblPr.append(tbl_w)
    tbl_w.set(qn("w:type"), "dxa")
    tbl_w.set(qn("w:w"), str(sum(widths)))
    for grid_col, width in zip(tbl.tblGrid.gridCol_lst, widths, strict=True):
        grid_col.w = Twips(width)
    for tr in tbl.tr_lst:
        column = 0
        for tc in tr.tc_lst:
            span = tc.grid_span
            tc.width = Twips(sum(widths[column:column + span]))
            column += span


def _summary_table(document, summary: list[tuple[str, str]]) -> None:
    table = document.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for label, value in summary:
        cells = table.add_row().cells
        _set_font(cells[0].paragraphs[0].add_run(label), size=9.5, bold=True)
        _set_font(cells[1].paragraphs[0].add_run(value), size=9.5)
    _fixed_widths(table, (35, 131))
    _table_lines(table)
    _para(document, "", space_after=6)


def render_docx(doc: AnnexDocument) -> bytes:
    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(22)
    section.left_margin = section.right_margin = Mm(21.65)

    _declare_fonts_and_language(document)
    normal = document.styles["Normal"]
    _set_font(normal, size=_BODY_PT)
    normal.paragraph_format.line_spacing = _line(_BODY_PT, _BODY_LINE)
    normal.paragraph_format.space_after = Pt(0)

    # deterministic metadata: only the issue date
    issued = datetime(doc.issued_on.year, doc.issued_on.month, doc.issued_on.day)
    props = document.core_properties
    props.title = doc.title
    props.subject = f"{doc.party_a.name} / {doc.party_b.name}"
    props.identifier = doc.document_id
    props.keywords = f"answers-sha256:{doc.answers_sha256}"
    props.author = doc.party_a.name
    props.last_modified_by = "vendorrisk"
    props.created = issued
    props.modified = issued
    props.last_printed = issued
    props.revision = max(1, doc.version)
    props.comments = ""

    # footer: N / M (the document id and answers hash stay in the file's properties, not the text)
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    page = footer.add_run()
    _set_font(page, size=9)
    _field(page, "PAGE")
    _set_font(footer.add_run(" / "), size=9)
    pages = footer.add_run()
    _set_font(pages, size=9)
    _field(pages, "NUMPAGES")

    _para(document, doc.title, style="Title", size=16, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=12)

    summary = [] if doc.document_kind == "usage_record" else list(doc.summary) + [
        ("甲", doc.party_a.name + (f"（{doc.party_a.title}）" if doc.party_a.title else "")),
        ("乙", doc.party_b.name + (f"（{doc.party_b.title}）" if doc.party_b.title else "")),
    ]
    if summary:
        _summary_table(document, summary)

    _para(document, doc.preamble, first_line_mm=3.7, space_after=6)
    if doc.clause_quote:
        _para(document, f"（参考）{doc.clause_quote.source}（抜粋）", size=9.5, bold=True, left_mm=7.4)
        for label, text in doc.clause_quote.paragraphs:
            p = _para(document, "", left_mm=7.4)
            _set_font(p.add_run(f"［{label}］"), size=9.5, bold=True)
            _set_font(p.add_run(text), size=9.5)
        _para(document, "", space_after=4)

    for article in doc.articles:
        heading = _para(document, article.heading_line, style="Heading 3", size=10.5, bold=True, space_after=0)
        heading.paragraph_format.space_before = Pt(6)
        heading.paragraph_format.keep_with_next = True
        for p in article.paragraphs:
            if p.label or article.heading_style == "municipal":
                _para(document, article.paragraph_line(p), left_mm=3.7, first_line_mm=-3.7)
            else:
                _para(document, p.text, first_line_mm=3.7)
            for item in p.items:
                _para(document, f"{item.label}{item.text}", left_mm=3.7 + 11.1, first_line_mm=-11.1)

    if doc.memorandum and doc.closing:
        _para(document, "", space_after=6)
        _para(document, doc.closing, first_line_mm=3.7, space_after=6)
        _para(document, doc.signing_date, left_mm=7.4, space_after=6)
        for party in (doc.party_a, doc.party_b):
            _para(document, f"{party.label}　{party.address}".rstrip(), left_mm=75)
            _para(document, party.name, left_mm=82)
            _para(document, f"{party.title}　　　　印", left_mm=82, space_after=10)

    for i, t in enumerate(doc.tables):
        heading = _para(document, t.heading, style="Heading 2", size=11, bold=True, space_after=4)
        heading.paragraph_format.page_break_before = i == 0 and doc.document_kind != "usage_record"
        heading.paragraph_format.keep_with_next = True
        for block in t.blocks:
            if block.caption:
                cap = _para(document, block.caption, size=10, bold=True, space_after=2)
                cap.paragraph_format.keep_with_next = True
            _table(document, block.columns, block.rows, block.widths)
            _para(document, "", space_after=2)

    out = BytesIO()
    document.save(out)
    return _stable_zip(out.getvalue(), (issued.year, issued.month, issued.day, 0, 0, 0))


def _stable_zip(data: bytes, date_time: tuple[int, int, int, int, int, int]) -> bytes:
    """python-docx stamps every zip member with the current time: re-pack with the issue date so the
    same annex gives the same bytes."""
    out = BytesIO()
    with zipfile.ZipFile(BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=date_time)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = info.external_attr
            dst.writestr(member, src.read(info.filename))
    return out.getvalue()
