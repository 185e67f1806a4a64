"""The mails the application sends, as templates an organisation may edit (subject and body, Japanese).

Templates are rendered in Jinja's sandbox (an edited template can read the values given to it and
nothing else: no attributes of Python objects, no imports). Mails are plain text; every value given
to a template is flattened to one line without control characters, so a typed name or title can
neither add a header (the mail adapter also keeps the subject on one line) nor forge lines of the
body. Pure Python: no Flask, no database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment

from .vocabulary import clean_text
from .wareki import date_time, long_date

MAX_SUBJECT = 200
MAX_BODY = 10_000


class MailTemplateError(ValueError):
    """A template that cannot be used; the message is Japanese and safe to show."""


@dataclass(frozen=True)
class MailKind:
    key: str
    label: str  # what the mail is, for the admin page
    audience: str  # 事業者 / 職員
    subject: str
    body: str
    variables: tuple[tuple[str, str], ...]  # (name, what it holds), shown next to the editor
    sample: dict[str, Any]  # what the preview renders with


_CONTRACTOR_VARS = (
    ("recipient_name", "宛名（回答者の氏名、なければ事業者名）"),
    ("vendor_name", "事業者名"),
    ("organisation_name", "団体名"),
    ("engagement_title", "案件名"),
    ("engagement_reference", "案件番号"),
    ("due_date", "回答期限（例：令和8年12月15日（火））"),
    ("contact", "問い合わせ先（担当課・担当者・電話番号・メールアドレス）"),
    ("signature", "署名（団体設定の担当部署・電話・住所）"),
)
_STAFF_VARS = (
    ("staff_name", "宛先の職員の氏名"),
    ("organisation_name", "団体名"),
    ("signature", "署名（団体設定の担当部署・電話・住所）"),
)
_SAMPLE_COMMON: dict[str, Any] = {
    "organisation_name": "玉名市", "recipient_name": "山崎 一郎", "vendor_name": "株式会社テストシステム",
    "engagement_title": "住民情報システム運用保守業務", "engagement_reference": "R8-001",
    "due_date": "令和8年12月15日（火）", "staff_name": "契約 太郎",
    "contact": "担当課：総務部 情報政策課、担当者：契約 太郎、電話番号：0968-75-1111",
    "signature": "玉名市 総務部 情報政策課\n〒865-8501 熊本県玉名市岩崎163\n電話 0968-75-1111",
}

SIGNATURE_NOTE = "お心当たりのない場合は、このメールを破棄してください。"

MAIL_KINDS: dict[str, MailKind] = {
    k.key: k
    for k in (
        MailKind(
            "invitation", "回答依頼", "事業者",
            "【{{ organisation_name }}】情報セキュリティに関する確認のお願い（{{ engagement_title }}）",
            """{{ recipient_name }} 様

{{ organisation_name }}です。
「{{ engagement_title }}」（案件番号 {{ engagement_reference }}）について、
{{ self_reference }}の{{ policy_title }} {{ clause_number }}「{{ clause_title }}」に基づき、
貴社の情報セキュリティ対策をお伺いします。

次のリンクから、アカウント登録なしで回答できます。途中で保存して、後から続けることもできます。
{{ link }}

回答期限：{{ due_date }}（この日の終わりまでリンクが使えます）
所要時間の目安：約{{ minutes }}分（設問{{ question_count }}問）
質問票：{{ questionnaires }}
あらかじめご用意いただく資料：{{ documents }}
お問い合わせ先：{{ contact }}

このリンクは貴社専用です。社内の別の方に回答をお願いする場合は、回答画面の「回答を社内の別の方に引き継ぐ」からお知らせください。
""" + SIGNATURE_NOTE + """

{{ signature }}
""",
            (*_CONTRACTOR_VARS, ("link", "回答用のリンク"), ("questionnaires", "質問票の名前"),
             ("policy_title", "基本方針の名称"), ("clause_number", "条項の番号"), ("clause_title", "条項の見出し"),
             ("self_reference", "団体の呼び方（本市・本町・本組合）"), ("minutes", "所要時間の目安（分）"),
             ("question_count", "設問の数"), ("documents", "あらかじめ用意する資料")),
            {"link": "https://example.jp/r/（回答用のリンク）", "questionnaires": "業務委託に関する確認",
             "policy_title": "玉名市情報セキュリティ基本方針", "clause_number": "6(8)",
             "clause_title": "業務委託と外部サービス（クラウドサービス）の利用", "self_reference": "本市",
             "minutes": 60, "question_count": 38, "documents": "ISMS認証の登録証の写し"},
        ),
        MailKind(
            "reminder_before", "回答期限の前のお知らせ", "事業者",
            "【{{ organisation_name }}】回答期限が近づいています（{{ engagement_title }}）",
            """{{ recipient_name }} 様

{{ organisation_name }}です。
「{{ engagement_title }}」（案件番号 {{ engagement_reference }}）の情報セキュリティに関する確認について、
回答期限が近づいています。

回答期限：{{ due_date }}（この日の終わりまで）

先日お送りしたメールのリンクから回答してください。途中まで入力した内容は保存されています。
リンクが見当たらない場合は、下記までご連絡ください。
すでに回答を送信された場合は、行き違いですのでご容赦ください。

{{ signature }}
""",
            _CONTRACTOR_VARS, {},
        ),
        MailKind(
            "reminder_after", "回答期限を過ぎたお知らせ", "事業者",
            "【{{ organisation_name }}】回答期限を過ぎています（{{ engagement_title }}）",
            """{{ recipient_name }} 様

{{ organisation_name }}です。
「{{ engagement_title }}」（案件番号 {{ engagement_reference }}）の情報セキュリティに関する確認について、
回答期限（{{ due_date }}）を過ぎましたが、まだ回答を受け取っていません。

期限を過ぎたため、お送りしたリンクは使えなくなっています。
回答される場合は、下記までご連絡ください。新しいリンクをお送りします。

{{ signature }}
""",
            _CONTRACTOR_VARS, {},
        ),
        MailKind(
            "handover", "回答の引継ぎ（引き継いだ方あて）", "事業者",
            "【{{ organisation_name }}】情報セキュリティに関する確認の引継ぎ（{{ engagement_title }}）",
            """{{ delegate_name }} 様

{{ organisation_name }}です。
「{{ engagement_title }}」（案件番号 {{ engagement_reference }}）の情報セキュリティに関する確認について、
{{ recipient_name }} 様から、回答を{{ delegate_name }} 様に引き継ぐとの連絡がありました。
（この引継ぎは{{ self_reference }}の記録に残しています。）

次のリンクから、アカウント登録なしで回答できます。これまでに保存された回答は、そのまま残っています。
{{ link }}

回答期限：{{ due_date }}（この日の終わりまでリンクが使えます）
お問い合わせ先：{{ contact }}

お心当たりのない場合は、このメールを破棄し、お問い合わせ先にご連絡ください。

{{ signature }}
""",
            (*_CONTRACTOR_VARS, ("delegate_name", "引き継いだ方の氏名"), ("link", "回答用のリンク"),
             ("self_reference", "団体の呼び方（本市・本町・本組合）")),
            {"delegate_name": "佐藤 花子", "link": "https://example.jp/r/（回答用のリンク）", "self_reference": "本市"},
        ),
        MailKind(
            "submitted", "回答の受付（事業者あて）", "事業者",
            "【{{ organisation_name }}】回答を受け付けました（受付番号 {{ receipt_number }}）",
            """{{ recipient_name }} 様

{{ organisation_name }}です。
「{{ engagement_title }}」（案件番号 {{ engagement_reference }}）の情報セキュリティに関する確認について、
回答を受け付けました。

受付番号：{{ receipt_number }}
受付日時：{{ submitted_at }}

回答内容の受付票（PDF）は、回答に使ったリンクから{{ due_date }}の終わりまでダウンロードできます。
内容について確認が必要な場合は、担当者からご連絡します。

お問い合わせ先：{{ contact }}

""" + SIGNATURE_NOTE + """

{{ signature }}
""",
            (*_CONTRACTOR_VARS, ("receipt_number", "受付番号"), ("submitted_at", "受付日時")),
            {"receipt_number": "R8-001-0001", "submitted_at": "令和8年12月10日（木）14時05分"},
        ),
        MailKind(
            "clarification", "回答内容の確認のお願い（事業者あて）", "事業者",
            "【{{ organisation_name }}】回答内容の確認のお願い（{{ engagement_title }}）",
            """{{ recipient_name }} 様

{{ organisation_name }}です。
「{{ engagement_title }}」（案件番号 {{ engagement_reference }}）についてご提出いただいた回答のうち、
次の設問について確認させてください。その他の回答は、提出いただいたまま変わりません。
{% for item in asked %}
■ {{ item.question }}
  確認したいこと：{{ item.request }}
{% endfor %}
回答期限：{{ due_date }}

{% if link %}以前のリンクは有効期限が切れたため、新しいリンクをお送りします。次のリンクから回答してください。
{{ link }}
{% else %}最初にお送りしたメールのリンクから開くと、確認したい設問の一覧が表示されます
（リンクは{{ link_until }}まで使えます）。
{% endif %}
リンクが見つからない場合は、お問い合わせ先にご連絡ください。
お問い合わせ先：{{ contact }}

{{ signature }}
""",
            (*_CONTRACTOR_VARS, ("asked", "確認したい設問の一覧（question, request）"),
             ("link", "新しいリンク（以前のリンクが切れたときだけ。ほかは空）"),
             ("link_until", "リンクが使える最後の日")),
            {"asked": [{"question": "多要素認証を導入していますか。",
                        "request": "対象となる利用者の範囲を教えてください。"}],
             "link": "", "link_until": "令和8年12月22日（火）"},
        ),
        MailKind(
            "remediation", "是正事項のお知らせ（事業者あて）", "事業者",
            "【{{ organisation_name }}】是正事項のお知らせ（{{ engagement_title }}）",
            """{{ recipient_name }} 様

{{ organisation_name }}です。
「{{ engagement_title }}」（案件番号 {{ engagement_reference }}）は、次の是正事項を条件として承認しました。
それぞれの期限までに対応し、その結果を是正報告としてお知らせください。
{% for item in remediations %}
{{ loop.index }}. {{ item.obligation }}
   期限：{{ item.deadline }}
{% endfor %}
{% if link %}是正報告は、次のリンクから送れます。
{{ link }}
{% else %}是正報告は、最初にお送りしたメールのリンクから送れます（リンクは{{ link_until }}まで使えます）。
{% endif %}
お問い合わせ先：{{ contact }}

{{ signature }}
""",
            (*_CONTRACTOR_VARS, ("remediations", "是正事項の一覧（obligation, deadline）"),
             ("link", "新しいリンク（以前のリンクが切れたときだけ。ほかは空）"),
             ("link_until", "リンクが使える最後の日")),
            {"remediations": [{"obligation": "従事者への情報セキュリティ研修を実施し、その記録を提出すること。",
                               "deadline": "令和9年1月29日（金）"}],
             "link": "", "link_until": "令和9年2月5日（金）"},
        ),
        MailKind(
            "staff_submitted", "回答の提出（職員あて）", "職員",
            "【{{ organisation_name }}】回答が提出されました（{{ engagement_title }}）",
            """{{ staff_name }} 様

「{{ engagement_title }}」（案件番号 {{ engagement_reference }}）について、
{{ vendor_name }}から回答が提出されました（{{ submitted_at }}）。

案件の画面：{{ engagement_url }}

{{ signature }}
""",
            (*_STAFF_VARS, ("engagement_title", "案件名"), ("engagement_reference", "案件番号"),
             ("vendor_name", "事業者名"), ("submitted_at", "提出日時"), ("engagement_url", "案件の画面のアドレス")),
            {"submitted_at": "令和8年12月10日（木）14時05分",
             "engagement_url": "https://example.jp/staff/engagements/1"},
        ),
        MailKind(
            "staff_awaiting", "判定待ちの回答（職員あて）", "職員",
            "【{{ organisation_name }}】判定待ちの回答が{{ count }}件あります",
            """{{ staff_name }} 様

提出され、まだ判定していない回答が{{ count }}件あります。
{% for item in items %}
・{{ item.reference }} {{ item.title }}（{{ item.vendor }}、{{ item.submitted }}提出）
{%- endfor %}

審査待ちの一覧：{{ queue_url }}

{{ signature }}
""",
            (*_STAFF_VARS, ("count", "件数"), ("items", "案件の一覧（reference, title, vendor, submitted）"),
             ("queue_url", "審査待ちの一覧のアドレス")),
            {"count": 1, "queue_url": "https://example.jp/staff/review-queue",
             "items": [{"reference": "R8-001", "title": "住民情報システム運用保守業務",
                        "vendor": "株式会社テストシステム", "submitted": "令和8年12月10日（木）"}]},
        ),
        MailKind(
            "staff_remediation", "是正の期限切れ（職員あて）", "職員",
            "【{{ organisation_name }}】是正の期限を過ぎた指摘事項があります（{{ engagement_title }}）",
            """{{ staff_name }} 様

「{{ engagement_title }}」（案件番号 {{ engagement_reference }}、{{ vendor_name }}）の指摘事項のうち、
次の是正の期限を過ぎました。事業者に是正の状況を確認してください。
{% for item in findings %}
・{{ item.question }}（期限 {{ item.deadline }}）
{%- endfor %}

案件の画面：{{ engagement_url }}

{{ signature }}
""",
            (*_STAFF_VARS, ("engagement_title", "案件名"), ("engagement_reference", "案件番号"),
             ("vendor_name", "事業者名"), ("findings", "指摘事項の一覧（question, deadline）"),
             ("engagement_url", "案件の画面のアドレス")),
            {"engagement_url": "https://example.jp/staff/engagements/1",
             "findings": [{"question": "多要素認証を導入していますか。", "deadline": "令和8年12月15日（火）"}]},
        ),
        MailKind(
            "staff_review_due", "再評価の時期（職員あて）", "職員",
            "【{{ organisation_name }}】再評価の時期です（{{ engagement_title }}）",
            """{{ staff_name }} 様

「{{ engagement_title }}」（案件番号 {{ engagement_reference }}、{{ vendor_name }}）の
次回の再評価日（{{ review_date }}）{{ status }}。
案件の画面の「再評価」から、次の評価を始めてください（前回の回答が入力された状態で回答依頼を送れます）。

案件の画面：{{ engagement_url }}

{{ signature }}
""",
            (*_STAFF_VARS, ("engagement_title", "案件名"), ("engagement_reference", "案件番号"),
             ("vendor_name", "事業者名"), ("review_date", "次回の再評価日"),
             ("status", "「が近づいています」または「を過ぎました」"), ("engagement_url", "案件の画面のアドレス")),
            {"review_date": "令和9年12月10日（金）", "status": "が近づいています",
             "engagement_url": "https://example.jp/staff/engagements/1"},
        ),
        MailKind(
            "staff_certificate_expiry", "認証・ISMAP登録の有効期限（職員あて）", "職員",
            "【{{ organisation_name }}】{{ certificate }}の有効期限{{ status }}（{{ engagement_title }}）",
            """{{ staff_name }} 様

「{{ engagement_title }}」（案件番号 {{ engagement_reference }}、{{ vendor_name }}）の回答にある
{{ certificate }}の有効期限（{{ expiry_date }}）{{ status }}。
事業者に更新の状況を確認し、更新後の登録証の写しなどを受け取ってください。

案件の画面：{{ engagement_url }}

{{ signature }}
""",
            (*_STAFF_VARS, ("engagement_title", "案件名"), ("engagement_reference", "案件番号"),
             ("vendor_name", "事業者名"), ("certificate", "認証・登録の名前（例：ISMS認証）"),
             ("expiry_date", "有効期限"), ("status", "「が近づいています」または「を過ぎました」"),
             ("engagement_url", "案件の画面のアドレス")),
            {"certificate": "ISMS認証", "expiry_date": "令和9年1月31日（日）", "status": "が近づいています",
             "engagement_url": "https://example.jp/staff/engagements/1"},
        ),
    )
}


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(autoescape=False, keep_trailing_newline=True)
    env.filters["long_date"] = long_date
    env.filters["date_time"] = date_time
    return env


_ENV = _environment()


def one_line(value: str) -> str:
    """Untrusted text for a mail: no control characters, no line breaks."""
    return " ".join(clean_text(value).split())


def clean(value: Any) -> Any:
    """Every string in the context flattened to one clean line (lists and dicts walked)."""
    if isinstance(value, str):
        return one_line(value)
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def render(subject: str, body: str, context: dict[str, Any], *, signature: str = "") -> tuple[str, str]:
    """(subject, body) of one mail; MailTemplateError (Japanese) when the template cannot be rendered."""
    values = clean(context)
    values["signature"] = "\n".join(one_line(line) for line in signature.splitlines() if line.strip())
    try:
        rendered_subject = one_line(_ENV.from_string(subject).render(values))
        rendered_body = _ENV.from_string(body).render(values)
    except TemplateError as exc:
        raise MailTemplateError(f"テンプレートを読めません（{one_line(str(exc))[:200]}）。") from exc
    except Exception as exc:  # noqa: BLE001 - a sandboxed template can fail in many ways (e.g. 1/0)
        raise MailTemplateError("テンプレートの処理中に問題が起きました。書き方を確認してください。") from exc
    if not rendered_subject:
        raise MailTemplateError("件名が空になります。")
    return rendered_subject[:MAX_SUBJECT], clean_text(rendered_body)


def check(kind: str, subject: str, body: str) -> tuple[str, str]:
    """Render the kind's sample with an edited template: the preview, or MailTemplateError."""
    if len(subject) > MAX_SUBJECT or len(body) > MAX_BODY:
        raise MailTemplateError(f"件名は{MAX_SUBJECT}文字、本文は{MAX_BODY}文字以内にしてください。")
    mail_kind = MAIL_KINDS[kind]
    sample = {**_SAMPLE_COMMON, **mail_kind.sample}
    return render(subject, body, sample, signature=str(sample["signature"]))
