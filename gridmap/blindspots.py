"""Blind spots (党建盲区): organisations, buildings and new compounds Party coverage misses.

The grid must leave no blind spot: office towers and shopping streets full of small private
firms and social organisations (两新组织), and newly built compounds, are where Party
organisation coverage most often breaks. This module checks them with the rules of the issue
(thresholds from :mod:`gridmap.settings`, read at call time):

- an organisation with ``BRANCH_MIN_MEMBERS`` (3) or more Party members working there needs a
  branch of its own (``own_branch``);
- one with 1–2 members needs a joint branch (``joint_branch``, 联合党支部) or its own;
- one with no members needs at least a Party-building liaison (``liaison``, 党建指导员), or any
  branch;
- an organisation not meeting its rule is **uncovered** (a blind spot);
- a commercial, office or mixed-use building holding an uncovered organisation is a
  **blind-spot building** (党建盲区楼宇);
- a compound completed in or after ``NEW_COMPOUND_SINCE_YEAR`` whose activity space is not
  reserved (``activity_space_reserved`` False) is flagged (新建小区未配建党群活动场所).

For the uncovered small organisations (fewer than ``BRANCH_MIN_MEMBERS`` members) it proposes
joint branches: organisations are linked when their buildings lie within ``ORG_ADJACENT_M``
metres of each other (地域相邻, an STRtree ``dwithin`` query) **and** their industries are
similar (行业相近: the same, or related in ``RELATED_INDUSTRIES``); each connected group of two
or more is one proposal. :func:`liaison_load` counts each liaison's organisations.

Everything here is pure: (Geo)DataFrames in, (Geo)DataFrames out, no database, no UI.

Inputs (columns beyond these are ignored)
    organisations : ``id, code, name, community_id, building_id, industry, members,
        coverage`` (``kind, employees, liaison_id, party_org_id`` optional).
    buildings : ``id, code, kind`` and polygons (``community_id, name, households,
        completion_year, activity_space_reserved`` used where present).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from gridmap import settings
from gridmap.crs import to_metric
from gridmap.errors import InputError
from gridmap.i18n import LANGS, pair, text

__all__ = [
    "BLIND_SPOT_BUILDING_KINDS",
    "COVERAGE_LABELS",
    "ORGANISATION_COLUMNS",
    "BlindSpots",
    "analyse_blind_spots",
    "blind_spot_buildings",
    "compound_names",
    "joint_branch_proposals",
    "liaison_load",
    "new_compounds_without_space",
    "organisation_status",
    "similar_industries",
]

#: Columns an organisations frame needs.
ORGANISATION_COLUMNS: tuple[str, ...] = (
    "id",
    "code",
    "name",
    "community_id",
    "building_id",
    "industry",
    "members",
    "coverage",
)
#: Building uses whose uncovered organisations make them blind-spot buildings.
BLIND_SPOT_BUILDING_KINDS: tuple[str, ...] = ("commercial", "office", "mixed")
#: Party coverage of an organisation: code → (中文, English).
COVERAGE_LABELS: dict[str, tuple[str, str]] = {
    "own_branch": pair("单独建立党支部"),
    "joint_branch": pair("联合党支部"),
    "liaison": pair("仅选派党建指导员"),
    "none": pair("未覆盖", "coverage"),
}
_COVERAGES = tuple(COVERAGE_LABELS)


def _check(frame: object, name: str, columns: Sequence[str]) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a (Geo)DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"{name} 缺少列 / lacks the column(s) {', '.join(missing)}; "
            f"it needs {', '.join(columns)}"
        )


def _check_organisations(organisations: pd.DataFrame) -> None:
    _check(organisations, "organisations", ORGANISATION_COLUMNS)
    members = pd.to_numeric(organisations["members"], errors="coerce")
    bad = members.isna() | (members < 0)
    if bad.any():
        codes = organisations.loc[bad, "code"].head(5).tolist()
        raise InputError(f"党员人数无效 / organisations {codes} have no valid member count (≥ 0)")
    unknown = ~organisations["coverage"].isin(_COVERAGES)
    if unknown.any():
        codes = organisations.loc[unknown, "code"].head(5).tolist()
        raise InputError(
            f"覆盖方式无效 / organisations {codes} have an unknown coverage; "
            f"known: {', '.join(_COVERAGES)}"
        )


def _check_buildings(buildings: gpd.GeoDataFrame, columns: Sequence[str]) -> None:
    _check(buildings, "buildings", columns)
    if not isinstance(buildings, gpd.GeoDataFrame) or buildings.crs is None:
        raise InputError("buildings must be a GeoDataFrame with a CRS, e.g. .set_crs(4326)")


def organisation_status(organisations: pd.DataFrame) -> pd.DataFrame:
    """Each organisation's required coverage and whether it meets it.

    Parameters
    ----------
    organisations : pandas.DataFrame
        :data:`ORGANISATION_COLUMNS`; ``coverage`` one of :data:`COVERAGE_LABELS`.

    Returns
    -------
    pandas.DataFrame
        The organisations (same index) plus ``required`` (``own_branch``, ``joint_branch`` or
        ``liaison``: the least coverage the rule asks for), ``covered`` (bool) and ``reason``
        and ``reason_en`` (why it is uncovered, in Chinese and in English; empty when covered).
    """
    _check_organisations(organisations)
    members = pd.to_numeric(organisations["members"]).to_numpy()
    coverage = organisations["coverage"].to_numpy()
    own = members >= settings.BRANCH_MIN_MEMBERS
    some = ~own & (members > 0)
    required = np.where(own, "own_branch", np.where(some, "joint_branch", "liaison"))
    covered = np.where(
        own,
        coverage == "own_branch",
        np.where(some, np.isin(coverage, ["own_branch", "joint_branch"]), coverage != "none"),
    )
    names = organisations["name"].astype(str).to_numpy()
    codes = organisations["code"].astype(str).to_numpy()
    should = {
        "own_branch": pair("应单独建立党支部"),
        "joint_branch": pair("应建立或加入联合党支部"),
        "liaison": pair("应至少选派党建指导员"),
    }

    def reasons(i: int) -> list[str]:
        lang = LANGS[i]
        return [
            ""
            if ok
            else text(
                "{name}（{code}）：党员 {members} 名，{should}，现为“{now}”",
                lang,
                name=n,
                code=code,
                members=m,
                should=should[r][i],
                now=COVERAGE_LABELS[c][i],
            )
            for n, code, m, r, c, ok in zip(
                names, codes, members, required, coverage, covered, strict=True
            )
        ]

    return organisations.assign(
        required=required, covered=covered.astype(bool), reason=reasons(0), reason_en=reasons(1)
    )


def blind_spot_buildings(
    organisations: pd.DataFrame, buildings: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Commercial, office and mixed-use buildings holding at least one uncovered organisation.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per such building, in the buildings' CRS: ``building_id, building_code,
        community_id, kind, organisations`` (all located there), ``uncovered`` (how many are
        uncovered), ``uncovered_codes`` (their codes, "、"-joined) and the building geometry.
    """
    _check_buildings(buildings, ("id", "code", "kind"))
    status = organisation_status(organisations)
    located = status[status["building_id"].notna()]
    per = located.groupby("building_id").agg(
        organisations=("id", "size"), uncovered=("covered", lambda c: int((~c).sum()))
    )
    codes = (
        located[~located["covered"]]
        .groupby("building_id")["code"]
        .agg(lambda c: "、".join(sorted(map(str, c))))
    )
    kinds = buildings["kind"].astype(str)
    mask = kinds.isin(BLIND_SPOT_BUILDING_KINDS).to_numpy()
    ids = buildings["id"].to_numpy()
    uncovered = per["uncovered"].reindex(ids, fill_value=0).to_numpy()
    mask &= uncovered > 0
    chosen = buildings[mask]
    cid = chosen["community_id"].to_numpy() if "community_id" in chosen else [None] * len(chosen)
    return gpd.GeoDataFrame(
        {
            "building_id": chosen["id"].to_numpy(),
            "building_code": chosen["code"].to_numpy(),
            "community_id": cid,
            "kind": kinds[mask].to_numpy(),
            "organisations": per["organisations"].reindex(chosen["id"]).to_numpy(dtype=np.int64),
            "uncovered": uncovered[mask].astype(np.int64),
            "uncovered_codes": codes.reindex(chosen["id"]).to_numpy(),
        },
        geometry=np.asarray(chosen.geometry.values, dtype=object),
        crs=buildings.crs,
    )


def compound_names(buildings: pd.DataFrame) -> pd.Series:
    """The compound (小区) of each building: its name without a trailing 「N栋」, else its code."""
    names = buildings["name"] if "name" in buildings else pd.Series(None, index=buildings.index)
    stripped = names.astype("string").str.replace(r"\s*\d+\s*[栋幢号楼]$", "", regex=True)
    return stripped.where(stripped.notna() & (stripped != ""), buildings["code"].astype(str))


def new_compounds_without_space(
    buildings: gpd.GeoDataFrame, since_year: int | None = None
) -> gpd.GeoDataFrame:
    """New compounds (completed in or after ``since_year``) without reserved activity space.

    Parameters
    ----------
    buildings : geopandas.GeoDataFrame
        ``id, code`` and polygons; ``completion_year`` and ``activity_space_reserved`` (absent
        columns: nothing is flagged); ``name`` groups buildings into compounds
        (:func:`compound_names`); ``community_id`` and ``households`` are carried along.
    since_year : int, optional
        Default ``settings.NEW_COMPOUND_SINCE_YEAR``. Only ``activity_space_reserved`` False
        counts: unknown (None) is not flagged.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per flagged compound: ``compound, community_id, completion_year, buildings,
        households, building_ids`` (tuple) and the union of its buildings.
    """
    _check_buildings(buildings, ("id", "code"))
    since = settings.NEW_COMPOUND_SINCE_YEAR if since_year is None else int(since_year)
    columns = ["compound", "community_id", "completion_year", "buildings", "households"]
    if not {"completion_year", "activity_space_reserved"} <= set(buildings.columns):
        flagged = np.zeros(len(buildings), dtype=bool)
    else:
        year = pd.to_numeric(buildings["completion_year"], errors="coerce").to_numpy(dtype=float)
        reserved = buildings["activity_space_reserved"]
        flagged = (np.nan_to_num(year, nan=-1) >= since) & reserved.eq(False).to_numpy()
    part = buildings[flagged]
    if not len(part):
        empty = {c: [] for c in columns} | {"building_ids": []}
        return gpd.GeoDataFrame(empty, geometry=[], crs=buildings.crs)
    frame = pd.DataFrame(
        {
            "compound": compound_names(part).to_numpy(),
            "community_id": part["community_id"].to_numpy() if "community_id" in part else None,
            "completion_year": pd.to_numeric(part["completion_year"]).to_numpy(),
            "households": pd.to_numeric(part["households"]).fillna(0).to_numpy()
            if "households" in part
            else 0,
            "id": part["id"].to_numpy(),
            "geom": np.asarray(part.geometry.values, dtype=object),
        }
    )
    groups = frame.groupby(["community_id", "compound"], sort=True, dropna=False)
    out = groups.agg(
        completion_year=("completion_year", "max"),
        buildings=("id", "size"),
        households=("households", "sum"),
        building_ids=("id", tuple),
    ).reset_index()
    geoms = [shapely.union_all(np.asarray(g["geom"], dtype=object)) for _, g in groups]
    out["households"] = out["households"].astype(np.int64)
    return gpd.GeoDataFrame(out, geometry=geoms, crs=buildings.crs)


def similar_industries(
    a: Sequence[str], b: Sequence[str], related: Mapping[str, Sequence[str]] | None = None
) -> np.ndarray:
    """Element-wise: are industries ``a[i]`` and ``b[i]`` the same or related (行业相近)?

    ``related`` (default ``settings.RELATED_INDUSTRIES``) is read both ways.
    """
    table = settings.RELATED_INDUSTRIES if related is None else related
    pairs = {(x, y) for x, ys in table.items() for y in ys}
    pairs |= {(y, x) for x, y in pairs}
    a, b = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
    linked = np.fromiter(((x, y) in pairs for x, y in zip(a, b, strict=True)), bool, len(a))
    return (a == b) | linked


_PROPOSAL_COLUMNS = (
    "proposal",
    "organisations",
    "members",
    "viable",
    "community_id",
    "industries",
    "names",
    "codes",
    "organisation_ids",
)


def joint_branch_proposals(
    organisations: pd.DataFrame,
    buildings: gpd.GeoDataFrame,
    distance_m: float | None = None,
    related: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Proposed joint branches (联合党支部) for uncovered small organisations.

    Candidates are the uncovered organisations with fewer than ``BRANCH_MIN_MEMBERS`` members
    that sit in a known building. Two candidates are linked when their buildings are within
    ``distance_m`` metres (地域相邻; STRtree ``dwithin`` in the local UTM zone) and their
    industries are similar (:func:`similar_industries`); every connected group of two or more
    is one proposal.

    Parameters
    ----------
    organisations, buildings
        As in the module docstring.
    distance_m : float, optional
        Default ``settings.ORG_ADJACENT_M``.
    related : mapping, optional
        Related industries; default ``settings.RELATED_INDUSTRIES``.

    Returns
    -------
    pandas.DataFrame
        One row per proposal, largest first: ``proposal`` (1, 2, …), ``organisations``
        (count), ``members`` (sum), ``viable`` (members reach ``BRANCH_MIN_MEMBERS``),
        ``community_id`` (most organisations'), ``industries``, ``names``, ``codes`` ("、"-
        joined) and ``organisation_ids`` (tuple).
    """
    _check_buildings(buildings, ("id", "code"))
    distance = settings.ORG_ADJACENT_M if distance_m is None else float(distance_m)
    if distance < 0:
        raise InputError(f"距离不能为负 / distance_m must be ≥ 0, got {distance}")
    status = organisation_status(organisations)
    small = pd.to_numeric(status["members"]) < settings.BRANCH_MIN_MEMBERS
    cand = status[~status["covered"] & small & status["building_id"].notna()]
    positions = pd.Index(buildings["id"]).get_indexer(cand["building_id"].to_numpy())
    cand = cand[positions >= 0].reset_index(drop=True)
    positions = positions[positions >= 0]
    if len(cand) < 2:
        return pd.DataFrame({c: [] for c in _PROPOSAL_COLUMNS})
    metric = to_metric(buildings.reset_index(drop=True))
    geoms = np.asarray(metric.geometry.values, dtype=object)[positions]
    i, j = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=distance)
    keep = i < j
    i, j = i[keep], j[keep]
    industry = cand["industry"].astype(str).to_numpy()
    ok = similar_industries(industry[i], industry[j], related)
    i, j = i[ok], j[ok]
    n = len(cand)
    graph = coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    cand = cand.assign(_group=labels)
    sizes = cand["_group"].map(cand["_group"].value_counts())
    grouped = cand[sizes.to_numpy() >= 2].groupby("_group", sort=True)
    rows = []
    for _, g in grouped:
        g = g.sort_values("code")
        members = int(pd.to_numeric(g["members"]).sum())
        rows.append(
            {
                "organisations": len(g),
                "members": members,
                "viable": members >= settings.BRANCH_MIN_MEMBERS,
                "community_id": g["community_id"].mode().iloc[0],
                "industries": "、".join(dict.fromkeys(g["industry"].astype(str))),
                "names": "、".join(g["name"].astype(str)),
                "codes": "、".join(g["code"].astype(str)),
                "organisation_ids": tuple(g["id"].tolist()),
            }
        )
    out = pd.DataFrame(rows, columns=list(_PROPOSAL_COLUMNS[1:]))
    out = out.sort_values(["organisations", "members"], ascending=False, kind="stable")
    out.insert(0, "proposal", np.arange(1, len(out) + 1))
    return out.reset_index(drop=True)


def liaison_load(organisations: pd.DataFrame, persons: pd.DataFrame | None = None) -> pd.DataFrame:
    """Organisations per Party-building liaison (党建指导员).

    Returns
    -------
    pandas.DataFrame
        One row per liaison, busiest first: ``liaison_id``, ``name`` (from ``persons``
        ``id, name`` when given), ``organisations``, ``members`` and ``employees`` (sums) and
        ``overloaded`` (more than ``settings.LIAISON_MAX_ORGANISATIONS``).
    """
    _check(organisations, "organisations", ("id", "liaison_id"))
    part = organisations[organisations["liaison_id"].notna()]
    employees = part["employees"] if "employees" in part else pd.Series(0, index=part.index)
    members = part["members"] if "members" in part else pd.Series(0, index=part.index)
    table = (
        pd.DataFrame(
            {
                "liaison_id": part["liaison_id"].astype(np.int64),
                "members": pd.to_numeric(members).fillna(0),
                "employees": pd.to_numeric(employees).fillna(0),
                "one": 1,
            }
        )
        .groupby("liaison_id", sort=True)
        .agg(
            organisations=("one", "sum"), members=("members", "sum"), employees=("employees", "sum")
        )
        .reset_index()
    )
    for column in ("organisations", "members", "employees"):
        table[column] = table[column].astype(np.int64)
    names = {}
    if persons is not None and {"id", "name"} <= set(persons.columns):
        names = dict(zip(persons["id"], persons["name"], strict=True))
    table.insert(1, "name", [names.get(p) for p in table["liaison_id"]])
    table["overloaded"] = table["organisations"] > settings.LIAISON_MAX_ORGANISATIONS
    table = table.sort_values(["organisations", "liaison_id"], ascending=[False, True])
    return table.reset_index(drop=True)


@dataclass(frozen=True)
class BlindSpots:
    """Everything :func:`analyse_blind_spots` found.

    Attributes
    ----------
    organisations : pandas.DataFrame
        Every organisation with ``required``, ``covered`` and ``reason``
        (:func:`organisation_status`).
    uncovered : pandas.DataFrame
        The uncovered ones.
    buildings : geopandas.GeoDataFrame
        :func:`blind_spot_buildings`.
    compounds : geopandas.GeoDataFrame
        :func:`new_compounds_without_space`.
    proposals : pandas.DataFrame
        :func:`joint_branch_proposals`.
    liaisons : pandas.DataFrame
        :func:`liaison_load`.
    """

    organisations: pd.DataFrame
    uncovered: pd.DataFrame
    buildings: gpd.GeoDataFrame
    compounds: gpd.GeoDataFrame
    proposals: pd.DataFrame
    liaisons: pd.DataFrame

    @property
    def summary(self) -> dict[str, int]:
        """Headline counts."""
        return {
            "organisations": len(self.organisations),
            "organisations_uncovered": len(self.uncovered),
            "blind_spot_buildings": len(self.buildings),
            "compounds_no_activity_space": len(self.compounds),
            "proposed_joint_branches": len(self.proposals),
            "liaisons": len(self.liaisons),
        }


def analyse_blind_spots(
    organisations: pd.DataFrame,
    buildings: gpd.GeoDataFrame,
    persons: pd.DataFrame | None = None,
) -> BlindSpots:
    """Run every blind-spot check (see the module docstring) at once."""
    status = organisation_status(organisations)
    return BlindSpots(
        organisations=status,
        uncovered=status[~status["covered"]].reset_index(drop=True),
        buildings=blind_spot_buildings(organisations, buildings),
        compounds=new_compounds_without_space(buildings),
        proposals=joint_branch_proposals(organisations, buildings),
        liaisons=liaison_load(organisations, persons),
    )
