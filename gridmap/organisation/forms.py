"""Organisation-form advice (党组织设置) and the lost-contact / floating member list.

Pure analysis: takes the frames :mod:`gridmap.repository` and
:func:`~gridmap.organisation.reading.load_organisation` load and returns DataFrames; never
touches the database or the UI.

The rule (DESIGN.md §2, thresholds in :mod:`gridmap.settings`)
    A unit (a community or a grid) with at least ``BRANCH_MIN_MEMBERS`` (3) members may form
    its own branch 党支部; ``GENERAL_BRANCH_MIN_MEMBERS`` (50) calls for a general branch 党总支,
    ``COMMITTEE_MIN_MEMBERS`` (101, i.e. more than 100) for a committee 党委. With fewer than 3
    it should join a joint branch 联合党支部 with neighbours that are adjacent on the map
    (地域相邻: polygons within ``ADJACENCY_TOLERANCE_M``, found with an STRtree in the local UTM
    zone) and similar in kind (行业相近: cosine similarity of the member-category mix at least
    ``JOINT_BRANCH_MIN_SIMILARITY``). A branch holding fewer than 3 members' relations needs
    strengthening (充实).

How members are counted
    A unit's ``members`` are the members living in it (their building's grid or community;
    a member without a building counts in the community of their organisation). A branch's
    ``org_members`` are the members whose relation sits in it or under it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap import settings
from gridmap.crs import metric_crs
from gridmap.errors import InputError
from gridmap.i18n import LANGS, language, pair, text
from gridmap.organisation.reading import org_tree
from gridmap.validation import require_frame

__all__ = [
    "ADVICE_COLUMNS",
    "FORM_LABELS",
    "LOST_COLUMNS",
    "STATUS_LABELS",
    "OrgFormAdvice",
    "joint_partners",
    "lost_contact_members",
    "lost_contact_summary",
    "organisation_advice",
    "required_form",
]

#: (中文, English) of each organisation form, "none" for no organisation.
FORM_LABELS: dict[str, tuple[str, str]] = {
    "none": pair("未建"),
    "group": pair("党小组"),
    "joint_branch": pair("联合党支部", "sentence"),
    "branch": pair("党支部"),
    "general_branch": pair("党总支"),
    "committee": pair("党委"),
    "working_committee": pair("党工委"),
}
_RANK = {
    "none": 0,
    "group": 1,
    "joint_branch": 2,
    "branch": 2,
    "general_branch": 3,
    "committee": 4,
    "working_committee": 5,
}
#: (中文, English) of each advice status, in display order (most urgent first).
STATUS_LABELS: dict[str, tuple[str, str]] = {
    "missing": pair("应建未建"),
    "joint": pair("建议联合组建"),
    "strengthen": pair("需充实"),
    "upgrade": pair("应升格"),
    "above_need": pair("规格高于所需"),
    "ok": pair("设置合理"),
}
#: Columns of :attr:`OrgFormAdvice.table`.
ADVICE_COLUMNS: tuple[str, ...] = (
    "level",
    "community_id",
    "community_code",
    "community_name",
    "grid_id",
    "grid_code",
    "grid_name",
    "org_id",
    "org_name",
    "members",
    "org_members",
    "form_needed",
    "form_has",
    "status",
    "partners",
    "combined_members",
    "advice",
    "advice_en",
)
_BRANCH_LIKE = ("branch", "joint_branch", "general_branch")
#: shapely type ids of Polygon (3) and MultiPolygon (6).
_POLYGON_TYPE_IDS = (3, 6)


def required_form(members: Sequence[int] | np.ndarray | pd.Series) -> np.ndarray:
    """The form a member count calls for: committee, general_branch, branch or joint_branch.

    Examples
    --------
    >>> required_form([2, 3, 49, 50, 100, 101]).tolist()
    ['joint_branch', 'branch', 'branch', 'general_branch', 'general_branch', 'committee']
    """
    n = np.asarray(members, dtype=float)
    return np.select(
        [
            n >= settings.COMMITTEE_MIN_MEMBERS,
            n >= settings.GENERAL_BRANCH_MIN_MEMBERS,
            n >= settings.BRANCH_MIN_MEMBERS,
        ],
        ["committee", "general_branch", "branch"],
        default="joint_branch",
    )


@dataclass(frozen=True)
class OrgFormAdvice:
    """The advice for a street.

    Attributes
    ----------
    table : DataFrame
        One row per community (``level="community"``), per active grid (``"grid"``) and per
        branch without a grid that needs strengthening (``"organisation"``); columns
        :data:`ADVICE_COLUMNS`. ``partners`` lists the codes of the proposed joint-branch
        partners (empty when none), ``combined_members`` their members together.
    summary : dict[str, int]
        Rows per status.
    """

    table: pd.DataFrame
    summary: dict[str, int]

    @classmethod
    def of_rows(cls, table: pd.DataFrame) -> OrgFormAdvice:
        """The advice made of these rows (e.g. a table cut to a user's scope), its summary
        counted from them."""
        summary = {s: int((table["status"] == s).sum()) for s in STATUS_LABELS}
        return cls(table=table.reset_index(drop=True), summary=summary)

    def problems(self) -> pd.DataFrame:
        """Rows needing action (everything but ``ok``), most urgent status first."""
        order = {s: i for i, s in enumerate(STATUS_LABELS)}
        rows = self.table[self.table["status"] != "ok"]
        return rows.sort_values(
            ["status", "level", "community_code", "grid_code"],
            key=lambda c: c.map(order) if c.name == "status" else c,
        )


def _category_profile(members: pd.DataFrame, unit: pd.Series, units: pd.Index) -> np.ndarray:
    """Units × categories matrix of member counts (the "kind" of a unit)."""
    cats = sorted(members["category"].dropna().unique())
    if not cats:
        return np.zeros((len(units), 1))
    counts = pd.crosstab(unit, members["category"]).reindex(index=units, columns=cats)
    return counts.fillna(0).to_numpy(dtype=float)


def joint_partners(
    units: gpd.GeoDataFrame,
    small: np.ndarray,
    profiles: np.ndarray,
    tolerance_m: float | None = None,
    min_similarity: float | None = None,
) -> pd.DataFrame:
    """Proposed joint-branch partners of the small units: adjacent and similar in kind.

    Parameters
    ----------
    units : GeoDataFrame
        ``code, members, community_id`` and polygons (any CRS; measured in the local UTM zone).
    small : bool array
        Units needing partners (fewer than ``BRANCH_MIN_MEMBERS`` members).
    profiles : array (units × categories)
        Member counts per category; units with no members are similar to any.
    tolerance_m, min_similarity : float, optional
        Defaults ``settings.ADJACENCY_TOLERANCE_M`` and ``JOINT_BRANCH_MIN_SIMILARITY``.

    Returns
    -------
    DataFrame
        One row per (small unit ``i``, partner ``j``) kept, positional indices, with
        ``similarity``. Candidates are ranked same community first, then other small units,
        then most similar, then fewest members, and taken until the unit and its partners
        together have ``BRANCH_MIN_MEMBERS`` members.
    """
    tol = settings.ADJACENCY_TOLERANCE_M if tolerance_m is None else tolerance_m
    least = settings.JOINT_BRANCH_MIN_SIMILARITY if min_similarity is None else min_similarity
    empty = pd.DataFrame({"i": [], "j": [], "similarity": []}).astype({"i": int, "j": int})
    small = np.asarray(small, dtype=bool)
    if not small.any() or len(units) < 2:
        return empty
    metric = units.to_crs(metric_crs(units))
    geoms = np.asarray(metric.geometry.values, dtype=object)
    tree = shapely.STRtree(geoms)
    small_idx = np.flatnonzero(small)
    a, b = tree.query(geoms[small_idx], predicate="dwithin", distance=tol)
    i, j = small_idx[a], b
    keep = i != j
    i, j = i[keep], j[keep]
    if not len(i):
        return empty
    norms = np.linalg.norm(profiles, axis=1)
    dots = np.einsum("ij,ij->i", profiles[i], profiles[j])
    denom = norms[i] * norms[j]
    sim = np.where(denom > 0, dots / np.where(denom > 0, denom, 1.0), 1.0)
    members = units["members"].to_numpy(dtype=int)
    community = units["community_id"].to_numpy()
    pairs = pd.DataFrame(
        {
            "i": i,
            "j": j,
            "similarity": sim,
            "other_community": community[i] != community[j],
            "not_small": ~small[j],
            "neg_sim": -np.round(sim, 9),
            "m": members[j],
            "code": units["code"].to_numpy()[j],
        }
    )
    pairs = pairs[pairs["similarity"] >= least - 1e-12]
    pairs = pairs.sort_values(["i", "other_community", "not_small", "neg_sim", "m", "code"])
    need = settings.BRANCH_MIN_MEMBERS - members[pairs["i"].to_numpy()]
    before = pairs.groupby("i")["m"].cumsum().to_numpy() - pairs["m"].to_numpy()
    pairs = pairs[before < need]
    return pairs[["i", "j", "similarity"]].reset_index(drop=True)


def _partners_text(units: gpd.GeoDataFrame, pairs: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    codes = units["code"].to_numpy()
    members = units["members"].to_numpy(dtype=int)
    if pairs.empty:
        blank = pd.Series([""] * len(units), index=units.index)
        return blank, pd.Series([pd.NA] * len(units), index=units.index, dtype="Int64")
    grouped = pairs.assign(code=codes[pairs["j"]], m=members[pairs["j"]]).groupby("i")
    joined = grouped["code"].agg("、".join)
    total = grouped["m"].sum()
    pos = pd.Series(np.arange(len(units)), index=units.index)
    partners = pos.map(joined).fillna("")
    combined = pos.map(total + pd.Series(members).reindex(total.index)).astype("Int64")
    return partners, combined


def _status(n: np.ndarray, has: np.ndarray, need: np.ndarray) -> np.ndarray:
    rank_has = np.array([_RANK[h] for h in has], dtype=int)
    rank_need = np.array([_RANK[f] for f in need], dtype=int)
    small = n < settings.BRANCH_MIN_MEMBERS
    return np.select(
        [
            small & (rank_has >= _RANK["branch"]),
            small,
            rank_has == 0,
            rank_has < rank_need,
            rank_has > rank_need,
        ],
        ["strengthen", "joint", "missing", "upgrade", "above_need"],
        default="ok",
    )


def _advice_text(row: dict, zh: bool) -> str:
    def form(key: str) -> str:
        return FORM_LABELS[key][0 if zh else 1]

    n, m, status = row["members"], row["org_members"], row["status"]
    partners, combined = row["partners"], row["combined_members"]
    joint = (
        (
            text(
                "建议与相邻的 {partners} 联合组建联合党支部(合计 {combined} 名党员)",
                language(zh),
                partners=partners,
                combined=combined,
            )
        )
        if partners
        else (text("无相邻且相近的单元,建议并入上级或就近党组织", language(zh)))
    )
    if status == "ok":
        return text("设置合理", language(zh), context="sentence")
    if status == "missing":
        return text(
            "有 {n} 名党员,应建立{form_needed}",
            language(zh),
            n=n,
            form_needed=form(row["form_needed"]),
        )
    if status == "upgrade":
        return text(
            "有 {n} 名党员,应由{form_has}升格为{form_needed}",
            language(zh),
            n=n,
            form_has=form(row["form_has"]),
            form_needed=form(row["form_needed"]),
        )
    if status == "above_need":
        return text(
            "仅 {n} 名党员,设{form_needed}即可(现为{form_has})",
            language(zh),
            n=n,
            form_needed=form(row["form_needed"]),
            form_has=form(row["form_has"]),
        )
    if status == "joint":
        return text("党员不足 3 名({n} 名),{joint}", language(zh), n=n, joint=joint)
    # strengthen
    if pd.notna(m) and m < settings.BRANCH_MIN_MEMBERS and n >= settings.BRANCH_MIN_MEMBERS:
        return text(
            "支部仅有 {m} 名党员的组织关系(网格内居住 {n} 名),需转入组织关系予以充实",
            language(zh),
            m=m,
            n=n,
        )
    shown = m if pd.notna(m) else n
    return text(
        "支部党员不足 3 名({shown} 名),需充实;{joint}", language(zh), shown=shown, joint=joint
    )


def organisation_advice(
    communities: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    buildings: pd.DataFrame,
    orgs: pd.DataFrame,
    members: pd.DataFrame,
) -> OrgFormAdvice:
    """The form each community and grid's member count calls for, against the form it has.

    Parameters
    ----------
    communities : GeoDataFrame
        ``id, code, name`` and polygons.
    grids : GeoDataFrame
        Active grids: ``id, code, name, community_id, party_org_id`` and polygons.
    buildings : DataFrame
        ``id, community_id, grid_id``.
    orgs : DataFrame
        ``party_org``: ``id, parent_id, kind, name, community_id, grid_id``.
    members : DataFrame
        ``member``: ``id, party_org_id, building_id, category``.

    Returns
    -------
    OrgFormAdvice

    Raises
    ------
    InputError
        A frame lacking a column, with duplicate ids, or a layer without geometry or CRS.
    """
    _check_input(communities, "communities", ("id", "code", "name"), polygons=True)
    _check_input(grids, "grids", ("id", "code", "community_id", "party_org_id"), polygons=True)
    _check_input(buildings, "buildings", ("id", "community_id", "grid_id"))
    _check_input(orgs, "orgs", ("id", "parent_id", "kind", "name", "community_id", "grid_id"))
    _check_input(members, "members", ("id", "party_org_id", "building_id", "category"))

    org_by_id = orgs.set_index("id")
    bld = buildings.set_index("id")
    member_grid = members["building_id"].map(bld["grid_id"])
    member_community = (
        members["building_id"].map(bld["community_id"])
        .fillna(members["party_org_id"].map(org_by_id["community_id"]))
    )  # fmt: skip
    org_members = _org_member_totals(orgs, members)

    # --- grids ---------------------------------------------------------------------------
    g = grids.reset_index(drop=True)
    g_members = g["id"].map(member_grid.value_counts()).fillna(0).astype(int).to_numpy()
    own = g["party_org_id"].where(g["party_org_id"].notna())
    by_grid_id = (
        orgs[orgs["grid_id"].notna()]
        .assign(_r=lambda f: f["kind"].map(_RANK))
        .sort_values("_r", ascending=False)
        .drop_duplicates("grid_id")
        .set_index("grid_id")["id"]
    )
    g_org = own.fillna(g["id"].map(by_grid_id))
    g_has = g_org.map(org_by_id["kind"]).fillna("none").to_numpy(dtype=object)
    g_need = required_form(g_members)
    g_status = _status(g_members, g_has, g_need)
    g_orgm = g_org.map(org_members).astype("Int64")
    weak = (
        np.isin(g_status, ["ok", "above_need", "upgrade"])
        & np.isin(g_has, _BRANCH_LIKE)
        & (g_orgm.fillna(0).to_numpy() < settings.BRANCH_MIN_MEMBERS)
    )
    g_status = np.where(weak, "strengthen", g_status)
    joined = (g_has == "joint_branch") & (
        g_orgm.fillna(0).to_numpy() >= settings.BRANCH_MIN_MEMBERS
    )
    g_status = np.where(joined & (g_status == "strengthen"), "ok", g_status)
    g_small = g_members < settings.BRANCH_MIN_MEMBERS
    g_units = g.assign(members=g_members)
    profiles = _category_profile(members, member_grid, pd.Index(g["id"]))
    g_partners, g_combined = _partners_text(g_units, joint_partners(g_units, g_small, profiles))
    com = communities.set_index("id")
    grid_rows = pd.DataFrame(
        {
            "level": "grid",
            "community_id": g["community_id"].to_numpy(),
            "community_code": g["community_id"].map(com["code"]).to_numpy(),
            "community_name": g["community_id"].map(com["name"]).to_numpy(),
            "grid_id": g["id"].to_numpy(),
            "grid_code": g["code"].to_numpy(),
            "grid_name": (g["name"] if "name" in g else g["code"]).to_numpy(),
            "org_id": g_org.astype("Int64").to_numpy(),
            "org_name": g_org.map(org_by_id["name"]).to_numpy(),
            "members": g_members,
            "org_members": g_orgm.to_numpy(),
            "form_needed": g_need,
            "form_has": g_has,
            "status": g_status,
            "partners": np.where(g_small, g_partners.to_numpy(), ""),
            "combined_members": g_combined.where(g_small).astype("Int64").to_numpy(),
        }
    )

    # --- communities ---------------------------------------------------------------------
    c = communities.reset_index(drop=True)
    c_members = c["id"].map(member_community.value_counts()).fillna(0).astype(int).to_numpy()
    parent_comm = orgs["parent_id"].map(org_by_id["community_id"]).astype("float").fillna(-1)
    own_comm = orgs["community_id"].astype("float")
    top = orgs[own_comm.notna().to_numpy() & (parent_comm != own_comm).to_numpy()]
    top = top[top["kind"] != "group"].assign(_r=lambda f: f["kind"].map(_RANK))
    top = top.sort_values(["_r", "id"], ascending=[False, True]).drop_duplicates("community_id")
    top = top.set_index("community_id")
    c_org = c["id"].map(top["id"])
    c_has = c["id"].map(top["kind"]).fillna("none").to_numpy(dtype=object)
    c_need = required_form(c_members)
    c_status = _status(c_members, c_has, c_need)
    c_small = c_members < settings.BRANCH_MIN_MEMBERS
    c_units = c.assign(members=c_members, community_id=c["id"])
    c_profiles = _category_profile(members, member_community, pd.Index(c["id"]))
    c_partners, c_combined = _partners_text(c_units, joint_partners(c_units, c_small, c_profiles))
    community_rows = pd.DataFrame(
        {
            "level": "community",
            "community_id": c["id"].to_numpy(),
            "community_code": c["code"].to_numpy(),
            "community_name": c["name"].to_numpy(),
            "grid_id": pd.array([pd.NA] * len(c), dtype="Int64"),
            "grid_code": None,
            "grid_name": None,
            "org_id": c_org.astype("Int64").to_numpy(),
            "org_name": c_org.map(org_by_id["name"]).to_numpy(),
            "members": c_members,
            "org_members": c_org.map(org_members).astype("Int64").to_numpy(),
            "form_needed": c_need,
            "form_has": c_has,
            "status": c_status,
            "partners": np.where(c_small, c_partners.to_numpy(), ""),
            "combined_members": c_combined.where(c_small).astype("Int64").to_numpy(),
        }
    )

    # --- branches without a grid (joint branches …) with fewer than 3 members -----------
    gridless = orgs[orgs["kind"].isin(_BRANCH_LIKE) & ~orgs["id"].isin(g_org.dropna().astype(int))]
    gridless = gridless.assign(m=gridless["id"].map(org_members).fillna(0).astype(int))
    gridless = gridless[gridless["m"] < settings.BRANCH_MIN_MEMBERS]
    org_rows = pd.DataFrame(
        {
            "level": "organisation",
            "community_id": gridless["community_id"].to_numpy(),
            "community_code": gridless["community_id"].map(com["code"]).to_numpy(),
            "community_name": gridless["community_id"].map(com["name"]).to_numpy(),
            "grid_id": pd.array([pd.NA] * len(gridless), dtype="Int64"),
            "grid_code": None,
            "grid_name": None,
            "org_id": gridless["id"].astype("Int64").to_numpy(),
            "org_name": gridless["name"].to_numpy(),
            "members": gridless["m"].to_numpy(),
            "org_members": gridless["m"].astype("Int64").to_numpy(),
            "form_needed": required_form(gridless["m"]),
            "form_has": gridless["kind"].to_numpy(),
            "status": "strengthen",
            "partners": "",
            "combined_members": pd.array([pd.NA] * len(gridless), dtype="Int64"),
        }
    )
    frames = [f for f in (community_rows, grid_rows, org_rows) if len(f)]
    table = pd.concat(frames, ignore_index=True) if frames else _empty_advice()
    records = table.to_dict("records")
    table["advice"] = [_advice_text(r, True) for r in records]
    table["advice_en"] = [_advice_text(r, False) for r in records]
    table = table.loc[:, list(ADVICE_COLUMNS)]
    for col in ("grid_id", "org_id", "org_members", "combined_members", "community_id"):
        table[col] = pd.to_numeric(table[col]).astype("Int64")
    table["members"] = table["members"].astype(int)
    return OrgFormAdvice.of_rows(table)


def _check_input(
    frame: pd.DataFrame, name: str, columns: Sequence[str], polygons: bool = False
) -> None:
    """:func:`gridmap.validation.require_frame`, then unique ids and (a layer) polygons."""
    require_frame(frame, name, columns, geo=polygons)
    dupes = frame.loc[frame["id"].duplicated(), "id"].unique()[:5].tolist()
    if dupes:
        raise InputError(f"编号重复 / {name} has duplicate ids: {dupes}")
    if not polygons:
        return
    geoms = np.asarray(frame.geometry.values, dtype=object)
    wrong = shapely.is_empty(geoms) | ~np.isin(shapely.get_type_id(geoms), _POLYGON_TYPE_IDS)
    if wrong.any():
        shown = ", ".join(str(c) for c in frame.loc[wrong, "code"].head(5))
        raise InputError(
            f"缺少面图形 / {name} must hold Polygon or MultiPolygon geometries, but {shown} do not"
        )


def _empty_advice() -> pd.DataFrame:
    return pd.DataFrame({c: [] for c in ADVICE_COLUMNS if c not in ("advice", "advice_en")})


def _org_member_totals(orgs: pd.DataFrame, members: pd.DataFrame) -> pd.Series:
    """Members whose relation sits in each organisation or anywhere under it."""
    tree = org_tree(orgs, members)
    return tree.set_index("id")["members_total"]


# --- lost-contact and floating members --------------------------------------------------------

LOST_COLUMNS: tuple[str, ...] = (
    "community_id",
    "community_code",
    "community_name",
    "member_id",
    "name",
    "category",
    "org_name",
    "last_contact_on",
    "days_since",
    "since_text",
    "since_text_en",
    "overdue",
)


def _since(days: float) -> tuple[str, str]:
    if pd.isna(days):
        return pair("联系时间不详")
    days = int(days)
    years, rest = divmod(days, 365)
    months = rest // 30
    if years:
        return tuple(
            text("{years} 年 {months} 个月", lang, years=years, months=months) for lang in LANGS
        )
    if months:
        return tuple(text("{months} 个月", lang, months=months) for lang in LANGS)
    return tuple(text("{days} 天", lang, days=days) for lang in LANGS)


def lost_contact_members(
    members: pd.DataFrame,
    communities: pd.DataFrame,
    orgs: pd.DataFrame,
    today: dt.date,
    buildings: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Lost-contact (失联) and floating (流动) members per community, with time since contact.

    Parameters
    ----------
    members : DataFrame
        ``id, category, party_org_id, last_contact_on`` and ``community_id`` (as
        :func:`gridmap.organisation.load_organisation` gives it) or ``building_id`` with
        ``buildings``; ``name`` is shown when present (masked by the loader).
    communities : DataFrame
        ``id, code, name``.
    orgs : DataFrame
        ``id, name, community_id``.
    today : datetime.date
        The day to count from.
    buildings : DataFrame, optional
        ``id, community_id``, when ``members`` has no ``community_id``.

    Returns
    -------
    DataFrame
        Columns :data:`LOST_COLUMNS`, by community code then longest without contact first.
        ``overdue``: every lost-contact member, and floating members not contacted for more
        than ``settings.FLOATING_CONTACT_DAYS`` days (or never).
    """
    if not isinstance(today, dt.date):
        raise TypeError(f"today must be a datetime.date, got {type(today).__name__}")
    rows = members[members["category"].isin(["lost_contact", "floating"])].copy()
    org = orgs.set_index("id")
    if "community_id" in rows:
        community = rows["community_id"]
    else:
        if buildings is None:
            raise ValueError("members need community_id, or pass buildings")
        community = rows["building_id"].map(buildings.set_index("id")["community_id"])
        community = community.fillna(rows["party_org_id"].map(org["community_id"]))
    com = communities.set_index("id")
    last = pd.to_datetime(rows["last_contact_on"])
    days = (pd.Timestamp(today) - last).dt.days
    texts = [_since(d) for d in days]
    overdue = (
        (rows["category"] == "lost_contact") | days.isna() | (days > settings.FLOATING_CONTACT_DAYS)
    )
    out = pd.DataFrame(
        {
            "community_id": community.astype("Int64"),
            "community_code": community.map(com["code"]),
            "community_name": community.map(com["name"]),
            "member_id": rows["id"],
            "name": rows.get("name"),
            "category": rows["category"],
            "org_name": rows["party_org_id"].map(org["name"]),
            "last_contact_on": last.dt.date,
            "days_since": days.astype("Int64"),
            "since_text": [t[0] for t in texts],
            "since_text_en": [t[1] for t in texts],
            "overdue": overdue.to_numpy(dtype=bool),
        }
    )
    out = out.assign(_lost=out["category"] != "lost_contact").sort_values(
        ["community_code", "_lost", "days_since"],
        ascending=[True, True, False],
        na_position="first",
    )
    return out.loc[:, list(LOST_COLUMNS)].reset_index(drop=True)


def lost_contact_summary(lost: pd.DataFrame) -> pd.DataFrame:
    """Per community: lost-contact and floating members, overdue ones, longest days since."""
    if lost.empty:
        return pd.DataFrame(
            columns=["community_code", "community_name", "lost_contact", "floating", "overdue",
                     "longest_days"]
        )  # fmt: skip
    grouped = lost.groupby(["community_code", "community_name"], dropna=False)
    return pd.DataFrame(
        {
            "lost_contact": grouped["category"].apply(lambda c: int((c == "lost_contact").sum())),
            "floating": grouped["category"].apply(lambda c: int((c == "floating").sum())),
            "overdue": grouped["overdue"].sum().astype(int),
            "longest_days": grouped["days_since"].max(),
        }
    ).reset_index()
