"""The demo's tables as data frames, and the helpers that shape every frame of the package.

:func:`geoframe` makes a GeoDataFrame in the storage CRS, :func:`to_multipolygons` wraps
polygons as the one-part MultiPolygons the areas are stored as, and :func:`nullable_ints` makes
a nullable integer column; they are shared with :mod:`gridmap.citygen`, as is
:func:`active_plans`. The other functions turn the build's state into the ``street``,
``community``, ``grid_plan``, ``grid``, ``grid_worker``, ``building``, ``party_org`` and
``member`` frames.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap import settings
from gridmap.demo.layout import (
    COMMUNITY_NAMES,
    STREET_CODE,
    STREET_NAME,
    Cell,
    community_code,
    to_lonlat,
)
from gridmap.demo.state import Demo
from gridmap.models import PlanStatus


def to_multipolygons(polygons: Sequence[shapely.Polygon] | np.ndarray) -> np.ndarray:
    """Wrap each polygon in its own one-part MultiPolygon."""
    polygons = np.asarray(polygons, dtype=object)
    return shapely.multipolygons(polygons, indices=np.arange(len(polygons)))


def nullable_ints(values: Sequence[int | None]) -> pd.arrays.IntegerArray:
    """A nullable integer (``Int64``) array of ``values``; ``None`` becomes ``<NA>``."""
    return pd.array(list(values), dtype="Int64")


def geoframe(columns: dict[str, object]) -> gpd.GeoDataFrame:
    """A GeoDataFrame of ``columns`` with geometry column ``geom`` in the storage CRS."""
    return gpd.GeoDataFrame(columns, geometry="geom", crs=f"EPSG:{settings.STORAGE_SRID}")


def active_plans(n_communities: int) -> pd.DataFrame:
    """One active grid plan per community (ids 1…n, community ids 1…n), approved in March 2024.

    Shared by the demo street and the synthetic city (:mod:`gridmap.citygen`).
    """
    n = n_communities
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "community_id": np.arange(1, n + 1),
            "name": ["2024年网格划分方案"] * n,
            "status": [PlanStatus.active.value] * n,
            "created_by": nullable_ints([None] * n),
            "created_at": [dt.datetime(2024, 3, 1, 9, 0)] * n,
            "approved_by": nullable_ints([None] * n),
            "approved_at": [dt.datetime(2024, 3, 15, 10, 30)] * n,
            "note": ["按每格300–500户划分，支部建在网格上"] * n,
        }
    )


def admin_frames(cells: list[Cell]) -> dict[str, pd.DataFrame]:
    """The street, community and grid_plan frames: communities are the union of their blocks."""
    n_comm = len(COMMUNITY_NAMES)
    blocks = [shapely.Polygon(to_lonlat(np.array(c.quad))) for c in cells]
    communities = [
        shapely.union_all([b for b, c in zip(blocks, cells, strict=True) if c.community == i])
        for i in range(n_comm)
    ]
    street = shapely.union_all(communities)
    letters = sorted(COMMUNITY_NAMES)
    return {
        "street": geoframe(
            {
                "id": [1],
                "code": [STREET_CODE],
                "name": [STREET_NAME],
                "geom": to_multipolygons([street]),
            }
        ),
        "community": geoframe(
            {
                "id": np.arange(1, n_comm + 1),
                "street_id": np.ones(n_comm, dtype=int),
                "code": [community_code(i) for i in range(n_comm)],
                "name": [COMMUNITY_NAMES[letter] for letter in letters],
                "geom": to_multipolygons(communities),
            }
        ),
        "grid_plan": active_plans(n_comm),
    }


def grid_frames(demo: Demo) -> dict[str, pd.DataFrame]:
    """The grid and grid_worker frames."""
    cells = demo.cells
    rings = [shapely.Polygon(to_lonlat(np.array(c.ring))) for c in cells]
    n = len(cells)
    grid = geoframe(
        {
            "id": np.arange(1, n + 1),
            "plan_id": [c.community + 1 for c in cells],
            "code": [c.code for c in cells],
            "name": [f"第{c.grid_no}网格" for c in cells],
            "geom": to_multipolygons(rings),
            "leader_id": nullable_ints([demo.grid_leader[g] for g in range(n)]),
            "party_org_id": nullable_ints([demo.branch_of_grid.get(g) for g in range(n)]),
            "version": np.ones(n, dtype=int),
        }
    )
    workers = [(g + 1, p, pt) for g in range(n) for p, pt in demo.grid_workers[g]]
    grid_worker = pd.DataFrame(
        {
            "id": np.arange(1, len(workers) + 1),
            "grid_id": [w[0] for w in workers],
            "person_id": [w[1] for w in workers],
            "part_time": [w[2] for w in workers],
        }
    )
    return {"grid": grid, "grid_worker": grid_worker}


def building_frame(demo: Demo) -> gpd.GeoDataFrame:
    """The building frame (without the columns of ``building_extras``)."""
    bs = demo.buildings
    corners = to_lonlat(np.array([b["corners"] for b in bs]))
    return geoframe(
        {
            "id": [b["id"] for b in bs],
            "community_id": [b["cell"].community + 1 for b in bs],
            "code": [b["code"] for b in bs],
            "name": [b["name"] for b in bs],
            "geom": to_multipolygons(shapely.polygons(corners)),
            "households": [b["households"] for b in bs],
            "residents": [b["residents"] for b in bs],
            "households_estimated": [False] * len(bs),  # the demo's counts are counts
            "residents_estimated": [False] * len(bs),
            "leader_id": nullable_ints([b["leader_id"] for b in bs]),
            "party_org_id": nullable_ints([b["party_org_id"] for b in bs]),
            "grid_id": nullable_ints([b["grid"] + 1 if b["grid"] >= 0 else None for b in bs]),
        }
    )


def org_frame(orgs: list[dict]) -> pd.DataFrame:
    """The party_org frame of the organisation rows, with nullable id columns."""
    frame = pd.DataFrame(orgs)
    for col in ("parent_id", "community_id", "grid_id"):
        frame[col] = nullable_ints(list(frame[col].astype(object).where(frame[col].notna(), None)))
    return frame


def member_frame(members: list[dict]) -> pd.DataFrame:
    """The member frame of the member rows (without the columns of ``member_extras``)."""
    frame = pd.DataFrame(members)
    for col in ("joined_on", "registered_on", "work_unit"):
        frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    frame["party_org_id"] = nullable_ints(list(frame["party_org_id"]))
    frame["building_id"] = nullable_ints(list(frame["building_id"]))
    return frame
