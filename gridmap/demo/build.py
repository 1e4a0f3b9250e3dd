"""The build of the demo street: :func:`build_demo`, every table from one seed.

:func:`build_demo` runs the steps of the other modules in a fixed order — blocks and defects,
buildings, staff, Party organisations, building leaders, members, stations, requests — on one
random generator, turns the state into frames, and draws the extra columns and tables (member
extras, 党员责任区, request extras, 党员积分, building extras) from a second generator and the
organisations from a third, so that the same seed always gives identical frames.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from gridmap import settings
from gridmap.demo.buildings import assign_to_grids, building_extras, draw_buildings
from gridmap.demo.frames import (
    admin_frames,
    building_frame,
    geoframe,
    grid_frames,
    member_frame,
    nullable_ints,
    org_frame,
)
from gridmap.demo.layout import apply_defects, lattice_cells
from gridmap.demo.organisations import draw_organisations
from gridmap.demo.people import (
    add_building_leaders_and_groups,
    add_members,
    add_party_orgs,
    add_staff,
    member_extras,
    member_points,
    member_zones,
)
from gridmap.demo.requests import draw_requests, mark_duplicates, request_extras
from gridmap.demo.state import Demo
from gridmap.demo.stations import add_stations


def build_demo(seed: int = settings.DEMO_SEED) -> dict[str, pd.DataFrame]:
    """Return every table's rows, keyed by table name, in an order that satisfies foreign keys.

    Parameters
    ----------
    seed : int
        Seed of the random generator; the same seed always gives identical frames.

    Returns
    -------
    dict[str, pandas.DataFrame]
        ``street``, ``community``, ``grid_plan``, ``person``, ``party_org``, ``grid``,
        ``grid_worker``, ``building``, ``service_station``, ``member``, ``member_zone``,
        ``request``, ``request_event``, ``member_point`` and ``organisation``, each
        with exactly its table's columns and explicit ids from 1.
        Geometry tables are GeoDataFrames (column ``geom``, EPSG:4326, MultiPolygon areas and
        Point locations). ``party_org.grid_id`` and ``grid.party_org_id`` refer to each other;
        save both tables in one transaction with deferred foreign-key checks.
    """
    rng = np.random.default_rng(seed)
    cells = lattice_cells(rng)
    apply_defects(cells)
    grid_metric = np.array([shapely.Polygon(np.array(c.ring)) for c in cells], dtype=object)
    buildings = draw_buildings(cells, rng)
    polys = shapely.polygons(np.array([b["corners"] for b in buildings]))
    best, _ = assign_to_grids(polys, grid_metric)
    for i, (b, g) in enumerate(zip(buildings, best, strict=True)):
        b["id"], b["grid"] = i + 1, int(g)
    demo = Demo(rng=rng, cells=cells, buildings=buildings, grid_metric=grid_metric)
    add_staff(demo)
    add_party_orgs(demo)
    add_building_leaders_and_groups(demo)
    add_members(demo)
    add_stations(demo)
    requests, events = draw_requests(demo)
    frames = admin_frames(cells)
    grids = grid_frames(demo)
    # The extra columns and tables below draw from a second generator, independent of the first
    # one's stream (which drew every street, building and request above).
    extra = np.random.default_rng([seed, 2])
    members = member_extras(member_frame(demo.members), extra)
    tables = {
        "street": frames["street"],
        "community": frames["community"],
        "grid_plan": frames["grid_plan"],
        "person": demo.people.frame(rng),
        "party_org": org_frame(demo.orgs),
        "grid": grids["grid"],
        "grid_worker": grids["grid_worker"],
        "building": building_frame(demo),
        "service_station": geoframe(
            {k: [s[k] for s in demo.stations] for k in demo.stations[0]}
        ).assign(community_id=lambda f: nullable_ints(list(f["community_id"]))),
        "member": members,
        "member_zone": member_zones(members, demo, extra),
        "request": mark_duplicates(request_extras(requests, extra)),
        "request_event": events,
        "member_point": member_points(members, requests, extra),
    }
    tables["building"] = building_extras(tables["building"], extra)
    # The organisations (两新组织) draw from a third generator, independent of every table above.
    tables["organisation"] = draw_organisations(tables, np.random.default_rng([seed, 3]))
    return tables
