"""Forms of the review loop: the decision (with 是正事項), clarification, overrides, 決裁, 是正報告."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from ..domain.vocabulary import DECISION_LABELS, DECISIONS, EVALUATION_LABELS, EVALUATIONS
from ..services.clarifications import MAX_MESSAGE
from ..services.clarifications import MAX_OPEN_DAYS as MAX_CLARIFY_DAYS
from ..services.review import MAX_OPEN_DAYS, RemediationDraft
from .forms import opts, strip

REASON_MAX = 2000


class RemediationRow(Form):
    """One 是正事項 of a 条件付承認 (a finding, or a blank row the reviewer fills in)."""

    use = BooleanField("是正事項にする")
    question_id = HiddenField()
    title = HiddenField()
    obligation = TextAreaField(
        "是正事項（事業者の義務として）", filters=[strip],
        description="「…を整備すること」のように、事業者が行うことを書いてください。",
        validators=[Length(max=REASON_MAX, message=f"是正事項は{REASON_MAX}文字以内で入力してください。")],
    )
    open_days = IntegerField(
        "期限（開庁日数）", description="判定が確定した日の翌開庁日から数えます（土日祝日・年末年始・閉庁日を除く）。",
        validators=[Optional(), NumberRange(1, MAX_OPEN_DAYS, f"期限は1〜{MAX_OPEN_DAYS}開庁日で入力してください。")],
    )


class DecisionForm(FlaskForm):
    decision = RadioField(
        "判定", choices=opts([(d, DECISION_LABELS[d]) for d in DECISIONS]),
        validators=[DataRequired("判定を選んでください。")],
    )
    note = TextAreaField(
        "判定の理由", filters=[strip],
        description="事業者と決裁者が読みます。差戻し・不承認のときは、何が足りないかを具体的に書いてください。",
        validators=[DataRequired("判定の理由を入力してください。"),
                    Length(max=REASON_MAX, message=f"判定の理由は{REASON_MAX}文字以内で入力してください。")],
    )
    remediations = FieldList(FormField(RemediationRow), min_entries=1)

    def validate_remediations(self, field: Field) -> None:
        if self.decision.data != "conditional":
            return
        chosen = [row for row in field.entries if row.form.use.data]
        if not chosen:
            raise ValidationError("条件付承認では、是正事項を1件以上選んで（チェックして）ください。")
        for row in chosen:
            if not row.form.obligation.data:
                row.form.obligation.errors = [*row.form.obligation.errors, "是正事項の内容を入力してください。"]
            if row.form.open_days.data is None:
                row.form.open_days.errors = [*row.form.open_days.errors, "期限を開庁日数で入力してください。"]
        if any(row.form.obligation.errors or row.form.open_days.errors for row in chosen):
            raise ValidationError("是正事項の内容と期限を確認してください。")

    def drafts(self) -> list[RemediationDraft]:
        if self.decision.data != "conditional":
            return []
        return [
            RemediationDraft(
                obligation=row.form.obligation.data or "", open_days=int(row.form.open_days.data or 0),
                question_id=(row.form.question_id.data or "")[:120], title=(row.form.title.data or "")[:500],
            )
            for row in self.remediations.entries if row.form.use.data
        ]


def decision_form(findings: list[dict[str, Any]], obligations: dict[str, str], formdata: Any = None) -> DecisionForm:
    """The decision form with one 是正事項 row per finding (filled from the bank's obligation wording and
    deadline), and one blank row for a 是正事項 of the reviewer's own."""
    rows = [
        {"use": True, "question_id": f.get("question_id", ""), "title": f.get("question_text", ""),
         "obligation": obligations.get(f.get("question_id", ""), "") or f.get("remediation", ""),
         "open_days": f.get("deadline_days") or 20}
        for f in findings
    ] + [{"use": False, "question_id": "", "title": "", "obligation": "", "open_days": 20}]
    if formdata is not None:
        return DecisionForm(formdata=formdata)
    form = DecisionForm(data={"remediations": rows})
    return form


class ClarifyRow(Form):
    question_id = HiddenField()
    ask = BooleanField("この設問について確認する")
    message = TextAreaField(
        "足りない点・確認したいこと", filters=[strip],
        validators=[Length(max=MAX_MESSAGE, message=f"{MAX_MESSAGE}文字以内で入力してください。")],
    )


class ClarifyForm(FlaskForm):
    rows = FieldList(FormField(ClarifyRow), min_entries=0)
    open_days = IntegerField(
        "回答期限（開庁日数）", default=5,
        description="今日の翌開庁日から数えます。メールに期限の日付を書いてお知らせします。",
        validators=[InputRequired("回答期限を開庁日数で入力してください。"),
                    NumberRange(1, MAX_CLARIFY_DAYS, f"回答期限は1〜{MAX_CLARIFY_DAYS}開庁日で入力してください。")],
    )

    def validate_rows(self, field: Field) -> None:
        chosen = [row for row in field.entries if row.form.ask.data]
        if not chosen:
            raise ValidationError("確認したい設問を1つ以上選んでください。")
        for row in chosen:
            if not row.form.message.data:
                row.form.message.errors = [*row.form.message.errors, "足りない点・確認したいことを入力してください。"]
        if any(row.form.message.errors for row in chosen):
            raise ValidationError("選んだ設問ごとに、足りない点を書いてください。")

    def questions(self) -> dict[str, str]:
        return {row.form.question_id.data: row.form.message.data or ""
                for row in self.rows.entries if row.form.ask.data and row.form.question_id.data}


def clarify_form(question_ids: list[str], formdata: Any = None) -> ClarifyForm:
    if formdata is not None:
        return ClarifyForm(formdata=formdata)
    return ClarifyForm(data={"rows": [{"question_id": qid, "ask": False, "message": ""} for qid in question_ids],
                             "open_days": 5})


class OverrideForm(FlaskForm):
    question_id = SelectField("設問", validators=[DataRequired("評価を変える設問を選んでください。")])
    evaluation = RadioField("審査担当の評価", choices=opts([(e, EVALUATION_LABELS[e]) for e in EVALUATIONS]),
                            validators=[DataRequired("評価を選んでください。")])
    reason = TextAreaField(
        "理由", filters=[strip], description="自動評価と並べて表示されます。",
        validators=[DataRequired("評価を変える理由を入力してください。"),
                    Length(max=REASON_MAX, message=f"理由は{REASON_MAX}文字以内で入力してください。")],
    )


class ApprovalForm(FlaskForm):
    action = RadioField("決裁", choices=opts([("approve", "承認する"), ("return", "起案者に差し戻す")]),
                        validators=[DataRequired("承認するか差し戻すかを選んでください。")])
    note = TextAreaField(
        "意見", filters=[strip], description="差し戻すときは、その理由を書いてください。",
        validators=[Length(max=REASON_MAX, message=f"意見は{REASON_MAX}文字以内で入力してください。")],
    )

    def validate_note(self, field: Field) -> None:
        if self.action.data == "return" and not field.data:
            raise ValidationError("差し戻す理由を入力してください。")


class RemediationReviewForm(FlaskForm):
    outcome = RadioField("是正報告の確認", choices=opts([("close", "是正を確認し、完了にする"),
                                                          ("reopen", "まだ足りない（再対応を求める）")]),
                         validators=[DataRequired("完了にするか、再対応を求めるかを選んでください。")])
    note = TextAreaField(
        "コメント", filters=[strip],
        validators=[Length(max=REASON_MAX, message=f"コメントは{REASON_MAX}文字以内で入力してください。")],
    )

    def validate_note(self, field: Field) -> None:
        if self.outcome.data == "reopen" and not field.data:
            raise ValidationError("まだ足りない点を入力してください。")


class RemediationReportForm(FlaskForm):
    report = TextAreaField(
        "是正報告（行った対応）", filters=[strip],
        description="行った対応と、その結果を確認できる資料（規程名・実施日など）を書いてください。",
        validators=[DataRequired("行った対応を入力してください。"),
                    Length(max=4000, message="是正報告は4000文字以内で入力してください。")],
    )


class ApprovalRouteForm(FlaskForm):
    review = SelectField("審査（起案の次）", description="なしにすると、この段階はありません。")
    approve = SelectField("承認（最後の決裁）", description="なしにすると、この段階はありません。")
