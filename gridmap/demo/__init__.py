"""A deterministic, realistic demo street for trying gridmap without real data.

:func:`build_demo` returns the rows of every table for one sub-district of 湖北省十堰市张湾区
(车城路街道): 7 communities, 80 grids, about 1,450 buildings with households and residents,
about 3,000 people (2,000 Party members, grid leaders and workers, building leaders), 20
Party–mass service stations, 3,000 residents' requests with their 收、办、评 event history
over the thirteen whole months (less a day) up to :data:`gridmap.settings.DEMO_REFERENCE_DATE`
— with trend blocks for every class of emerging hot spot, communities whose rates differ, and
merged and pending duplicates — and the organisations
(两新组织) of an office and commercial quarter. It is pure data — no database is touched; the
CLI and the repository save the frames.

The street is laid out in a local transverse Mercator plane as a lattice of smoothly warped
vertices along an east–west valley with a side-valley spur, then projected to WGS 84. Each lattice
cell is one block and one grid, so grids share vertices and tile their community exactly — except
for the deliberate defects listed in :data:`DEMO_DEFECTS`, which the analysis modules are expected
to find (coverage gaps, overlaps, split buildings, grids without leader or branch, oversized and
undersized grids, a request hotspot, an area out of reach of every service station, and
organisations without Party coverage).

The same seed always gives identical frames; nothing depends on the clock.

The package's modules, each importing only those above it:

- :mod:`~gridmap.demo.layout` — street constants, the block lattice and the defects;
- :mod:`~gridmap.demo.names` — name pools and the draws of names;
- :mod:`~gridmap.demo.state` — the state shared by the build steps;
- :mod:`~gridmap.demo.frames` — frame helpers and the frames of the build's state;
- :mod:`~gridmap.demo.buildings` — buildings, households, names and uses;
- :mod:`~gridmap.demo.people` — grid staff, Party organisations and members;
- :mod:`~gridmap.demo.stations` — Party–mass service stations;
- :mod:`~gridmap.demo.requests` — residents' requests and their events;
- :mod:`~gridmap.demo.organisations` — organisations (两新组织) and their blind spots;
- :mod:`~gridmap.demo.build` — :func:`build_demo`.

The layout, name, building and frame helpers re-exported here are shared with the synthetic
city (:mod:`gridmap.citygen`), which is drawn the same way.
"""

from __future__ import annotations

from gridmap.demo.build import build_demo
from gridmap.demo.buildings import (
    FOOTPRINT,
    GAP_BUILDING_UV,
    GAP_ZONE,
    KIND_P,
    KINDS,
    SPLIT_BUILDING_UV,
    SPLIT_ZONE,
    scale_households,
)
from gridmap.demo.frames import active_plans, geoframe, nullable_ints, to_multipolygons
from gridmap.demo.layout import (
    CELL_H,
    CELL_W,
    COMMUNITY_NAMES,
    DEMO_DEFECTS,
    HOTSPOT_CATEGORY,
    LAYOUT,
    LOCAL_PROJ,
    NEW_COMPOUND_COMMUNITY,
    QUARTER_COMMUNITY,
    STREET_CODE,
    STREET_NAME,
    bilinear,
    to_lonlat,
)
from gridmap.demo.names import COMPOUND_PREFIXES, person_names

__all__ = [
    "CELL_H",
    "CELL_W",
    "COMMUNITY_NAMES",
    "COMPOUND_PREFIXES",
    "DEMO_DEFECTS",
    "FOOTPRINT",
    "GAP_BUILDING_UV",
    "GAP_ZONE",
    "HOTSPOT_CATEGORY",
    "KINDS",
    "KIND_P",
    "LAYOUT",
    "LOCAL_PROJ",
    "NEW_COMPOUND_COMMUNITY",
    "QUARTER_COMMUNITY",
    "SPLIT_BUILDING_UV",
    "SPLIT_ZONE",
    "STREET_CODE",
    "STREET_NAME",
    "active_plans",
    "bilinear",
    "build_demo",
    "geoframe",
    "nullable_ints",
    "person_names",
    "scale_households",
    "to_lonlat",
    "to_multipolygons",
]
