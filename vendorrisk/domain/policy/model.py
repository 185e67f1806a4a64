"""What the policy parser returns, its vocabulary and the limits it works within.

Pure domain code: no Flask, no database.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

from ..vocabulary import KIND_LABELS

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

#: The three paragraphs of the clause, in document order, with the labels users see.
PARAGRAPH_KEYS: tuple[str, ...] = ("outsourcing", "external_services", "social_media")
PARAGRAPH_LABELS: dict[str, str] = {
    "outsourcing": KIND_LABELS["outsourcing"],
    "external_services": KIND_LABELS["cloud"],
    "social_media": KIND_LABELS["social_media"],
}

#: The clause title in the current MIC guideline wording.
CLAUSE_TITLE = f"{KIND_LABELS['outsourcing']}と{KIND_LABELS['cloud']}の利用"
#: Older / shorter titles that are accepted as well (listed in error messages).
ACCEPTED_TITLE_VARIANTS: tuple[str, ...] = ("業務委託と外部サービスの利用", "外部サービスの利用", "外部委託")

#: The formats a policy may come in, as users read them in messages.
ACCEPTED_FORMATS_TEXT = (
    "テキスト（.txt、.md：UTF-8 または Shift_JIS）、文字情報を含む PDF、"
    "例規集のページを保存した HTML、Word 文書（.docx）"
)


@dataclass(frozen=True)
class Limits:
    """Bounds on what a policy file may cost to read (bytes, expanded size, pages, time)."""

    max_bytes: int = 10 * 1024 * 1024  # the file as uploaded
    max_expanded_bytes: int = 40 * 1024 * 1024  # a DOCX's parts once decompressed
    max_text_chars: int = 2_000_000  # text handed to the parser
    max_lines: int = 100_000
    max_pages: int = 500  # PDF
    max_seconds: float = 8.0  # reading + parsing, checked as the work goes


DEFAULT_LIMITS = Limits()


class PolicyParseError(ValueError):
    """The policy could not be read or the clause was not found (message in Japanese)."""


class PolicyTooLargeError(PolicyParseError):
    """The file exceeds one of the bounds in :class:`Limits`."""


class Deadline:
    """A cooperative time limit: long loops call :meth:`check`."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.end:
            raise PolicyTooLargeError(
                f"ファイルの読み取りに時間がかかりすぎるため中止しました（{self.seconds:g}秒で打ち切り）。"
                "内容が極端に長いか、壊れている可能性があります。基本方針の部分だけを保存したファイルで試してください。"
            )


@dataclass(frozen=True)
class ParsedClause:
    number: str
    title: str
    outsourcing: str | None
    external_services: str | None
    social_media: str | None
    obligations: tuple[str, ...]
    #: The number with its parents, as a citation needs it: 6(8), 第6条, 第6条第8号.
    number_full: str = ""
    #: Lines of the source text the clause was read from: [start, end) (0-based).
    source_lines: tuple[int, int] = (0, 0)
    #: The layout the clause was found in: "heading", "inline" (title and body on one line), "article".
    layout: str = "heading"

    def paragraphs(self) -> dict[str, str | None]:
        return {
            "outsourcing": self.outsourcing,
            "external_services": self.external_services,
            "social_media": self.social_media,
        }


@dataclass(frozen=True)
class ParsedPolicy:
    organisation: str
    title: str
    enacted_as_written: str | None
    enacted_on: dt.date | None
    bodies: tuple[str, ...]
    clause: ParsedClause
    #: Things an admin should check (Japanese sentences); empty when the reading looks sound.
    warnings: tuple[str, ...] = field(default=(), compare=False)
    #: 0.0-1.0, how sure the parser is that it read the clause and its fields right.
    confidence: float = field(default=1.0, compare=False)
    #: The format the text came from: "text", "pdf", "html", "docx" (set by the readers).
    source_format: str = field(default="text", compare=False)

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
                "paragraphs": self.clause.paragraphs(),
                "obligations": list(self.clause.obligations),
            },
        }

    def to_review_json(self) -> dict[str, object]:
        """:meth:`to_json` plus what an admin needs to judge the reading."""
        data = self.to_json()
        clause = dict(data["clause"])  # type: ignore[call-overload]
        clause["number_full"] = self.clause.number_full
        clause["layout"] = self.clause.layout
        clause["source_lines"] = list(self.clause.source_lines)
        data["clause"] = clause
        data["source_format"] = self.source_format
        data["confidence"] = self.confidence
        data["warnings"] = list(self.warnings)
        return data
