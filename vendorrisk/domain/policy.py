"""Parser for a municipality's 情報セキュリティ基本方針 (information security basic policy).

The only clause we really need is the one that the MIC guideline titles
「業務委託と外部サービス（クラウドサービス）の利用」: it carries the obligations about
outsourcing, cloud services and social media that the rest of the application checks
vendors against.  Around it we pick up the organisation, the policy title, the enactment
date and the bodies (実施機関) in scope.

Real documents come as markdown-ish text, plain text converted from Word, or text
extracted from PDFs, so the parser is deliberately tolerant:

* matching is done on NFKC-normalised text (full-width digits, ``(８ )``, spaces),
  but returned text keeps the original characters (only NFC-composed);
* hard-wrapped lines (with or without blank lines between them) are re-joined;
* page-number lines and repeated running headers are dropped inside the clause;
* the clause is found by its *title*, never by its number.

Pure domain code: no Flask, no database.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ACCEPTED_TITLE_VARIANTS",
    "CLAUSE_TITLE",
    "OBLIGATION_KEYS",
    "ParsedClause",
    "ParsedPolicy",
    "PolicyParseError",
    "parse_policy_bytes",
    "parse_policy_file",
    "parse_policy_text",
    "read_policy_file",
]

OBLIGATION_KEYS: tuple[str, ...] = (
    "outsourcing.select",
    "outsourcing.contract",
    "outsourcing.verify",
    "outsourcing.measures",
    "cloud.rules",
    "social.procedure",
    "social.content",
    "social.owner",
)

# Japanese names of the obligations, for summaries and the traceability page.
OBLIGATION_LABELS: dict[str, str] = {
    "outsourcing.select": "委託事業者の選定",
    "outsourcing.contract": "セキュリティ要件を明記した契約の締結",
    "outsourcing.verify": "委託先の対策確保の確認",
    "outsourcing.measures": "契約に基づく措置",
    "cloud.rules": "外部サービス利用に係る規定の整備",
    "social.procedure": "ソーシャルメディアの運用手順",
    "social.content": "発信できる情報の規定",
    "social.owner": "アカウントごとの責任者",
}

# Which paragraph of the clause each obligation comes from.
OBLIGATION_PARAGRAPH: dict[str, str] = {
    "outsourcing": "outsourcing",
    "cloud": "external_services",
    "social": "social_media",
}

#: The clause title in the current MIC guideline wording.
CLAUSE_TITLE = "業務委託と外部サービス（クラウドサービス）の利用"
#: Older / shorter titles that are accepted as well (listed in error messages).
ACCEPTED_TITLE_VARIANTS: tuple[str, ...] = ("業務委託と外部サービスの利用", "外部サービスの利用", "外部委託")

TEXT_SUFFIXES = (".txt", ".md")
PDF_SUFFIXES = (".pdf",)


class PolicyParseError(ValueError):
    """The policy could not be read or the clause was not found (message in Japanese)."""


@dataclass(frozen=True)
class ParsedClause:
    number: str
    title: str
    outsourcing: str | None
    external_services: str | None
    social_media: str | None
    obligations: tuple[str, ...]


@dataclass(frozen=True)
class ParsedPolicy:
    organisation: str
    title: str
    enacted_as_written: str | None
    enacted_on: dt.date | None
    bodies: tuple[str, ...]
    clause: ParsedClause

    def to_json(self) -> dict[str, object]:
        """JSON-ready representation (dates as ISO strings)."""
        return {
            "organisation": self.organisation,
            "title": self.title,
            "enacted": {
                "as_written": self.enacted_as_written,
                "iso": self.enacted_on.isoformat() if self.enacted_on else None,
            },
            "bodies": list(self.bodies),
            "clause": {
                "number": self.clause.number,
                "title": self.clause.title,
                "paragraphs": {
                    "outsourcing": self.clause.outsourcing,
                    "external_services": self.clause.external_services,
                    "social_media": self.clause.social_media,
                },
                "obligations": list(self.clause.obligations),
            },
        }


# ---------------------------------------------------------------------------
# Small text helpers
# ---------------------------------------------------------------------------


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _squash(text: str) -> str:
    """Matching key: NFKC with all whitespace removed."""
    return re.sub(r"\s+", "", _nfkc(text))


_MD_HEADING = re.compile(r"^\s*#{1,6}(?=\s|$)\s*")
# List / bullet markers that may precede a paragraph ("- ", "・", "• ").
_BULLET = re.compile(r"^\s*(?:[-*+•・●○■◆]\s*)+")

# A heading number at the start of a line (applied to original text: ``\d`` and ``\s``
# also match full-width digits and the ideographic space).
_KANJI_NUM = "一二三四五六七八九十"
_NUMBER_PREFIX = re.compile(
    rf"""^(?:
        第\s*[\d{_KANJI_NUM}]+\s*[章節条款項]              # 第1章
      | \d+\s*[(（]\s*[\d{_KANJI_NUM}][\d{_KANJI_NUM}\s]*[)）]    # 6(8)
      | [(（]\s*[\d{_KANJI_NUM}][\d{_KANJI_NUM}\s]*[)）]        # (8)  (８ )  (1 1)
      | \d+(?:[.．]\d+)*[.．、]?(?=\s)                    # 1 目的 / 1. 目的
      | \d+[.．](?=\S)                                    # 1.目的
    )""",
    re.X,
)
_APPENDIX = {"付則", "附則"}

_PAGE_NUMBER = re.compile(
    r"^(?:[-‐‑–—―−~〜ー\s]*(?:p\.?\s*)?\d{1,4}[-‐‑–—―−~〜ー\s]*"
    r"|\d{1,4}\s*/\s*\d{1,4}"
    r"|第?\s*\d{1,4}\s*(?:頁|ページ)"
    r"|(?:page|p\.)\s*\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?)$",
    re.I,
)

_SENTENCE_END = re.compile(r"[。．][)）」』]*$")
_ASCII_ALNUM = re.compile(r"[A-Za-z0-9]")


def _is_page_number(line: str) -> bool:
    s = _nfkc(line).strip()
    return bool(s) and bool(_PAGE_NUMBER.match(s))


def _ends_sentence(text: str) -> bool:
    """Ends with 。 and no bracket is left open (「…除く。」 inside （…） is not an end)."""
    s = _nfkc(text).rstrip()
    if not _SENTENCE_END.search(s):
        return False
    return s.count("(") <= s.count(")") and s.count("「") <= s.count("」")


def _join(left: str, right: str) -> str:
    """Join a hard-wrapped line: no space between Japanese characters, one between words."""
    left, right = left.rstrip(), right.lstrip()
    if not left:
        return right
    if not right:
        return left
    sep = " " if _ASCII_ALNUM.match(_nfkc(left[-1])) and _ASCII_ALNUM.match(_nfkc(right[0])) else ""
    return left + sep + right


def _split_heading(line: str) -> tuple[str, str] | None:
    """Return ``(number, title)`` when *line* is a heading, else ``None``.

    Headings are markdown headings (any level) or numbered lines whose rest is short
    and is not a sentence.  Bullet lines (``- (1) ...``) are list items, not headings.
    """
    s = line.strip()
    if not s:
        return None
    is_md = bool(_MD_HEADING.match(s))
    s = _MD_HEADING.sub("", s).strip()
    m = _NUMBER_PREFIX.match(s)
    if m:
        number, rest = m.group(0).strip(), s[m.end() :].strip()
        if "。" not in rest and len(rest) <= 60:
            return number, rest
    if is_md:
        return "", s
    if _squash(s) in _APPENDIX:
        return "", s
    return None


def _header_key(line: str) -> str:
    """Key for running-header detection: markdown and whitespace removed, digits folded."""
    s = _MD_HEADING.sub("", line.strip())
    return re.sub(r"\d+", "0", _squash(s))


def _prepare_lines(text: str) -> list[str]:
    """Split into lines, normalise newlines/BOM, strip trailing spaces, blank page numbers."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    return ["" if _is_page_number(line) else line for line in lines]


# ---------------------------------------------------------------------------
# The clause
# ---------------------------------------------------------------------------

_KIND_OUTSOURCING = "outsourcing"
_KIND_EXTERNAL = "external_services"
_KIND_SOCIAL = "social_media"

# Lead words that open one of the three paragraphs (checked on the squashed text).
_LEADS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (_KIND_SOCIAL, re.compile(r"^(?:ソーシャルメディア|SNS)")),
    (_KIND_EXTERNAL, re.compile(r"^(?:外部サービス|クラウド)")),
    (_KIND_OUTSOURCING, re.compile(r"^(?:業務委託|外部委託|委託)")),
)
# Fallback classification: whichever keyword occurs first in the paragraph.
_KEYWORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (_KIND_SOCIAL, re.compile(r"ソーシャルメディア|SNS")),
    (_KIND_EXTERNAL, re.compile(r"外部サービス|クラウド")),
    (_KIND_OUTSOURCING, re.compile(r"委託")),
)

# Obligation wording, searched in the squashed paragraph of the matching kind.
_OBLIGATIONS: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("outsourcing.select", _KIND_OUTSOURCING, re.compile(r"選定")),
    ("outsourcing.contract", _KIND_OUTSOURCING, re.compile(r"契約(?:を|の)(?:締結|結)")),
    (
        "outsourcing.verify",
        _KIND_OUTSOURCING,
        re.compile(r"確保され(?:てい|た)?ること(?:を|の)確認|(?:対策|状況|措置).{0,20}?確認"),
    ),
    ("outsourcing.measures", _KIND_OUTSOURCING, re.compile(r"措置を講(?:じ|ず)")),
    ("cloud.rules", _KIND_EXTERNAL, re.compile(r"(?:規定|規程|ルール|基準)(?:を|の)(?:整備|策定|定め)")),
    ("social.procedure", _KIND_SOCIAL, re.compile(r"運用(?:手順|ルール|方針)")),
    ("social.content", _KIND_SOCIAL, re.compile(r"発信(?:できる|する|可能な|して(?:よい|もよい))情報")),
    ("social.owner", _KIND_SOCIAL, re.compile(r"責任者を(?:定め|置|設置|指定|任命)")),
)


def _title_score(title: str) -> int:
    """How well a heading title matches the clause title (0 = not the clause)."""
    k = _squash(title)
    if not k or "。" in k or len(k) > 45:
        return 0
    if "委託" in k and "外部サービス" in k:
        return 3
    if "外部サービス" in k and "利用" in k:
        return 2
    if re.fullmatch(r"(?:外部委託|業務委託)(?:等)?(?:の(?:管理|利用|実施))?", k):
        return 1
    return 0


def _title_incomplete(title: str) -> bool:
    """True when a heading title looks cut off (unbalanced bracket, no usual ending)."""
    k = _squash(title)
    if k.count("(") > k.count(")"):
        return True
    return not re.search(r"(?:利用|委託|管理|等)$", k)


@dataclass(frozen=True)
class _ClauseCandidate:
    score: int
    number: str
    title: str
    body_start: int  # index of the first line after the title


def _clause_candidates(lines: Sequence[str]) -> list[_ClauseCandidate]:
    found: list[_ClauseCandidate] = []
    for i, line in enumerate(lines):
        head = _split_heading(line)
        if head is None:
            continue
        number, title = head
        score, end = _title_score(title), i + 1
        # A title wrapped onto the next line (narrow PDFs), or a bare number line.
        if _title_incomplete(title):
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            if j < len(lines) and _split_heading(lines[j]) is None and not _ends_sentence(lines[j]):
                joined = _join(title, lines[j].strip())
                if _title_score(joined) >= max(score, 1) and not _title_incomplete(joined):
                    title, score, end = joined, _title_score(joined), j + 1
        if score:
            found.append(_ClauseCandidate(score, number, title, end))
    # Best wording first; among equals, document order.
    return sorted(found, key=lambda c: -c.score)


def _strip_marker(text: str) -> str:
    return _BULLET.sub("", text, count=1).strip()


def _lead_kind(text: str) -> str | None:
    k = _squash(_strip_marker(text))
    for kind, pattern in _LEADS:
        if pattern.match(k):
            return kind
    return None


def _clause_body(lines: Sequence[str], start: int, doc_title_key: str) -> list[str]:
    """Non-empty lines of the clause: up to the next heading, minus running headers.

    A running header is a line equal to the document title, or a short line without
    sentence punctuation that also occurs *outside* the clause (i.e. on other pages).
    Requiring an occurrence outside keeps repeated wrapped fragments of the clause itself.
    """
    plain_end = next(
        (i for i in range(start, len(lines)) if _split_heading(lines[i]) is not None), len(lines)
    )
    positions: dict[str, list[int]] = {}
    for i, line in enumerate(lines):
        if line.strip():
            positions.setdefault(_header_key(line), []).append(i)

    def running_header(i: int) -> bool:
        line = lines[i]
        key = _header_key(line)
        if not key:
            return False
        if key == doc_title_key:
            return True
        if "、" in key or "。" in key or len(key) < 4 or _lead_kind(line) is not None:
            return False
        others = sum(1 for j in positions[key] if j != i and not start <= j < plain_end)
        # Seen on at least two other pages; a numbered line needs one more occurrence, since
        # a heading repeated once elsewhere is more likely a table-of-contents entry.
        return others >= (2 if _split_heading(line) is None else 3)

    body: list[str] = []
    for i in range(start, len(lines)):
        line = lines[i]
        if not line.strip() or running_header(i):
            continue
        if _split_heading(line) is not None:
            break
        body.append(line.strip())
    return body


def _paragraphs(body: Sequence[str]) -> list[str]:
    """Re-join hard-wrapped lines; a new paragraph starts after a sentence end when the
    next line opens with one of the lead words (業務委託… / 外部サービス… / ソーシャルメディア…)."""
    paragraphs: list[str] = []
    for i, line in enumerate(body):
        # Look a few lines ahead: a narrow wrap may cut the lead word itself (「ソーシャルメ/ディア」).
        ahead = "".join(body[i : i + 4])
        if paragraphs and not (_ends_sentence(paragraphs[-1]) and _lead_kind(ahead)):
            paragraphs[-1] = _join(paragraphs[-1], line)
        else:
            paragraphs.append(_strip_marker(line))
    return [unicodedata.normalize("NFC", p) for p in paragraphs]


def _classify(paragraphs: Sequence[str]) -> dict[str, str]:
    assigned: dict[str, str] = {}
    # First pass: paragraphs that open with a lead word.
    for p in paragraphs:
        kind = _lead_kind(p)
        if kind and kind not in assigned:
            assigned[kind] = p
    # Second pass: other paragraphs, by the earliest keyword they contain.
    for p in paragraphs:
        if _lead_kind(p):
            continue
        k = _squash(p)
        hits = [(m.start(), kind) for kind, pat in _KEYWORDS if (m := pat.search(k))]
        if hits:
            kind = min(hits)[1]
            assigned.setdefault(kind, p)
    return assigned


def _obligations(assigned: dict[str, str]) -> tuple[str, ...]:
    keys: list[str] = []
    for key, kind, pattern in _OBLIGATIONS:
        text = assigned.get(kind)
        if text is not None and pattern.search(_squash(text)):
            keys.append(key)
    return tuple(keys)


def _clause_not_found(detail: str = "") -> PolicyParseError:
    variants = "、".join(f"「{v}」" for v in ACCEPTED_TITLE_VARIANTS)
    msg = (
        f"情報セキュリティ基本方針の中に条項「{CLAUSE_TITLE}」が見つかりませんでした。"
        f"見出しとしてこの表題（旧表記の{variants}も可）を探しました。"
    )
    return PolicyParseError(msg + detail)


def _parse_clause(lines: Sequence[str], doc_title: str) -> ParsedClause:
    doc_title_key = _header_key(doc_title) if doc_title else ""
    for cand in _clause_candidates(lines):
        body = _clause_body(lines, cand.body_start, doc_title_key)
        assigned = _classify(_paragraphs(body))
        if not assigned:
            continue  # e.g. a table-of-contents entry; try the next occurrence
        return ParsedClause(
            number=unicodedata.normalize("NFC", _MD_HEADING.sub("", cand.number).strip()),
            title=unicodedata.normalize("NFC", _compact_cjk(cand.title)),
            outsourcing=assigned.get(_KIND_OUTSOURCING),
            external_services=assigned.get(_KIND_EXTERNAL),
            social_media=assigned.get(_KIND_SOCIAL),
            obligations=_obligations(assigned),
        )
    if _clause_candidates(lines):
        raise _clause_not_found("見出しはありましたが、本文（業務委託・外部サービスの段落）がありません。")
    raise _clause_not_found()


def _compact_cjk(text: str) -> str:
    """Remove whitespace that sits next to a non-ASCII character (``青梅市 情報…``)."""
    return re.sub(r"(?<=[^\x00-\x7f])\s+|\s+(?=[^\x00-\x7f])", "", text.strip())


# ---------------------------------------------------------------------------
# Organisation, title, enactment date, bodies in scope
# ---------------------------------------------------------------------------

_ERAS = {"令和": 2019, "平成": 1989, "昭和": 1926}
_DATE = re.compile(
    r"(?P<era>令和|平成|昭和)\s*(?P<y>元|\d{1,2})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日"
    r"|(?P<wy>\d{4})\s*年\s*(?P<wm>\d{1,2})\s*月\s*(?P<wd>\d{1,2})\s*日"
)
_DATE_SUFFIX = re.compile(r"^\s*(?:から施行|(?:一部|全部|全面)?(?:改定|改正|策定|制定|施行|決定))")


_ORG_SUFFIX = re.compile(r"(?:市|町|村|区|都|道|府|県|組合|広域連合|連合|企業団)$")
_TITLE_LINE = re.compile(
    r"^(?P<org>.*?)\s*(?P<rest>情報セキュリティ(?:基本方針|ポリシー|対策基本方針|に関する基本方針))$"
)
_CHAPTER_PREFIX = re.compile(rf"^(?:第\s*[\d{_KANJI_NUM}]+\s*[章編部]|序)\s*")
_ORG_NAME_CHARS = "一-龯々〆ヵヶァ-ヴー"
_ORG_STRONG = re.compile(
    rf"([{_ORG_NAME_CHARS}]{{1,15}}?(?:広域連合|事務組合|組合|市|町|村|区))(?=情報セキュリティ(?:ポリシー|基本方針))"
)
_ORG_WEAK = re.compile(rf"([{_ORG_NAME_CHARS}]{{1,15}}?(?:広域連合|事務組合|組合|市|町|村|区))(?=[のがはにで])")
_NOT_ORG = re.compile(r"^(?:本|当|同|各|全|貴|他)|市区町村|市町村|都道府県")


def _header_lines(lines: Sequence[str]) -> list[str]:
    """Lines before the first numbered body heading (title page / preamble)."""
    head: list[str] = []
    for line in lines:
        h = _split_heading(line)
        if h is not None and h[0]:
            break
        head.append(line)
    return head


def _clean_heading_text(line: str) -> str:
    s = _BULLET.sub("", _MD_HEADING.sub("", line.strip())).strip()
    return _CHAPTER_PREFIX.sub("", s).strip()


def _org_from_text(blocks: Sequence[str]) -> str:
    """Fallback: the most frequent 「○○町情報セキュリティ…」 / 「○○町の」 name in the text."""
    strong: Counter[str] = Counter()
    weak: Counter[str] = Counter()
    for block in blocks:
        # Dates and chapter numbers glued to a name by re-flowing must not become part of it.
        s = _DATE.sub("|", _nfkc(block))
        s = re.sub(rf"第[\d{_KANJI_NUM}]+[章節条]", "|", s)
        strong.update(m for m in _ORG_STRONG.findall(s) if not _NOT_ORG.search(m))
        weak.update(m for m in _ORG_WEAK.findall(s) if not _NOT_ORG.search(m))
    for counter in (strong, weak):
        if counter:
            return counter.most_common(1)[0][0]
    return ""


def _title_and_org(lines: Sequence[str], blocks: Sequence[str]) -> tuple[str, str]:
    nonempty = [line for line in lines if line.strip()][:40]
    for idx, line in enumerate(nonempty):
        m = _TITLE_LINE.match(_clean_heading_text(line))
        if not m and idx + 1 < len(nonempty) and "情報" in line:
            # A title wrapped over two lines: 「○○市情報セキュリ」「ティ基本方針」.
            m = _TITLE_LINE.match(_join(_clean_heading_text(line), _clean_heading_text(nonempty[idx + 1])))
        if not m:
            continue
        org = _compact_cjk(m.group("org"))
        rest = m.group("rest")
        if org and _ORG_SUFFIX.fullmatch(org) and idx > 0:
            # Only the suffix is on this line (「龍ヶ崎地方衛生」「組合情報セキュリティ…」).
            org = _compact_cjk(_clean_heading_text(nonempty[idx - 1])) + org
        if org and _ORG_SUFFIX.search(org) and len(org) <= 20:
            return unicodedata.normalize("NFC", org + rest), unicodedata.normalize("NFC", org)
        if not org and idx > 0:
            prev = _compact_cjk(_clean_heading_text(nonempty[idx - 1]))
            if prev and len(prev) <= 20 and _ORG_SUFFIX.search(prev) and " " not in prev:
                return unicodedata.normalize("NFC", prev + rest), unicodedata.normalize("NFC", prev)
        title = _compact_cjk(m.group(0))
        return unicodedata.normalize("NFC", title), _org_from_text(blocks)
    return "", _org_from_text(blocks)


def _to_date(m: re.Match[str]) -> dt.date | None:
    try:
        if m.group("era"):
            y = 1 if m.group("y") == "元" else int(_nfkc(m.group("y")))
            year = _ERAS[m.group("era")] + y - 1
            return dt.date(year, int(_nfkc(m.group("m"))), int(_nfkc(m.group("d"))))
        return dt.date(int(_nfkc(m.group("wy"))), int(_nfkc(m.group("wm"))), int(_nfkc(m.group("wd"))))
    except ValueError:
        return None


def _enactment(header: Sequence[str], blocks: Sequence[str]) -> tuple[str | None, dt.date | None]:
    # 1. A short date line on the title page, e.g. 「令和8年4月1日 一部改定」.
    for line in header:
        s = _MD_HEADING.sub("", line.strip())
        m = _DATE.search(s)
        if m and len(_squash(s[: m.start()])) <= 2:
            suffix = _DATE_SUFFIX.match(s[m.end() :])
            end = m.end() + (suffix.end() if suffix else 0)
            written = s[m.start() : end].strip()
            return unicodedata.normalize("NFC", written), _to_date(m)
    # 2. Otherwise a phrase such as 「令和8年4月1日から施行する」 in the supplementary provisions.
    for block in blocks:
        for m in _DATE.finditer(block):
            suffix = _DATE_SUFFIX.match(block[m.end() :])
            if suffix:
                written = block[m.start() : m.end() + suffix.end()].strip()
                return unicodedata.normalize("NFC", written), _to_date(m)
    return None, None


_LIST_ITEM = re.compile(
    r"^(?:[-*+•・]\s*)?(?:[ア-ン](?:\s|[.、．)])|[①-⑳]|[(（][\dア-ン]+[)）]|\d+[.．)]\s)\s*"
)


def _reflow(lines: Sequence[str]) -> list[str]:
    """Whole-document re-flow: join wrapped lines into sentence blocks (for scanning)."""
    blocks: list[str] = []
    for raw in lines:
        s = raw.strip()
        if not s:
            continue
        starts_new = (
            not blocks
            # 「（以下「X」という。）とする。」: a closing bracket after 。 rarely ends the sentence.
            or (_ends_sentence(blocks[-1]) and not re.search(r"[。．][)）]$", _nfkc(blocks[-1])))
            or _split_heading(s) is not None
            or _split_heading(blocks[-1]) is not None
            or bool(_LIST_ITEM.match(_nfkc(s)))
        )
        if starts_new:
            blocks.append(s)
        else:
            blocks[-1] = _join(blocks[-1], s)
    return blocks


_SCOPE_SENTENCE = re.compile(
    r"(?:適用(?:される|する|を受ける)|対象と(?:する|なる))(?:行政)?(?:機関|組織)(?:等)?(?:の範囲)?は、"
    r"(?P<list>.+?)(?:とし|とする|である|です|を対象)"
)
_SCOPE_INTRO = re.compile(r"次に掲げる.{0,30}?(?:機関|組織|職員).{0,40}?(?:適用|対象)")
_STAFF_SUFFIX = re.compile(r"^(?P<body>.+?)の(?:(?:事務)?職員|書記).*$")


def _drop_parentheticals(text: str) -> str:
    prev = None
    while prev != text:
        prev, text = text, re.sub(r"\([^()]*\)", "", text)
    return text


def _split_bodies(text: str) -> list[str]:
    out: list[str] = []
    for part in re.split(r"、|,|及び|および|並びに|ならびに|又は|または|のほか", text):
        p = re.sub(r"等$", "", part.strip()).strip()
        if p and p not in out:
            out.append(p)
    return out


def _bodies(blocks: Sequence[str]) -> tuple[str, ...]:
    flat = [_drop_parentheticals(_nfkc(b)) for b in blocks]
    for i, block in enumerate(flat):
        m = _SCOPE_SENTENCE.search(block)
        if m:
            return tuple(_split_bodies(m.group("list")))
        if _SCOPE_INTRO.search(block):
            found: list[str] = []
            for item in flat[i + 1 :]:
                lm = _LIST_ITEM.match(item)
                if not lm:
                    break
                name = item[lm.end() :].strip().rstrip("。")
                sm = _STAFF_SUFFIX.match(name)
                for body in _split_bodies(sm.group("body") if sm else name):
                    if body not in found:
                        found.append(body)
            if found:
                return tuple(found)
    return ()


# ---------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------


def parse_policy_text(text: str) -> ParsedPolicy:
    """Parse the text of a 情報セキュリティ基本方針; raises :class:`PolicyParseError`."""
    if not text or not text.strip():
        raise PolicyParseError("方針のテキストが空です。")
    lines = _prepare_lines(text)
    blocks = _reflow(lines)
    header = _header_lines(lines)
    title, org = _title_and_org(lines, blocks)
    clause = _parse_clause(lines, title)
    as_written, iso = _enactment(header, blocks)
    return ParsedPolicy(
        organisation=org,
        title=title,
        enacted_as_written=as_written,
        enacted_on=iso,
        bodies=tuple(unicodedata.normalize("NFC", b) for b in _bodies(blocks)),
        clause=clause,
    )


def _decode_text(data: bytes) -> str:
    """UTF-8 (BOM optional) first, then CP932 (Shift_JIS as written by Windows)."""
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise PolicyParseError(
        "テキストファイルの文字コードを判別できませんでした。UTF-8 または Shift_JIS（CP932）で保存してください。"
    )


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader  # local import: only needed for PDFs
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise PolicyParseError("PDF が暗号化されているため読み取れません。パスワードを解除したファイルを指定してください。")
        pages = [page.extract_text() or "" for page in reader.pages]
    except PolicyParseError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise PolicyParseError(f"PDF ファイルを読み取れませんでした（{type(exc).__name__}）。") from exc
    text = "\n".join(pages)
    if not text.strip():
        raise PolicyParseError(
            "PDF から文字を取り出せませんでした。画像（スキャン）だけの PDF には対応していません。"
            "テキストを含む PDF か、テキストファイルを指定してください。"
        )
    return text


def _unsupported(filename: str) -> PolicyParseError:
    return PolicyParseError(
        f"対応していないファイル形式です（{filename}）。"
        "テキスト（.txt、.md：UTF-8 または Shift_JIS）または文字情報を含む PDF（.pdf）を指定してください。"
    )


def _is_pdf(data: bytes) -> bool:
    return data[:1024].lstrip().startswith(b"%PDF-")


def _bytes_to_text(data: bytes, filename: str) -> str:
    suffix = Path(filename).suffix.lower()
    if _is_pdf(data):
        if suffix not in PDF_SUFFIXES + TEXT_SUFFIXES and suffix:
            raise _unsupported(filename)
        return _pdf_text(data)
    if suffix in PDF_SUFFIXES:
        raise PolicyParseError(f"PDF ファイルではありません（{filename}）。ファイルの内容を確認してください。")
    if suffix in TEXT_SUFFIXES:
        return _decode_text(data)
    raise _unsupported(filename)


def read_policy_file(path: str | Path) -> str:
    """Read a policy file as text (.txt/.md: UTF-8 or CP932; .pdf: text-based PDF)."""
    p = Path(path)
    if not p.is_file():
        raise PolicyParseError(f"ファイルが見つかりません: {p}")
    if p.suffix.lower() not in TEXT_SUFFIXES + PDF_SUFFIXES:
        raise _unsupported(p.name)
    try:
        data = p.read_bytes()
    except FileNotFoundError as exc:
        raise PolicyParseError(f"ファイルが見つかりません: {p}") from exc
    except OSError as exc:
        raise PolicyParseError(f"ファイルを読み込めませんでした: {p}（{exc.strerror or exc}）") from exc
    return _bytes_to_text(data, p.name)


def policy_bytes_to_text(data: bytes, filename: str) -> str:
    """The text of an uploaded file; the type is decided by content (``%PDF-``) and suffix."""
    if not data:
        raise PolicyParseError(f"ファイルが空です（{filename}）。")
    # Control characters (NUL ...) never belong in a policy and databases refuse some of them.
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", _bytes_to_text(data, filename))


def parse_policy_bytes(data: bytes, filename: str) -> ParsedPolicy:
    """Parse an uploaded file; the type is decided by content (``%PDF-``) and suffix."""
    return parse_policy_text(policy_bytes_to_text(data, filename))


def parse_policy_file(path: str | Path) -> ParsedPolicy:
    return parse_policy_text(read_policy_file(path))
