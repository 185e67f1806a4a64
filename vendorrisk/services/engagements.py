"""Engagements (委託案件): registering one with its municipal officers, correcting it, archiving and
restoring it (nothing is deleted).

What the questionnaire and the annex depend on (the engagement profile: kinds, 機密性 and the other
classification, personal data) may change freely until an invitation is sent; afterwards only with a
recorded reason, and the change revokes the open invitation and marks the engagement as needing a new
one (the old answers stay on record)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from ..domain.vocabulary import JST
from ..extensions import db
from ..models import Engagement, EngagementOfficer, Invitation, Officer, Organisation, StateError, Vendor, utcnow
from . import audit, invitations

EDITABLE = ("reference", "title", "kinds", "confidentiality", "integrity", "availability", "personal_data",
            "my_number", "network_segment", "period_start", "period_end", "review_on")
# The engagement profile (Engagement.profile): questionnaires are chosen and answers scored on it.
QUESTIONNAIRE_FIELDS = frozenset(("kinds", "confidentiality", "integrity", "availability", "personal_data",
                                  "my_number", "network_segment"))
FIELD_LABELS = {
    "reference": "案件番号", "title": "件名", "kinds": "種別", "confidentiality": "機密性", "integrity": "完全性",
    "availability": "可用性", "personal_data": "個人情報の取扱い", "my_number": "マイナンバーの取扱い",
    "network_segment": "ネットワーク", "period_start": "契約期間（開始）", "period_end": "契約期間（終了）",
    "review_on": "次回の再評価日", "officer_ids": "本団体の責任者", "vendor_id": "委託事業者",
    "name": "事業者名", "corporate_number": "法人番号", "address": "所在地", "representative": "代表者",
    "contact_email": "連絡先メールアドレス", "archived_at": "アーカイブ日時",
}


class ReasonRequired(StateError):
    """A change to what the questionnaire depends on, after an invitation was sent, without a reason."""


@dataclass
class EngagementUpdate:
    changes: dict[str, Any] = field(default_factory=dict)
    revoked: Invitation | None = None
    needs_new_invitation: bool = False


def create_engagement(org: Organisation, vendor: Vendor, officer_ids: list[int], *,
                      actor: audit.Actor = audit.SYSTEM, **fields: Any) -> Engagement:
    if vendor.organisation_id != org.id:
        raise StateError("他の団体の事業者は指定できません。")
    engagement = Engagement(organisation_id=org.id, vendor_id=vendor.id, **fields)
    db.session.add(engagement)
    db.session.flush()
    for officer in _officers(org.id, officer_ids):
        engagement.officer_links.append(EngagementOfficer(officer_id=officer.id))
    db.session.flush()
    audit.record(
        "engagement.create", "engagement", engagement.id, organisation_id=org.id, actor=actor,
        data={"reference": engagement.reference, "kinds": engagement.kinds},
    )
    return engagement


def _officers(organisation_id: int, officer_ids: list[int]) -> list[Officer]:
    return list(db.session.scalars(
        select(Officer).where(Officer.id.in_(officer_ids), Officer.organisation_id == organisation_id)
        .order_by(Officer.id)
    ))


def questionnaire_locked(engagement: Engagement) -> bool:
    """Whether changing the profile now needs a reason (an invitation has been sent)."""
    return bool(engagement.invitations)


def questionnaire_changes(engagement: Engagement, fields: dict[str, Any]) -> list[str]:
    """The fields among `fields` that the questionnaire depends on and that would change."""
    before = {name: getattr(engagement, name) for name in QUESTIONNAIRE_FIELDS}
    return sorted(audit.changes(before, {k: v for k, v in fields.items() if k in QUESTIONNAIRE_FIELDS}))


def update_engagement(engagement: Engagement, officer_ids: list[int] | None = None, *, actor: audit.Actor,
                      reason: str = "", **fields: Any) -> EngagementUpdate:
    """Correct an engagement. A change to its profile after an invitation was sent needs `reason`
    (ReasonRequired otherwise), revokes the open invitation and marks it as needing a new one;
    refused once answers were submitted (the review and the annex stand on them)."""
    reason = (reason or "").strip()
    before: dict[str, Any] = {name: getattr(engagement, name) for name in EDITABLE}
    after: dict[str, Any] = {name: fields[name] for name in EDITABLE if name in fields}
    before["officer_ids"] = sorted(link.officer_id for link in engagement.officer_links)
    officers = _officers(engagement.organisation_id, officer_ids) if officer_ids is not None else None
    if officers is not None:
        after["officer_ids"] = [o.id for o in officers]
    changed = audit.changes(before, after)
    result = EngagementUpdate(changes=changed)
    if not changed:
        return result
    if _needs_reason(engagement, changed, reason):
        result.revoked = _revoke_open(engagement, actor, reason)
        engagement.needs_new_invitation = result.needs_new_invitation = True
    _apply(engagement, {name: fields[name] for name in changed if name != "officer_ids"},
           officers if "officer_ids" in changed else None)
    audit.record(
        "engagement.update", "engagement", engagement.id, organisation_id=engagement.organisation_id, actor=actor,
        data={"reference": engagement.reference, "changes": changed, "reason": reason,
              "revoked_invitation": result.revoked.id if result.revoked else None,
              "needs_new_invitation": result.needs_new_invitation},
    )
    return result


def _needs_reason(engagement: Engagement, changed: dict[str, Any], reason: str) -> bool:
    """Whether the change touches the profile after an invitation was sent (then it invalidates the
    invitation); raises when that is refused or the reason is missing."""
    profile_changed = sorted(QUESTIONNAIRE_FIELDS & set(changed))
    if not profile_changed or not questionnaire_locked(engagement):
        return False
    labels = "・".join(FIELD_LABELS[f] for f in profile_changed)
    if engagement.state in ("submitted", "approved"):
        raise StateError(
            f"回答が提出済みのため、{labels}は変更できません（審査と特記事項はこの回答にもとづいています）。"
            "審査で差し戻してから変更してください。")
    if not reason:
        raise ReasonRequired(
            f"回答依頼を送った後に{labels}を変えるには、変更の理由を入力してください。"
            "送信済みの回答依頼は取り消され、新しい回答依頼が必要になります。")
    return True


def _apply(engagement: Engagement, values: dict[str, Any], officers: list[Officer] | None) -> None:
    for name, value in values.items():
        setattr(engagement, name, value)
    if officers is not None:
        engagement.officer_links.clear()
        db.session.flush()
        for officer in officers:
            engagement.officer_links.append(EngagementOfficer(officer_id=officer.id))
    db.session.flush()


def _revoke_open(engagement: Engagement, actor: audit.Actor, reason: str) -> Invitation | None:
    for invitation in engagement.invitations:
        if invitation.state == "open":
            invitations.revoke_invitation(invitation, actor=actor, reason=reason)
            return invitation
    return None


def archive_engagement(engagement: Engagement, *, actor: audit.Actor) -> None:
    if engagement.archived_at is not None:
        raise StateError("この案件はすでにアーカイブされています。")
    if any(i.state == "open" for i in engagement.invitations):
        raise StateError("回答待ちの回答依頼があります。アーカイブする前に回答依頼を取り消してください。")
    engagement.archived_at = utcnow()
    audit.record("engagement.archive", "engagement", engagement.id, organisation_id=engagement.organisation_id,
                 actor=actor, data={"reference": engagement.reference, "changes": audit.changes(
                     {"archived_at": None}, {"archived_at": engagement.archived_at})})


def restore_engagement(engagement: Engagement, *, actor: audit.Actor) -> None:
    if engagement.archived_at is None:
        raise StateError("この案件はアーカイブされていません。")
    changed = audit.changes({"archived_at": engagement.archived_at}, {"archived_at": None})
    engagement.archived_at = None
    audit.record("engagement.restore", "engagement", engagement.id, organisation_id=engagement.organisation_id,
                 actor=actor, data={"reference": engagement.reference, "changes": changed})


def reference_taken(organisation_id: int, reference: str, *, except_id: int | None = None) -> bool:
    statement = select(Engagement.id).filter_by(organisation_id=organisation_id, reference=reference)
    if except_id is not None:
        statement = statement.where(Engagement.id != except_id)
    return db.session.scalar(statement.limit(1)) is not None


def a_year_after(moment: dt.datetime) -> dt.date:
    """The default 次回の再評価日: the same day (JST) a year later (29 February: the 28th)."""
    day = moment.astimezone(JST).date()
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


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
