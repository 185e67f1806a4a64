"""Fixtures on real parts: a real SQLite file per test (copied from a migrated template) and, when
one answers at 127.0.0.1:5432, a real PostgreSQL database (mandatory under CI=true)."""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, select, text

from vendorrisk import create_app
from vendorrisk.extensions import db
from vendorrisk.migrate import upgrade

PG_ADMIN_DSN = os.environ.get("VENDORRISK_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
TEST_PASSWORD = "correct-horse-battery-2026"


def _postgres_wanted() -> bool:
    return os.environ.get("VENDORRISK_TEST_POSTGRES", "1") != "0"


def _postgres_answers() -> bool:
    try:
        engine = create_engine(PG_ADMIN_DSN, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


PG_AVAILABLE = _postgres_wanted() and _postgres_answers()
BACKENDS = ["sqlite"] + (["postgres"] if PG_AVAILABLE else [])


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("CI", "").lower() == "true" and _postgres_wanted() and not PG_AVAILABLE:
        raise pytest.UsageError(
            "CI=true but PostgreSQL does not answer at 127.0.0.1:5432: the PostgreSQL run is mandatory in CI."
        )


def pytest_report_header(config: pytest.Config) -> str:
    return f"vendorrisk database backends: {', '.join(BACKENDS)}"


BASE_CONFIG: dict[str, Any] = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key",
    "WTF_CSRF_ENABLED": False,
    "RATELIMIT_ENABLED": False,
    "BASE_URL": "http://localhost",
    "MAIL_SENDER": "noreply@vendorrisk.test",
}


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("template")
    app = create_app(dict(BASE_CONFIG), instance_path=folder)
    upgrade(app)
    with app.app_context():
        db.engine.dispose()
    return folder / "vendorrisk.db"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    if not PG_AVAILABLE:
        pytest.skip("PostgreSQL does not answer at 127.0.0.1:5432")
    name = f"vendorrisk_test_{secrets.token_hex(4)}"
    admin = create_engine(PG_ADMIN_DSN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = re.sub(r"/[^/]*$", f"/{name}", PG_ADMIN_DSN)
    yield url
    with admin.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"
            ),
            {"n": name},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


_PG_MIGRATED: set[str] = set()


def make_app(backend: str, tmp_path: Path, request: pytest.FixtureRequest, **overrides: Any) -> Flask:
    config = {**BASE_CONFIG, **overrides}
    tmp_path.mkdir(parents=True, exist_ok=True)
    if backend == "sqlite":
        shutil.copy(request.getfixturevalue("sqlite_template"), tmp_path / "vendorrisk.db")
        app = create_app(config, instance_path=tmp_path)
        request.addfinalizer(lambda: _dispose(app))
        return app
    url = request.getfixturevalue("pg_url")
    app = create_app({**config, "DATABASE_URL": url}, instance_path=tmp_path)
    request.addfinalizer(lambda: _dispose(app))
    if url not in _PG_MIGRATED:
        upgrade(app)
        _PG_MIGRATED.add(url)
    with app.app_context():
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        with db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return app


def _dispose(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def app(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Flask]:
    yield make_app(backend, tmp_path, request)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def password_hash() -> str:
    from vendorrisk.services.users import hash_password

    return hash_password(TEST_PASSWORD)


@pytest.fixture
def seed(app: Flask, password_hash: str) -> SimpleNamespace:
    return seed_data(app, password_hash)


VENDOR_DEFAULTS: dict[str, Any] = {
    "name": "株式会社テストシステム",
    "corporate_number": "7000012050002",
    "address": "熊本県玉名市岩崎163",
    "representative": "代表取締役 髙橋 𠮷男",
    "contact_email": "tanto@test-system.example.jp",
}
KIND_DEFAULTS = {"outsourcing": ("OUT-1", 2), "cloud": ("CLD-1", 2), "social_media": ("SNS-1", 1)}


def new_vendor(org: Any, **fields: Any) -> Any:
    """A vendor of `org` through the service (flushes; the caller commits)."""
    from vendorrisk.services.vendors import create_vendor

    return create_vendor(org, **{**VENDOR_DEFAULTS, **fields})


def new_engagement(org: Any, vendor: Any, kind: str = "outsourcing", **fields: Any) -> Any:
    """An engagement of one kind with all the organisation's officers (flushes; the caller commits)."""
    from vendorrisk.services.engagements import create_engagement

    reference, confidentiality = KIND_DEFAULTS[kind]
    values = {
        "reference": reference,
        "title": f"テスト案件 {kind}",
        "kinds": [kind],
        "confidentiality": confidentiality,
        "integrity": 1,
        "availability": 1,
        "personal_data": kind == "outsourcing",
        "my_number": False,
        "network_segment": "lgwan",
        **fields,
    }
    return create_engagement(org, vendor, [o.id for o in org.officers], **values)


def submitted_invitation(engagement: Any, overrides: dict[str, Any] | None = None) -> Any:
    """Invite, store the demo's good answer to every applicable question (then `overrides`), submit."""
    from vendorrisk.demo import demo_answers
    from vendorrisk.services.answers import save_answers, submit_response
    from vendorrisk.services.definitions import invitation_questionnaires
    from vendorrisk.services.invitations import send_invitation

    invitation = send_invitation(engagement, recipient_email="a@example.jp").invitation
    profile = engagement.profile()
    given = {k: v for qn in invitation_questionnaires(invitation)
             for k, v in demo_answers(qn.applicable(profile), engagement.vendor, engagement).items()}
    save_answers(invitation, {**given, **(overrides or {})})
    submit_response(invitation)
    return invitation


@pytest.fixture
def make_vendor(app: Flask) -> Callable[..., int]:
    def make(org_id: int, **fields: Any) -> int:
        from vendorrisk.models import Organisation
        from vendorrisk.services.unit_of_work import unit_of_work

        with app.app_context(), unit_of_work():
            vendor_id = new_vendor(db.session.get(Organisation, org_id), **fields).id
        return int(vendor_id)

    return make


@pytest.fixture
def make_engagement(app: Flask) -> Callable[..., int]:
    def make(org_id: int, vendor_id: int, kind: str = "outsourcing", **fields: Any) -> int:
        from vendorrisk.models import Organisation, Vendor
        from vendorrisk.services.unit_of_work import unit_of_work

        with app.app_context(), unit_of_work():
            org = db.session.get(Organisation, org_id)
            engagement_id = new_engagement(org, db.session.get(Vendor, vendor_id), kind, **fields).id
        return int(engagement_id)

    return make


@pytest.fixture
def make_submitted_invitation(app: Flask) -> Callable[..., int]:
    """`make(engagement_id, overrides=None)` → the id of a submitted (and scored) invitation."""

    def make(engagement_id: int, overrides: dict[str, Any] | None = None) -> int:
        from vendorrisk.models import Engagement
        from vendorrisk.services.unit_of_work import unit_of_work

        with app.app_context(), unit_of_work():
            invitation_id = submitted_invitation(db.session.get(Engagement, engagement_id), overrides).id
        return int(invitation_id)

    return make


def seed_data(app: Flask, password_hash: str) -> SimpleNamespace:
    """Two organisations from their real policies; tamana-city has a user per role, officers,
    a vendor and one engagement per kind (not yet invited); ome-city has an admin and one engagement."""
    from vendorrisk.domain.policy import parse_policy_file
    from vendorrisk.models import Officer, User
    from vendorrisk.paths import POLICIES_DIR
    from vendorrisk.services.organisations import import_policy

    ns = SimpleNamespace(users={}, engagements={})
    with app.app_context():
        orgs = {}
        for slug in ("tamana-city", "ome-city"):
            path = POLICIES_DIR / f"{slug}.txt"
            org, _ = import_policy(parse_policy_file(path), path.read_text(encoding="utf-8"), slug=slug)
            org.officers.append(
                Officer(
                    role="security_manager",
                    role_title="情報セキュリティ管理者",
                    name=f"管理 太郎{slug[:2]}",
                    department="情報政策課長",
                )
            )
            org.officers.append(
                Officer(
                    role="sns_owner",
                    role_title="ソーシャルメディアサービス責任者",
                    name="広報 花子",
                    department="秘書広報課長",
                )
            )
            orgs[slug] = org
        db.session.flush()
        for role in ("admin", "procurement", "reviewer", "legal"):
            email = f"{role}@tamana.test"
            db.session.add(
                User(
                    organisation_id=orgs["tamana-city"].id,
                    email=email,
                    name=f"{role}さん",
                    role=role,
                    password_hash=password_hash,
                )
            )
            ns.users[role] = email
        db.session.add(
            User(
                organisation_id=orgs["ome-city"].id,
                email="admin@ome.test",
                name="青梅 管理者",
                role="admin",
                password_hash=password_hash,
            )
        )
        ns.users["other_org_admin"] = "admin@ome.test"
        for slug, org in orgs.items():
            vendor = new_vendor(org)
            for kind in KIND_DEFAULTS:
                ns.engagements[(slug, kind)] = new_engagement(org, vendor, kind).id
        db.session.commit()
        ns.org_ids = {slug: org.id for slug, org in orgs.items()}
    return ns


@pytest.fixture
def invite(client: FlaskClient, seed: SimpleNamespace, login: Callable[[str], Any]) -> Callable[..., str]:
    """Procurement sends an invitation for a seeded tamana-city engagement (by kind, or an
    engagement id) through the page, logs out, and returns the token shown for copying."""
    from helpers import token_from_outbox_or_page

    def do_invite(kind: str = "outsourcing", *, eid: int | None = None, **data: str) -> str:
        login(seed.users["procurement"])
        eid = eid or seed.engagements[("tamana-city", kind)]
        r = client.post(f"/staff/engagements/{eid}/invite", data={"recipient_email": "a@example.jp", **data})
        assert r.status_code == 200, r.get_data(as_text=True)[:2000]
        client.post("/logout")
        return token_from_outbox_or_page(r.get_data(as_text=True))

    return do_invite


@pytest.fixture
def login(client: FlaskClient) -> Callable[[str], Any]:
    def do_login(email: str, password: str = TEST_PASSWORD) -> Any:
        return client.post("/login", data={"email": email, "password": password})

    return do_login


def approve_through_services(
    app: Flask, seed: SimpleNamespace, kind: str = "outsourcing", slug: str = "tamana-city"
) -> int:
    """Take one seeded engagement through invite → answers → submit → approve → annex (demo answers)."""
    from vendorrisk.demo import _take_through
    from vendorrisk.models import Engagement, User
    from vendorrisk.services.unit_of_work import unit_of_work

    with app.app_context(), unit_of_work():
        eng = db.session.get(Engagement, seed.engagements[(slug, kind)])
        reviewer = db.session.scalar(select(User).filter_by(email=seed.users["reviewer"]))
        legal = db.session.scalar(select(User).filter_by(email=seed.users["legal"]))
        _take_through(eng, reviewer, legal)
        engagement_id = eng.id
    return int(engagement_id)


# One headless Chromium for the whole session, shared by every browser test module (a second
# sync Playwright in the same thread would refuse to start while the first is open).
from browser_support import browser_fixture, live_server_fixture  # noqa: E402,F401


@pytest.fixture
def smtp() -> Iterator[tuple[Any, Any]]:
    """A real SMTP server on loopback (aiosmtpd): (controller, handler with .messages)."""
    from aiosmtpd.controller import Controller
    from helpers import CollectMail, free_port

    handler = CollectMail()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, handler
    controller.stop()


@pytest.fixture
def loop_states(app: Flask, seed: SimpleNamespace, invite: Callable[..., str],
                make_engagement: Callable[..., int]) -> dict[str, tuple[int, str]]:
    """tamana-city engagements in each open state of the review loop, through the services, as
    name → (engagement id, contractor token): "clarification" (one question asked), "conditional"
    (two 是正事項, the first reported), "in_approval" (approved, waiting for legal's 決裁)."""
    from vendorrisk.demo import demo_answer
    from vendorrisk.models import Engagement, Organisation, User
    from vendorrisk.services import answers, clarifications, review
    from vendorrisk.services.definitions import invitation_questionnaires
    from vendorrisk.services.invitations import invitation_for_token
    from vendorrisk.services.unit_of_work import unit_of_work

    with app.app_context():
        vendor_id = db.session.get(Engagement, seed.engagements[("tamana-city", "outsourcing")]).vendor_id
    out = {}
    for name in ("clarification", "conditional", "in_approval"):
        eid = make_engagement(seed.org_ids["tamana-city"], vendor_id, "outsourcing", reference=f"LOOP-{name}")
        token = invite(eid=eid)
        with app.test_request_context(), unit_of_work():
            inv = invitation_for_token(token)
            eng = inv.engagement
            questions = {q.id: q for qn in invitation_questionnaires(inv) for q in qn.questions()}
            answers.save_answers(inv, {q.id: demo_answer(q, eng.vendor, eng)
                                       for qn in invitation_questionnaires(inv) for q in qn.applicable(eng.profile())})
            assessment = answers.submit_response(inv)
            reviewer = db.session.scalar(select(User).filter_by(email=seed.users["reviewer"]))
            org = db.session.get(Organisation, seed.org_ids["tamana-city"])
            if name == "clarification":
                clarifications.request_clarification(assessment, {"out.select.isms": "範囲を書いてください。"}, 5,
                                                     reviewer, questions)
            elif name == "conditional":
                review.decide(assessment, "conditional", reviewer, "条件付きで承認します。", [
                    review.RemediationDraft("研修の記録を整備し", 10), review.RemediationDraft("手順書を定め", 20)])
                assessment.remediations[0].record_report("研修を実施しました。")
            else:
                org.settings["approval_route"] = [{"stage": "approve", "role": "legal"}]
                review.decide(assessment, "approved", reviewer, "適合しています。")
                org.settings["approval_route"] = []
        out[name] = (eid, token)
    return out
