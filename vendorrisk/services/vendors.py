"""Vendors (委託事業者): registering one, and the checks the form runs before."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..extensions import db
from ..models import Organisation, Vendor
from . import audit


def create_vendor(org: Organisation, *, actor: audit.Actor = audit.SYSTEM, **fields: Any) -> Vendor:
    vendor = Vendor(organisation_id=org.id, **fields)
    db.session.add(vendor)
    db.session.flush()
    audit.record("vendor.create", "vendor", vendor.id, organisation_id=org.id, actor=actor,
                 data={"name": vendor.name})
    return vendor


def corporate_number_taken(organisation_id: int, number: str) -> bool:
    return db.session.scalar(
        select(Vendor.id).filter_by(organisation_id=organisation_id, corporate_number=number)
    ) is not None


def organisation_vendors(organisation_id: int) -> list[Vendor]:
    return list(db.session.scalars(select(Vendor).filter_by(organisation_id=organisation_id).order_by(Vendor.name)))


def organisation_vendor(organisation_id: int, vendor_id: object) -> Vendor | None:
    """The vendor with this id if it belongs to the organisation (never another's)."""
    if not isinstance(vendor_id, int) or not 0 < vendor_id < 2**31:
        return None
    vendor = db.session.get(Vendor, vendor_id)
    return vendor if vendor is not None and vendor.organisation_id == organisation_id else None
