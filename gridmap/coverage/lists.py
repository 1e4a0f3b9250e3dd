"""Lists and filters of problems for the UI, the CLI and exports."""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.coverage.kinds import PROBLEM_KINDS
from gridmap.errors import InputError
from gridmap.i18n import Language

#: Columns of :func:`problem_table`, in order.
TABLE_COLUMNS: tuple[str, ...] = (
    "kind",
    "label",
    "community_code",
    "grid_code",
    "other_grid_code",
    "building_code",
    "area_m2",
    "households",
    "share",
    "distance_m",
    "detail",
    "lon",
    "lat",
)


def filter_problems(
    problems: gpd.GeoDataFrame,
    community_codes: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
) -> gpd.GeoDataFrame:
    """The problems of some communities and kinds (None: all), in report order.

    Raises
    ------
    InputError
        For a community code or a kind that does not exist, naming the known ones.
    """
    unknown_kinds = sorted(set(kinds or ()) - set(PROBLEM_KINDS))
    if unknown_kinds:
        raise InputError(
            f"未知的问题类型 / unknown problem kind(s) {unknown_kinds}; "
            f"known: {', '.join(PROBLEM_KINDS)}"
        )
    mask = np.ones(len(problems), dtype=bool)
    if community_codes is not None:
        mask &= problems["community_code"].isin(list(community_codes)).to_numpy()
    if kinds is not None:
        mask &= problems["kind"].isin(list(kinds)).to_numpy()
    return problems[mask]


def problem_table(problems: gpd.GeoDataFrame, lang: Language = "zh") -> pd.DataFrame:
    """Problems as a plain table for lists and exports, without geometry.

    Each row keeps the columns of :data:`TABLE_COLUMNS`: the problem's codes and numbers
    (areas rounded to 0.1 m², shares to 0.001, distances to 1 m) and ``lon``/``lat`` of a
    point on the problem (WGS 84, 6 decimals), so a spreadsheet user can find it on any map.
    ``label`` and ``detail`` are in ``lang`` (the kind's name, the problem's sentence).
    """
    table = pd.DataFrame(problems.drop(columns=problems.geometry.name))
    if lang != "zh":
        names = {kind: names[1] for kind, names in PROBLEM_KINDS.items()}
        table["label"] = table["kind"].map(names)
        table["detail"] = table["detail_en"]
    if len(problems):
        points = shapely.point_on_surface(np.asarray(problems.geometry.values))
        table["lon"] = np.round(shapely.get_x(points), 6)
        table["lat"] = np.round(shapely.get_y(points), 6)
    else:
        table["lon"] = pd.Series(dtype=float)
        table["lat"] = pd.Series(dtype=float)
    for column, decimals in (("area_m2", 1), ("share", 3), ("distance_m", 0)):
        table[column] = pd.to_numeric(table[column], errors="coerce").round(decimals)
    table["households"] = pd.to_numeric(table["households"], errors="coerce").astype("Int64")
    return table.loc[:, list(TABLE_COLUMNS)].reset_index(drop=True)
