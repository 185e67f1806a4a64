"""Holding up under an auditor's tests: the races a contractor's tabs and two legal users run, fired
over HTTP at a real gunicorn with several workers (on SQLite and on PostgreSQL); workers and the
whole server killed with SIGKILL in the middle of saves, uploads, a submit and annex issues; and two
real browser tabs on the same section.

Every check is what a person would notice: an acknowledged save is there afterwards, a refused one
says why in Japanese, nothing answers 5xx, and no file or row is left half-written."""

from __future__ import annotations

import hashlib
import http.client
import http.cookiejar
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from browser_support import DESKTOP, TIMEOUT_MS, LiveServer, page_problems_fixture  # noqa: F401  (fixture)
from conftest import BACKENDS, BASE_CONFIG, TEST_PASSWORD, approve_through_services, fresh_pg_database, new_engagement
from helpers import form_data_for
from sqlalchemy import select
from test_save_races import run_together
from test_save_versions import bases_of
from test_serving import Answer, Served, _csrf, _read, _restart, _start, _stop

from vendorrisk import create_app
from vendorrisk.extensions import db
from vendorrisk.models import Annex, Assessment, Evidence, Invitation, Officer, Organisation, User, Vendor
from vendorrisk.models import Answer as AnswerRow
from vendorrisk.services.evidence import TEMP_PREFIX
from vendorrisk.web.answer_forms import field_name

# Several workers, each with threads; budgets high enough that a burst of saves is never a 429.
SERVER_ENV = {"VENDORRISK_WORKERS": "2", "VENDORRISK_THREADS": "4",
              "VENDORRISK_PORTAL_RATE_LIMIT": "2000 per minute",
              "VENDORRISK_PORTAL_AUTOSAVE_RATE_LIMIT": "5000 per minute",
              "VENDORRISK_LOGIN_RATE_LIMIT": "200 per minute"}


# -- Talking to the server as a browser would -------------------------------------------------------

def _tab() -> urllib.request.OpenerDirector:
    """A browser tab: its own cookies (session, CSRF), redirects followed."""
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))


def _fields(data: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for key, value in data.items():
        for one in value if isinstance(value, list) else [value]:
            out.append((key, str(one)))
    return out


def _send(tab: urllib.request.OpenerDirector, url: str, data: dict[str, Any],
          files: dict[str, tuple[str, bytes]] | None = None, timeout: float = 60) -> Answer:
    """POST a form (multipart when it carries files), as the browser sends it."""
    if files is None:
        body = urllib.parse.urlencode(_fields(data)).encode()
        request = urllib.request.Request(url, data=body)
    else:
        boundary = secrets.token_hex(16)
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                 for k, v in _fields(data)]
        for name, (filename, content) in files.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                         "Content-Type: application/pdf\r\n\r\n".encode() + content + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        request = urllib.request.Request(url, data=body,
                                         headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    return _read(lambda: tab.open(request, timeout=timeout))


def _page(tab: urllib.request.OpenerDirector, url: str) -> str:
    answer = _read(lambda: tab.open(url, timeout=60))
    assert answer.status == 200, (url, answer.status)
    return answer.text()


@dataclass
class Section:
    """A section page opened in a tab: what a save from it sends along (CSRF token, versions)."""

    url: str
    questions: list[Any]
    tab: urllib.request.OpenerDirector = field(default_factory=_tab)
    hidden: dict[str, str] = field(default_factory=dict)

    def open(self) -> Section:
        html = _page(self.tab, self.url)
        self.hidden = {"csrf_token": _csrf(html), **bases_of(html)}
        return self

    def save(self, overrides: dict[str, Any] | None = None, *, action: str = "continue",
             files: dict[str, tuple[str, bytes]] | None = None, done: bool = True) -> Answer:
        data = {**form_data_for(self.questions, overrides), **self.hidden, "action": action}
        if not done:
            data.pop("section_done")
        return _send(self.tab, self.url, data, files)

    def saved(self, data: dict[str, Any]) -> bool:
        """An autosave's answer, taken as the page's script takes it (new versions); whether it saved."""
        self.hidden.update({f"_v_{name}": v for name, v in data["versions"].items() if name not in data["conflicts"]})
        assert not data["errors"], data["errors"]
        return not data["conflicts"]

    def autosave(self, question: Any, value: str) -> Answer:
        name = field_name(question.id)
        data = {name: value, "_changed": name, "csrf_token": self.hidden["csrf_token"]}
        if f"_v_{name}" in self.hidden:
            data[f"_v_{name}"] = self.hidden[f"_v_{name}"]
        return _send(self.tab, self.url + "/autosave", data)


# -- A served instance and a way to look into its database ------------------------------------------

@dataclass
class Instance:
    served: Served
    app: Any  # the same database, read and prepared by the test (never through the server)

    @property
    def live(self) -> LiveServer:
        """The browser tests' helpers (invite, answer everything, sections), on this server."""
        return LiveServer(url=self.served.url, app=self.app, seed=self.served.seed)

    def engagement(self, key: str, kind: str = "outsourcing") -> str:
        """A new engagement of tamana-city (its own reference), registered in the seed as `key`."""
        with self.app.app_context():
            org = db.session.get(Organisation, self.served.seed.org_ids["tamana-city"])
            vendor = db.session.scalars(select(Vendor).filter_by(organisation_id=org.id)).first()
            eid = new_engagement(org, vendor, kind, reference=f"DUR-{key}", title=f"耐久 {key}").id
            db.session.commit()
            db.session.remove()
        self.served.seed.engagements[("tamana-city", key)] = eid
        return key

    def invitation(self, token: str) -> Invitation:
        inv = db.session.scalar(select(Invitation).filter_by(token_hash=Invitation.hash_token(token)))
        assert inv is not None
        return inv

    def read(self, work: Callable[[], Any]) -> Any:
        with self.app.app_context():
            try:
                return work()
            finally:
                db.session.remove()


def _checking_app(served: Served) -> Any:
    config = {**BASE_CONFIG, "BASE_URL": served.url}
    if served.database_url:
        config["DATABASE_URL"] = served.database_url
    return create_app(config, instance_path=served.instance)



@contextmanager
def _served(tmp: Path, backend: str, sqlite_template: Path, password_hash: str, **env: str) -> Iterator[Instance]:
    """gunicorn with several workers on a fresh seeded database of `backend`."""
    env = {**SERVER_ENV, **env}
    if backend == "postgres":
        with fresh_pg_database() as url:
            served = _start(tmp, sqlite_template, password_hash, database_url=url, **env)
            yield from _instance(served)
        return
    served = _start(tmp, sqlite_template, password_hash, **env)
    yield from _instance(served)


def _instance(served: Served) -> Iterator[Instance]:
    app = _checking_app(served)
    try:
        yield Instance(served, app)
    finally:
        _stop(served)
        with app.app_context():
            db.engine.dispose()
        text = served.log.read_text()
        assert "Traceback" not in text, text[-4000:]


@pytest.fixture(scope="module", params=BACKENDS)
def instance(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path,
             password_hash: str) -> Iterator[Instance]:
    with _served(tmp_path_factory.mktemp(f"durability-{request.param}"), request.param, sqlite_template,
                 password_hash) as inst:
        yield inst


def _no_5xx(results: list[Any]) -> None:
    assert not [r for r in results if isinstance(r, Exception)], results
    assert all(r.status < 500 for r in results), [(r.status, r.url, r.text()[:300]) for r in results]


def _text_questions(sections: list[SimpleNamespace]) -> list[tuple[SimpleNamespace, Any]]:
    """(section, plain text question) for every such question of these sections."""
    return [(s, q) for s in sections for q in s.questions if q.type == "text" and not q.shown_when]


def _answer_all(live: LiveServer, link: str) -> list[SimpleNamespace]:
    """Every section filled well through its page, as the contractor would; the sections."""
    sections = live.sections(link)
    for s in sections:
        r = Section(s.url, s.questions).open().save()
        assert r.status == 200 and r.url.split("?")[0] != s.url, (s.url, r.text()[:2000])
    return sections


# -- 1. The races, over HTTP ------------------------------------------------------------------------

def test_saves_racing_the_submit_are_in_the_submitted_answers_or_refused(instance):
    live = instance.live
    link = live.invite(kind=instance.engagement("submit-race"))
    targets = _text_questions(_answer_all(live, link))[:5]
    assert len(targets) == 5, "the bank has text questions"
    autosaves = [(Section(s.url, s.questions).open(), q) for s, q in targets[:3]]
    full = [(Section(s.url, s.questions).open(), q) for s, q in targets[3:]]
    submitter = _tab()
    submit_token = _csrf(_page(submitter, link.rstrip("/") + "/check"))

    jobs: list[Callable[[], Answer]] = [lambda: _send(submitter, link.rstrip("/") + "/submit",
                                                      {"csrf_token": submit_token})]
    jobs += [lambda s=s, q=q: s.autosave(q, f"競合 {q.id}") for s, q in autosaves]
    jobs += [lambda s=s, q=q: s.save({q.id: f"競合 {q.id}"}, done=False) for s, q in full]
    results = run_together(jobs)
    _no_5xx(results)
    assert "回答を送信しました" in results[0].text(), "the submit went through"

    def frozen() -> dict[str, Any]:
        with_response = instance.invitation(live._token(link)).response
        assert with_response.state == "submitted" and with_response.frozen_answers is not None
        return dict(with_response.frozen_answers)

    answers = instance.read(frozen)
    for (_section, question), r in zip(autosaves, results[1:4], strict=True):
        data = json.loads(r.body)
        if r.status == 200 and not data["conflicts"]:
            assert answers[question.id] == f"競合 {question.id}", "an acknowledged autosave is in the submitted answers"
        else:
            assert r.status == 409 and "この画面の入力は保存されていません" in data["error"], (r.status, data)
            assert answers[question.id] != f"競合 {question.id}"
    for (_section, question), r in zip(full, results[4:], strict=True):
        if "この画面の入力は保存されていません" in r.text():  # refused, and says so (the typing kept)
            assert answers[question.id] != f"競合 {question.id}"
        else:  # saved (the next page may say that the answers have since been submitted)
            assert answers[question.id] == f"競合 {question.id}", "an acknowledged save is in the submitted answers"


def test_first_saves_of_a_section_and_done_marks_all_land(instance):
    live = instance.live
    link = live.invite(kind=instance.engagement("first-saves", "cloud"))
    plain = [s for s in live.sections(link) if not any(q.type == "file" for q in s.questions)]
    assert len(plain) >= 5 and _text_questions(plain)
    first, question = _text_questions(plain)[0]
    others = [s for s in plain if s.url != first.url][:4]
    tabs = [Section(first.url, first.questions).open(), Section(first.url, first.questions).open()]
    markers = [Section(s.url, s.questions).open() for s in others]
    typed = ["一つ目のタブ", "二つ目のタブ"]

    results = run_together([lambda t=t, v=v: t.save({question.id: v}) for t, v in zip(tabs, typed, strict=True)]
                           + [lambda m=m: m.save() for m in markers])
    _no_5xx(results)
    landed = [v for r, v in zip(results[:2], typed, strict=True) if r.url.split("?")[0] != first.url]
    assert landed, "at least one first save went through"
    for r, v in zip(results[:2], typed, strict=True):
        if v not in landed:  # saved second with another answer to the same question: refused, typing kept
            assert r.status == 200 and "別の画面（タブ）" in r.text() and v in r.text(), r.text()[:2000]
    for r, m in zip(results[2:], markers, strict=True):
        assert r.url.split("?")[0] != m.url, "a 完了 mark went through"

    def stored() -> tuple[dict[str, Any], list[str]]:
        response = instance.invitation(live._token(link)).response
        rows = db.session.scalars(select(AnswerRow).filter_by(response_id=response.id)).all()
        return {a.question_id: a.value for a in rows}, list(response.completed_sections or [])

    answers, done = instance.read(stored)
    assert {q.id for q in first.questions} <= set(answers), "every answer of the first saves landed"
    assert answers[question.id] in landed
    assert {f"{s.qid}:{s.sid}" for s in [first, *others]} <= set(done), done


def _log_in(tab: urllib.request.OpenerDirector, served: Served, email: str) -> None:
    token = _csrf(_page(tab, f"{served.url}/login"))
    r = _send(tab, f"{served.url}/login", {"csrf_token": token, "email": email, "password": TEST_PASSWORD})
    assert r.status == 200 and r.url.endswith("/staff/"), r.url


def _second_legal_user(inst: Instance) -> str:
    def add() -> str:
        first = db.session.scalar(select(User).filter_by(email=inst.served.seed.users["legal"]))
        email = f"legal-{secrets.token_hex(3)}@tamana.test"
        db.session.add(User(organisation_id=first.organisation_id, email=email, name="法務 二郎", role="legal",
                            password_hash=first.password_hash))
        db.session.commit()
        return email

    return str(inst.read(add))


def _rename_officer(inst: Instance, name: str) -> None:
    def rename() -> None:
        officer = db.session.scalar(select(Officer).filter_by(
            role="security_manager", organisation_id=inst.served.seed.org_ids["tamana-city"]))
        officer.name = name
        db.session.commit()

    inst.read(rename)


def _versions(inst: Instance, eid: int) -> list[int]:
    return list(inst.read(lambda: list(db.session.scalars(
        select(Annex.version).filter_by(engagement_id=eid).order_by(Annex.version)))))


def test_two_legal_users_issuing_the_same_annex_give_one_version(instance):
    key = instance.engagement("annex-race")
    eid = approve_through_services(instance.app, instance.served.seed, kind=key)
    assert _versions(instance, eid) == [1]
    _rename_officer(instance, "新任 﨑子")  # the content changes: the next issue is a new version
    legal = []
    for email in (instance.served.seed.users["legal"], _second_legal_user(instance)):
        tab = _tab()
        _log_in(tab, instance.served, email)
        page = _page(tab, f"{instance.served.url}/legal/engagements/{eid}")
        legal.append((tab, _csrf(page)))
    url = f"{instance.served.url}/legal/engagements/{eid}/annex"
    results = run_together([lambda t=t, c=c: _send(t, url, {"csrf_token": c, "next": "engagement"})
                            for t, c in legal])
    _no_5xx(results)
    assert _versions(instance, eid) == [1, 2], "two issues of the same content give one new version"
    said = [r.text() for r in results]
    assert sum("特記事項（第2版）を作成しました" in t for t in said) <= 1
    for text in said:
        assert ("特記事項（第2版）を作成しました" in text or "第2版のままです" in text
                or "もう一度「作成」を押してください" in text), text[:2000]


def test_a_section_saved_after_the_submit_says_it_was_not_saved(app, client, invite):
    from helpers import answer_all, portal_sections

    token = invite()
    answer_all(app, client, token)
    assert client.post(f"/r/{token}/submit").status_code == 302
    qid, sid, questions = portal_sections(app, token)[0]
    r = client.post(f"/r/{token}/s/{qid}/{sid}", data=form_data_for(questions), follow_redirects=True)
    assert r.status_code == 409 and "この画面の入力は保存されていません" in r.get_data(as_text=True)
    opened = client.get(f"/r/{token}/s/{qid}/{sid}", follow_redirects=True).get_data(as_text=True)
    assert "回答は提出済みです。" in opened and "保存されていません" not in opened


# -- 2. kill -9 in the middle of saves, uploads, a submit and annex issues ---------------------------

def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _kill(pids: list[int]) -> None:
    for pid in pids:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _pdf(n: int) -> bytes:
    """A PDF-typed upload of ~300 kB (large enough that a kill can land while it is written)."""
    return b"%PDF-1.4\n%" + f"upload {n}".encode() + b"\n" + secrets.token_bytes(300_000) + b"\n%%EOF\n"


@dataclass
class Load:
    """Work under way from several tabs until `stop`; what the server acknowledged, by who asked."""

    stop: threading.Event = field(default_factory=threading.Event)
    acked: dict[str, int] = field(default_factory=dict)  # worker name → last acknowledged round
    errors: list[str] = field(default_factory=list)  # any 5xx, or a refusal without a message
    rounds: dict[str, int] = field(default_factory=dict)

    def until(self, done: Callable[[], bool], timeout: float = 25) -> None:
        """Let the work go on until `done` (some of it acknowledged), within `timeout` seconds."""
        end = time.monotonic() + timeout
        while not done() and time.monotonic() < end:
            time.sleep(0.1)

    def run(self, name: str, step: Callable[[int], bool | None]) -> threading.Thread:
        def loop() -> None:
            n = 0
            while not self.stop.is_set():
                n += 1
                self.rounds[name] = n
                try:
                    if step(n):
                        self.acked[name] = n
                except (OSError, http.client.HTTPException):  # the connection died with the worker
                    self.stop.wait(0.2)
                except AssertionError as exc:
                    self.errors.append(f"{name} {n}: {exc}")
                self.stop.wait(0.1)  # a person's pace, and CPU left for the annex renders

        thread = threading.Thread(target=loop, name=name, daemon=True)
        thread.start()
        return thread


def _acknowledged(r: Answer, says: str) -> bool:
    assert r.status < 500, (r.status, r.text()[:500])
    return r.status == 200 and says in r.text()


@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_9_loses_no_acknowledged_answer_and_leaves_no_half_written_file(
        backend, tmp_path, sqlite_template, password_hash):
    with _served(tmp_path, backend, sqlite_template, password_hash) as inst:
        _kill_9_under_load(inst)


def _kill_9_under_load(inst: Instance) -> None:
    live, served = inst.live, inst.served
    saves_link = live.invite(kind=inst.engagement("kill-saves"))
    sections = _answer_all(live, saves_link)
    submit_link = live.invite(kind=inst.engagement("kill-submit", "cloud"))
    live.answer_everything(submit_link)
    annex_eid = approve_through_services(inst.app, served.seed, kind=inst.engagement("kill-annex"))
    file_section, file_question = next((s, q) for s in sections for q in s.questions if q.type == "file")
    # Questions of other sections: the upload saves its whole section from its page.
    texts = _text_questions([s for s in sections if s.url != file_section.url])[:3]
    assert len(texts) >= 2
    legal = _tab()
    _log_in(legal, served, served.seed.users["legal"])
    issue_token = _csrf(_page(legal, f"{served.url}/legal/engagements/{annex_eid}"))
    submitter = _tab()
    submit_token = _csrf(_page(submitter, submit_link.rstrip("/") + "/check"))

    load = Load()
    tabs = {f"save-{i}": Section(s.url, s.questions).open() for i, (s, _q) in enumerate(texts)}
    uploader = Section(file_section.url, file_section.questions).open()

    def save(i: int, question: Any) -> Callable[[int], bool]:
        def step(n: int) -> bool:
            r = tabs[f"save-{i}"].autosave(question, f"保存 {n}")
            assert r.status < 500, (r.status, r.text()[:500])
            return r.status == 200 and tabs[f"save-{i}"].saved(json.loads(r.body))
        return step

    def upload(n: int) -> bool:
        r = uploader.save(files={field_name(file_question.id): (f"証跡{n}.pdf", _pdf(n))}, action="save", done=False)
        if r.status == 200 and r.url.split("?")[0] == uploader.url:
            uploader.hidden.update(bases_of(r.text()))  # the next upload is made from the page shown
        return _acknowledged(r, "回答を保存しました。")

    def issue(n: int) -> bool:
        data = {"csrf_token": issue_token, "next": "engagement", **({"memorandum": "y"} if n % 2 else {})}
        return _acknowledged(_send(legal, f"{served.url}/legal/engagements/{annex_eid}/annex", data),
                             "）を作成しました。")

    def submit(n: int) -> bool:
        if n > 1 and load.stop.wait(1.0):  # once is enough; again only if the first got no answer
            return False
        if "submit" in load.acked:
            return True
        return _acknowledged(_send(submitter, submit_link.rstrip("/") + "/submit", {"csrf_token": submit_token}),
                             "回答を送信しました")

    threads = [load.run("issue", issue)]  # an annex render takes a while: it goes first
    threads += [load.run(f"save-{i}", save(i, q)) for i, (_s, q) in enumerate(texts)]
    threads.append(load.run("upload", upload))
    load.until(lambda: "issue" in load.acked and "upload" in load.acked)
    threads.append(load.run("submit", submit))
    time.sleep(0.3)
    _kill(_children(served.process.pid))  # every worker, mid-request; the arbiter starts new ones
    before = dict(load.acked)
    load.until(lambda: all(load.acked.get(k, 0) > before.get(k, 0) for k in ("save-0", "upload")))
    _kill([*_children(served.process.pid), served.process.pid])  # then the whole server
    served.process.wait(timeout=30)
    load.stop.set()
    for t in threads:
        t.join(timeout=90)
    _stop(served)
    assert not load.errors, load.errors
    assert all(load.rounds.get(name, 0) > 1 for name in ("save-0", "upload")) and "issue" in load.rounds, load.rounds

    restarted = _restart(served, "gunicorn-restarted.log", VENDORRISK_EVIDENCE_SWEEP_MINUTES="0")
    inst.served = restarted
    try:
        assert "evidence sweep removed" in restarted.log.read_text()
        _check_after_the_crash(inst, load, saves_link, submit_link, annex_eid, texts, file_question)
        # Served again after the restart: a save from the same tab goes through.
        tabs["save-0"].url = tabs["save-0"].url.replace(served.url, restarted.url)
        r = tabs["save-0"].open().autosave(texts[0][1], "再起動後")  # the page opened again
        assert r.status == 200 and not json.loads(r.body)["conflicts"]
    finally:
        _stop(restarted)


def _check_after_the_crash(inst: Instance, load: Load, saves_link: str, submit_link: str, annex_eid: int,
                           texts: list[tuple[Any, Any]], file_question: Any) -> None:
    uploads = inst.served.instance / "uploads"

    def state() -> dict[str, Any]:
        response = inst.invitation(LiveServer._token(saves_link)).response
        answers = {a.question_id: a.value for a in
                   db.session.scalars(select(AnswerRow).filter_by(response_id=response.id))}
        evidence = {e.id: (e.stored_name, e.sha256, e.size) for e in db.session.scalars(select(Evidence))}
        annexes = [(a.version, a.pdf, a.pdf_sha256) for a in db.session.scalars(
            select(Annex).filter_by(engagement_id=annex_eid).order_by(Annex.version))]
        submitted = inst.invitation(LiveServer._token(submit_link))
        assessments = db.session.scalars(select(Assessment).filter_by(response_id=submitted.response.id)).all()
        return {"answers": answers, "evidence": evidence, "annexes": annexes,
                "submit": (submitted.response.state, submitted.response.frozen_answers is not None,
                           len(assessments), submitted.engagement.state)}

    now = inst.read(state)
    # Every acknowledged save is there (or a later one of the same tab, whose answer was lost with the worker).
    for i, (_s, question) in enumerate(texts):
        acked = load.acked.get(f"save-{i}", 0)
        value = str(now["answers"][question.id])
        stored = int(value.removeprefix("保存 ")) if value.startswith("保存 ") else 0
        assert stored >= acked, (question.id, stored, acked)
    # Every evidence row names a whole file; no file (nor temporary leftover) without its row.
    for stored_name, sha256, size in now["evidence"].values():
        data = (uploads / stored_name).read_bytes()
        assert len(data) == size and hashlib.sha256(data).hexdigest() == sha256, stored_name
    assert sorted(p.name for p in uploads.iterdir()) == sorted(name for name, _s, _z in now["evidence"].values())
    assert not [p for p in uploads.iterdir() if p.name.startswith(TEMP_PREFIX)]
    if load.acked.get("upload"):
        answer = now["answers"][file_question.id]
        assert answer["evidence_id"] in now["evidence"], "the file answer names a row that is there"
        assert int(answer["filename"].removeprefix("証跡").removesuffix(".pdf")) >= load.acked["upload"]
    # Annex versions: numbered without a gap, each PDF whole; every acknowledged issue is there.
    versions = [v for v, _pdf, _sha in now["annexes"]]
    assert versions == list(range(1, len(versions) + 1))
    for _v, pdf, sha in now["annexes"]:
        assert pdf.startswith(b"%PDF") and pdf.rstrip().endswith(b"%%EOF") and hashlib.sha256(pdf).hexdigest() == sha
    assert len(versions) >= 1 + (1 if load.acked.get("issue") else 0)
    # The submit: whole or not at all.
    state_, frozen, assessments, engagement = now["submit"]
    if "submit" in load.acked:
        assert state_ == "submitted"
    assert (state_, frozen, assessments, engagement) in (("draft", False, 0, "invited"),
                                                         ("submitted", True, 1, "submitted")), now["submit"]


def test_a_file_write_killed_midway_leaves_nothing_under_its_name(tmp_path):
    """services.evidence.write_atomically in a process killed while it writes: the final name holds
    the whole file or nothing; what is left is a temporary file the sweep removes."""
    target = tmp_path / "evidence.pdf"
    size = 64 * 1024 * 1024
    code = ("import sys; from pathlib import Path; from vendorrisk.services.evidence import write_atomically; "
            "write_atomically(Path(sys.argv[1]), b'%PDF' + bytes(int(sys.argv[2]) - 4))")
    writer = subprocess.Popen([sys.executable, "-c", code, str(target), str(size)])
    try:
        for _ in range(20_000):  # kill as soon as the write has begun
            if any(p.stat().st_size > 0 for p in tmp_path.iterdir()) or writer.poll() is not None:
                break
            time.sleep(0.001)
        writer.send_signal(signal.SIGKILL)
    finally:
        writer.wait()
    assert not target.exists() or target.stat().st_size == size, "never a partial file under the final name"
    assert all(p == target or p.name.startswith(TEMP_PREFIX) for p in tmp_path.iterdir())


def test_the_sweep_removes_files_no_row_names_once_they_are_old_enough(app, client, invite, runner):
    import io

    from test_evidence import _file_question
    from weasyprint import HTML

    token = invite()
    qid, sid, questions, fq = _file_question(app, token)
    pdf = HTML(string="<p>証跡</p>").write_pdf()
    data = {**form_data_for(questions), field_name(fq.id): (io.BytesIO(pdf), "証跡.pdf")}
    assert client.post(f"/r/{token}/s/{qid}/{sid}", data=data, content_type="multipart/form-data").status_code == 302
    uploads = Path(app.config["UPLOAD_DIR"])
    (kept,) = [p.name for p in uploads.iterdir()]
    orphan, leftover = uploads / "0123456789abcdef0123456789abcdef.pdf", uploads / f"{TEMP_PREFIX}x.tmp"
    orphan.write_bytes(pdf)
    leftover.write_bytes(b"%PDF-1.4 half")

    result = runner.invoke(args=["evidence", "sweep"])
    assert result.exit_code == 0 and "removed 0 file(s); kept 2 too recent" in result.output, result.output
    old = time.time() - 11 * 60
    os.utime(orphan, (old, old))
    result = runner.invoke(args=["evidence", "sweep"])
    assert "removed 1 file(s)" in result.output and not orphan.exists() and leftover.exists()
    result = runner.invoke(args=["evidence", "sweep", "--older-than-minutes", "0"])
    assert "removed 1 file(s)" in result.output
    assert [p.name for p in uploads.iterdir()] == [kept], "the file a row names stays"
    with app.app_context():
        assert db.session.scalar(select(Evidence.stored_name)) == kept
        db.session.remove()


# -- 3. Two real browser tabs on the same section ------------------------------------------------------

def _stored_answer(server: LiveServer, link: str, question_id: str) -> Any:
    with server.app.app_context():
        inv = db.session.scalar(select(Invitation).filter_by(
            token_hash=Invitation.hash_token(LiveServer._token(link))))
        row = db.session.scalar(select(AnswerRow).filter_by(response_id=inv.response.id, question_id=question_id))
        db.session.remove()
    return row.value if row else None


@pytest.mark.browser
def test_two_tabs_a_stale_save_is_refused_with_the_typing_kept(browser, live_server, page_problems):
    """Tab 2 (and a tab without JavaScript) opened the section before tab 1 saved a correction: their
    saves of the same question are refused with a message naming the saved answer, what they typed stays
    in the field, and tab 1's correction stays in the database."""
    from playwright.sync_api import expect

    server = live_server
    link = server.invite()
    server.answer_everything(link)
    section = next(s for s in server.sections(link)
                   if any(q.type == "text" and not q.shown_when for q in s.questions))
    question = next(q for q in section.questions if q.type == "text" and not q.shown_when)
    box = f"#{field_name(question.id)}"

    contexts: list[Any] = []

    def tab(**options: Any) -> Any:
        context = browser.new_context(**DESKTOP, **options)
        contexts.append(context)
        context.set_default_timeout(TIMEOUT_MS)
        page = page_problems.watch(context.new_page())
        page.goto(section.url)
        return page

    stale, stale_no_js = tab(), tab(java_script_enabled=False)  # opened first
    fresh = tab()
    fresh.locator(box).fill("訂正した回答")
    fresh.get_by_role("button", name="保存して次へ").click()
    expect(fresh).not_to_have_url(section.url)
    assert _stored_answer(server, link, question.id) == "訂正した回答"

    # The autosave (leaving the field) is refused for that question, with the message beside it.
    stale.locator(box).fill("古いタブで入力")
    stale.locator(box).press("Tab")
    group = stale.locator(f"#{field_name(question.id)}-group")
    expect(group).to_contain_text("別の画面（タブ）")
    expect(group).to_contain_text("「訂正した回答」")
    expect(stale.locator("[data-autosave-status]")).to_contain_text("別の画面で新しい回答が保存されている設問があります")
    expect(stale.locator(box)).to_have_value("古いタブで入力")
    assert _stored_answer(server, link, question.id) == "訂正した回答"

    # Pressing 「保存して次へ」 there, and in the tab without JavaScript: the page comes back with the
    # error summary, the saved answer named and what was typed kept.
    for page, typed in ((stale, None), (stale_no_js, "スクリプトなしで入力")):
        if typed:
            page.locator(box).fill(typed)
        page.get_by_role("button", name="保存して次へ").click()
        expect(page.locator(".error-summary")).to_contain_text("入力内容に問題があります")
        expect(page.locator(f"#{field_name(question.id)}-group")).to_contain_text("「訂正した回答」")
        expect(page.locator(box)).to_have_value(typed or "古いタブで入力")
        assert _stored_answer(server, link, question.id) == "訂正した回答", "tab 1's correction is kept"
    page_problems.check()
    for context in contexts:
        context.close()
