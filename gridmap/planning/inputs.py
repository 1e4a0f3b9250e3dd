"""The layers the planning tools read (:class:`PlanningInputs`), checked on creation.

Grids, buildings, stations, members, grid workers and requests as :mod:`gridmap.repository`
loads them, the moment "overdue" is judged at and the walking radius; each frame's required
columns are checked, and :attr:`PlanningInputs.crs` is the metric CRS distances are measured in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from gridmap import settings
from gridmap.crs import metric_crs
from gridmap.errors import InputError
from gridmap.validation import require_frame

_GRID_COLUMNS = ("id", "code", "community_id", "leader_id", "party_org_id")
_BUILDING_COLUMNS = ("id", "households", "leader_id", "grid_id")
_MEMBER_COLUMNS = ("id", "category", "building_id")
_WORKER_COLUMNS = ("grid_id",)
_REQUEST_COLUMNS = ("id", "status", "due_at")


@dataclass(frozen=True)
class PlanningInputs:
    """The layers the planning tools read, as :mod:`gridmap.repository` loads them.

    Attributes
    ----------
    grids : GeoDataFrame
        Active grids: ``id, code, community_id, leader_id, party_org_id`` and polygons;
        ``name``, ``community_name`` used in labels when present.
    buildings : GeoDataFrame
        ``id, households, leader_id, grid_id`` (the cached grid of the active plan) and
        polygons; ``community_id`` for scoping.
    stations : GeoDataFrame
        Service stations: ``id`` and points.
    members : DataFrame
        ``id, category, building_id``.
    workers : DataFrame
        ``grid_worker`` rows: ``grid_id`` and ``part_time`` (optional, default full-time).
    requests : GeoDataFrame
        ``id, status, due_at`` and points; ``grid_id`` used when it is an active grid.
    now : datetime
        The moment "overdue" is judged at.
    radius_m : float
        Walking radius of a station (300 / 500 / 1000 m).
    organisations : DataFrame, optional
        两新组织 (:data:`gridmap.blindspots.ORGANISATION_COLUMNS`). Given, the leadership factor
        also counts blind spots (:mod:`gridmap.blindspots`): blind-spot buildings and new
        compounds without Party–mass activity space.
    """

    grids: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    stations: gpd.GeoDataFrame
    members: pd.DataFrame
    workers: pd.DataFrame
    requests: gpd.GeoDataFrame
    now: dt.datetime
    radius_m: float = settings.SERVICE_REACH_M
    organisations: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        require_frame(self.grids, "grids", _GRID_COLUMNS, geo=True)
        require_frame(self.buildings, "buildings", _BUILDING_COLUMNS, geo=True)
        require_frame(self.stations, "stations", ("id",), geo=True)
        require_frame(self.members, "members", _MEMBER_COLUMNS)
        require_frame(self.workers, "workers", _WORKER_COLUMNS)
        require_frame(self.requests, "requests", _REQUEST_COLUMNS, geo=True)
        if not isinstance(self.radius_m, int | float) or not self.radius_m > 0:
            raise InputError(
                f"服务半径须为正数(米) / radius_m must be positive, got {self.radius_m!r}"
            )

    @property
    def crs(self):
        """The metric CRS distances are measured in (UTM zone of the buildings or grids)."""
        frame = self.buildings if len(self.buildings) else self.grids
        return metric_crs(frame)
