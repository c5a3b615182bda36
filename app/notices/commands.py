"""``flask --app app notices generate``: work through the notice queue here and now (what the
scheduler's notice job does every few seconds), e.g. after a scheduler outage."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.notices.jobs import run_pending

notices_cli = AppGroup("notices", help="通报与告知书")


@notices_cli.command("generate")
@click.option("--budget", default=300.0, show_default=True, help="最多运行的秒数")
def generate(budget: float) -> None:
    """Generate every document waiting in the queue (retries that are not yet due wait)."""
    summary = run_pending(budget)
    click.echo(summary or "没有待生成的文件")
