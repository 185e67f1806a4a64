"""Races a contractor's browser tabs run against the app: threads against the real Flask app on
the real SQLite file and PostgreSQL. Nothing acknowledged is lost and nothing answers 500."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from helpers import answer_all, form_data_for, portal_sections
from sqlalchemy import select

from vendorrisk.extensions import db
from vendorrisk.models import Answer, Invitation
from vendorrisk.web.answer_forms import field_name


def run_together(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Start every job at the same moment (a barrier), each on its own thread; their results."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(i: int, job: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[i] = job()
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def response_of(app: Any, token: str) -> tuple[dict[str, Any], list[str], dict[str, Any] | None]:
    with app.app_context():
        inv = db.session.scalar(select(Invitation).filter_by(token_hash=Invitation.hash_token(token)))
        rows = db.session.scalars(select(Answer).filter_by(response_id=inv.response.id)).all()
        out = ({a.question_id: a.value for a in rows}, list(inv.response.completed_sections or []),
               inv.response.frozen_answers)
        db.session.remove()
    return out


def optional_texts(app: Any, token: str) -> list[tuple[str, Any]]:
    """(section url, question) for text questions (answered already: a new text never blocks the submit)."""
    out = []
    for qid, sid, questions in portal_sections(app, token):
        out += [(f"/r/{token}/s/{qid}/{sid}", q) for q in questions
                if q.type == "text" and not q.shown_when]
    return out


def test_saves_racing_the_submit_are_in_the_submitted_answers_or_refused(app, client, invite):
    token = invite()
    answer_all(app, client, token)
    targets = optional_texts(app, token)[:4]
    assert targets, "the bank has text questions"

    def save(url: str, question: Any) -> Callable[[], Any]:
        def job() -> Any:
            name = field_name(question.id)
            r = app.test_client().post(url + "/autosave", data={name: f"競合 {question.id}", "_changed": name})
            return (question.id, r.status_code, r.get_json())
        return job

    def submit() -> Any:
        return ("submit", app.test_client().post(f"/r/{token}/submit").status_code, None)

    results = run_together([submit] + [save(url, q) for url, q in targets])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert all(status < 500 for _, status, _ in results), results
    assert results[0][1] == 302
    _answers, _done, frozen = response_of(app, token)
    assert frozen is not None
    for qid, status, data in results[1:]:
        if status == 200 and not data["conflicts"]:
            assert frozen.get(qid) == f"競合 {qid}", "an acknowledged save is in the submitted answers"
        else:
            assert status == 409 and "送信されたため" in data["error"] and "残しています" in data["error"], data


def test_two_first_saves_of_a_section_at_once_both_land(app, invite):
    token = invite()
    qid, sid, questions = portal_sections(app, token)[0]
    url = f"/r/{token}/s/{qid}/{sid}"
    text = [q for q in questions if q.type == "text"]
    datas = [form_data_for(questions), form_data_for(questions, {q.id: "二つ目のタブ" for q in text})]
    results = run_together([lambda d=d: app.test_client().post(url, data=d).status_code for d in datas])
    assert results == [302, 302], results
    answers, done, _frozen = response_of(app, token)
    assert {q.id for q in questions if q.type != "file"} <= set(answers)
    assert f"{qid}:{sid}" in done


def test_two_tabs_marking_sections_done_at_once_keep_both_marks(app, client, invite):
    token = invite()
    sections = portal_sections(app, token)[:4]
    assert len(sections) >= 2

    def mark(qid: str, sid: str, questions: list[Any]) -> Callable[[], int]:
        return lambda: app.test_client().post(f"/r/{token}/s/{qid}/{sid}", data=form_data_for(questions)).status_code

    results = run_together([mark(*s) for s in sections])
    assert results == [302] * len(sections), results
    _answers, done, _frozen = response_of(app, token)
    assert {f"{qid}:{sid}" for qid, sid, _ in sections} <= set(done), done


def test_a_save_after_the_submit_is_refused_with_the_typing_kept(app, client, invite):
    token = invite()
    answer_all(app, client, token)
    url, question = optional_texts(app, token)[0]
    assert client.post(f"/r/{token}/submit").status_code == 302
    typed = "送信の後に入力した文章"
    name = field_name(question.id)
    page = app.test_client().post(url, data={name: typed, "action": "continue"})
    body = page.get_data(as_text=True)
    assert page.status_code == 409
    assert typed in body and "この画面の入力は保存されていません" in body
    assert "入力した内容はこの画面に残しています" in body
    auto = app.test_client().post(url + "/autosave", data={name: typed, "_changed": name})
    assert auto.status_code == 409 and "残しています" in auto.get_json()["error"]
    _answers, _done, frozen = response_of(app, token)
    assert frozen is not None and frozen.get(question.id) != typed
