"""Render an AnnexDocument to HTML and tagged PDF/A-3a with WeasyPrint.

One `AnnexRenderer` per process: it builds the Jinja environment, resolves the font files and
creates WeasyPrint's FontConfiguration once, so every later render reuses the loaded fonts (the
first render in a fresh process pays for `import weasyprint` and font loading; warm each worker).
WeasyPrint is not documented as thread-safe: render in worker processes, not threads.

Security: all snapshot text reaches HTML only through autoescaped templates, and the url_fetcher
refuses everything except files under the templates folder and the exact font files in use — no
network, no data:, no other file:// path.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import unicodedata
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jinja2

from vendorrisk.domain.annex import AnnexDocument
from vendorrisk.domain.vocabulary import JST
from vendorrisk.paths import TEMPLATES_DIR

__all__ = [
    "AnnexRenderer",
    "FontFiles",
    "FontsMissingError",
    "ForbiddenURLError",
    "check_harfbuzz_subset",
    "default_fonts",
    "latin_fonts",
    "unsupported_characters",
]

log = logging.getLogger(__name__)

ATTACHMENT_NAME = "answers-snapshot.json"
PDF_VARIANT = "pdf/a-3a"  # tagged: headings, tables and lists in the structure tree

# Where distributions install Noto Serif CJK (Debian/Ubuntu first). The .ttc holds JP, KR, SC, TC
# and HK faces; the JP face is index 0 and is the one fontconfig picks for lang="ja" (the tests
# check that the embedded font is NotoSerifCJKjp-*).
_NOTO_DIRS = (
    "/usr/share/fonts/opentype/noto",
    "/usr/share/fonts/noto-cjk",
    "/usr/share/fonts/google-noto-cjk",
    "/usr/share/fonts/opentype/noto-cjk",
    "/usr/local/share/fonts",
)


class FontsMissingError(RuntimeError):
    """The annex fonts are not installed; the app must not fall back to a generic family."""


class ForbiddenURLError(ValueError):
    """The renderer refused to fetch a URL (not one of the app's own templates or fonts)."""


@dataclass(frozen=True)
class FontFiles:
    """The font family the annex declares with @font-face, and its two faces."""

    family: str
    regular: Path
    bold: Path

    @property
    def regular_url(self) -> str:
        return self.regular.as_uri()

    @property
    def bold_url(self) -> str:
        return self.bold.as_uri()

    @property
    def files(self) -> tuple[Path, Path]:
        return (self.regular, self.bold)


def default_fonts() -> FontFiles:
    """Noto Serif CJK JP Regular/Bold, from VENDORRISK_ANNEX_FONT_DIR or the system font folders."""
    dirs = [os.environ["VENDORRISK_ANNEX_FONT_DIR"]] if os.environ.get("VENDORRISK_ANNEX_FONT_DIR") else []
    dirs += list(_NOTO_DIRS)
    for d in dirs:
        regular = Path(d) / "NotoSerifCJK-Regular.ttc"
        bold = Path(d) / "NotoSerifCJK-Bold.ttc"
        if regular.is_file() and bold.is_file():
            return FontFiles("VR Annex Serif", regular.resolve(), bold.resolve())
    raise FontsMissingError(
        "特記事項のフォント（Noto Serif CJK JP: NotoSerifCJK-Regular.ttc / NotoSerifCJK-Bold.ttc）が"
        "見つかりません。Debian では `apt-get install fonts-noto-cjk` を実行するか、"
        "VENDORRISK_ANNEX_FONT_DIR でフォルダを指定してください。"
        f"（探した場所: {', '.join(dirs)}）"
    )


def latin_fonts() -> FontFiles:
    """DejaVu Serif — only for the Latin-only benchmark floor, never for real annexes."""
    base = Path("/usr/share/fonts/truetype/dejavu")
    return FontFiles("VR Latin Serif", base / "DejaVuSerif.ttf", base / "DejaVuSerif-Bold.ttf")


@functools.lru_cache(maxsize=4)
def _font_coverage(path: str, index: int) -> frozenset[int]:
    from fontTools.ttLib import TTCollection, TTFont

    if path.lower().endswith((".ttc", ".otc")):
        collection = TTCollection(path, lazy=True)
        try:
            return frozenset(collection.fonts[index].getBestCmap())
        finally:
            collection.close()
    with TTFont(path, lazy=True) as font:
        return frozenset(font.getBestCmap())


def unsupported_characters(text: str, fonts: FontFiles | None = None) -> list[str]:
    """Characters of `text` the annex font cannot draw (they would print as tofu), in order, once each.

    For the check-answers page: warn the contractor about a name like one with a rare 異体字, never
    reject it. The first call loads the font's character map (~0.5 s); later calls are instant.
    """
    fonts = fonts or default_fonts()
    regular, bold = (_font_coverage(str(f), 0) for f in fonts.files)  # face 0 = JP in Noto CJK .ttc
    missing: dict[str, None] = {}
    for ch in text or "":
        if not ch.isspace() and unicodedata.category(ch) not in ("Cc", "Cf") and (
                ord(ch) not in regular or ord(ch) not in bold):
            missing[ch] = None
    return list(missing)


def check_harfbuzz_subset() -> bool:
    """True when WeasyPrint found libharfbuzz-subset (fast font subsetting).

    Without it a 6-page Japanese annex takes 7–14 s instead of ~0.5 s: the app should check this at
    start and say so loudly (`apt-get install libharfbuzz-subset0`).
    """
    from weasyprint.text import ffi

    # The same condition WeasyPrint 70 uses before subsetting with HarfBuzz (weasyprint/pdf/fonts.py).
    if getattr(ffi, "harfbuzz_subset", None) is None:
        return False
    return bool(ffi.harfbuzz.hb_version_atleast(4, 1, 0))


def _make_fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class SafeURLFetcher(URLFetcher):
        """Serves only files inside `allowed_dirs` or equal to one of `allowed_files`."""

        def __init__(self, allowed_dirs, allowed_files):
            super().__init__(allowed_protocols=("file",), allow_redirects=False)
            self.allowed_dirs = tuple(Path(d).resolve() for d in allowed_dirs)
            self.allowed_files = frozenset(Path(f).resolve() for f in allowed_files)
            self.requested: list[str] = []  # every URL asked for (tests and debugging)

        def resolve_allowed(self, url: str) -> Path:
            parts = urlsplit(url)
            if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
                raise ForbiddenURLError(f"特記事項の描画で外部の URL は読み込めません: {url[:200]}")
            path = Path(unquote(parts.path)).resolve()
            if path in self.allowed_files:
                return path
            if any(path.is_relative_to(d) for d in self.allowed_dirs) and path.is_file():
                return path
            raise ForbiddenURLError(f"特記事項の描画でこのファイルは読み込めません: {url[:200]}")

        def fetch(self, url, headers=None):
            self.requested.append(url)
            path = self.resolve_allowed(url)
            return URLFetcherResponse(path.as_uri(), path.read_bytes())

    return SafeURLFetcher


class AnnexRenderer:
    """HTML and PDF/A-3u for annexes. Create one per process and reuse it."""

    def __init__(self, templates_dir: Path | None = None, *, fonts: FontFiles | None = None):
        import weasyprint
        from weasyprint.text.fonts import FontConfiguration

        self._weasyprint = weasyprint
        self.templates_dir = Path(templates_dir or TEMPLATES_DIR).resolve()
        if not (self.templates_dir / "annex" / "annex.html").is_file():
            raise FileNotFoundError(f"annex template not found under {self.templates_dir}")
        self.fonts = fonts or default_fonts()
        for f in self.fonts.files:
            if not f.is_file():
                raise FontsMissingError(f"フォントファイルがありません: {f}")
        if not check_harfbuzz_subset():
            log.warning(
                "libharfbuzz-subset が見つかりません。特記事項の PDF 作成が10倍以上遅くなります"
                "（apt-get install libharfbuzz-subset0）。"
            )
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(self.templates_dir)),
            autoescape=jinja2.select_autoescape(("html", "htm", "xml"), default_for_string=True, default=True),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._template = self.env.get_template("annex/annex.html")
        self.url_fetcher = _make_fetcher_class()([self.templates_dir], self.fonts.files)
        self.font_config = FontConfiguration()
        self._base_url = self.templates_dir.as_uri() + "/annex/"

    def warm_up(self) -> None:
        """Load the fonts, WeasyPrint's stylesheets and the templates now (call once per worker, e.g.
        in a pool initializer or gunicorn's post_fork), so the first real annex renders at warm speed."""
        html = ('<html lang="ja"><head><style>{}</style></head><body><p>甲乙 第1条</p><h3>情報セキュリティ</h3>'
                '</body></html>').format(self.env.get_template("annex/annex.css").render(fonts=self.fonts))
        self.pdf_from_html(html)

    # -- HTML ---------------------------------------------------------------------------------
    def html(self, doc: AnnexDocument) -> str:
        return self._template.render(doc=doc, fonts=self.fonts)

    # -- PDF ----------------------------------------------------------------------------------
    def pdf(self, doc: AnnexDocument, *, attachment_json: bytes | None = None) -> bytes:
        """PDF/A-3u; `attachment_json` (the answers snapshot) is embedded as answers-snapshot.json."""
        return self.pdf_from_html(self.html(doc), attachment_json=attachment_json,
                                  issued=doc.issued_on, identifier=doc.document_id)

    def pdf_from_html(self, html: str, *, attachment_json: bytes | None = None, issued=None,
                      identifier: str | None = None) -> bytes:
        """Render HTML made by `html()` (or a test's) under the same fetcher and fonts."""
        wp = self._weasyprint
        attachments = []
        if attachment_json is not None:
            stamp = (datetime(issued.year, issued.month, issued.day, tzinfo=JST)
                     if issued is not None else None)
            # An Attachment is single-use: a new one per render.
            attachments.append(wp.Attachment(
                string=attachment_json, name=ATTACHMENT_NAME,
                description="特記事項の作成に用いた回答データ（JSON）",
                created=stamp, modified=stamp, relationship="Source",
                url_fetcher=self.url_fetcher,
            ))
        options = {}
        if identifier:
            options["pdf_identifier"] = hashlib.md5(identifier.encode(), usedforsecurity=False).hexdigest().encode()
        document = wp.HTML(string=html, base_url=self._base_url, url_fetcher=self.url_fetcher)
        with warnings.catch_warnings():
            # WeasyPrint 70 opens its sRGB ICC profile for PDF/A without closing it (the file object is
            # dropped inside write_pdf): silence that ResourceWarning here, where it is emitted.
            warnings.simplefilter("ignore", ResourceWarning)
            return document.write_pdf(
                font_config=self.font_config,
                pdf_variant=PDF_VARIANT,
                attachments=attachments or None,
                **options,
            )
