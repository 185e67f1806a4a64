"""Pure, deterministic scoring of a contractor's answers.

Model (explained for reviewers in docs/scoring.md):

* Each applicable and shown question gets a per-answer score in 0..1 (see
  ``questionnaire.AnswerType.score``): yesno yes=1 / partial=0.5 / no=0; choices carry their own
  score (multi: sum of the chosen, capped at 1); text/date/number/file/person/group: 1 when a
  required question is answered, otherwise not scored.  "na" (該当なし) is excluded where the
  question allows it and counts 0 where it does not.  An unanswered required question scores 0
  (the worst answer).  An answer that fails validation counts as unanswered.
* Section and overall scores are weighted means ×100, rounded half-up to one decimal.  Questions
  with weight 0, or not scored, do not count.  With nothing to score the score is 100.0.
* Inherent risk comes from the engagement profile only (high / medium / low).
* Rating from the thresholds for that risk level (configurable per organisation), then capped by
  must-pass controls: a must-pass question answered "no" / unanswered (score 0) makes the rating
  不適合; one only partly met (0 < score < 1) caps it at 条件付適合.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .questionnaire import (
    ANSWER_TYPES,
    NA,
    AnswerError,
    AnswerType,
    Question,
    Questionnaire,
    _is_na,
    is_shown,
    normalize_profile,
)
from .vocabulary import RISK_LABELS, RISK_LEVELS

RATINGS = ("fail", "conditional", "pass")  # worst → best
RATING_JA = {"pass": "適合", "conditional": "条件付適合", "fail": "不適合"}

DEFAULT_THRESHOLDS: dict = {
    "high": {"pass": 85.0, "conditional": 70.0},
    "medium": {"pass": 80.0, "conditional": 60.0},
    "low": {"pass": 70.0, "conditional": 50.0},
}


@dataclass(frozen=True)
class Finding:
    question_id: str
    question_text: str
    answer_display: str
    why: str
    remediation: str
    severity: str
    deadline_days: int
    deadline: _dt.date | None
    must_pass: bool

    def to_json(self) -> dict:
        return {
            "question_id": self.question_id,
            "question_text": self.question_text,
            "answer_display": self.answer_display,
            "why": self.why,
            "remediation": self.remediation,
            "severity": self.severity,
            "severity_ja": RISK_LABELS[self.severity],
            "deadline_days": self.deadline_days,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "must_pass": self.must_pass,
        }


@dataclass(frozen=True)
class ScoreResult:
    score: float
    rating: str
    rating_ja: str
    inherent_risk: str
    section_scores: dict[str, float]
    must_pass_failures: tuple[str, ...]
    findings: tuple[Finding, ...]

    def to_json(self) -> dict:
        return {
            "score": self.score,
            "rating": self.rating,
            "rating_ja": self.rating_ja,
            "inherent_risk": self.inherent_risk,
            "inherent_risk_ja": RISK_LABELS[self.inherent_risk],
            "section_scores": dict(self.section_scores),
            "must_pass_failures": list(self.must_pass_failures),
            "findings": [f.to_json() for f in self.findings],
        }


def inherent_risk(profile: dict) -> str:
    """high: マイナンバー, 個人番号利用事務系, or 機密性3.
    medium: 機密性2, personal data, 完全性2 / 可用性2, or the LGWAN接続系.
    low: otherwise."""
    p = normalize_profile(profile)
    if p["my_number"] or p["network_segment"] == "individual_number" or p["confidentiality"] >= 3:
        return "high"
    if (
        p["confidentiality"] >= 2
        or p["personal_data"]
        or p["integrity"] >= 2
        or p["availability"] >= 2
        or p["network_segment"] == "lgwan"
    ):
        return "medium"
    return "low"


def resolve_thresholds(thresholds: dict | None) -> dict:
    """Merge an organisation's thresholds over the defaults and check them.  Partial dicts are
    fine, e.g. ``{"high": {"pass": 90}}``."""
    out = {k: dict(v) for k, v in DEFAULT_THRESHOLDS.items()}
    for level, vals in (thresholds or {}).items():
        if level not in out or not isinstance(vals, dict):
            raise ValueError(f"thresholds: unknown risk level {level!r} (use low, medium, high)")
        for key, v in vals.items():
            if key not in ("pass", "conditional"):
                raise ValueError(f"thresholds.{level}: unknown key {key!r} (use pass, conditional)")
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 100:
                raise ValueError(f"thresholds.{level}.{key}: must be a number 0..100")
            out[level][key] = float(v)
    for level, vals in out.items():
        if vals["conditional"] > vals["pass"]:
            raise ValueError(f"thresholds.{level}: conditional must not exceed pass")
    return out


def _round1(x: float) -> float:
    return float(Decimal(repr(x)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _pct(num: float, den: float) -> float:
    if den <= 0:
        return 100.0
    return min(100.0, max(0.0, _round1(num / den * 100.0)))


def _severity(q: Question, s: float, unanswered: bool, risk: str) -> str:
    if q.must_pass:
        return "high"
    if s <= 0.0:
        return "high" if risk == "high" and q.weight >= 2 else "medium" if q.weight > 0 else "low"
    return "medium" if risk == "high" else "low"


def _normalized(q: Question, raw: Any) -> Any:
    try:
        return ANSWER_TYPES[q.type].normalize(raw, q)
    except AnswerError:
        # 該当なし where the question does not allow it counts as 0, not as "not scored"
        return NA if _is_na(raw) else None


@dataclass
class _Tally:
    """Running sums over the scored questions, and what the must-pass controls did."""

    num: float = 0.0
    den: float = 0.0
    sections: dict[str, list[float]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    hard_fail: bool = False
    capped: bool = False

    def add(self, q: Question, s: float | None) -> None:
        if s is not None and q.weight > 0:
            self.num += q.weight * s
            self.den += q.weight
            acc = self.sections.setdefault(q.section_id, [0.0, 0.0])
            acc[0] += q.weight * s
            acc[1] += q.weight
        if q.must_pass and s is not None and s < 1.0:
            self.failures.append(q.id)
            if s <= 0.0:
                self.hard_fail = True
            else:
                self.capped = True

    def rating(self, overall: float, limits: dict) -> str:
        """From the thresholds, then capped by the must-pass controls."""
        if self.hard_fail:
            return "fail"
        if overall >= limits["pass"]:
            return "conditional" if self.capped else "pass"
        return "conditional" if overall >= limits["conditional"] else "fail"


def _finding(q: Question, atype: AnswerType, value: Any, s: float | None, risk: str,
             as_of: _dt.date | None) -> Finding | None:
    """The finding for a question answered weakly or not at all, or None."""
    unanswered = not atype.is_answered(value)
    weak = s is not None and s < 1.0 and (q.weight > 0 or q.must_pass)
    if not weak and not (q.required and unanswered):
        return None
    own_words = not unanswered or weak
    return Finding(
        question_id=q.id,
        question_text=q.text_ja,
        answer_display=atype.display(q, value),
        why=q.finding_ja if own_words else f"「{q.text_ja}」が未回答です。",
        remediation=q.remediation_ja if own_words else "回答を入力してください。",
        severity=_severity(q, s if s is not None else 0.0, unanswered, risk),
        deadline_days=q.deadline_days,
        deadline=(as_of + _dt.timedelta(days=q.deadline_days)) if as_of else None,
        must_pass=q.must_pass,
    )


def _shown_questions(qns: list[Questionnaire], answers: dict, profile: dict) -> Iterable[Question]:
    by_id = {q.id: q for qn in qns for q in qn.questions()}
    for qn in qns:
        for q in qn.applicable(profile):
            if is_shown(q, answers, by_id, profile):
                yield q


def score(
    questionnaires: Iterable[Questionnaire],
    answers: dict[str, object],
    profile: dict,
    thresholds: dict | None = None,
    as_of: _dt.date | None = None,
) -> ScoreResult:
    qns = list(questionnaires)
    answers = answers or {}
    risk = inherent_risk(profile)
    limits = resolve_thresholds(thresholds)[risk]
    tally = _Tally()
    findings: list[Finding] = []
    for q in _shown_questions(qns, answers, profile):
        atype = ANSWER_TYPES[q.type]
        value = _normalized(q, answers.get(q.id))
        s = atype.score(q, value)
        tally.add(q, s)
        finding = _finding(q, atype, value, s, risk, as_of)
        if finding is not None:
            findings.append(finding)

    overall = _pct(tally.num, tally.den)
    rating = tally.rating(overall, limits)
    # most severe first, must-pass before the others, then in question order (sort is stable)
    findings.sort(key=lambda f: (RISK_LEVELS.index(f.severity), not f.must_pass))
    return ScoreResult(
        score=overall,
        rating=rating,
        rating_ja=RATING_JA[rating],
        inherent_risk=risk,
        section_scores={sid: _pct(n, d) for sid, (n, d) in tally.sections.items()},
        must_pass_failures=tuple(tally.failures),
        findings=tuple(findings),
    )


def evaluation(q: Question, raw: Any) -> str | None:
    """A question's automatic evaluation from its answer's score: pass (1), partial (between) or fail
    (0); None when the question is not scored (weight 0 and not must-pass, or an unscored type)."""
    s = ANSWER_TYPES[q.type].score(q, _normalized(q, raw))
    if s is None or (q.weight <= 0 and not q.must_pass):
        return None
    return "pass" if s >= 1.0 else "fail" if s <= 0.0 else "partial"
