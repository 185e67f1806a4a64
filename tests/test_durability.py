"""Holding up under an auditor's tests: the races a contractor's tabs and two legal users run, fired
over HTTP at a real gunicorn with several workers (on SQLite and on PostgreSQL); workers and the
whole server killed with SIGKILL in the middle of saves, uploads, a submit and annex issues; and two
real browser tabs on the same section.

Every check is what a person would notice: an acknowledged save is there afterwards, a refused one
says why in Japanese, nothing answers 5xx, and no file or row is left half-written."""

from __future__ import annotations

import http.cookiejar
import json
import secrets
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from browser_support import LiveServer
from conftest import BACKENDS, BASE_CONFIG, TEST_PASSWORD, approve_through_services, fresh_pg_database, new_engagement
from helpers import form_data_for
from sqlalchemy import select
from test_save_races import run_together
from test_save_versions import bases_of
from test_serving import Answer, Served, _csrf, _read, _start, _stop

from vendorrisk import create_app
from vendorrisk.extensions import db
from vendorrisk.models import Annex, Invitation, Officer, Organisation, User, Vendor
from vendorrisk.models import Answer as AnswerRow
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
            assert r.status == 409 and "提出済み" in data["error"], (r.status, data)
            assert answers[question.id] != f"競合 {question.id}"
    for (_section, question), r in zip(full, results[4:], strict=True):
        if "入力した内容は保存していません" in r.text():  # refused, and says so
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
    assert "入力した内容は保存していません" in r.get_data(as_text=True)
    opened = client.get(f"/r/{token}/s/{qid}/{sid}", follow_redirects=True).get_data(as_text=True)
    assert "回答は提出済みです。" in opened and "保存していません" not in opened
