"""Saves that never lose data: versions per answer, stale tabs, the lean save, autosave, and the
portal page coming back with what was typed when the session was lost."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from helpers import form_data_for, portal_sections
from sqlalchemy import event, select, text

from vendorrisk.extensions import db
from vendorrisk.models import Answer, Invitation, Response
from vendorrisk.web.answer_forms import field_name

BASE_RE = re.compile(r'name="_v_(q_[^"]+)" value="([^"]*)"')


def bases_of(html: str) -> dict[str, str]:
    return {f"_v_{name}": value for name, value in BASE_RE.findall(html)}


def text_section(app: Any, token: str) -> tuple[str, list[Any], list[Any]]:
    """A section with two plain text questions: (url, its questions, the two)."""
    for qid, sid, questions in portal_sections(app, token):
        texts = [q for q in questions if q.type == "text" and not q.shown_when]
        if len(texts) >= 2:
            return f"/r/{token}/s/{qid}/{sid}", questions, texts[:2]
    raise AssertionError("the outsourcing bank has a section with two text questions")


def stored(app: Any, token: str) -> dict[str, tuple[Any, int]]:
    with app.app_context():
        inv = db.session.scalar(select(Invitation).filter_by(token_hash=Invitation.hash_token(token)))
        rows = db.session.scalars(select(Answer).filter_by(response_id=inv.response.id)).all()
        out = {a.question_id: (a.value, a.version) for a in rows}
        db.session.remove()
    return out


def post(client: Any, url: str, data: dict[str, Any]) -> Any:
    return client.post(url, data=data)


def test_stale_tab_saving_another_question_keeps_the_correction(app, client, invite):
    token = invite()
    url, questions, (first, second) = text_section(app, token)
    post(client, url, form_data_for(questions, {first.id: "最初の回答", second.id: "二つ目の最初"}))
    tab1, tab2 = app.test_client(), app.test_client()
    page1, page2 = tab1.get(url).get_data(as_text=True), tab2.get(url).get_data(as_text=True)
    assert "最初の回答" in page1

    # Tab 1 corrects the first question.
    r = post(tab1, url, {**form_data_for(questions, {first.id: "訂正した回答", second.id: "二つ目の最初"}),
                         **bases_of(page1)})
    assert r.status_code == 302
    # Tab 2 (opened earlier, still showing the old first answer) changes only the second question.
    r = post(tab2, url, {**form_data_for(questions, {first.id: "最初の回答", second.id: "二つ目を変更"}),
                         **bases_of(page2)})
    assert r.status_code == 302, r.get_data(as_text=True)[:1500]
    now = stored(app, token)
    assert now[first.id] == ("訂正した回答", 2), "the stale tab did not undo tab 1's correction"
    assert now[second.id] == ("二つ目を変更", 2)


def test_stale_save_of_the_same_question_is_refused_and_keeps_the_typing(app, client, invite):
    token = invite()
    url, questions, (first, _second) = text_section(app, token)
    post(client, url, form_data_for(questions, {first.id: "最初の回答"}))
    tab1, tab2 = app.test_client(), app.test_client()
    page1, page2 = tab1.get(url).get_data(as_text=True), tab2.get(url).get_data(as_text=True)
    post(tab1, url, {**form_data_for(questions, {first.id: "新しい回答"}), **bases_of(page1)})

    r = post(tab2, url, {**form_data_for(questions, {first.id: "古いタブで入力"}), **bases_of(page2)})
    body = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "別の画面（タブ）" in body and "「新しい回答」" in body, "the newer saved answer is shown"
    assert "古いタブで入力" in body, "what was typed is kept on the page"
    assert stored(app, token)[first.id] == ("新しい回答", 2)
    # Saving again from the page that showed the conflict goes through (it now carries the new version).
    r = post(tab2, url, {**form_data_for(questions, {first.id: "古いタブで入力"}), **bases_of(body)})
    assert r.status_code == 302
    assert stored(app, token)[first.id] == ("古いタブで入力", 3)


def test_autosave_answers_with_versions_and_refuses_a_stale_one(app, client, invite):
    token = invite()
    url, questions, (first, second) = text_section(app, token)
    page = client.get(url).get_data(as_text=True)
    bases = bases_of(page)
    name = field_name(first.id)
    first_base = bases[f"_v_{name}"]
    r = client.post(url + "/autosave", data={name: "自動保存の回答", "_changed": name, f"_v_{name}": first_base})
    assert r.status_code == 200, r.get_data(as_text=True)
    data = r.get_json()
    assert re.fullmatch(r"\d{1,2}時\d\d分", data["saved_at"])
    assert data["versions"][name].startswith("1.") and not data["conflicts"]
    assert stored(app, token) == {first.id: ("自動保存の回答", 1)}, "only the changed question is written"

    # The stale version (0) is refused for that question, with the message; nothing overwritten.
    r = client.post(url + "/autosave", data={name: "古い画面", "_changed": name, f"_v_{name}": bases[f"_v_{name}"]})
    assert "別の画面（タブ）" in r.get_json()["conflicts"][name]
    assert stored(app, token)[first.id] == ("自動保存の回答", 1)
    # With the version it was given, the next autosave lands.
    r = client.post(url + "/autosave", data={name: "続き", "_changed": name, f"_v_{name}": data["versions"][name]})
    assert r.get_json()["versions"][name].startswith("2.")
    assert stored(app, token)[first.id] == ("続き", 2)
    assert second.id not in stored(app, token)


def test_section_is_marked_done_only_with_its_required_answers(app, client, invite):
    token = invite()
    for section_qid, section_id, questions in portal_sections(app, token):
        required = [q for q in questions if q.required and not q.shown_when and q.type not in ("file",)]
        if required:
            qid, sid = section_qid, section_id
            break
    url = f"/r/{token}/s/{qid}/{sid}"
    missing = required[0]
    data = form_data_for(questions)
    for key in [k for k in data if k == field_name(missing.id) or k.startswith(field_name(missing.id) + "-")]:
        del data[key]
    r = post(client, url, data)
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "完了にできません" in body and missing.text_ja in body
    with app.app_context():
        inv = db.session.scalar(select(Invitation).filter_by(token_hash=Invitation.hash_token(token)))
        assert f"{qid}:{sid}" not in (inv.response.completed_sections or [])
        db.session.remove()
    assert post(client, url, form_data_for(questions)).status_code == 302


def test_enter_in_a_text_field_saves_and_never_adds_a_row(app, client, invite):
    token = invite()
    url, questions, (first, _second) = text_section(app, token)
    page = client.get(url).get_data(as_text=True)
    form = page[page.index("<form"):]
    first_button = re.search(r"<button[^>]*type=\"submit\"[^>]*>", form).group(0)
    assert 'value="save"' in first_button, "the implicit-submission button is the save, not 「行を追加する」"
    r = post(client, url, {**form_data_for(questions, {first.id: "エンターで保存"}), "action": "save"})
    assert r.status_code == 302 and r.headers["Location"].endswith(url.split("/r/")[1].split("/", 1)[1])
    assert stored(app, token)[first.id][0] == "エンターで保存"


def test_lost_session_gives_the_page_back_with_what_was_typed(app, invite):
    token = invite()
    url, questions, (first, _second) = text_section(app, token)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        fresh = app.test_client()  # no session cookie: the CSRF token cannot match
        r = fresh.post(url, data={**form_data_for(questions, {first.id: "消えてほしくない入力"}), "csrf_token": "x"})
        body = r.get_data(as_text=True)
        assert r.status_code == 400
        assert "消えてほしくない入力" in body and "まだ保存されていません" in body
        assert first.id not in stored(app, token)
        # The page it gave back carries a fresh token: saving from it works.
        token_value = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', body) or re.search(
            r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', body)
        assert token_value
        r = fresh.post(url, data={**form_data_for(questions, {first.id: "消えてほしくない入力"}),
                                  "csrf_token": token_value.group(1), **bases_of(body)})
        assert r.status_code == 302
        assert stored(app, token)[first.id][0] == "消えてほしくない入力"
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_a_save_loads_only_the_answers_it_changes(app, client, invite):
    token = invite()
    from helpers import answer_all

    answer_all(app, client, token)
    url, questions, (first, _second) = text_section(app, token)
    loaded: list[str] = []

    def count(target: Answer, context: Any) -> None:
        loaded.append(target.question_id)

    event.listen(Answer, "load", count)
    try:
        name = field_name(first.id)
        r = client.post(url + "/autosave", data={name: "一問だけ変更", "_changed": name})
        assert r.status_code == 200
    finally:
        event.remove(Answer, "load", count)
    assert loaded and set(loaded) == {first.id}, f"only the changed answer is loaded, not {sorted(set(loaded))}"


def test_sqlite_runs_wal_with_synchronous_normal(app, backend):
    if backend != "sqlite":
        pytest.skip("SQLite pragmas")
    with app.app_context():
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
        db.session.remove()


def test_rate_limits_start_no_thread_per_hit(app, client, invite):
    token = invite()
    url, questions, (first, _second) = text_section(app, token)
    app.config["RATELIMIT_ENABLED"] = True
    from vendorrisk.extensions import limiter

    limiter.enabled = True
    try:
        name = field_name(first.id)
        client.post(url + "/autosave", data={name: "0", "_changed": name})
        before = threading.active_count()
        for i in range(30):
            client.post(url + "/autosave", data={name: f"回答{i}", "_changed": name})
        assert threading.active_count() <= before, "a rate-limit hit started a thread"
    finally:
        limiter.enabled = False
        app.config["RATELIMIT_ENABLED"] = False


def test_response_versions_survive_submit(app, client, invite):
    """Submitting freezes the saved answers; a later save is refused with a message."""
    from helpers import answer_all

    token = invite()
    answer_all(app, client, token)
    url, _questions, (first, _second) = text_section(app, token)
    assert client.post(f"/r/{token}/submit").status_code == 302
    name = field_name(first.id)
    r = client.post(url + "/autosave", data={name: "提出後", "_changed": name})
    error = r.get_json()["error"]  # the portal's FROZEN message: not saved, the typing kept on the page
    assert r.status_code == 409 and "すでに送信" in error and "保存されていません" in error
    with app.app_context():
        inv = db.session.scalar(select(Invitation).filter_by(token_hash=Invitation.hash_token(token)))
        assert db.session.get(Response, inv.response.id).frozen_answers.get(first.id) != "提出後"
        db.session.remove()


def test_a_save_the_database_cannot_take_in_time_is_refused_with_the_typing_kept(app, client, invite, backend):
    """SQLite under overload: the write lock not given within busy_timeout → a plain message, no 500."""
    if backend != "sqlite":
        pytest.skip("the SQLite write lock")
    import sqlite3

    token = invite()
    url, questions, (first, _second) = text_section(app, token)
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        name = field_name(first.id)
        r = client.post(url + "/autosave", data={name: "混雑中の入力", "_changed": name})
        assert r.status_code == 503 and r.get_json()["retry"] and "混み合って" in r.get_json()["error"]
        r = post(client, url, form_data_for(questions, {first.id: "混雑中の入力"}))
        body = r.get_data(as_text=True)
        assert r.status_code == 503 and "混み合って" in body and "混雑中の入力" in body
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert first.id not in stored(app, token)
    r = client.post(url + "/autosave", data={name: "混雑中の入力", "_changed": name})
    assert r.status_code == 200 and stored(app, token)[first.id][0] == "混雑中の入力"
