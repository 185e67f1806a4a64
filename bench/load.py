"""Load test of the contractor's save (the autosave endpoint) on gunicorn, beside a bare floor.

    .venv/bin/python bench/load.py                 (SQLite; about 3 minutes)
    .venv/bin/python bench/load.py --db postgres   (PostgreSQL at 127.0.0.1:5432)

Runs, in the same run and one after the other on loopback, with vendorrisk/gunicorn_conf.py:
  - the app, seeded with one invitation per engagement, its autosave endpoint driven with real
    session cookies and CSRF tokens;
  - a bare Flask + Flask-SQLAlchemy endpoint doing the same upsert (select the answer, update or
    insert, version + 1, commit) into SQLite WAL with synchronous=NORMAL (or PostgreSQL).
The client is our own: threads with http.client keep-alive connections.

  1. saturated throughput (closed loop, CLIENTS threads)   goal: app ≥ 0.5× bare
     (bare and app alternately, three rounds each, both servers up: the median round's ratio)
  2. open loop, 100 saves/s for 60 s on the app             goal: p95 ≤ 50 ms, 0 errors, 0 lost
     (latency counted from the moment each save was due; every acknowledged answer is then read
     back from the database: the last acknowledged value of each question must be stored)
The load average is printed with each figure.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import queue
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
ROUNDS = 3  # saturated loads, bare and app alternately
GUNICORN = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "vendorrisk" / "gunicorn_conf.py")]


# --- the bare floor ---------------------------------------------------------------------------

def bare_app() -> Any:
    """Flask + Flask-SQLAlchemy, one endpoint: the same upsert the app's save does."""
    from flask import Flask, jsonify, request
    from flask_sqlalchemy import SQLAlchemy
    from sqlalchemy import JSON, Column, Integer, String, UniqueConstraint, event, exc, select
    from sqlalchemy.engine import Engine

    app = Flask("bare")
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["BENCH_BARE_DB"]
    db = SQLAlchemy(app)

    @event.listens_for(Engine, "connect")
    def _pragmas(conn: Any, record: Any) -> None:
        if type(conn).__module__.startswith("sqlite3"):
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=5000")
            cur.close()

    class BareAnswer(db.Model):  # type: ignore[name-defined]
        __tablename__ = "bare_answers"
        __table_args__ = (UniqueConstraint("response_id", "question_id"),)
        id = Column(Integer, primary_key=True)
        response_id = Column(Integer, index=True)
        question_id = Column(String(120))
        value = Column(JSON, nullable=True)
        version = Column(Integer, default=1)

    # another worker may create it at the same moment
    with app.app_context(), contextlib.suppress(exc.ProgrammingError, exc.IntegrityError, exc.OperationalError):
        db.create_all()

    @app.post("/save")
    def save() -> Any:
        rid, qid, value = int(request.form["r"]), request.form["q"], request.form["v"]
        row = db.session.scalar(select(BareAnswer).filter_by(response_id=rid, question_id=qid))
        if row is None:
            row = BareAnswer(response_id=rid, question_id=qid, value=value, version=1)
            db.session.add(row)
        else:
            row.value, row.version = value, row.version + 1
        db.session.commit()
        return jsonify(version=row.version)

    return app


# --- seeding the app ----------------------------------------------------------------------------

@dataclass
class Slot:
    """One question of one invitation: saved by one request at a time (so what was acknowledged last
    is what must be stored)."""

    token: str
    url: str
    name: str
    question_id: str
    cookie: str = ""
    csrf: str = ""
    base: str = ""
    acknowledged: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def seed(instance: Path, env: dict[str, str], invitations: int) -> list[tuple[str, int]]:
    """Organisation, officers, a vendor and `invitations` engagements, each invited: [(token, response id)]."""
    os.environ.update(env)
    from vendorrisk import create_app
    from vendorrisk.domain.policy import parse_policy_file
    from vendorrisk.extensions import db
    from vendorrisk.migrate import upgrade
    from vendorrisk.models import Officer
    from vendorrisk.paths import POLICIES_DIR
    from vendorrisk.services.engagements import create_engagement
    from vendorrisk.services.invitations import send_invitation
    from vendorrisk.services.organisations import import_policy
    from vendorrisk.services.unit_of_work import unit_of_work
    from vendorrisk.services.vendors import create_vendor

    app = create_app(instance_path=instance)
    upgrade(app)
    out = []
    with app.app_context(), unit_of_work():
        path = POLICIES_DIR / "tamana-city.txt"
        org, _ = import_policy(parse_policy_file(path), path.read_text(encoding="utf-8"), slug="tamana-city")
        org.officers.append(Officer(role="security_manager", role_title="情報セキュリティ管理者",
                                    name="管理 太郎", department="情報政策課長"))
        db.session.flush()
        vendor = create_vendor(org, name="株式会社ベンチ", corporate_number="7000012050002", address="熊本県",
                               representative="代表 太郎", contact_email="bench@example.jp")
        for i in range(invitations):
            engagement = create_engagement(
                org, vendor, [o.id for o in org.officers], reference=f"LOAD-{i:03d}", title=f"負荷試験 {i}",
                kinds=["outsourcing"], confidentiality=2, integrity=1, availability=1, personal_data=True,
                my_number=False, network_segment="lgwan",
            )
            sent = send_invitation(engagement, recipient_email="a@example.jp")
            db.session.flush()
            assert sent.invitation.response is not None
            out.append((sent.token, sent.invitation.response.id))
    with app.app_context():
        db.engine.dispose()
    return out


def text_questions(instance: Path, token: str) -> tuple[str, list[tuple[str, str]]]:
    """The first section with text questions: its url and [(field name, question id)]."""
    from vendorrisk import create_app
    from vendorrisk.extensions import db
    from vendorrisk.services.definitions import invitation_questionnaires
    from vendorrisk.services.invitations import invitation_for_token
    from vendorrisk.web.answer_forms import field_name

    app = create_app(instance_path=instance)
    with app.app_context():
        inv = invitation_for_token(token)
        profile = inv.engagement.profile()
        for q in invitation_questionnaires(inv):
            applicable = {x.id for x in q.applicable(profile)}
            for s in q.sections:
                texts = [(field_name(x.id), x.id) for x in s.questions
                         if x.id in applicable and x.type == "text" and not x.shown_when]
                if texts:
                    db.engine.dispose()
                    return f"/r/{token}/s/{q.id}/{s.id}", texts
    raise SystemExit("no text question in the outsourcing bank")


# --- servers ------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(app_spec: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    log = (Path(env["VENDORRISK_INSTANCE"]) / f"gunicorn-{port}.log").open("wb")  # noqa: SIM115 - the server keeps it
    proc = subprocess.Popen(
        [*GUNICORN, "--bind", f"127.0.0.1:{port}", app_spec], cwd=ROOT, env={**os.environ, **env},
        stdout=subprocess.DEVNULL, stderr=log,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:  # answered by a worker once it has booted (the renderer warm-up takes a few seconds)
            Client(port).request("GET", "/healthz")
            time.sleep(3.0)  # the other workers finish their warm-up too
            return proc, port
        except OSError:
            time.sleep(0.5)
    stop_server(proc)
    raise SystemExit(f"gunicorn did not start: {app_spec}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


# --- the client ---------------------------------------------------------------------------------

class Client:
    """One keep-alive connection per thread."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method: str, path: str, body: str | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                r = self.conn.getresponse()
                return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def open_sessions(port: int, slots: list[Slot]) -> None:
    """GET each section page once per token: session cookie, CSRF token and rendered versions."""
    client = Client(port)
    pages: dict[str, tuple[str, str, str]] = {}
    for slot in slots:
        if slot.token not in pages:
            status, headers, body = client.request("GET", slot.url)
            if status != 200:
                raise SystemExit(f"section page answered {status}")
            html = body.decode("utf-8")
            cookie = headers.get("set-cookie", "").split(";", 1)[0]
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
            pages[slot.token] = (cookie, token.group(1) if token else "", html)
        slot.cookie, slot.csrf, html = pages[slot.token]
        base = re.search(rf'name="_v_{re.escape(slot.name)}" value="([^"]*)"', html)
        slot.base = base.group(1) if base else ""


def app_save(client: Client, slot: Slot, n: int) -> bool:
    value = f"負荷試験の回答 {n} {secrets.token_hex(4)}"
    body = urllib.parse.urlencode({"csrf_token": slot.csrf, slot.name: value, "_changed": slot.name,
                                   f"_v_{slot.name}": slot.base})
    status, _headers, raw = client.request("POST", slot.url + "/autosave", body, {
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": slot.cookie, "Accept": "application/json"})
    if status != 200:
        return False
    data = json.loads(raw)
    if data.get("conflicts") or data.get("errors") or slot.name not in data.get("versions", {}):
        return False
    slot.base, slot.acknowledged = data["versions"][slot.name], value
    return True


def bare_save(client: Client, slot: Slot, n: int) -> bool:
    rid = slot.url  # the bare slot's url holds its response id
    body = urllib.parse.urlencode({"r": rid, "q": slot.question_id, "v": f"負荷試験の回答 {n}"})
    status, _h, _raw = client.request("POST", "/save", body, {"Content-Type": "application/x-www-form-urlencoded"})
    return status == 200


def saturated(port: int, slots: list[Slot], save: Any, clients: int, seconds: float) -> float:
    """Closed loop: `clients` threads saving back to back; saves per second."""
    clients = min(clients, len(slots))
    done = [0] * clients
    stop = time.monotonic() + seconds

    def run(i: int) -> None:
        client = Client(port)
        mine = slots[i::clients]
        n = 0
        while time.monotonic() < stop:
            slot = mine[n % len(mine)]
            with slot.lock:
                if save(client, slot, n):
                    done[i] += 1
            n += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.monotonic() - started)


def open_loop(port: int, slots: list[Slot], rate: float, seconds: float, workers: int) -> dict[str, Any]:
    """Saves due every 1/rate s, whatever the server does; latency from when each was due."""
    jobs: queue.Queue[tuple[float, int] | None] = queue.Queue()
    latencies: list[float] = []
    errors = [0]
    guard = threading.Lock()

    def work() -> None:
        client = Client(port)
        while (job := jobs.get()) is not None:
            due, n = job
            slot = slots[n % len(slots)]
            try:
                with slot.lock:
                    ok = app_save(client, slot, n)
            except Exception:
                ok = False
            elapsed = time.monotonic() - due
            with guard:
                latencies.append(elapsed)
                errors[0] += 0 if ok else 1

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    start = time.monotonic()
    total = int(rate * seconds)
    for n in range(total):
        due = start + n / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        jobs.put((due, n))
    for _ in threads:
        jobs.put(None)
    for t in threads:
        t.join()
    latencies.sort()
    return {"count": len(latencies), "errors": errors[0],
            "p50": statistics.median(latencies) * 1000,
            "p95": latencies[int(0.95 * (len(latencies) - 1))] * 1000,
            "p99": latencies[int(0.99 * (len(latencies) - 1))] * 1000,
            "max": latencies[-1] * 1000}


def lost_answers(instance: Path, env: dict[str, str], slots: list[Slot]) -> int:
    """Acknowledged answers not stored as acknowledged (read back from the database)."""
    os.environ.update(env)
    from sqlalchemy import select

    from vendorrisk import create_app
    from vendorrisk.extensions import db
    from vendorrisk.models import Answer, Invitation

    app = create_app(instance_path=instance)
    lost = 0
    with app.app_context():
        for slot in slots:
            if slot.acknowledged is None:
                continue
            inv = db.session.scalar(select(Invitation).filter_by(token_hash=Invitation.hash_token(slot.token)))
            assert inv is not None and inv.response is not None
            value = db.session.scalar(select(Answer.value).filter_by(response_id=inv.response.id,
                                                                      question_id=slot.question_id))
            lost += value != slot.acknowledged
        db.engine.dispose()
    return lost


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


# --- main ---------------------------------------------------------------------------------------

def postgres_database(name: str) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=60.0, help="open-loop duration")
    parser.add_argument("--saturate-seconds", type=float, default=24.0, help="in all, over the rounds")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--invitations", type=int, default=20)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="vendorrisk-load-"))
    env = {"VENDORRISK_INSTANCE": str(work), "VENDORRISK_SECRET_KEY": secrets.token_hex(32),
           "VENDORRISK_RATELIMIT_ENABLED": "false",
           "VENDORRISK_MAX_REQUESTS": "0"}
    if args.db == "postgres":
        env["DATABASE_URL"] = postgres_database("vendorrisk_bench_load")
        bare_db = postgres_database("vendorrisk_bench_bare")
    else:
        bare_db = f"sqlite:///{work / 'bare.db'}"
    for key in ("DATABASE_URL",):
        if key not in env:
            os.environ.pop(key, None)
    tokens = seed(work, env, args.invitations)
    url, texts = text_questions(work, tokens[0][0])
    slots = [Slot(token, url.replace(tokens[0][0], token), name, qid) for token, _rid in tokens for name, qid in texts]
    bare_slots = [Slot(token, str(rid), name, qid) for token, rid in tokens for name, qid in texts]
    print(f"database: {args.db}; {len(tokens)} invitations, {len(slots)} questions saved in turn; "
          f"gunicorn {GUNICORN[-1]}")

    # Both servers up at once; the saturated loads alternate, bare then app, ROUNDS times, so that
    # a change in the machine's other load hits both alike. The ratio is the median of the rounds'.
    bare_proc, bare_port = start_server("bench.load:bare_app()", {**env, "BENCH_BARE_DB": bare_db})
    proc, port = start_server("vendorrisk:create_app()", env)
    try:
        open_sessions(port, slots)
        ratios, bare_rates, app_rates = [], [], []
        for n in range(ROUNDS):
            bare_rate = saturated(bare_port, bare_slots, bare_save, args.clients, args.saturate_seconds / ROUNDS)
            app_rate = saturated(port, slots, app_save, args.clients, args.saturate_seconds / ROUNDS)
            bare_rates.append(bare_rate)
            app_rates.append(app_rate)
            ratios.append(app_rate / bare_rate)
            print(f"  round {n + 1}: bare floor {bare_rate:.0f} saves/s, app autosave {app_rate:.0f} saves/s "
                  f"= {app_rate / bare_rate:.2f}× ({load()})")
        stop_server(bare_proc)
        ratio = statistics.median(ratios)
        print(f"bare floor, saturated: {statistics.median(bare_rates):.0f} saves/s (median of {ROUNDS} rounds)")
        print(f"app autosave, saturated: {statistics.median(app_rates):.0f} saves/s; ratio {ratio:.2f}× the bare "
              f"floor, median of {ROUNDS} interleaved rounds (goal ≥ 0.5×) ({load()})")
        time.sleep(2)
        result = open_loop(port, slots, args.rate, args.seconds, workers=32)
        print(f"open loop {args.rate:.0f} saves/s for {args.seconds:.0f} s: {result['count']} saves, "
              f"p50 {result['p50']:.1f} ms, p95 {result['p95']:.1f} ms (goal ≤ 50 ms), p99 {result['p99']:.1f} ms, "
              f"max {result['max']:.0f} ms, errors {result['errors']} ({load()})")
    finally:
        stop_server(bare_proc)
        stop_server(proc)
    lost = lost_answers(work, env, slots)
    print(f"answers lost (last acknowledged value not in the database): {lost}")
    ok = ratio >= 0.5 and result["p95"] <= 50 and result["errors"] == 0 and lost == 0
    print("goals met" if ok else "goals NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
