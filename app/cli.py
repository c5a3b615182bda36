"""Flask commands: ``db upgrade``, ``seed-demo``, and the areas' ``scheme …``, ``round …``,
``scheduler …`` and ``notices …`` groups."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.db import db
from app.deadlines.commands import scheduler_cli
from app.demo import seed_demo
from app.migrations import upgrade
from app.notices.commands import notices_cli
from app.rounds.commands import round_cli
from app.schemes.commands import scheme_cli

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


def init_app(app: Flask) -> None:
    app.cli.add_command(db_cli)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(round_cli)
    app.cli.add_command(scheme_cli)
    app.cli.add_command(scheduler_cli)
    app.cli.add_command(notices_cli)
