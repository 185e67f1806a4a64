"""The shared vocabulary: every term more than one layer uses is defined here once and imported.

Pure Python (no Flask, no database). Kinds, roles, states and their allowed transitions, labels,
the time zone, canonical JSON and the text cleaning live here; the era table lives in
`domain.wareki` (its only owner).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")

# --- engagement kinds -------------------------------------------------------------------------
KINDS: tuple[str, ...] = ("outsourcing", "cloud", "social_media")
KIND_LABELS: dict[str, str] = {
    "outsourcing": "業務委託",
    "cloud": "外部サービス（クラウドサービス）",
    "social_media": "ソーシャルメディアサービス",
}
#: How the contract annex names each kind (区分, cited clause): the kind label plus what is done.
ANNEX_KIND_PHRASES: dict[str, str] = {
    "outsourcing": KIND_LABELS["outsourcing"],
    "cloud": f"{KIND_LABELS['cloud']}の利用",
    "social_media": f"{KIND_LABELS['social_media']}の運用",
}

# --- who answers a question ---------------------------------------------------------------------
#: ``contractor``: asked through the contractor's link; ``municipality``: the municipality's own duty
#: (its website, its review of terms, its choice of account owners), an internal checklist the 所管課
#: completes on the engagement page.
PARTIES: tuple[str, ...] = ("contractor", "municipality")
PARTY_LABELS: dict[str, str] = {"contractor": "委託事業者", "municipality": "本市（所管課）"}

# --- the national guideline (総務省「地方公共団体における情報セキュリティポリシーに関するガイドライン」) ---
#: The chapters of the 対策基準 part, in the current order, with their titles.
GUIDELINE_CHAPTERS: dict[str, str] = {
    "8.1": "業務委託",
    "8.2": "情報システムに関する業務委託",
    "8.3": "外部サービス（機密性2以上の情報を取り扱う場合）",
    "8.4": "外部サービス（機密性2以上の情報を取り扱わない場合）",
    "8.5": "ソーシャルメディアサービス",
}
#: The chapters a bank of each kind may cite.
GUIDELINE_CHAPTERS_BY_KIND: dict[str, tuple[str, ...]] = {
    "outsourcing": ("8.1", "8.2"),
    "cloud": ("8.3", "8.4"),
    "social_media": ("8.5",),
}
#: The edition cited when an organisation has not set its own (団体設定).
DEFAULT_GUIDELINE_EDITION = "令和7年3月版"
GUIDELINE_EDITION_MAX = 40

# --- staff roles ------------------------------------------------------------------------------
ROLES: tuple[str, ...] = ("admin", "procurement", "reviewer", "legal")
ROLE_LABELS: dict[str, str] = {
    "admin": "管理者",
    "procurement": "所管課・契約担当",
    "reviewer": "情報セキュリティ担当",
    "legal": "法務・契約担当",
}

# --- inherent risk ----------------------------------------------------------------------------
RISK_LEVELS: tuple[str, ...] = ("high", "medium", "low")
RISK_LABELS: dict[str, str] = {"high": "高", "medium": "中", "low": "低"}

# --- engagement states and the moves between them ---------------------------------------------
ENGAGEMENT_STATES: tuple[str, ...] = (
    "draft", "invited", "submitted", "clarification", "in_approval", "approved", "conditional", "rejected",
    "declined",
)
ENGAGEMENT_STATE_LABELS: dict[str, str] = {
    "draft": "下書き",
    "invited": "回答依頼中",
    "submitted": "審査待ち",
    "clarification": "確認依頼中",
    "in_approval": "決裁中",
    "approved": "承認済み",
    "conditional": "条件付承認",
    "rejected": "差戻し",
    "declined": "不承認",
}
# from-state → the states it may move to. A new invitation may replace an open one (invited →
# invited); revoking the last open invitation goes back to draft; the reviewer may ask about chosen
# questions (clarification → submitted again when the contractor resubmits); a decision that needs
# 決裁 waits in in_approval (returned: back to submitted); after 差戻し procurement may invite again;
# approved, conditional and declined engagements do not move.
ENGAGEMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"invited"}),
    "invited": frozenset({"invited", "draft", "submitted"}),
    "submitted": frozenset({"approved", "conditional", "rejected", "declined", "clarification", "in_approval"}),
    "clarification": frozenset({"submitted", "rejected"}),
    "in_approval": frozenset({"approved", "conditional", "submitted"}),
    "rejected": frozenset({"invited"}),
    "approved": frozenset(),
    "conditional": frozenset(),
    "declined": frozenset(),
}
#: States whose engagement may have its annex issued.
ANNEX_STATES: tuple[str, ...] = ("approved", "conditional")

# --- the reviewer's decisions -----------------------------------------------------------------
DECISIONS: tuple[str, ...] = ("approved", "conditional", "rejected", "declined")
DECISION_LABELS: dict[str, str] = {
    "approved": "承認",
    "conditional": "条件付承認",
    "rejected": "差戻し",
    "declined": "不承認",
}
#: A question's evaluation, automatic (from the answer's score) or the reviewer's override.
EVALUATIONS: tuple[str, ...] = ("pass", "partial", "fail")
EVALUATION_LABELS: dict[str, str] = {"pass": "適合", "partial": "一部適合", "fail": "不適合"}
#: 是正事項 (obligations of a 条件付承認): open → reported (是正報告) → closed (or back to open).
REMEDIATION_STATES: tuple[str, ...] = ("open", "reported", "closed")
REMEDIATION_STATE_LABELS: dict[str, str] = {"open": "対応待ち", "reported": "是正報告あり", "closed": "完了"}
#: 決裁 (a second approval after the reviewer's 起案): the stages an organisation may require.
APPROVAL_STAGES: tuple[str, ...] = ("review", "approve")
APPROVAL_STAGE_LABELS: dict[str, str] = {"draft": "起案", "review": "審査", "approve": "承認"}
APPROVAL_STEP_STATES: tuple[str, ...] = ("pending", "approved", "returned")

# --- a contractor's responsible person --------------------------------------------------------
# (key, Japanese label, English label, required)
PERSON_FIELDS: tuple[tuple[str, str, str, bool], ...] = (
    ("name", "氏名", "Name", True),
    ("title", "役職", "Title", False),
    ("department", "所属", "Department", False),
    ("email", "メールアドレス", "Email", False),
    ("phone", "電話番号", "Phone", False),
)

# --- text hygiene -----------------------------------------------------------------------------
# What cannot live in XML (the DOCX annex), a PDF, a spreadsheet or a PostgreSQL text column: C0
# controls except TAB, LF and CR, and DEL; the Unicode non-characters (U+FDD0..U+FDEF and the last
# two code points of every plane: U+FFFE, U+FFFF, U+1FFFE …); lone surrogates (a JSON "\\ud800"
# decodes to one).
UNFIT_CHARS_RE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufdd0-\ufdef"
    + "".join(f"{chr(p * 0x10000 + 0xFFFE)}{chr(p * 0x10000 + 0xFFFF)}" for p in range(17))
    + "]"
)


def clean_text(value: str) -> str:
    """Text as it is kept: what cannot be stored or written into a document removed (tabs and line
    breaks kept). Everything that comes in goes through this once: web forms and file names
    (`web.request`), the JSON API, policy files and questionnaire spreadsheets."""
    return UNFIT_CHARS_RE.sub("", value)


# --- canonical JSON (hashing answers, definitions and annex snapshots) ------------------------
def canonical_json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


def canonical_sha256(obj: Any) -> str:
    return hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()
