"""Vendors (委託事業者): registering, correcting, archiving and restoring one, and the checks the
form runs before. Nothing is deleted: an archived vendor is hidden from the default lists."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..extensions import db
from ..models import Organisation, StateError, Vendor, utcnow
from . import audit

EDITABLE = ("name", "corporate_number", "address", "representative", "contact_email")


def create_vendor(org: Organisation, *, actor: audit.Actor = audit.SYSTEM, **fields: Any) -> Vendor:
    vendor = Vendor(organisation_id=org.id, **fields)
    db.session.add(vendor)
    db.session.flush()
    audit.record("vendor.create", "vendor", vendor.id, organisation_id=org.id, actor=actor,
                 data={"name": vendor.name})
    return vendor


def update_vendor(vendor: Vendor, *, actor: audit.Actor, **fields: Any) -> dict[str, Any]:
    """Correct a vendor's details; returns the changes (also in the audit event, before and after)."""
    before = {name: getattr(vendor, name) for name in EDITABLE}
    changed = audit.changes(before, {name: fields[name] for name in EDITABLE if name in fields})
    if not changed:
        return {}
    for name in changed:
        setattr(vendor, name, fields[name])
    db.session.flush()
    audit.record("vendor.update", "vendor", vendor.id, organisation_id=vendor.organisation_id, actor=actor,
                 data={"name": vendor.name, "changes": changed})
    return changed


def archive_vendor(vendor: Vendor, *, actor: audit.Actor) -> None:
    if vendor.archived_at is not None:
        raise StateError("この事業者はすでにアーカイブされています。")
    vendor.archived_at = utcnow()
    audit.record("vendor.archive", "vendor", vendor.id, organisation_id=vendor.organisation_id, actor=actor,
                 data={"name": vendor.name, "changes": audit.changes({"archived_at": None},
                                                                     {"archived_at": vendor.archived_at})})


def restore_vendor(vendor: Vendor, *, actor: audit.Actor) -> None:
    if vendor.archived_at is None:
        raise StateError("この事業者はアーカイブされていません。")
    changed = audit.changes({"archived_at": vendor.archived_at}, {"archived_at": None})
    vendor.archived_at = None
    audit.record("vendor.restore", "vendor", vendor.id, organisation_id=vendor.organisation_id, actor=actor,
                 data={"name": vendor.name, "changes": changed})


def corporate_number_taken(organisation_id: int, number: str, *, except_id: int | None = None) -> bool:
    statement = select(Vendor.id).filter_by(organisation_id=organisation_id, corporate_number=number)
    if except_id is not None:
        statement = statement.where(Vendor.id != except_id)
    return db.session.scalar(statement.limit(1)) is not None


def organisation_vendors(organisation_id: int) -> list[Vendor]:
    return list(db.session.scalars(select(Vendor).filter_by(organisation_id=organisation_id).order_by(Vendor.name)))


def organisation_vendor(organisation_id: int, vendor_id: object) -> Vendor | None:
    """The vendor with this id if it belongs to the organisation (never another's)."""
    if not isinstance(vendor_id, int) or not 0 < vendor_id < 2**31:
        return None
    vendor = db.session.get(Vendor, vendor_id)
    return vendor if vendor is not None and vendor.organisation_id == organisation_id else None
