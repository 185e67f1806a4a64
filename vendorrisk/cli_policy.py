"""``vendorrisk policy parse``: show what the parser finds in a policy file.

Only the command body lives here; the click/argparse wiring is done in ``vendorrisk.cli``.
"""

from __future__ import annotations

import json
import sys

from vendorrisk.domain.policy import (
    OBLIGATION_KEYS,
    OBLIGATION_LABELS,
    ParsedPolicy,
    PolicyParseError,
    parse_policy_file,
)


def _summary(policy: ParsedPolicy) -> str:
    clause = policy.clause
    if policy.enacted_as_written:
        iso = policy.enacted_on.isoformat() if policy.enacted_on else "日付不明"
        enacted = f"{policy.enacted_as_written}（{iso}）"
    else:
        enacted = "記載なし"
    lines = [
        f"団体名: {policy.organisation or '不明'}",
        f"方針名: {policy.title or '不明'}",
        f"策定・改定: {enacted}",
        f"対象機関: {'、'.join(policy.bodies) if policy.bodies else '記載なし'}",
        f"条項: {clause.number} {clause.title}".rstrip(),
        f"引用する番号: {clause.number_full or clause.number}",
        f"形式: {policy.source_format}　読み取りの確からしさ: {policy.confidence:.2f}",
    ]
    lines += [f"  注意: {w}" for w in policy.warnings]
    for label, text in (
        ("業務委託", clause.outsourcing),
        ("外部サービス", clause.external_services),
        ("ソーシャルメディア", clause.social_media),
    ):
        lines.append(f"  {label}: {text or '（段落なし）'}")
    lines.append(f"義務の記載: {len(clause.obligations)}/{len(OBLIGATION_KEYS)} 件")
    for key in OBLIGATION_KEYS:
        mark = "○" if key in clause.obligations else "×"
        lines.append(f"  {mark} {OBLIGATION_LABELS[key]} ({key})")
    return "\n".join(lines)


def cmd_policy_parse(path: str, as_json: bool) -> int:
    """Parse *path* and print JSON or a Japanese summary; 0 on success, 2 on parse errors."""
    try:
        policy = parse_policy_file(path)
    except PolicyParseError as exc:
        print(f"エラー: {exc}", file=sys.stderr)
        return 2
    if as_json:
        print(json.dumps(policy.to_review_json(), ensure_ascii=False, indent=2))
    else:
        print(_summary(policy))
    return 0
