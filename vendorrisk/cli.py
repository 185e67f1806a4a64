"""The `vendorrisk` command: Flask's (run, shell, routes) plus the project's own groups."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup, with_appcontext
from sqlalchemy import select

from .cli_audit import audit_cli
from .cli_backup import backup_command, restore_command
from .cli_jobs import annex_issue_all, annex_rerender, jobs_cli, reminders_cli, worker_command
from .cli_questionnaires import schema_command
from .domain.vocabulary import ROLES
from .paths import QUESTIONNAIRES_DIR

# Who the audit log names for a command run on the server.
CLI_ACTOR = "cli"

policy_cli = AppGroup("policy", help="情報セキュリティ基本方針の読み込み")
db_cli = AppGroup("db", help="データベース")
engagements_cli = AppGroup("engagements", help="案件")
annex_cli = AppGroup("annex", help="特記事項")
annex_cli.add_command(annex_issue_all)
annex_cli.add_command(annex_rerender)
questionnaires_cli = AppGroup("questionnaires", help="質問票の定義")
questionnaires_cli.add_command(schema_command)
org_cli = AppGroup("org", help="団体（基本方針の取り込み）")
users_cli = AppGroup("users", help="職員の利用者")
evidence_cli = AppGroup("evidence", help="証跡ファイル")


@policy_cli.command("parse", with_appcontext=False)
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="JSONで出力する")
def policy_parse(path: str, as_json: bool) -> None:
    """基本方針のファイルから「業務委託と外部サービス（クラウドサービス）の利用」を読み取る。"""
    from .cli_policy import cmd_policy_parse

    sys.exit(cmd_policy_parse(path, as_json))


@org_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--slug", required=True, help="団体の識別子（英小文字・数字・ハイフン。例：tamana-city）")
@click.option("--head-title", default=None, help="契約書の甲の名義（例：玉名市長）。省略時は名称から作る")
@with_appcontext
def org_import(path: str, slug: str, head_title: str | None) -> None:
    """基本方針のファイルから団体を作る（既にあれば更新する）。"""
    import re

    from .domain.policy import PolicyParseError
    from .services.organisations import SLUG_PATTERN, import_policy_bytes
    from .services.unit_of_work import unit_of_work

    if not re.fullmatch(SLUG_PATTERN, slug):
        raise click.ClickException("識別子は半角英小文字・数字・ハイフンで指定してください（例：tamana-city）。")
    try:
        with unit_of_work():
            org, created = import_policy_bytes(Path(path).read_bytes(), Path(path).name, slug=slug,
                                               head_title=head_title, actor=CLI_ACTOR)
    except PolicyParseError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{'created' if created else 'updated'}: {org.slug} {org.name} {org.clause_number} {org.clause_title}")


@users_cli.command("create")
@click.option("--org", "org_slug", required=True, help="団体の識別子")
@click.option("--email", required=True)
@click.option("--name", required=True, help="氏名")
@click.option("--role", type=click.Choice(list(ROLES)), required=True)
@click.password_option("--password", help="12文字以上", confirmation_prompt=True)
@with_appcontext
def users_create(org_slug: str, email: str, name: str, role: str, password: str) -> None:
    """職員の利用者を作る（最初の管理者を作るときなど）。"""
    from .services.organisations import find_organisation
    from .services.unit_of_work import unit_of_work
    from .services.users import UserRefused, create_user

    org = find_organisation(org_slug)
    if org is None:
        raise click.ClickException(f"団体「{org_slug}」はありません。先に `vendorrisk org import` で作ってください。")
    try:
        with unit_of_work():
            user = create_user(org, email=email, name=name, role=role, password=password, actor=CLI_ACTOR)
    except UserRefused as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"created: {user.email} ({role}) in {org.slug}")


@db_cli.command("upgrade")
@with_appcontext
def db_upgrade() -> None:
    """マイグレーションを最新まで適用する。"""
    from .migrate import repair_data, upgrade

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    upgrade(app)
    for slug in repair_data(app):
        click.echo(f"{slug}: the policy citation now carries its full number")
    click.echo("database is at head")


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
@with_appcontext
def db_revision(message: str) -> None:
    """(開発者向け) モデルから新しいマイグレーションを自動生成する。"""
    from .migrate import revision

    revision(current_app._get_current_object(), message)  # type: ignore[attr-defined]


@evidence_cli.command("sweep")
@click.option("--older-than-minutes", type=click.FloatRange(min=0), default=None,
              help="これより古いものだけを削除する（分。省略時は EVIDENCE_SWEEP_MINUTES）")
@with_appcontext
def evidence_sweep(older_than_minutes: float | None) -> None:
    """どの回答からも参照されていない証跡ファイル（中断で残った一時ファイルなど）を削除する。"""
    from .serving import sweep_evidence

    report = sweep_evidence(current_app._get_current_object(), older_than_minutes)  # type: ignore[attr-defined]
    click.echo(f"removed {len(report.removed)} file(s); kept {report.kept_young} too recent to tell")


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """デモデータ（5団体・利用者・案件）を読み込む。何度実行しても同じ状態になる。"""
    from .demo import DEMO_PASSWORD, load_demo

    users = load_demo()
    click.echo("デモ用ログイン（パスワードはすべて共通）:")
    click.echo(f"  password: {DEMO_PASSWORD}")
    for email, label in users:
        click.echo(f"  {email:45s} {label}")


@engagements_cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSONで出力する")
@click.option("--org", "org_slug", default=None, help="団体の識別子で絞り込む")
@with_appcontext
def engagements_list(as_json: bool, org_slug: str | None) -> None:
    """案件の一覧。"""
    from .extensions import db
    from .models import Engagement, Organisation

    stmt = select(Engagement, Organisation).join(Organisation, Engagement.organisation_id == Organisation.id)
    if org_slug:
        stmt = stmt.where(Organisation.slug == org_slug)
    rows = [
        {"org": org.slug, "organisation": org.name, "reference": e.reference, "title": e.title,
         "kinds": list(e.kinds), "state": e.state, "vendor": e.vendor.name}
        for e, org in db.session.execute(stmt.order_by(Organisation.slug, Engagement.reference))
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for r in rows:
            click.echo(f"{r['org']:24s} {r['reference']:16s} {r['state']:10s} {r['title']}")


@annex_cli.command("render")
@click.option("--org", "org_slug", required=True, help="団体の識別子（例：tamana-city）")
@click.option("--engagement", "reference", required=True, help="案件番号")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="出力ファイル")
@click.option("--format", "fmt", type=click.Choice(["pdf", "docx"]), default="pdf", show_default=True)
@with_appcontext
def annex_render(org_slug: str, reference: str, out: str, fmt: str) -> None:
    """承認済み案件の特記事項を書き出す（PDFは保存された版、なければ作成）。"""
    from .extensions import db
    from .models import Engagement, Organisation, StateError
    from .services import annexes
    from .services.unit_of_work import unit_of_work

    eng = db.session.scalar(
        select(Engagement).join(Organisation, Engagement.organisation_id == Organisation.id)
        .where(Organisation.slug == org_slug, Engagement.reference == reference)
    )
    if eng is None:
        raise click.ClickException(f"団体「{org_slug}」に案件番号「{reference}」の案件はありません。")
    try:
        with unit_of_work():
            annex = annexes.issue_annex(eng)
    except StateError as exc:
        raise click.ClickException(str(exc)) from exc
    if fmt == "pdf":
        data = annex.pdf
    else:
        from .adapters.docx import render_docx
        from .domain.annex import compose_annex

        data = render_docx(compose_annex(annex.snapshot))
    Path(out).write_bytes(data)
    click.echo(f"{out}: {annex.document_id} ({len(data)} bytes)")


@questionnaires_cli.command("check", with_appcontext=False)
@click.option("--dir", "directory", default=str(QUESTIONNAIRES_DIR), show_default=False)
def q_check(directory: str) -> None:
    """質問票の定義ファイルを検証する（エラーがあれば終了コード1）。"""
    from .cli_questionnaires import cmd_check

    sys.exit(cmd_check(Path(directory)))


@questionnaires_cli.command("list", with_appcontext=False)
@click.option("--json", "as_json", is_flag=True)
@click.option("--dir", "directory", default=str(QUESTIONNAIRES_DIR), show_default=False)
def q_list(as_json: bool, directory: str) -> None:
    """質問票の一覧（id・種別・題名・版・設問数）。"""
    from .cli_questionnaires import cmd_list

    sys.exit(cmd_list(Path(directory), as_json))


@questionnaires_cli.command("trace")
@click.option("--org", "org_slug", required=True)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def q_trace(org_slug: str, as_json: bool) -> None:
    """団体の条項に含まれる義務ごとに、対応する設問を示す。"""
    from .cli_questionnaires import cmd_trace
    from .services.organisations import find_organisation

    org = find_organisation(org_slug)
    if org is None:
        raise click.ClickException(f"団体「{org_slug}」はありません。")
    sys.exit(cmd_trace(QUESTIONNAIRES_DIR, list(org.obligations), as_json))


@questionnaires_cli.command("import", with_appcontext=False)
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--out-dir", default=str(QUESTIONNAIRES_DIR), show_default=False)
def q_import(path: str, out_dir: str) -> None:
    """団体のチェックシート（.xlsx / .csv）から質問票の定義ファイルを作る。"""
    from .cli_questionnaires import cmd_import

    sys.exit(cmd_import(Path(path), Path(out_dir)))


@click.command("check-pdf", context_settings={"ignore_unknown_options": True})
def check_pdf() -> None:
    """PDF作成の前提（HarfBuzzのサブセット機能・日本語フォント）を確認する。"""
    from .adapters.pdf import check_harfbuzz_subset

    if not check_harfbuzz_subset():
        raise click.ClickException(
            "libharfbuzz-subset0 が見つかりません。特記事項PDFの作成が約20倍遅くなります。"
            "`sudo apt-get install libharfbuzz-subset0` を実行してください。"
        )
    click.echo("PDF rendering: HarfBuzz subsetting available")


def register_cli(app: Flask) -> None:
    """Commands that also show under `flask --app vendorrisk`."""
    for group in (policy_cli, db_cli, engagements_cli, annex_cli, questionnaires_cli, org_cli, users_cli, audit_cli,
                  jobs_cli, reminders_cli, evidence_cli):
        app.cli.add_command(group)
    app.cli.add_command(demo_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(worker_command)


def _create_app_for_cli() -> Flask:
    from . import create_app

    return create_app()


main = FlaskGroup(
    name="vendorrisk", create_app=_create_app_for_cli, add_version_option=False, load_dotenv=False,
    help="vendorrisk — 委託事業者・外部サービスの情報セキュリティ確認",
)
for _group in (policy_cli, db_cli, engagements_cli, annex_cli, questionnaires_cli, org_cli, users_cli, audit_cli,
               jobs_cli, reminders_cli, evidence_cli):
    main.add_command(_group)
main.add_command(demo_command)
main.add_command(check_pdf)
main.add_command(backup_command)
main.add_command(restore_command)
main.add_command(worker_command)
questionnaires_cli.add_command(schema_command)
