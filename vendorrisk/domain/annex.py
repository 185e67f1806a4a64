"""Compose 情報セキュリティに関する特記事項 from a plain snapshot — pure: no Flask, no DB, no I/O.

`compose_annex(snapshot)` turns the JSON-able snapshot the service layer freezes (organisation, vendor,
engagement, officers, answers-derived facts, findings) into an `AnnexDocument`: numbered articles
(第N条, 項 ２, 号 （１）), 別表 tables and the document facts. Renderers (adapters.pdf, adapters.docx)
only lay it out. `annex_text(doc)` gives the plain text used to compare versions.

All snapshot strings are untrusted; they are carried as plain text and never interpreted here —
placeholders are filled in one pass over the article *templates* only, so a value that looks like
``{vendor.name}`` stays literal.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .annex_articles import ARTICLES
from .annex_usage import USAGE_RECORD_TITLE, usage_record_parts
from .vocabulary import ANNEX_KIND_PHRASES, KINDS
from .wareki import format_wareki

__all__ = [
    "AnnexCompositionError",
    "AnnexDocument",
    "Article",
    "ClauseQuote",
    "Item",
    "Paragraph",
    "Party",
    "Table",
    "TableBlock",
    "annex_text",
    "compose_annex",
    "full_width_digits",
    "issue_problems",
    "CONDITIONS",
]

TITLE = "情報セキュリティに関する特記事項"
MEMORANDUM_TITLE = "情報セキュリティに関する覚書"
#: Said in every annex: 甲's checking never shifts 乙's responsibility (added to 基本的事項).
NO_RELIEF = "甲による確認は、本特記事項に基づく乙の責任を免除し、又は軽減するものではない。"
#: 見出し layout: "municipal" prints 「（総則）」 on its own line and opens the text with 「第1条　」
#: (as municipal 例規 print it); "inline" prints 「第1条（総則）」 as a heading line.
HEADING_STYLES = ("municipal", "inline")
#: Digits in labels, numbers and dates the annex writes: "half" (第1条, 別表1) or "full" (第１条, 別表１).
DIGIT_STYLES = ("half", "full")
#: The document for a cloud service that handles no 機密性2以上 information (on its provider's terms):
#: "usage_record" (外部サービス利用承認記録, internal) or "annex" (the bilateral 特記事項).
CLOUD_LOW_DOCUMENTS = ("usage_record", "annex")

# Which paragraph of the organisation's clause each engagement kind cites.
KIND_CLAUSE_PARAGRAPH = {
    "outsourcing": "outsourcing",
    "cloud": "external_services",
    "social_media": "social_media",
}
RATING_LABELS = {"pass": "適合", "conditional": "条件付き適合"}  # metadata only, never printed


class AnnexCompositionError(ValueError):
    """The snapshot or an organisation override cannot make a valid annex (message in Japanese)."""


# ---------------------------------------------------------------------------------------------
# Document model (immutable; what every renderer receives)


@dataclass(frozen=True)
class Item:
    """号: label is （１）."""

    label: str
    text: str


@dataclass(frozen=True)
class Paragraph:
    """項: the first has no label, the second onwards ２, ３ … (full-width)."""

    number: int
    label: str
    text: str
    items: tuple[Item, ...] = ()


@dataclass(frozen=True)
class Article:
    key: str
    number: int
    label: str  # 第1条
    heading: str
    paragraphs: tuple[Paragraph, ...]

    heading_style: str = "municipal"

    @property
    def title(self) -> str:
        """「第1条（総則）」"""
        return f"{self.label}（{self.heading}）"

    @property
    def heading_line(self) -> str:
        """The line printed above the text: 「（総則）」 (municipal) or 「第1条（総則）」 (inline)."""
        return f"（{self.heading}）" if self.heading_style == "municipal" else self.title

    def paragraph_line(self, p: Paragraph) -> str:
        """A 項 as printed: the first opens with 「第1条　」 in the municipal style."""
        if p.label:
            return f"{p.label}　{p.text}"
        return f"{self.label}　{p.text}" if self.heading_style == "municipal" else p.text


@dataclass(frozen=True)
class TableBlock:
    caption: str | None
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[int, ...] = ()  # relative column widths (percent); renderers may ignore


@dataclass(frozen=True)
class Table:
    key: str
    number: int
    label: str  # 別表１
    title: str
    blocks: tuple[TableBlock, ...]

    @property
    def heading(self) -> str:
        return f"{self.label}　{self.title}" if self.label else self.title


@dataclass(frozen=True)
class Party:
    label: str  # 甲 / 乙
    name: str
    title: str = ""  # 玉名市長 / 代表取締役 山田太郎
    address: str = ""


@dataclass(frozen=True)
class ClauseQuote:
    source: str  # 玉名市情報セキュリティ基本方針 (8)「業務委託と…」
    paragraphs: tuple[tuple[str, str], ...]  # (kind label, quoted text)


@dataclass(frozen=True)
class AnnexDocument:
    title: str
    document_id: str
    version: int
    issued_on: date
    issued_on_wareki: str
    answers_sha256: str
    party_a: Party
    party_b: Party
    summary: tuple[tuple[str, str], ...]
    preamble: str
    clause_quote: ClauseQuote | None
    articles: tuple[Article, ...]
    tables: tuple[Table, ...]
    kinds: tuple[str, ...]
    rating: str
    memorandum: bool = False
    closing: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    heading_style: str = "municipal"
    signing_date: str = "令和　年　月　日"
    #: "annex" (特記事項), "memorandum" (覚書) or "usage_record" (外部サービス利用承認記録, internal)
    document_kind: str = "annex"

    def article(self, key: str) -> Article:
        for a in self.articles:
            if a.key == key:
                return a
        raise KeyError(key)

    def table(self, key: str) -> Table:
        for t in self.tables:
            if t.key == key:
                return t
        raise KeyError(key)

    @property
    def article_keys(self) -> tuple[str, ...]:
        return tuple(a.key for a in self.articles)


# ---------------------------------------------------------------------------------------------
# helpers

_FW = str.maketrans("0123456789", "０１２３４５６７８９")


def full_width_digits(n: int | str) -> str:
    return str(n).translate(_FW)


def _digits(n: int | str, style: str) -> str:
    """A number the annex writes, in the organisation's digit style."""
    return full_width_digits(n) if style == "full" else str(n)


_NUMBER_SPACES = re.compile(r"\s+")


def normalise_clause_number(number: str) -> str:
    """「（８ ）」「6 (8)」 → 「(8)」「6(8)」: NFKC, no spaces (the citation's one digit style)."""
    return _NUMBER_SPACES.sub("", unicodedata.normalize("NFKC", number or ""))


def policy_citation(org_name: str, policy_title: str, clause_number: str) -> str:
    """「玉名市情報セキュリティ基本方針6(8)」: the body's name, the policy title, the full number."""
    title = unicodedata.normalize("NFKC", policy_title or "").strip() or "情報セキュリティ基本方針"
    title = _NUMBER_SPACES.sub("", title)
    if org_name and not title.startswith(org_name):
        title = org_name + title
    return title + normalise_clause_number(clause_number)


def _s(value: Any) -> str:
    """Untrusted value → plain text ('' for None)."""
    if value is None:
        return ""
    return str(value).strip()


def _date(value: Any, what: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except (TypeError, ValueError) as exc:
        raise AnnexCompositionError(f"{what}の日付が正しくありません: {value!r}") from exc


def _join_names(names: list[str]) -> str:
    quoted = [f"「{n}」" for n in names]
    if len(quoted) <= 1:
        return "".join(quoted)
    return "、".join(quoted[:-1]) + "及び" + quoted[-1]


def _facts(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    engagement = snapshot.get("engagement") or {}
    kinds = tuple(k for k in KINDS if k in (engagement.get("kinds") or ()))
    unknown = set(engagement.get("kinds") or ()) - set(KINDS)
    if unknown:
        raise AnnexCompositionError(f"不明な案件区分です: {sorted(unknown)}")
    if not kinds:
        raise AnnexCompositionError("案件区分（業務委託・外部サービス・ソーシャルメディア）が指定されていません")
    sub = snapshot.get("subcontracting") or {}
    subcontractors = [s for s in (sub.get("subcontractors") or []) if _s(s.get("name"))]
    cloud = snapshot.get("cloud") or {}
    return {
        "kinds": kinds,
        "subcontracting": bool(sub.get("declared")) and bool(subcontractors),
        "subcontractors": subcontractors,
        "cloud_high": "cloud" in kinds and bool(cloud.get("high")),
        "personal_data": bool(engagement.get("personal_data")),
        "my_number": bool(engagement.get("my_number")),
        "findings": bool(snapshot.get("findings")),
    }


def _conditions(facts: Mapping[str, Any]) -> dict[str, bool]:
    return {
        "subcontracting": facts["subcontracting"],
        "no_subcontracting": not facts["subcontracting"],
        "cloud_high": facts["cloud_high"],
        "cloud_low": "cloud" in facts["kinds"] and not facts["cloud_high"],
        "personal_data": facts["personal_data"],
        "my_number": facts["my_number"],
        "findings": facts["findings"],
    }


#: condition names an article's "when" may use
CONDITIONS = ("subcontracting", "no_subcontracting", "cloud_high", "cloud_low", "personal_data",
              "my_number", "findings")


def _applies(spec: Mapping[str, Any], facts: Mapping[str, Any], conds: Mapping[str, bool]) -> bool:
    kinds = spec.get("kinds")
    if kinds and not set(kinds) & set(facts["kinds"]):
        return False
    for name in spec.get("when") or ():
        if name not in conds:
            allowed = ", ".join(CONDITIONS)
            raise AnnexCompositionError(f"条項 {spec.get('key')} の条件 {name!r} は使えません（{allowed}）")
        if not conds[name]:
            return False
    return True


def _check_paragraphs(key: str, paragraphs: Any) -> list:
    if not isinstance(paragraphs, list | tuple) or not paragraphs:
        raise AnnexCompositionError(f"条項 {key} の paragraphs は1つ以上の項のリストにしてください")
    for p in paragraphs:
        if isinstance(p, str):
            continue
        if (isinstance(p, Mapping) and isinstance(p.get("text"), str)
                and all(isinstance(i, str) for i in p.get("items") or ())):
            continue
        raise AnnexCompositionError(f"条項 {key} の項の形式が正しくありません: {p!r}")
    return list(paragraphs)


def _override_article(spec: dict, key: str, change: Mapping[str, Any]) -> None:
    """Apply an organisation's change to a library article (in place)."""
    if change.get("omit"):
        spec["omit"] = True
        return
    if "heading" in change:
        spec["heading"] = str(change["heading"])
    if "paragraphs" in change:
        spec["paragraphs"] = _check_paragraphs(key, change["paragraphs"])
    for extra in ("kinds", "when"):
        if extra in change:
            spec[extra] = list(change[extra])


def _added_article(key: str, change: Mapping[str, Any]) -> dict:
    if not change.get("heading"):
        raise AnnexCompositionError(f"追加条項 {key} に見出し（heading）がありません")
    return {
        "key": key,
        "heading": str(change["heading"]),
        "paragraphs": _check_paragraphs(key, change.get("paragraphs")),
        "kinds": list(change.get("kinds") or ()),
        "when": list(change.get("when") or ()),
        "after": change.get("after"),
    }


def _insert_article(specs: list[dict], by_key: dict[str, dict], add: dict) -> None:
    """Place an added article after the one it names, or before 協議 (the closing article)."""
    after = add.pop("after", None)
    if after and after in by_key:
        specs.insert(specs.index(by_key[after]) + 1, add)
    elif after is None or after == "":
        specs.insert(specs.index(by_key["consultation"]) if "consultation" in by_key else len(specs), add)
    else:
        raise AnnexCompositionError(f"追加条項 {add['key']} の after={after!r} に該当する条項がありません")
    by_key[add["key"]] = add


def _article_specs(overrides: Mapping[str, Any] | None) -> list[dict]:
    """The library with the organisation's overrides applied (replace, omit, add)."""
    specs = [copy.deepcopy(dict(a)) for a in ARTICLES]
    by_key = {s["key"]: s for s in specs}
    additions: list[dict] = []
    for key, change in (overrides or {}).items():
        if not isinstance(change, Mapping):
            raise AnnexCompositionError(f"articles_override[{key!r}] の形式が正しくありません")
        if key in by_key:
            _override_article(by_key[key], key, change)
        elif not change.get("omit"):  # omitting an article the library does not have: nothing to do
            additions.append(_added_article(key, change))
    for add in additions:
        _insert_article(specs, by_key, add)
    return [s for s in specs if not s.get("omit")]


_PLACEHOLDER = re.compile(r"\{([a-z_]+(?:\.[a-z0-9_]+)+)\}")


def _fill(template: str, values: Mapping[str, str], where: str) -> str:
    def repl(m: re.Match) -> str:
        name = m.group(1)
        if name not in values:
            raise AnnexCompositionError(f"{where} の差込項目 {{{name}}} は、この文書では使えません")
        return values[name]

    return _PLACEHOLDER.sub(repl, template)


# ---------------------------------------------------------------------------------------------
# tables


def _officers_table(snapshot: Mapping[str, Any], facts: Mapping[str, Any], org_name: str,
                    vendor_name: str) -> list[TableBlock]:
    municipal = tuple(
        (_s(o.get("role_title")), _s(o.get("department")), _s(o.get("name")))
        for o in snapshot.get("municipal_officers") or ()
    )
    contractor_rows = []
    for p in snapshot.get("contractor_people") or ():
        dept = "　".join(x for x in (_s(p.get("department")), _s(p.get("title"))) if x)
        contact = "\n".join(x for x in (_s(p.get("phone")), _s(p.get("email"))) if x)
        contractor_rows.append((_s(p.get("role_title")), dept, _s(p.get("name")), contact))
    blocks = [
        TableBlock(f"甲（{org_name}）", ("役割", "所属・職", "氏名"), municipal, (34, 36, 30)),
        TableBlock(f"乙（{vendor_name}）", ("役割", "所属・役職", "氏名", "連絡先"),
                   tuple(contractor_rows), (24, 28, 20, 28)),
        TableBlock("作業場所等", ("区分", "場所"),
                   (("作業場所", _s(snapshot.get("work_site")) or "—"),
                    ("データ保管場所", _s(snapshot.get("data_storage_site")) or "—")), (24, 76)),
    ]
    if facts["subcontracting"]:
        blocks.append(TableBlock(
            "再委託先", ("名称", "所在地", "再委託の範囲"),
            tuple((_s(s.get("name")), _s(s.get("address")), _s(s.get("scope")))
                  for s in facts["subcontractors"]), (30, 35, 35)))
    return blocks


def _accounts_table(snapshot: Mapping[str, Any]) -> list[TableBlock]:
    rows = tuple(
        (_s(a.get("service")), _s(a.get("account")), _s(a.get("section")), _s(a.get("owner")))
        for a in snapshot.get("social_accounts") or ()
    )
    return [TableBlock(None, ("サービス", "アカウント", "運用所管課", "責任者"), rows, (20, 27, 20, 33))]


#: A finding whose question carries no obligation wording (a bank written before ``obligation:``).
FALLBACK_OBLIGATION = "甲が書面により示す是正の内容に従い必要な措置を講じ"


def obligation_sentence(obligation: str, deadline: str) -> str:
    """「令和8年12月15日までに、…を整備し、その結果を書面で甲に報告すること。」"""
    body = (_s(obligation) or FALLBACK_OBLIGATION).rstrip("。、")
    return f"{deadline}までに、{body}、その結果を書面で甲に報告すること。"


def _findings_table(snapshot: Mapping[str, Any], style: str) -> list[TableBlock]:
    rows = []
    for i, f in enumerate(snapshot.get("findings") or (), start=1):
        raw = f.get("deadline")
        deadline = _wareki(_date(raw, "是正期限"), style) if raw else "甲が別に定める日"
        rows.append((_digits(i, style), obligation_sentence(_s(f.get("obligation")), deadline), deadline))
    return [TableBlock(None, ("番号", "是正事項", "期限"), tuple(rows), (8, 70, 22))]


def _wareki(d: date, style: str) -> str:
    return full_width_digits(format_wareki(d)) if style == "full" else format_wareki(d)


# ---------------------------------------------------------------------------------------------
# compose


def _tables(snapshot: Mapping[str, Any], facts: Mapping[str, Any], org_name: str,
            vendor_name: str, style: str = "half") -> tuple[Table, ...]:
    """別表, numbered in order of appearance."""
    table_specs: list[tuple[str, str, list[TableBlock]]] = [
        ("officers", "責任者等一覧", _officers_table(snapshot, facts, org_name, vendor_name)),
    ]
    if "social_media" in facts["kinds"]:
        table_specs.append(("accounts", "ソーシャルメディアのアカウント及び責任者", _accounts_table(snapshot)))
    if facts["findings"]:
        table_specs.append(("findings", "是正事項", _findings_table(snapshot, style)))
    return tuple(
        Table(key, n, f"別表{_digits(n, style)}", title, tuple(blocks))
        for n, (key, title, blocks) in enumerate(table_specs, start=1)
    )


_CLOUD_FACTS = (("data_location", "データの保存場所"), ("governing_law", "準拠法"), ("court", "管轄裁判所"))


def _cloud_values(cloud: Mapping[str, Any], facts: Mapping[str, Any]) -> dict[str, str]:
    if "cloud" not in facts["kinds"]:
        return {}
    values = {"cloud.service_name": _s(cloud.get("service_name")) or "本業務に係る外部サービス"}
    for key, label in _CLOUD_FACTS:
        if _s(cloud.get(key)):
            values[f"cloud.{key}"] = _s(cloud.get(key))
        elif facts["cloud_high"]:
            raise AnnexCompositionError(f"機密性2以上の外部サービスには{label}（cloud.{key}）が必要です")
    return values


def _placeholder_values(snapshot: Mapping[str, Any], facts: Mapping[str, Any], names: tuple[str, str]
                        ) -> dict[str, str]:
    """The placeholders article templates may use, except article and table numbers."""
    org = snapshot.get("organisation") or {}
    engagement = snapshot.get("engagement") or {}
    return {
        "organisation.name": names[0],
        "organisation.head_title": _s(org.get("head_title")),
        "organisation.policy_title": _s(org.get("policy_title")) or "情報セキュリティ基本方針",
        "vendor.name": names[1],
        "engagement.title": _s(engagement.get("title")),
        "engagement.reference": _s(engagement.get("reference")),
        "subcontractors.names": _join_names([_s(s.get("name")) for s in facts["subcontractors"]]),
        **_cloud_values(snapshot.get("cloud") or {}, facts),
    }


def _paragraph(pi: int, p: str | Mapping[str, Any], values: Mapping[str, str], where: str,
               style: str = "half") -> Paragraph:
    text, items = (p, ()) if isinstance(p, str) else (p["text"], p.get("items") or ())
    return Paragraph(
        number=pi,
        label="" if pi == 1 else _digits(pi, style),
        text=_fill(text, values, where),
        items=tuple(Item(f"（{_digits(ii, style)}）", _fill(it, values, where))
                    for ii, it in enumerate(items, start=1)),
    )


def _articles(specs: list[dict], numbers: Mapping[str, int], values: Mapping[str, str],
              styles: tuple[str, str] = ("municipal", "half"), term: str = "本特記事項") -> tuple[Article, ...]:
    """Articles in the organisation's (heading style, digit style); `term` names the document."""
    articles = []
    for spec in specs:
        key = spec["key"]
        where = f"第{numbers[key]}条（{spec['heading']}）"
        paragraphs = tuple(_paragraph(pi, _renamed(p, term), values, where, styles[1])
                           for pi, p in enumerate(spec["paragraphs"], start=1))
        articles.append(Article(key, numbers[key], f"第{_digits(numbers[key], styles[1])}条",
                                _fill(spec["heading"], values, where), paragraphs, styles[0]))
    return tuple(articles)


def _renamed(p: str | Mapping[str, Any], term: str) -> str | Mapping[str, Any]:
    """The library says 「本特記事項」; a standalone 覚書 says 「本覚書」."""
    if term == "本特記事項":
        return p
    if isinstance(p, str):
        return p.replace("本特記事項", term)
    return {**p, "text": p["text"].replace("本特記事項", term),
            "items": [i.replace("本特記事項", term) for i in p.get("items") or ()]}


def _citation(clause: Mapping[str, Any], policy_title: str, org_name: str = "") -> str:
    clause_ref = policy_citation(org_name, policy_title, _s(clause.get("number")))
    clause_title = _s(clause.get("title"))
    return f"{clause_ref}「{clause_title}」" if clause_title else clause_ref


def _clause_quote(clause: Mapping[str, Any], citation: str, kinds: tuple[str, ...]) -> ClauseQuote | None:
    """The organisation's own clause, the paragraph for each kind of the engagement."""
    quoted: list[tuple[str, str]] = []
    paragraphs_by_kind = clause.get("paragraphs") or {}
    for kind in kinds:
        text = _s(paragraphs_by_kind.get(KIND_CLAUSE_PARAGRAPH[kind]))
        if text and text not in (q[1] for q in quoted):
            quoted.append((ANNEX_KIND_PHRASES[kind], text))
    return ClauseQuote(citation, tuple(quoted)) if quoted else None


def _period(engagement: Mapping[str, Any], style: str = "half") -> str | None:
    period_start, period_end = engagement.get("period_start"), engagement.get("period_end")
    if not (period_start or period_end):
        return None
    start = format_wareki(_date(period_start, "契約期間")) if period_start else ""
    end = format_wareki(_date(period_end, "契約期間")) if period_end else ""
    if style == "full":
        start, end = full_width_digits(start), full_width_digits(end)
    return f"{start}から{end}まで"


def _summary(engagement: Mapping[str, Any], values: Mapping[str, str], facts: Mapping[str, Any],
             snapshot: Mapping[str, Any], style: str = "half") -> tuple[tuple[tuple[str, str], ...], str]:
    """(the summary table, the rating). The rating is kept for metadata and never printed: a stated
    「適合」 would read as 甲 accepting 乙's measures."""
    summary = [("契約件名", values["engagement.title"]), ("契約番号", values["engagement.reference"])]
    period = _period(engagement, style)
    if period:
        summary.append(("契約期間", period))
    summary.append(("区分", "・".join(ANNEX_KIND_PHRASES[k] for k in facts["kinds"])))
    conf = engagement.get("confidentiality")
    if conf is not None:
        summary.append(("取り扱う情報", f"機密性{_digits(conf, style)}"
                        + ("（個人情報を含む）" if facts["personal_data"] else "")
                        + ("（特定個人情報を含む）" if facts["my_number"] else "")))
    return tuple(summary), _rating(snapshot)


def _rating(snapshot: Mapping[str, Any]) -> str:
    rating = _s(snapshot.get("rating")) or "pass"
    if rating not in RATING_LABELS:
        raise AnnexCompositionError(f"不明な判定です: {rating!r}")
    return rating


def _closing(style: str) -> str:
    return (f"本覚書の締結を証するため、本書{_digits(2, style)}通を作成し、甲乙記名押印の上、"
            f"各自その{_digits(1, style)}通を保有する。")


def _style(org: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> str:
    value = _s(org.get(key)) or allowed[0]
    if value not in allowed:
        raise AnnexCompositionError(f"{key} は {', '.join(allowed)} のいずれかにしてください: {value!r}")
    return value


def compose_annex(snapshot: Mapping[str, Any]) -> AnnexDocument:
    """Build the annex from a snapshot (see module docstring). Deterministic: same input, same output."""
    org = snapshot.get("organisation") or {}
    vendor = snapshot.get("vendor") or {}
    engagement = snapshot.get("engagement") or {}
    facts = _facts(snapshot)
    conds = _conditions(facts)

    org_name = _s(org.get("name"))
    vendor_name = _s(vendor.get("name"))
    if not org_name or not vendor_name:
        raise AnnexCompositionError("甲（団体名）と乙（事業者名）は必須です")
    issued_on = _date(snapshot.get("issued_on"), "発行日")

    if _is_usage_record(snapshot, facts):
        return _usage_record(snapshot, facts, (org_name, vendor_name), issued_on)
    heading_style = _style(org, "heading_style", HEADING_STYLES)
    digit_style = _style(org, "digit_style", DIGIT_STYLES)
    memorandum = bool(snapshot.get("memorandum"))
    term = "本覚書" if memorandum else "本特記事項"
    tables = _tables(snapshot, facts, org_name, vendor_name, digit_style)
    specs = [s for s in _article_specs(org.get("articles_override")) if _applies(s, facts, conds)]
    numbers = {s["key"]: i for i, s in enumerate(specs, start=1)}
    values = _placeholder_values(snapshot, facts, (org_name, vendor_name))
    values.update({f"article.{k}": f"第{_digits(n, digit_style)}条" for k, n in numbers.items()})
    values.update({f"table.{t.key}": t.label for t in tables})

    citation = _citation(org.get("clause") or {}, values["organisation.policy_title"], org_name)
    preamble = _preamble(org_name, vendor_name, values["engagement.title"], citation, memorandum)
    articles = _articles(specs, numbers, values, (heading_style, digit_style), term)
    clause_quote = _clause_quote(org.get("clause") or {}, citation, facts["kinds"])
    summary, rating = _summary(engagement, values, facts, snapshot, digit_style)
    return AnnexDocument(
        title=MEMORANDUM_TITLE if memorandum else TITLE,
        document_id=_s(snapshot.get("document_id")),
        version=int(snapshot.get("version") or 1),
        issued_on=issued_on,
        issued_on_wareki=format_wareki(issued_on),
        answers_sha256=_s(snapshot.get("answers_sha256")),
        party_a=_party_a(org, org_name),
        party_b=Party("乙", vendor_name, _s(vendor.get("representative")), _s(vendor.get("address"))),
        summary=summary,
        preamble=preamble,
        clause_quote=clause_quote,
        articles=articles,
        tables=tables,
        kinds=facts["kinds"],
        rating=rating,
        memorandum=memorandum,
        closing=_closing(digit_style) if memorandum else None,
        metadata={"organisation_slug": _s(org.get("slug")),
                  "engagement_reference": values["engagement.reference"],
                  "corporate_number": _s(vendor.get("corporate_number")),
                  "rating": RATING_LABELS[rating]},
        heading_style=heading_style,
        signing_date="令和　年　月　日",
        document_kind="memorandum" if memorandum else "annex",
    )


def _preamble(org_name: str, vendor_name: str, title: str, citation: str, memorandum: bool) -> str:
    return (
        f"{org_name}（以下「甲」という。）と{vendor_name}（以下「乙」という。）は、"
        f"「{title}」に係る契約（以下「本契約」という。）の履行に当たり、"
        f"{citation}に定めるところにより、情報セキュリティの確保に関し、"
        + ("次のとおり覚書を締結する。" if memorandum else "次のとおり特記事項を定める。")
    )


def _party_a(org: Mapping[str, Any], org_name: str) -> Party:
    """甲 with its address and the head's title and name (the 覚書's 記名押印 block)."""
    head = " ".join(x for x in (_s(org.get("head_title")), _s(org.get("head_name"))) if x)
    return Party("甲", org_name, head, _s(org.get("address")))


def _is_usage_record(snapshot: Mapping[str, Any], facts: Mapping[str, Any]) -> bool:
    """A cloud service on its provider's terms (機密性2以上を取り扱わない) only, unless the organisation
    asks for the bilateral annex (``cloud_low_document: annex``) or a 覚書 is asked for."""
    org = snapshot.get("organisation") or {}
    return (facts["kinds"] == ("cloud",) and not facts["cloud_high"] and not snapshot.get("memorandum")
            and _s(org.get("cloud_low_document")) != "annex")


def _usage_record(snapshot: Mapping[str, Any], facts: Mapping[str, Any], names: tuple[str, str],
                  issued_on: date) -> AnnexDocument:
    org = snapshot.get("organisation") or {}
    engagement = snapshot.get("engagement") or {}
    digit_style = _style(org, "digit_style", DIGIT_STYLES)
    values = _placeholder_values(snapshot, facts, names)
    values["citation"] = _citation(org.get("clause") or {}, values["organisation.policy_title"], names[0])
    preamble, parts = usage_record_parts(snapshot, values, _period(engagement, digit_style),
                                         lambda n: _digits(n, digit_style))
    tables = tuple(Table(key, n, "", title, (TableBlock(None, columns, rows, widths),))
                   for n, (key, title, columns, rows, widths) in enumerate(parts, start=1))
    return AnnexDocument(
        title=USAGE_RECORD_TITLE, document_id=_s(snapshot.get("document_id")),
        version=int(snapshot.get("version") or 1), issued_on=issued_on, issued_on_wareki=format_wareki(issued_on),
        answers_sha256=_s(snapshot.get("answers_sha256")),
        party_a=Party("甲", names[0], _s(org.get("head_title")), _s(org.get("address"))),
        party_b=Party("乙", names[1], _s((snapshot.get("vendor") or {}).get("representative"))),
        summary=(), preamble=preamble, clause_quote=None, articles=(), tables=tables, kinds=facts["kinds"],
        rating=_rating(snapshot),
        metadata={"organisation_slug": _s(org.get("slug")), "engagement_reference": values["engagement.reference"],
                  "rating": RATING_LABELS[_rating(snapshot)]},
        document_kind="usage_record",
    )


# ---------------------------------------------------------------------------------------------
# before issuing


#: Placeholder values an issued annex may not leave empty, and what to fill in.
_REQUIRED_VALUES = (
    ("engagement.title", "案件の件名"),
    ("organisation.head_title", "団体の長の職名（団体の設定）"),
)


#: What a 覚書's 記名押印 block may not leave empty (organisation settings).
_MEMORANDUM_VALUES = (("address", "甲の所在地"), ("head_name", "団体の長の氏名"))


def issue_problems(snapshot: Mapping[str, Any], doc: AnnexDocument) -> list[str]:
    """What stops this annex from being issued (Japanese, one sentence each); [] when it can be.

    別表1 must name 甲's people, and no placeholder the articles use may be filled with nothing."""
    problems = []
    key = "approvals" if doc.document_kind == "usage_record" else "officers"
    officers = next((t.blocks[0] for t in doc.tables if t.key == key), None)
    if officers is None or not any(any(cell for cell in row) for row in officers.rows):
        where = "確認・承認欄" if key == "approvals" else "別表1の甲の担当者"
        problems.append(f"{where}が空です。案件の担当者（情報セキュリティ管理者等）を登録してください")
    org = snapshot.get("organisation") or {}
    engagement = snapshot.get("engagement") or {}
    given = {"engagement.title": _s(engagement.get("title")), "organisation.head_title": _s(org.get("head_title"))}
    for name, label in _REQUIRED_VALUES:
        if not given[name]:
            problems.append(f"差込項目 {{{name}}}（{label}）が入力されていません")
    if doc.memorandum:  # the 記名押印 block names 甲's address and head
        for key, label in _MEMORANDUM_VALUES:
            if not _s(org.get(key)):
                problems.append(f"覚書の記名押印欄の{label}が入力されていません（団体設定「特記事項・覚書の記載」）")
    return problems


# ---------------------------------------------------------------------------------------------
# plain text


def _article_lines(article: Article) -> Iterable[str]:
    yield article.heading_line
    for p in article.paragraphs:
        yield article.paragraph_line(p)
        for it in p.items:
            yield f"　{it.label}　{it.text}"


def annex_text(doc: AnnexDocument) -> str:
    """Plain text of the annex body (title, preamble, cited clause, articles, 別表, closing).

    Document id, version, issue date and hash are left out so that two versions diff on content.
    """
    lines = [doc.title, "", doc.preamble]
    if doc.clause_quote:
        lines += ["", f"（参考）{doc.clause_quote.source}（抜粋）"]
        lines += [f"　{label}：{text}" for label, text in doc.clause_quote.paragraphs]
    for article in doc.articles:
        lines.append("")
        lines.extend(_article_lines(article))
    for table in doc.tables:
        lines += ["", table.heading]
        for block in table.blocks:
            if block.caption:
                lines.append(f"［{block.caption}］")
            lines.append("\t".join(block.columns))
            lines.extend("\t".join(c.replace("\n", " ") for c in row) for row in block.rows)
    if doc.closing:
        lines += ["", doc.closing]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# checking an organisation's article overrides before they are saved


def sample_snapshot(articles_override: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A snapshot that switches every article on (all kinds, 機密性2 cloud, 再委託, findings)."""
    return {
        "document_id": "VR-sample-1", "version": 1, "issued_on": "2026-04-01", "answers_sha256": "0" * 64,
        "organisation": {
            "name": "見本市", "slug": "sample", "policy_title": "見本市情報セキュリティ基本方針",
            "head_title": "見本市長",
            "clause": {"number": "(8)", "title": "業務委託と外部サービス（クラウドサービス）の利用",
                       "paragraphs": {"outsourcing": "業務委託を行う場合には…",
                                      "external_services": "外部サービスを利用する場合には…",
                                      "social_media": "ソーシャルメディアサービスを利用する場合には…"}},
            "articles_override": dict(articles_override or {}),
        },
        "vendor": {"name": "見本株式会社", "corporate_number": "", "address": "", "representative": ""},
        "engagement": {"reference": "S-1", "title": "見本業務", "kinds": list(KINDS),
                       "confidentiality": 2, "personal_data": True, "my_number": True,
                       "period_start": "2026-04-01", "period_end": "2027-03-31"},
        "municipal_officers": [{"role": "security_manager", "role_title": "情報セキュリティ管理者",
                                "name": "見本 一郎", "department": "総務課長"}],
        "contractor_people": [{"role": "responsible_manager", "role_title": "業務責任者", "name": "見本 二郎"}],
        "work_site": "見本", "data_storage_site": "見本",
        "subcontracting": {"declared": True,
                           "subcontractors": [{"name": "見本下請株式会社", "address": "", "scope": ""}]},
        "cloud": {"high": True, "service_name": "見本クラウド", "data_location": "日本国内", "governing_law": "日本法",
                  "court": "見本地方裁判所"},
        "social_accounts": [{"service": "X", "account": "@sample", "section": "広報課", "owner": "広報課長"}],
        "findings": [{"question_id": "x", "title": "見本", "remediation": "見本", "deadline": "2026-05-01"}],
        "rating": "conditional", "memorandum": True,
    }


def check_overrides(articles_override: Mapping[str, Any]) -> AnnexDocument:
    """Compose the sample annex with these overrides; raises AnnexCompositionError when they are unusable."""
    return compose_annex(sample_snapshot(articles_override))
