"""``flask --app app scheduler run`` (a standalone scheduler process) and ``scheduler fire-due``."""

from __future__ import annotations

import signal
import threading

import click
from flask import current_app
from flask.cli import AppGroup

scheduler_cli = AppGroup("scheduler", help="截止时间调度")


@scheduler_cli.command("run")
@click.option("--holder", default=None, help="租约持有者名称（默认 主机:进程号:随机串）")
def run(holder: str | None) -> None:
    """Run the deadline scheduler in the foreground until SIGTERM/SIGINT.

    Start one per host beside gunicorn (whose workers then run with SCHEDULER_ENABLED off), or
    several: the lease lets one act and the others stand by.
    """
    from app.deadlines.scheduling import start_scheduler

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    # With SCHEDULER_ENABLED set, create_app has already started one in this process.
    scheduler = app.extensions.get("scheduler") or start_scheduler(app, holder)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"调度器已启动：{scheduler.holder}", err=True)
    stop.wait()
    scheduler.shutdown(release=True)
    click.echo("调度器已停止，租约已释放", err=True)


@scheduler_cli.command("fire-due")
def fire_due() -> None:
    """Fire every deadline that has passed, now, in this process."""
    from app.deadlines.scheduling import fire_overdue

    click.echo(f"已执行 {fire_overdue()} 个到期的截止处理")
