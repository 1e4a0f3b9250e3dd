"""Importing a file into a layer: column mapping, the dry run, and the write.

1. :func:`suggest_mapping` — columns mapped to fields by their names;
2. :func:`prepare_import` — every row validated against the file and the database (one query
   per layer), giving an :class:`ImportPlan` of what would be added, changed and left alone —
   the dry run — or an :class:`~gridmap.io.layers.ImportRejected` listing every problem;
3. :func:`apply_import` — the plan written in one transaction: all rows or none.

:func:`import_file` does all three for the CLI.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from sqlalchemy import Engine, select

from gridmap import auth
from gridmap.auth import mask_name
from gridmap.db import transaction
from gridmap.io.database import max_id, read_columns, update_rows
from gridmap.io.layers import COORD_FIELDS, Field, LayerSpec, file_error, layer_spec
from gridmap.io.parsing import Collector, is_blank, parse_fields, spreadsheet_geometry
from gridmap.io.placing import check_geometry, describe_crs, place_geometry, street_extent
from gridmap.io.sources import SourceTable, read_source
from gridmap.models import PartyCoverage, PlanStatus
from gridmap.repository import insert_frame, read_table, table

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
        return text


def _resolve_refs(
    spec: LayerSpec,
    values: pd.DataFrame,
    by_field: Mapping[str, str],
    engine: Engine,
    plan: str | None,
    out: Collector,
) -> pd.DataFrame:
    """Codes that point at other layers turned into ids, each layer read in one query."""
    refs = pd.DataFrame(index=values.index)

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
        streets = read_columns(engine, "street", ["id", "code"])
        if streets.empty:
            out.add(
                None,
                None,
                "数据库中还没有街道;请先建立街道(gridmap demo 或恢复备份)",
                "the database holds no street yet; create one first",
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
                ("街道编码", "street code"),
            )
    if "community_code" in names:
        com = read_columns(engine, "community", ["id", "code"])
        known = dict(zip(com["code"], com["id"], strict=True))
        if spec.name == "grids" and "community_code" not in by_field:
            # grid codes are street–community–grid: the community is the code's prefix
            values["community_code"] = values["code"].map(
                lambda c: c.rsplit("-", 1)[0] if isinstance(c, str) and "-" in c else None
            )
            for index, c in values["community_code"].items():
                if c is None and values.at[index, "code"] is not None:
                    out.add(
                        index,
                        "community_code",
                        "缺少社区编码(网格编码中也读不出)",
                        "no community code (and none in the grid code)",
                    )
        refs["community_id"] = resolve("community_code", known, ("社区编码", "community code"))
    if spec.name == "grids":
        plans = read_columns(engine, "grid_plan", ["id", "community_id", "name", "status"])
        if plan is None:
            chosen = plans[plans["status"] == PlanStatus.active.value]
            what = ("没有生效的网格方案", "has no active grid plan")
        else:
            chosen = plans[(plans["name"] == plan) | (plans["id"].astype(str) == str(plan))]
            what = (f"没有名为 {plan!r} 的网格方案", f"has no grid plan {plan!r}")
        by_community = dict(zip(chosen["community_id"], chosen["id"], strict=False))
        plan_ids = []
        for index, cid in refs["community_id"].items():
            if cid is None:
                plan_ids.append(None)
            elif cid not in by_community:
                code = values.at[index, "community_code"]
                out.add(
                    index,
                    by_field.get("community_code", "community_code"),
                    f"社区 {code} {what[0]}",
                    f"community {code} {what[1]}",
                )
                plan_ids.append(None)
            else:
                plan_ids.append(int(by_community[cid]))
        refs["plan_id"] = plan_ids
    if "grid_code" in names:
        grid, gp = table("grid"), table("grid_plan")
        with engine.connect() as conn:
            rows = conn.execute(
                select(grid.c.id, grid.c.code)
                .join(gp, gp.c.id == grid.c.plan_id)
                .where(gp.c.status == PlanStatus.active.value)
            ).fetchall()
        refs["grid_id"] = resolve("grid_code", {c: i for i, c in rows}, ("网格编码", "grid code"))
    if "building_code" in names:
        b = read_columns(engine, "building", ["id", "code"])
        refs["building_id"] = resolve(
            "building_code",
            dict(zip(b["code"], b["id"], strict=True)),
            ("楼栋编码", "building code"),
        )
    if "party_org" in names:
        orgs = read_columns(engine, "party_org", ["id", "name"])
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
            ("党组织", "party organisation"),
        )
    return refs


def _member_key(name: Any, phone: Any) -> str:
    return f"{name}|{'' if is_blank(phone) else phone}"


def _rows_for_table(spec: LayerSpec, values: pd.DataFrame, refs: pd.DataFrame) -> pd.DataFrame:
    """Parsed values and resolved ids in the columns of the layer's table."""
    out = pd.DataFrame(index=values.index)
    for f in spec.fields:
        if f.kind == "ref" or (f.name in ("name", "phone", "id_suffix") and spec.name == "members"):
            continue
        out[f.name] = values[f.name]
    for col in refs.columns:
        out[col] = refs[col]
    if spec.name == "buildings":
        out["households"] = out["households"].map(lambda v: 0 if v is None else v)
        out["residents"] = out["residents"].map(lambda v: 0 if v is None else v)
    if spec.name == "requests":
        out["reporter"] = out["reporter"].map(lambda v: mask_name(v) if v else v)
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
    engine: Engine,
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
    engine : Engine
    layer : str or LayerSpec
        ``communities``, ``grids``, ``buildings``, ``stations``, ``members`` or ``requests``.
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
        Grids: the name (or id) of the plan to import into; default each community's active plan.

    Returns
    -------
    ImportPlan
        The dry run: rows to add, to change, and how many are left alone.

    Raises
    ------
    ImportRejected
        Listing every problem (file, row or feature, field). Nothing is written.
    """
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
    extent = street_extent(engine) if spec.geometry else None
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
            spec, geoms, index, source, crs, swap_latlon, extent, out
        )
        geoms, repaired = check_geometry(spec, geoms, index, fix_invalid, extent, out)

    by_field = {f: c for c, f in mapping.items()}
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

    refs = _resolve_refs(spec, values, by_field, engine, plan, out)
    out.raise_if_any()

    rows = _rows_for_table(spec, values, refs)
    if geoms is not None:
        rows["geom"] = geoms
    added, changed, unchanged, persons = _diff_against_database(
        engine, spec, rows, values, keys, update, by_field, out
    )
    out.raise_if_any()
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
    )


def _diff_against_database(
    engine: Engine,
    spec: LayerSpec,
    rows: pd.DataFrame,
    values: pd.DataFrame,
    keys: pd.Series,
    update: bool,
    by_field: Mapping[str, str],
    out: Collector,
) -> tuple[pd.DataFrame, pd.DataFrame, int, pd.DataFrame | None]:
    """Split rows into new, changed and unchanged against the database (one query per table)."""
    if spec.name == "members":
        existing = _existing_members(engine)
    else:
        existing = read_table(engine, spec.table)
        if spec.name == "grids":
            existing["_key"] = list(zip(existing["plan_id"], existing["code"], strict=True))
        else:
            existing["_key"] = existing[spec.key]
    if spec.name == "grids":
        keys = pd.Series(list(zip(rows["plan_id"], rows["code"], strict=True)), index=rows.index)
    by_key = {k: i for i, k in zip(existing.index, existing["_key"], strict=True)}
    compare = [c for c in rows.columns if c in existing.columns]
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
            out.add(
                idx,
                by_field.get(spec.key, spec.key),
                f"{spec.field(spec.key).zh} {shown_key!r} 已在数据库中,且 {', '.join(diffs)} "
                "不同;如要更新请选择“更新已有记录”(命令行 --update)",
                f"{spec.key} {shown_key!r} is already in the database with a different "
                f"{', '.join(diffs)}; choose update (--update) to change it",
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


def _existing_members(engine: Engine) -> pd.DataFrame:
    member, person = table("member"), table("person")
    with engine.connect() as conn:
        result = conn.execute(
            select(member, person.c.name, person.c.phone, person.c.id_suffix).join(
                person, person.c.id == member.c.person_id
            )
        )
        frame = pd.DataFrame.from_records(result.fetchall(), columns=list(result.keys()))
    frame["_key"] = [_member_key(n, p) for n, p in zip(frame["name"], frame["phone"], strict=True)]
    return frame


# --- writing ----------------------------------------------------------------------------------


def apply_import(engine: Engine, plan: ImportPlan) -> dict[str, int]:
    """Write an :class:`ImportPlan` in one transaction (all or nothing).

    Returns
    -------
    dict
        ``added``, ``changed``, ``unchanged`` counts.
    """
    spec = plan.layer
    principal = auth.current_principal()
    principal.require("import")
    with transaction(engine) as conn:
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
        else:
            insert_frame(conn, spec.table, plan.added)
            update_rows(conn, spec.table, plan.changed)
    plan.written = True
    return {"added": len(plan.added), "changed": len(plan.changed), "unchanged": plan.unchanged}


def import_file(
    engine: Engine,
    layer: str,
    path: str | Path,
    *,
    dry_run: bool = False,
    name: str | None = None,
    mapping: Mapping[str, str] | None = None,
    **options: Any,
) -> ImportPlan:
    """Read, validate and (unless ``dry_run``) write a file: the CLI's ``gridmap import``.

    ``options`` are those of :func:`prepare_import`. Raises :class:`ImportRejected` (nothing
    written) when the file has problems.
    """
    source = read_source(path, name)
    plan = prepare_import(engine, layer, source, mapping, **options)
    if not dry_run:
        apply_import(engine, plan)
    return plan
