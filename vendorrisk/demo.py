"""Demo data: the five real policies, their officers, users per role, and for each organisation one
engagement per kind taken through the whole path (invite → answer → submit → score → approve →
annex). Idempotent: running it again changes nothing that is already there."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from .domain import corporate_number
from .domain import questionnaire as qdef
from .domain.vocabulary import ROLE_LABELS, ROLES
from .extensions import db
from .models import Engagement, Organisation, User, Vendor
from .paths import POLICIES_DIR
from .services import (
    annexes,
    answers,
    definitions,
    engagements,
    invitations,
    officers,
    organisation_settings,
    review,
    users,
    vendors,
)
from .services.organisations import find_organisation, import_policy_bytes
from .services.unit_of_work import unit_of_work

DEMO_PASSWORD = "demo-pass-2026"
DEMO_ACTOR = "demo"

ORGS: list[dict[str, Any]] = [
    {
        "slug": "tamana-city",
        "file": "tamana-city.txt",
        "head": "玉名市長",
        "address": "熊本県玉名市岩崎163番地",
        "mail": "tamana",
        "officers": [
            ("ciso", "最高情報セキュリティ責任者", "中村 正", "副市長"),
            ("chief_security", "統括情報セキュリティ責任者", "松本 聡子", "総務部長"),
            ("security_manager", "情報セキュリティ管理者", "田中 健一", "情報政策課長"),
            ("sns_owner", "ソーシャルメディアサービス責任者", "井上 真理", "秘書広報課長"),
        ],
    },
    {
        "slug": "ryugasaki-eisei-kumiai",
        "file": "ryugasaki-eisei-kumiai.txt",
        "head": "龍ヶ崎地方衛生組合管理者",
        "address": "",  # not known here: the admin fills it in (団体設定)
        "mail": "ryugasaki",
        "officers": [
            ("ciso", "最高情報セキュリティ責任者", "小林 誠", "事務局長"),
            ("chief_security", "統括情報セキュリティ責任者", "渡辺 由美", "総務課長"),
            ("security_manager", "情報セキュリティ管理者", "𠮷田 浩二", "総務課長補佐"),
            ("sns_owner", "ソーシャルメディアサービス責任者", "加藤 智子", "総務課係長"),
        ],
    },
    {
        "slug": "nanbu-town-aomori",
        "file": "nanbu-town-aomori.txt",
        "head": "南部町長",
        "address": "青森県三戸郡南部町大字苫米地字下宿8番地1",
        "mail": "nanbu",
        "officers": [
            ("ciso", "最高情報セキュリティ責任者", "佐々木 隆", "副町長"),
            ("chief_security", "統括情報セキュリティ責任者", "工藤 恵子", "総務課長"),
            ("security_manager", "情報セキュリティ管理者", "三浦 大輔", "企画財政課長"),
            ("sns_owner", "ソーシャルメディアサービス責任者", "髙橋 美咲", "企画財政課長補佐"),
        ],
    },
    {
        "slug": "ichikawa-city",
        "file": "ichikawa-city.txt",
        "head": "市川市長",
        "address": "千葉県市川市八幡1丁目1番1号",
        "mail": "ichikawa",
        "officers": [
            ("ciso", "最高情報セキュリティ責任者", "山口 博", "副市長"),
            ("chief_security", "統括情報セキュリティ責任者", "石井 直美", "情報政策部長"),
            ("security_manager", "情報セキュリティ管理者", "山﨑 拓也", "情報システム課長"),
            ("sns_owner", "ソーシャルメディアサービス責任者", "森 亜希子", "広報広聴課長"),
        ],
    },
    {
        "slug": "ome-city",
        "file": "ome-city.txt",
        "head": "青梅市長",
        "address": "東京都青梅市東青梅1丁目11番地の1",
        "mail": "ome",
        "officers": [
            ("ciso", "最高情報セキュリティ責任者", "清水 修", "副市長"),
            ("chief_security", "統括情報セキュリティ責任者", "原田 久美子", "総務部長"),
            ("security_manager", "情報セキュリティ管理者", "岡田 隼人", "情報システム課長"),
            ("sns_owner", "ソーシャルメディアサービス責任者", "藤田 恵", "秘書広報課長"),
        ],
    },
]

VENDORS = [
    (
        "株式会社みなみデータサービス",
        "01234567890" + "1",
        "熊本県熊本市中央区水前寺1-2-3",
        "代表取締役 髙橋 𠮷男",
        "info@minami-data.example.jp",
    ),
    (
        "クラウドワークス合同会社",
        "98765432109" + "8",
        "東京都千代田区丸の内2-4-1",
        "代表社員 山﨑 花子",
        "contact@cloudworks.example.jp",
    ),
    (
        "株式会社まちの広報舎",
        "11223344556" + "6",
        "千葉県市川市八幡3-1-1",
        "代表取締役 渡邉 一郎",
        "office@machikoho.example.jp",
    ),
]

ENGAGEMENTS: list[dict[str, Any]] = [
    {
        "ref": "OUT-2026-001",
        "title": "住民情報システム運用保守業務委託",
        "kinds": ["outsourcing"],
        "confidentiality": 2,
        "personal_data": True,
        "my_number": False,
        "network_segment": "lgwan",
        "vendor": 0,
    },
    {
        "ref": "CLD-2026-001",
        "title": "電子申請サービス（SaaS）の利用",
        "kinds": ["cloud"],
        "confidentiality": 2,
        "personal_data": True,
        "my_number": False,
        "network_segment": "internet",
        "vendor": 1,
    },
    {
        "ref": "SNS-2026-001",
        "title": "公式SNSアカウント運用支援業務",
        "kinds": ["social_media"],
        "confidentiality": 1,
        "personal_data": False,
        "my_number": False,
        "network_segment": "internet",
        "vendor": 2,
    },
]


def _users_for(org: Organisation, mail: str) -> list[tuple[str, str]]:
    logins = []
    for role in ROLES:
        email = f"{role}@{mail}.example.jp"
        if not users.email_taken(email):
            users.create_user(
                org,
                email=email,
                role=role,
                name=f"{ROLE_LABELS[role]}（デモ）",
                password=DEMO_PASSWORD,
                actor=DEMO_ACTOR,
            )
        logins.append((email, f"{org.name}・{ROLE_LABELS[role]}"))
    return logins


def _choice_answer(question: qdef.Question) -> Any:
    if question.type == "yesno":
        return "yes"
    if question.type == "single":
        return max(question.options, key=lambda o: o.score).value if question.options else None
    scored = [o.value for o in question.options if o.score > 0][:3]
    return scored or ([question.options[0].value] if question.options else [])


def _person_answer(question: qdef.Question, vendor: Vendor) -> dict[str, str]:
    domain = vendor.contact_email.split("@")[-1]
    if question.id.endswith("security_officer"):
        return {
            "name": "山﨑 𠮷郎",
            "title": "情報セキュリティ部長",
            "department": "情報セキュリティ部",
            "email": f"security@{domain}",
            "phone": "03-1234-5679",
        }
    return {
        "name": "髙橋 優子",
        "title": "業務責任者",
        "department": "公共ソリューション部",
        "email": f"manager@{domain}",
        "phone": "03-1234-5678",
    }


def _group_answer(question: qdef.Question, engagement: Engagement) -> list[dict[str, str]]:
    if not question.id.endswith("accounts"):
        return []  # no subcontractors in the demo
    org = engagement.organisation
    return [
        {
            "service": "X（旧Twitter）",
            "account": f"@{org.slug.replace('-', '_')}_koho",
            "section": "秘書広報課",
            "owner": "秘書広報課長",
        },
        {
            "service": "LINE公式アカウント",
            "account": f"{org.name}公式",
            "section": "秘書広報課",
            "owner": "秘書広報課長",
        },
    ]


def _text_answer(question: qdef.Question, vendor: Vendor, engagement: Engagement) -> str | None:
    """Free text, chosen by what the question is about."""
    cloud = "cloud" in engagement.kinds
    texts = {
        "work_site": f"{vendor.address}（本社 運用センター、入退室管理あり）",
        "data_site": "日本国内（東京リージョン、バックアップは大阪リージョン）"
        if cloud
        else "日本国内のデータセンター（東京都内、ISMS認証取得拠点）",
        "data_location": "日本国内（東京リージョン、バックアップは大阪リージョン）",
        "data_storage_site": "日本国内のデータセンター（東京都内、ISMS認証取得拠点）",
        "governing_law": "日本法",
        "court": f"{engagement.organisation.name}の事務所の所在地を管轄する地方裁判所",
        "service_name": "まちの電子申請クラウド（エンタープライズ版）",
        "service.name": "まちの電子申請クラウド（エンタープライズ版）",
        "service.purpose": "住民からの電子申請の受付",
        "reseller": "",
        "capital": "資本金5,000万円。外国資本の出資はありません。",
        "staff": "従事者は全員当社の正社員で、情報処理安全確保支援士2名を含みます。",
        "track_record": "県内の自治体で同種業務を10件受託しています。",
    }
    for suffix, text in texts.items():
        if question.id.endswith(suffix):
            return text or None
    return "社内規程に基づき実施しています。詳細は別紙のとおりです。"


def demo_answer(question: qdef.Question, vendor: Vendor, engagement: Engagement) -> Any:
    """A good, realistic answer for a demo contractor."""
    kind = question.type
    if kind in ("yesno", "single", "multi"):
        return _choice_answer(question)
    if kind == "person":
        return _person_answer(question, vendor)
    if kind == "group":
        return _group_answer(question, engagement)
    if kind == "date":
        # The date questions ask when a certificate expires: a good one outlasts the contract.
        return dt.date((engagement.period_end or dt.date(2027, 3, 31)).year + 2, 3, 31).isoformat()
    if kind == "number":
        return 99.9 if "sla" in question.id else 12
    if kind == "file":
        return None
    return _text_answer(question, vendor, engagement)


def demo_answers(questions: list[qdef.Question], vendor: Vendor, engagement: Engagement) -> dict[str, Any]:
    """The demo's good answer to each of these questions, with the 補足 the bank requires for it
    (e.g. the ISMAP registration number when the service is listed)."""
    given: dict[str, Any] = {}
    for question in questions:
        given[question.id] = demo_answer(question, vendor, engagement)
        if question.note_required(given[question.id]):
            given[qdef.note_key(question.id)] = "デモ：回答の根拠を補足します（登録番号、規約の該当条項など）。"
    return given


def _take_through(engagement: Engagement, reviewer: User, legal: User) -> None:
    """Invite → answer → submit → score → decide → annex, through the services (flushes only)."""
    vendor = engagement.vendor
    sent = invitations.send_invitation(engagement, recipient_email=vendor.contact_email, recipient_name="ご担当者")
    invitation = sent.invitation
    profile = engagement.profile()
    given: dict[str, Any] = {}
    for q in definitions.invitation_questionnaires(invitation):
        given.update(demo_answers(q.applicable(profile), vendor, engagement))
    # `shown_when` questions only count when shown; keep the rest (harmless, not scored).
    answers.save_answers(invitation, given)
    assessment = answers.submit_response(invitation)
    review.decide(
        assessment,
        "approved" if assessment.rating != "fail" else "rejected",
        reviewer,
        "デモ：回答内容を確認しました。",
    )
    if engagement.state == "approved":
        annexes.issue_annex(engagement, legal, issued_on=dt.date(2026, 11, 20))


def _demo_organisation(spec: dict[str, Any]) -> Organisation:
    org = find_organisation(spec["slug"])
    if org is None:
        path = POLICIES_DIR / spec["file"]
        org, _ = import_policy_bytes(
            path.read_bytes(), path.name, slug=spec["slug"], head_title=spec["head"], actor=DEMO_ACTOR
        )
        # The office's public address; the head's name is never made up: the 覚書 is refused until an
        # admin enters it (団体設定「特記事項・覚書の記載」).
        organisation_settings.save_annex_settings(
            org, {**organisation_settings.annex_settings(org), "address": spec["address"]}, actor=DEMO_ACTOR)
    if not org.officers:
        for role, title, name, dept in spec["officers"]:
            officers.add_officer(org, role=role, role_title=title, name=name, department=dept, actor=DEMO_ACTOR)
        db.session.expire(org, ["officers"])
    return org


def _demo_vendors(org: Organisation) -> list[Vendor]:
    out = []
    for name, base, address, rep, email in VENDORS:
        number = corporate_number.make(base)
        vendor = db.session.scalar(select(Vendor).filter_by(organisation_id=org.id, corporate_number=number))
        if vendor is None:
            vendor = vendors.create_vendor(
                org,
                name=name,
                corporate_number=number,
                address=address,
                representative=rep,
                contact_email=email,
                actor=DEMO_ACTOR,
            )
        out.append(vendor)
    return out


def _demo_engagement(org: Organisation, vendor: Vendor, spec: dict[str, Any]) -> Engagement:
    officer_ids = [
        o.id
        for o in org.officers
        if o.role == "security_manager" or (o.role == "sns_owner" and "social_media" in spec["kinds"])
    ]
    return engagements.create_engagement(
        org,
        vendor,
        officer_ids,
        actor=DEMO_ACTOR,
        reference=spec["ref"],
        title=spec["title"],
        kinds=spec["kinds"],
        confidentiality=spec["confidentiality"],
        integrity=1,
        availability=1,
        personal_data=spec["personal_data"],
        my_number=spec["my_number"],
        network_segment=spec["network_segment"],
        period_start=dt.date(2026, 12, 1),
        period_end=dt.date(2027, 3, 31),
    )


def _load_organisation(spec: dict[str, Any]) -> list[tuple[str, str]]:
    org = _demo_organisation(spec)
    logins = _users_for(org, spec["mail"])
    demo_vendors = _demo_vendors(org)
    reviewer = db.session.scalar(select(User).filter_by(organisation_id=org.id, role="reviewer"))
    legal = db.session.scalar(select(User).filter_by(organisation_id=org.id, role="legal"))
    assert reviewer is not None and legal is not None
    for spec_e in ENGAGEMENTS:
        if not engagements.reference_taken(org.id, spec_e["ref"]):
            _take_through(_demo_engagement(org, demo_vendors[spec_e["vendor"]], spec_e), reviewer, legal)
    return logins


def load_demo() -> list[tuple[str, str]]:
    """Every demo organisation, each in its own unit of work (idempotent)."""
    logins: list[tuple[str, str]] = []
    for spec in ORGS:
        with unit_of_work():
            logins += _load_organisation(spec)
    return logins
