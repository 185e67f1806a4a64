"""Hypothesis fuzzing of every form the app renders and of the policy parser.

Each staff and portal page with a form is opened as the role that uses it; the forms on it are
found in the HTML (action and field names), and random values are posted to each form's action:
never a 5xx, never a traceback in the page. `test_every_form_route_is_fuzzed` fails when a route that
takes form POSTs has no page here, so a new form is fuzzed from its first day."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from conftest import approve_through_services
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vendorrisk.domain.policy import PolicyParseError, parse_policy_text
from vendorrisk.paths import POLICIES_DIR

HOSTILE = st.sampled_from([
    "", " ", "\u3000", "「 」", "0", "-1", "1e309", "nan", "inf", str(2**64), "9" * 40, "１２３", "<script>x</script>",
    "\x00", "\uffff", "\ufffe", "🙂" * 3, "a" * 5000, "\r\nBcc: x@example.jp", "2026-02-30", "令和99年1月1日",
    "{{ 7*7 }}", "{clause}", "on", "true", "../../etc/passwd", "\\", "'\"", "admin", "procurement", "high",
])
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)  # the client cannot send lone surrogates
VALUE = st.one_of(HOSTILE, TEXT, st.integers().map(str))
FUZZ = settings(max_examples=12, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

FORM_RE = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
NAME_RE = re.compile(r"<(?:input|select|textarea)\b[^>]*\bname=\"([^\"]+)\"", re.I)
# Routes whose POST is not a form (or would end the fuzzing session).
NOT_FORMS = {"auth.logout", "portal.submit", "policy_admin.accept", "policy_admin.discard", "jobs_admin.retry",
             "api_keys_admin.revoke", "admin.reset_article", "mail_admin.reset", "staff.revoke", "staff.reassess",
             "legal.issue",
             "portal.autosave",
             # buttons without fields (a confirmation, archive or restore): nothing to fuzz
             "staff.resend", "records.archive_vendor", "records.restore_vendor", "records.archive_engagement",
             "records.restore_engagement"}  # autosave: the section page's script posts it, not a form of its own


def _forms(html: str) -> list[tuple[str, list[str]]]:
    out = []
    for attrs, body in FORM_RE.findall(html):
        if 'method="post"' not in attrs.lower():
            continue
        action = re.search(r'action="([^"]*)"', attrs)
        names = sorted({unescape(n) for n in NAME_RE.findall(body)} - {"csrf_token"})
        out.append((unescape(action.group(1)) if action else "", names))
    return out


@pytest.fixture
def pages(app, seed, invite, make_submitted_invitation, make_engagement, loop_states):
    eid = approve_through_services(app, seed)
    with app.app_context():
        from vendorrisk.extensions import db
        from vendorrisk.models import Engagement

        vendor_id = db.session.get(Engagement, eid).vendor_id
    uninvited = make_engagement(seed.org_ids["tamana-city"], vendor_id, "cloud", reference="FUZZ-1")
    submitted = seed.engagements[("tamana-city", "social_media")]
    make_submitted_invitation(submitted)
    token = invite("cloud")
    from helpers import portal_sections

    qid, sid, _ = portal_sections(app, token)[0]
    return {
        "anonymous": ["/login"],
        "procurement": ["/staff/vendors/new", "/staff/engagements/new",
                        f"/staff/engagements/{uninvited}", "/account/password",
                        f"/staff/vendors/{vendor_id}/edit", f"/staff/engagements/{uninvited}/edit",
                        f"/staff/engagements/{submitted}",  # with the 所管課's checklist (social media)
                        f"/staff/engagements/{seed.engagements[('tamana-city', 'cloud')]}"],  # open: sheet upload
        "reviewer": [f"/staff/engagements/{submitted}/review", f"/staff/engagements/{loop_states['conditional'][0]}"],
        "admin": ["/admin/organisation", "/admin/articles/confidentiality", "/admin/api-keys/",
                  "/admin/mail/reminder_before"],
        "legal": [f"/legal/engagements/{eid}", f"/staff/engagements/{loop_states['in_approval'][0]}"],
        "contractor": [f"/r/{token}/s/{qid}/{sid}", f"/r/{token}/handover", f"/r/{token}/sheet",
                       f"/r/{loop_states['clarification'][1]}/clarification",
                       f"/r/{loop_states['conditional'][1]}/remediation"],
    }


def _client(app, seed, who):
    client = app.test_client()
    if who in seed.users:
        login = {"email": seed.users[who], "password": "correct-horse-battery-2026"}
        assert client.post("/login", data=login).status_code == 302
    return client


def _fuzz_targets(app, seed, pages) -> list[tuple[str, str, str, list[str]]]:
    targets = []
    for who, urls in pages.items():
        client = _client(app, seed, who)
        for url in urls:
            page = client.get(url)
            assert page.status_code == 200, url
            for action, names in _forms(page.get_data(as_text=True)):
                if action.rstrip("/").endswith("/logout") or not names:
                    continue
                targets.append((who, url, action or url, names))
    return targets


def test_every_form_route_is_fuzzed(app, seed, pages):
    fuzzed = set()
    adapter = app.url_map.bind("localhost")
    for _, _, action, _ in _fuzz_targets(app, seed, pages):
        fuzzed.add(adapter.match(action.split("?")[0], method="POST")[0])
    posts = {r.endpoint for r in app.url_map.iter_rules() if "POST" in (r.methods or ())
             and not r.endpoint.startswith("api.")} - NOT_FORMS
    missing = posts - fuzzed - {"policy_admin.edit"}
    assert not missing, f"form routes with no fuzzed page: {sorted(missing)}"


def _fuzz(client: Any, who: str, action: str, names: list[str], failures: list[str]) -> None:
    @FUZZ
    @given(values=st.fixed_dictionaries({name: VALUE for name in names}))
    def post(values: dict[str, Any]) -> None:
        response = client.post(action, data=values)
        body = response.get_data(as_text=True)
        if response.status_code >= 500 or "Traceback" in body:
            failures.append(f"{who} POST {action} {values!r}: {response.status_code}")
        assert response.status_code < 500 and "Traceback" not in body
        assert _clear_outcome(response, body), f"{who} POST {action} {values!r}: {response.status_code}"

    post()


def _clear_outcome(response: Any, body: str) -> bool:
    """What the user sees after a POST: either they are sent on (saved), or the form comes back with
    the Japanese error summary and the typed values to fix — never a bare error page."""
    if response.status_code in (302, 303):
        return bool(response.headers.get("Location"))
    return (response.status_code in (200, 400) and "入力内容に問題があります" in body
            and 'class="error-summary' in body and "<form" in body)


def test_random_values_in_every_form_never_give_a_server_error(app, seed, pages):
    targets = _fuzz_targets(app, seed, pages)
    clients = {who: _client(app, seed, who) for who in pages}
    # The contractor's session is the token: no login.
    failures: list[str] = []

    for who, _url, action, names in targets:
        _fuzz(clients[who], who, action, names, failures)
    assert not failures


HEADINGS = st.sampled_from([
    "第1条", "第６条", "（外部委託）", "第6条　情報セキュリティ対策", "(8) 外部委託", "８　外部サービスの利用",
    "附則", "目的", "第1条の2", "一", "(1)", "ア", "情報セキュリティ基本方針", "", "　", "第99999999999条",
])
LINES = st.lists(st.one_of(HEADINGS, st.text(max_size=30)), max_size=80).map("\n".join)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(text=st.one_of(LINES, st.text(max_size=2000)))
def test_the_policy_parser_reads_or_refuses_any_text(text):
    try:
        parse_policy_text(text)
    except PolicyParseError as refused:
        assert str(refused)  # a Japanese message for the person who uploaded it


@settings(max_examples=40, deadline=None, derandomize=True)
@given(data=st.data())
def test_the_policy_parser_survives_edits_to_real_policies(data):
    path = data.draw(st.sampled_from(sorted(POLICIES_DIR.glob("*.txt"))))
    lines = path.read_text(encoding="utf-8").splitlines()
    start = data.draw(st.integers(0, max(0, len(lines) - 1)))
    cut = data.draw(st.integers(0, 40))
    inserted = data.draw(st.lists(st.one_of(HEADINGS, st.text(max_size=20)), max_size=10))
    text = "\n".join(lines[:start] + inserted + lines[start + cut:])
    try:
        parse_policy_text(text)
    except PolicyParseError as refused:
        assert str(refused)
