"""Engagements (委託案件): registering one with its municipal officers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..extensions import db
from ..models import Engagement, EngagementOfficer, Officer, Organisation, StateError, Vendor
from . import audit


def create_engagement(org: Organisation, vendor: Vendor, officer_ids: list[int], *,
                      actor: audit.Actor = audit.SYSTEM, **fields: Any) -> Engagement:
    if vendor.organisation_id != org.id:
        raise StateError("他の団体の事業者は指定できません。")
    engagement = Engagement(organisation_id=org.id, vendor_id=vendor.id, **fields)
    db.session.add(engagement)
    db.session.flush()
    officers = db.session.scalars(
        select(Officer).where(Officer.id.in_(officer_ids), Officer.organisation_id == org.id)
    ).all()
    for officer in officers:
        engagement.officer_links.append(EngagementOfficer(officer_id=officer.id))
    db.session.flush()
    audit.record(
        "engagement.create", "engagement", engagement.id, organisation_id=org.id, actor=actor,
        data={"reference": engagement.reference, "kinds": engagement.kinds},
    )
    return engagement


def reassess(engagement: Engagement, *, actor: audit.Actor = audit.SYSTEM) -> Engagement:
    """「再評価」: the next assessment of an approved engagement, as a new engagement for the same
    vendor and service (classification, officers and period copied; reference 「<元>-2」, 「-3」 …).
    Its invitation pre-fills the answers from the last approved assessment."""
    if engagement.state != "approved":
        raise StateError("再評価は、承認済みの案件についてだけ始められます。")
    base = engagement.reference.rsplit("-R", 1)[0]
    n = 2
    while reference_taken(engagement.organisation_id, f"{base}-R{n}"):
        n += 1
    fields = {name: getattr(engagement, name) for name in (
        "title", "confidentiality", "integrity", "availability", "personal_data", "my_number", "network_segment",
        "period_start", "period_end")}
    successor = create_engagement(
        engagement.organisation, engagement.vendor, [o.id for o in engagement.officers], actor=actor,
        reference=f"{base}-R{n}"[:40], kinds=list(engagement.kinds), **fields,
    )
    audit.record("engagement.reassess", "engagement", engagement.id, organisation_id=engagement.organisation_id,
                 actor=actor, data={"next": successor.reference})
    return successor


def reference_taken(organisation_id: int, reference: str) -> bool:
    return db.session.scalar(
        select(Engagement.id).filter_by(organisation_id=organisation_id, reference=reference)
    ) is not None
