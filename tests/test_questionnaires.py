"""Question banks, schema validation, versioning, traceability and answer types (pure)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from vendorrisk import cli_questionnaires as cli
from vendorrisk.domain.questionnaire import (
    ANNEX_ARTICLE_KEYS,
    ANSWER_TYPES,
    OBLIGATION_KEYS,
    AnswerError,
    DefinitionError,
    Questionnaire,
    check_all,
    freeze,
    is_shown,
    load_all,
    load_questionnaire,
    parse_definition,
    select_for_engagement,
    thaw,
    trace,
    uncovered,
    visible_questions,
)

BANKS = Path(__file__).resolve().parent.parent / "questionnaires"
MINIMUMS = {"outsourcing": 30, "cloud-high": 25, "cloud-low": 8, "social-media": 12}


@pytest.fixture(scope="module")
def banks() -> dict[str, Questionnaire]:
    return load_all(BANKS)


def raw(name: str) -> dict:
    return yaml.safe_load((BANKS / f"{name}.yaml").read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------
# The banks
# ---------------------------------------------------------------------------------------------


def test_every_bank_validates():
    assert check_all(BANKS) == []


def test_banks_present_with_minimum_counts(banks):
    assert set(MINIMUMS) <= set(banks)
    for name, minimum in MINIMUMS.items():
        assert len(banks[name].questions()) >= minimum, name


def test_bank_metadata(banks):
    assert banks["outsourcing"].kind == "outsourcing"
    assert banks["cloud-high"].kind == banks["cloud-low"].kind == "cloud"
    assert banks["social-media"].kind == "social_media"
    assert banks["cloud-high"].applies_when == {"kinds": ["cloud"], "confidentiality_min": 2}
    assert banks["cloud-low"].applies_when == {"kinds": ["cloud"], "confidentiality_max": 1}
    for q in banks.values():
        assert q.title_ja and q.title_en and q.description_ja
        assert len(q.version) == 64 and q.short_version == q.version[:12]


def test_every_question_is_complete_in_both_languages(banks):
    for bank in banks.values():
        for s in bank.sections:
            assert s.title_ja and s.title_en, s.id
            for q in s.questions:
                assert q.text_ja and q.text_en, q.id
                assert q.help_ja and q.help_en, q.id
                assert q.derives_from in OBLIGATION_KEYS, q.id
                assert q.guideline.startswith("対策基準"), q.id
                if q.weight > 0 or q.type in ("person", "group"):
                    assert q.annex_articles, q.id  # selection evidence need not feed the annex
                assert set(q.annex_articles) <= set(ANNEX_ARTICLE_KEYS), q.id
                assert q.finding_ja and q.remediation_ja and q.deadline_days > 0, q.id
                for o in q.options:
                    assert o.label_ja and o.label_en, (q.id, o.value)
                for f in q.fields:
                    assert f.text_ja and f.text_en, (q.id, f.id)


def test_weighted_questions_have_their_own_finding_text():
    """Scored questions must explain the risk in their own words, not the generic default."""
    for name in MINIMUMS:
        for s in raw(name)["sections"]:
            defaults = s.get("defaults", {})
            for q in s["questions"]:
                weight = q.get("weight", defaults.get("weight", 1))
                if q["type"] in ("yesno", "single", "multi") and weight > 0:
                    assert q.get("finding", {}).get("ja"), q["id"]
                    assert q.get("remediation", {}).get("ja"), q["id"]


def test_ids_are_prefixed_and_unique(banks):
    prefixes = {"outsourcing": "out.", "cloud-high": "ch.", "cloud-low": "cl.", "social-media": "sns."}
    seen = set()
    for name, bank in banks.items():
        for q in bank.questions():
            assert q.id.startswith(prefixes[name])
            assert q.id not in seen
            seen.add(q.id)


def _by_suffix(bank: Questionnaire, suffix: str):
    return [q for q in bank.questions() if q.id.endswith(suffix)]


def _assert_named_people(bank: Questionnaire, name: str) -> None:
    if name != "social-media":
        for suffix in ("responsible_manager", "security_officer"):
            found = _by_suffix(bank, suffix)
            assert found and found[0].type == "person", (name, suffix)
            assert [f.id for f in found[0].fields] == ["name", "title", "department", "email", "phone"]
    else:
        accounts = bank.question("sns.owner.accounts")
        assert accounts.type == "group"
        assert {"service", "account", "section", "owner"} <= {f.id for f in accounts.fields}
        assert "social_accounts" in accounts.annex_articles
        assert {q.type for q in _by_suffix(bank, "responsible_manager")} == {"person"}


def _assert_subcontractors_group(bank: Questionnaire) -> None:
    groups = [q for q in bank.questions() if q.type == "group" and "subcontracting" in q.annex_articles]
    assert len(groups) == 1
    group = groups[0]
    assert {"name", "address", "scope"} <= {f.id for f in group.fields}
    assert [f.text_ja for f in group.fields[:3]] == ["名称", group.fields[1].text_ja, "委託内容"]
    assert group.fields[1].text_ja.startswith("所在地")
    ((controller_id, values),) = group.shown_when.items()
    controller = bank.question(controller_id)
    assert controller.type == "single" and values == ["yes"]
    assert controller.weight == 0


@pytest.mark.parametrize("name", list(MINIMUMS))
def test_named_people_sites_and_subcontractors_in_every_bank(banks, name):
    bank = banks[name]
    _assert_named_people(bank, name)
    assert [q.type for q in bank.questions() if q.id.endswith("work_site")] == ["text"]
    storage = [q.type for q in bank.questions() if q.id.endswith(("data_storage_site", "data_location"))]
    assert storage == ["text"]
    _assert_subcontractors_group(bank)


def test_outsourcing_covers_the_thirteen_contract_items(banks):
    ids = {q.id for q in banks["outsourcing"].questions()}
    items = [
        "out.contract.policy_compliance",   # (1)
        "out.contract.responsible",         # (2)
        "out.contract.service_level",       # (3)
        "out.contract.access_scope",        # (4)
        "out.contract.training",            # (5)
        "out.contract.no_other_use",        # (6)
        "out.contract.confidentiality",     # (7)
        "out.contract.subcontract_limit",   # (8)
        "out.contract.return_disposal",     # (9)
        "out.contract.reporting",           # (10)
        "out.contract.audit",               # (11)
        "out.contract.publication",         # (12)
        "out.contract.breach",              # (13)
    ]
    assert set(items) <= ids
    for extra in ("out.select.isms", "out.select.pmark", "out.select.audit", "out.sub.prior_approval",
                  "out.verify.incident_contact", "out.measures.corrective", "out.system.vulnerability"):
        assert extra in ids


def test_cloud_high_covers_ismap_and_exit(banks):
    ids = {q.id for q in banks["cloud-high"].questions()}
    for qid in ("ch.ismap.listed", "ch.ismap.scope", "ch.ismap.validity", "ch.ismap.liu_use",
                "ch.cert.others", "ch.location.domestic", "ch.location.law_japan", "ch.location.court_japan",
                "ch.sla.defined", "ch.security.encryption_rest", "ch.security.logs", "ch.resp.matrix",
                "ch.exit.interruption", "ch.exit.deletion", "ch.exit.account_deletion"):
        assert qid in ids


def test_all_obligation_keys_are_covered(banks):
    traced = trace(banks, list(OBLIGATION_KEYS))
    assert set(traced) == set(OBLIGATION_KEYS)
    assert uncovered(traced) == []
    assert "out.contract.confidentiality" in traced["outsourcing.contract"]
    assert "sns.owner.accounts" in traced["social.owner"]


def test_trace_reports_uncovered_keys(banks):
    traced = trace(banks, ["outsourcing.select", "other.key"])
    assert traced["other.key"] == []
    assert uncovered(traced) == ["other.key"]
    only_sns = {"social-media": banks["social-media"]}
    assert set(uncovered(trace(only_sns, list(OBLIGATION_KEYS)))) == {
        "outsourcing.select", "outsourcing.contract", "outsourcing.verify", "outsourcing.measures",
        "cloud.rules",
    }


@pytest.mark.parametrize(
    "profile, expected",
    [
        ({"kinds": ["outsourcing"], "confidentiality": 2}, ["outsourcing"]),
        ({"kinds": ["cloud"], "confidentiality": 2}, ["cloud-high"]),
        ({"kinds": ["cloud"], "confidentiality": 3}, ["cloud-high"]),
        ({"kinds": ["cloud"], "confidentiality": 1}, ["cloud-low"]),
        ({"kinds": ["social_media", "outsourcing"], "confidentiality": 1}, ["outsourcing", "social-media"]),
        ({"kinds": ["outsourcing", "cloud", "social_media"], "confidentiality": 2},
         ["outsourcing", "cloud-high", "social-media"]),
        ({"kinds": []}, []),
    ],
)
def test_select_for_engagement(banks, profile, expected):
    assert [q.id for q in select_for_engagement(banks, profile)] == expected


def test_question_applicability(banks):
    out = banks["outsourcing"]
    base = {"kinds": ["outsourcing"], "confidentiality": 2}
    ids = {q.id for q in out.applicable(base)}
    assert "out.select.pmark" not in ids and "out.system.my_number" not in ids
    ids = {q.id for q in out.applicable({**base, "personal_data": True, "my_number": True})}
    assert {"out.select.pmark", "out.system.my_number"} <= ids
    ch = banks["cloud-high"]
    assert "ch.security.lgwan" not in {q.id for q in ch.applicable({"kinds": ["cloud"], "confidentiality": 2})}
    assert "ch.security.lgwan" in {
        q.id for q in ch.applicable({"kinds": ["cloud"], "confidentiality": 2, "network_segment": "lgwan"})
    }


def test_shown_when_subcontractors(banks):
    out = banks["outsourcing"]
    by_id = {q.id: q for q in out.questions()}
    group = by_id["out.sub.subcontractors"]
    assert not is_shown(group, {}, by_id)
    assert not is_shown(group, {"out.sub.subcontracting": "no"}, by_id)
    assert is_shown(group, {"out.sub.subcontracting": "yes"}, by_id)
    profile = {"kinds": ["outsourcing"]}
    visible = {q.id for q in visible_questions([out], {"out.sub.subcontracting": "no"}, profile)}
    assert "out.sub.subcontracting" in visible and "out.sub.prior_approval" not in visible


# ---------------------------------------------------------------------------------------------
# Validation of broken files
# ---------------------------------------------------------------------------------------------

MINIMAL = {
    "id": "sample",
    "kind": "outsourcing",
    "title": {"ja": "見本", "en": "Sample"},
    "applies_when": {"kinds": ["outsourcing"]},
    "sections": [
        {
            "id": "smp.main",
            "title": {"ja": "主", "en": "Main"},
            "questions": [
                {
                    "id": "smp.main.nda",
                    "type": "yesno",
                    "text": {"ja": "秘密を守りますか。", "en": "Keep secrets?"},
                    "weight": 2,
                    "derives_from": "outsourcing.contract",
                    "guideline": "対策基準 8.1(2) 契約項目",
                    "annex_articles": ["confidentiality"],
                },
                {
                    "id": "smp.main.any",
                    "type": "single",
                    "weight": 0,
                    "text": {"ja": "再委託の有無", "en": "Subcontracting?"},
                    "options": [
                        {"value": "yes", "label": {"ja": "ある", "en": "Yes"}, "score": 1},
                        {"value": "no", "label": {"ja": "ない", "en": "No"}, "score": 1},
                    ],
                    "derives_from": "outsourcing.contract",
                    "guideline": "対策基準 8.1(2) 契約項目",
                },
            ],
        }
    ],
}


def write(tmp_path: Path, data, name="sample") -> Path:
    p = tmp_path / f"{name}.yaml"
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    p.write_text(text, encoding="utf-8")
    return p


def mutate(fn) -> dict:
    d = copy.deepcopy(MINIMAL)
    fn(d)
    return d


def q0(d):
    return d["sections"][0]["questions"][0]


def test_minimal_definition_is_valid(tmp_path):
    q = load_questionnaire(write(tmp_path, MINIMAL))
    assert [x.id for x in q.questions()] == ["smp.main.nda", "smp.main.any"]
    nda = q.questions()[0]
    assert nda.required and not nda.must_pass and nda.deadline_days == 30 and nda.finding_ja


@pytest.mark.parametrize(
    "change, qid, fieldname, message",
    [
        (lambda d: q0(d).update(weight=-1), "smp.main.nda", "weight", "0以上の数値にしてください。"),
        (lambda d: q0(d).update(weight="heavy"), "smp.main.nda", "weight", "0以上の数値にしてください。"),
        (lambda d: q0(d).update(type="essay"), "smp.main.nda", "type", "次のいずれかにしてください"),
        (lambda d: q0(d).pop("text"), "smp.main.nda", "text", "必須です"),
        (lambda d: q0(d).update(derives_from="cloud.misc"), "smp.main.nda", "derives_from",
         "次のいずれかにしてください"),
        (lambda d: q0(d).update(required="yes"), "smp.main.nda", "required", "true か false で書いてください。"),
        (lambda d: q0(d).update(must_pass=True, required=False), "smp.main.nda", "must_pass",
         "required にもしてください"),
        (lambda d: q0(d).update(annex_articles=["nda_article"]), "smp.main.nda", "annex_articles",
         "特記事項の条項にないキー"),
        (lambda d: q0(d).update(applies_when={"confidentiality_min": 5}), "smp.main.nda",
         "applies_when.confidentiality_min", "1〜3の整数"),
        (lambda d: q0(d).update(applies_when={"colour": "red"}), "smp.main.nda", "applies_when.colour",
         "使えない条件です"),
        (lambda d: q0(d).update(deadline_days=-3), "smp.main.nda", "deadline_days", "整数（日数）"),
        (lambda d: q0(d).update(shown_when={"question": "smp.main.nothing", "equals": "yes"}), "smp.main.nda",
         "shown_when", "存在しない設問"),
        (lambda d: q0(d).update(shown_when={"question": "smp.main.any", "equals": "maybe"}), "smp.main.nda",
         "shown_when", "回答にありません"),
        (lambda d: q0(d).update(colour="red"), "smp.main.nda", "", "使えないキーです：colour"),
        (lambda d: d["sections"][0]["questions"][1]["options"][0].update(score=2), "smp.main.any",
         "options[0].score", "0〜1の数値"),
        (lambda d: d["sections"][0]["questions"][1].pop("options"), "smp.main.any", "options", "2つ以上"),
        (lambda d: d["sections"][0]["questions"].append(copy.deepcopy(q0(d))), "smp.main.nda", "id", "重複しています"),
        (lambda d: q0(d).update(type="text", must_pass=True), "smp.main.nda", "must_pass",
         "yesno・single・multi の設問だけ"),
        (lambda d: q0(d).update(type="group"), "smp.main.nda", "fields", "fields）を1つ以上"),
    ],
)
def test_validator_names_file_question_and_field(tmp_path, change, qid, fieldname, message):
    path = write(tmp_path, mutate(change))
    with pytest.raises(DefinitionError) as exc:
        load_questionnaire(path)
    prefix = f"{path}: {qid}: " + (f"{fieldname}: " if fieldname else "")
    matching = [e for e in exc.value.errors if e.startswith(prefix) and message in e]
    assert matching, exc.value.errors


def test_validator_error_format_matches_the_documented_example(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "questionnaires").mkdir()
    write(tmp_path / "questionnaires", mutate(lambda d: q0(d).update(weight=-1)))
    errors = check_all("questionnaires")
    assert errors == ["questionnaires/sample.yaml: smp.main.nda: weight: 0以上の数値にしてください。"]


def test_validator_reports_every_error_at_once(tmp_path):
    def change(d):
        q0(d).update(weight=-1, type="essay")
        d["kind"] = "catering"

    with pytest.raises(DefinitionError) as exc:
        load_questionnaire(write(tmp_path, mutate(change)))
    text = "\n".join(exc.value.errors)
    assert "kind: 次のいずれかにしてください" in text and "weight:" in text and "type:" in text


def test_group_field_errors_name_the_field(tmp_path):
    def change(d):
        q0(d).update(type="group", fields=[{"id": "Name", "type": "text", "text": {"ja": "名称"}},
                                           {"id": "n", "type": "person", "text": {"ja": "人"}}])

    with pytest.raises(DefinitionError) as exc:
        load_questionnaire(write(tmp_path, mutate(change)))
    text = "\n".join(exc.value.errors)
    assert "smp.main.nda.fields[0] (Name): id:" in text
    assert "n: type: 次のいずれかにしてください" in text


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    path = write(tmp_path, "id: sample\nkind: outsourcing\nsections: [\n  - id: x\n")
    with pytest.raises(DefinitionError) as exc:
        load_questionnaire(path)
    assert exc.value.errors[0].startswith(f"{path}: 4行目: ")
    assert "YAMLの書き方に誤りがあります" in exc.value.errors[0]


def test_file_name_must_match_id(tmp_path):
    path = write(tmp_path, MINIMAL, name="other")
    with pytest.raises(DefinitionError, match="ファイル名"):
        load_questionnaire(path)


def test_shown_when_controller_must_be_unweighted(tmp_path):
    def change(d):
        d["sections"][0]["questions"][1]["weight"] = 1
        q0(d)["shown_when"] = {"question": "smp.main.any", "equals": "yes"}

    with pytest.raises(DefinitionError) as exc:
        load_questionnaire(write(tmp_path, mutate(change)))
    assert any("smp.main.nda: shown_when:" in e and "weight を0" in e for e in exc.value.errors)


def test_load_all_lists_errors_from_every_file_and_cross_file_duplicates(tmp_path):
    write(tmp_path, MINIMAL)
    write(tmp_path, mutate(lambda d: d.update(id="copy")), name="copy")
    write(tmp_path, mutate(lambda d: (d.update(id="bad"), q0(d).update(weight=-2))), name="bad")
    errors = check_all(tmp_path)
    assert any("bad.yaml: smp.main.nda: weight:" in e for e in errors)
    assert any(
        "sample.yaml: smp.main.nda: id: 同じ設問IDが" in e and "copy.yaml でも使われています" in e
        for e in errors
    )
    with pytest.raises(DefinitionError) as exc:
        load_all(tmp_path)
    assert exc.value.errors == errors


# ---------------------------------------------------------------------------------------------
# Versioning, freeze / thaw
# ---------------------------------------------------------------------------------------------


def test_freeze_thaw_round_trip(banks):
    for q in banks.values():
        frozen = freeze(q)
        stored = json.loads(json.dumps(frozen, ensure_ascii=False))  # as kept in the database
        back = thaw(stored)
        assert back == q
        assert back.version == q.version
        assert freeze(back) == frozen


def test_thaw_refuses_a_tampered_snapshot(banks):
    frozen = json.loads(json.dumps(freeze(banks["outsourcing"])))
    frozen["sections"][0]["questions"][0]["weight"] = 0
    with pytest.raises(DefinitionError, match="does not match its hash"):
        thaw(frozen)


def test_version_ignores_formatting_but_not_content(tmp_path):
    v1 = load_questionnaire(write(tmp_path, MINIMAL)).version
    text = "# comment\n" + json.dumps(MINIMAL, ensure_ascii=False, indent=4)  # JSON is YAML
    v2 = load_questionnaire(write(tmp_path, text)).version
    assert v1 == v2
    v3 = load_questionnaire(write(tmp_path, mutate(lambda d: q0(d).update(weight=3)))).version
    assert v3 != v1
    # explicit defaults hash like implicit ones
    v4 = load_questionnaire(write(tmp_path, mutate(lambda d: q0(d).update(required=True, must_pass=False)))).version
    assert v4 == v1


def test_editing_the_file_does_not_change_a_frozen_definition(tmp_path):
    path = write(tmp_path, MINIMAL)
    original = load_questionnaire(path)
    stored = json.loads(json.dumps(freeze(original)))
    write(tmp_path, mutate(lambda d: q0(d)["text"].update(ja="改訂した設問")))
    edited = load_questionnaire(path)
    assert edited.version != original.version
    again = thaw(stored)
    assert again == original and again.questions()[0].text_ja == "秘密を守りますか。"


def test_section_defaults_are_applied(tmp_path):
    def change(d):
        d["sections"][0]["defaults"] = {"weight": 4, "deadline_days": 7}
        del q0(d)["weight"]

    q = load_questionnaire(write(tmp_path, mutate(change)))
    assert q.questions()[0].weight == 4 and q.questions()[0].deadline_days == 7
    assert q.questions()[1].weight == 0  # explicit value wins


def test_parse_definition_on_a_dict():
    q = parse_definition(copy.deepcopy(MINIMAL), "inline")
    assert q.id == "sample" and len(q.questions()) == 2


# ---------------------------------------------------------------------------------------------
# Answer types
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def out(banks):
    return banks["outsourcing"]


def test_registry_has_every_type():
    assert set(ANSWER_TYPES) == {"yesno", "single", "multi", "text", "date", "number", "file", "person", "group"}
    for key, t in ANSWER_TYPES.items():
        assert t.key == key


def test_yesno(out):
    t = ANSWER_TYPES["yesno"]
    q = out.question("out.contract.confidentiality")
    assert t.normalize("はい", q) == "yes"
    assert t.normalize(" 一部 ", q) == "partial"
    assert t.normalize(False, q) == "no"
    assert t.normalize("", q) is None
    with pytest.raises(AnswerError, match="該当なし"):
        t.normalize("na", q)
    with pytest.raises(AnswerError, match="いずれか"):
        t.normalize("maybe", q)
    na_q = out.question("out.contract.service_level")
    assert t.normalize("該当なし", na_q) == "na"
    assert t.score(na_q, "na") is None
    assert [t.score(q, v) for v in ("yes", "partial", "no", None)] == [1.0, 0.5, 0.0, 0.0]
    assert t.display(q, "partial") == "一部" and t.display(q, None) == "（未回答）"
    assert [o.value for o in t.choices(na_q)] == ["yes", "partial", "no", "na"]
    assert [o.value for o in t.choices(q)] == ["yes", "partial", "no"]


def test_single_and_multi(banks):
    ch = banks["cloud-high"]
    single = ch.question("ch.location.domestic")
    st = ANSWER_TYPES["single"]
    assert st.normalize("japan", single) == "japan"
    with pytest.raises(AnswerError):
        st.normalize("moon", single)
    assert st.score(single, "backup_abroad") == 0.5
    assert st.display(single, "japan") == "すべて国内"
    multi = ch.question("ch.cert.others")
    mt = ANSWER_TYPES["multi"]
    assert mt.normalize(["soc2", "iso27001", "soc2"], multi) == ["iso27001", "soc2"]
    assert mt.normalize("iso27017, iso27001", multi) == ["iso27001", "iso27017"]
    assert mt.normalize([], multi) is None
    with pytest.raises(AnswerError, match="選択肢にない"):
        mt.normalize(["iso9001"], multi)
    assert mt.score(multi, ["iso27001"]) == 0.5
    assert mt.score(multi, ["iso27001", "iso27017", "soc2"]) == 1.0  # capped
    assert mt.score(multi, ["none"]) == 0.0
    assert mt.display(multi, ["iso27001", "soc2"]) == "ISO/IEC 27001（ISMS）、SOC2 報告書"


def test_number_accepts_full_width_digits():
    t = ANSWER_TYPES["number"]
    assert t.normalize("１２３") == 123
    assert t.normalize("９９．９") == 99.9
    assert t.normalize("1,234") == 1234
    assert t.normalize(5) == 5
    for bad in ("abc", "1e400", True, float("nan")):
        with pytest.raises(AnswerError, match="数値"):
            t.normalize(bad)


def test_date_accepts_iso_wareki_and_full_width():
    t = ANSWER_TYPES["date"]
    assert t.normalize("2025-04-01") == "2025-04-01"
    assert t.normalize("２０２５／４／１") == "2025-04-01"
    assert t.normalize("令和7年4月1日") == "2025-04-01"
    assert t.normalize("令和元年5月1日") == "2019-05-01"
    assert t.normalize("平成31年4月30日") == "2019-04-30"
    with pytest.raises(AnswerError, match="存在しない"):
        t.normalize("2025-02-30")
    with pytest.raises(AnswerError, match="日付"):
        t.normalize("next week")
    from vendorrisk.domain.questionnaire import Question
    q = Question(id="x.y", section_id="x", type="date", text_ja="日", text_en="d")
    assert t.display(q, "2025-04-01") == "令和7年4月1日"
    assert t.display(q, "2019-05-01") == "令和元年5月1日"


def test_person(out):
    t = ANSWER_TYPES["person"]
    q = out.question("out.people.responsible_manager")
    v = t.normalize({"name": " 山田 太郎 ", "title": "課長", "department": "情報システム部",
                     "email": "ｙａｍａｄａ@example.jp", "phone": "０３-1234-5678"}, q)
    assert v == {"name": "山田 太郎", "title": "課長", "department": "情報システム部",
                 "email": "yamada@example.jp", "phone": "03-1234-5678"}
    assert t.is_answered(v) and t.score(q, v) == 1.0
    assert t.display(q, v) == "山田 太郎（情報システム部・課長） yamada@example.jp 03-1234-5678"
    assert t.normalize({"name": "", "title": ""}, q) is None
    with pytest.raises(AnswerError, match="氏名"):
        t.normalize({"title": "課長"}, q)
    with pytest.raises(AnswerError, match="メールアドレス"):
        t.normalize({"name": "山田", "email": "yamada"}, q)
    for wrong in ("yamada@example..jp", "yamada@example.invalid", "山田 @example.jp"):
        with pytest.raises(AnswerError, match="メールアドレス"):  # a real address check, not a regex
            t.normalize({"name": "山田", "email": wrong}, q)
    assert t.score(q, None) == 0.0  # required and unanswered


def test_group(out):
    t = ANSWER_TYPES["group"]
    q = out.question("out.sub.subcontractors")
    rows = [{"name": "株式会社A", "address": "東京都", "scope": "データ入力"}, {}, {"name": ""}]
    v = t.normalize(rows, q)
    assert v == [{"name": "株式会社A", "address": "東京都", "scope": "データ入力"}]
    assert t.score(q, v) == 1.0
    assert t.score(q, [{"name": "株式会社B"}]) == 0.0  # required fields missing
    with pytest.raises(AnswerError, match="2行目「本市の情報を取り扱う」"):
        t.normalize([{"name": "A"}, {"handles_info": "maybe"}], q)
    assert "名称：株式会社A" in t.display(q, v)


def test_text_file_and_optional_types(out):
    text = ANSWER_TYPES["text"]
    q = out.question("out.people.work_site")
    assert text.normalize("  本社 \r\n3階 ") == "本社 \n3階"
    assert text.normalize("   ") is None
    with pytest.raises(AnswerError, match="4000文字"):
        text.normalize("あ" * 4001)
    assert text.score(q, "本社") == 1.0 and text.score(q, None) == 0.0
    f = ANSWER_TYPES["file"]
    fq = out.question("out.select.isms_certificate")
    assert f.normalize({"evidence_id": 3, "filename": "isms.pdf"}) == {"evidence_id": 3, "filename": "isms.pdf"}
    with pytest.raises(AnswerError):
        f.normalize({"evidence_id": "3", "filename": "isms.pdf"})
    assert f.score(fq, None) is None  # optional: not scored
    assert f.display(fq, {"evidence_id": 3, "filename": "isms.pdf"}) == "isms.pdf"


# ---------------------------------------------------------------------------------------------
# CLI functions
# ---------------------------------------------------------------------------------------------


def test_cmd_check(capsys, tmp_path):
    assert cli.cmd_check(BANKS) == 0
    assert capsys.readouterr().out.strip() == f"OK: {len(list(BANKS.glob('*.yaml')))} definitions"
    write(tmp_path, mutate(lambda d: q0(d).update(weight=-1)))
    assert cli.cmd_check(tmp_path) == 1
    assert "smp.main.nda: weight: 0以上の数値にしてください。" in capsys.readouterr().out


def test_cmd_list_json(capsys, banks):
    assert cli.cmd_list(BANKS, as_json=True) == 0
    rows = json.loads(capsys.readouterr().out)
    by_id = {r["id"]: r for r in rows}
    assert by_id["outsourcing"]["version"] == banks["outsourcing"].version
    assert by_id["outsourcing"]["questions"] == len(banks["outsourcing"].questions())
    assert set(rows[0]) == {"id", "kind", "title", "version", "questions"}


def test_cmd_trace(capsys):
    assert cli.cmd_trace(BANKS, list(OBLIGATION_KEYS), as_json=True) == 0
    traced = json.loads(capsys.readouterr().out)
    assert all(traced[k] for k in OBLIGATION_KEYS)
    assert cli.cmd_trace(BANKS, ["outsourcing.select", "unknown.key"], as_json=False) == 1
    assert "未対応の義務: unknown.key" in capsys.readouterr().out


def test_shown_when_forms_parse_to_one_shape(tmp_path):
    forms = [
        {"question": "smp.main.any", "equals": "yes"},
        {"question": "smp.main.any", "in": ["yes"]},
        {"smp.main.any": "yes"},
        {"smp.main.any": ["yes"]},
    ]
    versions = set()
    for form in forms:
        q = load_questionnaire(write(tmp_path, mutate(lambda d, form=form: q0(d).update(shown_when=form))))
        assert q.questions()[0].shown_when == {"smp.main.any": ["yes"]}
        versions.add(q.version)
    assert len(versions) == 1
    with pytest.raises(DefinitionError, match="1つだけ"):
        load_questionnaire(write(tmp_path, mutate(lambda d: q0(d).update(shown_when={"a.b": "x", "c.d": "y"}))))


# ---------------------------------------------------------------------------------------------
# JSON Schema for authors' editors
# ---------------------------------------------------------------------------------------------


def test_committed_schema_equals_the_cli_output(capsys):
    assert cli.cmd_schema() == 0
    printed = capsys.readouterr().out
    assert (BANKS / "schema.json").read_text(encoding="utf-8") == printed
    schema = json.loads(printed)
    assert schema["title"] == "vendorrisk questionnaire definition"
    assert set(schema["required"]) == {"id", "kind", "title", "sections"}
    question = schema["$defs"]["QuestionSpec"]["properties"]
    assert question["type"]["enum"] == sorted(ANSWER_TYPES, key=list(ANSWER_TYPES).index)
    assert "annex_field" in question and "annex_articles" in question


def test_schema_command_is_registered():
    from click.testing import CliRunner

    from vendorrisk.cli import main

    result = CliRunner().invoke(main, ["questionnaires", "schema"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["properties"]["kind"]["enum"] == ["outsourcing", "cloud", "social_media"]


# ---------------------------------------------------------------------------------------------
# Declared links to the annex
# ---------------------------------------------------------------------------------------------


def test_every_contract_fact_is_declared_by_the_banks(banks):
    from vendorrisk.domain.questionnaire import ANNEX_FIELD_KEYS, declarations

    declared = declarations(banks.values())
    assert set(declared) == set(ANNEX_FIELD_KEYS)
    assert declared["subcontracting"] == ["ch.sub.subcontracting", "cl.sub.subcontracting",
                                          "out.sub.subcontracting", "sns.ops.subcontracting"]
    assert declared["social_accounts"] == ["sns.owner.accounts"]
    assert declared["court"] == ["ch.location.court"]
    for bank in banks.values():
        for q in bank.questions():
            if q.annex_field in ("responsible_manager", "security_officer"):
                assert q.type == "person", q.id
            if q.annex_field in ("subcontractors", "social_accounts"):
                assert q.type == "group", q.id


@pytest.mark.parametrize(
    "change, fieldname, message",
    [
        # an article only composed for outsourcing, in an outsourcing bank turned into a cloud one
        (lambda d: (d.update(kind="cloud", applies_when={"kinds": ["cloud"]}),
                    q0(d).update(annex_articles=["system_security"])), "annex_articles", "system_security"),
        # data location is composed only for a cloud service of 機密性2 or more
        (lambda d: q0(d).update(annex_articles=["data_location"]), "annex_articles", "data_location"),
        (lambda d: (d.update(kind="cloud", applies_when={"kinds": ["cloud"], "confidentiality_max": 1}),
                    q0(d).update(annex_articles=["governing_law"])), "annex_articles", "governing_law"),
        (lambda d: (d.update(kind="cloud", applies_when={"kinds": ["cloud"], "confidentiality_min": 2}),
                    q0(d).update(annex_articles=["cloud_low"])), "annex_articles", "cloud_low"),
        (lambda d: q0(d).update(type="text", annex_field="court"), "annex_field", "court"),
        (lambda d: q0(d).update(type="group", annex_field="social_accounts",
                                fields=[{"id": "service", "type": "text", "text": "サービス"}]),
         "annex_field", "social_accounts"),
    ],
)
def test_check_fails_on_an_annex_link_never_composed_for_the_kind(tmp_path, capsys, change, fieldname, message):
    write(tmp_path, mutate(change))
    assert cli.cmd_check(tmp_path) == 1
    out = capsys.readouterr().out
    assert f"sample.yaml: smp.main.nda: {fieldname}: " in out and message in out and "特記事項には入りません" in out


def test_an_annex_link_that_is_composed_passes(tmp_path):
    def change(d):
        d.update(kind="cloud", applies_when={"kinds": ["cloud"], "confidentiality_min": 2})
        q0(d).update(type="text", annex_articles=["governing_law"], annex_field="governing_law")
        for question in d["sections"][0]["questions"]:  # a cloud bank cites the cloud chapter
            question["guideline"] = "対策基準 8.3(2) 外部サービスの選定"

    assert check_all(write(tmp_path, mutate(change)).parent) == []
    q = load_questionnaire(tmp_path / "sample.yaml")
    assert q.questions()[0].annex_field == "governing_law"


def test_unknown_annex_field_is_refused(tmp_path):
    with pytest.raises(DefinitionError) as exc:
        load_questionnaire(write(tmp_path, mutate(lambda d: q0(d).update(annex_field="work_place"))))
    assert any("smp.main.nda: annex_field:" in e and "work_place" in e for e in exc.value.errors)


def test_an_annex_field_changes_the_version_and_survives_freezing(tmp_path):
    plain = load_questionnaire(write(tmp_path, MINIMAL))
    declared = load_questionnaire(write(tmp_path, mutate(lambda d: q0(d).update(type="text", annex_field="work_site"))))
    assert declared.version != plain.version
    assert "annex_field" not in json.dumps(freeze(plain))  # older frozen definitions hash as before
    assert thaw(json.loads(json.dumps(freeze(declared)))).questions()[0].annex_field == "work_site"


def test_annex_facts_come_from_declarations_not_id_endings(tmp_path):
    from vendorrisk.domain.questionnaire import annex_answers

    def change(d):
        q0(d).update(id="smp.main.place", type="text", annex_field="work_site")
        d["sections"][0]["questions"].append({**copy.deepcopy(q0(d)), "id": "smp.main.work_site"})
        del d["sections"][0]["questions"][-1]["annex_field"]

    q = load_questionnaire(write(tmp_path, mutate(change)))
    answers = {"smp.main.place": "本社3階", "smp.main.work_site": "推測されない場所", "smp.main.any": "yes"}
    assert annex_answers([q], answers) == {"work_site": "本社3階"}
    assert annex_answers([q], {"smp.main.place": "", "smp.main.work_site": "x"}) == {}
