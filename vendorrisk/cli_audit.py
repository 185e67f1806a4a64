"""`vendorrisk audit verify | anchor | export`: check, anchor and hand over the audit trail."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

audit_cli = AppGroup("audit", help="監査ログ（改ざんの検査・アンカー・書き出し）")


def _chain_for_slug(slug: str | None) -> int | None:
    from .extensions import db
    from .models import Organisation

    if slug is None:
        return None
    org_id = db.session.scalar(select(Organisation.id).filter_by(slug=slug))
    if org_id is None:
        raise click.ClickException(f"団体「{slug}」はありません。")
    return int(org_id)


def _chain_names() -> dict[int, str]:
    from .extensions import db
    from .models import Organisation
    from .services.audit import NO_ORGANISATION_CHAIN

    names = {NO_ORGANISATION_CHAIN: "団体に属さない記録"}
    for org_id, slug, name in db.session.execute(select(Organisation.id, Organisation.slug, Organisation.name)):
        names[org_id] = f"{name}（{slug}）"
    return names


def _seq_text(seq_from: int, seq_to: int) -> str:
    return f"{seq_from}番" if seq_from == seq_to else f"{seq_from}〜{seq_to}番"


@audit_cli.command("verify")
@click.option("--org", "org_slug", default=None, help="団体の識別子（省略するとすべての団体）")
@click.option("--json", "as_json", is_flag=True, help="JSONで出力する")
@with_appcontext
def audit_verify(org_slug: str | None, as_json: bool) -> None:
    """監査ログが改ざんされていないか調べる（書き換え・削除・差し込み・再計算・末尾の削除を見つけると終了コード1）。"""
    from .services import audit

    report = audit.verify(_chain_for_slug(org_slug))
    names = _chain_names()
    if as_json:
        click.echo(json.dumps({
            "intact": report.intact,
            "anchors": report.anchors,
            "chains": [vars(c) | {"organisation": names.get(c.chain, str(c.chain))} for c in report.chains.values()],
            "damage": [{"chain": d.chain, "organisation": names.get(d.chain), "kind": d.kind, "label": d.label,
                        "seq_from": d.seq_from, "seq_to": d.seq_to, "event_ids": list(d.event_ids),
                        "detail": d.detail} for d in report.damage],
        }, ensure_ascii=False, indent=2))
        sys.exit(0 if report.intact else 1)
    if not report.intact:
        click.echo(f"監査ログに改ざんの跡が {len(report.damage)} か所あります。", err=True)
        for d in report.damage:
            if d.kind == "anchor_file":
                click.echo(f"  アンカーファイル {d.detail}：{d.label}", err=True)
            else:
                where = names.get(d.chain, f"チェーン{d.chain}（団体が見つかりません）")
                click.echo(f"  {where}の{_seq_text(d.seq_from, d.seq_to)}：{d.label}", err=True)
        sys.exit(1)
    total = sum(c.events for c in report.chains.values())
    click.echo(f"監査ログは改ざんされていません（{len(report.chains)}チェーン・{total}件、アンカー{report.anchors}件と一致）。")
    for c in report.chains.values():
        legacy = f"（うち鍵導入前の旧形式 {c.legacy}件）" if c.legacy else ""
        anchored = f"、アンカー済み {c.anchored_seq}番まで" if c.anchored_seq else "、アンカーなし"
        click.echo(f"  {names.get(c.chain, str(c.chain))}：{c.events}件{legacy}、最新 {c.last_seq}番{anchored}")


@audit_cli.command("anchor")
@click.option("--org", "org_slug", default=None, help="団体の識別子（省略するとすべての団体）")
@with_appcontext
def audit_anchor(org_slug: str | None) -> None:
    """各チェーンの最新の記録をアンカーファイルに書き足す（cron から定期的に実行できます）。"""
    from .services import audit

    lines = audit.anchor_heads(_chain_for_slug(org_slug))
    names = _chain_names()
    for line in lines:
        click.echo(f"{names.get(line['chain'], line['chain'])}：{line['seq']}番をアンカーしました")
    click.echo(f"{audit.anchor_path()} に {len(lines)} 行を書き足しました。")


@audit_cli.command("export")
@click.option("--org", "org_slug", default=None, help="団体の識別子（省略するとすべての団体）")
@click.option("--out", "out", default="-", type=click.Path(dir_okay=False, allow_dash=True),
              help="出力ファイル（省略すると標準出力）")
@with_appcontext
def audit_export(org_slug: str | None, out: str) -> None:
    """監査ログの記録とアンカーを JSON Lines で書き出す（監査人に渡す形）。"""
    from .domain.vocabulary import canonical_json
    from .services import audit

    lines = (canonical_json(row) + "\n" for row in audit.export_lines(_chain_for_slug(org_slug)))
    if out == "-":
        for text in lines:
            click.echo(text, nl=False)
        return
    count = 0
    with Path(out).open("w", encoding="utf-8") as fh:
        for text in lines:
            fh.write(text)
            count += 1
    click.echo(f"{out}：{count} 行を書き出しました。")
