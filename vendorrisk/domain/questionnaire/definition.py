"""The parsed definition: immutable dataclasses every other layer reads, and engagement matching.

Every default is filled in while a file is validated (see ``schema``), so these objects are
complete; ``frozen`` turns them into the JSON stored with an invitation and back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .guideline import GuidelineRef, parse_guideline
from .terms import DEFAULT_DEADLINE_DAYS


@dataclass(frozen=True)
class Option:
    value: str
    label_ja: str
    label_en: str
    score: float


@dataclass(frozen=True)
class Supplement:
    """What a question takes beside its answer (declared in the bank): a 補足 (free text, at most
    `max_chars`) — required when the answer is one of `required_when` (「一部」「いいえ」…) — and, with
    `evidence`, one evidence file."""

    required_when: tuple[str, ...] = ()
    max_chars: int = 1000
    evidence: bool = False


#: Where a question's 補足 and evidence file are kept among the answers (beside the answer itself).
def note_key(question_id: str) -> str:
    return f"{question_id}::note"


def evidence_key(question_id: str) -> str:
    return f"{question_id}::evidence"


@dataclass(frozen=True)
class Question:
    id: str
    section_id: str
    type: str
    text_ja: str
    text_en: str
    help_ja: str = ""
    help_en: str = ""
    options: tuple[Option, ...] = ()
    weight: float = 1.0
    required: bool = True
    must_pass: bool = False
    na_allowed: bool = False
    applies_when: dict = field(default_factory=dict, hash=False)
    shown_when: dict | None = field(default=None, hash=False)
    derives_from: str = ""
    guideline: str = ""
    annex_articles: tuple[str, ...] = ()
    finding_ja: str = ""
    remediation_ja: str = ""
    #: The annex's 是正事項 wording (see schema ``obligation``), or "".
    obligation_ja: str = ""
    deadline_days: int = DEFAULT_DEADLINE_DAYS
    fields: tuple[Question, ...] = ()
    #: The contract fact this question supplies to the annex (``ANNEX_FIELD_KEYS``), or "".
    annex_field: str = ""
    #: Who answers (``PARTIES``): the contractor through its link, or the municipality's checklist.
    party: str = "contractor"

    @property
    def for_contractor(self) -> bool:
        return self.party == "contractor"

    @property
    def guideline_ref(self) -> GuidelineRef | None:
        """The citation as data (chapter, item, topic); the edition is the organisation's setting."""
        return parse_guideline(self.guideline)
    #: 補足 and evidence beside the answer, when the bank declares them.
    supplement: Supplement | None = field(default=None, hash=False)

    def note_required(self, value: object) -> bool:
        """Whether this answer needs its 補足 (the bank's ``required_when``)."""
        return self.supplement is not None and isinstance(value, str) and value in self.supplement.required_when

    def option(self, value: str) -> Option | None:
        for opt in self.options:
            if opt.value == value:
                return opt
        return None

    def applies(self, profile: dict) -> bool:
        return matches(self.applies_when, profile)


@dataclass(frozen=True)
class Section:
    id: str
    title_ja: str
    title_en: str
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class Questionnaire:
    id: str
    kind: str
    title_ja: str
    title_en: str
    description_ja: str
    applies_when: dict = field(hash=False)
    sections: tuple[Section, ...]
    version: str
    description_en: str = ""

    @property
    def short_version(self) -> str:
        return self.version[:12]

    def questions(self) -> list[Question]:
        return [q for s in self.sections for q in s.questions]

    def question(self, qid: str) -> Question | None:
        for q in self.questions():
            if q.id == qid:
                return q
        return None

    def applies(self, profile: dict) -> bool:
        return matches(self.applies_when, profile)

    def applicable(self, profile: dict) -> list[Question]:
        """The contractor's questions whose ``applies_when`` matches the engagement profile (file-level
        condition is *not* re-checked here: use :func:`select_for_engagement` for that). These are
        what the link shows, what is required and what is scored."""
        return [q for q in self.questions() if q.for_contractor and q.applies(profile)]

    def internal_checklist(self, profile: dict) -> list[Question]:
        """The municipality's own questions that apply: the 所管課's checklist, never on the link."""
        return [q for q in self.questions() if not q.for_contractor and q.applies(profile)]


# ---------------------------------------------------------------------------------------------
# Engagement profile and conditions
# ---------------------------------------------------------------------------------------------


def normalize_profile(profile: dict | None) -> dict:
    """Fill defaults: no kinds, 機密性1, no personal data, no マイナンバー, no segment."""
    p = dict(profile or {})
    kinds = p.get("kinds") or []
    if isinstance(kinds, str):
        kinds = [kinds]
    return {
        "kinds": list(kinds),
        "confidentiality": int(p.get("confidentiality") or 1),
        "integrity": int(p.get("integrity") or 1),
        "availability": int(p.get("availability") or 1),
        "personal_data": bool(p.get("personal_data", False)),
        "my_number": bool(p.get("my_number", False)),
        "network_segment": p.get("network_segment") or None,
    }


def matches(cond: dict | None, profile: dict) -> bool:
    """All conditions must hold (AND).  ``kinds``: the engagement has at least one of the kinds;
    ``confidentiality_min`` / ``confidentiality_max``: inclusive bounds on 機密性;
    ``personal_data`` / ``my_number``: exact match; ``network_segment``: one of the list."""
    if not cond:
        return True
    p = normalize_profile(profile)
    checks = (
        ("kinds", lambda want: bool(set(want) & set(p["kinds"]))),
        ("confidentiality_min", lambda low: p["confidentiality"] >= low),
        ("confidentiality_max", lambda high: p["confidentiality"] <= high),
        ("personal_data", lambda flag: p["personal_data"] == flag),
        ("my_number", lambda flag: p["my_number"] == flag),
        ("network_segment", lambda segments: p["network_segment"] in segments),
    )
    return all(holds(cond[key]) for key, holds in checks if key in cond)
