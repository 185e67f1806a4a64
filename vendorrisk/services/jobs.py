"""Background jobs: on RQ with Redis when `REDIS_URL` is set, inline otherwise.

The units of work (`web.unit_of_work` per request, `services.unit_of_work.unit_of_work()` for the
CLI) call `dispatch_pending()` right after their commit.

A job is a registered function taking a JSON payload. `enqueue()` records a `JobRun` row in the
caller's transaction (so a job exists exactly when the work that asked for it committed) and queues
its id for dispatch; `dispatch_pending()` runs after the commit and hands each id to RQ (or runs it at
once, inline). The row is the job's identity: its `key` is unique, so asking twice for the same work
(the same mail, the same annex) gives one job, and a job already done is never run again. RQ retries a
failed job with backoff; every attempt and the last error are kept on the row for the admin page.
"""

from __future__ import annotations

import datetime as dt
import traceback
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select

from ..domain.vocabulary import ANNEX_STATES
from ..extensions import db
from ..models import JobRun, utcnow

QUEUE_NAME = "vendorrisk"  # config JOB_QUEUE overrides it (one queue per deployment)
RETRY_INTERVALS = (10, 60, 300)  # seconds between attempts on RQ; config JOB_RETRY_INTERVALS overrides
_PENDING_KEY = "vendorrisk.pending_jobs"

JOBS: dict[str, Callable[[dict[str, Any]], None]] = {}
JOB_LABELS: dict[str, str] = {}


def job(name: str, label: str) -> Callable[[Callable[[dict[str, Any]], None]], Callable[[dict[str, Any]], None]]:
    """Register a job function under a stable name (the name is stored with each run)."""

    def register(func: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
        JOBS[name] = func
        JOB_LABELS[name] = label
        return func

    return register


def enqueue(name: str, payload: dict[str, Any], *, key: str, organisation_id: int | None = None) -> JobRun:
    """Record the job in the current transaction; it is dispatched by `dispatch_pending()` after commit."""
    if name not in JOBS:
        raise KeyError(f"unknown job {name!r}")
    run = db.session.scalar(select(JobRun).filter_by(key=key))
    if run is not None:
        return run  # the same work asked for again: one job
    run = JobRun(key=key, name=name, payload=payload, organisation_id=organisation_id, state="queued")
    db.session.add(run)
    db.session.flush()
    _remember(run.id)
    return run


def _remember(run_id: int) -> None:
    from .unit_of_work import after_rollback

    pending = db.session.info.setdefault(_PENDING_KEY, [])
    if not pending:
        after_rollback(discard_pending)  # the rows are gone with the rollback: so are their dispatches
    pending.append(run_id)


def discard_pending() -> None:
    """After a rollback: the rows are gone, so are their dispatches."""
    db.session.info.pop(_PENDING_KEY, None)


def dispatch_pending() -> list[int]:
    """Hand the jobs recorded by the committed transaction to the queue (or run them inline)."""
    ids: list[int] = db.session.info.pop(_PENDING_KEY, [])
    url = current_app.config.get("REDIS_URL")
    for run_id in ids:
        if url:
            _rq_enqueue(url, run_id)
            continue
        try:
            run_job(run_id)
        except Exception:  # noqa: BLE001 - recorded on the row; the request that asked has committed
            continue
    return ids


def queue_name() -> str:
    return str(current_app.config.get("JOB_QUEUE") or QUEUE_NAME)


def _rq_enqueue(url: str, run_id: int) -> None:
    from redis import Redis
    from rq import Queue, Retry

    intervals = list(current_app.config.get("JOB_RETRY_INTERVALS") or RETRY_INTERVALS)
    queue = Queue(queue_name(), connection=Redis.from_url(url))
    queue.enqueue(
        "vendorrisk.services.jobs.run_job_in_worker", run_id, job_id=f"{queue_name()}-run-{run_id}",
        retry=Retry(max=len(intervals), interval=intervals),
        job_timeout=int(current_app.config.get("JOB_TIMEOUT", 300)),
        failure_ttl=7 * 24 * 3600,
    )


def _record(run_id: int, **fields: Any) -> None:
    run = db.session.get(JobRun, run_id)
    if run is not None:
        for name, value in fields.items():
            setattr(run, name, value)
        db.session.commit()


def run_job(run_id: int, *, final_attempt: bool = True) -> bool:
    """Run one recorded job in the current app context. True when it is done (now or before).

    The job's own writes and its `done` mark commit together; on failure they roll back and the
    error is recorded. Inline runs have one attempt (the admin page offers 再実行)."""
    run = db.session.get(JobRun, run_id)
    if run is None or run.state == "done":
        return run is not None
    run.state, run.attempts, run.started_at = "running", run.attempts + 1, utcnow()
    name, payload = run.name, dict(run.payload or {})
    db.session.commit()
    try:
        JOBS[name](payload)
        run = db.session.get(JobRun, run_id)
        assert run is not None
        run.state, run.finished_at, run.last_error = "done", utcnow(), None
        db.session.commit()
        return True
    except Exception:
        db.session.rollback()
        error = traceback.format_exc(limit=5)[-4000:]
        current_app.logger.warning("job %s (%s) failed: %s", run_id, name, error.strip().splitlines()[-1])
        _record(run_id, state="failed" if final_attempt else "retrying", last_error=error, finished_at=utcnow())
        raise


_WORKER_APP: Flask | None = None


def _worker_app() -> Flask:
    global _WORKER_APP
    if _WORKER_APP is None:
        from ..app import create_app

        _WORKER_APP = create_app()
    return _WORKER_APP


def run_job_in_worker(run_id: int) -> bool:
    """RQ's entry point: the worker builds the app once and runs the job in its context."""
    from rq import get_current_job

    current = get_current_job()
    final = current is None or not current.retries_left
    with _worker_app().app_context():
        try:
            return run_job(run_id, final_attempt=final)
        finally:
            db.session.remove()


def retry(run: JobRun) -> None:
    """Queue a failed job again (the admin page's 再実行); dispatched after commit."""
    if run.state not in ("failed", "retrying"):
        return
    run.state = "queued"
    _remember(run.id)


def recent_runs(organisation_id: int | None, *, limit: int = 100, state: str | None = None) -> list[JobRun]:
    query = select(JobRun).where(JobRun.organisation_id == organisation_id)
    if state:
        query = query.where(JobRun.state == state)
    return list(db.session.scalars(query.order_by(JobRun.id.desc()).limit(limit)))


def queue_status() -> dict[str, Any]:
    """What the queue holds (for the admin page); inline mode has no queue."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return {"mode": "inline"}
    from redis import Redis
    from redis.exceptions import RedisError
    from rq import Queue

    try:
        queue = Queue(queue_name(), connection=Redis.from_url(url, socket_timeout=2))
        return {"mode": "rq", "queued": queue.count, "failed": queue.failed_job_registry.count}
    except RedisError as exc:
        return {"mode": "rq", "error": str(exc)}


# --- the jobs -------------------------------------------------------------------------------


@job("mail.deliver", "メール送信")
def _deliver_mail(payload: dict[str, Any]) -> None:
    from ..adapters.mail import OutgoingMail, deliver
    from ..models import MailLog

    result = deliver(OutgoingMail(to=payload["to"], subject=payload["subject"], body=payload["body"],
                                  sender=payload.get("sender") or ""), current_app.config)
    if current_app.config.get("MAIL_SERVER") and not result.smtp_sent:
        # The .eml is in the outbox; raising lets RQ retry the SMTP delivery with backoff.
        raise RuntimeError(f"SMTP delivery failed: {result.smtp_error}")
    log = db.session.get(MailLog, payload["log_id"]) if payload.get("log_id") else None
    if log is not None:
        log.sent_at = utcnow()  # committed with the job's done mark


def enqueue_mail(to: str, subject: str, body: str, *, key: str, organisation_id: int | None = None,
                 sender: str = "", log_id: int | None = None) -> JobRun:
    payload: dict[str, Any] = {"to": to, "subject": subject, "body": body}
    if sender:
        payload["sender"] = sender
    if log_id is not None:
        payload["log_id"] = log_id
    return enqueue("mail.deliver", payload, key=key, organisation_id=organisation_id)


@job("reminders.send", "回答期限のお知らせ・職員への通知")
def _send_reminders(payload: dict[str, Any]) -> None:
    from .reminders import send_for_organisation

    as_of = dt.datetime.fromisoformat(payload["as_of"]) if payload.get("as_of") else None
    send_for_organisation(int(payload["organisation_id"]), as_of)


def enqueue_reminders(organisation_id: int, now: dt.datetime | None = None) -> JobRun:
    """One reminders job per organisation and hour (cron may run every hour; each mail is sent once
    whatever runs, by its key in mail_log). The job sends what is due as of the hour it was asked for."""
    from ..domain.vocabulary import JST

    now = now or utcnow()
    hour = now.astimezone(JST).strftime("%Y-%m-%dT%H")
    return enqueue("reminders.send", {"organisation_id": organisation_id, "as_of": now.isoformat()},
                   key=f"reminders.send:{organisation_id}:{hour}", organisation_id=organisation_id)


@job("annex.issue", "特記事項の作成")
def _issue_annex(payload: dict[str, Any]) -> None:
    from ..models import Engagement, User
    from .annexes import issue_annex

    engagement = db.session.get(Engagement, payload["engagement_id"])
    if engagement is None or engagement.state not in ANNEX_STATES:
        return  # nothing to issue (any more): done, not failed
    user = db.session.get(User, payload["user_id"]) if payload.get("user_id") else None
    issued_on = dt.date.fromisoformat(payload["issued_on"]) if payload.get("issued_on") else None
    issue_annex(engagement, user, issued_on=issued_on)


def enqueue_bulk_annexes(organisation_id: int, user_id: int | None, issued_on: dt.date) -> list[JobRun]:
    """One job per approved engagement of the organisation (a year's renewals at once)."""
    from ..models import Engagement

    engagements = db.session.scalars(
        select(Engagement).where(Engagement.organisation_id == organisation_id, Engagement.state.in_(ANNEX_STATES))
        .order_by(Engagement.id)
    )
    return [
        enqueue("annex.issue", {"engagement_id": e.id, "user_id": user_id, "issued_on": issued_on.isoformat()},
                key=f"annex.issue:{e.id}:{issued_on.isoformat()}", organisation_id=organisation_id)
        for e in engagements
    ]


@job("annex.rerender", "特記事項の作り直し（書体・様式の変更後）")
def _rerender_annex(payload: dict[str, Any]) -> None:
    from ..models import Engagement
    from .annexes import rerender

    engagement = db.session.get(Engagement, payload["engagement_id"])
    if engagement is not None:
        rerender(engagement)  # None (no annex, or signed): nothing to do, done


def enqueue_rerender(organisation_id: int, tag: str) -> list[JobRun]:
    """One job per engagement of the organisation with an annex; `tag` (e.g. the date or the name of
    the change) makes the same request twice one set of jobs."""
    from ..models import Annex, Engagement

    engagement_ids = db.session.scalars(
        select(Engagement.id).where(Engagement.organisation_id == organisation_id,
                                    Engagement.id.in_(select(Annex.engagement_id))).order_by(Engagement.id)
    )
    return [enqueue("annex.rerender", {"engagement_id": eid}, key=f"annex.rerender:{eid}:{tag}"[:200],
                    organisation_id=organisation_id) for eid in engagement_ids]
