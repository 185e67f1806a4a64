"""Scoring: examples worked by hand, and properties checked with hypothesis (pure)."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from vendorrisk.domain.questionnaire import (
    ANSWER_TYPES,
    AnswerError,
    freeze,
    load_all,
    parse_definition,
    select_for_engagement,
    thaw,
)
from vendorrisk.domain.scoring import (
    DEFAULT_THRESHOLDS,
    Finding,
    inherent_risk,
    resolve_thresholds,
    score,
)

BANKS = load_all(Path(__file__).resolve().parent.parent / "questionnaires")
RANK = {"fail": 0, "conditional": 1, "pass": 2}

# ---------------------------------------------------------------------------------------------
# A small definition to score by hand
# ---------------------------------------------------------------------------------------------

G = "対策基準 8.1(2) 契約項目"
SMALL = {
    "id": "small",
    "kind": "outsourcing",
    "title": {"ja": "小", "en": "Small"},
    "applies_when": {"kinds": ["outsourcing"]},
    "sections": [
        {
            "id": "s.a",
            "title": {"ja": "A", "en": "A"},
            "defaults": {"derives_from": "outsourcing.contract", "guideline": G},
            "questions": [
                {"id": "s.a.one", "type": "yesno", "weight": 2, "text": {"ja": "一つ目"},
                 "finding": {"ja": "一つ目が弱い"}, "remediation": {"ja": "一つ目を直す"}, "deadline_days": 30},
                {"id": "s.a.two", "type": "single", "weight": 1, "text": {"ja": "二つ目"},
                 "options": [
                     {"value": "good", "label": {"ja": "良"}, "score": 1},
                     {"value": "fair", "label": {"ja": "可"}, "score": 0.5},
                     {"value": "bad", "label": {"ja": "不可"}, "score": 0},
                 ], "deadline_days": 60},
                {"id": "s.a.who", "type": "person", "weight": 1, "text": {"ja": "責任者"}},
            ],
        },
        {
            "id": "s.b",
            "title": {"ja": "B", "en": "B"},
            "defaults": {"derives_from": "outsourcing.verify", "guideline": G},
            "questions": [
                {"id": "s.b.must", "type": "yesno", "weight": 3, "must_pass": True, "text": {"ja": "必須"},
                 "deadline_days": 7},
                {"id": "s.b.na", "type": "yesno", "weight": 2, "na_allowed": True, "text": {"ja": "該当なし可"}},
                {"id": "s.b.opt", "type": "text", "required": False, "weight": 1, "text": {"ja": "任意"}},
            ],
        },
    ],
}
SMALL_Q = parse_definition(copy.deepcopy(SMALL), "small")
LOW = {"kinds": ["outsourcing"], "confidentiality": 1}
MEDIUM = {"kinds": ["outsourcing"], "confidentiality": 2}
HIGH = {"kinds": ["outsourcing"], "confidentiality": 2, "my_number": True}
BASE = {
    "s.a.one": "partial",
    "s.a.two": "fair",
    "s.a.who": {"name": "佐藤 花子", "title": "課長"},
    "s.b.must": "yes",
    "s.b.na": "na",
}


def test_worked_example_by_hand():
    # (2*0.5 + 1*0.5 + 1*1 + 3*1) / (2+1+1+3) = 5.5 / 7 = 78.57… → 78.6 ; s.b.na and s.b.opt not scored
    r = score([SMALL_Q], BASE, LOW)
    assert r.score == 78.6
    assert r.section_scores == {"s.a": 62.5, "s.b": 100.0}
    assert r.inherent_risk == "low"
    assert (r.rating, r.rating_ja) == ("pass", "適合")  # low: pass ≥ 70
    assert r.must_pass_failures == ()
    assert [f.question_id for f in r.findings] == ["s.a.one", "s.a.two"]
    one = r.findings[0]
    assert one == Finding(
        question_id="s.a.one", question_text="一つ目", answer_display="一部", why="一つ目が弱い",
        remediation="一つ目を直す", severity="low", deadline_days=30, deadline=None, must_pass=False,
    )
    assert r.findings[1].answer_display == "可"


def test_same_answers_rate_differently_by_inherent_risk():
    assert score([SMALL_Q], BASE, MEDIUM).rating == "conditional"  # medium: pass ≥ 80, cond ≥ 60
    high = score([SMALL_Q], BASE, HIGH)
    assert high.inherent_risk == "high" and high.rating == "conditional"  # high: 85 / 70
    assert {f.severity for f in high.findings} == {"medium"}  # partial answers under high risk


def test_custom_thresholds_per_organisation():
    assert score([SMALL_Q], BASE, LOW, thresholds={"low": {"pass": 80}}).rating == "conditional"
    assert score([SMALL_Q], BASE, LOW, thresholds={"low": {"pass": 90, "conditional": 79}}).rating == "fail"
    for bad in ({"extreme": {"pass": 1}}, {"low": {"pass": 120}}, {"low": {"pass": 40}}, {"low": {"best": 3}}):
        with pytest.raises(ValueError):
            score([SMALL_Q], BASE, LOW, thresholds=bad)
    assert resolve_thresholds(None) == DEFAULT_THRESHOLDS


def test_must_pass_partial_caps_at_conditional_and_no_fails():
    all_good = {**BASE, "s.a.one": "yes", "s.a.two": "good"}
    assert score([SMALL_Q], all_good, LOW).score == 100.0
    partial = score([SMALL_Q], {**all_good, "s.b.must": "partial"}, LOW)
    assert partial.score == round(100 * 5.5 / 7, 1) == 78.6
    assert partial.rating == "conditional" and partial.must_pass_failures == ("s.b.must",)
    no = score([SMALL_Q], {**all_good, "s.b.must": "no"}, LOW)
    assert no.score == 57.1 and no.rating == "fail"  # 57.1 ≥ 50 would be conditional, but must-pass failed
    f = no.findings[0]
    assert f.question_id == "s.b.must" and f.severity == "high" and f.must_pass
    missing = {k: v for k, v in all_good.items() if k != "s.b.must"}
    assert score([SMALL_Q], missing, LOW).rating == "fail"  # unanswered = worst answer


def test_na_only_where_allowed():
    with_na = score([SMALL_Q], BASE, LOW)
    # "na" on a question that does not allow it counts as 0 ("no")
    bad_na = score([SMALL_Q], {**BASE, "s.a.one": "na"}, LOW)
    as_no = score([SMALL_Q], {**BASE, "s.a.one": "no"}, LOW)
    assert bad_na.score == as_no.score < with_na.score
    assert bad_na.findings[0].answer_display == "該当なし"


def test_unanswered_and_invalid_answers_count_as_worst():
    r = score([SMALL_Q], {}, LOW)
    assert r.score == 0.0 and r.rating == "fail"
    ids = [f.question_id for f in r.findings]
    assert ids[0] == "s.b.must"  # high severity first
    assert set(ids) == {"s.a.one", "s.a.two", "s.a.who", "s.b.must", "s.b.na"}
    who = next(f for f in r.findings if f.question_id == "s.a.who")
    assert who.answer_display == "（未回答）"
    invalid = score([SMALL_Q], {**BASE, "s.a.two": "excellent", "s.a.who": {"title": "no name"}}, LOW)
    assert invalid.score == round(100 * (1 + 0 + 0 + 3) / 7, 1)


def test_deadline_dates_from_as_of():
    r = score([SMALL_Q], BASE, LOW, as_of=dt.date(2025, 3, 10))
    assert [(f.deadline_days, f.deadline) for f in r.findings] == [
        (30, dt.date(2025, 4, 9)),
        (60, dt.date(2025, 5, 9)),
    ]


def test_to_json_is_serialisable():
    r = score([SMALL_Q], {}, HIGH, as_of=dt.date(2025, 4, 1))
    data = json.loads(json.dumps(r.to_json(), ensure_ascii=False))
    assert data["rating_ja"] == "不適合" and data["inherent_risk"] == "high"
    assert data["findings"][0]["deadline"] == "2025-04-08"
    assert set(data) >= {"score", "rating", "section_scores", "must_pass_failures", "findings"}


@pytest.mark.parametrize(
    "profile, expected",
    [
        ({}, "low"),
        ({"confidentiality": 1, "network_segment": "internet"}, "low"),
        ({"confidentiality": 2}, "medium"),
        ({"confidentiality": 1, "personal_data": True}, "medium"),
        ({"confidentiality": 1, "availability": 2}, "medium"),
        ({"confidentiality": 1, "network_segment": "lgwan"}, "medium"),
        ({"confidentiality": 3}, "high"),
        ({"confidentiality": 1, "my_number": True}, "high"),
        ({"confidentiality": 2, "network_segment": "individual_number"}, "high"),
    ],
)
def test_inherent_risk(profile, expected):
    assert inherent_risk(profile) == expected


def test_hidden_questions_are_not_scored():
    out = BANKS["outsourcing"]
    profile = {"kinds": ["outsourcing"], "confidentiality": 1}
    no_sub = score([out], {"out.sub.subcontracting": "no"}, profile)
    yes_sub = score([out], {"out.sub.subcontracting": "yes"}, profile)
    assert "out.sub.prior_approval" not in no_sub.must_pass_failures
    assert "out.sub.prior_approval" in yes_sub.must_pass_failures
    assert not any(f.question_id == "out.sub.subcontractors" for f in no_sub.findings)


def test_full_marks_on_the_real_banks():
    profile = {"kinds": ["outsourcing", "cloud", "social_media"], "confidentiality": 2, "personal_data": True,
               "my_number": True, "network_segment": "lgwan"}
    qns = select_for_engagement(BANKS, profile)
    answers = {q.id: best_answer(q) for qn in qns for q in qn.applicable(profile)}
    r = score(qns, answers, profile)
    assert r.score == 100.0 and r.rating == "pass" and r.findings == () and r.inherent_risk == "high"


# ---------------------------------------------------------------------------------------------
# Properties (hypothesis) over the real banks
# ---------------------------------------------------------------------------------------------

GROUP_ROW_FULL = object()


def candidates(q) -> list:
    t = q.type
    if t == "yesno":
        return [None, "yes", "partial", "no"] + (["na"] if q.na_allowed else [])
    if t == "single":
        return [None] + [o.value for o in q.options] + (["na"] if q.na_allowed else [])
    if t == "multi":
        vals = [o.value for o in q.options]
        return [None, vals] + [[v] for v in vals] + [vals[:2]]
    if t == "text":
        return [None, "回答します"]
    if t == "date":
        return [None, "2025-04-01"]
    if t == "number":
        return [None, 3]
    if t == "file":
        return [None, {"evidence_id": 1, "filename": "a.pdf"}]
    if t == "person":
        return [None, {"name": "山田 太郎"}]
    if t == "group":
        full = {f.id: (f.options[0].value if f.options else "はい" if f.type != "yesno" else "yes")
                for f in q.fields}
        partial = {q.fields[0].id: full[q.fields[0].id]}
        return [None, [full], [full, partial]]
    raise AssertionError(t)


def best_answer(q):
    return max(candidates(q), key=lambda v: per_answer(q, v) if per_answer(q, v) is not None else -1)


def per_answer(q, v):
    try:
        value = ANSWER_TYPES[q.type].normalize(v, q)
    except AnswerError:
        return None
    return ANSWER_TYPES[q.type].score(q, value)


profiles = st.fixed_dictionaries(
    {
        "kinds": st.lists(st.sampled_from(["outsourcing", "cloud", "social_media"]), min_size=1, unique=True),
        "confidentiality": st.integers(1, 3),
        "integrity": st.integers(1, 2),
        "availability": st.integers(1, 2),
        "personal_data": st.booleans(),
        "my_number": st.booleans(),
        "network_segment": st.sampled_from(["individual_number", "lgwan", "internet", None]),
    }
)


@st.composite
def engagements(draw):
    profile = draw(profiles)
    qns = select_for_engagement(BANKS, profile)
    answers = {}
    for qn in qns:
        for q in qn.questions():
            v = draw(st.sampled_from(candidates(q)))
            if v is not None:
                answers[q.id] = v
    return profile, qns, answers


thresholds_st = st.one_of(
    st.none(),
    st.builds(
        lambda a, b, c, d, e, f: {"low": {"pass": max(a, b), "conditional": min(a, b)},
                                  "medium": {"pass": max(c, d), "conditional": min(c, d)},
                                  "high": {"pass": max(e, f), "conditional": min(e, f)}},
        *[st.integers(0, 100)] * 6,
    ),
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(engagements(), thresholds_st)
def test_scores_are_bounded(eng, thresholds):
    profile, qns, answers = eng
    r = score(qns, answers, profile, thresholds)
    assert 0.0 <= r.score <= 100.0
    assert r.score == round(r.score, 1)
    assert all(0.0 <= v <= 100.0 for v in r.section_scores.values())
    assert r.rating in RANK and r.inherent_risk in ("low", "medium", "high")
    assert all(f.severity in ("high", "medium", "low") for f in r.findings)
    assert set(r.must_pass_failures) <= {f.question_id for f in r.findings}


@SETTINGS
@given(engagements(), st.randoms(use_true_random=False))
def test_scoring_is_deterministic(eng, rnd):
    profile, qns, answers = eng
    first = score(qns, answers, profile, as_of=dt.date(2025, 4, 1))
    shuffled = list(answers.items())
    rnd.shuffle(shuffled)
    thawed = [thaw(json.loads(json.dumps(freeze(q)))) for q in qns]
    again = score(thawed, dict(shuffled), dict(profile), as_of=dt.date(2025, 4, 1))
    assert again == first
    assert json.dumps(again.to_json(), sort_keys=True) == json.dumps(first.to_json(), sort_keys=True)


CONTROLLERS = {
    target for qn in BANKS.values() for q in qn.questions() if q.shown_when for target in q.shown_when
}


@SETTINGS
@given(engagements(), thresholds_st, st.data())
def test_improving_one_answer_never_lowers_score_or_rating(eng, thresholds, data):
    profile, qns, answers = eng
    pool = [q for qn in qns for q in qn.applicable(profile) if q.id not in CONTROLLERS]
    q = data.draw(st.sampled_from(pool))
    a, b = data.draw(st.lists(st.sampled_from(candidates(q)), min_size=2, max_size=2))
    sa, sb = per_answer(q, a), per_answer(q, b)
    assume(sa is not None and sb is not None and sa != sb)
    worse, better = (a, b) if sa < sb else (b, a)
    r_worse = score(qns, {**answers, q.id: worse}, profile, thresholds)
    r_better = score(qns, {**answers, q.id: better}, profile, thresholds)
    assert r_better.score >= r_worse.score
    assert RANK[r_better.rating] >= RANK[r_worse.rating]
    assert len(r_better.must_pass_failures) <= len(r_worse.must_pass_failures)


def _without(qns, qid):
    out = []
    for qn in qns:
        sections = tuple(
            dataclasses.replace(s, questions=tuple(q for q in s.questions if q.id != qid))
            for s in qn.sections
        )
        out.append(dataclasses.replace(qn, sections=sections))
    return out


NA_QUESTIONS = [q.id for qn in BANKS.values() for q in qn.questions() if q.na_allowed]


@SETTINGS
@given(engagements(), st.data())
def test_na_where_allowed_equals_removing_the_question(eng, data):
    profile, qns, answers = eng
    pool = [q.id for qn in qns for q in qn.applicable(profile) if q.na_allowed]
    assume(pool)
    qid = data.draw(st.sampled_from(pool))
    with_na = score(qns, {**answers, qid: "na"}, profile)
    rest = {k: v for k, v in answers.items() if k != qid}
    removed = score(_without(qns, qid), rest, profile)
    assert with_na == removed


def test_banks_offer_na_questions_for_the_property():
    assert len(NA_QUESTIONS) >= 5
