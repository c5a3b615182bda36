"""Flask commands: ``flask --app app db upgrade``, ``flask --app app seed-demo``."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.db import db
from app.demo import seed_demo
from app.migrations import upgrade
from app.rounds.models import Round
from app.rounds.operations import recompute_differences

db_cli = AppGroup("db", help="数据库迁移")


@db_cli.command("upgrade")
@click.option("--revision", default="head")
def db_upgrade(revision: str) -> None:
    """Bring the database schema up to date through the Alembic migrations."""
    upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo("数据库已升级到最新版本")


@click.command("seed-demo")
@click.option("--no-round", is_flag=True, help="只建基础数据，不下发演示轮次")
def seed_demo_command(no_round: bool) -> None:
    """Load demo districts, accounts, the 2026 scheme and an open round (idempotent)."""
    with db.transaction() as session:
        logins = seed_demo(session, with_round=not no_round)
    click.echo("演示账号（用户名 / 姓名 / 密码）：")
    for username, name, password in logins:
        click.echo(f"  {username:<20} {name:<12} {password}")


round_cli = AppGroup("round", help="考核轮次")


@round_cli.command("recompute")
@click.argument("round_id", type=int)
def round_recompute(round_id: int) -> None:
    """Recompute a round's results from its stored records and report any difference."""
    session = db.session
    round_ = session.get(Round, round_id)
    if round_ is None:
        raise click.ClickException(f"轮次 {round_id} 不存在")
    differences = recompute_differences(session, round_)
    session.rollback()
    if differences:
        for line in differences:
            click.echo(line)
        raise click.ClickException(f"{round_.title}：重算结果与已存结果有 {len(differences)} 处不同")
    click.echo(f"{round_.title}：重算结果与已存结果一致（{round_.districts_total} 个区）")


def init_app(app: Flask) -> None:
    app.cli.add_command(db_cli)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(round_cli)
