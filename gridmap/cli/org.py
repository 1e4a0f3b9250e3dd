"""Party organisations and members: ``gridmap org`` (the tree, organisation-form advice,
lost-contact members) and ``gridmap members import`` (bulk import from a spreadsheet).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from gridmap.cli.common import db_option, echo_json, reports_errors
from gridmap.cli.root import main


@main.group("org")
def org_group() -> None:
    """Party organisations (党组织): the tree, organisation-form advice, lost-contact members."""


@org_group.command("tree")
@db_option
@click.option(
    "--community",
    "community_code",
    default=None,
    metavar="CODE",
    help="Only this community's organisations.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@reports_errors
def org_tree_command(db_url: str | None, community_code: str | None, fmt: str) -> None:
    """The organisation tree, indented, with members held directly and in total."""
    from gridmap.auth import current_principal, scoped_community
    from gridmap.db import open_database
    from gridmap.organisation import KIND_LABELS, load_organisation

    engine = open_database(db_url)
    tree = load_organisation(engine).orgs  # only what the --user may see
    if community_code is not None:
        cid = scoped_community(engine, current_principal(), community_code)
        tree = tree[tree["community_id"] == cid]
    if fmt == "json":
        cols = [
            "id",
            "parent_id",
            "kind",
            "name",
            "community_id",
            "grid_id",
            "depth",
            "members",
            "members_total",
        ]
        echo_json(tree[cols].to_dict("records"))
        return
    for row in tree.itertuples():
        indent = "  " * max(int(row.depth), 0)
        kind = KIND_LABELS.get(row.kind, (row.kind,))[0]
        click.echo(f"{indent}{row.name} [{kind}] 党员 {row.members_total} 名")


@org_group.command("advice")
@db_option
@click.option("--all", "show_all", is_flag=True, help="Also list the units whose form fits.")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@reports_errors
def org_advice_command(db_url: str | None, show_all: bool, fmt: str) -> None:
    """Organisation-form advice: for each community and grid, the form its member count calls
    for (≥ 3 branch, 50–100 general branch, > 100 committee) against the form it has; joint
    branches with adjacent, similar neighbours for units under 3 members. Only the
    communities and grids the --user may see."""
    from gridmap.db import open_database
    from gridmap.organisation import STATUS_LABELS, street_advice

    advice = street_advice(open_database(db_url))
    rows = advice.table if show_all else advice.problems()
    if fmt == "json":
        payload = {
            "summary": advice.summary,
            "rows": json.loads(rows.to_json(orient="records", force_ascii=False)),
        }
        echo_json(payload)
        return
    counts = "、".join(f"{STATUS_LABELS[k][0]} {v}" for k, v in advice.summary.items() if v)
    click.echo(f"党组织设置建议 / organisation-form advice: {counts}")
    for row in rows.itertuples():
        where = (
            row.grid_code
            if isinstance(row.grid_code, str)
            else (row.org_name if row.level == "organisation" else row.community_code)
        )
        click.echo(f"  [{STATUS_LABELS[row.status][0]}] {where}: {row.advice}")


@org_group.command("lost")
@db_option
@click.option(
    "--today",
    default=None,
    metavar="YYYY-MM-DD",
    help="Count days since contact up to this day (default: today).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@reports_errors
def org_lost_command(db_url: str | None, today: str | None, fmt: str) -> None:
    """Lost-contact (失联) and floating (流动) members per community, with time since contact
    (names masked)."""
    import datetime as dt

    from gridmap.db import open_database
    from gridmap.errors import InputError
    from gridmap.organisation import lost_contact_summary, street_lost_contact
    from gridmap.validation import local_today

    try:
        day = dt.date.fromisoformat(today) if today else local_today()
    except ValueError:
        raise InputError(f"无法识别的日期 / cannot read --today {today!r}") from None
    lost = street_lost_contact(open_database(db_url), day)
    if fmt == "json":
        echo_json(json.loads(lost.to_json(orient="records", force_ascii=False, date_format="iso")))
        return
    summary = lost_contact_summary(lost)
    click.echo(f"失联与流动党员 / lost-contact and floating members ({day:%Y-%m-%d}):")
    click.echo(summary.to_string(index=False))


@main.group("members")
def members_group() -> None:
    """Party members (党员): bulk import from a spreadsheet."""


@members_group.command("import")
@db_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@reports_errors
def members_import(db_url: str | None, file: Path) -> None:
    """Import members from a CSV (UTF-8 or GBK) or XLSX file: all rows or none.

    Columns: 姓名, 党员类别, 党组织 (name), 楼栋编码 or 地址, and optionally 手机, 身份证后四位,
    入党日期, 报到日期, 工作单位, 志愿服务特长, 最后联系日期. Bad rows are listed by row and field
    and nothing is written (exit 2).
    """
    from gridmap.db import open_database
    from gridmap.organisation import import_members, read_member_file

    engine = open_database(db_url)
    rows = read_member_file(file)
    result = import_members(engine, rows, file.name)
    click.echo(
        f"已导入 {result['members']} 名党员(新增人员 {result['persons']} 人) / imported "
        f"{result['members']} members ({result['persons']} new persons) from {file.name}"
    )
