"""Admin: the organisation's background jobs (mail, bulk annex issue), their failures, 再実行."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..models import JobRun
from ..services import jobs
from .auth import roles_required
from .forms import EmptyForm

bp = Blueprint("jobs_admin", __name__, url_prefix="/admin/jobs")

STATE_LABELS = {"queued": "待機中", "running": "実行中", "retrying": "再試行待ち", "done": "完了", "failed": "失敗"}


@bp.route("/")
@roles_required("admin")
def index() -> Any:
    state = request.args.get("state")
    if state not in STATE_LABELS:
        state = None
    runs = jobs.recent_runs(current_user.organisation_id, state=state)
    return render_template("admin/jobs.html", runs=runs, state=state, state_labels=STATE_LABELS,
                           job_labels=jobs.JOB_LABELS, queue=jobs.queue_status(), form=EmptyForm())


@bp.route("/<int:run_id>/retry", methods=["POST"])
@roles_required("admin")
def retry(run_id: int) -> Any:
    run = db.one_or_404(select(JobRun).filter_by(id=run_id, organisation_id=current_user.organisation_id))
    if not EmptyForm().validate_on_submit():
        abort(400)
    jobs.retry(run)  # queued again once the request's unit of work commits
    flash("処理をもう一度実行するよう登録しました。", "success")
    return redirect(url_for("jobs_admin.index"))
