"""``gridmap plan``: a community's grid plans (网格划分方案) through their life — list, new draft,
validate, propose, approve, activate, roll back — and the auto-balanced draft.

Every command reads and writes only a community inside the ``--user``'s scope
(:func:`gridmap.auth.scopes.scoped_community`), and every write records that user as its actor
(``created_by``, ``approved_by`` and the audit row).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from gridmap.cli.common import PROBLEMS_FOUND_EXIT, db_option, reports_errors
from gridmap.cli.root import main


@main.group("plan")
def plan_group() -> None:
    """Grid plans (网格划分方案): drafts, validation, approval, activation, rollback and
    auto-balance. Each command works on one community (--community CODE)."""


community_option = click.option(
    "--community", "community_code", required=True, metavar="CODE", help="The community's code."
)
plan_option = click.option(
    "--plan",
    "plan_id",
    type=int,
    default=None,
    metavar="ID",
    help="The plan (default: the community's newest plan in the state the command needs).",
)


def _actor() -> int | None:
    """The user id of the ``--user`` acting (None for the local operator)."""
    from gridmap.auth import current_principal

    return current_principal().user_id


def _scoped_plans(engine: Any, community_code: str) -> Any:
    """The community's plans (:func:`gridmap.redraw.list_plans`), once the community is found
    inside the acting user's scope (PermissionDenied otherwise)."""
    from gridmap.auth import current_principal, scoped_community
    from gridmap.redraw import list_plans

    scoped_community(engine, current_principal(), community_code)
    return list_plans(engine, community_code)


def _plan_in_state(engine: Any, community_code: str, plan_id: int | None, status: str) -> int:
    """The given plan (checked to belong to the community), else the newest in ``status``."""
    from gridmap.errors import InputError

    plans = _scoped_plans(engine, community_code)
    if plan_id is not None:
        if plan_id not in set(plans["id"]):
            raise InputError(
                f"方案 #{plan_id} 不属于社区 {community_code} / plan {plan_id} is not a plan of "
                f"community {community_code}"
            )
        return plan_id
    matching = plans[plans["status"] == status]
    if matching.empty:
        raise InputError(
            f"社区 {community_code} 没有状态为 {status} 的方案 / community {community_code} has no "
            f"{status} plan; give --plan ID (see `gridmap plan list --community {community_code}`)"
        )
    return int(matching["id"].iloc[0])


@plan_group.command("list")
@db_option
@community_option
@reports_errors
def plan_list(db_url: str | None, community_code: str) -> None:
    """The community's plans, newest first, with their state and grid count."""
    from gridmap.db import open_database

    plans = _scoped_plans(open_database(db_url), community_code)
    if plans.empty:
        click.echo(f"社区 {community_code} 没有方案 / no plans")
        return
    shown = plans[["id", "name", "status", "grids", "created_at", "approved_at"]]
    click.echo(shown.to_string(index=False))


@plan_group.command("new")
@db_option
@community_option
@click.option("--name", default=None, help="The draft's name (default: community and time).")
@reports_errors
def plan_new(db_url: str | None, community_code: str, name: str | None) -> None:
    """Start a draft as a copy of the community's active plan."""
    from gridmap.db import open_database
    from gridmap.redraw import load_plan, new_draft

    engine = open_database(db_url)
    plan_id = new_draft(engine, community_code, name, user_id=_actor())
    grids = len(load_plan(engine, plan_id).grids)
    click.echo(f"已建草案 #{plan_id}({grids} 个网格) / draft {plan_id} created ({grids} grids)")


def _print_metrics(metrics: Any) -> None:
    table = metrics.grids[
        ["code", "buildings", "households", "residents", "members", "area_m2", "compactness"]
    ].copy()
    table["area_m2"] = table["area_m2"].round(0).astype(int)
    table["compactness"] = table["compactness"].round(2)
    table["norm"] = metrics.grids["norm"].map({"ok": "", "small": "偏少", "large": "偏多"})
    click.echo(table.to_string(index=False))
    s = metrics.summary
    click.echo(
        f"网格 {s['grids']} 个；未覆盖 {s['gaps']} 处 {s['gap_area_m2']:,.0f} 平方米；重叠 "
        f"{s['overlaps']} 处；不在网格的楼栋 {s['unassigned_buildings']} 栋；跨网格楼栋 "
        f"{s['split_buildings']} 栋；户数超出规范 {s['out_of_norm']} 个；最大偏离目标 "
        f"{s['max_deviation']} 户"
    )


@plan_group.command("validate")
@db_option
@community_option
@plan_option
@reports_errors
def plan_validate(db_url: str | None, community_code: str, plan_id: int | None) -> None:
    """Live figures of a plan (default: the newest draft), the problems `gridmap check` will
    report once it is active (each marked new or already there), and what stops it being
    proposed.

    Exits 1 when the plan has issues, 0 when it may be proposed as it is.
    """
    from gridmap.db import open_database
    from gridmap.redraw import (
        diff_against_active,
        layers_metrics,
        load_plan,
        plan_check,
        plan_issues,
    )

    engine = open_database(db_url)
    plan_id = _plan_in_state(engine, community_code, plan_id, "draft")
    layers = load_plan(engine, plan_id)
    metrics = layers_metrics(layers)
    click.echo(f"方案 #{plan_id}「{layers.plan['name']}」({layers.plan['status']})")
    _print_metrics(metrics)
    diff = diff_against_active(engine, plan_id)
    if diff is not None:
        d = diff.summary
        click.echo(
            f"与生效方案相比 / against the active plan: 变动网格 {d['grids_changed']} 个，"
            f"移动楼栋 {d['buildings_moved']} 栋 {d['households_moved']} 户，涉及网格长 "
            f"{d['leaders_affected']} 人、党组织 {d['branches_affected']} 个"
        )
    check = plan_check(engine, plan_id)
    problems = check.problems
    click.echo(
        f"生效后 gridmap check 将报告 / once active, gridmap check reports: {len(problems)} 个问题"
        f"，其中新增 {int(problems['new'].sum())} 个 / {len(problems)} problems, "
        f"{int(problems['new'].sum())} new"
    )
    for row in problems.itertuples():
        mark = "新增 / new" if row.new else "原有 / already"
        where = " ".join(str(c) for c in (row.grid_code, row.building_code) if isinstance(c, str))
        click.echo(f"  [{mark}] {row.label} {where}: {row.detail}")
    issues = plan_issues(engine, plan_id, check)
    if not issues:
        click.echo("检查通过，可以提交 / the plan passes every check")
        return
    click.echo(f"未通过 {len(issues)} 项 / {len(issues)} issues:")
    for issue in issues:
        click.echo(f"  - {issue.message}")
    sys.exit(PROBLEMS_FOUND_EXIT)


@plan_group.command("propose")
@db_option
@community_option
@plan_option
@click.option("--reason", default=None, help="Why the plan may go ahead despite its issues.")
@reports_errors
def plan_propose(
    db_url: str | None,
    community_code: str,
    plan_id: int | None,
    reason: str | None,
) -> None:
    """Propose a draft for the street's approval (a plan with issues needs --reason)."""
    from gridmap.db import open_database
    from gridmap.redraw import propose

    engine = open_database(db_url)
    plan_id = _plan_in_state(engine, community_code, plan_id, "draft")
    issues = propose(engine, plan_id, reason, user_id=_actor())
    extra = f",附理由接受 {len(issues)} 项问题" if issues else ""
    click.echo(f"方案 #{plan_id} 已提交{extra} / plan {plan_id} proposed")


@plan_group.command("approve")
@db_option
@community_option
@plan_option
@reports_errors
def plan_approve(db_url: str | None, community_code: str, plan_id: int | None) -> None:
    """Approve a proposed plan (the street's decision), recording the approver."""
    from gridmap.db import open_database
    from gridmap.redraw import approve

    engine = open_database(db_url)
    plan_id = _plan_in_state(engine, community_code, plan_id, "proposed")
    approve(engine, plan_id, approver_id=_actor())
    click.echo(f"方案 #{plan_id} 已批准 / plan {plan_id} approved")


@plan_group.command("return")
@db_option
@community_option
@plan_option
@click.option("--comment", required=True, help="What the community should change (kept, audited).")
@reports_errors
def plan_return(db_url: str | None, community_code: str, plan_id: int | None, comment: str) -> None:
    """Send a proposed plan back to the community as a draft, with the street's comment."""
    from gridmap.db import open_database
    from gridmap.redraw import return_to_draft

    engine = open_database(db_url)
    plan_id = _plan_in_state(engine, community_code, plan_id, "proposed")
    return_to_draft(engine, plan_id, comment, user_id=_actor())
    click.echo(f"方案 #{plan_id} 已退回为草稿 / plan {plan_id} returned to draft: {comment}")


@plan_group.command("activate")
@db_option
@community_option
@plan_option
@reports_errors
def plan_activate(db_url: str | None, community_code: str, plan_id: int | None) -> None:
    """Activate an approved plan: the previous one is retired, building grids recomputed."""
    from gridmap.db import open_database
    from gridmap.redraw import activate

    engine = open_database(db_url)
    plan_id = _plan_in_state(engine, community_code, plan_id, "approved")
    retired = activate(engine, plan_id, user_id=_actor())
    was = f",方案 #{retired} 已停用" if retired else ""
    click.echo(f"方案 #{plan_id} 已生效{was} / plan {plan_id} is active")


@plan_group.command("rollback")
@db_option
@community_option
@reports_errors
def plan_rollback(db_url: str | None, community_code: str) -> None:
    """Re-activate the plan the active one replaced, exactly as it was."""
    from gridmap.db import open_database
    from gridmap.redraw import rollback

    plan_id = rollback(open_database(db_url), community_code, user_id=_actor())
    click.echo(f"已回退到方案 #{plan_id} / rolled back to plan {plan_id}")


@plan_group.command("balance")
@db_option
@community_option
@click.option("--name", default=None, help="The draft's name.")
@reports_errors
def plan_balance(db_url: str | None, community_code: str, name: str | None) -> None:
    """Propose a draft that regroups the community's buildings into contiguous grids within
    the household norm (METIS). Exits 1 when the norm cannot be met (the draft is still
    written, with the reason)."""
    from gridmap.db import open_database
    from gridmap.redraw import balance_draft

    engine = open_database(db_url)
    with click.progressbar(length=100, label="自动均衡 / balancing", file=sys.stderr) as bar:
        done = [0]

        def progress(fraction: float, _message: str) -> None:
            step = int(fraction * 100) - done[0]
            if step > 0:
                bar.update(step)
                done[0] += step

        plan_id, result = balance_draft(
            engine, community_code, name, progress=progress, user_id=_actor()
        )
    sizes = result.grids["households"]
    click.echo(f"草案 #{plan_id}: {len(sizes)} 个网格 / grids, 户数 {sizes.min()}–{sizes.max()}")
    click.echo(result.message)
    if not result.feasible:
        sys.exit(PROBLEMS_FOUND_EXIT)
