"""Guideline references: 「対策基準 8.3(2) 外部サービスの選定」 as structured data.

A bank writes each citation as one string (``guideline:``); it is read here into the chapter of the
対策基準 part (``GUIDELINE_CHAPTERS``, current order), the item within it and the topic. The edition
is not part of the bank: it is an organisation setting, added when a citation is shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..vocabulary import GUIDELINE_CHAPTERS

PART = "対策基準"
GUIDELINE_TITLE = "地方公共団体における情報セキュリティポリシーに関するガイドライン"
_CITATION_RE = re.compile(r"^対策基準\s*(?P<chapter>[0-9]+\.[0-9]+)(?P<item>\([0-9]+\))?\s*(?P<topic>.*)$", re.S)
CITATION_USAGE = "「対策基準 <章>(<項>) <見出し>」の形にしてください（例：対策基準 8.3(2) 外部サービスの選定）"


@dataclass(frozen=True)
class GuidelineRef:
    chapter: str  # "8.3"
    item: str  # "(2)" or ""
    topic: str  # "外部サービスの選定" (may be "")

    @property
    def chapter_title(self) -> str:
        return GUIDELINE_CHAPTERS.get(self.chapter, "")

    @property
    def text(self) -> str:
        """「対策基準 8.3(2) 外部サービスの選定」, without the edition."""
        return f"{PART} {self.chapter}{self.item}" + (f" {self.topic}" if self.topic else "")

    def cite(self, edition: str) -> str:
        """The citation with the organisation's edition: 「ガイドライン（令和7年3月版）対策基準 8.3(2) …」."""
        return f"ガイドライン（{edition}）{self.text}" if edition else f"ガイドライン {self.text}"


def parse_guideline(text: str) -> GuidelineRef | None:
    """The structured reference, or None when the text is not a 対策基準 citation of a known chapter."""
    match = _CITATION_RE.match((text or "").strip())
    if match is None or match["chapter"] not in GUIDELINE_CHAPTERS:
        return None
    return GuidelineRef(match["chapter"], match["item"] or "", match["topic"].strip())


def cite(text: str, edition: str) -> str:
    """A question's ``guideline`` shown with the organisation's edition (text that is not a known
    citation, from a definition frozen earlier, is shown as it was written)."""
    ref = parse_guideline(text)
    if ref is not None:
        return ref.cite(edition)
    return f"ガイドライン（{edition}）{text.strip()}" if text.strip() else ""
