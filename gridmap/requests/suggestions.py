"""Which Party members to dispatch a request to (党员领单): the available members registered in
its grid, ranked by responsibility zone (党员责任区), fitting volunteer specialties and current
load (:func:`suggest_members`).
"""

from __future__ import annotations

import pandas as pd

from gridmap import settings
from gridmap.models import MemberCategory
from gridmap.requests.states import OPEN_STATUSES

#: Member categories never suggested for a dispatch (whereabouts unknown or away).
UNAVAILABLE_CATEGORIES = (MemberCategory.lost_contact.value, MemberCategory.floating.value)


def suggest_members(
    grid_id: int | None,
    category: str,
    members: pd.DataFrame,
    requests: pd.DataFrame,
    zones: pd.DataFrame | None = None,
    building_id: int | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Members to dispatch a request to (党员领单), best first.

    Candidates are the active members registered in the request's grid (in-service members
    double-register where they live, 双报到), not lost-contact or floating. They are ranked by:
    the request's building is in their responsibility zone (党员责任区); one of their volunteer
    specialties fits the category (:data:`settings.REQUEST_CATEGORY_SPECIALTIES`); fewest open
    requests already taken (current load); then member id.

    Parameters
    ----------
    grid_id : int or None
        None: no candidates (a request outside every grid is the street's).
    category : str
    members : DataFrame
        From :func:`member_table`.
    requests : DataFrame
        ``status, assignee_kind, assignee_id`` of every request (for the load).
    zones : DataFrame, optional
        ``member_id, building_id`` (table ``member_zone``).
    building_id : int, optional
        The request's building.
    limit : int, optional
        Default :data:`settings.REQUEST_SUGGESTIONS`.

    Returns
    -------
    DataFrame
        ``member_id, name, category, specialties, fits, in_zone, load`` (and ``reason``, a short
        Chinese explanation), at most ``limit`` rows.
    """
    limit = settings.REQUEST_SUGGESTIONS if limit is None else limit
    columns = ["member_id", "name", "category", "specialties", "fits", "in_zone", "load", "reason"]
    if grid_id is None or pd.isna(grid_id):
        return pd.DataFrame(columns=columns)
    pool = members[
        (members["grid_id"] == int(grid_id))
        & (members["status"] == "active")
        & ~members["category"].isin(UNAVAILABLE_CATEGORIES)
    ].copy()
    wanted = set(settings.REQUEST_CATEGORY_SPECIALTIES.get(category, ()))
    skills = pool["specialties"].fillna("").str.split(",")
    pool["fits"] = skills.map(lambda s: sorted(wanted.intersection(x.strip() for x in s)))
    open_taken = requests[
        requests["status"].isin(OPEN_STATUSES) & (requests["assignee_kind"] == "member")
    ]
    load = open_taken.groupby("assignee_id").size()
    pool["load"] = pool["id"].map(load).fillna(0).astype(int)
    in_zone = pd.Series(False, index=pool.index)
    if zones is not None and building_id is not None and not pd.isna(building_id):
        carers = set(zones.loc[zones["building_id"] == int(building_id), "member_id"])
        in_zone = pool["id"].isin(carers)
    pool["in_zone"] = in_zone
    pool["n_fits"] = pool["fits"].map(len)
    pool = pool.sort_values(
        ["in_zone", "n_fits", "load", "id"], ascending=[False, False, True, True]
    )
    pool = pool.head(limit)

    def why(row: pd.Series) -> str:
        parts = []
        if row["in_zone"]:
            parts.append("责任区内")
        if row["fits"]:
            parts.append("特长:" + "、".join(row["fits"]))
        parts.append(f"在办 {row['load']} 件")
        return ";".join(parts)

    out = pool.rename(columns={"id": "member_id"})
    out["fits"] = out["fits"].map("、".join)
    out["reason"] = pool.apply(why, axis=1) if len(pool) else []
    return out[columns].reset_index(drop=True)
