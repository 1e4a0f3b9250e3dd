"""``gridmap report``: the printable community report (社区工作报告), as HTML or PDF."""

from __future__ import annotations

from pathlib import Path

import click

from gridmap import settings
from gridmap.cli.common import db_option, reports_errors
from gridmap.cli.root import main


@main.command("report")
@db_option
@click.option("--community", "community_code", required=True, metavar="CODE",
              help="Community code, e.g. 420303001-004.")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["html", "pdf"]), default="html",
              show_default=True,
              help="html: one self-contained page; pdf: printed by Chromium.")  # fmt: skip
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="File to write.")  # fmt: skip
@click.option("--radius", type=click.Choice(["300", "500", "1000"]),
              default=str(settings.SERVICE_REACH_M), show_default=True,
              help="Walking radius of a service station (m).")  # fmt: skip
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Language of the report: zh (Chinese) or en (English).")  # fmt: skip
@reports_errors
def report_command(db_url: str | None, community_code: str, fmt: str, out: Path,
                   radius: str, lang: str) -> None:  # fmt: skip
    """A printable community report (社区工作报告) for the street committee's meeting.

    Maps (drawn offline), coverage problems, member density, request hotspots, request
    handling, organisation-form advice and the under-covered ranking; HTML or PDF.
    """
    from gridmap.db import open_database
    from gridmap.report import build_community_report

    engine = open_database(db_url)
    data = build_community_report(engine, community_code, fmt, radius_m=float(radius), lang=lang)
    out.write_bytes(data)
    click.echo(f"已生成报告 / report written: {out} ({len(data):,} bytes)")
