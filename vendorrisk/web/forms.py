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
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from ..domain import corporate_number
from ..domain.vocabulary import (
    DEFAULT_GUIDELINE_EDITION,
    GUIDELINE_EDITION_MAX,
    KIND_LABELS,
    RISK_LABELS,
    RISK_LEVELS,
    ROLE_LABELS,
)
from ..domain.wareki import parse_date
from ..models import OFFICER_ROLES
from ..services import engagements, organisations, users, vendors

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


class CountField(StringField):
    """A whole number typed as text (full-width digits accepted); keeps what was typed on error."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.raw = nfkc_strip(valuelist[0]) if valuelist else ""
        self.data = None
        if self.raw:
            if not self.raw.isdecimal() or len(self.raw) > 6:
                raise ValueError("数字で入力してください（例：10）。")
            self.data = int(self.raw)

    def _value(self) -> str:
        if getattr(self, "raw", None) is not None:
            return str(self.raw)
        return "" if self.data is None else str(self.data)


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

    def __init__(self, *args: Any, organisation_id: int, vendor_id: int | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.organisation_id = organisation_id
        self.editing_id = vendor_id  # correcting this vendor: its own 法人番号 is not "taken"

    def validate_corporate_number(self, field: Field) -> None:
        if field.data and vendors.corporate_number_taken(self.organisation_id, field.data,
                                                          except_id=self.editing_id):
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
    review_on = JapaneseDateField(
        "次回の再評価日", validators=[Optional()],
        description="例：2027-04-01 または 令和9年4月1日。空欄のときは、審査で承認した日の1年後になります。",
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
        if self.vendor.archived_at is not None:
            raise ValidationError("この事業者はアーカイブされています。事業者一覧で元に戻してから選んでください。")

    editing_id: int | None = None  # correcting this engagement: its own 案件番号 is not "taken"

    def validate_reference(self, field: Field) -> None:
        if engagements.reference_taken(self.organisation_id, field.data, except_id=self.editing_id):
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
            "review_on": self.review_on.data,
        }


class EngagementEditForm(EngagementForm):
    """Correcting an engagement: the same fields and checks as registering one (the vendor stays), and
    the reason, required when what the questionnaire depends on changes after an invitation was sent."""

    vendor_id = None  # the vendor is not changed here (WTForms: None removes the field)
    reason = TextAreaField(
        "変更の理由",
        filters=[strip],
        validators=[Length(max=1000, message="変更の理由は1000文字以内で入力してください。")],
        description="回答依頼を送った後に、種別・機密性などの情報の分類や個人情報の取扱いを変える場合は必須です"
                    "（監査記録に残ります）。",
        render_kw={"rows": 3},
    )

    def __init__(self, *args: Any, organisation_id: int, engagement_id: int, **kwargs: Any):
        super().__init__(*args, organisation_id=organisation_id, **kwargs)
        self.editing_id = engagement_id


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
    due_date = JapaneseDateField(
        "回答期限の日",
        description="例：令和8年12月15日、2026-12-15。閉庁日は選べません。空欄の場合は、下の開庁日の数から計算します。",
    )
    open_days = CountField(
        "回答期限までの開庁日の数",
        validators=[Optional(),
                    NumberRange(min=1, max=250, message="開庁日の数は1から250までの数字で入力してください。")],
        description="土日・祝日・年末年始（12月29日〜1月3日）・本団体の閉庁日を除いて数えます。",
    )
    contact_department = StringField(
        "問い合わせ先の担当課",
        filters=[strip],
        validators=[Length(max=200, message="担当課は200文字以内で入力してください。")],
        description="回答画面とメールに、あなたの氏名・メールアドレスと並べて表示します（例：総務課 契約係）",
    )
    contact_phone = StringField(
        "問い合わせ先の電話番号",
        filters=[nfkc_strip],
        validators=[Optional(), Regexp(r"^[0-9()+\- ]{6,20}$",
                                       message="電話番号は数字とハイフンで入力してください（例：0968-75-1111）。")],
    )


class AnswerSheetForm(FlaskForm):
    """A filled-in answer workbook (.xlsx) uploaded on the portal."""

    sheet = FileField(
        "記入した回答用ファイル（.xlsx）",
        validators=[FileRequired("アップロードするファイルを選んでください。"),
                    FileSize(max_size=10 * 1024 * 1024, message="ファイルが大きすぎます（10MBまで）。")],
        description="ダウンロードした回答用ファイルに記入し、Excel形式（.xlsx）のまま保存したものを選んでください。",
    )


class HandoverForm(FlaskForm):
    """The contractor hands the link to a colleague (a second named contact)."""

    delegate_name = StringField(
        "引き継ぐ方の氏名",
        filters=[strip],
        validators=[DataRequired("引き継ぐ方の氏名を入力してください。"),
                    Length(max=100, message="氏名は100文字以内で入力してください。")],
    )
    delegate_email = EmailField(
        "引き継ぐ方のメールアドレス",
        filters=[strip],
        validators=[
            DataRequired("引き継ぐ方のメールアドレスを入力してください。"),
            email_check("メールアドレスの形式で入力してください（例：tanto@example.co.jp）。"),
            Length(max=254, message="メールアドレスは254文字以内で入力してください。"),
        ],
        description="この方に回答のリンクをメールでお送りします。同じ会社の方にだけ引き継いでください。",
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


class AnnexSettingsForm(FlaskForm):
    """甲 as the annex and the 覚書 name it, and how the annex is written (団体設定)."""

    head_title = StringField(
        "団体の長の職名", id="annex-head-title", filters=[nfkc_strip],
        validators=[DataRequired("団体の長の職名を入力してください。"),
                    Length(max=100, message="職名は100文字以内で入力してください。")],
        description="覚書・特記事項の甲の欄に書く職名です。例：玉名市長、龍ヶ崎地方衛生組合管理者",
    )
    head_name = StringField(
        "団体の長の氏名", id="annex-head-name", filters=[strip],
        validators=[Length(max=100, message="氏名は100文字以内で入力してください。")],
        description="覚書の記名押印欄に書きます。覚書を作成するには入力が必要です。",
    )
    address = StringField(
        "甲の所在地", id="annex-address", filters=[strip],
        validators=[Length(max=200, message="所在地は200文字以内で入力してください。")],
        description="庁舎（事務所）の所在地です。覚書の記名押印欄に書きます。覚書を作成するには入力が必要です。"
        "例：熊本県玉名市岩崎163番地",
    )
    heading_style = RadioField(
        "条の見出しの書き方",
        choices=opts([("municipal", "見出しを条の上の行に書く（例：（総則）／第1条　本特記事項は…）"),
                      ("inline", "条番号に続けて見出しを書く（例：第1条（総則））")]),
        validators=[DataRequired("条の見出しの書き方を選んでください。")],
    )
    digit_style = RadioField(
        "数字の書き方",
        choices=opts([("half", "半角数字（第1条、別表1、令和8年4月1日）"),
                      ("full", "全角数字（第１条、別表１、令和８年４月１日）")]),
        validators=[DataRequired("数字の書き方を選んでください。")],
    )
    cloud_low_document = RadioField(
        "機密性2以上の情報を取り扱わない外部サービスの文書",
        choices=opts([("usage_record", "外部サービス利用承認記録（庁内の記録。事業者の利用規約による）"),
                      ("annex", "情報セキュリティに関する特記事項（事業者と取り交わす）")]),
        validators=[DataRequired("文書の種類を選んでください。")],
    )

    def values(self) -> dict[str, str]:
        return {name: self[name].data or "" for name in
                ("head_title", "head_name", "address", "heading_style", "digit_style", "cloud_low_document")}


class GuidelineEditionForm(FlaskForm):
    edition = StringField(
        "ガイドラインの版",
        filters=[strip],
        validators=[Length(max=GUIDELINE_EDITION_MAX,
                           message=f"版は{GUIDELINE_EDITION_MAX}文字以内で入力してください。")],
        description=f"例：{DEFAULT_GUIDELINE_EDITION}。空欄にすると「{DEFAULT_GUIDELINE_EDITION}」になります。",
    )


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


def _count(label: str, low: int, high: int, hint: str) -> CountField:
    return CountField(label, description=hint, validators=[
        InputRequired(f"{label}を入力してください。"),
        NumberRange(min=low, max=high, message=f"{label}は{low}から{high}までの数字で入力してください。"),
    ])


class DeadlineSettingsForm(FlaskForm):
    """回答期限の数え方（開庁日・閉庁日）、お知らせの日、メールの署名と送信元。"""

    open_days = _count("回答期限の標準（開庁日の数）", 1, 250, "回答依頼の画面で期限を選ばなかったときの期限です。")
    remind_before = _count("期限の前のお知らせ（開庁日の数）", 0, 30,
                           "期限の何開庁日前に事業者へお知らせするか。0で送りません。")
    remind_after = _count("期限を過ぎたお知らせ（開庁日の数）", 0, 30,
                          "期限の何開庁日後に事業者へお知らせするか。0で送りません。")
    closure_days = TextAreaField(
        "本団体の閉庁日",
        description="土日・祝日・年末年始（12月29日〜1月3日）のほかに閉庁する日。"
        "1行に1日（例：令和8年8月14日、2026-08-14）。",
        render_kw={"rows": 4},
    )
    department = StringField("担当部署", id="contact-department", filters=[strip],
                             validators=[Length(max=100, message="担当部署は100文字以内で入力してください。")],
                             description="メールの署名に入ります（例：総務部 情報政策課）。")
    phone = StringField("電話番号", id="contact-phone", filters=[nfkc_strip], validators=[
        Length(max=40, message="電話番号は40文字以内で入力してください。"),
        Regexp(r"^[0-9()\-+ 内線]*$", message="電話番号は数字とハイフンで入力してください。")])
    address = StringField("住所", id="contact-address", filters=[strip],
                          validators=[Length(max=200, message="住所は200文字以内で入力してください。")])
    sender = EmailField(
        "メールの送信元アドレス", id="contact-sender", filters=[strip],
        validators=[Optional(), email_check("メールアドレスの形式で入力してください（例：joho@city.example.jp）。")],
        description="空欄の場合は、システムの設定（MAIL_SENDER）のアドレスから送ります。",
    )

    def validate_closure_days(self, field: Field) -> None:
        days, errors = [], []
        for number, line in enumerate((field.data or "").splitlines(), 1):
            text = line.strip()
            if not text:
                continue
            try:
                days.append(parse_date(text))
            except (ValueError, KeyError):
                errors.append(f"{number}行目「{text[:20]}」を日付として読めません。")
        if len(days) > 366:
            errors.append("閉庁日は366日までにしてください。")
        if errors:
            raise ValidationError(" ".join(errors[:5]))
        self.closure_dates = days

    closure_dates: list[dt.date] = []

    def settings(self) -> tuple[Any, Any]:
        from ..services.organisation_settings import Contact, DeadlineSettings

        return (
            DeadlineSettings(open_days=int(self.open_days.data or 1), remind_before=int(self.remind_before.data or 0),
                             remind_after=int(self.remind_after.data or 0), closure_days=tuple(self.closure_dates)),
            Contact(department=self.department.data or "", phone=self.phone.data or "",
                    address=self.address.data or "", sender=self.sender.data or ""),
        )


class MailTemplateForm(FlaskForm):
    """One mail's subject and body; the page's buttons post action=preview or action=save."""

    subject = StringField("件名", validators=[
        DataRequired("件名を入力してください。"), Length(max=200, message="件名は200文字以内で入力してください。")])
    body = TextAreaField("本文", render_kw={"rows": 18}, validators=[
        DataRequired("本文を入力してください。"),
        Length(max=10_000, message="本文は10000文字以内で入力してください。")])
