"""外部サービス利用承認記録: the one-page internal record for a terms-of-service cloud service.

A cloud service used on its provider's terms (機密性2以上の情報を取り扱わない) gets no bilateral
annex — the provider would never sign one. The 所管課 records instead what it checked and who
approved the use; this is composed into the same `AnnexDocument` shape (no articles, three tables)
so the renderers and the version store stay the same. Pure: no Flask, no DB.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["USAGE_RECORD_TITLE", "usage_record_parts"]

USAGE_RECORD_TITLE = "外部サービス利用承認記録"

#: What the 所管課 confirms before using the service (対策基準 8.4 外部サービス（機密性2以上を取り扱わない）).
CHECKS = (
    "本サービスにおいて機密性2以上の情報を取り扱わないこと。",
    "利用規約及びプライバシーポリシーを確認し、残るリスクを許容できると判断したこと。",
    "入力した情報が提供事業者により他の目的（広告、AIの学習等）に利用されない設定としたこと。",
    "管理用アカウントに多要素認証を設定し、利用者を限定したこと。",
    "利用規約の変更を定期的に確認すること。",
    "利用終了時に、保存した情報及びアカウントを削除し、その記録を残すこと。",
)


def usage_record_parts(snapshot: Mapping[str, Any], values: Mapping[str, str], period: str | None,
                       digits: Any) -> tuple[str, list[tuple[str, str, tuple[str, ...], tuple[tuple[str, ...], ...],
                                                         tuple[int, ...]]]]:
    """(the preamble, [(table key, title, columns, rows, widths)]) of the record."""
    vendor = snapshot.get("vendor") or {}
    org_name = values["organisation.name"]
    record_rows: list[tuple[str, ...]] = [
        ("外部サービスの名称", values.get("cloud.service_name") or "—"),
        ("提供事業者", str(vendor.get("name") or "")),
        ("利用する業務", values["engagement.title"]),
        ("管理番号", values["engagement.reference"]),
        ("取り扱う情報", "機密性1の情報に限る（機密性2以上の情報を取り扱わない）"),
    ]
    if period:
        record_rows.append(("利用期間", period))
    checks = tuple((digits(i), text, "□") for i, text in enumerate(CHECKS, start=1))
    approvals = tuple(
        (str(o.get("role_title") or ""), str(o.get("department") or ""), str(o.get("name") or ""), "令和　年　月　日")
        for o in snapshot.get("municipal_officers") or ()
    )
    preamble = (f"{org_name}は、{values['citation']}に定めるところにより、次の外部サービスを提供事業者の利用規約に"
                "基づき利用するに当たり、次の事項を確認し、その利用を承認した。")
    return preamble, [
        ("record", "利用する外部サービス", ("項目", "内容"), tuple(record_rows), (28, 72)),
        ("checks", "確認事項", ("番号", "確認した事項", "確認"), checks, (8, 80, 12)),
        ("approvals", "確認・承認", ("役割", "所属・職", "氏名", "確認日"), approvals, (26, 28, 22, 24)),
    ]
