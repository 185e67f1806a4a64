"""The assessment is a loop: a renewal (「再評価」) starts from the last approved answers, which the
contractor only confirms or changes; the contractor's people and sites are entered once per
invitation even when several questionnaires apply, and the security officer can be 「上記と同じ」."""

from __future__ import annotations

from html.parser import HTMLParser

from helpers import PEOPLE, answer_all, form_data_for, portal_sections, token_from_outbox_or_page
from sqlalchemy import select

from vendorrisk.extensions import db
from vendorrisk.models import AuditEvent, Engagement, Invitation, Response
from vendorrisk.web.answer_forms import field_name


class _FormDefaults(HTMLParser):
    """What a browser would send for the section form untouched: its fields' pre-filled values."""

    def __init__(self) -> None:
        super().__init__()
        self.pairs: list[tuple[str, str]] = []
        self._textarea: str | None = None
        self._select: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "file"):
            if a.get("type") in ("radio", "checkbox"):
                if "checked" in a:
                    self.pairs.append((name, a.get("value") or "on"))
            else:
                self.pairs.append((name, a.get("value") or ""))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, ""
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.pairs.append((self._select, a.get("value") or ""))

    def handle_data(self, data):
        if self._textarea:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea:
            self.pairs.append((self._textarea, self._text.lstrip("\n")))
            self._textarea = None
        elif tag == "select":
            self._select = None


def _defaults(html: str) -> dict[str, list[str]]:
    parser = _FormDefaults()
    parser.feed(html)
    data: dict[str, list[str]] = {}
    for name, value in parser.pairs:
        data.setdefault(name, []).append(value)
    return data


def _typed_fields(data: dict) -> int:
    """Fields a person fills in on a section page (the buttons and the 完了 radio not counted)."""
    return sum(1 for k, v in data.items() if k not in ("action", "section_done") and v not in ("", None))


def _approve_and_reassess(app, client, seed, login, invite):
    """Invite, answer through the portal, submit, approve; then 「再評価」 and invite again."""
    from conftest import approve_through_services

    eid = approve_through_services(app, seed)
    login(seed.users["procurement"])
    r = client.post(f"/staff/engagements/{eid}/reassess")
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "再評価の案件「OUT-1-R2」を作りました" in page
    with app.app_context():
        new = db.session.scalar(select(Engagement).filter_by(reference="OUT-1-R2"))
        assert new.vendor_id == db.session.get(Engagement, eid).vendor_id and new.state == "draft"
        new_id = new.id
    client.post("/logout")
    return eid, invite(eid=new_id)


def test_reassess_prefills_from_the_last_approved_answers_and_needs_only_confirmations(
        app, client, seed, login, invite):
    eid, token = _approve_and_reassess(app, client, seed, login, invite)
    with app.app_context():
        previous = db.session.scalars(select(Response).filter_by(state="submitted")).one().answer_map()
    sections = portal_sections(app, token)
    before = sum(_typed_fields(form_data_for(questions)) for _, _, questions in sections)
    # The check page lists every carried answer as to be confirmed; submitting now is refused.
    check = client.get(f"/r/{token}/check").get_data(as_text=True)
    assert "前回の回答を確かめてください" in check
    assert client.post(f"/r/{token}/submit").status_code == 400
    after = 0
    for qid, sid, _questions in sections:
        url = f"/r/{token}/s/{qid}/{sid}"
        page = client.get(url).get_data(as_text=True)
        assert "前回の回答" in page
        data = _defaults(page)
        data["section_done"] = ["yes"]  # the one thing the contractor does on each page
        data["action"] = ["continue"]
        after += 1
        r = client.post(url, data=data)
        assert r.status_code == 302, (url, r.get_data(as_text=True)[:3000])
    assert client.post(f"/r/{token}/submit").status_code == 302
    with app.app_context():
        inv = db.session.scalar(select(Invitation).where(Invitation.token_hash == Invitation.hash_token(token)))
        renewed = inv.response.answer_map()
        carried = inv.response.carried_over
        assert carried and all(e["confirmed"] for e in carried.values())
        for q in carried:
            assert renewed[q] == previous[q]
        event = db.session.scalar(select(AuditEvent).filter_by(action="invitation.send", object_id=str(inv.id)))
        assert event.data["carried_over"] == len(carried)
    assert after == len(sections) < before
    print(f"\nrenewal with no changes: {before} fields typed before, {after} confirmations after")
    # Staff see how many answers were carried over and kept.
    login(seed.users["procurement"])
    staff = client.get(f"/staff/engagements/{inv.engagement_id}").get_data(as_text=True)
    assert f"前回承認された回答から引き継いだ設問：{len(carried)}問（そのまま確認 {len(carried)}問・変更 0問" in staff


def test_a_changed_carried_answer_counts_as_changed(app, client, seed, login, invite):
    _, token = _approve_and_reassess(app, client, seed, login, invite)
    url = f"/r/{token}/s/outsourcing/out.people"
    data = _defaults(client.get(url).get_data(as_text=True))
    data |= {field_name("out.people.work_site"): ["熊本市中央区 新事務所"], "action": ["later"]}
    assert client.post(url, data=data).status_code == 302
    with app.app_context():
        from vendorrisk.services.answers import carried_summary

        inv = db.session.scalar(select(Invitation).where(Invitation.token_hash == Invitation.hash_token(token)))
        summary = carried_summary(inv)
        assert summary["changed_ids"] == ["out.people.work_site"]


def test_people_and_sites_are_entered_once_across_outsourcing_and_cloud(app, client, seed, login, make_engagement):
    eid = make_engagement(seed.org_ids["tamana-city"], _vendor_id(app, seed), "outsourcing",
                          reference="MIX-1", kinds=["outsourcing", "cloud"])
    login(seed.users["procurement"])
    r = client.post(f"/staff/engagements/{eid}/invite", data={"recipient_email": "a@example.jp"},
                    follow_redirects=True)
    token = token_from_outbox_or_page(r.get_data(as_text=True))
    client.post("/logout")
    sections = portal_sections(app, token)
    assert {s[0] for s in sections} == {"outsourcing", "cloud-high"}
    pages = "".join(client.get(f"/r/{token}/s/{q}/{s}").get_data(as_text=True) for q, s, _ in sections)
    # one work site, one responsible manager, one security officer on all the pages together
    assert pages.count('name="q_out__people__work_site"') == 1
    assert pages.count('name="q_out__people__responsible_manager-name"') == 1
    for copy in ("q_ch__location__work_site", "q_ch__service__responsible_manager-name",
                 "q_ch__service__security_officer-name"):
        assert f'name="{copy}"' not in pages
    answer_all(app, client, token)
    assert client.post(f"/r/{token}/submit").status_code == 302
    with app.app_context():
        answers = db.session.scalar(select(Response)).answer_map()
    shared = ("work_site", "responsible_manager", "security_officer")
    cloud_ids = [k for k in answers if k.startswith("ch.") and k.endswith(shared)]
    assert cloud_ids, "the cloud questionnaire's copies are answered"
    for k in cloud_ids:
        suffix = k.rsplit(".", 1)[1]
        assert answers[k] == answers[f"out.people.{suffix}"]


def test_security_officer_same_as_above(app, client, seed, invite):
    token = invite()
    qid, sid, questions = next(s for s in portal_sections(app, token) if s[1] == "out.people")
    page = client.get(f"/r/{token}/s/{qid}/{sid}").get_data(as_text=True)
    officer = field_name("out.people.security_officer")
    assert f'name="{officer}-same"' in page and "と同じ" in page
    data = form_data_for(questions)
    for k in list(data):
        if k.startswith(officer + "-"):
            data[k] = ""
    data[f"{officer}-same"] = "yes"
    r = client.post(f"/r/{token}/s/{qid}/{sid}", data=data)
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    with app.app_context():
        answers = db.session.scalar(select(Response)).answer_map()
    assert answers["out.people.security_officer"] == answers["out.people.responsible_manager"]
    assert answers["out.people.security_officer"]["name"] == PEOPLE["responsible_manager"]["name"]
    again = client.get(f"/r/{token}/s/{qid}/{sid}").get_data(as_text=True)
    assert f'id="{officer}-same" value="yes" checked' in again


def _vendor_id(app, seed) -> int:
    with app.app_context():
        return db.session.get(Engagement, seed.engagements[("tamana-city", "outsourcing")]).vendor_id


def test_a_whole_set_of_answers_given_at_once_confirms_the_carried_ones(app, client, seed, login,
                                                                        make_submitted_invitation):
    """A filled-in workbook or the demo gives every answer at once: that confirms them."""
    from conftest import approve_through_services

    eid = approve_through_services(app, seed)
    login(seed.users["procurement"])
    r = client.post(f"/staff/engagements/{eid}/reassess")
    new_id = int(r.headers["Location"].rsplit("/", 1)[1])
    invitation_id = make_submitted_invitation(new_id)
    with app.app_context():
        inv = db.session.get(Invitation, invitation_id)
        assert inv.state == "submitted" and inv.response.carried_over
        assert all(e["confirmed"] for e in inv.response.carried_over.values())


def test_the_reviewer_sees_which_answers_changed_since_the_last_approved_assessment(app, client, seed, login,
                                                                                      invite):
    _, token = _approve_and_reassess(app, client, seed, login, invite)
    for qid, sid, _questions in portal_sections(app, token):
        url = f"/r/{token}/s/{qid}/{sid}"
        data = _defaults(client.get(url).get_data(as_text=True))
        if sid == "out.people":
            data[field_name("out.people.work_site")] = ["熊本市中央区 新事務所"]
        data |= {"section_done": ["yes"], "action": ["continue"]}
        assert client.post(url, data=data).status_code == 302
    assert client.post(f"/r/{token}/submit").status_code == 302
    with app.app_context():
        new_id = db.session.scalar(select(Engagement.id).filter_by(reference="OUT-1-R2"))
    login(seed.users["reviewer"])
    page = client.get(f"/staff/engagements/{new_id}/review").get_data(as_text=True)
    answers = page.split("<h2 id=\"answers\">回答内容</h2>", 1)[1]
    assert answers.count("前回から変更") == 1
    assert '<strong class="tag-carried">前回から変更</strong> 熊本市中央区 新事務所' in answers
    assert "前回は未回答" not in answers


def test_a_clarified_answer_entered_once_is_corrected_with_its_copies(app, client, seed, login, make_engagement):
    """The reviewer asks about the work site (asked on the outsourcing page, copied into the cloud
    questionnaire): the contractor's correction is accepted and reaches the copy too."""
    from test_review_loop import _ask

    eid = make_engagement(seed.org_ids["tamana-city"], _vendor_id(app, seed), "outsourcing",
                          reference="MIX-2", kinds=["outsourcing", "cloud"])
    login(seed.users["procurement"])
    r = client.post(f"/staff/engagements/{eid}/invite", data={"recipient_email": "a@example.jp"},
                    follow_redirects=True)
    token = token_from_outbox_or_page(r.get_data(as_text=True))
    client.post("/logout")
    answer_all(app, client, token)
    assert client.post(f"/r/{token}/submit").status_code == 302
    login(seed.users["reviewer"])
    _ask(client, eid, "out.people.work_site", "作業場所の住所を番地まで書いてください。")
    client.post("/logout")
    r = client.post(f"/r/{token}/clarification", data={
        field_name("out.people.work_site"): "熊本県玉名市岩崎163番地 本庁舎3階",
        "reply_" + field_name("out.people.work_site"): "番地まで書きました。", "action": "resubmit"})
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    with app.app_context():
        frozen = db.session.scalar(select(Response)).frozen_answers
    copies = [k for k in frozen if k.startswith("ch.") and k.endswith("work_site")]
    assert copies and all(frozen[k] == "熊本県玉名市岩崎163番地 本庁舎3階" for k in copies + ["out.people.work_site"])
