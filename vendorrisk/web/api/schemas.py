"""Request and response bodies of the JSON API, as pydantic models: they validate what comes in and
describe, in the OpenAPI document, what goes out (one definition for both)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Generic, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator, model_validator

from ...domain import corporate_number
from ...domain.vocabulary import ENGAGEMENT_STATES, KINDS, clean_text

Text = Annotated[str, StringConstraints(strip_whitespace=True)]
Kind = Literal["outsourcing", "cloud", "social_media"]
assert set(KINDS) == {"outsourcing", "cloud", "social_media"}  # keep Kind in step with the vocabulary
Segment = Literal["individual_number", "lgwan", "internet"]
EngagementState = Literal["draft", "invited", "submitted", "clarification", "in_approval", "approved", "conditional",
                          "rejected", "declined"]
assert set(get_args(EngagementState)) == set(ENGAGEMENT_STATES)  # keep in step with the vocabulary


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _clean_text(cls, value: Any) -> Any:
        """The same cleaning as every web form (`domain.vocabulary.clean_text`), strings in lists too."""
        if isinstance(value, str):
            return clean_text(value)
        if isinstance(value, list):
            return [clean_text(v) if isinstance(v, str) else v for v in value]
        return value


class VendorIn(_In):
    name: Annotated[Text, Field(min_length=1, max_length=200, description="事業者名")]
    corporate_number: Annotated[str | None, Field(default=None, max_length=40,
                                                  description="法人番号（13桁、検査用数字を確認）")] = None
    address: Annotated[Text, Field(max_length=300)] = ""
    representative: Annotated[Text, Field(max_length=200)] = ""
    contact_email: EmailStr | None = None

    @field_validator("corporate_number")
    @classmethod
    def _valid_corporate_number(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return corporate_number.validate(value)


class VendorOut(BaseModel):
    id: int
    name: str
    corporate_number: str | None
    address: str
    representative: str
    contact_email: str
    created_at: dt.datetime


class EngagementIn(_In):
    vendor_id: Annotated[int, Field(ge=1, le=2**31 - 1)]
    reference: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]*$",
                                    description="案件番号（団体内で重複しない）")]
    title: Annotated[Text, Field(min_length=1, max_length=200)]
    kinds: Annotated[list[Kind], Field(min_length=1, max_length=3)]
    confidentiality: Annotated[int, Field(ge=1, le=3)] = 2
    integrity: Annotated[int, Field(ge=1, le=2)] = 1
    availability: Annotated[int, Field(ge=1, le=2)] = 1
    personal_data: bool = False
    my_number: bool = False
    network_segment: Segment | None = None
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    officer_ids: Annotated[list[Annotated[int, Field(ge=1, le=2**31 - 1)]], Field(max_length=50)] = []

    @field_validator("kinds")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _period(self) -> EngagementIn:
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise ValueError("契約期間（終了）は開始日以降の日付にしてください。")
        return self


class InvitationOut(BaseModel):
    id: int
    state: Literal["open", "submitted", "revoked"]
    recipient_name: str
    recipient_email: str
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    link: str | None = Field(default=None, description="回答用リンク（作成したときの応答にだけ含まれます）")


class AssessmentOut(BaseModel):
    id: int
    score: float
    rating: Literal["pass", "conditional", "fail"]
    inherent_risk: str
    decision: Literal["approved", "conditional", "rejected", "declined"] | None
    decision_note: str
    decided_at: dt.datetime | None
    created_at: dt.datetime
    findings: list[dict[str, Any]]


class EngagementOut(BaseModel):
    id: int
    vendor_id: int
    reference: str
    title: str
    kinds: list[str]
    confidentiality: int
    integrity: int
    availability: int
    personal_data: bool
    my_number: bool
    network_segment: str | None
    period_start: dt.date | None
    period_end: dt.date | None
    state: EngagementState
    state_label: str
    created_at: dt.datetime


class InvitationIn(_In):
    recipient_email: EmailStr
    recipient_name: Annotated[Text, Field(max_length=100)] = ""
    days: Annotated[int | None, Field(ge=1, le=365, description="回答期限までの開庁日の数")] = None


class AnnexOut(BaseModel):
    id: int
    engagement_id: int
    version: int
    document_id: str
    pdf_sha256: str
    answers_sha256: str
    created_at: dt.datetime
    signed: bool = Field(description="締結済みか（締結日と写しが記録されている）")
    signed_on: dt.date | None = Field(None, description="締結日（記録した文書に記載の日付）")
    signed_scan_name: str | None = Field(None, description="締結した文書の写し（PDF又は画像）のファイル名")
    signed_scan_mimetype: str | None = Field(None, description="写しの形式（application/pdf、image/png 等）")


class AuditEventOut(BaseModel):
    id: int
    at: dt.datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    data: dict[str, Any]


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[dict[str, Any]] | None = None


class ErrorOut(BaseModel):
    error: ErrorBody


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    page: int
    per_page: int
    total: int
