"""Excel round trip: the questionnaire as an XLSX to fill in, and the filled-in file read back.

A rejected file saves nothing; an accepted one saves its answers (as a save from the portal would)
and is kept as evidence of what was received."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..adapters.export import answer_workbook
from ..domain import answer_sheet
from ..domain.sheet_import import SheetRefused, read_xlsx_sheets
from ..models import Invitation, StateError
from . import audit, evidence
from .answers import copied_ids, save_answers, stored_values
from .definitions import invitation_questionnaires

EVIDENCE_KEY = "_sheet"  # the evidence row of the accepted workbook (not a question of the bank)


def _sections(invitation: Invitation) -> list[tuple[str, list[Any]]]:
    profile = invitation.engagement.profile()
    copied = copied_ids(invitation)
    out = []
    for questionnaire in invitation_questionnaires(invitation):
        applicable = {q.id for q in questionnaire.applicable(profile)} - copied
        for section in questionnaire.sections:
            questions = [q for q in section.questions if q.id in applicable]
            if questions:
                out.append((section.title_ja, questions))
    return out


def workbook_for(invitation: Invitation) -> bytes:
    """The questionnaire to fill in offline, with the answers saved so far."""
    organisation = invitation.engagement.organisation
    sections = _sections(invitation)
    questions = [q for _, qs in sections for q in qs]
    assert invitation.response is not None
    given = stored_values(invitation.response, [q.id for q in questions])
    rows = answer_sheet.sheet_rows(sections, given, organisation.localize)
    elsewhere = answer_sheet.portal_only(questions, organisation.localize)
    instructions = [
        f"{organisation.name}「{invitation.engagement.title}」（案件番号 {invitation.engagement.reference}）"
        "情報セキュリティに関する確認の回答用ファイルです。",
        "「回答」シートの「回答」列に記入してください。選択式の設問は、セルを選ぶと出る一覧から選んでください。",
        "説明や条件を書き添える場合は「補足」列に記入してください。",
        "ID列・見出しの行は変更しないでください。数式は使わないでください（数式のあるファイルは受け付けません）。",
        "記入したファイルは、回答画面の「Excelで回答する」からアップロードしてください。"
        "誤りがある場合は行番号とともにお知らせし、そのファイルの回答は保存しません。",
        "空欄の回答はアップロードしても変わりません。送信（提出）は回答画面の「回答内容を確認する」から行ってください。",
    ]
    if elsewhere:
        instructions.append("次の設問はこのファイルでは回答できません。回答画面で回答してください："
                            + "、".join(elsewhere))
    return answer_workbook(rows, answer_sheet.HEADERS, instructions, answer_sheet.ANSWER_COLUMN)


@dataclass
class SheetImport:
    saved: int = 0
    errors: list[str] = field(default_factory=list)


def import_workbook(invitation: Invitation, filename: str, data: bytes, upload_dir: str | Path, *,
                    actor: audit.Actor) -> SheetImport:
    """Read a filled-in workbook: every answer valid → saved, and the file kept as evidence; any
    problem → nothing saved, the problems by row."""
    if invitation.response is None or invitation.response.state != "draft":
        raise StateError("回答は送信済みのため、ファイルから取り込めません。")
    rows = _answer_rows(data)
    questions = {q.id: q for _, qs in _sections(invitation) for q in qs}
    read = answer_sheet.read_answers(rows, questions)
    if read.errors:
        return SheetImport(errors=read.errors[:50])
    result = save_answers(invitation, read.values)
    kept = evidence.store_evidence(invitation.response, EVIDENCE_KEY, filename, data, upload_dir)
    audit.record("response.sheet_import", "response", invitation.response.id,
                 organisation_id=invitation.engagement.organisation_id, actor=actor,
                 data={"file": kept.get("filename"), "evidence_id": kept.get("evidence_id"),
                       "answers": sorted(read.values), "notes": read.notes, "conflicts": sorted(result.conflicts)})
    return SheetImport(saved=len(result.written))


def _answer_rows(data: bytes) -> list[list[Any]]:
    """The rows of the 「回答」 sheet, through the bounded reader shared with the bank import."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "answers.xlsx"
        path.write_bytes(data)
        try:
            sheets = dict(read_xlsx_sheets(path))
        except SheetRefused:
            raise
        except Exception as exc:  # openpyxl and zipfile raise assorted errors for broken files
            raise SheetRefused("ファイルを読み込めません。ダウンロードした回答用ファイル（.xlsx）に記入して、"
                               "Excel形式のまま保存してください。") from exc
    return sheets.get("回答") or next(iter(sheets.values()), [])
