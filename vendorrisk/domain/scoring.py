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
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Iterable

from .questionnaire import (
    ANSWER_TYPES,
    NA,
    AnswerError,
    Question,
    _is_na,
    Questionnaire,
    is_shown,
    normalize_profile,
)

RATINGS = ("fail", "conditional", "pass")  # worst → best
RATING_JA = {"pass": "適合", "conditional": "条件付適合", "fail": "不適合"}
RISK_LEVELS = ("low", "medium", "high")
RISK_JA = {"low": "低", "medium": "中", "high": "高"}
SEVERITIES = ("high", "medium", "low")
SEVERITY_JA = {"high": "高", "medium": "中", "low": "低"}

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
            "severity_ja": SEVERITY_JA[self.severity],
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
            "inherent_risk_ja": RISK_JA[self.inherent_risk],
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
    by_id = {q.id: q for qn in qns for q in qn.questions()}

    total_num = total_den = 0.0
    section_acc: dict[str, list[float]] = {}
    failures: list[str] = []
    hard_fail = False
    capped = False
    findings: list[tuple[tuple[int, bool], int, Finding]] = []
    order = 0

    for qn in qns:
        for q in qn.applicable(profile):
            if not is_shown(q, answers, by_id, profile):
                continue
            order += 1
            atype = ANSWER_TYPES[q.type]
            value = _normalized(q, answers.get(q.id))
            s = atype.score(q, value)
            unanswered = not atype.is_answered(value)
            if s is not None and q.weight > 0:
                total_num += q.weight * s
                total_den += q.weight
                acc = section_acc.setdefault(q.section_id, [0.0, 0.0])
                acc[0] += q.weight * s
                acc[1] += q.weight
            if q.must_pass and s is not None and s < 1.0:
                failures.append(q.id)
                if s <= 0.0:
                    hard_fail = True
                else:
                    capped = True
            weak = s is not None and s < 1.0 and (q.weight > 0 or q.must_pass)
            if weak or (q.required and unanswered):
                sev = _severity(q, s if s is not None else 0.0, unanswered, risk)
                days = q.deadline_days
                findings.append(
                    (
                        (SEVERITIES.index(sev), not q.must_pass),
                        order,
                        Finding(
                            question_id=q.id,
                            question_text=q.text_ja,
                            answer_display=atype.display(q, value),
                            why=q.finding_ja if not unanswered or weak else f"「{q.text_ja}」が未回答です。",
                            remediation=q.remediation_ja if not unanswered or weak else "回答を入力してください。",
                            severity=sev,
                            deadline_days=days,
                            deadline=(as_of + _dt.timedelta(days=days)) if as_of else None,
                            must_pass=q.must_pass,
                        ),
                    )
                )

    overall = _pct(total_num, total_den)
    if overall >= limits["pass"]:
        rating = "pass"
    elif overall >= limits["conditional"]:
        rating = "conditional"
    else:
        rating = "fail"
    if hard_fail:
        rating = "fail"
    elif capped and rating == "pass":
        rating = "conditional"

    section_scores = {sid: _pct(n, d) for sid, (n, d) in section_acc.items()}
    return ScoreResult(
        score=overall,
        rating=rating,
        rating_ja=RATING_JA[rating],
        inherent_risk=risk,
        section_scores=section_scores,
        must_pass_failures=tuple(failures),
        findings=tuple(f for _, _, f in sorted(findings, key=lambda t: (t[0], t[1]))),
    )
