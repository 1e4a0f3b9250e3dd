"""The demo's 20 Party–mass service stations (党群服务中心、站、点).

:func:`add_stations` places one street centre near the middle of the street, one station per
community near the middle of its community, and compound service points by farthest-point
sampling of residential buildings — every one more than 1 km from the far blocks of the spur
(:data:`~gridmap.demo.layout.FAR_CELLS`), so that those grids are out of reach of every station.
"""

from __future__ import annotations

import numpy as np
import shapely

from gridmap.demo.layout import COMMUNITY_NAMES, FAR_CELLS, STREET_NAME, to_lonlat
from gridmap.demo.names import pick_one
from gridmap.demo.state import Demo, grid_index
from gridmap.models import StationLevel


def add_stations(demo: Demo) -> None:
    """20 stations; every one kept more than 1 km from the far blocks of the spur."""
    far = shapely.union_all([demo.grid_metric[grid_index(demo, p)] for p in FAR_CELLS])
    candidates = [b for b in demo.buildings if b["slot"] < 90 and b["grid"] >= 0]
    points = shapely.points([b["corners"].mean(axis=0) for b in candidates])
    allowed = shapely.distance(points, far) > 1050.0
    communities = np.array([b["cell"].community for b in candidates])
    chosen: list[tuple[int, StationLevel]] = []

    def nearest(target: shapely.Point, mask: np.ndarray) -> int:
        d = np.where(mask, shapely.distance(points, target), np.inf)
        return int(np.argmin(d))

    street_centre = shapely.centroid(shapely.union_all(demo.grid_metric))
    chosen.append((nearest(street_centre, allowed), StationLevel.street))
    for i in range(len(COMMUNITY_NAMES)):
        centre = shapely.centroid(
            shapely.union_all(
                [p for p, c in zip(demo.grid_metric, demo.cells, strict=True) if c.community == i]
            )
        )
        chosen.append((nearest(centre, allowed & (communities == i)), StationLevel.community))
    residential = np.array([b["households"] > 0 for b in candidates])
    while len(chosen) < 20:  # farthest-point sampling of compound points
        taken = points[[c for c, _ in chosen]]
        d = shapely.distance(points[:, None], taken[None, :]).min(axis=1)
        d = np.where(allowed & residential, d, -1.0)
        chosen.append((int(np.argmax(d)), StationLevel.compound))
    xy = np.array([shapely.get_coordinates(points[c])[0] for c, _ in chosen])
    lonlat = to_lonlat(xy)
    letters = sorted(COMMUNITY_NAMES)
    for n, ((c, level), (lon, lat)) in enumerate(zip(chosen, lonlat, strict=True)):
        b = candidates[c]
        community = b["cell"].community
        if level == StationLevel.street:
            name, hours, comm_id = f"{STREET_NAME}党群服务中心", "周一至周日 8:30-17:30", None
        elif level == StationLevel.community:
            name = f"{COMMUNITY_NAMES[letters[community]]}党群服务站"
            hours, comm_id = "周一至周五 8:30-12:00 14:30-18:00", community + 1
        else:
            name = f"{b['compound']}党群服务点"
            hours = str(pick_one(demo.rng, ("周一至周日 8:30-17:30", "周一至周六 9:00-17:00")))
            comm_id = community + 1
        demo.stations.append(
            {
                "id": n + 1,
                "community_id": comm_id,
                "name": name,
                "level": level.value,
                "geom": shapely.Point(lon, lat),
                "opening_hours": hours,
            }
        )
