"""The front matter of a policy: organisation, title, enactment date and the bodies in scope.

Every function is linear in the text (hostile inputs must not make it slow).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

from ..wareki import ERA_PATTERN, parse_wareki
from .lines import BULLET, KANJI_NUM, MD_HEADING, Heading, compact_cjk, join, nfkc, squash

_KANJI_NUM = KANJI_NUM
_DATE = re.compile(
    r"(?P<era>" + ERA_PATTERN + r")\s*(?P<y>元|\d{1,2})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日"
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


def header_lines(lines: Sequence[str], heads: Sequence[Heading | None]) -> list[str]:
    """Lines before the first numbered body heading (title page / preamble)."""
    head: list[str] = []
    for line, h in zip(lines, heads, strict=True):
        if h is not None and h.number:
            break
        head.append(line)
    return head


def _clean_heading_text(line: str) -> str:
    s = BULLET.sub("", MD_HEADING.sub("", line.strip())).strip()
    return _CHAPTER_PREFIX.sub("", s).strip()


def _org_from_text(blocks: Sequence[str]) -> str:
    """Fallback: the most frequent 「○○町情報セキュリティ…」 / 「○○町の」 name in the text."""
    strong: Counter[str] = Counter()
    weak: Counter[str] = Counter()
    for block in blocks:
        # Dates and chapter numbers glued to a name by re-flowing must not become part of it.
        s = _DATE.sub("|", nfkc(block))
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
            m = _TITLE_LINE.match(join(_clean_heading_text(line), _clean_heading_text(nonempty[idx + 1])))
        if not m:
            continue
        org = compact_cjk(m.group("org"))
        rest = m.group("rest")
        if org and _ORG_SUFFIX.fullmatch(org) and idx > 0:
            # Only the suffix is on this line (「龍ヶ崎地方衛生」「組合情報セキュリティ…」).
            org = compact_cjk(_clean_heading_text(nonempty[idx - 1])) + org
        if org and _ORG_SUFFIX.search(org) and len(org) <= 20:
            return unicodedata.normalize("NFC", org + rest), unicodedata.normalize("NFC", org)
        if not org and idx > 0:
            prev = compact_cjk(_clean_heading_text(nonempty[idx - 1]))
            if prev and len(prev) <= 20 and _ORG_SUFFIX.search(prev) and " " not in prev:
                return unicodedata.normalize("NFC", prev + rest), unicodedata.normalize("NFC", prev)
        title = compact_cjk(m.group(0))
        return unicodedata.normalize("NFC", title), _org_from_text(blocks)
    return "", _org_from_text(blocks)


def _is_chapter_title(lines: Sequence[str], title: str) -> bool:
    """Whether the title was read from a chapter heading (「第1章 情報セキュリティ基本方針」): the text is
    then one chapter of a larger document."""
    key = squash(title)
    for line in [line for line in lines if line.strip()][:40]:
        s = BULLET.sub("", MD_HEADING.sub("", line.strip())).strip()
        if key and squash(s).endswith(key) and _CHAPTER_PREFIX.match(s):
            return True
    return False


def document_title(lines: Sequence[str], blocks: Sequence[str], title: str, org: str) -> str:
    """The name a citation gives the document. When the text is a chapter of the organisation's
    情報セキュリティポリシー (「第1章 情報セキュリティ基本方針」, the policy named in the text), that policy:
    「南部町情報セキュリティポリシー」 (cited with 「第1章」 in the clause number). Otherwise `title`."""
    if not org or not _is_chapter_title(lines, title):
        return title
    whole = f"{org}情報セキュリティポリシー"
    key = squash(whole)
    if any(key in squash(block) for block in blocks):
        return unicodedata.normalize("NFC", whole)
    return title


def _to_date(m: re.Match[str]) -> dt.date | None:
    try:
        if m.group("era"):
            return parse_wareki(m.group(0))
        return dt.date(int(nfkc(m.group("wy"))), int(nfkc(m.group("wm"))), int(nfkc(m.group("wd"))))
    except ValueError:
        return None


def _enactment(header: Sequence[str], blocks: Sequence[str]) -> tuple[str | None, dt.date | None]:
    # 1. A short date line on the title page, e.g. 「令和8年4月1日 一部改定」.
    for line in header:
        s = MD_HEADING.sub("", line.strip())
        m = _DATE.search(s)
        if m and len(squash(s[: m.start()])) <= 2:
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


def reflow(lines: Sequence[str], heads: Sequence[Heading | None]) -> list[str]:
    """Whole-document re-flow: join wrapped lines into sentence blocks (for scanning).

    Linear: a block is kept as a list of parts with running bracket counts, never re-scanned."""
    blocks: list[str] = []
    parts: list[str] = []
    prev_heading = False
    counts = [0, 0, 0, 0]  # ( ) 「 」 in the current block
    end = ""  # the last characters of the current block (NFKC)
    for raw, head in zip(lines, heads, strict=True):
        s = raw.strip()
        if not s:
            continue
        core = end.rstrip(")）」』")
        ended = core[-1:] in ("。", "．") and counts[0] <= counts[1] and counts[2] <= counts[3]
        starts_new = (
            not parts
            # 「（以下「X」という。）とする。」: a closing bracket after 。 rarely ends the sentence.
            or (ended and not re.search(r"[。．][)）]$", end))
            or head is not None
            or prev_heading
            or bool(_LIST_ITEM.match(nfkc(s)))
        )
        if starts_new:
            if parts:
                blocks.append("".join(parts))
            parts, counts, end = [s], [0, 0, 0, 0], ""
        else:
            parts.append(join(parts[-1], s)[len(parts[-1]) :])
        n = nfkc(s)
        for k, ch in enumerate("()「」"):
            counts[k] += n.count(ch)
        end = (end + n)[-16:].rstrip()
        prev_heading = head is not None
    if parts:
        blocks.append("".join(parts))
    return blocks


_SCOPE_SENTENCE = re.compile(
    r"(?:適用(?:される|する|を受ける)|対象と(?:する|なる))(?:行政)?(?:機関|組織)(?:等)?(?:の範囲)?は、"
    r"(?P<list>.+?)(?:とし|とする|である|です|を対象)"
)
_SCOPE_INTRO = re.compile(r"次に掲げる.{0,30}?(?:機関|組織|職員).{0,40}?(?:適用|対象)")
_STAFF_SUFFIX = re.compile(r"^(?P<body>.+?)の(?:(?:事務)?職員|書記).*$")


def _drop_parentheticals(text: str) -> str:
    """Remove (…) groups, nested ones included, in one pass."""
    out: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
        elif not depth:
            out.append(ch)
    return "".join(out) if not depth else text


def _split_bodies(text: str) -> list[str]:
    out: list[str] = []
    for part in re.split(r"、|,|及び|および|並びに|ならびに|又は|または|のほか", text):
        p = re.sub(r"等$", "", part.strip()).strip()
        if p and p not in out:
            out.append(p)
    return out


def _bodies(blocks: Sequence[str]) -> tuple[str, ...]:
    flat = [_drop_parentheticals(nfkc(b)) for b in blocks]
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




def enactment_date(text: str) -> dt.date | None:
    """The date in an enactment line as an admin typed it (「令和8年4月1日 一部改定」), or None."""
    m = _DATE.search(text or "")
    return _to_date(m) if m else None
