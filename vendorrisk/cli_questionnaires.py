"""Command functions for ``vendorrisk questionnaires ...`` (wired into the CLI elsewhere).

Each function prints to stdout and returns a process exit code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from .domain.questionnaire import (
    DefinitionError,
    check_all,
    json_schema,
    load_all,
    load_questionnaire,
    trace,
    uncovered,
)
from .domain.sheet_import import import_sheet, write_definition


def schema_text() -> str:
    """The JSON Schema of a definition file, as committed in questionnaires/schema.json."""
    return json.dumps(json_schema(), ensure_ascii=False, indent=2) + "\n"


def cmd_schema() -> int:
    """Print the JSON Schema an editor checks questionnaires/*.yaml against."""
    print(schema_text(), end="")
    return 0


@click.command("schema")
def schema_command() -> None:
    """質問票の定義ファイルの JSON Schema を出力する（エディタでの検査用。docs/questionnaires.md）。"""
    raise SystemExit(cmd_schema())


def cmd_check(directory) -> int:
    """Validate every definition file.  Exit 1 and print each error, or print ``OK: N definitions``."""
    errors = check_all(directory)
    if errors:
        for e in errors:
            print(e)
        print(f"{len(errors)} error(s)")
        return 1
    n = len(load_all(directory))
    print(f"OK: {n} definitions")
    return 0


def _load_or_report(directory: Any) -> dict[str, Any] | None:
    """Every definition, or None after printing each error line (the command then exits 1)."""
    try:
        return load_all(directory)
    except DefinitionError as e:
        for msg in e.errors:
            print(msg)
        return None


def cmd_list(directory, as_json: bool) -> int:
    all_q = _load_or_report(directory)
    if all_q is None:
        return 1
    rows = [
        {
            "id": q.id,
            "kind": q.kind,
            "title": q.title_ja,
            "version": q.version,
            "questions": len(q.questions()),
        }
        for q in sorted(all_q.values(), key=lambda q: q.id)
    ]
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for q in sorted(all_q.values(), key=lambda q: q.id):
            print(f"{q.id:<16} {q.kind:<13} {q.short_version}  {len(q.questions()):>3}問  {q.title_ja}")
    return 0


def cmd_trace(directory, obligation_keys: list[str], as_json: bool) -> int:
    """Map the organisation's clause obligations to the questions covering them.  Exit 1 when a
    key is not covered by any question."""
    all_q = _load_or_report(directory)
    if all_q is None:
        return 1
    traced = trace(all_q, list(obligation_keys))
    missing = uncovered(traced)
    if as_json:
        print(json.dumps(traced, ensure_ascii=False, indent=2))
    else:
        for key, ids in traced.items():
            print(f"{key}: {len(ids)}問" + (f"  ({', '.join(ids)})" if ids else "  ← 対応する設問がありません"))
        if missing:
            print(f"未対応の義務: {', '.join(missing)}")
    return 1 if missing else 0


def _id_clashes(definition: dict, out_dir) -> list[str]:
    """Question / section ids of the imported definition that other definitions already use."""
    others = {}
    for f in sorted(Path(out_dir).glob("*.y*ml")) if Path(out_dir).is_dir() else []:
        if f.stem == definition["id"]:
            continue
        try:
            q = load_questionnaire(f)
        except DefinitionError:
            continue
        for s in q.sections:
            others[s.id] = f.name
        for qq in q.questions():
            others[qq.id] = f.name
    out = []
    for s in definition["sections"]:
        if s["id"] in others:
            out.append(f"セクションID「{s['id']}」は {others[s['id']]} で使われています。")
        for q in s["questions"]:
            if q["id"] in others:
                out.append(f"設問ID「{q['id']}」は {others[q['id']]} で使われています。")
    return out


def cmd_import(path, out_dir) -> int:
    """Import a spreadsheet and write ``<out_dir>/<id>.yaml``.  Nothing is written when there are
    errors (a broken file in questionnaires/ would stop every other definition from loading)."""
    definition, errors = import_sheet(path)
    if errors:
        for e in errors:
            print(e)
        print(f"{len(errors)}件のエラーがあるため、書き込みませんでした。")
        return 1
    target = Path(out_dir) / f"{definition['id']}.yaml"
    existed = target.exists()
    clashes = _id_clashes(definition, out_dir)
    if clashes:
        for c in clashes:
            print(c)
        print("他の確認票と重複するIDがあるため、書き込みませんでした。")
        return 1
    out = write_definition(definition, out_dir)
    q = load_questionnaire(out)
    verb = "更新しました" if existed else "作成しました"
    print(f"{out} を{verb}（{len(q.questions())}問、版 {q.short_version}）")
    return 0
