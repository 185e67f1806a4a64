"""The audit trail as an auditor attacks it: rows edited, deleted, inserted, re-hashed without the key and
cut off at the end, straight in the database (SQLite and PostgreSQL); two writers racing on one chain;
`vendorrisk audit verify` naming the organisation, the sequence number and the damage in Japanese."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
import stat
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import BASE_CONFIG, PG_ADMIN_DSN, PG_AVAILABLE
from sqlalchemy import select, text

from vendorrisk import create_app
from vendorrisk.domain.vocabulary import canonical_json
from vendorrisk.extensions import db
from vendorrisk.migrate import upgrade
from vendorrisk.models import AuditChainHead, AuditEvent, UTCDateTime
from vendorrisk.services import audit

TAMANA = "玉名市（tamana-city）"


@pytest.fixture
def chain(app, seed):
    """tamana-city's chain with ten more events (after the seed's own), all committed one by one."""
    org_id = seed.org_ids["tamana-city"]
    with app.app_context():
        for i in range(10):
            audit.record("test.step", "thing", i, organisation_id=org_id, actor="cli", data={"i": i, "名前": "髙橋"})
            db.session.commit()
        audit.record("test.system", "thing", 0, organisation_id=None, actor="cli")
        db.session.commit()
    return org_id


def events_of(app, org_id: int) -> list[AuditEvent]:
    with app.app_context():
        rows = list(db.session.scalars(select(AuditEvent).where(AuditEvent.chain == org_id).order_by(AuditEvent.seq)))
        db.session.expunge_all()
        return rows


def sql(app, statement: str, **params: Any) -> None:
    """What someone with write access to the database (and no key) does."""
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text(statement), params)


def set_data(app, event_id: int, data: dict[str, Any]) -> None:
    """UPDATE audit_events SET data = ... (through Core, so that the JSON is bound right on both backends)."""
    table = AuditEvent.__table__
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.update(table).where(table.c.id == event_id).values(data=data))


def verify_cli(app, *args: str):
    return app.test_cli_runner().invoke(args=["audit", "verify", *args])


def damage(app, org_id: int | None = None) -> list[tuple[str, int, int]]:
    with app.app_context():
        report = audit.verify(org_id)
    return [(d.kind, d.seq_from, d.seq_to) for d in report.damage]


def plain_sha256(payload: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def rehash_without_key(app, org_id: int, from_seq: int) -> None:
    """Recompute every hash from `from_seq` on as an attacker without the key would (SHA-256 of the same
    payload), relink prev_hash, and fix the chain head so that nothing looks out of place."""
    with app.app_context():
        rows = list(db.session.scalars(select(AuditEvent).where(AuditEvent.chain == org_id).order_by(AuditEvent.seq)))
        prev = rows[from_seq - 2].hash if from_seq > 1 else audit.GENESIS
        for ev in rows[from_seq - 1:]:
            ev.prev_hash = prev
            ev.hash = plain_sha256(audit.event_payload(ev))
            prev = ev.hash
        head = db.session.get(AuditChainHead, org_id)
        head.last_hash = prev
        db.session.commit()


# --- intact ------------------------------------------------------------------------------------------------
def test_an_untouched_trail_verifies_with_gapless_chains_per_organisation(app, seed, chain):
    with app.app_context():
        report = audit.verify()
        assert report.intact and report.damage == []
        assert audit.verify_chain() == []
        for org_id in seed.org_ids.values():
            seqs = [e.seq for e in db.session.scalars(
                select(AuditEvent).where(AuditEvent.organisation_id == org_id).order_by(AuditEvent.id))]
            assert seqs == list(range(1, len(seqs) + 1)), "each organisation has its own gapless chain"
        system = list(db.session.scalars(select(AuditEvent).where(AuditEvent.organisation_id.is_(None))))
        assert [(e.chain, e.seq, e.prev_hash) for e in system] == [(0, 1, audit.GENESIS)]
        assert report.chains[chain].anchored_seq == report.chains[chain].last_seq > 10
    r = verify_cli(app)
    assert r.exit_code == 0, r.output
    assert "監査ログは改ざんされていません" in r.output and TAMANA in r.output
    r = verify_cli(app, "--org", "tamana-city")
    assert r.exit_code == 0 and "青梅市" not in r.output
    r = verify_cli(app, "--org", "nowhere")
    assert r.exit_code != 0 and "団体「nowhere」はありません" in r.output


def test_the_key_lives_outside_the_database_and_a_different_key_fails_every_event(app, chain, backend, tmp_path):
    key_file = tmp_path / "audit.key"
    assert key_file.exists() and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    with app.app_context(), db.engine.connect() as conn:
        dump = "\n".join(str(row) for table in ("audit_events", "audit_chain_heads", "organisations")
                         for row in conn.execute(text(f"SELECT * FROM {table}")))
    assert key not in dump
    # The same database seen with another key (e.g. a forged copy of the instance): nothing verifies.
    other = create_app({**app.config, "AUDIT_HMAC_KEY": secrets.token_hex(32)}, instance_path=tmp_path)
    with other.app_context():
        report = audit.verify(chain)
        assert not report.intact
        assert {d.kind for d in report.damage} <= {"edited", "anchor_file", "inserted"}
        db.session.remove()
        db.engine.dispose()


def test_a_lost_key_is_refused_rather_than_replaced(app, chain, tmp_path):
    (tmp_path / "audit.key").unlink()
    fresh = create_app(dict(app.config), instance_path=tmp_path)
    with fresh.app_context():
        with pytest.raises(audit.AuditKeyMissing, match="バックアップから鍵を戻してください"):
            audit.record("after.loss", "thing", 1, organisation_id=chain, actor="cli")
        db.session.remove()
        db.engine.dispose()
    assert not (tmp_path / "audit.key").exists()


# --- tampering -----------------------------------------------------------------------------------------------
def test_an_edited_event_is_reported_with_its_organisation_and_number(app, chain):
    target = events_of(app, chain)[5]
    set_data(app, target.id, {"i": 999})
    assert damage(app) == [("edited", target.seq, target.seq)]
    r = verify_cli(app)
    assert r.exit_code == 1
    assert f"{TAMANA}の{target.seq}番：内容が書き換えられています" in r.output


def test_an_edited_actor_is_reported_too(app, chain):
    target = events_of(app, chain)[2]
    sql(app, "UPDATE audit_events SET actor = 'user:1:someone@else' WHERE id = :id", id=target.id)
    assert damage(app, chain) == [("edited", target.seq, target.seq)]


def test_an_edit_with_every_later_hash_recomputed_without_the_key_is_reported(app, chain):
    rows = events_of(app, chain)
    target = rows[4]
    set_data(app, target.id, {"i": -1})
    rehash_without_key(app, chain, target.seq)
    found = damage(app)
    assert found and found[0] == ("rehashed", target.seq, target.seq)
    assert {kind for kind, _, _ in found} <= {"rehashed", "anchor"}
    r = verify_cli(app)
    assert r.exit_code == 1
    assert f"{TAMANA}の{target.seq}番：書き換えたうえで、鍵を使わずにハッシュが計算し直されています" in r.output


def test_a_deleted_event_leaves_a_gap_that_is_reported(app, chain):
    target = events_of(app, chain)[3]
    sql(app, "DELETE FROM audit_events WHERE id = :id", id=target.id)
    assert damage(app) == [("deleted", target.seq, target.seq)]
    r = verify_cli(app)
    assert r.exit_code == 1 and f"{TAMANA}の{target.seq}番：記録が削除されています" in r.output


def test_a_deleted_event_with_the_numbers_closed_up_is_reported(app, chain):
    rows = events_of(app, chain)
    target = rows[3]
    sql(app, "DELETE FROM audit_events WHERE id = :id", id=target.id)
    # Renumber the later rows (in two steps, so that no unique check trips) and relink them.
    sql(app, "UPDATE audit_events SET seq = seq + 1000 WHERE chain = :c AND seq > :s", c=chain, s=target.seq)
    sql(app, "UPDATE audit_events SET seq = seq - 1001 WHERE chain = :c AND seq > 1000", c=chain)
    sql(app, "UPDATE audit_chain_heads SET seq = seq - 1 WHERE chain = :c", c=chain)
    rehash_without_key(app, chain, target.seq)
    found = damage(app)
    assert found and found[0][1] == target.seq
    assert any(kind == "truncated" for kind, _, _ in found), "the anchors still know the old length"


def test_an_inserted_event_at_the_end_is_reported(app, chain):
    last = events_of(app, chain)[-1]
    forged = {"chain": chain, "seq": last.seq + 1, "scheme": "hmac-sha256", "prev": last.hash}
    sql(app, "INSERT INTO audit_events (organisation_id, chain, seq, scheme, actor, action, object_type, object_id,"
             " data, at, prev_hash, hash) VALUES (:c, :c, :seq, :scheme, 'user:1', 'annex.download', 'annex', '1',"
             " '{}', :at, :prev, :h)",
        c=chain, seq=forged["seq"], scheme=forged["scheme"], at=_db_time(app, last.at), prev=last.hash,
        h=plain_sha256(forged))
    assert damage(app) == [("inserted", last.seq + 1, last.seq + 1)]
    r = verify_cli(app)
    assert r.exit_code == 1 and f"{TAMANA}の{last.seq + 1}番：記録が後から差し込まれています" in r.output


def test_an_event_inserted_in_the_middle_is_reported(app, chain):
    rows = events_of(app, chain)
    at = rows[5]
    sql(app, "UPDATE audit_events SET seq = seq + 1000 WHERE chain = :c AND seq >= :s", c=chain, s=at.seq)
    sql(app, "UPDATE audit_events SET seq = seq - 999 WHERE chain = :c AND seq > 1000", c=chain)
    sql(app, "INSERT INTO audit_events (organisation_id, chain, seq, scheme, actor, action, object_type, object_id,"
             " data, at, prev_hash, hash) VALUES (:c, :c, :seq, 'hmac-sha256', 'user:1', 'assessment.approved',"
             " 'assessment', '1', '{}', :at, :prev, :h)",
        c=chain, seq=at.seq, at=_db_time(app, at.at), prev=rows[4].hash, h=secrets.token_hex(32))
    sql(app, "UPDATE audit_chain_heads SET seq = seq + 1 WHERE chain = :c", c=chain)
    rehash_without_key(app, chain, at.seq)
    found = damage(app)
    assert found[0] == ("inserted", at.seq, at.seq)
    r = verify_cli(app)
    assert r.exit_code == 1 and f"{TAMANA}の{at.seq}番：記録が後から差し込まれています" in r.output


def test_an_event_moved_to_another_organisation_is_reported(app, seed, chain):
    target = events_of(app, chain)[1]
    other = seed.org_ids["ome-city"]
    sql(app, "UPDATE audit_events SET organisation_id = :o WHERE id = :id", o=other, id=target.id)
    assert ("edited", target.seq, target.seq) in damage(app)


def test_deleting_the_newest_events_is_caught_by_the_anchors(app, chain, tmp_path):
    rows = events_of(app, chain)
    keep = rows[-3]
    sql(app, "DELETE FROM audit_events WHERE chain = :c AND seq > :s", c=chain, s=keep.seq)
    # The attacker also rewinds the chain head, so only the anchors outside the database know.
    sql(app, "UPDATE audit_chain_heads SET seq = :s, last_hash = :h WHERE chain = :c", s=keep.seq, h=keep.hash, c=chain)
    assert damage(app) == [("truncated", keep.seq + 1, rows[-1].seq)]
    r = verify_cli(app)
    assert r.exit_code == 1
    assert f"{TAMANA}の{keep.seq + 1}〜{rows[-1].seq}番：末尾の記録が削除されています" in r.output
    anchors = (tmp_path / "audit-anchors.jsonl").read_text().splitlines()
    assert any(json.loads(line)["seq"] == rows[-1].seq and json.loads(line)["chain"] == chain for line in anchors)


def test_deleting_the_newest_events_without_touching_the_head_is_reported(app, chain):
    rows = events_of(app, chain)
    sql(app, "DELETE FROM audit_events WHERE chain = :c AND seq = :s", c=chain, s=rows[-1].seq)
    assert damage(app) == [("truncated", rows[-1].seq, rows[-1].seq)]


def test_a_forged_anchor_line_is_reported(app, chain, tmp_path):
    path = tmp_path / "audit-anchors.jsonl"
    lines = path.read_text().splitlines()
    forged = json.loads(lines[-1]) | {"seq": 3}
    path.write_text("\n".join([*lines, json.dumps(forged)]) + "\n")
    found = damage(app)
    assert found == [("anchor_file", len(lines) + 1, len(lines) + 1)]
    r = verify_cli(app)
    assert r.exit_code == 1 and "アンカーファイルの行が壊れているか、書き換えられています" in r.output


def test_a_fork_blames_the_event_that_forked_not_an_untouched_one(app, chain):
    """A writer that read the head before the newest append (what two unserialised writers do) links its
    event to the second newest one: the verifier names that event as forked and leaves the other alone."""
    rows = events_of(app, chain)
    sql(app, "UPDATE audit_chain_heads SET last_hash = :h WHERE chain = :c", h=rows[-2].hash, c=chain)
    with app.app_context():
        forked = audit.record("forked", "thing", 1, organisation_id=chain, actor="cli")
        seq = forked.seq
        db.session.commit()
    assert damage(app) == [("forked", seq, seq)]
    r = verify_cli(app)
    assert r.exit_code == 1 and f"{TAMANA}の{seq}番：チェーンが分岐しています" in r.output
    assert f"{TAMANA}の{rows[-1].seq}番" not in r.output


def test_a_legacy_format_row_slipped_in_after_keyed_rows_is_reported(app, chain):
    """Writing a row in the old unkeyed format does not get around the key."""
    last = events_of(app, chain)[-1]
    sql(app, "UPDATE audit_events SET scheme = 'sha256' WHERE id = :id", id=last.id)
    assert ("inserted", last.seq, last.seq) in damage(app)


# --- anchors and transactions ----------------------------------------------------------------------------------
def test_a_rolled_back_event_is_never_anchored(app, chain, tmp_path):
    path = tmp_path / "audit-anchors.jsonl"
    before = path.read_text()
    with app.app_context():
        audit.record("rolled.back", "thing", 1, organisation_id=chain, actor="cli")
        db.session.rollback()
        assert path.read_text() == before
        ev = audit.record("kept", "thing", 2, organisation_id=chain, actor="cli")
        seq = ev.seq
        db.session.commit()
        assert audit.verify().intact
    assert json.loads(path.read_text().splitlines()[-1])["seq"] == seq


def test_anchor_every_n_events_and_on_demand(backend, tmp_path, request, seed_factory):
    from conftest import make_app

    app = make_app(backend, tmp_path, request, AUDIT_ANCHOR_EVERY=5)
    org_id = seed_factory(app)
    path = tmp_path / "audit-anchors.jsonl"
    with app.app_context():
        for i in range(12):
            audit.record("step", "thing", i, organisation_id=org_id, actor="cli")
            db.session.commit()
        if db.session.get(AuditChainHead, org_id).seq % 5 == 0:
            audit.record("step", "thing", 12, organisation_id=org_id, actor="cli")
            db.session.commit()
        last = db.session.get(AuditChainHead, org_id).seq
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    anchored = [line["seq"] for line in lines if line["chain"] == org_id]
    assert anchored and all(seq % 5 == 0 for seq in anchored) and max(anchored) < last
    r = app.test_cli_runner().invoke(args=["audit", "anchor", "--org", "tamana-city"])
    assert r.exit_code == 0 and f"{last}番をアンカーしました" in r.output
    # Now the newest events are covered: cutting them off shows.
    sql(app, "DELETE FROM audit_events WHERE chain = :c AND seq = :s", c=org_id, s=last)
    sql(app, "UPDATE audit_chain_heads SET seq = seq - 1 WHERE chain = :c", c=org_id)
    assert ("truncated", last, last) in damage(app)


@pytest.fixture
def seed_factory(password_hash):
    from conftest import seed_data

    def make(app) -> int:
        return int(seed_data(app, password_hash).org_ids["tamana-city"])

    return make


# --- export --------------------------------------------------------------------------------------------------
def test_export_writes_events_and_anchors_as_json_lines(app, chain, tmp_path):
    out = tmp_path / "export.jsonl"
    r = app.test_cli_runner().invoke(args=["audit", "export", "--out", str(out)])
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    with app.app_context():
        total = db.session.scalar(select(sa.func.count()).select_from(AuditEvent))
    events = [row for row in rows if row["type"] == "event"]
    anchors = [row for row in rows if row["type"] == "anchor"]
    assert len(events) == total and anchors
    newest = max(e["seq"] for e in events if e["chain"] == chain)
    assert any(a["chain"] == chain and a["seq"] == newest for a in anchors)
    assert {"seq", "prev", "hash", "at", "actor", "action", "data"} <= set(events[0])
    assert "髙橋" in out.read_text(encoding="utf-8")
    r = app.test_cli_runner().invoke(args=["audit", "export", "--org", "tamana-city"])
    streamed = [json.loads(line) for line in r.output.splitlines()]
    assert streamed and all(row["chain"] == chain for row in streamed)


# --- concurrency -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("writers", [2])
def test_two_writers_racing_on_one_chain_neither_fork_nor_lose_an_event(app, seed, backend, writers):
    """Each writer has its own connection; before every append both start together."""
    org_id = seed.org_ids["tamana-city"]
    rounds = 15
    barrier = threading.Barrier(writers, timeout=60)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with app.app_context():
                for i in range(rounds):
                    barrier.wait()
                    audit.record("race", "writer", n, organisation_id=org_id, actor=f"writer:{n}", data={"i": i})
                    db.session.commit()
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    with app.app_context():
        rows = list(db.session.scalars(select(AuditEvent).where(AuditEvent.chain == org_id).order_by(AuditEvent.seq)))
        assert [e.seq for e in rows] == list(range(1, len(rows) + 1))
        raced = [e for e in rows if e.action == "race"]
        assert len(raced) == writers * rounds
        assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False)), "one line, no fork"
        assert audit.verify().intact
    assert verify_cli(app).exit_code == 0


# --- rows written before the chain was keyed -----------------------------------------------------------------
LEGACY_EVENTS = sa.table(
    "audit_events",
    sa.column("id", sa.Integer()), sa.column("organisation_id", sa.Integer()), sa.column("actor", sa.String()),
    sa.column("action", sa.String()), sa.column("object_type", sa.String()), sa.column("object_id", sa.String()),
    sa.column("data", sa.JSON()), sa.column("at", UTCDateTime()), sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)


def _legacy_rows(org_ids: list[int | None]) -> list[dict[str, Any]]:
    """Events as the code before migration 0004 wrote them: one global, unkeyed SHA-256 chain."""
    prev = audit.GENESIS
    rows = []
    start = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
    for i, org_id in enumerate(org_ids):
        at = start + dt.timedelta(minutes=i, microseconds=i * 7)
        payload = {"prev": prev, "organisation_id": org_id, "actor": "cli", "action": "legacy.step",
                   "object": f"thing:{i}", "data": {"i": i}, "at": at.isoformat()}
        digest = hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()).hexdigest()
        rows.append({"organisation_id": org_id, "actor": "cli", "action": "legacy.step", "object_type": "thing",
                     "object_id": str(i), "data": {"i": i}, "at": at, "prev_hash": prev, "hash": digest})
        prev = digest
    return rows


def _insert_organisation(conn: sa.Connection, slug: str, name: str) -> int:
    now = dt.datetime.now(dt.UTC)
    orgs = sa.table(
        "organisations",
        *(sa.column(c, sa.String()) for c in ("slug", "name", "head_title", "policy_title", "policy_text",
                                              "clause_number", "clause_title")),
        *(sa.column(c, sa.JSON()) for c in ("bodies", "clause_paragraphs", "obligations", "settings")),
        sa.column("created_at", UTCDateTime()), sa.column("updated_at", UTCDateTime()), sa.column("id", sa.Integer()))
    result = conn.execute(orgs.insert().values(
        slug=slug, name=name, head_title=f"{name}長", policy_title="基本方針", policy_text="本文", bodies=[],
        clause_number="(8)", clause_title="業務委託と外部サービス（クラウドサービス）の利用", clause_paragraphs={},
        obligations=[], settings={}, created_at=now, updated_at=now).returning(orgs.c.id))
    return int(result.scalar_one())


@pytest.fixture
def legacy_app(backend, tmp_path):
    """A database at revision 0001 holding events written the old way, then upgraded to head."""
    config = dict(BASE_CONFIG)
    admin = None
    if backend == "postgres":
        if not PG_AVAILABLE:
            pytest.skip("PostgreSQL does not answer")
        name = f"vendorrisk_legacy_{secrets.token_hex(4)}"
        admin = sa.create_engine(PG_ADMIN_DSN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        config["DATABASE_URL"] = re.sub(r"/[^/]*$", f"/{name}", PG_ADMIN_DSN)
    app = create_app(config, instance_path=tmp_path)
    upgrade(app, "0001")
    with app.app_context(), db.engine.begin() as conn:
        a = _insert_organisation(conn, "legacy-a", "旧形式市")
        b = _insert_organisation(conn, "legacy-b", "旧形式町")
        conn.execute(LEGACY_EVENTS.insert(), _legacy_rows([a, b, a, None, a, b, a]))
    upgrade(app)
    yield app, a, b
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if admin is not None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_rows_from_before_the_key_are_kept_numbered_and_verified(legacy_app):
    app, a, b = legacy_app
    with app.app_context():
        rows = list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
        assert [(e.chain, e.seq, e.scheme) for e in rows] == [
            (a, 1, "sha256"), (b, 1, "sha256"), (a, 2, "sha256"), (0, 1, "sha256"), (a, 3, "sha256"),
            (b, 2, "sha256"), (a, 4, "sha256")]
        report = audit.verify()
        assert report.intact and report.chains[a].legacy == 4
        legacy_head = rows[-1].hash
        ev = audit.record("after.upgrade", "thing", 1, organisation_id=b, actor="cli")
        db.session.commit()
        assert (ev.seq, ev.prev_hash, ev.scheme) == (3, legacy_head, "hmac-sha256")
        assert audit.verify().intact
    r = verify_cli(app)
    assert r.exit_code == 0 and "鍵導入前の旧形式 4件" in r.output


def test_legacy_rows_rewritten_with_their_hashes_recomputed_are_caught_by_the_first_keyed_event(legacy_app):
    app, a, b = legacy_app
    with app.app_context():
        audit.record("after.upgrade", "thing", 1, organisation_id=b, actor="cli")
        db.session.commit()
        # The attacker edits a legacy row and recomputes the whole unkeyed legacy chain.
        legacy = list(db.session.scalars(
            select(AuditEvent).where(AuditEvent.scheme == "sha256").order_by(AuditEvent.id)))
        legacy[2].data = {"i": 12345}
        prev = audit.GENESIS
        for ev in legacy:
            ev.prev_hash = prev
            ev.hash = audit.legacy_digest(ev)
            prev = ev.hash
        for head in db.session.scalars(select(AuditChainHead).where(AuditChainHead.chain != b)):
            head.last_hash = prev  # and the chain heads that still point at the legacy head
        db.session.commit()
        found = [(d.kind, d.chain, d.seq_from) for d in audit.verify().damage]
    assert found == [("legacy", b, 3)]
    r = verify_cli(app)
    assert r.exit_code == 1
    assert "旧形式町（legacy-b）の3番：鍵導入前の旧形式の記録が書き換えられたか、削除されています" in r.output


def test_a_legacy_row_edited_in_place_is_reported(legacy_app):
    app, a, _ = legacy_app
    sql(app, "UPDATE audit_events SET actor = 'someone' WHERE chain = :a AND seq = 2", a=a)
    assert damage(app) == [("legacy", 2, 2)]


def _db_time(app, value: dt.datetime) -> Any:
    """A time as the backend stores it (SQLite keeps naive UTC text)."""
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return value


def test_instance_setup_writes_a_private_key_once(tmp_path: Path):
    from vendorrisk.instance_setup import ensure_audit_key

    path = ensure_audit_key(tmp_path)
    first = path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(first.strip()) == 64
    assert ensure_audit_key(tmp_path).read_text() == first
    assert [p.name for p in tmp_path.iterdir()] == ["audit.key"]
