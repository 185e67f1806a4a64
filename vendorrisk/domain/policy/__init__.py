"""Parser for a municipality's 情報セキュリティ基本方針 (information security basic policy).

The only clause we really need is the one that the MIC guideline titles
「業務委託と外部サービス（クラウドサービス）の利用」: it carries the obligations about
outsourcing, cloud services and social media that the rest of the application checks
vendors against. Around it we pick up the organisation, the policy title, the enactment
date and the bodies (実施機関) in scope.

Policies come as text (.txt/.md, UTF-8 or CP932), text PDFs, HTML saved from a 例規集 page
and Word documents; :mod:`.readers` turns each into text (the format is decided by the content).
The parser is deliberately tolerant:

* matching is done on NFKC-normalised text, but returned text keeps the original characters;
* hard-wrapped lines (with or without blank lines between them) are re-joined;
* page-number lines and repeated running headers are dropped inside the clause;
* the clause is found by its *title*, never by its number; it may be a numbered heading, a
  例規 article under a caption line (「（外部委託）」 / 「第6条」), or an item whose title and
  body share one line;
* every step is linear in the size of the text, and reading is bounded (:class:`Limits`).

Pure domain code: no Flask, no database.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

from .clause import ClauseReading, parse_clause, title_score
from .front import _bodies, _enactment, _title_and_org, document_title, header_lines, reflow
from .lines import Lines, squash
from .model import (
    ACCEPTED_FORMATS_TEXT,
    ACCEPTED_TITLE_VARIANTS,
    CLAUSE_TITLE,
    DEFAULT_LIMITS,
    OBLIGATION_KEYS,
    OBLIGATION_LABELS,
    OBLIGATION_PARAGRAPH,
    PARAGRAPH_KEYS,
    PARAGRAPH_LABELS,
    Deadline,
    Limits,
    ParsedClause,
    ParsedPolicy,
    PolicyParseError,
    PolicyTooLargeError,
)
from .readers import SourceText, read_bytes, read_path

__all__ = [
    "ACCEPTED_FORMATS_TEXT",
    "ACCEPTED_TITLE_VARIANTS",
    "CLAUSE_TITLE",
    "DEFAULT_LIMITS",
    "OBLIGATION_KEYS",
    "OBLIGATION_LABELS",
    "OBLIGATION_PARAGRAPH",
    "PARAGRAPH_KEYS",
    "PARAGRAPH_LABELS",
    "Limits",
    "ParsedClause",
    "ParsedPolicy",
    "PolicyParseError",
    "PolicyTooLargeError",
    "SourceText",
    "parse_policy_bytes",
    "parse_policy_file",
    "parse_policy_source",
    "parse_policy_text",
    "policy_bytes_to_text",
    "read_policy_bytes",
    "read_policy_file",
    "read_policy_source",
]


def _check_size(text: str, limits: Limits) -> None:
    if len(text) > limits.max_text_chars:
        raise PolicyTooLargeError(
            f"文書が長すぎます（{len(text):,}文字）。{limits.max_text_chars:,}文字以下にしてください。"
        )
    if text.count("\n") > limits.max_lines:
        raise PolicyTooLargeError(f"文書の行数が多すぎます。{limits.max_lines:,}行以下にしてください。")


def _review(
    reading: ClauseReading, org: str, title: str, enacted: str | None, bodies: tuple[str, ...]
) -> tuple[tuple[str, ...], float]:
    """Warnings for the admin, and a confidence figure (1.0 = nothing to check)."""
    clause = reading.clause
    score = title_score(clause.title)
    current_wording = squash(clause.title) == squash(CLAUSE_TITLE)
    warnings: list[str] = []
    penalty = 0.0
    checks: list[tuple[bool, str, float]] = [
        (
            score >= 3 and clause.external_services is None,
            "外部サービス（クラウドサービス）の段落が見つかりません。",
            0.25,
        ),
        (current_wording and clause.social_media is None, "ソーシャルメディアサービスの段落が見つかりません。", 0.2),
        (score == 2 and clause.external_services is None, "外部サービスの段落が見つかりません。", 0.25),
        (clause.outsourcing is None and score != 2, "業務委託の段落が見つかりません。", 0.3),
        (not current_wording, f"条項の表題が現行の「{CLAUSE_TITLE}」ではなく旧表記「{clause.title}」です。", 0.05),
        (clause.layout == "inline", "表題と本文が同じ行にある書式でした。段落の区切りを確かめてください。", 0.1),
        (clause.layout == "article", "例規（条・項・号）の書式でした。条項の番号と段落を確かめてください。", 0.05),
        (bool(reading.leftover), "条項の中に、どの段落にも当てはまらない文があります（取り込まれません）。", 0.15),
        (reading.with_body > 1, "条項の表題に当たる見出しが複数ありました。最初のものを使っています。", 0.1),
        (not org, "団体名が見つかりません。", 0.1),
        (not title, "方針の名称が見つかりません。", 0.05),
        (enacted is None, "制定・改定日が見つかりません。", 0.05),
        (not bodies, "対象機関（実施機関）が見つかりません。", 0.05),
    ]
    length = sum(len(p or "") for p in clause.paragraphs().values())
    checks.append((length > 2000, "条項の本文が通常より長く、後の条文まで含んでいる可能性があります。", 0.2))
    for failed, message, weight in checks:
        if failed:
            warnings.append(message)
            penalty += weight
    return tuple(warnings), round(max(0.0, 1.0 - penalty), 2)


def parse_policy_text(text: str, *, limits: Limits = DEFAULT_LIMITS, deadline: Deadline | None = None) -> ParsedPolicy:
    """Parse the text of a 情報セキュリティ基本方針; raises :class:`PolicyParseError`."""
    if not text or not text.strip():
        raise PolicyParseError("方針のテキストが空です。")
    _check_size(text, limits)
    deadline = deadline or Deadline(limits.max_seconds)
    doc = Lines.build(text)
    deadline.check()
    blocks = reflow(doc.lines, doc.headings)
    header = header_lines(doc.lines, doc.headings)
    title, org = _title_and_org(doc.lines, blocks)
    title = document_title(doc.lines, blocks, title, org)
    deadline.check()
    reading = parse_clause(doc, title, deadline)
    as_written, iso = _enactment(header, blocks)
    bodies = tuple(unicodedata.normalize("NFC", b) for b in _bodies(blocks))
    deadline.check()
    warnings, confidence = _review(reading, org, title, as_written, bodies)
    return ParsedPolicy(
        organisation=org,
        title=title,
        enacted_as_written=as_written,
        enacted_on=iso,
        bodies=bodies,
        clause=reading.clause,
        warnings=warnings,
        confidence=confidence,
    )


def parse_policy_source(source: SourceText, *, limits: Limits = DEFAULT_LIMITS) -> ParsedPolicy:
    """Parse text read by :func:`read_policy_source` / :func:`.readers.read_bytes`."""
    parsed = parse_policy_text(source.text, limits=limits, deadline=source.deadline)
    extra = tuple(source.warnings)
    return ParsedPolicy(
        organisation=parsed.organisation,
        title=parsed.title,
        enacted_as_written=parsed.enacted_as_written,
        enacted_on=parsed.enacted_on,
        bodies=parsed.bodies,
        clause=parsed.clause,
        warnings=extra + parsed.warnings,
        confidence=parsed.confidence,
        source_format=source.format,
    )


def read_policy_source(path: str | Path, *, limits: Limits = DEFAULT_LIMITS) -> SourceText:
    return read_path(Path(path), limits=limits)


def read_policy_file(path: str | Path) -> str:
    """Read a policy file as text (text, PDF, HTML or DOCX; decided by the content)."""
    return read_policy_source(path).text


def read_policy_bytes(data: bytes, filename: str, *, limits: Limits = DEFAULT_LIMITS) -> SourceText:
    """Read an uploaded file (bounded); the format is decided by its content."""
    return read_bytes(data, filename, limits=limits)


def policy_bytes_to_text(data: bytes, filename: str) -> str:
    """The text of an uploaded file; the format is decided by its content."""
    return read_bytes(data, filename).text


def parse_policy_bytes(data: bytes, filename: str, *, limits: Limits = DEFAULT_LIMITS) -> ParsedPolicy:
    """Parse an uploaded file; the format is decided by its content."""
    return parse_policy_source(read_bytes(data, filename, limits=limits), limits=limits)


def parse_policy_file(path: str | Path) -> ParsedPolicy:
    return parse_policy_source(read_policy_source(path))
