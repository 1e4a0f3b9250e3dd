"""Importing a file into a layer: column mapping, the dry run, and the write.

1. :func:`suggest_mapping` — columns mapped to fields by their names;
2. :func:`prepare_import` — every row validated against the file and the database (one query
   per layer), giving an :class:`ImportPlan` of what would be added, changed and left alone —
   the dry run — or an :class:`~gridmap.io.layers.ImportRejected` listing every problem;
3. :func:`~gridmap.io.writing.apply_import` — the plan written in one transaction: all rows
   or none.

:func:`~gridmap.io.writing.import_file` does all three for the CLI; the write lives in
:mod:`gridmap.io.writing`. Each step reads and writes through a bind: an
Engine, or a Connection whose open transaction it joins (``import street`` writes several
layers in one transaction that way).

What users do not hold is derived, and said so (:attr:`ImportPlan.derived`): a building's or
grid's community from where it stands (the community holding most of it), a building's name
from its address or code, its kind as residential, its households from footprint × floors and
its residents from households — those two flagged ``households_estimated`` /
``residents_estimated`` in the database. What a file leaves out never overwrites what the
database holds: an existing building keeps its name, community, kind and counted figures.
Grids for a community without any plan become its active initial plan (:data:`INITIAL_PLAN_NAME`,
audited ``plan_initial``); a community with plans takes new grids only into a named draft.
Every write of grids or buildings recomputes the buildings' stored grid
(:func:`gridmap.repository.refresh_building_grids`) in the same transaction.

Rows are checked as a whole too (:mod:`gridmap.validation`): a member's phone is a mainland
mobile or landline number (stored in one form), their dates possible (not before the Party's
founding or after today, no registration before joining); a resolved or evaluated request has
its resolution time, and the grid it names lies in its community (its building's, else the one
its point lies in). Optional columns are optional: a request file without descriptions stores
empty ones. The dry run needs the permission the import needs (``import``), and its messages
show a member's name and the fields that differ only to a role that may see personal data.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from sqlalchemy import Connection, Engine, select

from gridmap import auth
from gridmap.auth import mask_name
from gridmap.db import connect
from gridmap.i18n import pair
from gridmap.io.database import read_columns
from gridmap.io.derive import (
    derive_buildings,
    locate_communities,
)
from gridmap.io.layers import COORD_FIELDS, Field, LayerSpec, file_error, layer_spec
from gridmap.io.parsing import Collector, is_blank, parse_fields, spreadsheet_geometry
from gridmap.io.placing import check_geometry, describe_crs, place_geometry, street_extent
from gridmap.io.sources import SourceTable
from gridmap.models import PartyCoverage, PlanStatus
from gridmap.repository import read_table, table
from gridmap.validation import (
    ValueProblem,
    check_member_dates,
    check_request_times,
    normalise_phone,
)

#: Name of the plan that grids imported for a community without any plan become (active).
INITIAL_PLAN_NAME = "初始方案"

# --- column mapping ---------------------------------------------------------------------------


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-()()]", "", str(text)).lower()


def import_fields(layer: str | LayerSpec, spreadsheet: bool) -> tuple[Field, ...]:
    """The fields a layer's columns can map to (plus lon/lat/WKT for spreadsheets)."""
    spec = layer if isinstance(layer, LayerSpec) else layer_spec(layer)
    extra = COORD_FIELDS if spreadsheet and spec.geometry else ()
    return spec.fields + extra


def suggest_mapping(source: SourceTable, layer: str | LayerSpec) -> dict[str, str]:
    """A column → field mapping guessed from the column names (English, Chinese, the short
    names Shapefiles keep, and the ``Name`` of KML). Users confirm or change it."""
    spec = layer if isinstance(layer, LayerSpec) else layer_spec(layer)
    fields = import_fields(spec, source.geometry is None)
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for col in source.columns:
        key = _norm(col)
        for f in fields:
            if f.name in taken:
                continue
            names = {_norm(f.name), _norm(f.zh), *(_norm(a) for a in f.aliases)}
            if key in names:
                mapping[col] = f.name
                taken.add(f.name)
                break
    return mapping


# --- preparing an import: parse, place, validate ----------------------------------------------


@dataclass
class ImportPlan:
    """What an import would do — the dry run — and the rows to write.

    Attributes
    ----------
    layer : LayerSpec
    file : str
    added : pandas.DataFrame
        New rows, in table columns (a GeoDataFrame for spatial layers).
    changed : pandas.DataFrame
        Existing rows that would be updated (``id`` of the row in the database).
    unchanged : int
        Rows already in the database exactly as in the file, left alone.
    repaired : list of int
        Rows or features whose invalid geometry was repaired (make_valid), as users count them.
    swapped : bool
        Whether latitude and longitude were exchanged.
    source_crs : str
        The coordinate system the file was read in.
    warnings : list of str
    derived : dict of str to int
        Rows to write with a value the file does not hold, derived: ``community`` (from the
        location), ``name`` (buildings: from the address or code), ``households`` and
        ``residents`` (buildings: estimated, flagged in the database).
    initial_plans : dict of int to str
        Grids: communities (id → code) without any plan, whose grids become their active
        initial plan when the import is written.
    active_communities : set of int
        Grids: communities whose active plan the import changes (the buildings' stored grids
        are recomputed for them).
    grid_communities : pandas.Series, optional
        Grids: the community id of each added row (index of :attr:`added`).
    """

    layer: LayerSpec
    file: str
    added: pd.DataFrame
    changed: pd.DataFrame
    unchanged: int
    repaired: list[int] = field(default_factory=list)
    swapped: bool = False
    source_crs: str = "EPSG:4326"
    warnings: list[str] = field(default_factory=list)
    persons: pd.DataFrame | None = None  # members: person rows to add or update
    written: bool = False
    derived: dict[str, int] = field(default_factory=dict)
    initial_plans: dict[int, str] = field(default_factory=dict)
    active_communities: set[int] = field(default_factory=set)
    grid_communities: pd.Series | None = None

    def summary(self) -> dict[str, int]:
        """Counts: ``added``, ``changed``, ``unchanged``, ``repaired``."""
        return {
            "added": len(self.added),
            "changed": len(self.changed),
            "unchanged": self.unchanged,
            "repaired": len(self.repaired),
        }

    def describe(self) -> str:
        """One bilingual sentence for the CLI and the page."""
        s = self.summary()
        text = (
            f"{self.layer.zh}: 新增 {s['added']} 条,更新 {s['changed']} 条,"
            f"不变 {s['unchanged']} 条 / {self.layer.en}: {s['added']} to add, "
            f"{s['changed']} to change, {s['unchanged']} left alone"
        )
        if self.repaired:
            rows = ", ".join(map(str, self.repaired[:10]))
            text += f";修复无效几何 {len(self.repaired)} 处 / repaired geometry: {rows}"
        if self.swapped:
            text += ";已交换经纬度 / latitude and longitude swapped"
        if self.initial_plans:
            codes = ", ".join(sorted(self.initial_plans.values()))
            text += (
                f";社区 {codes} 尚无网格方案:这些网格将成为其生效的“{INITIAL_PLAN_NAME}” / "
                f"community {codes} has no grid plan yet: these grids become its active "
                "initial plan"
            )
        unit = pair("栋") if self.layer.name == "buildings" else pair("条")
        words = {
            "community": pair("按位置确定社区"),
            "name": pair("名称取自地址或编码"),
            "households": pair("估算户数"),
            "residents": pair("估算人口"),
        }
        for key, (zh, en) in words.items():
            n = self.derived.get(key, 0)
            if n:
                text += f";{zh} {n} {unit[0]} / {en} {n} {unit[1]}"
        return text


def _plan_commands(code: str, file: str) -> tuple[str, str]:
    """The sentence that names the commands for importing grids into a draft."""
    return (
        f"社区 {code} 已有网格方案,新的网格请导入草案并经审批后生效:先运行 "
        f"gridmap plan new --community {code},再运行 gridmap import grids {file} --plan ID"
        "(ID 为新草案的编号)",
        f"community {code} already has grid plans: import the grids into a draft and have it "
        f"approved — run `gridmap plan new --community {code}`, then "
        f"`gridmap import grids {file} --plan ID` (the new draft's id)",
    )


def _resolve_plans(
    values: pd.DataFrame,
    refs: pd.DataFrame,
    by_field: Mapping[str, str],
    bind: Engine | Connection,
    plan: str | None,
    out: Collector,
) -> tuple[dict[int, str], set[int]]:
    """Grids: the plan each row goes into.

    Without ``plan``, a community without any plan gets a new active initial plan (its rows
    keep ``plan_id`` empty until it is written), a community whose active plan holds no grid
    yet fills it, and any other community is refused with the commands that make a draft.
    With ``plan``, the named plan of each community, which must be a draft.

    Returns
    -------
    tuple
        Communities (id → code) to get an initial plan, and communities whose active plan
        the import changes.
    """
    plans = read_columns(bind, "grid_plan", ["id", "community_id", "name", "status"])
    grid = table("grid")
    with connect(bind) as conn:
        filled = {p for (p,) in conn.execute(select(grid.c.plan_id).group_by(grid.c.plan_id))}
    col = by_field.get("community_code", "community_code")
    refs["plan_id"] = pd.Series([None] * len(refs), index=refs.index, dtype=object)
    initial: dict[int, str] = {}
    active_changed: set[int] = set()
    rows = refs["community_id"].notna()
    communities = pd.Series(refs["community_id"][rows].astype(int), index=refs.index[rows])
    first = communities.reset_index().drop_duplicates("community_id")
    for index, cid in zip(first.iloc[:, 0], first["community_id"], strict=True):
        mine = communities.index[communities.to_numpy() == cid]
        code = values.at[index, "community_code"]
        own = plans[plans["community_id"] == cid]
        if plan is None:
            active = own[own["status"] == PlanStatus.active.value]
            if own.empty:
                initial[int(cid)] = str(code)
                active_changed.add(int(cid))
            elif len(active) and int(active["id"].iloc[0]) not in filled:
                refs.loc[mine, "plan_id"] = int(active["id"].iloc[0])
                active_changed.add(int(cid))
            else:
                out.add(index, col, *_plan_commands(str(code), out.source.name))
            continue
        chosen = own[(own["name"] == plan) | (own["id"].astype(str) == str(plan))]
        if chosen.empty:
            out.add(
                index,
                col,
                f"社区 {code} 没有名为 {plan!r} 的网格方案",
                f"community {code} has no grid plan {plan!r}",
            )
        elif chosen["status"].iloc[0] != PlanStatus.draft.value:
            status = chosen["status"].iloc[0]
            out.add(
                index,
                col,
                f"方案 {plan!r} 的状态为 {status},网格只能导入草案;请先运行 "
                f"gridmap plan new --community {code}",
                f"plan {plan!r} is {status}: grids import into a draft only; run "
                f"`gridmap plan new --community {code}` first",
            )
        else:
            refs.loc[mine, "plan_id"] = int(chosen["id"].iloc[0])
    return initial, active_changed


def _resolve_refs(
    spec: LayerSpec,
    values: pd.DataFrame,
    by_field: Mapping[str, str],
    bind: Engine | Connection,
    out: Collector,
    geoms: np.ndarray | None = None,
) -> tuple[pd.DataFrame, pd.Series]:
    """Codes that point at other layers turned into ids, each layer read in one query.

    Buildings and grids without a community (no column, a blank cell, or for grids no code
    prefix naming one) get the community holding most of their footprint.

    Returns
    -------
    tuple
        The ids (one column per reference), and which rows' community was located.
    """
    refs = pd.DataFrame(index=values.index)
    located = pd.Series(False, index=values.index)

    def resolve(fname: str, known: Mapping[str, Any], what: tuple[str, str]) -> pd.Series:
        col = by_field.get(fname, fname)
        ids = []
        for index, code in values[fname].items():
            if code is None:
                ids.append(None)
                continue
            if code not in known:
                out.add(
                    index,
                    col,
                    f"{what[0]} {code!r} 在数据库中不存在",
                    f"unknown {what[1]} {code!r}: not in the database",
                )
                ids.append(None)
            else:
                ids.append(known[code])
        return pd.Series(ids, index=values.index, dtype=object)

    names = {f.name for f in spec.fields}
    if "street_code" in names:
        streets = read_columns(bind, "street", ["id", "code"])
        if streets.empty:
            out.add(
                None,
                None,
                "数据库中还没有街道;请先运行 gridmap street create --code 街道编码 --name 街道名称"
                "(或 gridmap demo、gridmap restore 备份文件)",
                "the database holds no street yet: run `gridmap street create --code CODE "
                "--name NAME` first (or `gridmap demo`, or `gridmap restore BACKUP`)",
            )
            refs["street_id"] = None
        elif values["street_code"].isna().all():
            if len(streets) > 1:
                out.add(
                    None,
                    "street_code",
                    "数据库中有多个街道,请提供街道编码列",
                    "the database holds several streets: map a street_code column",
                )
            refs["street_id"] = int(streets["id"].iloc[0])
            values["street_code"] = streets["code"].iloc[0]
        else:
            refs["street_id"] = resolve(
                "street_code",
                dict(zip(streets["code"], streets["id"], strict=True)),
                pair("街道编码", "sentence"),
            )
    if "community_code" in names:
        com = read_table(bind, "community")
        known = dict(zip(com["code"], com["id"], strict=True))
        if spec.name == "grids" and "community_code" not in by_field:
            # grid codes are street–community–grid: the community is the code's prefix
            prefix = values["code"].map(
                lambda c: c.rsplit("-", 1)[0] if isinstance(c, str) and "-" in c else None
            )
            values["community_code"] = prefix.where(prefix.isin(list(known)), None)
        refs["community_id"] = resolve("community_code", known, pair("社区编码"))
        if spec.name in ("buildings", "grids"):
            if com.empty:
                out.add(
                    None,
                    None,
                    "数据库中还没有社区;请先导入社区(gridmap import communities 文件)",
                    "the database holds no community yet: import them first "
                    "(`gridmap import communities FILE`)",
                )
            else:
                missing = values["community_code"].isna()
                located = locate_communities(
                    spec,
                    values,
                    refs,
                    missing,
                    geoms,
                    com,
                    by_field.get("community_code", "community_code"),
                    out,
                )
    if "grid_code" in names:
        grid, gp = table("grid"), table("grid_plan")
        with connect(bind) as conn:
            rows = conn.execute(
                select(grid.c.id, grid.c.code)
                .join(gp, gp.c.id == grid.c.plan_id)
                .where(gp.c.status == PlanStatus.active.value)
            ).fetchall()
        refs["grid_id"] = resolve(
            "grid_code", {c: i for i, c in rows}, pair("网格编码", "sentence")
        )
    if "building_code" in names:
        b = read_columns(bind, "building", ["id", "code"])
        refs["building_id"] = resolve(
            "building_code",
            dict(zip(b["code"], b["id"], strict=True)),
            pair("楼栋编码", "sentence"),
        )
    if "party_org" in names:
        orgs = read_columns(bind, "party_org", ["id", "name"])
        counts = orgs["name"].value_counts()
        known = {n: i for n, i in zip(orgs["name"], orgs["id"], strict=True) if counts[n] == 1}
        for index, name in values["party_org"].items():
            if name is not None and counts.get(name, 0) > 1:
                out.add(
                    index,
                    by_field.get("party_org", "party_org"),
                    f"党组织名称 {name!r} 不唯一",
                    f"party organisation {name!r} is ambiguous",
                )
        refs["party_org_id"] = resolve(
            "party_org",
            {**known, **{n: None for n in counts.index if counts[n] > 1}},
            pair("党组织", "io.imports: resolve refs"),
        )
    return refs, located


def _member_key(name: Any, phone: Any) -> str:
    return f"{name}|{'' if is_blank(phone) else phone}"


def _stored_phone(phone: Any) -> Any:
    """A stored phone in the form imports store (:func:`normalise_phone`), as it is when it is
    not a valid number (stored before phones were checked)."""
    try:
        return normalise_phone(phone)
    except ValueProblem:
        return phone


def _problem_rows(out: Collector) -> set[int]:
    return {i.row for i in out.issues if i.row is not None}


def _check_rows(
    spec: LayerSpec, values: pd.DataFrame, by_field: Mapping[str, str], out: Collector
) -> None:
    """The checks of :mod:`gridmap.validation` that take a row as a whole (rows with a problem
    of their own already are not checked again); members' phones normalised in place."""
    if spec.name not in ("members", "requests"):
        return
    bad = _problem_rows(out)
    columns = ["phone", "joined_on", "registered_on"] if spec.name == "members" else [
        "status", "received_at", "resolved_at"]  # fmt: skip
    for index, *cells in values[columns].itertuples(name=None):
        if out.row(index) in bad:
            continue
        row = dict(zip(columns, cells, strict=True))
        problems = []
        if spec.name == "members":
            try:
                values.at[index, "phone"] = normalise_phone(row["phone"])
            except ValueProblem as problem:
                problems.append(problem)
            try:
                check_member_dates(row["joined_on"], row["registered_on"])
            except ValueProblem as problem:
                problems.append(problem)
        else:
            try:
                check_request_times(row["status"], row["received_at"], row["resolved_at"])
            except ValueProblem as problem:
                problems.append(problem)
        for problem in problems:
            out.add(index, by_field.get(problem.field, problem.field), problem.zh, problem.en)


def _check_request_places(
    values: pd.DataFrame,
    refs: pd.DataFrame,
    geoms: np.ndarray | None,
    by_field: Mapping[str, str],
    bind: Engine | Connection,
    out: Collector,
) -> None:
    """Requests: the grid a row names must lie in the request's community — its building's
    community, else the community its point lies in."""
    named = refs["grid_id"].notna()
    if not named.any():
        return
    grid, gp = table("grid"), table("grid_plan")
    with connect(bind) as conn:
        grid_rows = conn.execute(
            select(grid.c.id, grid.c.code, gp.c.community_id).join(gp, gp.c.id == grid.c.plan_id)
        ).all()
    of_grid = {int(g): int(c) for g, _, c in grid_rows}
    com = read_table(bind, "community")
    code_of = dict(zip(com["id"].astype(int), com["code"], strict=True))
    b = read_columns(bind, "building", ["id", "community_id"])
    of_building = dict(zip(b["id"].astype(int), b["community_id"], strict=True))
    polygons = com[com.geometry.notna()]
    inside: dict[int, set[int]] = {}
    if geoms is not None and len(polygons):
        rows = np.flatnonzero(named.to_numpy())
        points = np.asarray(geoms, dtype=object)[rows]
        usable = ~shapely.is_missing(points)
        tree = shapely.STRtree(np.asarray(polygons.geometry.values, dtype=object))
        p, c = tree.query(points[usable], predicate="intersects")
        ids = polygons["id"].to_numpy()[c]
        for r, cid in zip(rows[usable][p], ids, strict=True):
            inside.setdefault(int(r), set()).add(int(cid))
    col = by_field.get("grid_code", "grid_code")
    for pos, index in enumerate(values.index):
        gid = refs.at[index, "grid_id"]
        if gid is None or pd.isna(gid) or int(gid) not in of_grid:
            continue
        mine = of_grid[int(gid)]
        bid = refs.at[index, "building_id"] if "building_id" in refs else None
        if bid is not None and not pd.isna(bid) and not pd.isna(of_building.get(int(bid))):
            theirs = {int(of_building[int(bid)])}
            where = pair("所在楼栋属于")
        else:
            theirs = inside.get(pos, set())
            where = pair("位于")
        if theirs and mine not in theirs:
            other = code_of.get(min(theirs), min(theirs))
            code = values.at[index, "grid_code"]
            out.add(
                index,
                col,
                f"网格 {code} 属于社区 {code_of.get(mine, mine)},而诉求{where[0]}社区 {other};"
                "诉求的网格须在其所在社区内",
                f"grid {code} belongs to community {code_of.get(mine, mine)}, but {where[1]} "
                f"community {other}: a request's grid must be in its community",
            )


def _rows_for_table(spec: LayerSpec, values: pd.DataFrame, refs: pd.DataFrame) -> pd.DataFrame:
    """Parsed values and resolved ids in the columns of the layer's table (blank building
    figures stay blank: :func:`derive_buildings` fills them)."""
    out = pd.DataFrame(index=values.index)
    for f in spec.fields:
        if not f.stored or f.kind == "ref":
            continue
        if f.name in ("name", "phone", "id_suffix") and spec.name == "members":
            continue
        out[f.name] = values[f.name]
    for col in refs.columns:
        out[col] = refs[col]
    if spec.name == "requests":
        out["reporter"] = out["reporter"].map(lambda v: mask_name(v) if v else v)
        out["description"] = out["description"].map(lambda v: "" if v is None else v)
    if spec.name == "members":
        out["status"] = out["status"].map(lambda v: v or "active")
    if spec.name == "organisations":
        for col in ("employees", "members"):
            out[col] = out[col].map(lambda v: 0 if v is None else v)
        out["coverage"] = out["coverage"].map(lambda v: v or PartyCoverage.none.value)
    if spec.name == "grids":
        out = out.drop(columns=["community_id"])
    return out


def _comparable(value: Any) -> Any:
    if is_blank(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    return value


def _same_geometry(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    a = shapely.MultiPolygon([a]) if a.geom_type == "Polygon" else a
    b = shapely.MultiPolygon([b]) if b.geom_type == "Polygon" else b
    return bool(shapely.equals_exact(shapely.normalize(a), shapely.normalize(b), tolerance=1e-9))


def prepare_import(
    bind: Engine | Connection,
    layer: str | LayerSpec,
    source: SourceTable,
    mapping: Mapping[str, str] | None = None,
    *,
    crs: str | int | pyproj.CRS | None = None,
    swap_latlon: bool = False,
    fix_invalid: bool = False,
    update: bool = False,
    plan: str | None = None,
) -> ImportPlan:
    """Validate a file against the layer and the database and say what an import would do.

    Parameters
    ----------
    bind : Engine or Connection
        A Connection's open transaction is joined: layers written earlier in it are seen.
    layer : str or LayerSpec
        ``communities``, ``grids``, ``buildings``, ``stations``, ``members``, ``requests`` or
        ``organisations``.
    source : SourceTable
        From :func:`read_source`.
    mapping : dict, optional
        Column → field; default :func:`suggest_mapping`. Unmapped columns are ignored.
    crs : optional
        The coordinates' CRS when the file declares none or declares it wrongly: an EPSG code,
        ``wgs84``, ``cgcs2000``, ``gcj02`` (高德/腾讯) or ``bd09`` (百度).
    swap_latlon : bool
        Exchange latitude and longitude (offered when they look swapped).
    fix_invalid : bool
        Repair invalid polygons with ``make_valid`` (reported in :attr:`ImportPlan.repaired`).
    update : bool
        Let rows whose code is in the database with other values update them; otherwise such
        rows are refused as duplicates.
    plan : str, optional
        Grids: the name (or id) of the draft to import into. Without it, a community without
        any plan gets its grids as its active initial plan (:data:`INITIAL_PLAN_NAME`), one
        whose active plan holds no grid yet fills it, and any other is refused with the
        commands that make a draft (``gridmap plan new``).

    Returns
    -------
    ImportPlan
        The dry run: rows to add, to change, how many are left alone, and what was derived
        (:attr:`ImportPlan.derived`).

    Raises
    ------
    ImportRejected
        Listing every problem (file, row or feature, field). Nothing is written.
    """
    auth.current_principal().require("import")  # a dry run tells as much as the import
    spec = layer if isinstance(layer, LayerSpec) else layer_spec(layer)
    out = Collector(source)
    spreadsheet = source.geometry is None
    if mapping is None:
        mapping = suggest_mapping(source, spec)
    mapping = {str(c): f for c, f in mapping.items() if f}
    allowed = {f.name for f in import_fields(spec, spreadsheet)}
    for col, fname in mapping.items():
        if col not in source.columns:
            out.add(None, col, f"文件中没有列 {col!r}", f"the file has no column {col!r}")
        if fname not in allowed:
            out.add(
                None,
                col,
                f"{spec.zh}没有字段 {fname!r};可选:{', '.join(sorted(allowed))}",
                f"{spec.en} have no field {fname!r}; choose from {', '.join(sorted(allowed))}",
            )
    targets = list(mapping.values())
    for fname in {t for t in targets if targets.count(t) > 1}:
        cols = [c for c, f in mapping.items() if f == fname]
        out.add(
            None,
            fname,
            f"多列对应到同一字段:{', '.join(cols)}",
            f"several columns map to the same field: {', '.join(cols)}",
        )
    out.raise_if_any()

    if source.frame.empty:
        raise file_error(source.name, "文件中没有数据行", "the file has no records")
    values = parse_fields(spec, source, mapping, out)
    index = source.frame.index
    extent = street_extent(bind) if spec.geometry else None
    geoms = None
    source_crs: pyproj.CRS | str = pyproj.CRS.from_epsg(4326)
    swapped, repaired = False, []
    if spec.geometry:
        geoms = (
            spreadsheet_geometry(spec, source, mapping, out)
            if spreadsheet
            else np.asarray(source.geometry, dtype=object)
        )
        geoms, source_crs, swapped = place_geometry(
            spec, geoms, index, source, crs, swap_latlon, extent, out, engine=bind
        )
        geoms, repaired = check_geometry(spec, geoms, index, fix_invalid, extent, out)

    by_field = {f: c for c, f in mapping.items()}
    _check_rows(spec, values, by_field, out)
    # duplicates within the file
    if spec.name == "members":
        keys = pd.Series(
            [_member_key(n, p) for n, p in zip(values["name"], values["phone"], strict=True)],
            index=index,
        )
    else:
        keys = values[spec.key]
    first_row: dict[Any, int] = {}
    key_col = by_field.get(spec.key, spec.key)
    for idx, key in keys.items():
        if key is None or (spec.name == "members" and values.at[idx, "name"] is None):
            continue
        if key in first_row:
            out.add(
                idx,
                key_col,
                f"{spec.field(spec.key).zh} {str(key).split('|')[0]!r} 与第 "
                f"{first_row[key]} {source.unit[0].lstrip('个')}重复",
                f"duplicate {spec.key} {str(key).split('|')[0]!r}: also in "
                f"{source.unit[1]} {first_row[key]}",
            )
        else:
            first_row[key] = out.row(idx)

    refs, located = _resolve_refs(spec, values, by_field, bind, out, geoms)
    if spec.name == "requests":
        _check_request_places(values, refs, geoms, by_field, bind, out)
    initial: dict[int, str] = {}
    active_changed: set[int] = set()
    if spec.name == "grids":
        initial, active_changed = _resolve_plans(values, refs, by_field, bind, plan, out)
    out.raise_if_any()

    rows = _rows_for_table(spec, values, refs)
    if geoms is not None:
        rows["geom"] = geoms
    existing = _existing_rows(bind, spec)
    masks: dict[str, pd.Series] = {"community": located}
    if spec.name == "buildings":
        masks = derive_buildings(rows, values, located, existing, keys)
    grid_communities = refs["community_id"] if spec.name == "grids" else None
    added, changed, unchanged, persons = _diff_against_database(
        existing, spec, rows, values, keys, update, by_field, out
    )
    out.raise_if_any()
    written = added.index.union(changed.index)
    derived = {k: int(m.reindex(written, fill_value=False).sum()) for k, m in masks.items()}
    if grid_communities is not None:
        grid_communities = grid_communities.reindex(added.index)
        grid_communities = grid_communities[added["plan_id"].isna()].astype(int)
    return ImportPlan(
        layer=spec,
        file=source.name,
        added=added,
        changed=changed,
        unchanged=unchanged,
        repaired=repaired,
        swapped=swapped,
        source_crs=describe_crs(source_crs),
        persons=persons,
        derived={k: n for k, n in derived.items() if n},
        initial_plans=initial,
        active_communities=active_changed,
        grid_communities=grid_communities,
    )


def _existing_rows(bind: Engine | Connection, spec: LayerSpec) -> pd.DataFrame:
    """The layer's rows in the database, with ``_key`` (what identifies a row of the file)."""
    if spec.name == "members":
        return _existing_members(bind)
    existing = read_table(bind, spec.table)
    if spec.name == "grids":
        existing["_key"] = list(zip(existing["plan_id"], existing["code"], strict=True))
    else:
        existing["_key"] = existing[spec.key]
    return existing


def _diff_against_database(
    existing: pd.DataFrame,
    spec: LayerSpec,
    rows: pd.DataFrame,
    values: pd.DataFrame,
    keys: pd.Series,
    update: bool,
    by_field: Mapping[str, str],
    out: Collector,
) -> tuple[pd.DataFrame, pd.DataFrame, int, pd.DataFrame | None]:
    """Split rows into new, changed and unchanged against the database rows ``existing``
    (:func:`_existing_rows`)."""
    if spec.name == "grids":
        keys = pd.Series(list(zip(rows["plan_id"], rows["code"], strict=True)), index=rows.index)
    by_key = {k: i for i, k in zip(existing.index, existing["_key"], strict=True)}
    compare = [c for c in rows.columns if c in existing.columns]
    personal = auth.current_principal().personal_data
    new_idx, changed_idx, changed_ids, unchanged = [], [], [], 0
    for idx, key in keys.items():
        if key not in by_key:
            new_idx.append(idx)
            continue
        old = existing.loc[by_key[key]]
        diffs = []
        for c in compare:
            a, b = rows.at[idx, c], old[c]
            if c == "geom":
                if not _same_geometry(a, b):
                    diffs.append(c)
            elif _comparable(a) != _comparable(b):
                diffs.append(c)
        if not diffs:
            unchanged += 1
        elif update:
            changed_idx.append(idx)
            changed_ids.append(int(old["id"]))
        else:
            shown_key = str(key[1] if isinstance(key, tuple) else key).split("|")[0]
            which = which_en = ", ".join(diffs)
            if spec.name == "members" and not personal:  # never who is a member, nor how
                shown_key, which, which_en = mask_name(shown_key), "其他字段", "other fields"
            out.add(
                idx,
                by_field.get(spec.key, spec.key),
                f"{spec.field(spec.key).zh} {shown_key!r} 已在数据库中,且 {which} "
                "不同;如要更新请选择“更新已有记录”(命令行 --update)",
                f"{spec.key} {shown_key!r} is already in the database with a different "
                f"{which_en}; choose update (--update) to change it",
            )
    added = rows.loc[new_idx].copy()
    changed = rows.loc[changed_idx].copy()
    changed["id"] = changed_ids
    persons = None
    if spec.name == "members":
        persons = values.loc[new_idx + changed_idx, ["name", "phone", "id_suffix"]].copy()
        old_person = dict(zip(existing.index, existing["person_id"], strict=True))
        persons["id"] = [None] * len(new_idx) + [
            int(old_person[by_key[keys[i]]]) for i in changed_idx
        ]
    if spec.geometry:
        added = gpd.GeoDataFrame(added, geometry="geom", crs=4326)
        changed = gpd.GeoDataFrame(changed, geometry="geom", crs=4326)
    return added, changed, unchanged, persons


def _existing_members(bind: Engine | Connection) -> pd.DataFrame:
    member, person = table("member"), table("person")
    with connect(bind) as conn:
        result = conn.execute(
            select(member, person.c.name, person.c.phone, person.c.id_suffix).join(
                person, person.c.id == member.c.person_id
            )
        )
        frame = pd.DataFrame.from_records(result.fetchall(), columns=list(result.keys()))
    frame["_key"] = [
        _member_key(n, _stored_phone(p)) for n, p in zip(frame["name"], frame["phone"], strict=True)
    ]
    return frame
