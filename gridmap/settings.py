"""Every threshold and default of gridmap, in one place.

Each setting is a plain module-level variable with a type hint; change one by assigning to it
(``gridmap.settings.GRID_HOUSEHOLDS_MIN = 100``) before calling the analysis, or through the
environment variables named below. Per-street overrides are layered on top of these defaults by
the modules that need them.

Database
    DATABASE_URL : str
        SQLAlchemy URL of the database. ``GRIDMAP_DATABASE_URL`` overrides it; the default is an
        SQLite file ``gridmap.db`` in :data:`DATA_DIR`. ``postgresql+psycopg://…`` selects PostGIS.
    DATA_DIR : pathlib.Path
        Where the embedded database lives: ``GRIDMAP_DATA_DIR``, default
        ``~/.local/share/gridmap``.

Geometry
    STORAGE_SRID : int
        Every stored geometry is WGS 84 (EPSG:4326).
    OVERLAP_TOLERANCE_M2 : float
        Two grids overlapping by less than this many m² do not overlap (default 1 m²).
    SLIVER_MAX_M2 : float
        Gaps and overlaps smaller than this are reported apart as slivers (default 50 m²).
    SPLIT_MIN_SHARE : float
        A grid holding less than this share of a building (5%) does not count as holding it.

Grid-management rules (DESIGN.md §2)
    GRID_HOUSEHOLDS_MIN, GRID_HOUSEHOLDS_MAX : int
        Household norm of an urban grid, 300–500 (rural streets often use 100–300).
    BRANCH_MIN_MEMBERS : int
        Members needed for an organisation of its own (3).
    GENERAL_BRANCH_MIN_MEMBERS, COMMITTEE_MIN_MEMBERS : int
        50 members → general branch 党总支; more than 100 → committee 党委.
    LIFE_CIRCLE_M : dict[int, int]
        Walking distance of the 5/10/15-minute life circles (GB 50180-2018): 300/500/1000 m.
    SERVICE_REACH_M : int
        The default walking radius for service reach (500 m).
    COVERAGE_SCORE_WEIGHTS : dict[str, float]
        Points (of 100) each part of the coverage score weighs; explained in the UI.

Requests
    REQUEST_SLA_HOURS : dict[str, int]
        Hours to resolve a request, by category; ``DEFAULT_SLA_HOURS`` for any other category.

Demo
    DEMO_SEED : int
        Seed of the built-in demo street; the same seed gives byte-identical database content.
    DEMO_REFERENCE_DATE : datetime.date
        "Today" of the demo data: requests span the 12 months before it.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

# --- database ---------------------------------------------------------------------------------
DATA_DIR: Path = Path(os.environ.get("GRIDMAP_DATA_DIR", Path.home() / ".local/share/gridmap"))
DATABASE_URL: str = os.environ.get(
    "GRIDMAP_DATABASE_URL", f"sqlite:///{(DATA_DIR / 'gridmap.db').as_posix()}"
)
#: Seconds to wait for a database server before giving up with a clear message.
CONNECT_TIMEOUT_S: int = 5

# --- geometry ---------------------------------------------------------------------------------
STORAGE_SRID: int = 4326
OVERLAP_TOLERANCE_M2: float = 1.0
SLIVER_MAX_M2: float = 50.0
SPLIT_MIN_SHARE: float = 0.05
#: Decimal places kept for WGS 84 coordinates (6 decimals ≈ 0.1 m).
COORDINATE_DECIMALS: int = 7

# --- grid-management rules --------------------------------------------------------------------
GRID_HOUSEHOLDS_MIN: int = 300
GRID_HOUSEHOLDS_MAX: int = 500
BRANCH_MIN_MEMBERS: int = 3
GENERAL_BRANCH_MIN_MEMBERS: int = 50
COMMITTEE_MIN_MEMBERS: int = 101
LIFE_CIRCLE_M: dict[int, int] = {5: 300, 10: 500, 15: 1000}
SERVICE_REACH_M: int = 500
#: Each part is a fulfilment from 0 (all wrong) to 1 (all right); score = weighted mean × 100.
COVERAGE_SCORE_WEIGHTS: dict[str, float] = {
    "coverage": 30.0,  # community area covered by grids, without overlap
    "assignment": 10.0,  # households whose building lies in exactly one grid
    "grid_leadership": 20.0,  # half for a grid leader, half for a branch or group
    "building_leaders": 10.0,  # households whose building has a building leader
    "size": 10.0,  # grids within the household norm
    "reach": 20.0,  # households within walking reach of a service station
}

# --- requests ---------------------------------------------------------------------------------
#: Request categories (诉求类别) known to the demo and the forms; hours to resolve each.
REQUEST_SLA_HOURS: dict[str, int] = {
    "环境卫生": 48,
    "物业管理": 72,
    "市政设施": 120,
    "停车管理": 72,
    "噪音扰民": 24,
    "邻里纠纷": 72,
    "治安安全": 24,
    "养老助残": 72,
    "供水供暖": 24,
    "政策咨询": 48,
}
DEFAULT_SLA_HOURS: int = 72

# --- display ----------------------------------------------------------------------------------
#: Tile layers offered by the map; "none" works offline and is what tests use.
BASEMAPS: tuple[str, ...] = ("none", "osm", "tianditu")
DEFAULT_BASEMAP: str = os.environ.get("GRIDMAP_BASEMAP", "none")
#: 天地图 needs a browser key (申请: 国家地理信息公共服务平台); empty disables the layer.
TIANDITU_KEY: str = os.environ.get("GRIDMAP_TIANDITU_KEY", "")
#: Where the app serves Leaflet from (Streamlit's static folder, see .streamlit/config.toml).
STATIC_URL: str = "/app/static/vendor"

# --- demo -------------------------------------------------------------------------------------
DEMO_SEED: int = 20241
DEMO_REFERENCE_DATE: dt.date = dt.date(2026, 10, 31)
