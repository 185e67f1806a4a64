"""The Nu HTML Checker (vnu-jar from npm, run on Java) finds no error on any page.

Every GET route of the URL map is rendered through the test client, as the actor that sees it
(staff roles, the contractor's token link, anonymous), to files; vnu runs once over all of them.
`make vendor-checkers` puts vnu.jar in .cache/checkers (npm pack into a cache folder)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from test_access_matrix import _rules, _url, world  # noqa: F401  (the fixture)

VNU = Path(__file__).resolve().parent.parent / ".cache" / "checkers" / "vnu.jar"
LOGIN = {"email": "admin@tamana.test", "password": "correct-horse-battery-2026"}


def _require_vnu() -> None:
    if VNU.exists() and shutil.which("java"):
        return
    message = f"{VNU} or java is missing: run `make vendor-checkers` (needs npm) and install Java 17"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def backend() -> str:
    """The markup does not depend on the database: SQLite only."""
    return "sqlite"


def _expire_links(app) -> None:
    import datetime as dt

    from sqlalchemy import update

    from vendorrisk.extensions import db
    from vendorrisk.models import Invitation, utcnow

    with app.app_context():
        db.session.execute(update(Invitation).values(expires_at=utcnow() - dt.timedelta(minutes=1)))
        db.session.commit()


def test_every_page_is_valid_html(app, seed, world, tmp_path):  # noqa: F811
    _require_vnu()
    staff = app.test_client()
    assert staff.post("/login", data=LOGIN).status_code == 302
    anonymous = app.test_client()
    out = tmp_path / "pages"
    out.mkdir()
    written = []
    for endpoint, method, rule in _rules(app):
        if method != "GET" or endpoint.startswith(("api.", "static", "health")):
            continue
        client = anonymous if endpoint.startswith(("portal.", "auth.login")) else staff
        response = client.get(_url(rule, world))
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        path = out / f"{endpoint}.html"
        path.write_bytes(response.data)
        written.append(path)
    # The 所管課's checklist (a social-media engagement) with its forms, and with an error in one of them.
    social = f"/staff/engagements/{world['staff.record_check']['engagement_id']}"
    for index, response in enumerate((staff.get(social), staff.post(
            f"{social}/checklist/sns.procedure.official_list", data={"q_sns__procedure__official_list": "x"}))):
        assert response.status_code in (200, 400) and "所管課の確認項目" in response.get_data(as_text=True)
        path = out / f"checklist{index}.html"
        path.write_bytes(response.data)
        written.append(path)
    for page in ("/login", "/r/" + "x" * 43 + "/"):  # the login form and the 404 page
        path = out / f"anon{len(written)}.html"
        path.write_bytes(anonymous.get(page).data)
        written.append(path)
    _expire_links(app)  # the page an expired link shows
    expired = anonymous.get(f"/r/{world['token']}/")
    assert expired.status_code == 410
    (out / "expired.html").write_bytes(expired.data)
    written.append(out / "expired.html")
    assert len(written) >= 20
    result = subprocess.run(
        ["java", "-jar", str(VNU), "--errors-only", "--format", "json", *map(str, written)],
        capture_output=True, text=True, timeout=600, check=False,
    )
    messages = json.loads(result.stderr or '{"messages": []}')["messages"]
    errors = [f"{Path(m.get('url', '')).name}:{m.get('lastLine')}: {m['message']}" for m in messages
              if m.get("type") == "error"]
    assert not errors, "\n".join(errors)
