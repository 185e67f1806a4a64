"""Rating thresholds are configurable per organisation and used for the next submissions."""

from __future__ import annotations

from sqlalchemy import select

from vendorrisk.domain.questionnaire import select_for_engagement
from vendorrisk.domain.scoring import score
from vendorrisk.extensions import db
from vendorrisk.models import Assessment, Engagement, Invitation, Organisation
from vendorrisk.services.definitions import current_definitions, invitation_questionnaires


def test_admin_sets_thresholds_with_full_width_digits(app, client, seed, login, make_submitted_invitation):
    login(seed.users["admin"])
    page = client.get("/admin/organisation").get_data(as_text=True)
    assert "評価の基準点" in page and 'value="85"' in page
    data = {
        "high_pass": "９５",
        "high_conditional": "90",
        "medium_pass": "100",
        "medium_conditional": "90",
        "low_pass": "70",
        "low_conditional": "50",
    }
    assert client.post("/admin/thresholds", data=data).status_code == 302
    with app.app_context():
        org = db.session.scalar(select(Organisation).filter_by(slug="tamana-city"))
        assert org.settings["thresholds"]["high"] == {"pass": 95.0, "conditional": 90.0}
    # The next submission is rated with them: one answer only partly met gives ~99 点, which
    # the default thresholds call 適合 but this organisation's (medium: 100 / 90) 条件付適合.
    eid = seed.engagements[("tamana-city", "outsourcing")]
    with app.app_context():
        eng = db.session.get(Engagement, eid)
        profile = eng.profile()
        banks = select_for_engagement(current_definitions(), profile)
        questions = [q for qn in banks for q in qn.applicable(profile)]
        partial = next(
            q for q in questions if q.type == "yesno" and not q.must_pass and q.weight > 0 and not q.shown_when
        )
    invitation_id = make_submitted_invitation(eid, {partial.id: "partial"})
    with app.app_context():
        invitation = db.session.get(Invitation, invitation_id)
        assessment = db.session.scalar(select(Assessment).filter_by(response_id=invitation.response.id))
        assert 95 <= assessment.score < 100
        assert assessment.inherent_risk == "medium"
        assert assessment.rating == "conditional"
        default = score(
            invitation_questionnaires(invitation), invitation.response.answer_map(), invitation.engagement.profile()
        )
        assert default.rating == "pass", "with the default thresholds the same answers pass"


def test_bad_thresholds_are_refused_and_kept(app, client, seed, login):
    login(seed.users["admin"])
    data = {
        "high_pass": "80",
        "high_conditional": "90",
        "medium_pass": "abc",
        "medium_conditional": "60",
        "low_pass": "150",
        "low_conditional": "50",
    }
    r = client.post("/admin/thresholds", data=data)
    body = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "条件付適合の下限点は、適合の下限点以下にしてください" in body
    assert "0から100までの数で入力してください" in body
    assert 'value="abc"' in body and 'value="150"' in body
    with app.app_context():
        org = db.session.scalar(select(Organisation).filter_by(slug="tamana-city"))
        assert "thresholds" not in (org.settings or {})
