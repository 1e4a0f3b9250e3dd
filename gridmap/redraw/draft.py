"""Edits on a draft in the database: :func:`set_grid_geometry`, :func:`create_grid`,
:func:`delete_grid`, :func:`split_grid`, :func:`merge_grids`, :func:`move_buildings` and
:func:`undo_last_edit`. Each runs in :func:`editing`: one transaction on a :class:`Draft`,
authorised and audited, refusing with a :class:`~gridmap.errors.ConflictError` a grid changed
since the versions the caller saw (naming who changed it) or written concurrently (the ORM's
optimistic lock on ``Grid.version``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from gridmap import settings
from gridmap.db import transaction
from gridmap.errors import ConflictError, InputError
from gridmap.models import Grid, GridPlan, PlanStatus
from gridmap.organisation.kinds import GRID_ORG_KINDS
from gridmap.redraw.edits import (
    area_for_buildings,
    keep_buildings_whole,
    merge_geometries,
    reshape_grids,
    split_geometry,
    stitch_neighbours,
)
from gridmap.redraw.geometry import (
    as_multipolygon,
    geometry_from_geojson,
    polygon_op,
    polygon_union,
    polygonal,
    shared_length,
)
from gridmap.redraw.metrics import building_assignment
from gridmap.redraw.permissions import authorise, record_audit, user_name
from gridmap.repository import read_table, table

#: Audit actions that change a draft's grids (the ones :func:`undo_last_edit` can undo).
EDIT_ACTIONS: tuple[str, ...] = (
    "grid_reshape",
    "grid_create",
    "grid_delete",
    "grid_split",
    "grid_merge",
    "buildings_move",
    "grid_staff",
)


def _snapshot(grid: Grid) -> dict[str, Any]:
    return {
        "id": grid.id,
        "code": grid.code,
        "name": grid.name,
        "geom": shapely.to_wkb(grid.geom, hex=True),
        "leader_id": grid.leader_id,
        "party_org_id": grid.party_org_id,
        "version": grid.version,
    }


@dataclass
class Draft:
    """A draft being edited inside one transaction."""

    session: Session
    plan: GridPlan
    community: shapely.Geometry
    community_code: str
    grids: dict[str, Grid]
    user_id: int | None
    versions: Mapping[str, int] | None = None
    touched: set[str] = field(default_factory=set)
    before: dict[str, dict] = field(default_factory=dict)

    def geoms(self) -> dict[str, shapely.Geometry]:
        return {c: g.geom for c, g in self.grids.items()}

    def grid(self, code: str) -> Grid:
        try:
            return self.grids[code]
        except KeyError:
            if self.versions is not None and code in self.versions:
                raise ConflictError(
                    f"网格 {code} 已被删除 / grid {code} has been deleted since you loaded the "
                    "plan; reload and try again"
                ) from None
            raise InputError(
                f"方案中没有网格 {code} / the plan has no grid {code}; it has "
                f"{', '.join(sorted(self.grids)) or 'none'}"
            ) from None

    def _touch(self, code: str) -> None:
        if code in self.grids and code not in self.before and code not in self.touched:
            _check_version(self, code)
            self.before[code] = _snapshot(self.grids[code])
        self.touched.add(code)

    def set_geom(self, code: str, geom: shapely.Geometry) -> None:
        grid = self.grid(code)
        self._touch(code)
        grid.geom = as_multipolygon(geom)

    def add(self, code: str, name: str, geom: shapely.Geometry, **extra: Any) -> Grid:
        if code in self.grids:
            raise InputError(f"网格编码 {code} 已存在 / grid code {code} is already in the plan")
        grid = Grid(plan_id=self.plan.id, code=code, name=name, geom=as_multipolygon(geom), **extra)
        self.session.add(grid)
        self.grids[code] = grid
        self.touched.add(code)
        return grid

    def remove(self, code: str) -> None:
        grid = self.grid(code)
        self._touch(code)
        self.session.delete(grid)
        del self.grids[code]

    def next_code(self) -> str:
        """The next free grid code of the community: ``<community code>-NN``."""
        prefix = f"{self.community_code}-"
        numbers = [
            int(c[len(prefix) :])
            for c in self.grids
            if c.startswith(prefix) and c[len(prefix) :].isdigit()
        ]
        return f"{prefix}{(max(numbers) if numbers else 0) + 1:02d}"


def _check_version(draft: Draft, code: str) -> None:
    """Refuse the edit when a grid the caller saw has changed since (naming who changed it)."""
    if draft.versions is None or code not in draft.versions:
        return
    grid = draft.grids[code]
    if grid.version != draft.versions[code]:
        who, when = _last_change(draft.session.connection(), draft.plan.id, grid.id)
        raise ConflictError(
            f"网格 {code} 已被 {who} 于 {when} 修改"
            f"(版本 {draft.versions[code]} → {grid.version}) / "
            f"grid {code} was changed by {who} at {when} (version {draft.versions[code]} → "
            f"{grid.version}); reload the plan and redo your edit"
        )


def _last_change(conn: Connection, plan_id: int, grid_id: int) -> tuple[str, str]:
    audit = table("audit_log")
    rows = conn.execute(
        select(audit.c.user_id, audit.c.at, audit.c.after)
        .where(audit.c.entity == "grid_plan", audit.c.entity_id == plan_id)
        .order_by(audit.c.id.desc())
    ).all()
    for user_id, at, after in rows:
        grids = (json.loads(after) or {}).get("grids", {}) if after else {}
        if any(g.get("id") == grid_id for g in grids.values()):
            return user_name(conn, user_id), f"{at:%Y-%m-%d %H:%M}"
    return "另一位用户 / another user", "刚才 / just now"


@contextmanager
def editing(
    engine: Engine,
    plan_id: int,
    action: str,
    user_id: int | None,
    versions: Mapping[str, int] | None,
    detail: dict[str, Any] | None = None,
) -> Iterator[Draft]:
    """One edit of a draft in one transaction, audited; stale versions raise ConflictError."""
    with transaction(engine) as conn:
        session = Session(bind=conn, autoflush=False, expire_on_commit=False)
        try:
            plan = session.get(GridPlan, plan_id)
            if plan is None:
                raise InputError(f"方案不存在 / no grid plan with id {plan_id}")
            if plan.status != PlanStatus.draft:
                raise ConflictError(
                    f"方案「{plan.name}」状态为 {plan.status.value}，只能修改草稿 / plan "
                    f"{plan.name!r} is {plan.status.value}: only drafts can be edited"
                )
            authorise(conn, "edit", user_id, plan)
            com = table("community")
            crow = conn.execute(
                select(com.c.code).where(com.c.id == plan.community_id)
            ).scalar_one()
            community = read_table(conn, "community", com.c.id == plan.community_id)
            grids = session.scalars(select(Grid).where(Grid.plan_id == plan_id)).all()
            draft = Draft(
                session,
                plan,
                polygonal(community.geometry.iloc[0]),
                crow,
                {g.code: g for g in grids},
                user_id,
                versions,
            )
            yield draft
            _stitch(draft)
            session.flush()
            after = {
                c: _snapshot(draft.grids[c]) for c in sorted(draft.touched) if c in draft.grids
            }
            record_audit(
                session,
                action,
                "grid_plan",
                plan_id,
                user_id,
                {"grids": draft.before},
                {"grids": after, **(detail or {})},
            )
            session.flush()
        except StaleDataError as exc:
            raise ConflictError(
                "网格刚被其他人修改，本次修改未保存 / a grid was changed by someone else at the "
                "same moment; nothing was saved: reload the plan and redo your edit"
            ) from exc
        finally:
            session.close()


def _stitch(draft: Draft) -> None:
    """After any edit: the grids next to the changed ones take their new vertices
    (:func:`stitch_neighbours`), so shared edges match vertex for vertex; each neighbour so
    changed is versioned and audited like the grids the edit changed."""
    changed = [c for c in draft.touched if c in draft.grids]
    if not changed:
        return
    shapes = {c: polygonal(g.geom) for c, g in draft.grids.items()}
    for code, geom in stitch_neighbours(shapes, changed).items():
        draft.set_geom(code, geom)


def _resolve_geometry(geometry: shapely.Geometry | str | Mapping, kind: str) -> shapely.Geometry:
    if isinstance(geometry, shapely.Geometry):
        return geometry
    return geometry_from_geojson(geometry, kind, "绘制或上传的图形 / the drawn or uploaded shape")


def set_grid_geometry(
    engine: Engine,
    plan_id: int,
    code: str,
    geometry: shapely.Geometry | str | Mapping,
    versions: Mapping[str, int] | None = None,
    user_id: int | None = None,
    insist: bool = False,
) -> list[str]:
    """Replace a draft grid's polygon (shapely or GeoJSON), clipped to the community and, unless
    ``insist``, snapped so no new gap or overlap appears (:func:`reshape_grids`).

    Returns
    -------
    list of str
        Codes of the grids that changed (neighbours included).
    """
    geom = _resolve_geometry(geometry, "polygon")
    with editing(engine, plan_id, "grid_reshape", user_id, versions, {"code": code}) as d:
        d.grid(code)
        changed = reshape_grids(d.geoms(), code, geom, d.community, insist)
        for c, g in changed.items():
            d.set_geom(c, g)
        return sorted(changed)


def create_grid(
    engine: Engine,
    plan_id: int,
    geometry: shapely.Geometry | str | Mapping,
    name: str | None = None,
    code: str | None = None,
    versions: Mapping[str, int] | None = None,
    user_id: int | None = None,
    insist: bool = False,
) -> str:
    """Add a grid to a draft; its polygon takes its area from the neighbours unless ``insist``.

    Returns
    -------
    str
        The new grid's code (the next free ``<community>-NN`` unless given).
    """
    geom = _resolve_geometry(geometry, "polygon")
    with editing(engine, plan_id, "grid_create", user_id, versions) as d:
        code = code or d.next_code()
        if code in d.grids:
            raise InputError(f"网格编码 {code} 已存在 / grid code {code} is already in the plan")
        changed = reshape_grids(d.geoms(), code, geom, d.community, insist)
        for c, g in changed.items():
            if c != code:
                d.set_geom(c, g)
        d.add(code, name or f"第{code.rsplit('-', 1)[-1]}网格", changed[code])
        return code


def delete_grid(
    engine: Engine,
    plan_id: int,
    code: str,
    versions: Mapping[str, int] | None = None,
    user_id: int | None = None,
    insist: bool = False,
) -> list[str]:
    """Delete a draft grid; unless ``insist`` its area goes to the neighbours (each piece to the
    one sharing the longest border) so no gap opens where a neighbour exists.

    Returns
    -------
    list of str
        Codes of the neighbours that grew.
    """
    with editing(engine, plan_id, "grid_delete", user_id, versions, {"code": code}) as d:
        old = d.grid(code).geom
        grown: list[str] = []
        if not insist:
            current = {c: g for c, g in d.geoms().items() if c != code}
            for piece in shapely.get_parts(polygonal(old)):
                borders = {c: shared_length(piece, g) for c, g in current.items()}
                best = max(borders, key=lambda c: (borders[c], c), default=None)
                if best is not None and borders[best] > 0:
                    current[best] = polygon_op(shapely.union, current[best], piece)
                    grown.append(best)
            for c in sorted(set(grown)):
                d.set_geom(c, current[c])
        d.remove(code)
        return sorted(set(grown))


def split_grid(
    engine: Engine,
    plan_id: int,
    code: str,
    line: shapely.Geometry | str | Mapping,
    versions: Mapping[str, int] | None = None,
    user_id: int | None = None,
    new_code: str | None = None,
    new_name: str | None = None,
    keep_as_drawn: bool = False,
) -> str:
    """Split a draft grid in two by a line (:func:`split_geometry`): the larger piece keeps the
    grid, its leader and branch; the smaller becomes a new grid without them (the check of
    the plan, :func:`~gridmap.redraw.checks.plan_check`, says so).

    A building the line crosses goes whole to the side holding most of it
    (:func:`keep_buildings_whole`; the buildings so kept are in the edit's audit row, and
    :func:`split_preview` lists them beforehand) unless ``keep_as_drawn``.

    Returns
    -------
    str
        The new grid's code.
    """
    cut = _resolve_geometry(line, "line")
    details = {"code": code, "keep_as_drawn": keep_as_drawn}
    with editing(engine, plan_id, "grid_split", user_id, versions, details) as d:
        bld = table("building")
        buildings = read_table(
            d.session.connection(), "building", bld.c.community_id == d.plan.community_id
        )
        larger, smaller, kept = split_preview(d.grid(code).geom, cut, buildings, keep_as_drawn)
        details["kept_whole"] = list(kept["code"])
        d.set_geom(code, larger)
        new_code = new_code or d.next_code()
        d.add(new_code, new_name or f"第{new_code.rsplit('-', 1)[-1]}网格", smaller)
        return new_code


def set_grid_staff(
    engine: Engine,
    plan_id: int,
    code: str,
    leader_id: int | None = None,
    party_org_id: int | None = None,
    versions: Mapping[str, int] | None = None,
    user_id: int | None = None,
) -> None:
    """Give a draft grid its grid leader (网格长: a person) and its Party branch or group (an
    organisation of the community), in the same draft — what a new grid of a split or a
    balance lacks. ``None`` leaves that one as it is. Audited and undoable like every edit.

    Raises
    ------
    InputError
        An unknown person, or an organisation that is not a branch or group of the community.
    """
    person, org = table("person"), table("party_org")
    details = {"code": code, "leader_id": leader_id, "party_org_id": party_org_id}
    with editing(engine, plan_id, "grid_staff", user_id, versions, details) as d:
        grid = d.grid(code)
        conn = d.session.connection()
        if leader_id is not None:
            if conn.execute(select(person.c.id).where(person.c.id == leader_id)).first() is None:
                raise InputError(f"人员不存在 / no person with id {leader_id}")
            d._touch(code)
            grid.leader_id = int(leader_id)
        if party_org_id is not None:
            row = conn.execute(
                select(org.c.kind, org.c.community_id).where(org.c.id == party_org_id)
            ).first()
            kind = None if row is None else getattr(row.kind, "value", row.kind)
            if kind not in GRID_ORG_KINDS or (
                row.community_id is not None and row.community_id != d.plan.community_id
            ):
                raise InputError(
                    f"党组织 {party_org_id} 不是本社区的党支部或党小组 / organisation "
                    f"{party_org_id} is not a Party branch or group of the community"
                )
            d._touch(code)
            grid.party_org_id = int(party_org_id)


def split_preview(
    grid: shapely.Geometry,
    line: shapely.Geometry,
    buildings: gpd.GeoDataFrame,
    keep_as_drawn: bool = False,
) -> tuple[shapely.Geometry, shapely.Geometry, pd.DataFrame]:
    """What :func:`split_grid` will make of a grid and a line, without the database: the
    larger and the smaller piece, and the buildings kept whole
    (:func:`keep_buildings_whole`; none when ``keep_as_drawn``)."""
    larger, smaller = split_geometry(grid, line)
    if keep_as_drawn:
        return larger, smaller, pd.DataFrame(columns=["building_id", "code", "side", "share"])
    return keep_buildings_whole(larger, smaller, buildings)


def merge_grids(
    engine: Engine,
    plan_id: int,
    code: str,
    other: str,
    versions: Mapping[str, int] | None = None,
    user_id: int | None = None,
) -> str:
    """Merge grid ``other`` into adjacent grid ``code`` (which keeps its leader and branch).

    Returns
    -------
    str
        ``code``.
    """
    if code == other:
        raise InputError("不能把网格与自身合并 / cannot merge a grid with itself")
    with editing(
        engine, plan_id, "grid_merge", user_id, versions, {"code": code, "merged": other}
    ) as d:
        merged = merge_geometries(d.grid(code).geom, d.grid(other).geom)
        d.remove(other)
        d.set_geom(code, merged)
        return code


def move_buildings(
    engine: Engine,
    plan_id: int,
    building_codes: Sequence[str],
    to_code: str,
    versions: Mapping[str, int] | None = None,
    user_id: int | None = None,
) -> list[str]:
    """Move buildings into grid ``to_code`` by reshaping the polygons around them.

    Each building's current grid gives up the part of itself nearest the moving buildings
    (:func:`area_for_buildings`) to the target grid (:func:`reshape_grids`).

    Returns
    -------
    list of str
        Codes of the grids that changed.
    """
    if not building_codes:
        raise InputError("没有选择楼栋 / no buildings chosen to move")
    with editing(
        engine,
        plan_id,
        "buildings_move",
        user_id,
        versions,
        {"buildings": list(building_codes), "to": to_code},
    ) as d:
        d.grid(to_code)
        bld = table("building")
        conn = d.session.connection()
        buildings = read_table(conn, "building", bld.c.community_id == d.plan.community_id)
        unknown = sorted(set(building_codes) - set(buildings["code"]))
        if unknown:
            raise InputError(
                f"社区中没有楼栋 {', '.join(unknown)} / no such buildings in the community"
            )
        grids = gpd.GeoDataFrame(
            {"id": list(range(len(d.grids))), "code": list(d.grids)},
            geometry=[g.geom for g in d.grids.values()],
            crs=settings.STORAGE_SRID,
        )
        where = building_assignment(buildings, grids)
        code_of = dict(zip(grids["id"], grids["code"], strict=True))
        current = [None if pd.isna(g) else code_of[g] for g in where["grid_id"]]
        buildings = buildings.assign(grid_code=current)
        moving = buildings[buildings["code"].isin(list(building_codes))]
        taken = []
        for source, group in moving.groupby("grid_code", dropna=False, sort=True):
            if source == to_code:
                continue
            if source is None or pd.isna(source):
                taken.extend(group.geometry.values)  # a building in no grid: take its footprint
                continue
            staying = buildings[
                (buildings["grid_code"] == source) & ~buildings["code"].isin(list(building_codes))
            ]
            taken.append(
                area_for_buildings(
                    d.grid(source).geom, list(group.geometry.values), list(staying.geometry.values)
                )
            )
        if not taken:
            return []
        target = polygon_op(shapely.union, d.grid(to_code).geom, polygon_union(taken))
        changed = reshape_grids(d.geoms(), to_code, target, d.community)
        for c, g in changed.items():
            d.set_geom(c, g)
        return sorted(changed)


def undo_last_edit(
    engine: Engine,
    plan_id: int,
    user_id: int | None = None,
    versions: Mapping[str, int] | None = None,
) -> str | None:
    """Undo the newest edit of a draft not yet undone, restoring its grids as they were.

    ``versions`` are the grid versions the caller saw: when someone else has edited the plan
    since, the undo is refused rather than undoing their edit.

    Returns
    -------
    str or None
        The action undone (e.g. ``"grid_split"``), None when there is nothing to undo.

    Raises
    ------
    ConflictError
        When a grid of that edit has changed since the caller loaded the plan.
    """
    audit = table("audit_log")
    with transaction(engine) as conn:
        rows = conn.execute(
            select(audit.c.id, audit.c.action, audit.c.before, audit.c.after)
            .where(audit.c.entity == "grid_plan", audit.c.entity_id == plan_id)
            .order_by(audit.c.id.desc())
        ).all()
        undone = {
            (json.loads(r.after) or {}).get("undid") for r in rows if r.action == "undo" and r.after
        }
        target = next((r for r in rows if r.action in EDIT_ACTIONS and r.id not in undone), None)
        if target is None:
            return None
        before = json.loads(target.before or "{}").get("grids", {})
        after = json.loads(target.after or "{}").get("grids", {})
    with editing(engine, plan_id, "undo", user_id, versions, {"undid": target.id}) as d:
        for code in after:
            if code not in before:
                d.remove(code)
        for code, snap in before.items():
            geom = shapely.from_wkb(snap["geom"])
            if code in d.grids:
                d.set_geom(code, geom)
                d.grids[code].name = snap["name"]
                d.grids[code].leader_id = snap["leader_id"]
                d.grids[code].party_org_id = snap["party_org_id"]
            else:
                d.add(
                    code,
                    snap["name"],
                    geom,
                    leader_id=snap["leader_id"],
                    party_org_id=snap["party_org_id"],
                )
    return target.action
