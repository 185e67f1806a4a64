"""Lines of a policy: normalisation helpers, heading detection and layout rewriting.

Matching is done on NFKC-normalised text (full-width digits, ``(８ )``, spaces), but returned
text keeps the original characters. Every function here is linear in the length of its input:
the parser must stay fast on hostile files (issue #13: repeated headings made it cubic).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from .model import ACCEPTED_TITLE_VARIANTS, CLAUSE_TITLE


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def squash(text: str) -> str:
    """Matching key: NFKC with all whitespace removed."""
    return re.sub(r"\s+", "", nfkc(text))


MD_HEADING = re.compile(r"^\s*#{1,6}(?=\s|$)\s*")
# List / bullet markers that may precede a paragraph ("- ", "・", "• ").
BULLET = re.compile(r"^\s*(?:[-*+•・●○■◆]\s*)+")

# A heading number at the start of a line (applied to original text: ``\d`` and ``\s``
# also match full-width digits and the ideographic space).
KANJI_NUM = "一二三四五六七八九十"
_DASHES = "-‐‑–—―−－ー"
_NUMBER_PREFIX = re.compile(
    rf"""^(?:
        第\s*[\d{KANJI_NUM}]+\s*[章節編部款条項号]                 # 第1章 / 第6条
      | \d+\s*[(（]\s*[\d{KANJI_NUM}][\d{KANJI_NUM}\s]*[)）]    # 6(8)
      | [(（]\s*[\d{KANJI_NUM}][\d{KANJI_NUM}\s]*[)）]        # (8)  (８ )  (1 1)  （八）
      | \d+\s*[{_DASHES}]\s*\d+(?:\s*[{_DASHES}]\s*\d+)*(?=\s|$)   # 2-8 / 2―8
      | \d+(?:[.．]\d+)*[.．、]?(?=\s)                    # 1 目的 / 1. 目的 / 1.2 目的
      | \d+[.．](?=\S)                                    # 1.目的
      | [{KANJI_NUM}]+(?:[、.．]|(?=\s))                   # 六、外部委託 / 六　外部委託
    )""",
    re.X,
)
_APPENDIX = {"付則", "附則"}
# 例規 caption line: 「（外部委託）」 on its own line above 「第6条 …」.
_CAPTION = re.compile(r"^[(（]\s*(?P<caption>[^()（）\d\s][^()（）]{0,40})[)）]$")
_ARTICLE = re.compile(rf"^第\s*[\d{KANJI_NUM}]+\s*条(?:\s*の\s*[\d{KANJI_NUM}]+)?")
# Inline title: a short heading title, then a wide gap (ideographic or 2+ spaces), then the body.
_INLINE_GAP = re.compile(r"\u3000+|\s{2,}")
_ONE_SPACE = re.compile(r"[ \u00a0]")


def _loose_title(title: str) -> str:
    """A pattern for *title* as written: full- or half-width brackets, any spaces between characters."""
    chars = []
    for ch in nfkc(title):
        wide = chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ""
        chars.append(f"[{re.escape(ch + wide)}]")
    return r"\s*".join(chars)


# A recognised clause title right after the number, then any gap (one space, a no-break space, an
# ideographic one): the body starts after the gap. Longest first, so a title is never cut short.
_CLAUSE_TITLE_THEN_GAP = re.compile(
    r"\s*(?P<title>"
    + "|".join(_loose_title(t) for t in sorted({CLAUSE_TITLE, *ACCEPTED_TITLE_VARIANTS}, key=len, reverse=True))
    + r")\s+(?=\S)"
)

_PAGE_NUMBER = re.compile(
    r"^(?:[-‐‑–—―−~〜ー\s]*(?:p\.?\s*)?\d{1,4}[-‐‑–—―−~〜ー\s]*"
    r"|\d{1,4}\s*/\s*\d{1,4}"
    r"|第?\s*\d{1,4}\s*(?:頁|ページ)"
    r"|(?:page|p\.)\s*\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?)$",
    re.I,
)
_CLOSERS = ")）」』"
_ASCII_ALNUM = re.compile(r"[A-Za-z0-9]")


def is_page_number(line: str) -> bool:
    s = nfkc(line).strip()
    return bool(s) and len(s) <= 40 and bool(_PAGE_NUMBER.match(s))


def ends_sentence(text: str) -> bool:
    """Ends with 。 and no bracket is left open (「…除く。」 inside （…） is not an end)."""
    s = nfkc(text).rstrip()
    core = s.rstrip(_CLOSERS)
    if not core or core[-1] not in "。．":
        return False
    return s.count("(") <= s.count(")") and s.count("「") <= s.count("」")


def join(left: str, right: str) -> str:
    """Join a hard-wrapped line: no space between Japanese characters, one between words."""
    left, right = left.rstrip(), right.lstrip()
    if not left:
        return right
    if not right:
        return left
    sep = " " if _ASCII_ALNUM.match(nfkc(left[-1])) and _ASCII_ALNUM.match(nfkc(right[0])) else ""
    return left + sep + right


def compact_cjk(text: str) -> str:
    """Remove whitespace that sits next to a non-ASCII character (``青梅市 情報…``)."""
    return re.sub(r"(?<=[^\x00-\x7f])\s+|\s+(?=[^\x00-\x7f])", "", text.strip())


# ---------------------------------------------------------------------------
# Headings
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    number: str  # as written, markdown marker removed
    title: str
    style: str  # chapter, article, compound, paren, kanji-paren, dashed, dotted, arabic, kanji, md, appendix
    md_level: int  # 0 when not a markdown heading
    value: int | None  # the item's own number (8 for "(8)", 6 for 第六条), None when unknown


_KANJI_VALUES = {c: i + 1 for i, c in enumerate(KANJI_NUM)}


def kanji_value(text: str) -> int | None:
    """一 → 1, 十二 → 12, 二十 → 20 (up to 99)."""
    if not text or any(c not in _KANJI_VALUES for c in text) or len(text) > 3:
        return None
    if "十" not in text:
        return _KANJI_VALUES[text] if len(text) == 1 else None
    tens, _, ones = text.partition("十")
    t = _KANJI_VALUES.get(tens, 0) if tens else 1
    o = _KANJI_VALUES.get(ones, 0) if ones else 0
    return t * 10 + o


def number_value(text: str) -> int | None:
    digits = "".join(nfkc(text).split())
    if digits.isdigit():
        return int(digits[:6])
    return kanji_value(digits)


_STYLE_LAW = re.compile(rf"第([\d{KANJI_NUM}]+)([章節編部款条項号])")
_STYLE_COMPOUND = re.compile(r"\d+\(([^()]+)\)")
_STYLE_PAREN = re.compile(r"\(([^()]+)\)")
_STYLE_DASHED = re.compile(rf"\d+(?:[{_DASHES}]\d+)+")
_STYLE_DOTTED = re.compile(r"\d+(?:\.\d+)+\.?")
_STYLE_ARABIC = re.compile(r"(\d+)[.、]?")
_DASH_SPLIT = re.compile(rf"[{_DASHES}]")


def _style_of(number: str) -> tuple[str, int | None]:
    n = "".join(nfkc(number).split())
    if m := _STYLE_LAW.fullmatch(n):
        kind = {"条": "article", "項": "paragraph", "号": "item"}.get(m.group(2), "chapter")
        return kind, number_value(m.group(1))
    if m := _STYLE_COMPOUND.fullmatch(n):
        return "compound", number_value(m.group(1))
    if m := _STYLE_PAREN.fullmatch(n):
        inner = m.group(1)
        return ("paren" if inner.isdigit() else "kanji-paren"), number_value(inner)
    if _STYLE_DASHED.fullmatch(n):
        return "dashed", number_value(_DASH_SPLIT.split(n)[-1])
    if _STYLE_DOTTED.fullmatch(n):
        return "dotted", number_value(n.rstrip(".").split(".")[-1])
    if m := _STYLE_ARABIC.fullmatch(n):
        return "arabic", number_value(m.group(1))
    return "kanji", number_value(n.rstrip("、."))


def heading_of(line: str) -> Heading | None:
    """The heading on *line*, or ``None``.

    Headings are markdown headings (any level) or numbered lines whose rest is short
    and is not a sentence. Bullet lines (``- (1) ...``) are list items, not headings.
    """
    s = line.strip()
    if not s:
        return None
    md = MD_HEADING.match(s)
    md_level = s[: md.end()].count("#") if md else 0
    s = MD_HEADING.sub("", s).strip()
    m = _NUMBER_PREFIX.match(s)
    if m:
        number, rest = m.group(0).strip(), s[m.end() :].strip()
        if "。" not in rest and len(rest) <= 60:
            style, value = _style_of(number)
            return Heading(number, rest, style, md_level, value)
    if md_level:
        return Heading("", s, "md", md_level, None)
    if squash(s) in _APPENDIX:
        return Heading("", s, "appendix", 0, None)
    return None


def split_heading(line: str) -> tuple[str, str] | None:
    """``(number, title)`` when *line* is a heading, else ``None``."""
    h = heading_of(line)
    return None if h is None else (h.number, h.title)


def header_key(line: str) -> str:
    """Key for running-header detection: markdown and whitespace removed, digits folded."""
    s = MD_HEADING.sub("", line.strip())
    return re.sub(r"\d+", "0", squash(s))


# ---------------------------------------------------------------------------
# Preparing lines, rewriting the 例規 and inline layouts into plain headings
# ---------------------------------------------------------------------------


@dataclass
class Lines:
    """The prepared lines of a document, with where each came from in the source text."""

    lines: list[str]
    origin: list[int]  # source line index of each line
    source: list[str]  # the source lines as given (for showing context)
    layouts: dict[int, str]  # heading line index -> "article" / "inline" for rewritten headings
    headings: list[Heading | None]

    @classmethod
    def build(cls, text: str) -> Lines:
        text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
        source = [line.rstrip() for line in text.split("\n")]
        prepared = ["" if is_page_number(line) else line for line in source]
        lines, origin, layouts, heads = _rewrite_layouts(prepared)
        return cls(lines, origin, source, layouts, heads)


def _next_nonempty(lines: Sequence[str], i: int) -> int:
    j = i + 1
    while j < len(lines) and not lines[j].strip():
        j += 1
    return j


def _inline_split(line: str) -> tuple[str, str] | None:
    """「（８）　業務委託と…の利用　業務委託を行う場合には…」 → (heading line, body)."""
    s = MD_HEADING.sub("", line.strip())
    m = _NUMBER_PREFIX.match(s)
    if not m or "。" not in s:
        return None
    rest = s[m.end() :]
    known = _CLAUSE_TITLE_THEN_GAP.match(rest)
    if known:
        return f"{m.group(0).strip()} {known.group('title')}", rest[known.end() :]
    rest = rest.strip()
    wide = _INLINE_GAP.search(rest)
    # Without a wide gap, one space may end a short Japanese title (「（９） 評価・見直し 情報…」),
    # so the item after the clause is a heading too and closes it.
    gap = wide or _ONE_SPACE.search(rest)
    if not gap:
        return None
    title, body = rest[: gap.start()], rest[gap.end() :]
    longest = 40 if wide else 20
    if not title or not body or len(title) > longest or re.search(r"[、。,「]", title):
        return None
    if not wide and _ASCII_ALNUM.search(title):
        return None
    return f"{m.group(0).strip()} {title}", body


def _rewrite_layouts(lines: list[str]) -> tuple[list[str], list[int], dict[int, str], list[Heading | None]]:
    out: list[str] = []
    origin: list[int] = []
    layouts: dict[int, str] = {}
    heads: list[Heading | None] = []

    def emit(text: str, source: int, head: Heading | None | bool = True) -> None:
        out.append(text)
        origin.append(source)
        heads.append(heading_of(text) if head is True else head or None)

    i = 0
    while i < len(lines):
        line = lines[i]
        cap = _CAPTION.match(nfkc(line.strip())) if line.strip() else None
        j = _next_nonempty(lines, i) if cap else i
        art = _ARTICLE.match(lines[j].strip()) if cap and j < len(lines) else None
        if cap and art:
            # （外部委託） / 第6条 市は、… → 「第6条 外部委託」 + 「市は、…」
            article_line = lines[j].strip()
            layouts[len(out)] = "article"
            emit(f"{art.group(0)} {line.strip()[1:-1].strip()}", i)
            body = article_line[art.end() :].strip()
            if body:
                emit(body, j, False)
            i = j + 1
            continue
        head = heading_of(line)
        split = _inline_split(line) if head is None else None
        if split:
            layouts[len(out)] = "inline"
            emit(split[0], i)
            emit(split[1], i, False)
        else:
            emit(line, i, head)
        i += 1
    return out, origin, layouts, heads
