"""Turning a policy file into text: the format is decided by the content, never the name.

Accepted: text (UTF-8 or CP932), text PDF, HTML saved from a 例規集 page, Word (.docx).
Every reader is bounded (:class:`~.model.Limits`): bytes, decompressed size, pages, time.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import logging
import re
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from ..vocabulary import clean_text
from .model import (
    ACCEPTED_FORMATS_TEXT,
    DEFAULT_LIMITS,
    Deadline,
    Limits,
    PolicyParseError,
    PolicyTooLargeError,
)

FORMAT_LABELS = {"text": "テキスト", "pdf": "PDF", "html": "HTML", "docx": "Word 文書（.docx）"}


@dataclass
class SourceText:
    """The text of a policy file and how it was read."""

    text: str
    format: str  # text, pdf, html, docx
    deadline: Deadline
    warnings: list[str] = field(default_factory=list)


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):g}MB"


def unsupported(filename: str, detail: str = "") -> PolicyParseError:
    return PolicyParseError(
        f"対応していないファイル形式です（{filename}）。{detail}{ACCEPTED_FORMATS_TEXT}のいずれかを指定してください。"
    )


# Magic bytes of formats that are certainly not a policy we can read.
_OTHER_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xd0\xcf\x11\xe0", "古い形式の Word・Excel（.doc、.xls）は読めません。.docx で保存し直してください。"),
    (b"{\\rtf", "リッチテキスト（.rtf）は読めません。"),
    (b"\x89PNG", "画像ファイルです。"),
    (b"\xff\xd8\xff", "画像ファイルです。"),
    (b"GIF8", "画像ファイルです。"),
    (b"\x1f\x8b", "圧縮ファイルです。"),
    (b"7z\xbc\xaf", "圧縮ファイルです。"),
    (b"Rar!", "圧縮ファイルです。"),
)
_HTML_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta|div|p|table|title)\b",
    re.I | re.S,
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)


def sniff(data: bytes) -> str:
    """ "pdf", "docx", "html", "text" or "other:<detail>"."""
    if data[:1024].lstrip().startswith(b"%PDF-"):
        return "pdf"
    if data[:4] == b"PK\x03\x04":
        return "docx"
    for magic, detail in _OTHER_MAGIC:
        if data.startswith(magic):
            return "other:" + detail
    head = data[:4096].lstrip(b"\xef\xbb\xbf")
    if _HTML_START.match(head):
        return "html"
    return "text"


# ---------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------


def decode_text(data: bytes, preferred: str | None = None) -> str:
    """UTF-8 (BOM optional) first, then CP932 (Shift_JIS as written by Windows)."""
    encodings = ["utf-8-sig", "cp932"]
    if preferred:
        encodings.insert(0, preferred)
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    raise PolicyParseError(
        "テキストファイルの文字コードを判別できませんでした。UTF-8 または Shift_JIS（CP932）で保存してください。"
    )


def _looks_binary(text: str) -> bool:
    """Many control characters: not a text file. A stray NUL in a real policy is removed, not refused."""
    sample = text[:20000]
    controls = sum(1 for ch in sample if ch < " " and ch not in "\t\n\r\f")
    return controls > max(8, len(sample) // 100)


# ---------------------------------------------------------------------------
# PDF
# ---------------------------------------------------------------------------

MAX_PAGE_CONTENT = 3 * 1024 * 1024  # decoded content stream of one page


@contextlib.contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """pypdf reports a broken file on its logger and as warnings ("EOF marker not found") besides
    raising; the user gets our Japanese message instead, so nothing of it reaches stderr."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def pdf_text(data: bytes, limits: Limits, deadline: Deadline) -> str:
    with _quiet_pypdf():
        return _pdf_text(data, limits, deadline)


def _pdf_text(data: bytes, limits: Limits, deadline: Deadline) -> str:
    from pypdf import PdfReader  # local import: only needed for PDFs

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise PolicyParseError(
                "PDF が暗号化されているため読み取れません。パスワードを解除したファイルを指定してください。"
            )
        count = len(reader.pages)
        if count > limits.max_pages:
            raise PolicyTooLargeError(
                f"PDF のページ数が多すぎます（{count}ページ）。{limits.max_pages}ページ以下にしてください。"
            )
        pages: list[str] = []
        total = 0
        for page in reader.pages:
            deadline.check()
            contents = page.get_contents()
            size = len(contents.get_data()) if contents is not None else 0
            if size > MAX_PAGE_CONTENT:
                raise PolicyTooLargeError("PDF のページの中身が大きすぎます（展開後の大きさが上限を超えました）。")
            text = page.extract_text() or ""
            total += len(text)
            if total > limits.max_text_chars:
                raise PolicyTooLargeError(
                    "PDF から取り出した文字が多すぎます。基本方針の部分だけの PDF にしてください。"
                )
            pages.append(text)
    except PolicyParseError:
        raise
    except Exception as exc:  # pypdf raises many kinds on a broken or hostile file
        raise PolicyParseError(f"PDF ファイルを読み取れませんでした（{type(exc).__name__}）。") from exc
    text = "\n".join(pages)
    if not text.strip():
        raise PolicyParseError(
            "PDF から文字を取り出せませんでした。画像（スキャン）だけの PDF には対応していません。"
            "テキストを含む PDF か、テキストファイルを指定してください。"
        )
    return text


# ---------------------------------------------------------------------------
# HTML (a 例規集 page as saved by a browser)
# ---------------------------------------------------------------------------

_SKIP_TAGS = {
    "script",
    "style",
    "noscript",
    "template",
    "head",
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "button",
    "select",
    "iframe",
    "svg",
    "object",
    "canvas",
    "textarea",
    "title",
    "math",
    "rt",  # ruby readings: <ruby>契約<rt>けいやく</rt></ruby> is 「契約」
    "rp",
}
_BLOCK_TAGS = {
    "p",
    "div",
    "li",
    "tr",
    "table",
    "section",
    "article",
    "main",
    "dt",
    "dd",
    "dl",
    "ul",
    "ol",
    "blockquote",
    "pre",
    "hr",
    "caption",
    "tbody",
    "thead",
    "address",
    "center",
    "figure",
}
_RUBY_TEXT = {"rt", "rp"}
_HEADING_TAGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_CELL_TAGS = {"td", "th"}
_VOID_TAGS = {"br", "img", "meta", "link", "input", "hr", "wbr", "area", "base", "col", "embed", "source", "track"}
_CHROME = re.compile(
    r"(?:^|[-_\s])(?:nav|navi|gnav|menu|breadcrumbs?|pankuzu|topicpath|footer|sidebar|sidenav|"
    r"header|logo|skip|pagetop|page-top|utility|banner|sns|share|toolbar)(?:$|[-_\s\d])",
    re.I,
)


class _HTMLText(HTMLParser):
    """Visible text of a page, one line per block; navigation, scripts and hidden parts skipped."""

    def __init__(self, deadline: Deadline) -> None:
        super().__init__(convert_charrefs=True)
        self.deadline = deadline
        self.lines: list[str] = []
        self.current: list[str] = []
        self.skip_tag: str | None = None
        self.skip_nest = 0
        self.heading = 0
        self.pre = 0
        self.seen = 0
        self.content = 0  # open <main>/<article>: a <header> inside one holds the document's own title

    def _flush(self) -> None:
        text = "".join(self.current).strip()
        self.current = []
        if text:
            self.lines.append(("#" * self.heading + " " if self.heading else "") + text)

    def _is_chrome(self, tag: str, attrs: dict[str, str | None]) -> bool:
        if tag in ("header", "footer") and self.content:
            return False
        if tag in _SKIP_TAGS or "hidden" in attrs or (attrs.get("aria-hidden") or "").lower() == "true":
            return True
        style = (attrs.get("style") or "").replace(" ", "").lower()
        if "display:none" in style or "visibility:hidden" in style:
            return True
        names = f"{attrs.get('id') or ''} {attrs.get('class') or ''}"
        return (attrs.get("role") or "") in ("navigation", "banner", "contentinfo") or bool(_CHROME.search(names))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen += 1
        if self.seen % 2000 == 0:
            self.deadline.check()
        if self.skip_tag is not None:
            if tag == self.skip_tag:
                self.skip_nest += 1
            elif tag == "body" and self.skip_tag == "head":  # a <head> never closed
                self.skip_tag = None
            elif tag in _RUBY_TEXT and self.skip_tag in _RUBY_TEXT:  # </rt> and </rp> may be left out
                self.skip_tag, self.skip_nest = tag, 1
            return
        if tag in ("main", "article"):
            self.content += 1
        if tag not in _VOID_TAGS and self._is_chrome(tag, dict(attrs)):
            self.skip_tag, self.skip_nest = tag, 1
            return
        self._open(tag)

    def _open(self, tag: str) -> None:
        if tag == "br":
            self._flush()
        elif tag in _HEADING_TAGS:
            self._flush()
            self.heading = _HEADING_TAGS[tag]
        elif tag in _BLOCK_TAGS:
            self._flush()
            self.pre += tag == "pre"
        elif tag in _CELL_TAGS and "".join(self.current).strip():
            self.current.append("\u3000")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skip_tag is None and tag in ("br", "hr", "p", "div"):
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if self.skip_tag is not None:
            if tag == self.skip_tag or (tag == "ruby" and self.skip_tag in _RUBY_TEXT):
                self.skip_nest -= 1
                if self.skip_nest == 0 or tag == "ruby":
                    self.skip_tag = None
            return
        if tag in ("main", "article") and self.content:
            self.content -= 1
        if tag in _HEADING_TAGS:
            self._flush()
            self.heading = 0
        elif tag in _BLOCK_TAGS:
            self._flush()
            if tag == "pre" and self.pre:
                self.pre -= 1

    def handle_data(self, data: str) -> None:
        if self.skip_tag is not None:
            return
        data = data.replace("\xa0", " ")
        if self.pre:
            parts = data.split("\n")
            for part in parts[:-1]:
                self.current.append(part)
                self._flush()
            self.current.append(parts[-1])
        else:
            self.current.append(re.sub(r"[ \t\r\n]+", " ", data))

    def text(self) -> str:
        self._flush()
        return "\n".join(self.lines)


def _html_charset(data: bytes) -> str | None:
    m = _META_CHARSET.search(data[:4096])
    if not m:
        return None
    name = m.group(1).decode("ascii", "replace").lower()
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    # Pages labelled Shift_JIS are written by Windows tools: read them as CP932.
    return "cp932" if codec in ("shift_jis", "shift-jis", "cp932", "ms932") else codec


def html_text(data: bytes, deadline: Deadline) -> str:
    source = decode_text(data, _html_charset(data))
    parser = _HTMLText(deadline)
    try:
        parser.feed(source)
        parser.close()
    except (AssertionError, ValueError) as exc:  # html.parser on malformed markup
        raise PolicyParseError("HTML ファイルを読み取れませんでした。ページを保存し直してください。") from exc
    text = parser.text()
    if not text.strip():
        raise PolicyParseError(
            "HTML から本文の文字を取り出せませんでした。例規集の本文が表示されたページを保存してください。"
        )
    return text


# ---------------------------------------------------------------------------
# Word (.docx)
# ---------------------------------------------------------------------------

_HEADING_STYLE = re.compile(r"^(?:heading|見出し)\s*(\d)?$", re.I)
_MAX_ZIP_MEMBERS = 2000


def _check_zip(data: bytes, filename: str, limits: Limits) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            names = {info.filename for info in infos}
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise PolicyParseError(
            f"Word 文書（.docx）を読み取れませんでした（{filename}）。ファイルが壊れている可能性があります。"
        ) from exc
    if "word/document.xml" not in names:
        raise unsupported(filename, "ZIP 形式ですが Word 文書（.docx）ではありません。")
    expanded = sum(info.file_size for info in infos)
    if len(infos) > _MAX_ZIP_MEMBERS or expanded > limits.max_expanded_bytes:
        raise PolicyTooLargeError(

                f"Word 文書の中身が大きすぎます（展開後 {_mb(expanded)}）。{_mb(limits.max_expanded_bytes)}"
                f"以下にしてください。"

        )


def _docx_heading_level(paragraph: Any) -> int:
    try:
        name = (paragraph.style.name or "") if paragraph.style is not None else ""
    except (KeyError, ValueError, AttributeError):
        name = ""
    m = _HEADING_STYLE.match(name.strip())
    if m:
        return int(m.group(1) or 1)
    return 1 if name.strip().lower() in ("title", "表題") else 0


def _docx_lines(document: Any, deadline: Deadline) -> list[str]:
    from docx.oxml.ns import qn
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    lines: list[str] = []

    def paragraph(p: Paragraph) -> None:
        text = p.text.replace("\t", "\u3000")
        level = _docx_heading_level(p)
        for part in text.split("\n"):
            if part.strip():
                lines.append(("#" * level + " " if level else "") + part.strip())
            elif not level:
                lines.append("")

    for n, child in enumerate(document.element.body.iterchildren()):
        if n % 500 == 0:
            deadline.check()
        if child.tag == qn("w:p"):
            paragraph(Paragraph(child, document))
        elif child.tag == qn("w:tbl"):
            for row in Table(child, document).rows:
                cells = ["".join(p.text for p in cell.paragraphs).strip() for cell in row.cells]
                lines.append("\u3000".join(c for c in dict.fromkeys(cells) if c))
    return lines


def docx_text(data: bytes, filename: str, limits: Limits, deadline: Deadline) -> str:
    _check_zip(data, filename, limits)
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
        text = "\n".join(_docx_lines(document, deadline))
    except PolicyParseError:
        raise
    except Exception as exc:  # python-docx / lxml on a broken or hostile package
        raise PolicyParseError(f"Word 文書（.docx）を読み取れませんでした（{type(exc).__name__}）。") from exc
    if not text.strip():
        raise PolicyParseError("Word 文書に本文の文字がありません。")
    return text


# ---------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------


def _name_mismatch(kind: str, filename: str) -> PolicyParseError | None:
    suffix = Path(filename).suffix.lower()
    if suffix == ".pdf" and kind != "pdf":
        return PolicyParseError(f"PDF ファイルではありません（{filename}）。ファイルの内容を確認してください。")
    if suffix == ".docx" and kind != "docx":
        return unsupported(filename, "ファイル名は Word 文書ですが、内容が Word 文書（.docx）ではありません。")
    return None


def read_bytes(data: bytes, filename: str, *, limits: Limits = DEFAULT_LIMITS) -> SourceText:
    """The text of a policy file given as bytes; raises :class:`PolicyParseError`."""
    if not data:
        raise PolicyParseError(f"ファイルが空です（{filename}）。")
    if len(data) > limits.max_bytes:
        raise PolicyTooLargeError(
            f"ファイルが大きすぎます（{_mb(len(data))}）。{_mb(limits.max_bytes)}以下のファイルを指定してください。"
        )
    deadline = Deadline(limits.max_seconds)
    kind = sniff(data)
    mismatch = _name_mismatch(kind, filename)
    if mismatch is not None:
        raise mismatch
    if kind.startswith("other:"):
        raise unsupported(filename, kind.removeprefix("other:"))
    if kind == "pdf":
        text = pdf_text(data, limits, deadline)
    elif kind == "docx":
        text = docx_text(data, filename, limits, deadline)
    elif kind == "html":
        text = html_text(data, deadline)
    else:
        try:
            text = decode_text(data)
        except PolicyParseError:
            if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
                raise unsupported(filename, "文字のファイルではありません。") from None
            raise
        if _looks_binary(text):
            raise unsupported(filename, "文字のファイルではありません。")
    # Control characters (NUL ...) never belong in a policy and databases refuse some of them.
    return SourceText(clean_text(text), kind, deadline)


def read_path(path: Path, *, limits: Limits = DEFAULT_LIMITS) -> SourceText:
    if not path.is_file():
        raise PolicyParseError(f"ファイルが見つかりません: {path}")
    try:
        size = path.stat().st_size
        if size > limits.max_bytes:
            raise PolicyTooLargeError(
                f"ファイルが大きすぎます（{_mb(size)}）。{_mb(limits.max_bytes)}以下のファイルを指定してください。"
            )
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise PolicyParseError(f"ファイルが見つかりません: {path}") from exc
    except OSError as exc:
        raise PolicyParseError(f"ファイルを読み込めませんでした: {path}（{exc.strerror or exc}）") from exc
    return read_bytes(data, path.name, limits=limits)
