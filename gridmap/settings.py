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
    SQLITE_BUSY_TIMEOUT_MS, DATABASE_BUSY_RETRIES, POSTGRES_LOCK_TIMEOUT_S
        Waiting for another writer: SQLite waits up to 5000 ms for the write lock, PostgreSQL
        up to 20 s for a row lock; a write is then tried again up to 3 more times (a short
        pause between tries) before the user reads "the database is busy, try again".
        ``GRIDMAP_SQLITE_BUSY_TIMEOUT_MS``, ``GRIDMAP_POSTGRES_LOCK_TIMEOUT_S`` and
        ``GRIDMAP_DATABASE_BUSY_RETRIES`` override them.

Geometry
    STORAGE_SRID : int
        Every stored geometry is WGS 84 (EPSG:4326).
    OVERLAP_TOLERANCE_M2 : float
        Two grids overlapping by less than this many m² do not overlap (default 1 m²).
    SLIVER_MAX_M2 : float
        Gaps and overlaps smaller than this are reported apart as slivers (default 50 m²).
    SPLIT_MIN_SHARE : float
        A grid holding less than this share of a building (5%) does not count as holding it.
    BUILDING_OUTSIDE_SHARE : float
        A building with at least this share of its footprint outside every grid (50%) is
        mostly outside every grid (楼栋大部分在网格外): it belongs to no grid, and its
        households count in the gap holding most of its outside part. Shares are compared at
        0.01% (reprojection moves them by about 1e-6); 1 turns the rule off.

Import and export
    OFFSET_INVERSE_TOLERANCE_DEG, OFFSET_INVERSE_MAX_ITERATIONS
        Convergence of the GCJ-02/BD-09 → WGS 84 iteration (1e-10°, 30 steps).
    IMPORT_MAX_BYTES : int
        Largest file an import reads (50 MB).
    IMPORT_EXTENT_BUFFER_M : float
        How far outside the street an imported feature may lie (1000 m).
    OFFSET_MATCH_MIN_IOU, OFFSET_MATCH_DISTANCE_M : float
        When an imported footprint matches one of the street's buildings (intersection over
        union ≥ 0.5), and an imported point a station of the street (within 10 m; a point
        inside a building footprint matches too) — the evidence for a GCJ-02/BD-09 file read
        as WGS 84.
    OFFSET_DETECT_MIN_MATCHES, OFFSET_DETECT_MIN_SHARE, OFFSET_DETECT_MIN_RATIO
        A file given without a CRS is refused as GCJ-02 (or BD-09) when, corrected so, at least
        3 features and 60% of them match the street's own data, at least twice the share that
        matches as read (an explicit ``--crs wgs84`` accepts it as it is).
    OFFSET_DETECT_SAMPLE : int
        Features compared for that check, evenly spaced through the file (5000).
    IMPORT_MAX_ISSUES_SHOWN, IMPORT_PREVIEW_ROWS : int
        Problems listed in one import error (20); rows in the page's preview (10).
    FLOOR_AREA_PER_HOUSEHOLD_M2 : float
        Gross floor area of one household (90 m²), for buildings imported without households:
        households ≈ footprint area (m², in the local UTM zone) × floors ÷ this, rounded, at
        least 1 for a residential building (0 for office, commercial, public and industrial
        ones), flagged as estimated. Why 90: the 2020 census counts 36.5 m² of housing per
        urban resident and 2.62 residents per household (≈ 96 m² of dwelling per household),
        90 m² is the line of the small and middle-sized flats most communities hold, and
        footprint × floors also counts walls, stairs and lobbies that a flat's area leaves out.
    DEFAULT_FLOORS : int
        Floors of a building whose file has no ``floors`` / 层数 / ``building:levels`` value (6:
        the walk-up 多层住宅 of the older urban communities gridmap serves; high-rises should
        carry their floors in the file).
    RESIDENTS_PER_HOUSEHOLD : float
        Residents of a household, for buildings imported without residents (2.62, China's 2020
        census): residents ≈ households × this, rounded, flagged as estimated.
    OSM_MAX_BYTES : int
        Largest OpenStreetMap ``.osm.pbf`` file :func:`gridmap.io.read_osm` reads (1 GiB: a
        province; a street is a few MB, a city some tens).
    OSM_MIN_FOOTPRINT_M2 : float
        OSM building footprints smaller than this are drawing errors and dropped (2 m²).
    OSM_MAX_LEVELS : float
        ``building:levels`` above this are typing errors and read as unknown (200).
    IMPORT_MAX_COUNTS : dict[str, int]
        Largest plausible count of each whole-number field (:mod:`gridmap.validation`):
        households 20 000 and residents 60 000 in one building (the largest Chinese towers
        hold about 20 000 residents), employees 1 000 000 and Party members 100 000 of one
        organisation; any other count at most ``INT_MAX`` (2 147 483 647, the database's
        integer). A larger value is a typing or unit error, refused naming row and field.
    PARTY_FOUNDED_ON : datetime.date
        The Party's founding (1921-07-01): no one joined before it.

Grid-management rules (DESIGN.md §2)
    GRID_HOUSEHOLDS_MIN, GRID_HOUSEHOLDS_MAX : int
        Household norm of an urban grid, 300–500 (rural streets often use 100–300).
    GRID_HOUSEHOLDS_TARGET : int
        Households a grid aims at when redrawing and auto-balancing (400, the norm's middle).

Grid redrawing (gridmap.redraw)
    REDRAW_SNAP_M : float
        A drawn vertex this close to a neighbouring grid's edge snaps onto it (5 m); a split
        line's ends are extended by as much.
    BALANCE_TRIES : int
        METIS seeds and balance tolerances tried per connected area by auto-balance (16).
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
    REQUEST_REOPEN_MAX_RATING : int
        A resident's rating at or below this (2 of 5) reopens the request.
    REQUEST_DUE_SOON_HOURS : int
        An open request due within this many hours (48) is "due soon" (将到期) on the worklist.
    REQUEST_WORKLIST_SHOWN : int
        The worklist's cards on 诉求办理: the most urgent open requests (8).
    REQUEST_POINTS_HANDLED, REQUEST_POINTS_GOOD_RATING, REQUEST_GOOD_RATING_MIN : int
        Member points (党员积分) for resolving a request taken by the member (党员领单), and the
        bonus when the resident rates it at least ``REQUEST_GOOD_RATING_MIN``.
    REQUEST_RESPONSE_HOURS : float
        A request first acted on (assigned, dispatched, sent to a department or escalated)
        within this many hours of receipt counts as responded (响应率).
    MIN_RANKED_REQUESTS : int
        A unit (community, grid, worker, member) with fewer accepted requests in a month is
        shown in the monthly assessment but not ranked.
    REQUEST_SATISFIED_MIN_RATING : int
        A rating at or above this (4 of 5) counts as satisfied (满意率).
    REQUEST_RATE_WEIGHTS : dict[str, float]
        Points each rate weighs in the assessment score that ranks units (a street sets its
        own: :mod:`gridmap.weights`, kind ``request_rates``).
    DUPLICATE_DISTANCE_M, DUPLICATE_DAYS : float
        A request of the same category as an open one, within this distance (m) of it and
        received at most this many days after it, is proposed as its duplicate.
    REQUEST_DUE_LIST_HOURS : float
        A grid worker's due list holds the open requests due within this many hours (and the
        overdue ones).
    REQUEST_BUILDING_SNAP_M : float
        A request point this close to a building (m) is placed in that building.
    REQUEST_CATEGORY_SPECIALTIES : dict[str, tuple[str, ...]]
        Volunteer specialties (志愿服务特长) that fit each category, for member suggestions.
    REQUEST_SUGGESTIONS : int
        How many members to suggest for a dispatch.
    REQUEST_SERVICE_CODES : dict[str, str]
        Open311 ``service_code`` of each category (other categories use their own name).
    LOCAL_TIMEZONE : str
        Time zone of stored (naive) times, for Open311's ISO 8601 datetimes.
    HOTLINE_COLUMNS : dict[str, tuple[str, ...]]
        Column headers of 12345 exports recognised for each field of a request.
    HOTLINE_ENCODINGS : tuple[str, ...]
        Encodings tried, in order, when reading a hotline CSV.

Member density and request hotspots
    DENSITY_SCHEME : str
        Default choropleth classification: "quantiles", "natural_breaks" or "equal_interval".
    DENSITY_CLASSES : int
        Default number of choropleth classes (5).
    HOTSPOT_UNITS, HOTSPOT_UNIT : tuple[str, ...], str
        Units a hotspot analysis runs over ("grid" contiguity or "h3" hexagons); the default.
    HOTSPOT_CONTIGUITY : str
        Contiguity of grid weights: "queen" (shared vertex) or "rook" (shared edge).
    H3_RESOLUTIONS, H3_RESOLUTION : tuple[int, ...], int
        H3 resolutions offered (8–11) and the default (10: hexagons of ≈ 0.015 km², 66 m edge).
    HOTSPOT_PERMUTATIONS : int
        Conditional permutations for Gi* pseudo p-values (999: smallest p is 0.001).
    HOTSPOT_INFERENCE : str
        p-values of Gi*: "permutation" (esda's conditional permutation, p_sim) or "analytic"
        (normal approximation, p_norm).
    HOTSPOT_SEED : int
        Seed of the permutations, so the same data always gives the same classes.
    HOTSPOT_CONFIDENCE_LEVELS : tuple[float, ...]
        Confidence levels of the hot/cold classes (0.99, 0.95, 0.90).
    HOTSPOT_FDR : bool
        Offer false-discovery-rate control, off by default (Benjamini–Hochberg, ``esda.fdr``); each
        class level then uses its own rate, 1 − confidence (as ArcGIS's FDR option does).
    EMERGING_MONTHS : int
        Months of an emerging hot spot analysis (the last whole months before "now").
    EMERGING_TREND_ALPHA : float
        Significance of the Mann–Kendall trend of a unit's monthly Gi* z-scores (intensifying
        or diminishing, else persistent).
    EMERGING_SHARE : float
        Share of the months a unit must be a significant hot (cold) spot to be persistent,
        intensifying, diminishing or historical (ArcGIS: 90 %).
    HOTSPOT_SUMMARY_TOP : int
        How many hotspot clusters the plain-language summary names (3).

Organisation and members (gridmap.organisation)
    ADJACENCY_TOLERANCE_M : float
        Grids (or communities) closer than this (5 m) are adjacent (地域相邻) for joint branches.
    JOINT_BRANCH_MIN_SIMILARITY : float
        Least cosine similarity of two units' member-category mix to count as similar in kind
        (行业相近) when a joint branch is proposed (0.5).
    MEMBER_POINTS, MEMBER_POINTS_YEAR_CAP : dict[str, int]
        Points (党员积分) per entry of each kind (study, activity, request, dues) and the most a
        member earns of each kind in one calendar year.
    MEMBER_POINTS_MAX_ADJUSTMENT : int
        Largest ± points of one "other" entry (10).
    FLOATING_CONTACT_DAYS : int
        A floating member not contacted for more than this many days (180) is overdue.

Blind spots: 两新组织, office and commercial buildings, new compounds (gridmap.blindspots)
    NEW_COMPOUND_SINCE_YEAR : int
        Compounds completed in or after this year (2018) must reserve Party–mass activity space.
    ORG_ADJACENT_M : float
        Organisations whose buildings are this close (200 m) are adjacent (地域相邻) for a
        proposed joint branch (an organisation's own branch needs BRANCH_MIN_MEMBERS members).
    RELATED_INDUSTRIES : dict[str, tuple[str, ...]]
        Industries counted as similar (行业相近) besides the same one; read both ways.
    LIAISON_MAX_ORGANISATIONS : int
        A Party-building liaison (党建指导员) guiding more organisations than this (6) is
        overloaded.

Planning and the community report (gridmap.planning, gridmap.report)
    PLANNING_WEIGHTS : dict[str, float]
        Points each factor of the under-covered score weighs (the page's sliders start here).
    PLANNING_FACTOR_RANGES : dict[str, tuple[float, float]]
        (fine, poor) value of each factor: its need runs from 0 to 1 between them.
    PLANNING_PART_TIME_WORKER_SHARE : float
        A part-time grid worker counts as 0.5 of a full-time one.
    PLANNING_UNAVAILABLE_CATEGORIES : tuple[str, ...]
        Member categories not available to serve households (floating, lost contact).
    PLANNING_EXPLAIN_TOP, PLANNING_TOP_AREAS : int
        Factors named per "why" sentence (3); areas drawn on the map and in the report (10).
    PLANNING_CANDIDATE_SPACING_M : float
        Spacing of the regular candidate points for new stations (100 m).
    PLANNING_SITES_K, PLANNING_SITES_MAX_K : int
        New stations proposed by default (3) and at most (20).
    PLANNING_SOLVER_TIME_LIMIT_S : int
        Time limit of the MCLP solver (CBC, 60 s).
    CHROMIUM : str
        Chromium that prints the report to PDF: ``GRIDMAP_CHROMIUM``, default /usr/bin/chromium.
    REPORT_CJK_FONT : str
        Font of Chinese text in the report's maps ("Noto Sans CJK SC", Debian fonts-noto-cjk).
    REPORT_MAP_DPI : int
        Resolution of the report's map images (110 dpi).

Users, sessions and the audit log (gridmap.auth)
    PASSWORD_MIN_LENGTH : int
        Shortest password accepted (10 characters).
    SESSION_IDLE_MINUTES, SESSION_MAX_HOURS : float
        A session ends after 30 minutes unused or 10 hours after login.
    LOGIN_MAX_FAILURES, LOGIN_LOCKOUT_MINUTES : int
        5 failed logins within 15 minutes lock the account for 15 minutes.
    LOGIN_PENDING_WAIT_S : float
        A login that finds its name's attempts all taken by checks still running waits for
        them to finish, giving up after 10 s in which none finished.
    SESSION_HANDOFF_SECONDS : int, SESSION_COOKIE : str
        The served app keeps a login across reloads in an HttpOnly cookie (``gridmap_session``),
        set from a one-time code the browser exchanges within 60 s.
    ADMIN_NAME : str
        Name of the first administrator (``GRIDMAP_ADMIN_NAME``, default ``admin``); its
        password comes from ``GRIDMAP_ADMIN_PASSWORD`` or a prompt, never a default.
    AUDIT_MAX_ROWS : int
        Most audit rows one query returns (2000).

Demo
    DEMO_SEED : int
        Seed of the built-in demo street; the same seed gives byte-identical database content.
    DEMO_REFERENCE_DATE : datetime.date
        "Today" of the demo data: requests span the 12 months before it.
    DEMO_STREET_CODE, DEMO_STREET_NAME : str
        Code and name of the demo street (车城路街道, 420303001). A database whose only street
        has both is the demo database: its "now" is ``DEMO_REFERENCE_DATE`` and its demo logins
        work. The core recognises the demo by these values and never imports :mod:`gridmap.demo`.
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
#: Milliseconds SQLite waits for another writer's lock (``PRAGMA busy_timeout``;
#: ``GRIDMAP_SQLITE_BUSY_TIMEOUT_MS``).
SQLITE_BUSY_TIMEOUT_MS: int = int(os.environ.get("GRIDMAP_SQLITE_BUSY_TIMEOUT_MS", "5000"))
#: Further tries of a write that found the database busy, before the clear sentence
#: (``GRIDMAP_DATABASE_BUSY_RETRIES``).
DATABASE_BUSY_RETRIES: int = int(os.environ.get("GRIDMAP_DATABASE_BUSY_RETRIES", "3"))
#: Seconds PostgreSQL waits for a lock held by another writer (``lock_timeout``;
#: ``GRIDMAP_POSTGRES_LOCK_TIMEOUT_S``).
POSTGRES_LOCK_TIMEOUT_S: float = float(os.environ.get("GRIDMAP_POSTGRES_LOCK_TIMEOUT_S", "20"))

# --- geometry ---------------------------------------------------------------------------------
STORAGE_SRID: int = 4326
OVERLAP_TOLERANCE_M2: float = 1.0
SLIVER_MAX_M2: float = 50.0
SPLIT_MIN_SHARE: float = 0.05
#: Share of a building's footprint outside every grid from which it belongs to no grid (0–1].
BUILDING_OUTSIDE_SHARE: float = 0.5
#: Decimal places kept for WGS 84 coordinates (6 decimals ≈ 0.1 m).
COORDINATE_DECIMALS: int = 7
#: GCJ-02/BD-09 → WGS 84 is solved by iteration until the forward offset of the answer lands
#: within this many degrees of the input (1e-10° ≈ 0.01 mm), or after this many steps.
OFFSET_INVERSE_TOLERANCE_DEG: float = 1e-10
OFFSET_INVERSE_MAX_ITERATIONS: int = 30

# --- import and export (gridmap.io) -----------------------------------------------------------
#: Largest file an import reads (bytes); a street's layers are a few MB: 50 MB is a wrong file.
IMPORT_MAX_BYTES: int = 50 * 1024 * 1024
#: Features farther than this many metres outside the street (or its communities) are rejected.
IMPORT_EXTENT_BUFFER_M: float = 1000.0
#: A footprint read from a file matches a building of the street from this intersection over
#: union; a point matches a station within this many metres, or a building it lies in.
OFFSET_MATCH_MIN_IOU: float = 0.5
OFFSET_MATCH_DISTANCE_M: float = 10.0
#: A file without a CRS looks GCJ-02/BD-09 when, corrected so, this many features and this share
#: of them match the street's own data, and this many times the share matching as read.
OFFSET_DETECT_MIN_MATCHES: int = 3
OFFSET_DETECT_MIN_SHARE: float = 0.6
OFFSET_DETECT_MIN_RATIO: float = 2.0
#: Features of a file compared with the street for that check (evenly spaced).
OFFSET_DETECT_SAMPLE: int = 5000
#: How many problems an import error lists before "… and N more".
IMPORT_MAX_ISSUES_SHOWN: int = 20
#: Rows shown in the column-mapping preview of the import page.
IMPORT_PREVIEW_ROWS: int = 10
#: Gross floor area (m²) of one household, for households estimated from a footprint.
FLOOR_AREA_PER_HOUSEHOLD_M2: float = 90.0
#: Floors of a building whose file gives none, for households estimated from a footprint.
DEFAULT_FLOORS: int = 6
#: Residents per household (2020 census), for residents estimated from households.
RESIDENTS_PER_HOUSEHOLD: float = 2.62
#: Largest .osm.pbf file read by gridmap.io.read_osm (bytes); it streams, but keeps every
#: node location of the file in memory while assembling footprints.
OSM_MAX_BYTES: int = 1024 * 1024 * 1024
#: OSM building footprints smaller than this many m² (slivers, collapsed rings) are dropped.
OSM_MIN_FOOTPRINT_M2: float = 2.0
#: building:levels above this (the tallest building has 163) are read as unknown.
OSM_MAX_LEVELS: float = 200.0
#: Largest plausible value of each count read from a file or a form (gridmap.validation).
IMPORT_MAX_COUNTS: dict[str, int] = {
    "households": 20_000,
    "residents": 60_000,
    "employees": 1_000_000,
    "members": 100_000,
}
#: Largest whole number any count may hold: the databases' 32-bit INTEGER column.
INT_MAX: int = 2_147_483_647
#: The Party's founding: joining dates before it are impossible.
PARTY_FOUNDED_ON: dt.date = dt.date(1921, 7, 1)

# --- grid-management rules --------------------------------------------------------------------
GRID_HOUSEHOLDS_MIN: int = 300
GRID_HOUSEHOLDS_MAX: int = 500
#: Households a redrawn or auto-balanced grid aims at (the middle of the norm).
GRID_HOUSEHOLDS_TARGET: int = 400
#: Metres: drawn vertices this close to a neighbour's edge snap onto it (no new slivers).
REDRAW_SNAP_M: float = 5.0
#: METIS seeds / balance tolerances tried per connected area when auto-balancing.
BALANCE_TRIES: int = 16
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
#: An open request due within this many hours is "due soon" (将到期) on a worker's list.
REQUEST_DUE_SOON_HOURS: int = 48
#: How many of the most urgent open requests the worklist of 诉求办理 shows as cards.
REQUEST_WORKLIST_SHOWN: int = 8
#: A rating (1–5) at or below this reopens the request (差评重办).
REQUEST_REOPEN_MAX_RATING: int = 2
#: Member points for resolving a request the member took (党员领单), once per request.
REQUEST_POINTS_HANDLED: int = 2
#: Bonus points when the resident rates the member's request at least REQUEST_GOOD_RATING_MIN.
REQUEST_POINTS_GOOD_RATING: int = 1
REQUEST_GOOD_RATING_MIN: int = 4
#: Hours from receipt within which a first action counts as a response (响应率).
REQUEST_RESPONSE_HOURS: float = 4.0
#: Fewer accepted requests than this in a month: the unit is shown but not ranked.
MIN_RANKED_REQUESTS: int = 5
#: A rating at or above this counts as satisfied (满意率).
REQUEST_SATISFIED_MIN_RATING: int = 4
#: Points (of 100) each rate weighs in the monthly assessment score (response, resolution and
#: satisfaction as 接诉即办 assessments weigh them; on-time at 0 until a street weighs it).
#: A request of the same category this close (m) to an open one, received at most this many
#: days after it, is proposed as its duplicate (合并重复诉求).
DUPLICATE_DISTANCE_M: float = 50.0
DUPLICATE_DAYS: float = 7.0
#: A grid worker's due list: open requests due within this many hours, and the overdue.
REQUEST_DUE_LIST_HOURS: float = 24.0
REQUEST_RATE_WEIGHTS: dict[str, float] = {
    "response": 10.0,
    "resolution": 45.0,
    "satisfaction": 45.0,
    "on_time": 0.0,
}
#: Metres: a map click this close to a building counts as that building.
REQUEST_BUILDING_SNAP_M: float = 10.0
#: Volunteer specialties that fit each category (member suggestions for dispatch).
REQUEST_CATEGORY_SPECIALTIES: dict[str, tuple[str, ...]] = {
    "环境卫生": ("环境整治",),
    "物业管理": ("矛盾调解", "法律咨询", "水电维修"),
    "市政设施": ("水电维修",),
    "停车管理": ("矛盾调解",),
    "噪音扰民": ("矛盾调解",),
    "邻里纠纷": ("矛盾调解", "法律咨询", "心理疏导"),
    "治安安全": ("法律咨询",),
    "养老助残": ("助老服务", "医疗保健", "心理疏导"),
    "供水供暖": ("水电维修",),
    "政策咨询": ("政策宣讲", "法律咨询"),
}
#: Members suggested for a dispatch.
REQUEST_SUGGESTIONS: int = 5
#: Open311 service_code per category (ASCII, stable across languages).
REQUEST_SERVICE_CODES: dict[str, str] = {
    "环境卫生": "sanitation",
    "物业管理": "property_management",
    "市政设施": "municipal_facilities",
    "停车管理": "parking",
    "噪音扰民": "noise",
    "邻里纠纷": "neighbour_dispute",
    "治安安全": "public_safety",
    "养老助残": "elderly_disabled_care",
    "供水供暖": "water_heating",
    "政策咨询": "policy_enquiry",
}
#: Stored times are naive local times in this zone (Open311 datetimes carry its offset).
LOCAL_TIMEZONE: str = "Asia/Shanghai"
#: Headers of 12345 hotline exports recognised per request field (first match wins).
HOTLINE_COLUMNS: dict[str, tuple[str, ...]] = {
    "external_id": ("工单编号", "工单号", "工单编码", "work_order", "external_id"),
    "received_at": ("受理时间", "来电时间", "登记时间", "创建时间", "received_at"),
    "category": ("诉求类别", "问题分类", "诉求分类", "事项类别", "category"),
    "description": ("诉求内容", "问题描述", "来电内容", "工单内容", "description"),
    "reporter": ("诉求人", "来电人", "联系人", "reporter"),
    "address": ("事发地址", "诉求地址", "地址", "address"),
    "lon": ("经度", "lon", "lng", "longitude"),
    "lat": ("纬度", "lat", "latitude"),
}
#: Encodings tried in order for a hotline CSV (utf-8-sig also reads plain UTF-8; GB18030 ⊃ GBK).
HOTLINE_ENCODINGS: tuple[str, ...] = ("utf-8-sig", "gb18030")

# --- member density and request hotspots ------------------------------------------------------
#: Default choropleth classification of the density map (mapclassify), and its class count.
DENSITY_SCHEME: str = "quantiles"
DENSITY_CLASSES: int = 5
#: Hotspot units: grids (contiguity weights) or an H3 hexagon lattice; the page's default.
HOTSPOT_UNITS: tuple[str, ...] = ("grid", "h3")
HOTSPOT_UNIT: str = "h3"
#: "queen" (grids sharing a vertex are neighbours) or "rook" (sharing an edge).
HOTSPOT_CONTIGUITY: str = "queen"
#: H3 resolutions offered; 10 ≈ 0.015 km² hexagons, a few hundred over a street.
H3_RESOLUTIONS: tuple[int, ...] = (8, 9, 10, 11)
H3_RESOLUTION: int = 10
#: Conditional permutations of Gi* (esda); 999 makes the smallest pseudo p-value 0.001.
HOTSPOT_PERMUTATIONS: int = 999
#: Seed of the permutations: the same data and settings always give the same classes.
HOTSPOT_SEED: int = 20241
#: "permutation" (esda p_sim, the default) or "analytic" (normal approximation, p_norm).
HOTSPOT_INFERENCE: str = "permutation"
#: Confidence levels of the hot/cold classes, strongest first.
HOTSPOT_CONFIDENCE_LEVELS: tuple[float, ...] = (0.99, 0.95, 0.90)
#: False-discovery-rate control is an option, off by default (as in ArcGIS and GeoDa): with
#: 999 permutations the smallest p is 0.001, so FDR over hundreds of hexagons is strict.
HOTSPOT_FDR: bool = False
#: Hotspot clusters named in the plain-language summary.
HOTSPOT_SUMMARY_TOP: int = 3
#: Emerging hot spots (space–time trends of request hotspots, as ArcGIS's Emerging Hot Spot
#: Analysis): months analysed, the trend test's significance, the share of months that makes
#: a persistent hot spot.
EMERGING_MONTHS: int = 12
EMERGING_TREND_ALPHA: float = 0.05
EMERGING_SHARE: float = 0.9

# --- organisation and members (gridmap.organisation) -------------------------
#: Metres: grids or communities closer than this are adjacent (地域相邻); absorbs the small gaps
#: between hand-drawn boundaries.
ADJACENCY_TOLERANCE_M: float = 5.0
#: Least cosine similarity (0–1) of two units' member-category mix for a joint branch (行业相近).
JOINT_BRANCH_MIN_SIMILARITY: float = 0.5
# --- blind spots: 两新组织, office/commercial buildings, new compounds (gridmap.blindspots) -----
#: Compounds completed in or after this year must have reserved Party–mass activity space
#: (新建小区配建党群活动场所).
NEW_COMPOUND_SINCE_YEAR: int = 2018
#: Metres between two organisations' buildings for them to be adjacent (地域相邻) when a joint
#: branch (联合党支部) is proposed for small uncovered organisations.
ORG_ADJACENT_M: float = 200.0
#: Industries similar (行业相近) to each other besides the same industry (symmetric when read).
RELATED_INDUSTRIES: dict[str, tuple[str, ...]] = {
    "电子商务": ("物流快递", "商贸零售", "信息技术"),
    "物流快递": ("商贸零售",),
    "餐饮": ("商贸零售", "住宿"),
    "法律服务": ("社会工作", "咨询服务"),
    "社会工作": ("教育培训", "医疗健康"),
    "信息技术": ("文化传媒", "咨询服务"),
    "汽车零部件": ("物流快递",),
}
#: A Party-building liaison (党建指导员) guiding more organisations than this is overloaded.
LIAISON_MAX_ORGANISATIONS: int = 6
#: Points (党员积分) of one entry per kind; "other" entries carry their own points.
MEMBER_POINTS: dict[str, int] = {
    "study": 2,  # 学习: one study session
    "activity": 3,  # 活动: one Party or volunteer activity
    "request": REQUEST_POINTS_HANDLED,  # 办理诉求: one resolved request (once per request)
    "dues": 1,  # 按时交纳党费: one month's dues, at most one entry a month
    "other": 0,
}
#: The most points of each kind a member earns in one calendar year (entries beyond it are cut).
MEMBER_POINTS_YEAR_CAP: dict[str, int] = {
    "study": 24,
    "activity": 36,
    "request": 40,
    "dues": 12,
    "other": 20,
}
#: Largest adjustment (±) one "other" entry may carry.
MEMBER_POINTS_MAX_ADJUSTMENT: int = 10
#: Days without contact after which a floating member (流动党员) is overdue for contact.
FLOATING_CONTACT_DAYS: int = 180

# --- planning (gridmap.planning, gridmap.report) ---------------------------------------------
#: Points (of 100) each factor of the under-covered score weighs; the page's sliders start here.
PLANNING_WEIGHTS: dict[str, float] = {
    "households_per_worker": 15.0,  # households per grid worker (full-time equivalent)
    "households_per_member": 10.0,  # households per available member (not floating/lost)
    "members_per_100_households": 15.0,  # all members living there per 100 households
    "beyond_reach": 20.0,  # share of households beyond the walking radius of every station
    "leadership": 15.0,  # no grid leader, no branch, households without a building leader
    "open_per_100_households": 10.0,  # open requests per 100 households
    "overdue_per_100_households": 5.0,  # overdue requests per 100 households
    "hotspot": 10.0,  # inside a Gi* request hotspot (1 at 99 %, 0.75 at 95 %, 0.5 at 90 %)
}
#: Each factor's (fine, poor) values: its need is 0 at "fine", 1 at "poor", linear between and
#: clipped; "fine" above "poor" means lower is worse (members per 100 households).
PLANNING_FACTOR_RANGES: dict[str, tuple[float, float]] = {
    "households_per_worker": (200.0, 500.0),
    "households_per_member": (10.0, 50.0),
    "members_per_100_households": (8.0, 2.0),
    "beyond_reach": (0.0, 0.5),
    "leadership": (0.0, 1.0),
    "open_per_100_households": (0.0, 1.0),
    "overdue_per_100_households": (0.0, 0.5),
    "hotspot": (0.0, 1.0),
}
#: A part-time grid worker (兼职网格员) counts as this share of a full-time one.
PLANNING_PART_TIME_WORKER_SHARE: float = 0.5
#: Member categories that do not count as available to serve households (流动, 失联).
PLANNING_UNAVAILABLE_CATEGORIES: tuple[str, ...] = ("floating", "lost_contact")
#: How many contributing factors the "why this area" sentence names.
PLANNING_EXPLAIN_TOP: int = 3
#: How many of the highest-scoring areas the map and the report draw.
PLANNING_TOP_AREAS: int = 10
#: Metres between the regular candidate points of station siting (besides the public buildings).
PLANNING_CANDIDATE_SPACING_M: float = 100.0
#: New stations the siting tool proposes by default, and the most it accepts.
PLANNING_SITES_K: int = 3
PLANNING_SITES_MAX_K: int = 20
#: Seconds the MCLP solver (CBC through PuLP) may run before it returns its best solution.
PLANNING_SOLVER_TIME_LIMIT_S: int = 60
#: Chromium used to print the community report to PDF (GRIDMAP_CHROMIUM overrides).
CHROMIUM: str = os.environ.get("GRIDMAP_CHROMIUM", "/usr/bin/chromium")
#: Font the report's static maps use for Chinese text (Debian package fonts-noto-cjk).
REPORT_CJK_FONT: str = "Noto Sans CJK SC"
#: Dots per inch of the report's static map images.
REPORT_MAP_DPI: int = 110

# --- users, sessions and the audit log (gridmap.auth) -----------------------------------------
#: Shortest password accepted for a user.
PASSWORD_MIN_LENGTH: int = 10
#: A session ends after this many minutes without use, and in any case this many hours after
#: login (a working day).
SESSION_IDLE_MINUTES: float = 30.0
SESSION_MAX_HOURS: float = 10.0
#: Failed logins within LOGIN_LOCKOUT_MINUTES that lock an account for that long.
LOGIN_MAX_FAILURES: int = 5
LOGIN_LOCKOUT_MINUTES: int = 15
#: Seconds a login waits for running password checks of the same name (none finishing).
LOGIN_PENDING_WAIT_S: float = 10.0
#: Seconds a login's hand-off code may wait before the browser exchanges it for its session
#: cookie (``asgi.py``: ``POST /_gridmap/session``); used once.
SESSION_HANDOFF_SECONDS: int = 60
#: The session cookie of the served app: HttpOnly, SameSite=Strict, Path=/.
SESSION_COOKIE: str = "gridmap_session"
#: Name of the first street administrator created on first start (GRIDMAP_ADMIN_PASSWORD).
ADMIN_NAME: str = os.environ.get("GRIDMAP_ADMIN_NAME", "admin")
#: Most audit rows one query of the audit page or `gridmap audit` returns.
AUDIT_MAX_ROWS: int = 2000

# --- display ----------------------------------------------------------------------------------
#: Tile layers offered by the map; "none" works offline and is what tests use.
BASEMAPS: tuple[str, ...] = ("none", "osm", "tianditu")
DEFAULT_BASEMAP: str = os.environ.get("GRIDMAP_BASEMAP", "none")
#: 天地图 needs a browser key (申请: 国家地理信息公共服务平台); empty disables the layer.
TIANDITU_KEY: str = os.environ.get("GRIDMAP_TIANDITU_KEY", "")
#: The only hosts map tiles may come from (the served app's Content-Security-Policy, asgi.py):
#: OpenStreetMap's and 天地图's tile servers, for the base maps above.
BASEMAP_TILE_HOSTS: tuple[str, ...] = (
    "https://tile.openstreetmap.org",
    "https://*.tianditu.gov.cn",
)
#: Where the app serves Leaflet from (Streamlit's static folder, see .streamlit/config.toml).
STATIC_URL: str = "/app/static/vendor"

# --- demo -------------------------------------------------------------------------------------
DEMO_SEED: int = 20241
DEMO_REFERENCE_DATE: dt.date = dt.date(2026, 10, 31)
DEMO_STREET_CODE: str = "420303001"
DEMO_STREET_NAME: str = "车城路街道"
