"""Staff lists at scale: search, filters, sort and paging over a seeded organisation of 2 000
engagements, the contractor's progress on open invitations, the vendor search of the engagement
form, and the number of SQL statements each list page runs (no N+1)."""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from vendorrisk.domain.vocabulary import JST
from vendorrisk.domain.wareki import format_long_date
from vendorrisk.extensions import db
from vendorrisk.models import Engagement, EngagementOfficer, Invitation, Officer, Vendor, utcnow

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from lists import seed_organisation  # noqa: E402

TAMANA = "tamana-city"


def _seed(app: Any, org_id: int, **sizes: Any) -> None:
    with app.app_context():
        seed_organisation(org_id, **sizes)
        db.session.commit()


@pytest.fixture
def big(app, seed):
    """tamana-city with 2 000 more engagements (every state), 300 vendors and their answers."""
    _seed(app, seed.org_ids[TAMANA], vendors=300, engagements=2000, answers=20000)
    return seed


def _refs(body: str) -> list[str]:
    return re.findall(r'data-label="案件番号"><a href="[^"]+">([^<]+)</a>', body)


def _count_line(body: str) -> str:
    match = re.search(r'<p class="list-count" role="status">([^<]+)</p>', body)
    assert match, body[:3000]
    return match.group(1)


def _db_count(app: Any, org_id: int, *where: Any) -> int:
    with app.app_context():
        return int(db.session.scalar(
            select(func.count(Engagement.id)).where(Engagement.organisation_id == org_id, *where)) or 0)


def test_dashboard_pages_sorts_overdue_first_and_keeps_the_filter_in_the_url(app, client, big, login):
    login(big.users["procurement"])
    org = big.org_ids[TAMANA]
    body = client.get("/staff/").get_data(as_text=True)
    total = _db_count(app, org)
    assert total == 2003
    assert _count_line(body) == f"全{total}件中 1〜50件を表示"
    assert len(_refs(body)) == 50
    assert "<option" in body and 'name="q"' in body and 'method="get"' in body
    # Overdue first: the first row is past its deadline, the earliest one of all.
    with app.app_context():
        earliest = db.session.scalar(
            select(Engagement.reference).join(Invitation).where(Invitation.state == "open",
                                                                Engagement.organisation_id == org)
            .order_by(Invitation.expires_at, Engagement.id.desc()).limit(1))
    first_row = body.split("<tbody>")[1].split("</tr>")[0]
    assert earliest in first_row and "期限切れ" in first_row
    # Paging: page 2 has the next 50, a page past the end shows the last page.
    page2 = client.get("/staff/?page=2").get_data(as_text=True)
    assert _count_line(page2) == f"全{total}件中 51〜100件を表示"
    assert not set(_refs(page2)) & set(_refs(body))
    last = client.get("/staff/?page=9999").get_data(as_text=True)
    assert _count_line(last) == f"全{total}件中 2001〜2003件を表示"
    assert "次のページ" not in last and "前のページ" in last
    # Bad values never crash: they fall back to the defaults.
    assert client.get("/staff/?page=abc&confidentiality=9&state=<x>&sort=evil&per_page=-1").status_code == 200
    # The filter stays in the URL of the pager links (bookmarkable).
    filtered = client.get("/staff/?state=invited&kind=outsourcing").get_data(as_text=True)
    next_link = re.search(r'<a rel="next" href="([^"]+)"', filtered)
    assert next_link and "state=invited" in next_link.group(1) and "kind=outsourcing" in next_link.group(1)
    assert 'value="invited" selected' in filtered


@pytest.mark.parametrize(
    "args, where",
    [
        ({"state": "draft"}, lambda: [Engagement.state == "draft"]),
        ({"confidentiality": "3"}, lambda: [Engagement.confidentiality == 3]),
        ({"kind": "cloud"}, lambda: [Engagement.reference.like("BLK-%"), Engagement.confidentiality == 3]),
    ],
)
def test_dashboard_filters_count_what_the_database_holds(app, client, big, login, args, where):
    login(big.users["procurement"])
    body = client.get("/staff/", query_string={**args, "per_page": "100"}).get_data(as_text=True)
    expected = _db_count(app, big.org_ids[TAMANA], *where())
    if args.get("kind") == "cloud":
        expected += 1  # the seed's own CLD-1
    assert _count_line(body).startswith(f"全{expected}件中")


def test_dashboard_due_filters(app, client, big, login):
    login(big.users["procurement"])
    now = utcnow()
    org = big.org_ids[TAMANA]
    overdue = _db_count(app, org, Engagement.id.in_(
        select(Invitation.engagement_id).where(Invitation.state == "open", Invitation.expires_at < now)))
    body = client.get("/staff/?due=overdue&per_page=100").get_data(as_text=True)
    assert overdue > 0 and _count_line(body).startswith(f"全{overdue}件中")
    rows = body.split("<tbody>")[1].split("</tr>")[:-1]
    assert rows and all("期限切れ" in r for r in rows)
    soon = _db_count(app, org, Engagement.id.in_(
        select(Invitation.engagement_id).where(Invitation.state == "open", Invitation.expires_at >= now,
                                               Invitation.expires_at < now + dt.timedelta(days=7))))
    body = client.get("/staff/?due=soon&per_page=100").get_data(as_text=True)
    assert soon > 0 and _count_line(body).startswith(f"全{soon}件中")
    assert "期限切れ" not in body.split("<tbody>")[1] and "期限間近" in body


def test_due_this_week_is_the_calendar_week_in_japan(app, client, big, login):
    """「今週」 is Monday to Sunday in Japan time (an invitation due last Sunday or next Monday is not in it),
    counted in SQL over the 2 000 engagements; the filter stays in the URL."""
    login(big.users["procurement"])
    org = big.org_ids[TAMANA]
    today = utcnow().astimezone(JST).date()
    monday = dt.datetime.combine(today - dt.timedelta(days=today.weekday()), dt.time(), tzinfo=JST)
    week = _db_count(app, org, Engagement.id.in_(
        select(Invitation.engagement_id).where(Invitation.state == "open", Invitation.expires_at >= monday,
                                               Invitation.expires_at < monday + dt.timedelta(days=7))))
    body = client.get("/staff/?due=week&per_page=20").get_data(as_text=True)
    assert week > 0 and _count_line(body).startswith(f"全{week}件中")
    assert 'value="week" selected' in body
    next_link = re.search(r'<a rel="next" href="([^"]+)"', body)
    assert next_link is None or "due=week" in next_link.group(1)
    with app.app_context():
        days = {d.astimezone(JST).date() for d in db.session.scalars(
            select(Invitation.expires_at).join(Engagement).where(
                Engagement.reference.in_(_refs(client.get("/staff/?due=week&per_page=100").get_data(as_text=True))),
                Invitation.state == "open"))}
    assert days and all(monday.date() <= d < monday.date() + dt.timedelta(days=7) for d in days)


def test_department_filter_and_archived_engagements(app, client, big, login):
    """所管課: the engagements one of whose officers belongs to the department; archived ones are hidden
    unless asked for."""
    login(big.users["procurement"])
    org = big.org_ids[TAMANA]
    with app.app_context():
        department = "情報政策課長"
        expected = _db_count(app, org, Engagement.id.in_(
            select(EngagementOfficer.engagement_id).join(Officer, Officer.id == EngagementOfficer.officer_id)
            .where(Officer.department == department, Officer.organisation_id == org)))
    body = client.get("/staff/", query_string={"department": department, "per_page": "20"}).get_data(as_text=True)
    assert 0 < expected < 2003 and _count_line(body).startswith(f"全{expected}件中")
    assert f'<option value="{department}" selected>' in body
    next_link = re.search(r'<a rel="next" href="([^"]+)"', body)
    assert next_link and "department=" in next_link.group(1)
    # Archive three of them (as the service does): hidden by default, shown by the filter.
    with app.app_context():
        refs = list(db.session.scalars(select(Engagement.reference).where(
            Engagement.organisation_id == org, Engagement.state == "draft").order_by(Engagement.id).limit(3)))
        for engagement in db.session.scalars(select(Engagement).where(Engagement.reference.in_(refs))):
            engagement.archived_at = utcnow()
        db.session.commit()
    assert _count_line(client.get("/staff/").get_data(as_text=True)).startswith("全2000件中")
    archived = client.get("/staff/?archived=archived").get_data(as_text=True)
    assert sorted(_refs(archived)) == sorted(refs) and "アーカイブ済み" in archived
    assert _count_line(client.get("/staff/?archived=all").get_data(as_text=True)).startswith("全2003件中")


def test_dashboard_search_by_reference_vendor_corporate_number_and_officer(app, client, big, login):
    login(big.users["procurement"])
    org = big.org_ids[TAMANA]
    body = client.get("/staff/?q=blk-01234").get_data(as_text=True)
    assert _refs(body) == ["BLK-01234"], "a reference, case-insensitive"
    # The seed's vendor (法人番号 7000012050002) has the three seeded engagements; typed with hyphens.
    body = client.get("/staff/", query_string={"q": "7000-0120-50002"}).get_data(as_text=True)
    assert sorted(_refs(body)) == ["CLD-1", "OUT-1", "SNS-1"]
    body = client.get("/staff/", query_string={"q": "株式会社BLK00007システム"}).get_data(as_text=True)
    with app.app_context():
        vendor_id = db.session.scalar(select(Vendor.id).filter_by(name="株式会社BLK00007システム"))
        expected = sorted(db.session.scalars(select(Engagement.reference).filter_by(vendor_id=vendor_id)))
        officer = db.session.scalar(select(Officer).filter_by(organisation_id=org, role="sns_owner"))
        linked = db.session.scalar(select(func.count(EngagementOfficer.id)).filter_by(officer_id=officer.id))
        officer_id, officer_name = officer.id, officer.name
    assert sorted(_refs(body)) == expected and expected
    body = client.get("/staff/", query_string={"q": officer_name, "per_page": "20"}).get_data(as_text=True)
    assert _count_line(body).startswith(f"全{linked}件中")
    body = client.get("/staff/", query_string={"officer": officer_id, "per_page": "20"}).get_data(as_text=True)
    assert _count_line(body).startswith(f"全{linked}件中")
    # A LIKE wildcard typed by a person is a character, not a pattern.
    assert "条件に合うものはありません" in client.get("/staff/?q=%25").get_data(as_text=True)


def test_other_organisation_lists_show_none_of_ours(app, client, big, login):
    login(big.users["other_org_admin"])
    body = client.get("/staff/?per_page=100").get_data(as_text=True)
    assert _count_line(body) == "全3件中 1〜3件を表示"
    assert "BLK-" not in body
    vendors = client.get("/staff/vendors?q=BLK").get_data(as_text=True)
    assert "条件に合うものはありません" in vendors and "株式会社BLK" not in vendors
    assert "BLK-" not in client.get("/legal/").get_data(as_text=True)
    assert "BLK-" not in client.get("/staff/review-queue").get_data(as_text=True)


def test_review_queue_vendors_and_legal_lists_page_and_filter(app, client, big, login):
    org = big.org_ids[TAMANA]
    login(big.users["reviewer"])
    waiting = _db_count(app, org, Engagement.state == "submitted")
    body = client.get("/staff/review-queue").get_data(as_text=True)
    assert _count_line(body).startswith(f"全{waiting}件中 1〜50件")
    assert "審査する" in body
    fails = client.get("/staff/review-queue?rating=fail&per_page=100").get_data(as_text=True)
    assert "不適合" in fails and "条件付適合" not in fails.split("<tbody>")[1]
    assert f"審査待ち（{waiting}件）" in client.get("/staff/").get_data(as_text=True)
    client.post("/logout")

    login(big.users["procurement"])
    vendors = client.get("/staff/vendors").get_data(as_text=True)
    assert _count_line(vendors) == "全301社中 1〜50社を表示"
    found = client.get("/staff/vendors", query_string={"q": "BLK00123"}).get_data(as_text=True)
    assert _count_line(found) == "全1社中 1〜1社を表示" and "株式会社BLK00123システム" in found
    client.post("/logout")

    login(big.users["legal"])
    approved = _db_count(app, org, Engagement.state == "approved")
    body = client.get("/legal/").get_data(as_text=True)
    assert _count_line(body).startswith(f"全{approved}件中 1〜50件")
    pending = client.get("/legal/?annex=none&per_page=100").get_data(as_text=True)
    assert "第1版" not in pending and "特記事項を作成する" in pending
    issued = client.get("/legal/?annex=issued&per_page=100").get_data(as_text=True)
    assert "第1版" in issued


def test_open_invitation_shows_the_contractors_progress(app, client, seed, login):
    from vendorrisk.services.answers import save_answers, visible_questions
    from vendorrisk.services.invitations import send_invitation
    from vendorrisk.services.unit_of_work import unit_of_work

    eid = seed.engagements[(TAMANA, "cloud")]
    with app.app_context(), unit_of_work():
        invitation = send_invitation(db.session.get(Engagement, eid), recipient_email="a@example.jp").invitation
        shown = visible_questions(invitation)
        yesno = [q for q in shown if q.type == "yesno"][:3]
        save_answers(invitation, {q.id: "yes" for q in yesno})
    with app.app_context():
        total = len(visible_questions(db.session.get(Engagement, eid).current_invitation()))
    login(seed.users["procurement"])
    body = client.get("/staff/").get_data(as_text=True)
    today = utcnow().astimezone(dt.timezone(dt.timedelta(hours=9))).date()
    assert f"3/{total} 項目・最終保存 {format_long_date(today)}" in body
    assert "未送信" in body


def test_engagement_form_finds_the_vendor_by_search_not_a_select_of_all(app, client, big, login):
    login(big.users["procurement"])
    form = client.get("/staff/engagements/new").get_data(as_text=True)
    assert "<select" not in form.split('name="reference"')[0], "no select of 300 vendors"
    assert "株式会社BLK00001システム" not in form
    found = client.get("/staff/engagements/new", query_string={"vendor_q": "BLK0012"}).get_data(as_text=True)
    names = re.findall(r"株式会社BLK\d+システム", found)
    assert names and len(set(names)) == 10 and all("BLK0012" in n for n in names)
    many = client.get("/staff/engagements/new", query_string={"vendor_q": "BLK"}).get_data(as_text=True)
    assert len(set(re.findall(r"株式会社BLK\d+システム", many))) == 20 and "最初の20件" in many
    with app.app_context():
        vendor_id = db.session.scalar(select(Vendor.id).filter_by(name="株式会社BLK00123システム"))
        other_vendor = db.session.scalar(select(Vendor.id).filter_by(organisation_id=big.org_ids["ome-city"]))
    link = re.search(r'href="([^"]*vendor_id=\d+)"', found)
    assert link
    chosen = client.get(f"/staff/engagements/new?vendor_id={vendor_id}").get_data(as_text=True)
    assert "株式会社BLK00123システム" in chosen and "別の事業者を選ぶ" in chosen
    assert f'name="vendor_id" type="hidden" value="{vendor_id}"' in chosen
    data = {"reference": "NEW-1", "title": "検索で選んだ事業者の案件", "kinds": ["cloud"], "confidentiality": "2",
            "integrity": "1", "availability": "1"}
    refused = client.post("/staff/engagements/new", data={**data, "vendor_id": str(other_vendor)})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 200 and "委託事業者を検索して選んでください。" in body
    assert 'value="検索で選んだ事業者の案件"' in body, "what was typed is kept"
    r = client.post("/staff/engagements/new", data={**data, "vendor_id": str(vendor_id)})
    assert r.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Engagement.vendor_id).filter_by(reference="NEW-1")) == vendor_id


def test_lists_are_cards_on_a_narrow_screen(client, seed, login):
    """At 375 px each row is a card whose cells carry their column name (app.css)."""
    login(seed.users["procurement"])
    body = client.get("/staff/").get_data(as_text=True)
    assert 'class="list-table"' in body and 'data-label="状態"' in body
    with client.get("/static/app.css") as served:
        css = served.get_data(as_text=True)
    narrow = css.split("@media (max-width: 47.99rem)")[1]
    assert ".list-table tr" in narrow and "content: attr(data-label)" in narrow


# --- statements per page: they must not grow with the rows ------------------------------------

PAGES = {
    "dashboard": ("procurement", "/staff/?q={p}-"),
    "dashboard_overdue_first": ("procurement", "/staff/?q={p}-&sort=due"),
    "dashboard_department": ("procurement", "/staff/?q={p}-&department=情報政策課長&archived=all"),
    "review_queue": ("reviewer", "/staff/review-queue?q={p}-"),
    "vendors": ("procurement", "/staff/vendors?q=株式会社{p}"),
    "legal": ("legal", "/legal/?q={p}-"),
    "vendor_search": ("procurement", "/staff/engagements/new?vendor_q=株式会社{p}"),
}


def _statements(app: Any, client: Any, url: str) -> tuple[int, str]:
    count = [0]
    with app.app_context():
        engine = db.engine

    def counter(*args: Any) -> None:
        count[0] += 1

    event.listen(engine, "before_cursor_execute", counter)
    try:
        body = client.get(url).get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", counter)
    return count[0], body


def test_list_pages_run_as_many_statements_for_50_rows_as_for_5(app, client, seed, login):
    org = seed.org_ids[TAMANA]
    # 7 engagements give every list at least one row (one approved, one waiting for review);
    # 70 give ten times as many rows (50 on the first page).
    _seed(app, org, vendors=7, engagements=7, answers=200, prefix="FEW")
    _seed(app, org, vendors=70, engagements=70, answers=2000, prefix="MANY")
    failures = []
    for name, (role, url) in PAGES.items():
        login(seed.users[role])
        client.get(url.format(p="FEW"))  # warm the caches (definitions) once
        few, few_body = _statements(app, client, url.format(p="FEW"))
        many, many_body = _statements(app, client, url.format(p="MANY"))
        assert few_body.count("FEW") >= 1 and many_body.count("MANY") > few_body.count("FEW"), name
        if many != few:
            failures.append(f"{name}: {few} statements for the few rows, {many} for ten times as many")
        assert few <= 12, f"{name}: {few} statements"
        client.post("/logout")
    assert not failures, "\n".join(failures)
