"""An invitation freezes the questionnaire version it sent: editing a definition file never changes
what an open or answered invitation shows or scores; new invitations get the new version."""

from __future__ import annotations

import shutil

from conftest import make_app, seed_data
from helpers import answer_all

from vendorrisk.extensions import db
from vendorrisk.models import QuestionnaireVersion
from vendorrisk.paths import QUESTIONNAIRES_DIR
from vendorrisk.services.definitions import invitation_questionnaires
from vendorrisk.services.invitations import invitation_for_token, send_invitation


def test_editing_a_definition_does_not_touch_sent_invitations(backend, tmp_path, request, password_hash):
    qdir = tmp_path / "questionnaires"
    shutil.copytree(QUESTIONNAIRES_DIR, qdir)
    app = make_app(backend, tmp_path / "inst", request, QUESTIONNAIRES_DIR=str(qdir))
    seed = seed_data(app, password_hash)
    eid = seed.engagements[("tamana-city", "social_media")]
    with app.app_context():
        from vendorrisk.models import Engagement

        old = send_invitation(db.session.get(Engagement, eid), recipient_email="a@example.jp")
        db.session.commit()
        old_token = old.token
        old_version = invitation_questionnaires(old.invitation)[0].version
    client = app.test_client()
    first = client.get(f"/r/{old_token}/").get_data(as_text=True)
    section_title = "運用手順"  # a word present in the bank's section titles
    assert section_title in first

    # An administrator edits the bank: a section title changes and the content hash with it.
    path = qdir / "social-media.yaml"
    text = path.read_text(encoding="utf-8")
    assert section_title in text
    path.write_text(text.replace(section_title, "運用ルール"), encoding="utf-8")

    again = client.get(f"/r/{old_token}/").get_data(as_text=True)
    assert again == first, "the open invitation shows the frozen version"
    answer_all(app, client, old_token)
    assert client.post(f"/r/{old_token}/submit").status_code == 302

    with app.app_context():
        from vendorrisk.models import Engagement

        eng = db.session.get(Engagement, seed.engagements[("tamana-city", "social_media")])
        eng.state = "rejected"  # sent back: a new invitation is allowed
        new = send_invitation(eng, recipient_email="a@example.jp")
        db.session.commit()
        new_version = invitation_questionnaires(new.invitation)[0].version
        assert new_version != old_version
        versions = db.session.scalars(
            db.select(QuestionnaireVersion.version).filter_by(questionnaire_id="social-media")
        ).all()
        assert set(versions) == {old_version, new_version}
        # The old response is still scored against the old definition.
        old_inv = invitation_for_token(old_token)
        assert invitation_questionnaires(old_inv)[0].version == old_version
    assert "運用ルール" in client.get(f"/r/{new.token}/").get_data(as_text=True)


# The content hash of each bank (its version). Freezing is the JSON dump of the schema models. The move
# to pydantic kept main's versions (cloud-high 1cafa0ce4ed7…, cloud-low d57727be2452…, outsourcing
# b898d8333f38…, social-media cd096cecebcd…); declaring annex_field and fixing the 7 article links that
# were never composed changed the content (main: cloud-high dbb293ec631b…, cloud-low 32062c775fc8…,
# outsourcing b21cd23de4ea…, social-media e5ac330c58d3…); citing the guideline chapters in the current
# order (8.1–8.5), marking the municipality's own questions (party) and asking the cloud provider's
# 資本関係・役員・国籍 changed them again, hence these. Merging the review loop, outsourcing also declares
# its 補足 and evidence fields (``supplement``) where its hints ask for them (loop alone: eecb326ee542…),
# so its hash changed again; the 補足 declared in cloud-high, cloud-low and social-media where their
# hints ask for them changed those too, and asking the ISMS・Pマーク・ISMAP expiry dates (for the reminders)
# changed cloud-high and outsourcing.
# Change a value here only together with a change of that bank's content, and say so in the commit.
BANK_VERSIONS = {
    "cloud-high": "b18db8a7ba62aa07565282ea12b9da883671bd539bfdce1cd2526d539a24e94d",
    "cloud-low": "0220991312cdd5588e0bfdd7ed90ce0fdecea5b97af3cb11462f65de72a34b56",
    "outsourcing": "d225bc86c0f46ee9dfe4942fd70f79acfeb413e14f53b6403be55e54709fd040",
    "social-media": "3c5872632359d66be5826f41eccb763c467acabd5a2236f363d6e35907f0bdb8",
}


def test_the_four_banks_keep_their_versions():
    from vendorrisk.domain.questionnaire import content_hash, freeze, load_all, thaw

    banks = load_all(QUESTIONNAIRES_DIR)
    assert {k: q.version for k, q in banks.items()} == BANK_VERSIONS
    for q in banks.values():
        frozen = freeze(q)
        assert content_hash({k: v for k, v in frozen.items() if k != "version"}) == q.version
        assert thaw(frozen) == q
