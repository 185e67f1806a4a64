"""The organisation's registry of named municipal officers."""

from __future__ import annotations

from ..extensions import db
from ..models import Officer, Organisation
from . import audit


def add_officer(org: Organisation, *, role: str, role_title: str, name: str, department: str = "",
                email: str = "", actor: audit.Actor) -> Officer:
    officer = Officer(organisation_id=org.id, role=role, role_title=role_title, name=name,
                      department=department, email=email)
    db.session.add(officer)
    db.session.flush()
    audit.record("officer.create", "officer", officer.id, organisation_id=org.id, actor=actor,
                 data={"name": officer.name})
    return officer
