"""Staff forms. Every field has a Japanese label and, where useful, help text; messages say what to do."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired, FileSize
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from ..domain import corporate_number
from ..domain.vocabulary import KIND_LABELS, RISK_LABELS, RISK_LEVELS, ROLE_LABELS
from ..domain.wareki import parse_date
from ..models import OFFICER_ROLES
from ..services import engagements, organisations, users, vendors
from ..services.organisations import SLUG_PATTERN

MAX_POLICY_BYTES = 5 * 1024 * 1024


def email_check(message: str) -> Email:
    """wtforms' Email (email_validator), without a DNS lookup."""
    return Email(message, check_deliverability=False)


def nfkc_strip(value: Any) -> Any:
    return unicodedata.normalize("NFKC", value).strip() if isinstance(value, str) else value


def strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def opts(pairs: Any) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False, html_tag="ul")
    option_widget = CheckboxInput()


class JapaneseDateField(StringField):
    """A date typed as text; keeps what the person typed when it cannot be read."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.raw = valuelist[0] if valuelist else ""
        self.data = None
        if self.raw and self.raw.strip():
            try:
                self.data = parse_date(self.raw)
            except (ValueError, KeyError):
                self.data = None
                raise ValueError("日付は「2026-04-01」または「令和8年4月1日」の形で入力してください。") from None

    def _value(self) -> str:
        if getattr(self, "raw", None) is not None:
            return self.raw
        return self.data.isoformat() if isinstance(self.data, dt.date) else ""


def corporate_number_check(form: FlaskForm, field: Field) -> None:
    """The 法人番号 check digit; the value is normalised (full-width digits, hyphens)."""
    if not field.data:
        return
    try:
        field.data = corporate_number.validate(field.data)
    except corporate_number.CorporateNumberError as exc:
        raise ValidationError(str(exc)) from exc


class VendorForm(FlaskForm):
    name = StringField(
        "事業者名",
        filters=[strip],
        validators=[
            DataRequired("事業者名を入力してください。"),
            Length(max=200, message="事業者名は200文字以内で入力してください。"),
        ],
        description="登記上の名称（例：株式会社〇〇）",
    )
    corporate_number = StringField(
        "法人番号",
        filters=[strip],
        validators=[Optional(), corporate_number_check],
        description="13桁の数字。全角やハイフン入りでも入力できます。個人事業主の方は空欄で構いません。",
    )
    address = StringField(
        "所在地", filters=[strip], validators=[Length(max=300, message="所在地は300文字以内で入力してください。")]
    )
    representative = StringField(
        "代表者",
        filters=[strip],
        validators=[Length(max=200, message="代表者は200文字以内で入力してください。")],
        description="役職と氏名（例：代表取締役 山田 太郎）",
    )
    contact_email = EmailField(
        "連絡先メールアドレス",
        filters=[strip],
        validators=[Optional(), email_check("メールアドレスの形式で入力してください（例：info@example.co.jp）。")],
    )

    def __init__(self, *args: Any, organisation_id: int, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.organisation_id = organisation_id

    def validate_corporate_number(self, field: Field) -> None:
        if field.data and vendors.corporate_number_taken(self.organisation_id, field.data):
            raise ValidationError("この法人番号の事業者はすでに登録されています。事業者一覧から選んでください。")

    def vendor_fields(self) -> dict[str, Any]:
        return {
            "name": self.name.data,
            "corporate_number": self.corporate_number.data or None,
            "address": self.address.data or "",
            "representative": self.representative.data or "",
            "contact_email": self.contact_email.data or "",
        }


class EngagementForm(FlaskForm):
    # Chosen by searching (the page lists a few matches): a hidden id, never a select of every vendor.
    vendor_id = IntegerField("委託事業者", widget=HiddenInput())
    reference = StringField(
        "案件番号",
        filters=[nfkc_strip],
        validators=[
            DataRequired("案件番号を入力してください。"),
            Length(max=40, message="案件番号は40文字以内で入力してください。"),
            Regexp(
                r"^[A-Za-z0-9][A-Za-z0-9_\-]*$",
                message="案件番号は半角英数字とハイフンで入力してください（例：OUT-2026-001）。",
            ),
        ],
        description="団体内で重複しない番号（例：OUT-2026-001）",
    )
    title = StringField(
        "件名",
        filters=[strip],
        validators=[
            DataRequired("件名を入力してください。"),
            Length(max=200, message="件名は200文字以内で入力してください。"),
        ],
    )
    kinds = MultiCheckboxField(
        "種別",
        choices=opts(list(KIND_LABELS.items())),
        validators=[DataRequired("種別を1つ以上選んでください。")],
        description="基本方針の「業務委託と外部サービス（クラウドサービス）の利用」のどれに当たるかを選びます。複数選べます。",
    )
    confidentiality = RadioField(
        "機密性",
        coerce=int,
        default=2,
        choices=opts(
            [
                (3, "機密性3（秘密文書に相当）"),
                (2, "機密性2（漏えいで住民や業務に影響。個人情報の多く）"),
                (1, "機密性1"),
            ]
        ),
        validators=[DataRequired("機密性を選んでください。")],
    )
    integrity = RadioField("完全性", coerce=int, default=1, choices=opts([(2, "完全性2"), (1, "完全性1")]))
    availability = RadioField("可用性", coerce=int, default=1, choices=opts([(2, "可用性2"), (1, "可用性1")]))
    personal_data = BooleanField("個人情報を取り扱う")
    my_number = BooleanField("マイナンバー（特定個人情報）を取り扱う")
    network_segment = SelectField(
        "ネットワーク",
        choices=opts(
            [
                ("", "該当なし・不明"),
                ("individual_number", "個人番号利用事務系"),
                ("lgwan", "LGWAN接続系"),
                ("internet", "インターネット接続系"),
            ]
        ),
        validators=[Optional()],
    )
    period_start = JapaneseDateField(
        "契約期間（開始）", description="例：2026-04-01 または 令和8年4月1日", validators=[Optional()]
    )
    period_end = JapaneseDateField(
        "契約期間（終了）", description="例：2027-03-31 または 令和9年3月31日", validators=[Optional()]
    )
    officer_ids = MultiCheckboxField(
        "本団体の責任者",
        coerce=int,
        description="特記事項の責任者一覧に載る職員を選びます（情報セキュリティ管理者など）。",
    )

    def __init__(self, *args: Any, organisation_id: int, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.organisation_id = organisation_id
        self.vendor: Any = None
        self.officer_ids.choices = opts(
            (o.id, f"{o.role_title}　{o.name}（{o.department}）")
            for o in organisations.organisation_officers(organisation_id)
        )

    def validate_vendor_id(self, field: Field) -> None:
        self.vendor = vendors.organisation_vendor(self.organisation_id, field.data)
        if self.vendor is None:
            field.errors = []  # an unreadable id says the same as none chosen
            raise ValidationError("委託事業者を検索して選んでください。")

    def validate_reference(self, field: Field) -> None:
        if engagements.reference_taken(self.organisation_id, field.data):
            raise ValidationError("この案件番号はすでに使われています。別の番号を入力してください。")

    def validate_period_end(self, field: Field) -> None:
        if field.data and self.period_start.data and field.data < self.period_start.data:
            raise ValidationError("契約期間（終了）は開始日以降の日付を入力してください。")

    def engagement_fields(self) -> dict[str, Any]:
        return {
            "reference": self.reference.data,
            "title": self.title.data,
            "kinds": list(self.kinds.data or []),
            "confidentiality": self.confidentiality.data,
            "integrity": self.integrity.data or 1,
            "availability": self.availability.data or 1,
            "personal_data": self.personal_data.data,
            "my_number": self.my_number.data,
            "network_segment": self.network_segment.data or None,
            "period_start": self.period_start.data,
            "period_end": self.period_end.data,
        }


class InvitationForm(FlaskForm):
    recipient_name = StringField(
        "回答者の氏名",
        filters=[strip],
        validators=[Length(max=100, message="氏名は100文字以内で入力してください。")],
        description="事業者側の担当者名（メールの宛名になります）",
    )
    recipient_email = EmailField(
        "回答者のメールアドレス",
        filters=[strip],
        validators=[
            DataRequired("回答者のメールアドレスを入力してください。"),
            email_check("メールアドレスの形式で入力してください（例：tanto@example.co.jp）。"),
        ],
    )


class EmptyForm(FlaskForm):
    """For POST-only buttons: carries the CSRF token."""


class PolicyUploadForm(FlaskForm):
    policy_file = FileField(
        "情報セキュリティ基本方針のファイル",
        # The format is told from the content (domain.policy sniffs it), never from the file name.
        validators=[
            FileRequired("基本方針のファイルを選んでください。"),
            FileSize(MAX_POLICY_BYTES, message="ファイルが大きすぎます。5MB以下のファイルを選んでください。"),
        ],
        description="テキスト（.txt / .md、UTF-8またはShift_JIS）、テキストを含むPDF、例規集のページを保存したHTML、"
                    "Word（.docx）。取り込む前に読み取り結果を確認できます。",
    )
    slug = StringField(
        "団体の識別子（英字）",
        filters=[nfkc_strip],
        validators=[
            Optional(),
            Regexp(SLUG_PATTERN, message="識別子は半角英小文字・数字・ハイフンで入力してください（例：tamana-city）。"),
        ],
        description="新しい団体を作るときだけ入力します。空欄なら自団体を更新します。",
    )

    def __init__(self, *args: Any, own_slug: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.own_slug = own_slug

    def validate_slug(self, field: Field) -> None:
        if field.data and field.data != self.own_slug and organisations.slug_taken(field.data):
            raise ValidationError("この識別子の団体はすでにあります。別の識別子を入力してください。")

    def target_slug(self) -> str:
        return self.slug.data or self.own_slug


class OfficerForm(FlaskForm):
    role = SelectField("役割", choices=opts(list(OFFICER_ROLES.items())))
    role_title = StringField(
        "職名（団体での呼び方）",
        filters=[strip],
        validators=[DataRequired("職名を入力してください。"), Length(max=100)],
        description="例：情報セキュリティ管理者（総務課長）",
    )
    name = StringField("氏名", filters=[strip], validators=[DataRequired("氏名を入力してください。"), Length(max=100)])
    department = StringField("所属", filters=[strip], validators=[Length(max=200)])


class UserForm(FlaskForm):
    # id: the officer form on the same page has a `name` field too (ids are unique in a page).
    name = StringField("氏名", id="user-name", filters=[strip],
                       validators=[DataRequired("氏名を入力してください。"), Length(max=100)])
    email = EmailField(
        "メールアドレス",
        filters=[strip],
        validators=[
            DataRequired("メールアドレスを入力してください。"),
            email_check("メールアドレスの形式で入力してください。"),
        ],
    )
    role = RadioField(
        "役割", choices=opts(list(ROLE_LABELS.items())), validators=[DataRequired("役割を選んでください。")]
    )
    password = PasswordField(
        "初期パスワード",
        validators=[
            DataRequired("初期パスワードを入力してください。"),
            Length(
                min=users.MIN_PASSWORD_LENGTH,
                message=f"パスワードは{users.MIN_PASSWORD_LENGTH}文字以上にしてください。",
            ),
        ],
    )

    def validate_email(self, field: Field) -> None:
        if users.email_taken(field.data):
            raise ValidationError("このメールアドレスはすでに登録されています。")


class ArticleOverrideForm(FlaskForm):
    omit = BooleanField("この条を特記事項に入れない", description="標準の条文を使わない場合に選びます。")
    heading = StringField(
        "見出し",
        filters=[strip],
        validators=[Length(max=60, message="見出しは60文字以内で入力してください。")],
        description="第N条（見出し）の見出し部分。番号は自動で付きます。",
    )
    paragraphs = TextAreaField(
        "条文",
        filters=[strip],
        validators=[Length(max=8000, message="条文は8000文字以内で入力してください。")],
        description="項ごとに空行で区切ります。「・」で始まる行は、その項の号（（１）（２）…）になります。"
        "番号は自動で付くので入力しません。差込項目は {organisation.name} {vendor.name} などが使えます。",
        render_kw={"rows": 14},
    )

    def validate_paragraphs(self, field: Field) -> None:
        if not self.omit.data and not field.data:
            raise ValidationError(
                "条文を入力してください。使わない場合は「この条を特記事項に入れない」を選んでください。"
            )

    def change(self, standard_heading: str) -> dict[str, Any]:
        """The override this form asks for: omit the article, or its heading and paragraphs."""
        if self.omit.data:
            return {"omit": True}
        return {
            "heading": self.heading.data or standard_heading,
            "paragraphs": paragraphs_from_text(self.paragraphs.data or ""),
        }


def paragraphs_from_text(text: str) -> list[Any]:
    """Blank-line separated 項; lines starting with ・ become 号 of the paragraph above."""
    out: list[Any] = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()):
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        body = [line for line in lines if not line.startswith("・")]
        items = [line[1:].strip() for line in lines if line.startswith("・")]
        paragraph_text = "".join(body)
        if not paragraph_text and not items:
            continue
        out.append({"text": paragraph_text, "items": items} if items else paragraph_text)
    return out


def paragraphs_to_text(paragraphs: list[Any]) -> str:
    blocks = []
    for p in paragraphs:
        if isinstance(p, str):
            blocks.append(p)
        else:
            blocks.append("\n".join([p.get("text", "")] + [f"・{i}" for i in p.get("items", [])]))
    return "\n\n".join(blocks)


class IssueAnnexForm(FlaskForm):
    memorandum = BooleanField(
        "覚書として記名押印欄を付ける", description="契約書に添付せず、単独の覚書として取り交わす場合に選びます。"
    )


class ScoreField(StringField):
    """A 0–100 score typed as text: full-width digits are accepted (NFKC); what was typed is kept."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.raw = valuelist[0] if valuelist else ""
        self.data = None
        text = unicodedata.normalize("NFKC", self.raw or "").strip()
        if not text:
            return
        try:
            value = float(text)
        except ValueError:
            raise ValueError("0から100までの数で入力してください（例：80）。") from None
        if not 0 <= value <= 100:
            raise ValueError("0から100までの数で入力してください（例：80）。")
        self.data = value

    def _value(self) -> str:
        if getattr(self, "raw", None) is not None:
            return self.raw
        return "" if self.data is None else f"{self.data:g}"


class ThresholdsForm(FlaskForm):
    """適合／条件付適合の下限点、固有リスクごと。"""

    high_pass = ScoreField("固有リスク「高」：適合の下限点", validators=[InputRequired("点数を入力してください。")])
    high_conditional = ScoreField(
        "固有リスク「高」：条件付適合の下限点", validators=[InputRequired("点数を入力してください。")]
    )
    medium_pass = ScoreField("固有リスク「中」：適合の下限点", validators=[InputRequired("点数を入力してください。")])
    medium_conditional = ScoreField(
        "固有リスク「中」：条件付適合の下限点", validators=[InputRequired("点数を入力してください。")]
    )
    low_pass = ScoreField("固有リスク「低」：適合の下限点", validators=[InputRequired("点数を入力してください。")])
    low_conditional = ScoreField(
        "固有リスク「低」：条件付適合の下限点", validators=[InputRequired("点数を入力してください。")]
    )

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        for level in RISK_LEVELS:
            label = RISK_LABELS[level]
            passing, conditional = self[f"{level}_pass"], self[f"{level}_conditional"]
            if passing.data is not None and conditional.data is not None and conditional.data > passing.data:
                conditional.errors = list(conditional.errors) + [
                    f"固有リスク「{label}」の条件付適合の下限点は、適合の下限点以下にしてください。"
                ]
                ok = False
        return ok

    def thresholds(self) -> dict[str, dict[str, float]]:
        return {
            level: {"pass": self[f"{level}_pass"].data, "conditional": self[f"{level}_conditional"].data}
            for level in RISK_LEVELS
        }

    @classmethod
    def initial(cls, thresholds: dict[str, dict[str, float]]) -> dict[str, float]:
        return {f"{level}_{key}": thresholds[level][key] for level in RISK_LEVELS for key in ("pass", "conditional")}
