"""Writing an import: an :class:`~gridmap.io.imports.ImportPlan` in one transaction.

:func:`apply_import` writes a plan :func:`~gridmap.io.imports.prepare_import` made — all rows or
none, with its audit row, the initial plans of communities that had none
(:data:`~gridmap.io.imports.INITIAL_PLAN_NAME`, audited ``plan_initial``) and the buildings'
grids recomputed — and ends the demo logins (:func:`gridmap.auth.end_demo`).
:func:`import_file` reads, prepares and writes one file, for the CLI.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import IntegrityError

from gridmap import auth
from gridmap.auth.sessions import current_time
from gridmap.db import transaction
from gridmap.errors import ConflictError
from gridmap.io.database import max_id, update_rows
from gridmap.io.imports import INITIAL_PLAN_NAME, ImportPlan, prepare_import
from gridmap.io.sources import read_source
from gridmap.models import PlanStatus
from gridmap.repository import insert_frame, refresh_building_grids, table


def apply_import(bind: Engine | Connection, plan: ImportPlan) -> dict[str, int]:
    """Write an :class:`ImportPlan` in one transaction (all or nothing).

    Given a Connection in an open transaction, the write joins it (the caller commits or
    rolls back). Grids for a community without any plan first create its active initial plan
    (one ``plan_initial`` audit row each); imports of grids into an active plan and of
    buildings then recompute the buildings' stored grid
    (:func:`gridmap.repository.refresh_building_grids`) in the same transaction.

    Returns
    -------
    dict
        ``added``, ``changed``, ``unchanged`` counts.

    Raises
    ------
    ConflictError
        When a community got a plan between the dry run and the write (nothing is written).
    """
    spec = plan.layer
    principal = auth.current_principal()
    principal.require("import")
    with transaction(bind) as conn:
        auth.end_demo(conn)  # data from outside: the demo logins end here
        auth.audit(conn, principal, "import", spec.table, None, None,
                   {"layer": spec.name, "added": len(plan.added),
                    "changed": len(plan.changed), "unchanged": plan.unchanged})  # fmt: skip
        if spec.name == "members" and plan.persons is not None:
            persons = plan.persons
            new_people = persons[persons["id"].isna()].drop(columns=["id"])
            person_tbl, member_tbl = table("person"), table("member")
            next_id = (conn.execute(select(max_id(person_tbl))).scalar() or 0) + 1
            new_ids = list(range(next_id, next_id + len(new_people)))
            insert_frame(conn, "person", new_people.assign(id=new_ids, roles=""))
            update_rows(conn, "person", persons[persons["id"].notna()])
            next_member = (conn.execute(select(max_id(member_tbl))).scalar() or 0) + 1
            added = plan.added.assign(
                person_id=new_ids, id=range(next_member, next_member + len(plan.added))
            )
            insert_frame(conn, "member", added)
            update_rows(conn, "member", plan.changed)
        elif spec.name == "grids":
            added = plan.added
            if plan.initial_plans:
                plan_of = _create_initial_plans(conn, plan, principal)
                added = added.copy()
                fill = plan.grid_communities.map(plan_of)
                added.loc[fill.index, "plan_id"] = fill.astype(object)
            insert_frame(conn, "grid", added)
            update_rows(conn, "grid", plan.changed)
            if plan.active_communities:
                refresh_building_grids(conn, sorted(plan.active_communities))
        else:
            insert_frame(conn, spec.table, plan.added)
            update_rows(conn, spec.table, plan.changed)
            if spec.name == "buildings" and len(plan.added) + len(plan.changed):
                touched = pd.concat([plan.added["community_id"], plan.changed["community_id"]])
                refresh_building_grids(conn, sorted({int(c) for c in touched.dropna()}))
    plan.written = True
    return {"added": len(plan.added), "changed": len(plan.changed), "unchanged": plan.unchanged}


def _create_initial_plans(
    conn: Connection, plan: ImportPlan, principal: auth.Principal
) -> dict[int, int]:
    """Create the active initial plan of each community without any plan; community → plan.

    Raises
    ------
    ConflictError
        When one of them has had a plan made since the dry run.
    """
    gp = table("grid_plan")
    wanted = sorted(plan.initial_plans)
    meanwhile = conn.execute(
        select(gp.c.community_id, func.count()).where(gp.c.community_id.in_(wanted))
        .group_by(gp.c.community_id)
    ).all()  # fmt: skip
    if meanwhile:
        codes = ", ".join(plan.initial_plans[int(c)] for c, _ in meanwhile)
        raise ConflictError(
            f"社区 {codes} 刚刚建立了网格方案,导入未写入;请重新试导入 / community {codes} "
            "was given a grid plan meanwhile; nothing was written: run the import again"
        )
    now = current_time()
    next_id = (conn.execute(select(max_id(gp))).scalar() or 0) + 1
    plan_of = {cid: next_id + i for i, cid in enumerate(wanted)}
    counts = plan.grid_communities.value_counts()
    rows = pd.DataFrame(
        {
            "id": [plan_of[c] for c in wanted],
            "community_id": wanted,
            "name": INITIAL_PLAN_NAME,
            "status": PlanStatus.active.value,
            "created_by": principal.user_id,
            "created_at": now,
            "approved_by": None,
            "approved_at": None,
            "note": f"导入 {plan.file} 时建立 / made by importing {plan.file}",
        }
    )
    try:
        insert_frame(conn, "grid_plan", rows)
    except IntegrityError:  # another import made a plan between the check and the insert
        codes = ", ".join(plan.initial_plans[c] for c in wanted)
        raise ConflictError(
            f"社区 {codes} 刚刚建立了网格方案,导入未写入;请重新试导入 / community {codes} "
            "was given a grid plan meanwhile; nothing was written: run the import again"
        ) from None
    for cid in wanted:
        auth.audit(conn, principal, "plan_initial", "grid_plan", plan_of[cid], None,
                   {"community": plan.initial_plans[cid], "name": INITIAL_PLAN_NAME,
                    "status": PlanStatus.active.value, "grids": int(counts.get(cid, 0)),
                    "file": plan.file})  # fmt: skip
    return plan_of


def import_file(
    bind: Engine | Connection,
    layer: str,
    path: str | Path,
    *,
    dry_run: bool = False,
    name: str | None = None,
    mapping: Mapping[str, str] | None = None,
    **options: Any,
) -> ImportPlan:
    """Read, validate and (unless ``dry_run``) write a file: the CLI's ``gridmap import``.

    ``options`` are those of :func:`~gridmap.io.imports.prepare_import`. Raises
    :class:`~gridmap.io.layers.ImportRejected` (nothing written) when the file has problems.
    """
    source = read_source(path, name)
    plan = prepare_import(bind, layer, source, mapping, **options)
    if not dry_run:
        apply_import(bind, plan)
    return plan
