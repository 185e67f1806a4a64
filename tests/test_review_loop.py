"""The assessment as a loop: clarification on chosen questions, resubmission with the changes shown,
the four decisions (条件付承認 with 是正事項 tracked to closure), overrides, 差戻し keeping the answers,
and the 決裁 before the annex. Through the pages, as the reviewer and the contractor use them."""

from __future__ import annotations

import re
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

from helpers import answer_all
from sqlalchemy import select

from vendorrisk.domain.business_days import OfficeCalendar
from vendorrisk.extensions import db
from vendorrisk.models import Annex, Assessment, Engagement, Remediation, Response, User
from vendorrisk.services.review import today_jst
from vendorrisk.web.answer_forms import field_name

ISMS = "out.select.isms"  # yesno, weight 2, with an obligation wording in the bank


def _submit(app, client, invite, overrides=None) -> str:
    token = invite()
    answer_all(app, client, token, overrides)
    assert client.post(f"/r/{token}/submit").status_code == 302
    return token


def _mails(app) -> list:
    return [message_from_bytes(p.read_bytes(), policy=default_policy)
            for p in sorted(Path(app.config["OUTBOX_DIR"]).glob("*.eml"), key=lambda p: p.stat().st_mtime)]


def _state(app, eid) -> str:
    with app.app_context():
        return db.session.get(Engagement, eid).state


def _ask(client, eid, question_id: str, message: str) -> None:
    """The reviewer asks about one question, with a deadline of 5 開庁日 (logged in as the reviewer)."""
    page = client.get(f"/staff/engagements/{eid}/review").get_data(as_text=True)
    rows = re.findall(r'name="(rows-\d+)-question_id"[^>]*value="([^"]+)"', page)
    if not rows:  # attribute order differs
        rows = [(m[1], m[0]) for m in re.findall(r'value="([^"]+)"[^>]*name="(rows-\d+)-question_id"', page)]
    prefix = next(name for name, qid in rows if qid == question_id)
    r = client.post(f"/staff/engagements/{eid}/clarify", data={
        **{f"{name}-question_id": qid for name, qid in rows},
        f"{prefix}-ask": "y", f"{prefix}-message": message, "open_days": "5",
    })
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]


def test_clarify_resubmit_conditional_approval_and_remediation_closed(app, client, seed, login, invite):
    eid = seed.engagements[("tamana-city", "outsourcing")]
    token = _submit(app, client, invite, {ISMS: "partial"})

    # The reviewer asks about one question only, with a deadline in 開庁日.
    login(seed.users["reviewer"])
    _ask(client, eid, ISMS, "ISMS認証の範囲に本業務の拠点が含まれるか書いてください。")
    assert _state(app, eid) == "clarification"
    due = OfficeCalendar().add_open_days(today_jst(), 5)
    mail = _mails(app)[-1]
    body = mail.get_content()
    assert "回答内容の確認のお願い" in mail["Subject"]
    assert "ISMS認証の範囲に本業務の拠点が含まれるか" in body and f"{due.month}月{due.day}日" in body
    client.post("/logout")

    # The same link opens the page of what was asked; the other answers are kept and read-only.
    start = client.get(f"/r/{token}/")
    assert start.status_code == 302 and start.headers["Location"].endswith("/clarification")
    asked = client.get(f"/r/{token}/clarification").get_data(as_text=True)
    assert "ISMS認証の範囲に本業務の拠点が含まれるか" in asked
    assert "補足の記入例：状況を説明します。</textarea>" in asked, "the 補足 given is there to correct"
    fields = set(re.findall(r'name="(q_[^"]+)"', asked))
    assert fields == {field_name(ISMS), field_name(ISMS) + "__note"}, "only the asked question and its 補足 change"
    assert "その他の回答（提出済み・変更できません）" in asked
    assert client.get(f"/r/{token}/check").status_code == 302
    # Trying to change another question through a section page is refused (it redirects, saves nothing).
    other = "out.select.pmark"
    client.post(f"/r/{token}/s/outsourcing/out.select", data={field_name(other): "no", "action": "continue"})
    r = client.post(f"/r/{token}/clarification", data={
        field_name(ISMS): "yes", f"reply_{field_name(ISMS)}": "本業務の拠点は認証範囲に含まれます。",
        "action": "resubmit",
    })
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    assert _state(app, eid) == "submitted"
    with app.app_context():
        response = db.session.scalar(select(Response))
        assert response.frozen_answers[ISMS] == "yes" and response.frozen_answers[other] == "yes"
        assert len(db.session.scalars(select(Assessment)).all()) == 2

    # The reviewer sees what changed since the last submission, and the thread with both messages.
    login(seed.users["reviewer"])
    review = client.get(f"/staff/engagements/{eid}/review").get_data(as_text=True)
    changes = review[review.index("前回の提出からの変更"):review.index("指摘事項")]
    assert "（1件）" in changes and "一部" in changes and "はい" in changes
    assert "本業務の拠点は認証範囲に含まれます。" in review and "審査担当" in review and "事業者" in review

    # 条件付承認 with one 是正事項 (an obligation with a deadline in 開庁日), and a reason.
    r = client.post(f"/staff/engagements/{eid}/review", data={
        "decision": "conditional", "note": "研修記録の整備を条件に承認します。",
        "remediations-0-use": "y", "remediations-0-obligation": "全従業員への情報セキュリティ研修の記録を整備し",
        "remediations-0-open_days": "10",
    })
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    assert _state(app, eid) == "conditional"
    deadline = OfficeCalendar().add_open_days(today_jst(), 10)
    with app.app_context():
        item = db.session.scalar(select(Remediation))
        assert item.deadline == deadline and item.state == "open"
        item_id = item.id
    notice = _mails(app)[-1]
    assert "是正事項のお知らせ" in notice["Subject"] and "研修の記録を整備し" in notice.get_content()
    engagement_page = client.get(f"/staff/engagements/{eid}").get_data(as_text=True)
    assert "条件付承認" in engagement_page and "対応待ち" in engagement_page
    client.post("/logout")

    # The contractor reports (是正報告) through the same link.
    page = client.get(f"/r/{token}/", follow_redirects=True).get_data(as_text=True)
    assert "是正事項と是正報告" in page and "研修の記録を整備し" in page
    empty = client.post(f"/r/{token}/remediation/{item_id}", data={f"rem{item_id}-report": "  "})
    assert empty.status_code == 400 and "行った対応を入力してください。" in empty.get_data(as_text=True)
    report = "11月に全員の研修を実施し記録を整えました。"
    r = client.post(f"/r/{token}/remediation/{item_id}", data={f"rem{item_id}-report": report})
    assert r.status_code == 302
    assert "是正報告あり" in client.get(f"/r/{token}/remediation").get_data(as_text=True)

    # The reviewer closes it.
    login(seed.users["reviewer"])
    assert report in client.get(f"/staff/engagements/{eid}").get_data(as_text=True)
    r = client.post(f"/staff/remediations/{item_id}/review", data={f"rem{item_id}-outcome": "close",
                                                                   f"rem{item_id}-note": "記録を確認しました。"})
    assert r.status_code == 302
    with app.app_context():
        assert db.session.get(Remediation, item_id).state == "closed"
    assert "完了" in client.get(f"/staff/engagements/{eid}").get_data(as_text=True)

    # The annex carries the 是正事項 as an obligation with its deadline.
    client.post("/logout")
    login(seed.users["legal"])
    assert client.post(f"/legal/engagements/{eid}/annex").status_code == 302
    with app.app_context():
        annex = db.session.scalar(select(Annex))
        assert annex is not None and "全従業員への情報セキュリティ研修の記録を整備し" in annex.text
        assert annex.snapshot["findings"][0]["deadline"] == deadline.isoformat()


def test_full_rejection_keeps_the_answers_as_the_starting_point(app, client, seed, login, invite):
    eid = seed.engagements[("tamana-city", "outsourcing")]
    _submit(app, client, invite, {ISMS: "no"})
    login(seed.users["reviewer"])
    url = f"/staff/engagements/{eid}/review"
    missing = client.post(url, data={"decision": "rejected", "note": ""})
    assert missing.status_code == 400 and "判定の理由を入力してください。" in missing.get_data(as_text=True)
    r = client.post(url, data={"decision": "rejected", "note": "全体を見直してください。"})
    assert r.status_code == 302 and _state(app, eid) == "rejected"
    client.post("/logout")
    token = invite()
    # The new link starts from the previous answers, not from an empty form.
    section = client.get(f"/r/{token}/s/outsourcing/out.select").get_data(as_text=True)
    radios = [tag for tag in re.findall(r"<input[^>]*>", section) if f'name="{field_name(ISMS)}"' in tag]
    assert [tag for tag in radios if 'value="no"' in tag and "checked" in tag], "the earlier answer is pre-filled"
    check = client.get(f"/r/{token}/check").get_data(as_text=True)
    assert "まだ回答していない必須の設問があります" not in check
    assert client.post(f"/r/{token}/submit").status_code == 302
    assert _state(app, eid) == "submitted"
    login(seed.users["reviewer"])
    review = client.get(f"/staff/engagements/{eid}/review").get_data(as_text=True)
    assert "前回の提出から変わった回答はありません。" in review


def test_declined_needs_a_reason_and_is_final(app, client, seed, login, invite):
    eid = seed.engagements[("tamana-city", "outsourcing")]
    _submit(app, client, invite)
    login(seed.users["reviewer"])
    r = client.post(f"/staff/engagements/{eid}/review", data={"decision": "declined", "note": "要件を満たしません。"})
    assert r.status_code == 302 and _state(app, eid) == "declined"
    page = client.get(f"/staff/engagements/{eid}").get_data(as_text=True)
    with app.app_context():
        reviewer = db.session.scalar(select(User).filter_by(email=seed.users["reviewer"])).name
    assert "判定：<strong>不承認</strong>" in page and "理由：要件を満たしません。" in page
    assert f"（{reviewer}、" in page, "the decision names the reviewer"
    assert "回答依頼を送る" not in page, "不承認 is final: no new invitation"


def test_two_step_approval_before_the_annex(app, client, seed, login, invite):
    eid = seed.engagements[("tamana-city", "outsourcing")]
    with app.app_context():
        admin = db.session.scalar(select(User).filter_by(email=seed.users["admin"]))
        admin_id = admin.id
    login(seed.users["admin"])
    r = client.post("/admin/approval-route", data={"review": "role:legal", "approve": f"user:{admin_id}"})
    assert r.status_code == 302
    client.post("/logout")
    _submit(app, client, invite)

    login(seed.users["reviewer"])
    review = client.get(f"/staff/engagements/{eid}/review").get_data(as_text=True)
    assert "審査：法務・契約担当 → 承認：" in review
    r = client.post(f"/staff/engagements/{eid}/review", data={"decision": "approved", "note": "適合しています。"})
    assert r.status_code == 302 and _state(app, eid) == "in_approval"
    # The drafter cannot take a step.
    assert "決裁を登録する" not in client.get(f"/staff/engagements/{eid}").get_data(as_text=True)
    client.post("/logout")

    login(seed.users["legal"])
    r = client.post(f"/staff/engagements/{eid}/approval", data={"action": "approve", "note": "確認しました。"})
    assert r.status_code == 302 and _state(app, eid) == "in_approval"
    # Before the second approval, the annex is refused.
    client.post(f"/legal/engagements/{eid}/annex")
    with app.app_context():
        assert db.session.scalar(select(Annex)) is None
    page = client.get(f"/staff/engagements/{eid}").get_data(as_text=True)
    assert "決裁待ち" in page and "承認済み（" in page
    # legal may not take the second step (a named person).
    client.post(f"/staff/engagements/{eid}/approval", data={"action": "approve", "note": ""})
    assert _state(app, eid) == "in_approval"
    client.post("/logout")

    login(seed.users["admin"])
    r = client.post(f"/staff/engagements/{eid}/approval", data={"action": "approve", "note": ""})
    assert r.status_code == 302 and _state(app, eid) == "approved"
    client.post("/logout")
    login(seed.users["legal"])
    assert client.post(f"/legal/engagements/{eid}/annex").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Annex)) is not None


def test_approval_step_returned_goes_back_to_the_reviewer(app, client, seed, login, invite):
    eid = seed.engagements[("tamana-city", "outsourcing")]
    login(seed.users["admin"])
    client.post("/admin/approval-route", data={"review": "", "approve": "role:legal"})
    client.post("/logout")
    _submit(app, client, invite)
    login(seed.users["reviewer"])
    client.post(f"/staff/engagements/{eid}/review", data={"decision": "approved", "note": "適合しています。"})
    client.post("/logout")
    login(seed.users["legal"])
    no_reason = client.post(f"/staff/engagements/{eid}/approval", data={"action": "return", "note": ""})
    assert no_reason.status_code == 400 and "差し戻す理由を入力してください。" in no_reason.get_data(as_text=True)
    client.post(f"/staff/engagements/{eid}/approval", data={"action": "return", "note": "理由が不十分です。"})
    assert _state(app, eid) == "submitted"
    with app.app_context():
        assert db.session.scalar(select(Assessment)).decision is None


def test_override_is_shown_beside_the_automatic_evaluation(app, client, seed, login, invite):
    eid = seed.engagements[("tamana-city", "outsourcing")]
    _submit(app, client, invite, {ISMS: "partial"})
    login(seed.users["reviewer"])
    no_reason = client.post(f"/staff/engagements/{eid}/override",
                            data={"question_id": ISMS, "evaluation": "pass", "reason": ""})
    assert no_reason.status_code == 400 and "評価を変える理由を入力してください。" in no_reason.get_data(as_text=True)
    r = client.post(f"/staff/engagements/{eid}/override",
                    data={"question_id": ISMS, "evaluation": "pass", "reason": "認証範囲外の拠点は使いません。"})
    assert r.status_code == 302
    review = client.get(f"/staff/engagements/{eid}/review").get_data(as_text=True)
    shown = r"自動評価：一部適合\s*<br><strong>審査担当の評価：適合</strong>（理由：認証範囲外の拠点は使いません。"
    assert re.search(shown, review), "the override is shown beside the automatic evaluation, with its reason"


def test_loop_pages_are_valid_html(app, client, seed, login, loop_states, make_submitted_invitation, tmp_path):
    """The pages of each loop state with their forms (the whole-app check sees them only in the states
    of its own fixture), through the Nu HTML Checker."""
    import json
    import subprocess

    from test_html_validity import VNU, _require_vnu

    _require_vnu()
    clarify_eid, clarify_token = loop_states["clarification"]
    conditional_eid, conditional_token = loop_states["conditional"]
    approval_eid, _ = loop_states["in_approval"]
    pages = {
        "clarification": client.get(f"/r/{clarify_token}/clarification"),
        "remediation": client.get(f"/r/{conditional_token}/remediation"),
    }
    submitted = seed.engagements[("tamana-city", "social_media")]
    make_submitted_invitation(submitted)
    login(seed.users["reviewer"])
    pages["review-undecided"] = client.get(f"/staff/engagements/{submitted}/review")
    pages["review-decision-errors"] = client.post(f"/staff/engagements/{submitted}/review",
                                                  data={"decision": "conditional", "note": "条件付き"})
    pages["review-clarify-errors"] = client.post(f"/staff/engagements/{submitted}/clarify", data={"open_days": "0"})
    pages["review-override-errors"] = client.post(f"/staff/engagements/{submitted}/override", data={"reason": ""})
    pages["review-clarifying"] = client.get(f"/staff/engagements/{clarify_eid}/review")
    pages["conditional"] = client.get(f"/staff/engagements/{conditional_eid}")
    pages["conditional-review"] = client.get(f"/staff/engagements/{conditional_eid}/review")
    pages["review-errors"] = client.post(f"/staff/engagements/{approval_eid}/review", data={"decision": "conditional"})
    client.post("/logout")
    login(seed.users["legal"])
    pages["in-approval"] = client.get(f"/staff/engagements/{approval_eid}")
    client.post("/logout")
    login(seed.users["admin"])
    pages["organisation"] = client.get("/admin/organisation")
    written = []
    for name, response in pages.items():
        assert response.status_code in (200, 400), name
        path = tmp_path / f"{name}.html"
        path.write_bytes(response.data)
        written.append(str(path))
    assert "決裁を登録する" in pages["in-approval"].get_data(as_text=True)
    assert "確認結果を登録する" in pages["conditional"].get_data(as_text=True)
    undecided = pages["review-undecided"].get_data(as_text=True)
    assert "確認を依頼する" in undecided and "評価を変更する" in undecided and "判定を登録する" in undecided
    assert "条件付承認では、是正事項を1件以上選んで" in pages["review-decision-errors"].get_data(as_text=True)
    result = subprocess.run(["java", "-jar", str(VNU), "--errors-only", "--format", "json", *written],
                            capture_output=True, text=True, timeout=600, check=False)
    messages = json.loads(result.stderr or '{"messages": []}')["messages"]
    errors = [f"{Path(m.get('url', '')).name}:{m.get('lastLine')}: {m['message']}" for m in messages
              if m.get("type") == "error"]
    assert not errors, "\n".join(errors)


def test_supplement_required_for_partial_where_the_bank_says_so(app, client, seed, login, invite):
    """out.select.isms declares a 補足 required for 「一部」「いいえ」: the form offers it with its limit,
    the check page asks for it, submitting is refused without it, and the reviewer sees it."""
    eid = seed.engagements[("tamana-city", "outsourcing")]
    token = invite()
    answer_all(app, client, token, {ISMS: "partial"})
    section_url = f"/r/{token}/s/outsourcing/out.select"
    page = client.get(section_url).get_data(as_text=True)
    note = field_name(ISMS) + "__note"
    assert f'name="{note}"' in page and "1000文字まで。「一部」「いいえ」と回答したときは必須です。" in page
    client.post(section_url, data={**_section_data(app, token), note: "", "section_done": "no"})
    check = client.get(f"/r/{token}/check").get_data(as_text=True)
    assert "の補足を書いてください（この回答のときは必須です）" in check
    refused = client.post(f"/r/{token}/submit")
    assert refused.status_code == 400 and _state(app, eid) == "invited"
    too_long = client.post(section_url, data={**_section_data(app, token), note: "あ" * 1001})
    assert too_long.status_code == 200 and "補足は1000文字以内で入力してください。" in too_long.get_data(as_text=True)
    r = client.post(section_url, data={**_section_data(app, token), note: "本業務の開発室は認証範囲外です。"})
    assert r.status_code == 302
    check = client.get(f"/r/{token}/check").get_data(as_text=True)
    assert "補足：本業務の開発室は認証範囲外です。" in check and "の補足を書いてください" not in check
    assert client.post(f"/r/{token}/submit").status_code == 302 and _state(app, eid) == "submitted"
    login(seed.users["reviewer"])
    review = client.get(f"/staff/engagements/{eid}/review").get_data(as_text=True)
    assert "一部<br>補足：本業務の開発室は認証範囲外です。" in review


def _section_data(app, token):
    from helpers import form_data_for, portal_sections

    questions = next(qs for _q, sid, qs in portal_sections(app, token) if sid == "out.select")
    return form_data_for(questions, {ISMS: "partial"})


def test_every_hint_asking_for_a_note_or_attachment_has_the_field_to_take_it():
    """A question whose text or hint asks the contractor to 補足 or 添付 declares the 補足 (with evidence
    where a document is asked for) or is itself a file question: the form offers what the bank asks."""
    from vendorrisk.domain.questionnaire import load_all
    from vendorrisk.paths import QUESTIONNAIRES_DIR

    unmet = []
    for bank in load_all(QUESTIONNAIRES_DIR).values():
        for q in bank.questions():
            said = f"{q.text_ja} {q.help_ja or ''}"
            attach = re.search("(?<!次の設問で)添付して", said)  # 「次の設問で添付」 points at a file question
            if q.type == "file" or not (attach or re.search("補足(して|欄)", said)):
                continue
            if q.supplement is None or (attach and not q.supplement.evidence):
                unmet.append(f"{q.id}: {said}")
    assert not unmet, "\n".join(unmet)


SUBS = "out.sub.subcontractors"  # a group question: one row per 再委託先


def test_clarification_add_row_adds_a_row_and_enter_saves(app, client, seed, login, invite):
    """On the clarification page, 「行を追加する」 of an asked group question shows one more empty row and
    keeps what was typed (saving nothing); Enter in a text field presses 「保存する」, never the add-row."""
    eid = seed.engagements[("tamana-city", "outsourcing")]
    token = _submit(app, client, invite, {"out.sub.subcontracting": "yes"})
    login(seed.users["reviewer"])
    _ask(client, eid, SUBS, "再委託先をすべて書いてください。")
    client.post("/logout")
    url = f"/r/{token}/clarification"
    page = client.get(url).get_data(as_text=True)
    assert "1件目" in page and "2件目" not in page
    form = page[page.index("<form"):]
    first_button = re.search(r'<button type="submit" name="action" value="([^"]+)"', form)
    assert first_button and first_button.group(1) == "save", "Enter in a text field saves"

    name = field_name(SUBS)
    typed = {f"{name}-0-name": "株式会社あたらしい再委託", f"{name}-0-address": "熊本県玉名市1-1",
             f"{name}-0-scope": "保守", f"reply_{name}": "再委託先を見直しました。"}
    added = client.post(url, data={**typed, "action": f"add:{SUBS}"})
    shown = added.get_data(as_text=True)
    assert added.status_code == 200 and "2件目" in shown and "3件目" not in shown
    assert "株式会社あたらしい再委託" in shown and "再委託先を見直しました。" in shown
    assert f'name="{name}-1-name"' in shown
    with app.app_context():
        assert db.session.scalar(select(Response)).answer_map()[SUBS][0]["name"] == "株式会社したうけ", \
            "adding a row saves nothing"

    saved = client.post(url, data={**typed, f"{name}-1-name": "株式会社ふたつめ", f"{name}-1-address": "熊本市",
                                   f"{name}-1-scope": "印刷", "action": "save"})
    assert saved.status_code == 302 and saved.headers["Location"].endswith("/clarification")
    with app.app_context():
        rows = db.session.scalar(select(Response)).answer_map()[SUBS]
    assert [r["name"] for r in rows] == ["株式会社あたらしい再委託", "株式会社ふたつめ"]
    assert _state(app, eid) == "clarification"
