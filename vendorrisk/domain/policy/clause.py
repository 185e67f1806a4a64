"""Finding clause 「業務委託と外部サービス（クラウドサービス）の利用」 and splitting its paragraphs.

The clause is found by its *title*, never by its number. It ends where the next heading of the
same level (or a higher one) starts; a list that starts at 1 inside the clause (号 (1), 一, ア) is
part of it. Every step is linear in the number of lines (per candidate, bounded).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from .lines import (
    BULLET,
    MD_HEADING,
    Heading,
    Lines,
    compact_cjk,
    ends_sentence,
    header_key,
    join,
    nfkc,
    squash,
)
from .model import ACCEPTED_TITLE_VARIANTS, CLAUSE_TITLE, Deadline, ParsedClause, PolicyParseError

KIND_OUTSOURCING = "outsourcing"
KIND_EXTERNAL = "external_services"
KIND_SOCIAL = "social_media"

# Lead words that open one of the three paragraphs (checked on the squashed text).
_LEADS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (KIND_SOCIAL, re.compile(r"^(?:ソーシャルメディア|SNS)")),
    (KIND_EXTERNAL, re.compile(r"^(?:外部サービス|クラウド)")),
    (KIND_OUTSOURCING, re.compile(r"^(?:業務委託|外部委託|委託)")),
)
# Fallback classification: whichever keyword occurs first in the paragraph.
_KEYWORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (KIND_SOCIAL, re.compile(r"ソーシャルメディア|SNS")),
    (KIND_EXTERNAL, re.compile(r"外部サービス|クラウド")),
    (KIND_OUTSOURCING, re.compile(r"委託")),
)

# Obligation wording, searched in the squashed paragraph of the matching kind.
_OBLIGATIONS: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("outsourcing.select", KIND_OUTSOURCING, re.compile(r"選定")),
    ("outsourcing.contract", KIND_OUTSOURCING, re.compile(r"契約(?:を|の)(?:締結|結)")),
    (
        "outsourcing.verify",
        KIND_OUTSOURCING,
        re.compile(r"確保され(?:てい|た)?ること(?:を|の)確認|(?:対策|状況|措置).{0,20}?確認"),
    ),
    ("outsourcing.measures", KIND_OUTSOURCING, re.compile(r"措置を講(?:じ|ず)")),
    ("cloud.rules", KIND_EXTERNAL, re.compile(r"(?:規定|規程|ルール|基準)(?:を|の)(?:整備|策定|定め)")),
    ("social.procedure", KIND_SOCIAL, re.compile(r"運用(?:手順|ルール|方針)")),
    ("social.content", KIND_SOCIAL, re.compile(r"発信(?:できる|する|可能な|して(?:よい|もよい))情報")),
    ("social.owner", KIND_SOCIAL, re.compile(r"責任者を(?:定め|置|設置|指定|任命)")),
)

# 項 number at the start of a line in the 例規 layout: 「２　外部サービスを…」.
_KOU = re.compile(r"^\s*[2-9２-９][0-9０-９]?[\s\u3000]+")
# Sentence boundaries inside one line, where an inline split may happen.
_SENTENCE_BREAK = re.compile(r"[。．][)）」』]*[\s\u3000]*")
# At most this many candidate headings are tried (a table of contents, then the clause ...).
MAX_CANDIDATES = 40


def title_score(title: str) -> int:
    """How well a heading title matches the clause title (0 = not the clause)."""
    k = squash(title)
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
    k = squash(title)
    if k.count("(") > k.count(")"):
        return True
    return not re.search(r"(?:利用|委託|管理|等)$", k)


@dataclass(frozen=True)
class Candidate:
    score: int
    line: int  # index of the heading line
    heading: Heading
    title: str
    body_start: int  # index of the first line after the title


def candidates(doc: Lines) -> list[Candidate]:
    found: list[Candidate] = []
    lines, heads = doc.lines, doc.headings
    for i, head in enumerate(heads):
        if head is None:
            continue
        title, score, end = head.title, title_score(head.title), i + 1
        # A title wrapped onto the next line (narrow PDFs), or a bare number line.
        if _title_incomplete(title):
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            if j < len(lines) and heads[j] is None and not ends_sentence(lines[j]):
                joined = join(title, lines[j].strip())
                if title_score(joined) >= max(score, 1) and not _title_incomplete(joined):
                    title, score, end = joined, title_score(joined), j + 1
        if score:
            found.append(Candidate(score, i, head, title, end))
    # Best wording first; among equals, document order.
    return sorted(found, key=lambda c: -c.score)


def strip_marker(text: str) -> str:
    return BULLET.sub("", text, count=1).strip()


def lead_kind(text: str) -> str | None:
    k = squash(_KOU.sub("", strip_marker(text), count=1))
    for kind, pattern in _LEADS:
        if pattern.match(k):
            return kind
    return None


def _ends_clause(head: Heading, clause: Heading, inner: set[str]) -> bool:
    """Whether *head* (after the clause heading) closes the clause; updates *inner*."""
    if head.style in ("chapter", "appendix", "md"):
        return head.style != "md" or not clause.md_level or head.md_level <= clause.md_level
    if head.style == clause.style or head.style == "article":
        return True
    if clause.style == "article" and head.style in ("paragraph", "item"):
        return False
    if head.style in inner:
        return False
    if head.value == 1:  # a list that starts inside the clause: 号 (1), 一 ...
        inner.add(head.style)
        return False
    return True


def clause_end(doc: Lines, cand: Candidate, headers: RunningHeaders) -> int:
    """Index of the first line after the clause (a running header never ends it)."""
    inner: set[str] = set()
    for i in range(cand.body_start, len(doc.lines)):
        head = doc.headings[i]
        if head is None or (headers.title_key and headers.keys[i] == headers.title_key):
            continue
        if _ends_clause(head, cand.heading, inner):
            return i
    return len(doc.lines)


class RunningHeaders:
    """Running headers: the document title, or short lines seen on other pages.

    Occurrence counts are computed once for the whole document, so each candidate costs
    only the length of its own body.
    """

    def __init__(self, doc: Lines, doc_title: str) -> None:
        self.doc = doc
        self.title_key = header_key(doc_title) if doc_title else ""
        self.keys = [header_key(line) if line.strip() else "" for line in doc.lines]
        self.total = Counter(k for k in self.keys if k)

    def body(self, start: int, end: int) -> list[str]:
        """Non-empty lines in [start, end) minus running headers."""
        inside = Counter(k for k in self.keys[start:end] if k)
        body: list[str] = []
        for i in range(start, end):
            line = self.doc.lines[i]
            if line.strip() and not self._is_header(i, inside):
                body.append(line.strip())
        return body

    def _is_header(self, i: int, inside: Counter[str]) -> bool:
        line, key = self.doc.lines[i], self.keys[i]
        if not key:
            return False
        if key == self.title_key:
            return True
        if "、" in key or "。" in key or len(key) < 4 or lead_kind(line) is not None:
            return False
        others = self.total[key] - inside[key]
        # Seen on at least two other pages; a numbered line needs one more occurrence, since
        # a heading repeated once elsewhere is more likely a table-of-contents entry.
        return others >= (2 if self.doc.headings[i] is None else 3)


def _split_inline(paragraph: str) -> list[str]:
    """Split one paragraph where a sentence of another kind starts (「…講じる。外部サービス…」)."""
    parts: list[str] = []
    start, current = 0, lead_kind(paragraph)
    for m in _SENTENCE_BREAK.finditer(paragraph):
        rest = paragraph[m.end() : m.end() + 40]
        kind = lead_kind(rest) if rest else None
        if kind is not None and kind != current and ends_sentence(paragraph[start : m.end()]):
            parts.append(paragraph[start : m.end()].rstrip())
            start, current = m.end(), kind
    parts.append(paragraph[start:])
    return [p for p in parts if p.strip()]


def paragraphs(body: Sequence[str]) -> list[str]:
    """Re-join hard-wrapped lines; a new paragraph starts after a sentence end when the next
    line opens with one of the lead words (業務委託… / 外部サービス… / ソーシャルメディア…) or
    with a 項 number (２、３)."""
    out: list[str] = []
    for i, line in enumerate(body):
        # Look a few lines ahead: a narrow wrap may cut the lead word itself (「ソーシャルメ/ディア」).
        ahead = "".join(body[i : i + 4])
        opens = lead_kind(ahead) is not None or bool(_KOU.match(line))
        if out and not (ends_sentence(out[-1]) and opens):
            out[-1] = join(out[-1], line)
        else:
            out.append(_KOU.sub("", strip_marker(line), count=1))
    split = [part for p in out for part in _split_inline(p)]
    return [unicodedata.normalize("NFC", p.strip()) for p in split]


def classify(paras: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """Assign paragraphs to the three kinds; also return those left over (unassigned)."""
    assigned: dict[str, str] = {}
    used: set[int] = set()
    # First pass: paragraphs that open with a lead word.
    for n, p in enumerate(paras):
        kind = lead_kind(p)
        if kind and kind not in assigned:
            assigned[kind] = p
            used.add(n)
    # Second pass: other paragraphs, by the earliest keyword they contain.
    for n, p in enumerate(paras):
        if lead_kind(p):
            continue
        k = squash(p)
        hits = [(m.start(), kind) for kind, pat in _KEYWORDS if (m := pat.search(k))]
        if hits:
            kind = min(hits)[1]
            if kind not in assigned:
                assigned[kind] = p
                used.add(n)
    return assigned, [p for n, p in enumerate(paras) if n not in used]


def obligations(assigned: dict[str, str]) -> tuple[str, ...]:
    keys: list[str] = []
    for key, kind, pattern in _OBLIGATIONS:
        text = assigned.get(kind)
        if text is not None and pattern.search(squash(text)):
            keys.append(key)
    return tuple(keys)


def clause_not_found(detail: str = "") -> PolicyParseError:
    variants = "、".join(f"「{v}」" for v in ACCEPTED_TITLE_VARIANTS)
    msg = (
        f"情報セキュリティ基本方針の中に条項「{CLAUSE_TITLE}」が見つかりませんでした。"
        f"見出しとしてこの表題（旧表記の{variants}も可）を探しました。"
    )
    return PolicyParseError(msg + detail)


# ---------------------------------------------------------------------------
# The number with its parents
# ---------------------------------------------------------------------------


def _plain_number(number: str) -> str:
    return re.sub(r"\s+", "", nfkc(MD_HEADING.sub("", number))).rstrip(".、")


def _item_digits(number: str) -> str:
    return _plain_number(number).strip("()")


def _parent(doc: Lines, cand: Candidate) -> Heading | None:
    """The nearest heading above the clause's list (6 for (8), 第6条 for its 第8号).

    A parent's numbering style appears in the document before the clause's own style does;
    headings of styles first seen later are sub-items of a sibling and are skipped."""
    head = cand.heading
    first_seen: dict[str, int] = {}
    for i, h in enumerate(doc.headings[: cand.line + 1]):
        if h is not None and h.number:
            first_seen.setdefault(h.style, i)
    own_rank = first_seen.get(head.style, cand.line)
    for i in range(cand.line - 1, -1, -1):
        h = doc.headings[i]
        if h is None or not h.number or h.style == head.style:
            continue
        if first_seen[h.style] < own_rank:
            return h
    return None


def _within_chapter(doc: Lines, cand: Candidate) -> str:
    """「第1章」 when the clause lies in a chapter of a larger document (numbering restarts per chapter)."""
    for i in range(cand.line - 1, -1, -1):
        h = doc.headings[i]
        if h is not None and h.style == "chapter" and _plain_number(h.number).endswith("章"):
            return _plain_number(h.number)
    return ""


def _number_in_part(doc: Lines, cand: Candidate) -> str:
    head = cand.heading
    own = _plain_number(head.number)
    if head.style in ("compound", "dashed", "dotted", "article", "chapter") or not own:
        return own
    parent = _parent(doc, cand)
    if parent is None or parent.style == "chapter":
        return own
    if parent.style == "article":
        return f"{_plain_number(parent.number)}第{_item_digits(own)}号"
    return _plain_number(parent.number) + own


def full_number(doc: Lines, cand: Candidate) -> str:
    """The number a citation needs: 6(8), 第1章6(8) (a chapter of a larger policy), 第6条第8号.

    Articles (第6条) are numbered through the whole 例規 and are cited without their chapter."""
    number = _number_in_part(doc, cand)
    if not number or number.startswith("第") or cand.heading.style == "chapter":
        return number
    return _within_chapter(doc, cand) + number


# ---------------------------------------------------------------------------
# Putting it together
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ClauseReading:
    clause: ParsedClause
    leftover: tuple[str, ...]  # clause text that fits none of the three paragraphs
    with_body: int  # how many headings matched the title and had a body


def parse_clause(doc: Lines, doc_title: str, deadline: Deadline) -> ClauseReading:
    headers = RunningHeaders(doc, doc_title)
    cands = candidates(doc)
    found: list[tuple[Candidate, int, dict[str, str], list[str]]] = []
    for cand in cands[:MAX_CANDIDATES]:
        deadline.check()
        end = clause_end(doc, cand, headers)
        assigned, leftover = classify(paragraphs(headers.body(cand.body_start, end)))
        if assigned:  # otherwise e.g. a table-of-contents entry; try the next occurrence
            found.append((cand, end, assigned, leftover))
            if len(found) > 1:
                break
    if not found:
        if cands:
            raise clause_not_found("見出しはありましたが、本文（業務委託・外部サービスの段落）がありません。")
        raise clause_not_found()
    cand, end, assigned, leftover = found[0]
    layout = doc.layouts.get(cand.line, "heading")
    clause = ParsedClause(
        number=unicodedata.normalize("NFC", MD_HEADING.sub("", cand.heading.number).strip()),
        title=unicodedata.normalize("NFC", compact_cjk(cand.title)),
        outsourcing=assigned.get(KIND_OUTSOURCING),
        external_services=assigned.get(KIND_EXTERNAL),
        social_media=assigned.get(KIND_SOCIAL),
        obligations=obligations(assigned),
        number_full=unicodedata.normalize("NFC", full_number(doc, cand)),
        source_lines=(doc.origin[cand.line], doc.origin[end - 1] + 1 if end > cand.line else doc.origin[cand.line] + 1),
        layout=layout,
    )
    return ClauseReading(clause, tuple(leftover), len(found))
