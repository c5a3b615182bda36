"""``flask --app app scheme export|import``: schemes as JSON or published-style workbooks."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.db import db
from app.schemes.excel import to_workbook
from app.schemes.exchange import SchemeDataError, to_json
from app.schemes.forms import convert_imported_bands, read_upload
from app.schemes.models import Scheme
from app.schemes.operations import SchemeError, create_scheme, scheme_data

scheme_cli = AppGroup("scheme", help="考核细则")


def _scheme(version: str | None) -> Scheme:
    query = select(Scheme).order_by(Scheme.year.desc(), Scheme.id.desc())
    query = query.where(Scheme.label == version) if version else query.where(Scheme.status == "active")
    scheme = db.session.scalars(query).first()
    if scheme is None:
        raise click.ClickException(f"没有找到考核细则版本 {version or '（启用中）'}")
    return scheme


@scheme_cli.command("export")
@click.option("--format", "fmt", type=click.Choice(["json", "xlsx"]), default="json")
@click.option("--version", "version", default=None, help="版本，例如 2026版；默认为最新启用版本")
@click.option("--output", type=click.Path(dir_okay=False), default=None, help="xlsx 必须指定输出文件")
def scheme_export(fmt: str, version: str | None, output: str | None) -> None:
    """Print a scheme with its indicators, maxima, methods and flags (JSON), or write a workbook."""
    data = scheme_data(_scheme(version))
    if fmt == "json":
        text = json.dumps(to_json(data), ensure_ascii=False, indent=2)
        if output:
            Path(output).write_text(text + "\n", encoding="utf-8")
        else:
            click.echo(text)
        return
    if not output:
        raise click.ClickException("导出 Excel 请用 --output 指定文件")
    Path(output).write_bytes(to_workbook(data))
    click.echo(f"已导出 {data.label} 到 {output}")


@scheme_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--activate", is_flag=True, help="导入后立即启用")
def scheme_import(path: str, activate: bool) -> None:
    """Import a scheme version from a workbook (.xlsx) or JSON; nothing is imported if anything is wrong."""
    content = Path(path).read_bytes()
    try:
        data = read_upload(Path(path).name, content)  # the same checks and messages as the page
        notes, warnings = convert_imported_bands(data)
        with db.transaction() as session:
            scheme = create_scheme(session, None, data, status="active" if activate else "draft")
    except (SchemeDataError, SchemeError) as exc:
        for line in exc.errors:
            click.echo(line, err=True)
        raise click.ClickException("导入失败，未导入任何内容") from exc
    click.echo(f"已导入 {scheme.year} {scheme.label}（{len(scheme.indicators)} 项指标）")
    for line in notes:
        click.echo(line)
    for line in warnings:
        click.echo(f"注意：{line}", err=True)
