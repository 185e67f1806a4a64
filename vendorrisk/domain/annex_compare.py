"""新旧対照表: two versions of an annex compared article by article — pure, no Flask or DB.

The stored plain text (`annex.annex_text`) is cut into blocks at blank lines (title, preamble, each
article, each 別表); blocks are matched by their first line (the 見出し) and each row of the table
holds the old block beside the new one, with the lines that changed marked.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

__all__ = ["CompareRow", "Line", "compare_versions"]


@dataclass(frozen=True)
class Line:
    text: str
    changed: bool


@dataclass(frozen=True)
class CompareRow:
    heading: str  # 「（総則）」, 「別表1　責任者等一覧」 …
    old: tuple[Line, ...]  # empty: added in the new version
    new: tuple[Line, ...]  # empty: deleted in the new version

    @property
    def changed(self) -> bool:
        return any(line.changed for line in self.old + self.new) or not self.old or not self.new

    @property
    def status(self) -> str:
        if not self.old:
            return "追加"
        if not self.new:
            return "削除"
        return "変更" if self.changed else "変更なし"


def _blocks(text: str) -> list[list[str]]:
    blocks: list[list[str]] = [[]]
    for line in text.splitlines():
        if line.strip():
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


def _marked(old: list[str], new: list[str]) -> tuple[tuple[Line, ...], tuple[Line, ...]]:
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    old_changed, new_changed = set(range(len(old))), set(range(len(new)))
    for block in matcher.get_matching_blocks():
        old_changed -= set(range(block.a, block.a + block.size))
        new_changed -= set(range(block.b, block.b + block.size))
    return (tuple(Line(t, i in old_changed) for i, t in enumerate(old)),
            tuple(Line(t, i in new_changed) for i, t in enumerate(new)))


def _row(old: list[str] | None, new: list[str] | None) -> CompareRow:
    o, n = _marked(old or [], new or [])
    return CompareRow((new or old or [""])[0], o, n)


def compare_versions(old_text: str, new_text: str, *, changed_only: bool = False) -> list[CompareRow]:
    """Rows of the 新旧対照表, in the new version's order (deleted blocks where they stood)."""
    old_blocks, new_blocks = _blocks(old_text), _blocks(new_text)
    matcher = difflib.SequenceMatcher(a=[b[0] for b in old_blocks], b=[b[0] for b in new_blocks], autojunk=False)
    rows: list[CompareRow] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
            rows += [_row(old_blocks[i], new_blocks[j]) for i, j in zip(range(i1, i2), range(j1, j2), strict=True)]
        else:
            rows += [_row(old_blocks[i], None) for i in range(i1, i2)]
            rows += [_row(None, new_blocks[j]) for j in range(j1, j2)]
    return [r for r in rows if r.changed] if changed_only else rows
