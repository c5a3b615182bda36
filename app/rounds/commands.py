"""``flask --app app round recompute ROUND_ID``."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.db import db
from app.rounds.models import Round
from app.rounds.operations import recompute_differences

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
