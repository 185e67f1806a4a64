"""Benchmark the staff lists at a prefecture's scale (#12 item 3).

    .venv/bin/python bench/lists.py                  (SQLite, about a minute on 2 cores)
    .venv/bin/python bench/lists.py --db postgres    (a temporary database on 127.0.0.1:5432)

Seeds one organisation with 10 000 vendors, 3 000 engagements and 100 000 answers by bulk inserts in a
temporary instance, then requests each list page (and the vendor search of the engagement form)
through the Flask test client, logged in, and prints the p95 per page with the number of SQL
statements it ran and the load average beside the figures.                      goal: p95 ≤ 100 ms

`seed_organisation` is also what tests/test_lists.py uses to seed its organisation fast.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import re
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, event, insert, select, text  # noqa: E402

from vendorrisk.domain import questionnaire as qdef  # noqa: E402
from vendorrisk.domain.vocabulary import KINDS  # noqa: E402
from vendorrisk.extensions import db  # noqa: E402
from vendorrisk.models import (  # noqa: E402
    Annex,
    Answer,
    Assessment,
    Engagement,
    EngagementOfficer,
    Invitation,
    InvitationQuestionnaire,
    Officer,
    Organisation,
    Response,
    Vendor,
    utcnow,
)

CONFIDENTIALITY = {"outsourcing": 2, "cloud": 3, "social_media": 1}
# engagement state → (invitation state, response state)
STATES = ("draft", "invited", "invited", "invited", "submitted", "approved", "rejected")
FINDINGS = [
    {"question_id": "out.mfa", "question_text": "管理者アカウントに多要素認証を設定していますか。",
     "answer_display": "=HYPERLINK(\"http://evil.example\")", "why": "多要素認証が未設定です。",
     "remediation": "管理者アカウントに多要素認証を設定すること。", "severity": "high", "severity_ja": "高",
     "deadline_days": 30, "deadline": "2027-01-31", "must_pass": True},
]


def _batched(rows: list[dict[str, Any]], size: int = 5000) -> Any:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def _bulk(model: Any, rows: list[dict[str, Any]]) -> None:
    for batch in _batched(rows):
        db.session.execute(insert(model), batch)


def _kind_templates(org: Organisation, vendor: Vendor) -> dict[str, tuple[list[int], dict[str, Any], Any]]:
    """Per kind: the frozen questionnaire version ids, a demo answer to every applicable question,
    and the engagement profile."""
    from vendorrisk.demo import demo_answer
    from vendorrisk.services.definitions import current_definitions, store_version

    out = {}
    for kind in KINDS:
        sample = Engagement(organisation_id=org.id, vendor_id=vendor.id, reference="x", title="x", kinds=[kind],
                            confidentiality=CONFIDENTIALITY[kind], integrity=1, availability=1,
                            personal_data=kind == "outsourcing", my_number=False, network_segment="lgwan")
        sample.vendor, sample.organisation = vendor, org
        chosen = qdef.select_for_engagement(current_definitions(), sample.profile())
        version_ids = [store_version(q).id for q in chosen]
        given = {q.id: demo_answer(q, vendor, sample) for qn in chosen for q in qn.applicable(sample.profile())}
        if sample in db.session:
            db.session.expunge(sample)
        out[kind] = (version_ids, {k: v for k, v in given.items() if v is not None}, sample.profile())
    return out


Invited = list[tuple[int, str, str]]  # (engagement id, state, kind) of the engagements sent an invitation


def _seed_vendors(org_id: int, count: int, prefix: str, now: dt.datetime) -> list[int]:
    _bulk(Vendor, [
        {"organisation_id": org_id, "name": f"株式会社{prefix}{i:05d}システム", "corporate_number": None,
         "address": f"熊本県玉名市{i}番地", "representative": f"代表取締役 山田 {i}",
         "contact_email": f"v{i}@example.jp", "created_at": now}
        for i in range(count)
    ])
    return list(db.session.scalars(
        select(Vendor.id).where(Vendor.organisation_id == org_id, Vendor.name.like(f"株式会社{prefix}%"))
        .order_by(Vendor.id)))


def _seed_engagements(org_id: int, vendor_ids: list[int], count: int, prefix: str, now: dt.datetime) -> Invited:
    """Engagements of every kind and state, each linked to one of the organisation's officers;
    returns those past draft (they get an invitation)."""
    _bulk(Engagement, [
        {"organisation_id": org_id, "vendor_id": vendor_ids[i % len(vendor_ids)], "reference": f"{prefix}-{i:05d}",
         "title": f"委託案件{i:05d}（{['基幹系', '窓口', '広報'][i % 3]}）", "kinds": [KINDS[i % 3]],
         "confidentiality": CONFIDENTIALITY[KINDS[i % 3]], "integrity": 1, "availability": 1,
         "personal_data": KINDS[i % 3] == "outsourcing", "my_number": False, "network_segment": "lgwan",
         "state": STATES[i % len(STATES)], "created_at": now}
        for i in range(count)
    ])
    rows = db.session.execute(
        select(Engagement.id, Engagement.state, Engagement.kinds)
        .where(Engagement.organisation_id == org_id, Engagement.reference.like(f"{prefix}-%")).order_by(Engagement.id)
    ).all()
    officers = list(db.session.scalars(select(Officer.id).filter_by(organisation_id=org_id)))
    if officers:
        _bulk(EngagementOfficer, [{"engagement_id": eid, "officer_id": officers[n % len(officers)]}
                                  for n, (eid, _, _) in enumerate(rows)])
    return [(eid, state, kinds[0]) for eid, state, kinds in rows if state != "draft"]


def _seed_invitations(org_id: int, invited: Invited, templates: dict[str, Any], prefix: str,
                      now: dt.datetime) -> dict[int, int]:
    """Invitations (deadlines from 10 days ago to 5 weeks ahead), their questionnaires and
    responses; returns engagement id → response id."""
    _bulk(Invitation, [
        {"engagement_id": eid, "token_hash": hashlib.sha256(f"{prefix}-{org_id}-{eid}".encode()).hexdigest(),
         "recipient_name": "ご担当者", "recipient_email": "a@example.jp",
         "expires_at": now + dt.timedelta(days=(n % 45) - 10, hours=1),
         "state": "open" if state == "invited" else "submitted", "created_at": now}
        for n, (eid, state, _) in enumerate(invited)
    ])
    invitation_ids: dict[int, int] = dict(db.session.execute(  # type: ignore[arg-type]
        select(Invitation.engagement_id, Invitation.id).where(Invitation.engagement_id.in_([e for e, _, _ in invited]))
    ).all())
    _bulk(InvitationQuestionnaire, [
        {"invitation_id": invitation_ids[eid], "questionnaire_version_id": vid, "position": p}
        for eid, _, kind in invited for p, vid in enumerate(templates[kind][0])
    ])
    drafts = {eid for eid, state, _ in invited if state == "invited"}
    _bulk(Response, [
        {"invitation_id": invitation_ids[eid], "state": "draft" if eid in drafts else "submitted",
         "completed_sections": [], "updated_at": now, "submitted_at": None if eid in drafts else now,
         "answers_sha256": None if eid in drafts else "0" * 64,
         "frozen_answers": None if eid in drafts else templates[kind][1]}
        for eid, _, kind in invited
    ])
    by_invitation: dict[int, int] = dict(db.session.execute(  # type: ignore[arg-type]
        select(Response.invitation_id, Response.id).where(Response.invitation_id.in_(list(invitation_ids.values())))
    ).all())
    return {eid: by_invitation[invitation_ids[eid]] for eid in invitation_ids}


def _draft_take(n: int, items: int) -> int:
    return (n * 7) % (items + 1)


def _seed_answers(invited: Invited, templates: dict[str, Any], responses: dict[int, int], total: int,
                  now: dt.datetime) -> int:
    """Open invitations are part-answered (progress varies); submitted ones hold their answers,
    padded with earlier drafts' answers (ids no longer asked) up to about `total` rows."""
    drafts = sum(min(len(templates[kind][1]), _draft_take(n, len(templates[kind][1])))
                 for n, (_, state, kind) in enumerate(invited) if state == "invited")
    submitted = sum(1 for _, state, _ in invited if state != "invited")
    per_invitation = max(1, (total - drafts) // max(1, submitted))
    rows = []
    for n, (eid, state, kind) in enumerate(invited):
        items = list(templates[kind][1].items())
        take = per_invitation if state != "invited" else _draft_take(n, len(items))
        items += [(f"bench.earlier_{k}", "以前の回答") for k in range(max(0, take - len(items)))]
        rows.extend({"response_id": responses[eid], "question_id": qid, "value": value,
                     "updated_at": now - dt.timedelta(days=n % 20)} for qid, value in items[:take])
    _bulk(Answer, rows)
    return len(rows)


def _seed_reviews(org_id: int, invited: Invited, responses: dict[int, int], prefix: str, now: dt.datetime) -> None:
    """Assessments (ratings and risks mixed, decided when approved or rejected) and a first
    annex for every other approved engagement."""
    decided = {"approved": "approved", "rejected": "rejected", "submitted": None}
    _bulk(Assessment, [
        {"engagement_id": eid, "response_id": responses[eid], "score": 40.0 + (n % 60),
         "rating": "pass" if state == "approved" else ("pass", "conditional", "fail")[(n // 6) % 3],
         "inherent_risk": ("high", "medium", "low")[(n // 6 + 1) % 3],
         "result": {"rating_ja": "条件付適合", "findings": FINDINGS}, "decision": decided[state],
         "decision_note": "", "created_at": now - dt.timedelta(days=n % 30)}
        for n, (eid, state, _) in enumerate(invited) if state in decided
    ])
    approved = [eid for eid, state, _ in invited if state == "approved"]
    _bulk(Annex, [
        {"engagement_id": eid, "version": 1, "document_id": f"VR-{prefix}-{org_id}-{eid}-v1", "snapshot": {},
         "snapshot_sha256": "0" * 64, "answers_sha256": "0" * 64, "text": "第1条", "pdf": b"%PDF-1.7",
         "pdf_sha256": "0" * 64, "created_at": now}
        for eid in approved[::2]
    ])


def seed_organisation(org_id: int, *, vendors: int, engagements: int, answers: int,
                      prefix: str = "BLK") -> dict[str, int]:
    """Bulk-insert vendors, engagements (every state, officers linked), invitations with their
    questionnaires, responses, about `answers` answers, assessments and a few annexes (flushes; the
    caller commits). Deadlines are spread so some are overdue, some due this week."""
    org = db.session.get(Organisation, org_id)
    assert org is not None
    now = utcnow()
    vendor_ids = _seed_vendors(org_id, vendors, prefix, now)
    templates = _kind_templates(org, db.session.get(Vendor, vendor_ids[0]))  # type: ignore[arg-type]
    invited = _seed_engagements(org_id, vendor_ids, engagements, prefix, now)
    responses = _seed_invitations(org_id, invited, templates, prefix, now)
    answer_count = _seed_answers(invited, templates, responses, answers, now)
    _seed_reviews(org_id, invited, responses, prefix, now)
    db.session.flush()
    return {"vendors": len(vendor_ids), "engagements": engagements, "answers": answer_count}


# --- the benchmark ----------------------------------------------------------------------------

PAGES = {
    "案件一覧（既定：期限順）": "/staff/",
    "案件一覧 検索「システム」": "/staff/?q=%E3%82%B7%E3%82%B9%E3%83%86%E3%83%A0",
    "案件一覧 期限切れ・機密性3": "/staff/?due=overdue&confidentiality=3",
    "案件一覧 10ページ目": "/staff/?page=10",
    "審査待ち": "/staff/review-queue",
    "事業者一覧": "/staff/vendors",
    "事業者一覧 検索・50ページ目": "/staff/vendors?q=%E6%A0%AA%E5%BC%8F&page=50",
    "案件の登録（事業者の検索）": "/staff/engagements/new?vendor_q=01234",
    "特記事項": "/legal/",
}


def _pg_database() -> tuple[str, Any]:
    admin_dsn = os.environ.get("VENDORRISK_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    name = f"vendorrisk_bench_{secrets.token_hex(4)}"
    admin = create_engine(admin_dsn, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n "
                              "AND pid <> pg_backend_pid()"), {"n": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()

    return re.sub(r"/[^/]*$", f"/{name}", admin_dsn), drop


def _setup(instance: Path, backend: str) -> tuple[Any, Any]:
    from vendorrisk import create_app
    from vendorrisk.domain.policy import parse_policy_file
    from vendorrisk.migrate import upgrade
    from vendorrisk.models import User
    from vendorrisk.paths import POLICIES_DIR
    from vendorrisk.services.organisations import import_policy
    from vendorrisk.services.users import hash_password

    config: dict[str, Any] = {"TESTING": True, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                              "RATELIMIT_ENABLED": False, "BASE_URL": "http://localhost"}
    drop = None
    if backend == "postgres":
        config["DATABASE_URL"], drop = _pg_database()
    app = create_app(config, instance_path=instance)
    upgrade(app)
    with app.app_context():
        path = POLICIES_DIR / "tamana-city.txt"
        org, _ = import_policy(parse_policy_file(path), path.read_text(encoding="utf-8"), slug="tamana-city")
        org.officers.append(Officer(role="security_manager", role_title="情報セキュリティ管理者", name="管理 太郎",
                                    department="情報政策課長"))
        db.session.flush()
        for role in ("admin", "reviewer", "legal"):
            db.session.add(User(organisation_id=org.id, email=f"{role}@bench.test", name=role, role=role,
                                password_hash=hash_password("bench-password-2026")))
        started = time.perf_counter()
        counts = seed_organisation(org.id, vendors=10_000, engagements=3_000, answers=100_000)
        db.session.commit()
        if backend == "postgres":
            # Fresh bulk-loaded tables have no planner statistics until autovacuum comes by.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))
        print(f"seeded {counts} in {time.perf_counter() - started:.1f} s")
    return app, drop


def _measure(app: Any, runs: int) -> list[tuple[str, float, float, int]]:
    client = app.test_client()
    client.post("/login", data={"email": "admin@bench.test", "password": "bench-password-2026"})
    statements = [0]
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*args: Any) -> None:
        statements[0] += 1

    results = []
    for label, url in PAGES.items():
        assert client.get(url).status_code == 200, url  # warm (templates, definition cache)
        times = []
        for _ in range(runs):
            statements[0] = 0
            started = time.perf_counter()
            r = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert r.status_code == 200
        p95 = statistics.quantiles(times, n=20)[-1]
        results.append((label, statistics.median(times), p95, statements[0]))
    event.remove(engine, "before_cursor_execute", _count)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vendorrisk-bench-lists-") as folder:
        app, drop = _setup(Path(folder), args.db)
        try:
            results = _measure(app, args.runs)
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            if drop:
                drop()
    load = os.getloadavg()
    print(f"\nlists on {args.db} (10 000 vendors / 3 000 engagements / 100 000 answers), "
          f"{args.runs} runs each, test client; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          f"on {os.cpu_count()} cores")
    print(f"{'page':<28} {'median':>9} {'p95':>9} {'SQL':>5}  goal p95 ≤ 100 ms")
    worst = 0.0
    for label, median, p95, statements in results:
        worst = max(worst, p95)
        print(f"{label:<28} {median:7.1f}ms {p95:7.1f}ms {statements:5d}  {'ok' if p95 <= 100 else 'OVER'}")
    print(f"worst p95 {worst:.1f} ms: {'goal met' if worst <= 100 else 'goal NOT met'} (load {os.getloadavg()[0]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
