"""`vendorrisk worker` (an RQ worker), `vendorrisk jobs list|retry`, `vendorrisk annex issue-all` and
`vendorrisk reminders send`."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

jobs_cli = AppGroup("jobs", help="バックグラウンドの処理（メール送信・特記事項の一括作成）")


@click.command("worker")
@click.option("--burst", is_flag=True, help="待ち行列が空になったら終わる（テスト・cron 用）")
@with_appcontext
def worker_command(burst: bool) -> None:
    """RQ のワーカーを動かす（REDIS_URL が必要）。"""
    from redis import Redis
    from rq import Queue, Worker

    from .services.jobs import queue_name

    url = current_app.config.get("REDIS_URL")
    if not url:
        raise click.ClickException("REDIS_URL が設定されていません。設定しない場合、処理はその場で実行されます。")
    connection = Redis.from_url(url)
    worker = Worker([Queue(queue_name(), connection=connection)], connection=connection)
    worker.work(burst=burst, with_scheduler=True)


@jobs_cli.command("list")
@click.option("--org", "org_slug", default=None)
@click.option("--state", default=None, type=click.Choice(["queued", "running", "retrying", "done", "failed"]))
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def jobs_list(org_slug: str | None, state: str | None, as_json: bool) -> None:
    """処理の一覧（新しい順）。"""
    from .extensions import db
    from .models import JobRun, Organisation

    query = select(JobRun).order_by(JobRun.id.desc()).limit(200)
    if org_slug:
        org = db.session.scalar(select(Organisation).filter_by(slug=org_slug))
        if org is None:
            raise click.ClickException(f"団体「{org_slug}」はありません。")
        query = query.where(JobRun.organisation_id == org.id)
    if state:
        query = query.where(JobRun.state == state)
    rows = [{"id": r.id, "name": r.name, "key": r.key, "state": r.state, "attempts": r.attempts,
             "error": (r.last_error or "").strip().splitlines()[-1:] or None} for r in db.session.scalars(query)]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    for row in rows:
        click.echo(f"{row['id']}\t{row['state']}\t{row['attempts']}\t{row['name']}\t{row['key']}")


@jobs_cli.command("retry")
@click.argument("run_id", type=int)
@with_appcontext
def jobs_retry(run_id: int) -> None:
    """失敗した処理をもう一度実行する。"""
    from .extensions import db
    from .models import JobRun
    from .services import jobs
    from .services.unit_of_work import unit_of_work

    run = db.session.get(JobRun, run_id)
    if run is None:
        raise click.ClickException(f"処理 {run_id} はありません。")
    with unit_of_work():
        jobs.retry(run)
    click.echo(f"queued: {run_id}")


@click.command("issue-all")
@click.option("--org", "org_slug", required=True)
@click.option("--date", "issued", default=None, help="作成日（YYYY-MM-DD、省略時は今日）")
@with_appcontext
def annex_issue_all(org_slug: str, issued: str | None) -> None:
    """承認済みの案件すべての特記事項を作成する（REDIS_URL があればワーカーで）。"""
    from .extensions import db
    from .models import Organisation
    from .services import jobs
    from .services.unit_of_work import unit_of_work

    org = db.session.scalar(select(Organisation).filter_by(slug=org_slug))
    if org is None:
        raise click.ClickException(f"団体「{org_slug}」はありません。")
    try:
        issued_on = dt.date.fromisoformat(issued) if issued else dt.date.today()
    except ValueError as exc:
        raise click.ClickException("作成日は YYYY-MM-DD で指定してください。") from exc
    with unit_of_work():
        runs = jobs.enqueue_bulk_annexes(org.id, None, issued_on)
    click.echo(f"queued: {len(runs)} annex jobs for {org.slug}")


reminders_cli = AppGroup("reminders", help="回答期限のお知らせと職員への通知")


@reminders_cli.command("send")
@click.option("--org", "org_slug", default=None, help="この団体だけ（省略時はすべての団体）")
@with_appcontext
def reminders_send(org_slug: str | None) -> None:
    """期限の前後のお知らせ・提出・判定待ち・是正期限の通知を送る（何度実行しても同じメールは1回だけ）。

    cron から毎時実行できます。REDIS_URL があればワーカーが送り、なければその場で送ります。"""
    from sqlalchemy import func

    from .extensions import db
    from .models import JobRun, MailLog, Organisation
    from .services import jobs
    from .services.unit_of_work import unit_of_work

    query = select(Organisation).order_by(Organisation.id)
    if org_slug:
        query = query.filter_by(slug=org_slug)
    orgs = [(o.id, o.slug) for o in db.session.scalars(query)]
    if org_slug and not orgs:
        raise click.ClickException(f"団体「{org_slug}」はありません。")
    def count(column: Any, *where: Any) -> int:
        return int(db.session.scalar(select(func.count(column)).where(*where)) or 0)

    mails, runs = count(MailLog.id), count(JobRun.id, JobRun.name == "reminders.send")
    for org_id, _slug in orgs:
        try:
            with unit_of_work():
                jobs.enqueue_reminders(org_id)
        except IntegrityError:
            continue  # another run queued this organisation's job for this hour at the same moment
    queued = count(JobRun.id, JobRun.name == "reminders.send") - runs
    after = count(MailLog.id)
    before = mails
    if current_app.config.get("REDIS_URL"):
        click.echo(f"queued: {queued} reminder jobs (the worker sends the mails)")
    else:
        click.echo(f"sent: {after - before} mails ({len(orgs)} organisations)")


@click.command("rerender")
@click.option("--org", "org_slug", required=True)
@click.option("--tag", default=None, help="同じ作り直しを二度しないための名前（省略時は今日の日付）")
@with_appcontext
def annex_rerender(org_slug: str, tag: str | None) -> None:
    """団体の特記事項の最新版を、いまの書体・様式で作り直す（締結済みの版はそのまま）。"""
    from .domain.vocabulary import JST
    from .extensions import db
    from .models import Organisation, utcnow
    from .services import jobs

    org = db.session.scalar(select(Organisation).filter_by(slug=org_slug))
    if org is None:
        raise click.ClickException(f"団体「{org_slug}」はありません。")
    runs = jobs.enqueue_rerender(org.id, tag or utcnow().astimezone(JST).date().isoformat())
    db.session.commit()
    jobs.dispatch_pending()
    click.echo(f"queued: {len(runs)} annex re-render jobs for {org.slug}")
