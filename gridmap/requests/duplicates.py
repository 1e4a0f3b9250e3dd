"""Duplicate requests (重复诉求): which requests look like another open one — same category,
close by, received soon after it (:func:`duplicate_candidates`, vectorised with an STRtree in
metres) — and the proposals of a database (:func:`possible_duplicates`). Merging is a move of
the workflow (:func:`gridmap.requests.workflow.merge_duplicate`).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine

from gridmap import settings
from gridmap.auth import Principal
from gridmap.crs import metric_crs
from gridmap.requests.loading import load_requests
from gridmap.requests.states import OPEN_STATUSES

#: Columns of :func:`duplicate_candidates`.
CANDIDATE_COLUMNS: tuple[str, ...] = (
    "request_id",
    "request_code",
    "original_id",
    "original_code",
    "category",
    "distance_m",
    "days_after",
    "original_reporters",
)


def duplicate_candidates(
    requests: gpd.GeoDataFrame,
    which: pd.Series | None = None,
    *,
    distance_m: float | None = None,
    days: float | None = None,
) -> pd.DataFrame:
    """The open request each request may duplicate: the nearest open request of the same
    category, not itself a duplicate, within ``distance_m`` and received at most ``days``
    before it (the nearest first, then the earliest; of two received at the same moment the
    lower id is the original).

    Parameters
    ----------
    requests : GeoDataFrame
        As :func:`gridmap.requests.load_requests` gives it (EPSG:4326 points; ``id, code,
        category, status, received_at, duplicate_of, reporters``).
    which : Series of bool, optional
        The requests to look at (aligned with ``requests``); default every open request that
        is not a duplicate already.
    distance_m, days : float, optional
        Default :data:`~gridmap.settings.DUPLICATE_DISTANCE_M` and
        :data:`~gridmap.settings.DUPLICATE_DAYS`.

    Returns
    -------
    DataFrame
        :data:`CANDIDATE_COLUMNS`, one row per request with a candidate, by request id. A
        request without a location has none.
    """
    distance_m = settings.DUPLICATE_DISTANCE_M if distance_m is None else float(distance_m)
    days = settings.DUPLICATE_DAYS if days is None else float(days)
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in CANDIDATE_COLUMNS})
    located = requests[requests.geometry.notna() & ~requests.geometry.is_empty]
    if located.empty:
        return empty
    merged = located["duplicate_of"].notna() if "duplicate_of" in located else False
    is_open = located["status"].astype(str).isin([str(s) for s in OPEN_STATUSES]) & ~merged
    if which is not None:
        looked = which.reindex(located.index, fill_value=False).astype(bool) & ~merged
    else:
        looked = is_open
    originals, new = located[is_open], located[looked.astype(bool)]
    if originals.empty or new.empty:
        return empty
    crs = metric_crs(located)
    orig_xy = originals.geometry.to_crs(crs).to_numpy()
    new_xy = new.geometry.to_crs(crs).to_numpy()
    tree = shapely.STRtree(orig_xy)
    i_new, i_orig = tree.query(new_xy, predicate="dwithin", distance=distance_m)
    if len(i_new) == 0:
        return empty
    o, n = originals.iloc[i_orig], new.iloc[i_new]
    lag = (
        pd.to_datetime(n["received_at"]).to_numpy() - pd.to_datetime(o["received_at"]).to_numpy()
    ) / np.timedelta64(1, "D")
    pairs = pd.DataFrame(
        {
            "request_id": n["id"].to_numpy(),
            "request_code": n["code"].to_numpy(),
            "original_id": o["id"].to_numpy(),
            "original_code": o["code"].to_numpy(),
            "category": n["category"].to_numpy(),
            "distance_m": shapely.distance(new_xy[i_new], orig_xy[i_orig]).round(1),
            "days_after": np.round(lag, 2),
            "original_reporters": pd.to_numeric(o.get("reporters", 1)).to_numpy(),
            "_same": n["category"].to_numpy() == o["category"].to_numpy(),
            "_received": pd.to_datetime(o["received_at"]).to_numpy(),
        }
    )
    # received before it (at the same moment: the lower id is the original, never each
    # other's), within the days, of the same category
    earlier = (pairs["days_after"] > 0) | (
        (pairs["days_after"] == 0) & (pairs["original_id"] < pairs["request_id"])
    )
    keep = pairs["_same"] & earlier & (pairs["days_after"] <= days)
    pairs = pairs[keep].sort_values(["request_id", "distance_m", "_received", "original_id"])
    pairs = pairs.drop_duplicates("request_id").drop(columns=["_same", "_received"])
    return pairs[list(CANDIDATE_COLUMNS)].reset_index(drop=True)


def possible_duplicates(
    engine: Engine | Connection,
    request_ids: list[int] | None = None,
    scope: Principal | None = None,
) -> pd.DataFrame:
    """:func:`duplicate_candidates` of the requests ``scope`` may see (default: the acting
    principal): of ``request_ids`` (a request just logged or imported), else of every open
    request."""
    requests = load_requests(engine, scope)
    which = None if request_ids is None else requests["id"].isin([int(i) for i in request_ids])
    return duplicate_candidates(requests, which)
