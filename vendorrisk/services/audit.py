"""Tamper-evident audit log: one HMAC-keyed, gapless chain per organisation, anchored outside the database.

- **One chain per organisation** (chain = organisation id; chain 0 holds events without one). An append
  first bumps the chain's head row (`audit_chain_heads`) with `UPDATE ... RETURNING`: on PostgreSQL that
  takes the row lock until the transaction ends (a concurrent writer waits and then reads the new head),
  on SQLite it takes the database write lock before the previous hash is read. Each event gets the next
  sequence number of its chain (unique per chain), so a deleted or inserted event leaves a visible gap.
- **Keyed**: each event's `hash` is an HMAC-SHA256 over its content, chain, sequence number and the
  previous event's MAC, under a key that lives outside the database (`instance/audit.key`, or the
  `AUDIT_HMAC_KEY` / `AUDIT_KEY` setting). Someone who can write to the database but not read the key
  cannot recompute a valid chain.
- **Anchored**: after each commit that appended to a chain (or every `AUDIT_ANCHOR_EVERY` events), the
  chain head (chain, seq, MAC, time) is appended to `instance/audit-anchors.jsonl` (O_APPEND, fsync;
  `AUDIT_ANCHOR_FILE` may name another place). Deleting the newest events is then caught against the
  anchors. `vendorrisk audit anchor` writes the heads on demand (e.g. from cron or after an upgrade).
- **Legacy rows** (written before migration 0004, unkeyed SHA-256 in one global chain) are kept as they
  are, with scheme 'sha256'; the first keyed event of each chain carries the newest legacy hash as its
  prev_hash, which seals them (the legacy hashes are cumulative).

`record()` flushes and never commits; the caller's unit of work commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import event as sa_event
from sqlalchemy import inspect, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..domain.vocabulary import canonical_json
from ..extensions import db
from ..models import AuditChainHead, AuditEvent, User, utcnow

GENESIS = "0" * 64
SCHEME = "hmac-sha256"
LEGACY_SCHEME = "sha256"
NO_ORGANISATION_CHAIN = 0
ANCHOR_FILE = "audit-anchors.jsonl"
_PENDING_ANCHORS = "vendorrisk.audit.pending_anchors"
_KEY_CACHE = "vendorrisk.audit_key"

log = logging.getLogger(__name__)

# What `vendorrisk audit verify` says about each kind of damage (Japanese, shown to the auditor).
DAMAGE_LABELS = {
    "edited": "内容が書き換えられています（鍵による署名が一致しません）",
    "rehashed": "書き換えたうえで、鍵を使わずにハッシュが計算し直されています",
    "deleted": "記録が削除されています（番号が欠けています）",
    "inserted": "記録が後から差し込まれています",
    "truncated": "末尾の記録が削除されています（アンカーまたは先頭情報より短くなっています）",
    "forked": "チェーンが分岐しています（同じ前の記録に二つの記録がつながっています）",
    "head": "チェーンの先頭情報が記録と一致しません",
    "anchor": "アンカーに記録された署名と一致しません（記録が置き換えられています）",
    "anchor_file": "アンカーファイルの行が壊れているか、書き換えられています",
    "legacy": "鍵導入前の旧形式の記録が書き換えられたか、削除されています",
}


class AuditKeyMissing(RuntimeError):
    """The HMAC key is gone while keyed events exist: restore it from backup, never make a new one."""


# --- the key -------------------------------------------------------------------------------------------
def key_path() -> Path:
    return Path(current_app.instance_path) / "audit.key"


def anchor_path() -> Path:
    configured = current_app.config.get("AUDIT_ANCHOR_FILE")
    return Path(configured) if configured else Path(current_app.instance_path) / ANCHOR_FILE


def audit_key() -> bytes:
    """The HMAC key: the AUDIT_HMAC_KEY / AUDIT_KEY setting, else instance/audit.key (created while no
    keyed event exists yet; refused afterwards, so a lost key is never silently replaced)."""
    cached = current_app.extensions.get(_KEY_CACHE)
    if isinstance(cached, bytes):
        return cached
    configured = current_app.config.get("AUDIT_HMAC_KEY") or current_app.config.get("AUDIT_KEY")
    if configured not in (None, ""):
        key = str(configured).encode("utf-8")
    else:
        path = key_path()
        if not path.exists():
            if db.session.scalar(select(AuditEvent.id).where(AuditEvent.scheme == SCHEME).limit(1)) is not None:
                raise AuditKeyMissing(
                    f"監査ログの鍵 {path} がありません。鍵で署名された記録があるため、新しい鍵は作りません。"
                    "バックアップから鍵を戻してください。"
                )
            from ..instance_setup import ensure_audit_key

            ensure_audit_key(path.parent)
        key = path.read_text(encoding="ascii").strip().encode("ascii")
        if not key:
            raise AuditKeyMissing(f"監査ログの鍵 {path} が空です。バックアップから鍵を戻してください。")
    current_app.extensions[_KEY_CACHE] = key
    return key


def _mac(key: bytes, payload: dict[str, Any]) -> str:
    return hmac.new(key, canonical_json(payload).encode("utf-8"), hashlib.sha256).hexdigest()


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


def event_payload(event: AuditEvent) -> dict[str, Any]:
    """What a keyed event's MAC covers: everything but its id and its own MAC."""
    return {
        "v": SCHEME,
        "chain": event.chain,
        "seq": event.seq,
        "prev": event.prev_hash,
        "organisation_id": event.organisation_id,
        "actor": event.actor,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "data": event.data,
        "at": _iso(event.at),
    }


def legacy_sha256(payload: dict[str, Any]) -> str:
    """SHA-256 of the pre-0004 JSON form (default separators, not `canonical_json`).

    The only second JSON form in the project: rows written before migration 0004 were hashed this
    way, so checking them (and spotting a forger who used it) needs it unchanged."""
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def legacy_digest(event: AuditEvent) -> str:
    """The unkeyed SHA-256 of a row written before migration 0004 (the old format, kept to check them)."""
    payload = {
        "prev": event.prev_hash,
        "organisation_id": event.organisation_id,
        "actor": event.actor,
        "action": event.action,
        "object": f"{event.object_type}:{event.object_id}",
        "data": event.data,
        "at": event.at.isoformat(),
    }
    return legacy_sha256(payload)


def chain_of(organisation_id: int | None) -> int:
    return organisation_id if organisation_id else NO_ORGANISATION_CHAIN


# --- appending -------------------------------------------------------------------------------------
# Who did it: a staff User, or a string such as "cli", "demo", "contractor:invitation:7".
Actor = User | str | None
SYSTEM = "system"


def actor_for(actor: Actor) -> str:
    if isinstance(actor, str):
        return actor
    if actor is not None and getattr(actor, "is_authenticated", False):
        return f"user:{actor.id}:{actor.email}"
    return SYSTEM


def _advance_head(chain: int) -> tuple[int, str]:
    """Take the chain's lock and its next sequence number; return (seq, prev_hash)."""
    bump = (
        update(AuditChainHead)
        .where(AuditChainHead.chain == chain)
        .values(seq=AuditChainHead.seq + 1)
        .returning(AuditChainHead.seq, AuditChainHead.last_hash)
        .execution_options(synchronize_session=False)
    )
    row = db.session.execute(bump).first()
    if row is None:
        values = {"chain": chain, "seq": 0, "last_hash": GENESIS}
        if db.session.get_bind().dialect.name == "postgresql":
            db.session.execute(pg_insert(AuditChainHead).values(**values).on_conflict_do_nothing())
        else:
            db.session.execute(sqlite_insert(AuditChainHead).values(**values).on_conflict_do_nothing())
        row = db.session.execute(bump).one()
    return int(row[0]), str(row[1])


def record(
    action: str,
    object_type: str,
    object_id: object,
    *,
    organisation_id: int | None,
    actor: Actor = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an event to its organisation's chain (flushes, never commits). Services pass `actor`
    (a User or an actor string)."""
    key = audit_key()
    chain = chain_of(organisation_id)
    seq, prev = _advance_head(chain)
    event = AuditEvent(
        organisation_id=organisation_id,
        chain=chain,
        seq=seq,
        scheme=SCHEME,
        actor=actor_for(actor),  # every service passes its actor; None is the system
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        # Stored as JSON: hash exactly what will be read back (tuples → lists, int keys → str).
        data=json.loads(canonical_json(data or {})),
        at=utcnow(),
        prev_hash=prev,
    )
    event.hash = _mac(key, event_payload(event))
    db.session.execute(
        update(AuditChainHead).where(AuditChainHead.chain == chain).values(last_hash=event.hash)
        .execution_options(synchronize_session=False)
    )
    db.session.add(event)
    db.session.flush()
    _queue_anchor(event, key)
    return event


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{field: {"before": old, "after": new}} for the fields whose value differs (JSON-ready values),
    what an edit records in its audit event."""
    out = {}
    for name, new in after.items():
        old = before.get(name)
        if _plain(old) != _plain(new):
            out[name] = {"before": _plain(old), "after": _plain(new)}
    return out


def user_id_of(actor: str) -> int | None:
    """The staff user's id in an actor string ("user:3:a@example.jp" or "user:3"), else None."""
    parts = actor.split(":")
    return int(parts[1]) if len(parts) >= 2 and parts[0] == "user" and parts[1].isdigit() else None


def actor_names(organisation_id: int) -> Any:
    """A function giving an actor string's name for people (the organisation's users by name)."""
    names = dict(db.session.execute(select(User.id, User.name).where(User.organisation_id == organisation_id)).all())

    def name(actor: str) -> str:
        user_id = user_id_of(actor)
        if user_id is not None:
            return str(names.get(user_id, f"職員（ID {user_id}）"))
        if actor.startswith("contractor:"):
            return "回答者（事業者）"
        if actor.startswith("api_key:"):
            return f"APIキー（ID {actor.split(':')[1]}）"
        return {"system": "システム", "cli": "コマンド操作", "demo": "デモデータ"}.get(actor, actor)

    return name


# --- anchors -------------------------------------------------------------------------------------------
def _anchor_line(key: bytes, *, chain: int, organisation_id: int | None, seq: int, mac: str) -> dict[str, Any]:
    line: dict[str, Any] = {"chain": chain, "organisation_id": organisation_id, "seq": seq, "hmac": mac,
                            "at": _iso(utcnow())}
    line["mac"] = _mac(key, {"anchor": line})
    return line


@dataclass(frozen=True)
class _PendingAnchor:
    event: AuditEvent  # only to see whether it survived the transaction; its attributes expire at commit
    key: bytes
    path: Path
    chain: int
    organisation_id: int | None
    seq: int
    mac: str


def _queue_anchor(event: AuditEvent, key: bytes) -> None:
    """Remember the chain head to anchor once this transaction commits (never for a rolled-back event)."""
    every = max(1, int(current_app.config.get("AUDIT_ANCHOR_EVERY") or 1))
    pending: dict[int, _PendingAnchor] = db.session.info.setdefault(_PENDING_ANCHORS, {})
    if event.chain in pending or event.seq % every == 0:
        pending[event.chain] = _PendingAnchor(event, key, anchor_path(), event.chain, event.organisation_id,
                                              event.seq, event.hash)


@sa_event.listens_for(Session, "after_commit")
def _write_pending_anchors(session: Session) -> None:
    pending: dict[int, _PendingAnchor] = session.info.pop(_PENDING_ANCHORS, {})
    by_path: dict[Path, list[dict[str, Any]]] = {}
    for p in pending.values():
        if inspect(p.event).persistent:  # events of a rolled-back transaction were expunged
            by_path.setdefault(p.path, []).append(_anchor_line(
                p.key, chain=p.chain, organisation_id=p.organisation_id, seq=p.seq, mac=p.mac))
    for path, lines in by_path.items():
        try:
            append_anchors(path, lines)
        except OSError:
            # The events are committed; the next anchor covers them. Never fail the request here.
            log.exception("could not append audit anchors to %s", path)


def append_anchors(path: Path, lines: Iterable[dict[str, Any]]) -> None:
    """Append lines to the anchor file in one write (O_APPEND), then fsync."""
    blob = "".join(canonical_json(line) + "\n" for line in lines).encode("utf-8")
    if not blob:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, blob)
        os.fsync(fd)
    finally:
        os.close(fd)


def anchor_heads(chain: int | None = None) -> list[dict[str, Any]]:
    """Anchor the newest committed event of each chain (or one chain) now; returns the lines written."""
    key = audit_key()
    stmt = select(AuditEvent).order_by(AuditEvent.chain, AuditEvent.seq.desc())
    if chain is not None:
        stmt = stmt.where(AuditEvent.chain == chain)
    newest: dict[int, AuditEvent] = {}
    for ev in db.session.scalars(stmt):
        newest.setdefault(ev.chain, ev)
    lines = [_anchor_line(key, chain=ev.chain, organisation_id=ev.organisation_id, seq=ev.seq, mac=ev.hash)
             for ev in newest.values()]
    append_anchors(anchor_path(), lines)
    return lines


@dataclass(frozen=True)
class Anchor:
    line_no: int
    chain: int
    seq: int
    hmac: str
    raw: dict[str, Any]


def read_anchors(key: bytes, path: Path | None = None) -> tuple[list[Anchor], list[int]]:
    """The anchor file's lines whose MAC holds, and the line numbers of those that do not."""
    path = path or anchor_path()
    good: list[Anchor] = []
    bad: list[int] = []
    if not path.exists():
        return good, bad
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line_no, text in enumerate(fh, start=1):
            anchor = _parse_anchor(key, line_no, text)
            if anchor is None:
                bad.append(line_no)
            else:
                good.append(anchor)
    return good, bad


def _parse_anchor(key: bytes, line_no: int, text: str) -> Anchor | None:
    try:
        raw = json.loads(text)
        body = {k: raw[k] for k in ("chain", "organisation_id", "seq", "hmac", "at")}
        ok = hmac.compare_digest(_mac(key, {"anchor": body}), str(raw["mac"]))
        return Anchor(line_no, int(raw["chain"]), int(raw["seq"]), str(raw["hmac"]), raw) if ok else None
    except (ValueError, KeyError, TypeError):
        return None


# --- verification --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Damage:
    chain: int
    kind: str  # a key of DAMAGE_LABELS
    seq_from: int
    seq_to: int
    event_ids: tuple[int, ...] = ()
    detail: str = ""

    @property
    def label(self) -> str:
        return DAMAGE_LABELS[self.kind]


@dataclass
class ChainSummary:
    chain: int
    events: int = 0
    legacy: int = 0
    last_seq: int = 0
    anchored_seq: int = 0


@dataclass
class Report:
    chains: dict[int, ChainSummary] = field(default_factory=dict)
    damage: list[Damage] = field(default_factory=list)
    anchors: int = 0

    @property
    def intact(self) -> bool:
        return not self.damage


def _legacy_check(report: Report) -> str:
    """Check the legacy (unkeyed, global) chain; return its newest hash (what seals it)."""
    prev = GENESIS
    for ev in db.session.scalars(select(AuditEvent).where(AuditEvent.scheme == LEGACY_SCHEME).order_by(AuditEvent.id)):
        if ev.prev_hash != prev or legacy_digest(ev) != ev.hash:
            report.damage.append(Damage(ev.chain, "legacy", ev.seq, ev.seq, (ev.id,)))
        prev = ev.hash
    return prev


def _plain_hashes(ev: AuditEvent) -> set[str]:
    """Hashes an attacker without the key would compute for this event."""
    payload = event_payload(ev)
    return {
        hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest(),
        legacy_sha256(payload),
        legacy_digest(ev),
    }


@dataclass
class _Walk:
    """State while walking one chain in sequence order."""

    chain: int
    key: bytes
    legacy_head: str
    head_seq: int | None
    damage: list[Damage] = field(default_factory=list)
    expected: int = 1
    prev_hash: str = GENESIS
    prev_valid: bool = True
    seen_keyed: bool = False
    bad_seqs: set[int] = field(default_factory=set)

    def add(self, kind: str, ev: AuditEvent | None, seq_from: int, seq_to: int | None = None) -> None:
        ids = (ev.id,) if ev is not None else ()
        self.damage.append(Damage(self.chain, kind, seq_from, seq_to if seq_to is not None else seq_from, ids))
        if ev is not None:
            self.bad_seqs.add(ev.seq)

    def step(self, ev: AuditEvent, following: AuditEvent | None) -> None:
        if ev.seq > self.expected:
            self.add("deleted", None, self.expected, ev.seq - 1)
        elif ev.seq < self.expected:
            self.add("inserted", ev, ev.seq)
        if ev.scheme == LEGACY_SCHEME:
            self._legacy_step(ev)
        else:
            self._keyed_step(ev, following)
        self.expected = max(self.expected, ev.seq + 1)

    def _legacy_step(self, ev: AuditEvent) -> None:
        if self.seen_keyed:  # a row in the old, unkeyed format after keyed ones: written around the key
            self.add("inserted", ev, ev.seq)
        self.prev_hash = self.legacy_head
        self.prev_valid = True

    def _keyed_step(self, ev: AuditEvent, following: AuditEvent | None) -> None:
        self.seen_keyed = True
        valid = hmac.compare_digest(_mac(self.key, event_payload(ev)), ev.hash)
        if not valid:
            self.add(self._classify(ev, following), ev, ev.seq)
        elif ev.prev_hash != self.prev_hash and self.prev_valid and ev.seq == self.expected:
            first_keyed_after_legacy = self.legacy_head != GENESIS and self.prev_hash == self.legacy_head
            self.add("legacy" if first_keyed_after_legacy else "forked", ev, ev.seq)
        self.prev_hash = ev.hash
        self.prev_valid = valid

    def _classify(self, ev: AuditEvent, following: AuditEvent | None) -> str:
        if (following is not None and following.id < ev.id) or (self.head_seq is not None and ev.seq > self.head_seq):
            return "inserted"
        return "rehashed" if ev.hash in _plain_hashes(ev) else "edited"


def _walk_chain(chain: int, events: list[AuditEvent], key: bytes, legacy_head: str,
                head: AuditChainHead | None) -> _Walk:
    walk = _Walk(chain, key, legacy_head, head.seq if head is not None else None)
    for i, ev in enumerate(events):
        walk.step(ev, events[i + 1] if i + 1 < len(events) else None)
    last = events[-1] if events else None
    last_seq = last.seq if last is not None else 0
    if last is None or last_seq in walk.bad_seqs:
        return walk
    if head is None:
        walk.add("head", None, last_seq)
    elif head.seq == last_seq:
        # A chain that ends in legacy rows points at the newest legacy hash (what its next event links to).
        expected = last.hash if last.scheme == SCHEME else legacy_head
        if head.last_hash != expected:
            walk.add("head" if last.scheme == SCHEME else "legacy", last, last_seq)
    return walk


def _check_anchors(walk: _Walk, events: list[AuditEvent], anchors: list[Anchor], head: AuditChainHead | None) -> int:
    """Compare the chain's end with its head row and its anchors; return the highest anchored seq."""
    by_seq = {ev.seq: ev for ev in events}
    last_seq = max(by_seq, default=0)
    top = max((a.seq for a in anchors), default=0)
    claimed = max(top, head.seq if head is not None else 0)
    if claimed > last_seq:
        walk.add("truncated", None, last_seq + 1, claimed)
    for anchor in anchors:
        ev = by_seq.get(anchor.seq)
        if ev is not None and ev.hash != anchor.hmac and ev.seq not in walk.bad_seqs:
            walk.add("anchor", ev, ev.seq)
    return top


def verify(chain: int | None = None) -> Report:
    """Check every chain (or one): keyed MACs, gapless sequence numbers, links, heads and anchors."""
    key = audit_key()
    report = Report()
    legacy_head = _legacy_check(report)
    if chain is not None:
        report.damage = [d for d in report.damage if d.chain == chain]
    anchors, bad_lines = read_anchors(key)
    if chain is not None:
        anchors = [a for a in anchors if a.chain == chain]
    report.anchors = len(anchors)
    report.damage.extend(Damage(-1, "anchor_file", n, n, (), f"{anchor_path()} {n}行目") for n in bad_lines)
    heads = {h.chain: h for h in db.session.scalars(select(AuditChainHead))}
    chains = _chains(chain, heads, anchors)
    for c in sorted(chains):
        events = list(db.session.scalars(
            select(AuditEvent).where(AuditEvent.chain == c).order_by(AuditEvent.seq, AuditEvent.id)))
        walk = _walk_chain(c, events, key, legacy_head, heads.get(c))
        anchored = _check_anchors(walk, events, [a for a in anchors if a.chain == c], heads.get(c))
        report.chains[c] = ChainSummary(c, len(events), sum(1 for e in events if e.scheme == LEGACY_SCHEME),
                                        max((e.seq for e in events), default=0), anchored)
        report.damage.extend(walk.damage)
    return report


def _chains(only: int | None, heads: dict[int, AuditChainHead], anchors: list[Anchor]) -> set[int]:
    if only is not None:
        return {only}
    found = set(db.session.scalars(select(AuditEvent.chain).distinct()))
    return found | set(heads) | {a.chain for a in anchors}


def verify_chain() -> list[int]:
    """Ids of damaged events (0 for damage with no event left, e.g. truncation); empty when intact."""
    return sorted({i for d in verify().damage for i in (d.event_ids or (0,))})


# --- export ----------------------------------------------------------------------------------------------
def export_lines(chain: int | None = None) -> Iterator[dict[str, Any]]:
    """Every event, then every anchor line, as dicts ready for JSON lines (what an auditor takes away)."""
    stmt = select(AuditEvent).order_by(AuditEvent.chain, AuditEvent.seq)
    if chain is not None:
        stmt = stmt.where(AuditEvent.chain == chain)
    for ev in db.session.scalars(stmt):
        yield {"type": "event", "id": ev.id, **event_payload(ev), "v": ev.scheme, "hash": ev.hash}
    path = anchor_path()
    if not path.exists():
        return
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line_no, text in enumerate(fh, start=1):
            try:
                raw = json.loads(text)
            except ValueError:
                raw = {"unreadable": text.rstrip("\n")}
            if not isinstance(raw, dict):
                raw = {"unreadable": text.rstrip("\n")}
            if chain is None or raw.get("chain") == chain or "unreadable" in raw:
                yield {"type": "anchor", "line": line_no, **raw}
