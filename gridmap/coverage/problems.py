"""Problems of the whole check: one row per problem, of every kind, in report order, with a
sentence naming the thing and the number in Chinese (``detail``) and in English
(``detail_en``): both are built here, from the catalogue's two templates of each sentence,
so a page, an export or the report shows the user's language without checking again."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridmap.coverage.context import Context
from gridmap.coverage.kinds import PROBLEM_COLUMNS, PROBLEM_KINDS
from gridmap.coverage.prepare import geom_array, household_counts, ids_at, polygon_parts
from gridmap.coverage.rules import ServiceReach
from gridmap.i18n import LANGS, Language, pair, text


def _m2(area: float, lang: Language) -> str:
    shown = f"{area:,.1f}" if area < 10 else f"{area:,.0f}"
    return text("{area} 平方米", lang, area=shown)


def _m(distance: float, lang: Language) -> str:
    return text("{distance} 米", lang, distance=f"{distance:,.0f}")


def _pct(share: float) -> str:
    return f"{share * 100:.0f}%"


def _pct1(share: float) -> str:
    return f"{share * 100:.1f}%"


#: Buildings a gap's message names before "等 N 栋".
_NAMED_IN_GAP = 5


def _named_buildings(ctx: Context, ids: Sequence, lang: Language) -> str:
    """The buildings of a gap for its message: "：1栋、2栋" (the first few, then 等 N 栋)."""
    if not len(ids):
        return ""
    shown = text("、", lang).join(ctx.building_name[b] for b in list(ids)[:_NAMED_IN_GAP])
    if len(ids) > _NAMED_IN_GAP:
        return text("：{shown} 等 {n} 栋", lang, shown=shown, n=len(ids))
    return text("：{shown}", lang, shown=shown)


def _in(message: tuple[str, str], lang: Language) -> str:
    """One language's template of a ``(中文, English)`` pair."""
    return message[LANGS.index(lang)]


def _both(sentence: Callable[[Language], list[str]]) -> dict[str, list[str]]:
    """``detail`` and ``detail_en`` of a problem frame: the sentences in each language."""
    return dict(zip(("detail", "detail_en"), (sentence(lang) for lang in LANGS), strict=True))


def _problem_frame(
    kind: str, rows: dict[str, Sequence], geoms: Sequence, crs: pyproj.CRS | None
) -> gpd.GeoDataFrame:
    """Problems of one kind with every column of :data:`PROBLEM_COLUMNS`."""
    n = len(geoms)
    data: dict[str, object] = {}
    for column in PROBLEM_COLUMNS:
        if column == "kind":
            data[column] = [kind] * n
        elif column == "label":
            data[column] = [PROBLEM_KINDS[kind][0]] * n
        elif column in rows:
            data[column] = pd.Series(list(rows[column]), dtype=object)
        else:
            data[column] = pd.Series([None] * n, dtype=object)
    geometry = np.asarray(list(geoms), dtype=object) if n else []
    return gpd.GeoDataFrame(data, geometry=geometry, crs=crs).rename_geometry("geom")


def collect_problems(
    ctx: Context,
    gaps: gpd.GeoDataFrame,
    overlaps: gpd.GeoDataFrame,
    outside: gpd.GeoDataFrame,
    invalid: gpd.GeoDataFrame,
    leadership: pd.DataFrame,
    sizes: pd.DataFrame,
    reach: ServiceReach,
    extra: Sequence[gpd.GeoDataFrame] = (),
) -> gpd.GeoDataFrame:
    """Every problem of one check in one frame of :data:`PROBLEM_COLUMNS`, in report order."""
    crs = ctx.grids.crs
    frames = [
        *extra,
        *_gap_problems(ctx, gaps, crs),
        *_overlap_problems(ctx, overlaps, crs),
        _outside_problems(ctx, outside, crs),
        _invalid_problems(ctx, invalid, crs),
        *_assignment_problems(ctx, gaps, crs),
        *_leadership_problems(ctx, leadership, crs),
        *_size_problems(ctx, sizes, crs),
        _reach_problems(ctx, reach, crs),
    ]
    frames = [f for f in frames if len(f)]
    if not frames:
        return _problem_frame("gap", {}, [], crs)
    problems = pd.concat(frames, ignore_index=True)
    order = {kind: i for i, kind in enumerate(PROBLEM_KINDS)}
    code_order = {c: i for i, c in enumerate(sorted(ctx.community_code.values()))}
    problems = problems.assign(
        _k=problems["kind"].map(order),
        _c=problems["community_code"].map(code_order).fillna(len(code_order)),
        _a=-pd.to_numeric(problems["area_m2"], errors="coerce").fillna(0.0),
    )
    problems = problems.sort_values(["_k", "_c", "_a"], kind="stable")
    problems = problems.drop(columns=["_k", "_c", "_a"]).reset_index(drop=True)
    return gpd.GeoDataFrame(problems, geometry="geom", crs=crs)


def _gap_problems(ctx: Context, gaps: gpd.GeoDataFrame, crs: pyproj.CRS) -> list:
    names = ctx.community_name
    frames = []
    for kind, mask in (("gap", ~gaps["is_sliver"]), ("gap_sliver", gaps["is_sliver"])):
        part = gaps[mask.to_numpy(dtype=bool)]
        if kind == "gap":
            details = _both(
                lambda lang, part=part: [
                    text(
                        "{community} 有 {area}未被任何网格覆盖（{n} 栋楼、{households:,} 户"
                        "{named}）",
                        lang,
                        community=names[c],
                        area=_m2(a, lang),
                        n=n,
                        households=h,
                        named=_named_buildings(ctx, ids, lang),
                    )
                    for c, a, n, h, ids in zip(
                        part["community_id"],
                        part["area_m2"],
                        part["buildings"],
                        part["households"],
                        part["building_ids"],
                        strict=True,
                    )
                ]
            )
        else:
            details = _both(
                lambda lang, part=part: [
                    text(
                        "{community} 网格之间有 {area}的细小缝隙",
                        lang,
                        community=names[c],
                        area=_m2(a, lang),
                    )
                    for c, a in zip(part["community_id"], part["area_m2"], strict=True)
                ]
            )
        rows = {
            "community_id": part["community_id"],
            "community_code": part["community_code"],
            "area_m2": part["area_m2"],
            "households": part["households"],
            **details,
        }
        frames.append(_problem_frame(kind, rows, part.geometry, crs))
    return frames


def _overlap_problems(ctx: Context, overlaps: gpd.GeoDataFrame, crs: pyproj.CRS) -> list:
    codes = ctx.community_code
    frames = []
    for kind, mask in (
        ("overlap", ~overlaps["is_sliver"]),
        ("overlap_sliver", overlaps["is_sliver"]),
    ):
        part = overlaps[mask.to_numpy(dtype=bool)]
        message = (
            pair("{grids} 重叠 {area}") if kind == "overlap" else pair("{grids} 有细小重叠 {area}")
        )
        rows = {
            "community_id": part["community_id"],
            "community_code": [codes[c] for c in part["community_id"]],
            "grid_id": part["grid_a"],
            "grid_code": part["grid_a_code"],
            "other_grid_code": part["grid_b_code"],
            "area_m2": part["area_m2"],
            **_both(
                lambda lang, part=part, message=message: [
                    _in(message, lang).format(grids=_grid_pair(ctx, a, b, lang), area=_m2(s, lang))
                    for a, b, s in zip(part["grid_a"], part["grid_b"], part["area_m2"], strict=True)
                ]
            ),
        }
        frames.append(_problem_frame(kind, rows, part.geometry, crs))
    return frames


def _grid_pair(ctx: Context, a: object, b: object, lang: Language) -> str:
    """Two grids named for a message: the community once when both are in it."""
    com_a, com_b = ctx.grid_community[a], ctx.grid_community[b]
    if com_a == com_b and com_a in ctx.community_name:
        return text(
            "{community} {a} 与 {b}",
            lang,
            community=ctx.community_name[com_a],
            a=ctx.grid_name[a],
            b=ctx.grid_name[b],
        )
    return text("{a} 与 {b}", lang, a=ctx.grid_label[a], b=ctx.grid_label[b])


def _outside_problems(ctx: Context, outside: gpd.GeoDataFrame, crs: pyproj.CRS) -> gpd.GeoDataFrame:
    codes = ctx.community_code
    rows = {
        "community_id": outside["community_id"],
        "community_code": [codes[c] for c in outside["community_id"]],
        "grid_id": outside["grid_id"],
        "grid_code": outside["grid_code"],
        "area_m2": outside["area_m2"],
        "share": outside["share"],
        **_both(
            lambda lang: [
                text(
                    "{grid} 有 {area}（{share}）超出本社区边界",
                    lang,
                    grid=ctx.grid_label[g],
                    area=_m2(a, lang),
                    share=_pct(s),
                )
                for g, a, s in zip(
                    outside["grid_id"], outside["area_m2"], outside["share"], strict=True
                )
            ]
        ),
    }
    return _problem_frame("outside_community", rows, outside.geometry, crs)


def _invalid_problems(ctx: Context, invalid: gpd.GeoDataFrame, crs: pyproj.CRS) -> gpd.GeoDataFrame:
    names, codes = ctx.grid_label, ctx.community_code
    rows = {
        "community_id": invalid["community_id"],
        "community_code": [codes[c] for c in invalid["community_id"]],
        "grid_id": invalid["grid_id"],
        "grid_code": invalid["grid_code"],
        **_both(
            lambda lang: [
                text(
                    "{grid} 边界与相邻网格不吻合（无效边长 {length:,.1f} 米）",
                    lang,
                    grid=names[g],
                    length=length,
                )
                for g, length in zip(invalid["grid_id"], invalid["length_m"], strict=True)
            ]
        ),
    }
    return _problem_frame("invalid_coverage", rows, invalid.geometry, crs)


def _building_rows(ctx: Context, building_ids: pd.Series) -> dict[str, list]:
    communities, codes = ctx.building_community, ctx.community_code
    com = [communities[b] for b in building_ids]
    return {
        "community_id": com,
        "community_code": [codes.get(c) for c in com],
        "building_id": list(building_ids),
        "building_code": [ctx.building_code[b] for b in building_ids],
    }


def _assignment_problems(ctx: Context, gaps: gpd.GeoDataFrame, crs: pyproj.CRS) -> list:
    table = ctx.assignment.buildings
    geoms = geom_array(ctx.buildings)
    households = household_counts(ctx.buildings)
    names, grid_names = ctx.building_label, ctx.grid_name
    mostly = table["mostly_outside"].to_numpy(dtype=bool)
    lone = table["grid_id"].isna().to_numpy() & ~mostly
    ids = table.loc[lone, "building_id"]
    rows = _building_rows(ctx, ids)
    rows["households"] = households[lone]
    rows |= _both(
        lambda lang: [
            text("{building}（{households:,} 户）不在任何网格内", lang, building=names[b],
                 households=h)
            for b, h in zip(ids, households[lone], strict=True)
        ]
    )  # fmt: skip
    unassigned = _problem_frame("building_unassigned", rows, geoms[lone], crs)
    outside = _mostly_outside_problems(ctx, gaps, mostly, households, crs)

    split = table["is_split"].to_numpy()
    ids = table.loc[split, "building_id"]
    shares = ctx.assignment.splits.groupby("building_id", sort=False)
    parts = {
        b: [f"{grid_names[g]} {_pct(s)}" for g, s in zip(f["grid_id"], f["share"], strict=True)]
        for b, f in shares
    }
    grids = table.loc[split, "grid_id"]
    rows = _building_rows(ctx, ids)
    rows |= {
        "grid_id": list(grids),
        "grid_code": [ctx.grid_code[g] for g in grids],
        "households": households[split],
        "share": table.loc[split, "share"],
        **_both(
            lambda lang: [
                text(
                    "{building} 跨 {n} 个网格：{grids}",
                    lang,
                    building=names[b],
                    n=n,
                    grids=text("、", lang).join(parts[b]),
                )
                for b, n in zip(ids, table.loc[split, "n_grids"], strict=True)
            ]
        ),
    }
    return [unassigned, outside, _problem_frame("building_split", rows, geoms[split], crs)]


def _mostly_outside_problems(
    ctx: Context,
    gaps: gpd.GeoDataFrame,
    mostly: np.ndarray,
    households: np.ndarray,
    crs: pyproj.CRS,
) -> gpd.GeoDataFrame:
    """Buildings partly in a grid but mostly outside every grid: in no grid, their households
    in the gap holding most of their outside part (named in the message)."""
    table = ctx.assignment.buildings
    ids = table.loc[mostly, "building_id"]
    share = table.loc[mostly, "outside_share"].to_numpy(dtype=float)
    geoms = geom_array(ctx.buildings)[mostly]
    gap_of = {b: i for i, held in enumerate(gaps["building_ids"]) for b in held}
    names, communities = ctx.community_name, gaps["community_id"].to_numpy()
    held = [gap_of.get(b) for b in ids]

    def where(i: int | None, lang: Language) -> str:
        if i is None:
            return text("，网格外部分不在任何社区内", lang)
        return text(
            "，位于{community} 一处 {area}的{what}",
            lang,
            community=names.get(communities[i], ""),
            area=_m2(gaps["area_m2"].iloc[i], lang),
            what=text("细小缝隙", lang, context="problem details")
            if gaps["is_sliver"].iloc[i]
            else text("未覆盖区域", lang, context="problem details"),
        )

    rows = _building_rows(ctx, ids)
    rows |= {
        "area_m2": share * shapely.area(geoms),
        "households": households[mostly],
        "share": share,
        **_both(
            lambda lang: [
                text(
                    "{building} 的 {share} 在所有网格之外（{households:,} 户）{where}",
                    lang,
                    building=ctx.building_label[b],
                    share=_pct1(s),
                    households=h,
                    where=where(i, lang),
                )
                for b, s, h, i in zip(ids, share, households[mostly], held, strict=True)
            ]
        ),
    }
    return _problem_frame("building_mostly_outside", rows, geoms, crs)


def _leadership_problems(ctx: Context, leadership: pd.DataFrame, crs: pyproj.CRS) -> list:
    frames = []
    for kind, message in (
        ("grid_no_leader", pair("{grid} 未配备网格长")),
        ("grid_no_branch", pair("{grid} 未建立党支部或党小组")),
    ):
        ids = leadership.loc[leadership["kind"] == kind, "grid_id"]
        details = _both(
            lambda lang, ids=ids, message=message: [
                _in(message, lang).format(grid=ctx.grid_label[g]) for g in ids
            ]
        )
        frames.append(_grid_problem(ctx, kind, ids, details, crs))
    part = leadership[leadership["kind"] == "building_no_leader"]
    ids = part["building_id"]
    rows = _building_rows(ctx, ids)
    rows["grid_id"] = ids_at(ctx.grids["id"], _grid_positions(ctx, ids)).tolist()
    rows["grid_code"] = [None if pd.isna(g) else ctx.grid_code[g] for g in rows["grid_id"]]
    rows["households"] = part["households"]
    rows |= _both(
        lambda lang: [
            text("{building}（{households:,} 户）未配备楼栋长", lang,
                 building=ctx.building_label[b], households=h)
            for b, h in zip(ids, part["households"], strict=True)
        ]
    )  # fmt: skip
    geoms = geom_array(ctx.buildings)[pd.Index(ctx.buildings["id"]).get_indexer(ids)]
    frames.append(_problem_frame("building_no_leader", rows, geoms, crs))
    return frames


def blind_spot_problems(
    ctx: Context, organisations: pd.DataFrame, crs: pyproj.CRS
) -> list[gpd.GeoDataFrame]:
    """Uncovered organisations (at their building, else their community), blind-spot buildings
    and new compounds without activity space (:mod:`gridmap.blindspots`)."""
    from gridmap import blindspots

    status = blindspots.organisation_status(organisations)
    bad = status[~status["covered"]]
    bld_pos = pd.Index(ctx.buildings["id"]).get_indexer(bad["building_id"].to_numpy())
    com_pos = pd.Index(ctx.communities["id"]).get_indexer(bad["community_id"].to_numpy())
    seen = (bld_pos >= 0) | (com_pos >= 0)  # outside the layers given (another scope): skip
    bad, bld_pos, com_pos = bad[seen], bld_pos[seen], com_pos[seen]
    bgeo, cgeo = geom_array(ctx.buildings), geom_array(ctx.communities)
    geoms = np.empty(len(bad), dtype=object)
    inside = bld_pos >= 0
    geoms[inside] = bgeo[bld_pos[inside]]
    geoms[~inside] = shapely.point_on_surface(cgeo[com_pos[~inside]])
    bid = ctx.buildings["id"].to_numpy()
    building_ids = [bid[p] if p >= 0 else None for p in bld_pos]
    com = [ctx.building_community[b] if b is not None else c
           for b, c in zip(building_ids, bad["community_id"], strict=True)]  # fmt: skip
    rows = {
        "community_id": com,
        "community_code": [ctx.community_code.get(c) for c in com],
        "building_id": building_ids,
        "building_code": [ctx.building_code.get(b) for b in building_ids],
        "detail": list(bad["reason"]),
        "detail_en": list(bad["reason_en"]),
    }
    frames = [_problem_frame("org_uncovered", rows, geoms, crs)]

    spots = blindspots.blind_spot_buildings(organisations, ctx.buildings)
    rows = _building_rows(ctx, spots["building_id"])
    rows |= _both(
        lambda lang: [
            text("{building}：{n} 个两新组织中 {uncovered} 个未覆盖（{codes}）", lang,
                 building=ctx.building_label[b], n=n, uncovered=u, codes=codes)
            for b, n, u, codes in zip(
                spots["building_id"], spots["organisations"], spots["uncovered"],
                spots["uncovered_codes"], strict=True,
            )
        ]
    )  # fmt: skip
    frames.append(_problem_frame("blind_spot_building", rows, geom_array(spots), crs))

    compounds = blindspots.new_compounds_without_space(ctx.buildings)
    com = list(compounds["community_id"])
    rows = {
        "community_id": com,
        "community_code": [ctx.community_code.get(c) for c in com],
        "households": list(compounds["households"]),
        **_both(
            lambda lang: [
                text("{community} {compound}（{year} 年建成，{n} 栋 {households:,} 户）"
                     "未配建党群活动场所", lang, community=ctx.community_name.get(c, ""),
                     compound=name, year=int(y), n=n, households=h)
                for c, name, y, n, h in zip(
                    com, compounds["compound"], compounds["completion_year"],
                    compounds["buildings"], compounds["households"], strict=True,
                )
            ]
        ),
    }  # fmt: skip
    frames.append(_problem_frame("compound_no_activity_space", rows, geom_array(compounds), crs))
    return frames


def _grid_positions(ctx: Context, building_ids: pd.Series) -> np.ndarray:
    """Position in the grids of the grid each building is assigned to (-1 for none)."""
    table = ctx.assignment.buildings.set_index("building_id")["grid_id"]
    grid_ids = table.reindex(building_ids.to_numpy())
    positions = pd.Index(ctx.grids["id"]).get_indexer(grid_ids.dropna().to_numpy())
    out = np.full(len(grid_ids), -1, dtype=np.int64)
    out[grid_ids.notna().to_numpy()] = positions
    return out


def _grid_problem(
    ctx: Context,
    kind: str,
    grid_ids: pd.Series,
    details: dict[str, list[str]],
    crs: pyproj.CRS,
    **extra,
) -> gpd.GeoDataFrame:
    positions = pd.Index(ctx.grids["id"]).get_indexer(grid_ids.to_numpy())
    communities = ctx.grids["community_id"].to_numpy()[positions]
    rows = {
        "community_id": communities,
        "community_code": [ctx.community_code[c] for c in communities],
        "grid_id": list(grid_ids),
        "grid_code": ctx.grids["code"].to_numpy()[positions],
        **details,
        **extra,
    }
    return _problem_frame(kind, rows, geom_array(ctx.grids)[positions], crs)


def _size_problems(ctx: Context, sizes: pd.DataFrame, crs: pyproj.CRS) -> list:
    frames = []
    for kind, message in (
        ("grid_too_small", pair("{grid} {households:,} 户，低于下限 {limit:,} 户")),
        ("grid_too_large", pair("{grid} {households:,} 户，超过上限 {limit:,} 户")),
    ):
        part = sizes[sizes["kind"] == kind]
        details = _both(
            lambda lang, part=part, message=message: [
                _in(message, lang).format(grid=ctx.grid_label[g], households=h, limit=limit)
                for g, h, limit in zip(
                    part["grid_id"], part["households"], part["limit"], strict=True
                )
            ]
        )
        frames.append(
            _grid_problem(ctx, kind, part["grid_id"], details, crs, households=part["households"])
        )
    return frames


def _reach_problems(ctx: Context, reach: ServiceReach, crs: pyproj.CRS) -> gpd.GeoDataFrame:
    """One problem per grid (and per community for buildings in no grid) holding households
    beyond reach; its geometry is those buildings as one multipolygon (their footprints side by
    side, built in one vectorised call: a per-grid union cost seconds on a city and draws the
    same)."""
    far = reach.buildings["beyond"].to_numpy() & (reach.buildings["households"].to_numpy() > 0)
    if not far.any():
        return _problem_frame("beyond_reach", {}, [], crs)
    grid_ids = ctx.assignment.buildings["grid_id"].to_numpy()[far]
    frame = pd.DataFrame(
        {
            "community_id": ctx.buildings["community_id"].to_numpy()[far],
            "grid_id": grid_ids,
            "households": reach.buildings["households"].to_numpy()[far],
            "distance_m": reach.buildings["distance_m"].to_numpy()[far],
            # a building in no grid is its community's: one problem per community outside grids
            "_in_grid": pd.notna(grid_ids),
        }
    )
    key = frame[["_in_grid", "grid_id", "community_id"]].astype(object)
    key.loc[key["_in_grid"].astype(bool), "community_id"] = None
    key.loc[~key["_in_grid"].astype(bool), "grid_id"] = None
    group = key.groupby(["grid_id", "community_id"], dropna=False, sort=False).ngroup()
    group = group.to_numpy()
    grouped = frame.groupby(group, sort=False).agg(
        community_id=("community_id", "first"),
        grid_id=("grid_id", "first"),
        households=("households", "sum"),
        distance_m=("distance_m", "max"),
    )
    parts, index = polygon_parts(geom_array(ctx.buildings)[far])
    owner = group[index]
    order = np.argsort(owner, kind="stable")  # the parts of one multipolygon side by side
    geometry = shapely.empty(len(grouped), geom_type=shapely.GeometryType.MULTIPOLYGON)
    if len(parts):
        shapely.multipolygons(parts[order], indices=owner[order], out=geometry)
    # buildings sharing a wall make a multipolygon invalid: those few are merged into one shape
    bad = ~shapely.is_valid(geometry)
    geometry[bad] = shapely.make_valid(geometry[bad], method="structure", keep_collapsed=False)
    grids = grouped["grid_id"]
    in_grid = grids.notna().to_numpy()

    def who(lang: Language) -> list[str]:
        return [
            ctx.grid_label[g]
            if ok
            else text("{community} 网格外", lang, community=ctx.community_name.get(c, c))
            for g, c, ok in zip(grids, grouped["community_id"], in_grid, strict=True)
        ]

    def sentences(lang: Language) -> list[str]:
        return [
            text(
                "{who} 有 {households:,} 户距最近党群服务站超过 {radius}",
                lang,
                who=w,
                households=h,
                radius=_m(ctx.radius, lang),
            )
            + (
                text("（最远 {distance}）", lang, distance=_m(d, lang))
                if np.isfinite(d)
                else text("（本街道无党群服务站）", lang)
            )
            for w, h, d in zip(who(lang), grouped["households"], grouped["distance_m"], strict=True)
        ]

    rows = {
        "community_id": grouped["community_id"],
        "community_code": [ctx.community_code.get(c) for c in grouped["community_id"]],
        "grid_id": grids,
        "grid_code": [
            ctx.grid_code[g] if ok else None for g, ok in zip(grids, in_grid, strict=True)
        ],
        "households": grouped["households"],
        "distance_m": grouped["distance_m"],
        **_both(sentences),
    }
    return _problem_frame("beyond_reach", rows, geometry, crs)
