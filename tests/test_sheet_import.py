"""Spreadsheet import (.csv / .xlsx) into a definition file (pure; no Flask)."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import yaml

from vendorrisk import cli_questionnaires as cli
from vendorrisk.domain.questionnaire import load_questionnaire, parse_definition
from vendorrisk.domain.sheet_import import import_sheet, write_definition

JA_HEADER = ["ID", "セクション", "設問", "種別", "選択肢", "重み", "必須合格", "根拠"]
EN_HEADER = ["id", "section", "question", "type", "options", "weight", "must-pass", "derives_from"]
ROWS = [
    ["ext.contract.nda", "契約", "秘密保持契約を締結しますか。", "はい・いいえ", "", "3", "○", "outsourcing.contract"],
    ["ext.contract.site", "契約", "作業場所を記入してください。", "文章", "", "1", "", "outsourcing.contract"],
    ["ext.select.cert", "選定", "取得している認証", "単一選択",
     "isms:ISMS認証:1\npmark:プライバシーマーク:0.5\nnone:なし:0", "２", "×", "outsourcing.select"],
    ["ext.select.manager", "選定", "業務責任者", "担当者", "", "1", "いいえ", "outsourcing.select"],
]


def write_csv(path: Path, header, rows, encoding="utf-8-sig") -> Path:
    import csv

    with path.open("w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def write_xlsx(path: Path, header, rows, meta: dict | None = None) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "設問"
    ws.append(header)
    for r in rows:
        ws.append(r)
    if meta:
        m = wb.create_sheet("meta")
        for k, v in meta.items():
            m.append([k, v])
    wb.save(path)
    return path


def test_csv_with_japanese_headers_and_bom(tmp_path):
    path = write_csv(tmp_path / "extra-checks.csv", JA_HEADER, ROWS)
    definition, errors = import_sheet(path)
    assert errors == []
    assert definition["id"] == "extra-checks" and definition["kind"] == "outsourcing"
    assert [s["title"]["ja"] for s in definition["sections"]] == ["契約", "選定"]
    q = parse_definition(definition, "x")
    nda = q.question("ext.contract.nda")
    assert nda.type == "yesno" and nda.must_pass and nda.weight == 3
    assert nda.guideline == "対策基準 8.1(2) 契約項目"
    cert = q.question("ext.select.cert")
    assert [(o.value, o.label_ja, o.score) for o in cert.options] == [
        ("isms", "ISMS認証", 1.0), ("pmark", "プライバシーマーク", 0.5), ("none", "なし", 0.0)]
    assert cert.weight == 2 and not cert.must_pass  # full-width ２ accepted
    assert q.question("ext.select.manager").type == "person"


def test_csv_in_cp932(tmp_path):
    path = write_csv(tmp_path / "sjis.csv", JA_HEADER, ROWS, encoding="cp932")
    definition, errors = import_sheet(path)
    assert errors == []
    assert definition["sections"][0]["questions"][0]["text"]["ja"] == "秘密保持契約を締結しますか。"


def test_xlsx_with_english_headers_and_meta_sheet(tmp_path):
    rows = [list(r) for r in ROWS]
    rows[0][5] = 3  # numeric cells as Excel stores them
    path = write_xlsx(tmp_path / "book.xlsx", EN_HEADER, rows,
                      meta={"id": "city-extra", "kind": "outsourcing", "title": "市独自の確認事項",
                            "title_en": "City-specific checks"})
    definition, errors = import_sheet(path)
    assert errors == []
    assert definition["id"] == "city-extra"
    assert definition["title"] == {"ja": "市独自の確認事項", "en": "City-specific checks"}
    assert definition["sections"][0]["questions"][0]["weight"] == 3


def test_row_errors_name_row_and_column_in_japanese(tmp_path):
    rows = [
        ["ext.a.one", "契約", "設問1", "はい・いいえ", "", "abc", "", "outsourcing.contract"],   # row 2
        ["Ext A", "契約", "設問2", "はい・いいえ", "", "1", "", "outsourcing.contract"],         # row 3
        ["ext.a.three", "契約", "設問3", "作文", "", "1", "", "outsourcing.contract"],            # row 4
        ["ext.a.four", "契約", "設問4", "単一選択", "yes:はい", "1", "", "outsourcing.contract"],  # row 5
        ["ext.a.five", "契約", "設問5", "はい・いいえ", "", "1", "たぶん", "outsourcing.contract"],  # row 6
        ["ext.a.six", "契約", "設問6", "はい・いいえ", "", "1", "", "契約"],                       # row 7
        ["ext.a.one", "契約", "設問7", "はい・いいえ", "", "1", "", "outsourcing.contract"],       # row 8
        ["", "", "", "", "", "", "", ""],                                                           # blank
        ["ext.a.nine", "契約", "", "group", "", "1", "", "outsourcing.contract"],                  # row 10
    ]
    path = write_csv(tmp_path / "bad.csv", JA_HEADER, rows)
    _, errors = import_sheet(path)
    text = "\n".join(errors)
    assert "2行目「重み」: 0以上の数値を入力してください（入力値：abc）。" in errors
    assert "3行目「ID」" in text
    assert "4行目「種別」: 「作文」は種別として使えません" in text
    assert "5行目「選択肢」" in text
    assert "6行目「必須合格」" in text
    assert "7行目「根拠」" in text
    assert "8行目「ID」: 「ext.a.one」は2行目と重複しています。" in errors
    assert "10行目「設問」" in text and "10行目「種別」: 繰り返し項目" in text
    assert not any(e.startswith("9行目") for e in errors)


def test_missing_columns(tmp_path):
    path = write_csv(tmp_path / "few.csv", ["ID", "設問"], [["a.b", "x"]])
    _, errors = import_sheet(path)
    assert errors == ["few.csv: 1行目（見出し）: 必要な列がありません：セクション、種別、重み、必須合格、根拠"]


def test_validator_errors_point_at_the_row(tmp_path):
    rows = [["ext.a.one", "契約", "設問1", "はい・いいえ", "", "0", "はい", "outsourcing.contract"]]
    _, errors = import_sheet(write_csv(tmp_path / "mp.csv", JA_HEADER, rows))
    assert errors and errors[0].startswith("2行目: mp.csv: ext.a.one: weight:")


def test_unsupported_and_unreadable_files(tmp_path):
    p = tmp_path / "x.ods"
    p.write_bytes(b"x")
    assert "対応していないファイル形式" in import_sheet(p)[1][0]
    b = tmp_path / "broken.xlsx"
    b.write_bytes(b"not a zip")
    assert "ファイルを読み込めません" in import_sheet(b)[1][0]
    bad_bytes = tmp_path / "bytes.csv"
    bad_bytes.write_bytes(b"\xff\xfe\xfa\x80\x81")
    assert "文字コード" in import_sheet(bad_bytes)[1][0]


def test_written_yaml_loads_with_the_same_content(tmp_path):
    definition, errors = import_sheet(write_csv(tmp_path / "extra.csv", JA_HEADER, ROWS))
    assert errors == []
    out = write_definition(definition, tmp_path / "questionnaires")
    assert out.name == "extra.yaml"
    text = out.read_text(encoding="utf-8")
    assert "秘密保持契約を締結しますか。" in text  # real Japanese, not escapes
    loaded = load_questionnaire(out)
    assert loaded.version == parse_definition(yaml.safe_load(text), "x").version
    assert len(loaded.questions()) == 4


def test_cmd_import(tmp_path, capsys):
    qdir = tmp_path / "questionnaires"
    src = write_csv(tmp_path / "extra.csv", JA_HEADER, ROWS)
    assert cli.cmd_import(src, qdir) == 0
    assert (qdir / "extra.yaml").exists()
    assert "作成しました（4問" in capsys.readouterr().out
    assert cli.cmd_check(qdir) == 0
    # the same ids under another questionnaire id clash
    other = write_csv(tmp_path / "again.csv", JA_HEADER, ROWS)
    assert cli.cmd_import(other, qdir) == 1
    assert "ext.contract.nda" in capsys.readouterr().out
    assert not (qdir / "again.yaml").exists()


def test_cmd_import_writes_nothing_on_errors(tmp_path, capsys):
    qdir = tmp_path / "questionnaires"
    bad = write_csv(tmp_path / "bad.csv", JA_HEADER,
                    [["ext.a.one", "契約", "設問", "作文", "", "1", "", "outsourcing.contract"]])
    assert cli.cmd_import(bad, qdir) == 1
    out = capsys.readouterr().out
    assert "2行目「種別」" in out and "書き込みませんでした" in out
    assert not qdir.exists() or not list(qdir.iterdir())


def test_sheet_rows_follow_the_same_rules_as_yaml_files(tmp_path):
    header = [*JA_HEADER, "特記事項", "期限日数"]
    rows = [
        # the annex never has a data-location article for an outsourcing questionnaire
        ["ext.a.one", "契約", "設問1", "文章", "", "1", "", "outsourcing.contract", "data_location", ""],
        # a score above 1 and an unknown article: the schema's rules, in the sheet's words
        ["ext.a.two", "契約", "設問2", "単一選択", "a:A:2;b:B:0", "1", "", "outsourcing.contract", "", ""],
        ["ext.a.three", "契約", "設問3", "文章", "", "1", "", "outsourcing.contract", "nda_article", ""],
        ["ext.a.four", "契約", "設問4", "文章", "", "1", "", "outsourcing.contract", "", "4000"],
    ]
    _, errors = import_sheet(write_csv(tmp_path / "rules.csv", header, rows))
    assert "3行目「選択肢」: 選択肢の点数は0から1の範囲で入力してください（入力値：2.0）。" in errors
    assert "4行目「特記事項」: 「nda_article」に特記事項の条項にないキーがあります。" in errors
    assert "5行目「期限日数」: 0から3650までの整数（日数）を入力してください（入力値：4000）。" in errors
    ok_rows = [rows[0]]
    _, errors = import_sheet(write_csv(tmp_path / "links.csv", header, ok_rows))
    assert len(errors) == 1 and errors[0].startswith("2行目: links.csv: ext.a.one: annex_articles: ")
    assert "特記事項には入りません" in errors[0]


def test_a_party_column_marks_the_municipalitys_own_questions(tmp_path):
    rows = [row + [party] for row, party in zip(ROWS, ["", "所管課", "事業者", ""], strict=True)]
    path = write_csv(tmp_path / "extra-checks.csv", [*JA_HEADER, "回答者"], rows)
    definition, errors = import_sheet(path)
    assert errors == []
    q = parse_definition(definition, "x")
    assert [x.id for x in q.internal_checklist({"kinds": ["outsourcing"]})] == ["ext.contract.site"]
    assert "ext.contract.site" not in {x.id for x in q.applicable({"kinds": ["outsourcing"]})}
    bad = write_csv(tmp_path / "bad.csv", [*JA_HEADER, "回答者"], [ROWS[1] + ["委託先の社長"]])
    _definition, errors = import_sheet(bad)
    assert any("「回答者」" in e and "委託先の社長" in e for e in errors), errors


def test_cells_lose_what_cannot_live_in_a_document(tmp_path):
    """The same cleaning as every web form and the API (`vocabulary.clean_text`): U+FFFF, other
    non-characters and control characters are removed from every cell, line breaks kept."""
    rows = [list(r) for r in ROWS]
    rows[0][2] = "秘密保持\uffff契約を\ufdd0締結\x07しますか。"
    rows[2][4] = "isms:ISMS\ufffe認証:1\npmark:プライバシーマーク:0.5\nnone:なし:0"
    definition, errors = import_sheet(write_csv(tmp_path / "dirty.csv", JA_HEADER, rows))
    assert errors == []
    q = parse_definition(definition, "x")
    assert q.question("ext.contract.nda").text_ja == "秘密保持契約を締結しますか。"
    assert [o.label_ja for o in q.question("ext.select.cert").options] == ["ISMS認証", "プライバシーマーク", "なし"]
