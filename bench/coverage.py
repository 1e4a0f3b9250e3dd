"""Benchmark 1 — the coverage check (building assignment + gaps + overlaps) at city scale.

Side by side, in one run, on the same synthetic city (:func:`gridmap.citygen.build_city`):

* **gridmap** — :func:`gridmap.coverage.assign_buildings`, :func:`~gridmap.coverage.find_gaps`
  and :func:`~gridmap.coverage.find_overlaps` on the layers as the repository loads them
  (EPSG:4326; the time includes choosing the UTM zone, reprojecting and validating).
* **PostGIS** — the same three answers in SQL on GiST-indexed tables of a real cluster:
  ``DISTINCT ON (b.id) … ORDER BY ST_Area(ST_Intersection(…)) DESC`` for the assignment,
  ``ST_Difference(community, ST_Union(grids))`` for the gaps, a self-join with
  ``ST_Relate(…, '2********')`` and ``ST_Intersection`` for the overlaps. Loading the data
  (COPY), indexing and ANALYZE are not timed.
* **naive loop** — one Python iteration per grid, each testing every building and every other
  grid with vectorised shapely calls (no spatial index), plus a loop per community for the
  gaps; geometry handed over already in metres. Timed on the first ``--naive-grids`` grids
  and **extrapolated linearly** to all grids. ``naive_py`` is the literal double loop (one
  ``building.intersects(grid)`` call per pair), timed on 2 grids and extrapolated the same way.
* **as users run it** — the city written to an SQLite file; ``load_street_layers`` and
  ``check_coverage`` timed apart in this process, and ``gridmap check --format json`` timed as
  a process of its own (database → report, start-up included), with its peak memory.
  ``check_x_core`` is that process over the three core functions above; ``postgis_x_check``
  PostGIS's three queries over it.
* **floor** — ``shapely.STRtree(grids).query(buildings, predicate="intersects")`` alone, on
  geometry already in metres: the least any index-based answer can cost.

Run ``python -m bench.coverage --sizes 10k,100k,1M`` (or ``python bench/coverage.py``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # python bench/coverage.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "bench"

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import text

from bench._common import (
    base_parser,
    fresh_database,
    markdown_table,
    max_rss_mb,
    postgis,
    timed,
    write_results,
)
from gridmap import coverage
from gridmap.citygen import build_city
from gridmap.crs import metric_crs

ASSIGN_SQL = """
SELECT DISTINCT ON (b.id) b.id AS building_id, g.id AS grid_id,
       ST_Area(ST_Intersection(b.geom, g.geom)) / NULLIF(ST_Area(b.geom), 0) AS share
FROM building b JOIN grid g ON ST_Intersects(b.geom, g.geom)
ORDER BY b.id, ST_Area(ST_Intersection(b.geom, g.geom)) DESC, g.id
"""
GAPS_SQL = """
WITH covered AS (
    SELECT p.community_id, ST_Union(g.geom) AS geom
    FROM grid g JOIN grid_plan p ON p.id = g.plan_id
    WHERE p.status = 'active' GROUP BY p.community_id
)
SELECT c.id, ST_Area(ST_Transform(
           CASE WHEN covered.geom IS NULL THEN c.geom
                ELSE ST_Difference(c.geom, covered.geom) END, :srid)) AS gap_m2
FROM community c LEFT JOIN covered ON covered.community_id = c.id
"""
OVERLAPS_SQL = """
SELECT a.id, b.id, ST_Area(ST_Transform(ST_Intersection(a.geom, b.geom), :srid)) AS m2
FROM grid a JOIN grid b ON a.id < b.id AND ST_Intersects(a.geom, b.geom)
WHERE ST_Relate(a.geom, b.geom, '2********')
"""


def city_layers(n: int, seed: int) -> dict[str, object]:
    """The city as the repository hands it to the analysis (grids with ``community_id``)."""
    frames = build_city(n, seed=seed)
    grids = frames["grid"].assign(community_id=frames["grid"]["plan_id"])
    return {"frames": frames, "communities": frames["community"], "grids": grids,
            "buildings": frames["building"]}  # fmt: skip


def run_gridmap(communities, grids, buildings) -> dict[str, object]:
    parts = {}
    t = timed(lambda: coverage.assign_buildings(buildings, grids))
    parts["assign_s"], assignment = t.seconds, t.result
    t = timed(lambda: coverage.find_gaps(communities, grids))
    parts["gaps_s"], gaps = t.seconds, t.result
    t = timed(lambda: coverage.find_overlaps(grids))
    parts["overlaps_s"], overlaps = t.seconds, t.result
    parts["total_s"] = parts["assign_s"] + parts["gaps_s"] + parts["overlaps_s"]
    return {"times": parts, "assignment": assignment.buildings, "gaps": gaps, "overlaps": overlaps}


def run_as_users_run_it(frames: dict, n: int, workdir: Path) -> dict[str, float]:
    """What a user pays, from the database: the city written to an SQLite file, then
    ``load_street_layers`` + ``check_coverage`` in this process (timed apart), and
    ``gridmap check --format json`` as a process of its own (start-up, loading, the check and
    the report written out), with that process's peak memory."""
    import subprocess

    from gridmap.citygen import save_city
    from gridmap.coverage import check_coverage
    from gridmap.db import init_database, make_engine
    from gridmap.repository import load_street_layers

    path = workdir / f"bench_check_{n}.db"
    path.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    engine = make_engine(url, create=True)
    init_database(engine)
    save_city(engine, frames)
    t = timed(lambda: load_street_layers(engine))
    load_s, layers = t.seconds, t.result
    street = (layers.communities, layers.grids, layers.buildings, layers.stations)
    check_s = timed(lambda: check_coverage(*street)).seconds
    engine.dispose()
    layers = street = None  # freed before the process runs beside this one
    # the check reports its own peak memory as it exits (exit status 1: problems found)
    report_peak = (
        "import atexit, resource, sys; atexit.register(lambda: sys.stderr.write("
        "f'\\nmaxrss_kb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n')); "
        "from gridmap.cli import main; sys.argv[0] = 'gridmap'; main()"
    )
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", report_peak, "check", "--db", url, "--format", "json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    process_s = time.perf_counter() - start
    err = done.stderr.decode(errors="replace")
    if done.returncode not in (0, 1) or "maxrss_kb=" not in err:
        raise RuntimeError(err)
    peak_kb = int(err.rsplit("maxrss_kb=", 1)[1].split()[0])
    path.unlink(missing_ok=True)
    return {
        "load_layers_s": load_s,
        "check_coverage_s": check_s,
        "gridmap_check_s": process_s,
        "gridmap_check_peak_mb": peak_kb / 1024,
    }


def run_floor(bgeo: np.ndarray, ggeo: np.ndarray) -> float:
    return timed(lambda: shapely.STRtree(ggeo).query(bgeo, predicate="intersects")).seconds


def run_naive(
    bgeo: np.ndarray, ggeo: np.ndarray, cgeo: np.ndarray, grid_com: np.ndarray, k: int
) -> dict[str, float]:
    """A per-grid loop without a spatial index, timed on ``k`` grids and extrapolated."""
    best_share = np.zeros(len(bgeo))
    best_grid = np.full(len(bgeo), -1)
    barea = shapely.area(bgeo)
    k = min(k, len(ggeo))
    start = time.perf_counter()
    for g in range(k):
        grid = ggeo[g]
        hit = np.flatnonzero(shapely.intersects(bgeo, grid))
        share = shapely.area(shapely.intersection(bgeo[hit], grid)) / barea[hit]
        better = share > best_share[hit]
        best_share[hit[better]] = share[better]
        best_grid[hit[better]] = g
        others = np.flatnonzero(shapely.intersects(ggeo, grid))
        others = others[others > g]
        shapely.area(shapely.intersection(ggeo[others], grid))
    per_grid = (time.perf_counter() - start) / k
    # The most literal naive loop: every grid against every building, one shapely call each.
    start = time.perf_counter()
    k_py = min(2, len(ggeo))
    for g in range(k_py):
        grid = ggeo[g]
        for i, building in enumerate(bgeo):
            if building.intersects(grid):
                share = building.intersection(grid).area / barea[i]
                if share > best_share[i]:
                    best_share[i], best_grid[i] = share, g
    per_grid_py = (time.perf_counter() - start) / k_py
    start = time.perf_counter()
    for c in range(len(cgeo)):  # gaps: one union per community
        shapely.area(shapely.difference(cgeo[c], shapely.union_all(ggeo[grid_com == c])))
    gaps = time.perf_counter() - start
    return {
        "per_grid_s": per_grid,
        "grids_timed": k,
        "gaps_s": gaps,
        "total_s": per_grid * len(ggeo) + gaps,
        "per_grid_py_s": per_grid_py,
        "py_total_s": per_grid_py * len(ggeo) + gaps,
    }


def run_postgis(cluster, frames, srid: int, name: str) -> dict[str, object]:
    from bench.pg_copy import copy_tables
    from gridmap.db import init_database, make_engine

    url = fresh_database(cluster, name)
    engine = make_engine(url)
    init_database(engine)
    start = time.perf_counter()
    copy_tables(engine, frames)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    load_s = time.perf_counter() - start
    times: dict[str, float] = {"load_s": load_s}
    with engine.connect() as conn:
        t = timed(lambda: conn.execute(text(ASSIGN_SQL)).all())
        times["assign_s"], assignment = t.seconds, t.result
        t = timed(lambda: conn.execute(text(GAPS_SQL), {"srid": srid}).all())
        times["gaps_s"], gaps = t.seconds, t.result
        t = timed(lambda: conn.execute(text(OVERLAPS_SQL), {"srid": srid}).all())
        times["overlaps_s"], overlaps = t.seconds, t.result
    engine.dispose()
    times["total_s"] = times["assign_s"] + times["gaps_s"] + times["overlaps_s"]
    return {"times": times, "assignment": assignment, "gaps": gaps, "overlaps": overlaps}


def agreement(ours: dict, sql: dict) -> dict[str, float]:
    """How well gridmap and PostGIS agree: same grid per building, total gap/overlap area."""
    sql_grid = pd.Series({b: g for b, g, _ in sql["assignment"]})
    mine = ours["assignment"].set_index("building_id")["grid_id"]
    both = mine.dropna().index.intersection(sql_grid.index)
    same = float((mine.loc[both].astype(int) == sql_grid.loc[both]).mean()) if len(both) else 1.0
    gap_sql = sum(m2 for _, m2 in sql["gaps"] if m2 and m2 > 1.0)
    ovl_sql = sum(m2 for *_, m2 in sql["overlaps"] if m2 > 1.0)
    return {
        "same_grid_share": same,
        "gap_m2_gridmap": float(ours["gaps"]["area_m2"].sum()),
        "gap_m2_postgis": float(gap_sql),
        "overlap_m2_gridmap": float(ours["overlaps"]["area_m2"].sum()),
        "overlap_m2_postgis": float(ovl_sql),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = base_parser(__doc__.splitlines()[0], "10k,100k,1M")
    parser.add_argument("--naive-grids", type=int, default=20, help="grids the naive loop times")
    parser.add_argument("--no-postgis", action="store_true", help="skip PostGIS (smoke runs)")
    parser.add_argument(
        "--workdir", type=Path, default=Path("/tmp"), help="where the city's SQLite file goes"
    )
    args = parser.parse_args(argv)
    from bench._common import parse_sizes

    rows = []
    cluster_cm = None if args.no_postgis else postgis()
    cluster = cluster_cm.__enter__() if cluster_cm else None
    try:
        for n in parse_sizes(args.sizes):
            t0 = time.perf_counter()
            city = city_layers(n, args.seed)
            build_s = time.perf_counter() - t0
            communities, grids, buildings = city["communities"], city["grids"], city["buildings"]
            crs = metric_crs(buildings)
            bgeo = np.asarray(buildings.to_crs(crs).geometry.values, dtype=object)
            ggeo = np.asarray(grids.to_crs(crs).geometry.values, dtype=object)
            cgeo = np.asarray(communities.to_crs(crs).geometry.values, dtype=object)
            com_pos = pd.Index(communities["id"]).get_indexer(grids["community_id"])

            ours = run_gridmap(communities, grids, buildings)
            users = run_as_users_run_it(city["frames"], n, args.workdir)
            floor_s = run_floor(bgeo, ggeo)
            naive = run_naive(bgeo, ggeo, cgeo, com_pos, args.naive_grids)
            row = {
                "buildings": len(buildings),
                "grids": len(grids),
                "communities": len(communities),
                "build_city_s": build_s,
                "gridmap_s": ours["times"]["total_s"],
                "gridmap_assign_s": ours["times"]["assign_s"],
                "gridmap_gaps_s": ours["times"]["gaps_s"],
                "gridmap_overlaps_s": ours["times"]["overlaps_s"],
                "floor_s": floor_s,
                "naive_s": naive["total_s"],
                "naive_grids_timed": naive["grids_timed"],
                "naive_per_grid_s": naive["per_grid_s"],
                "x_floor": ours["times"]["total_s"] / floor_s,
                "assign_x_floor": ours["times"]["assign_s"] / floor_s,
                "naive_x": naive["total_s"] / ours["times"]["total_s"],
                "naive_py_s": naive["py_total_s"],
                "naive_py_x": naive["py_total_s"] / ours["times"]["total_s"],
                **users,
                "check_x_core": users["gridmap_check_s"] / ours["times"]["total_s"],
            }
            if cluster is not None:
                srid = crs.to_epsg() or 32649
                sql = run_postgis(cluster, city["frames"], srid, f"bench_cov_{n}")
                row |= {
                    "postgis_s": sql["times"]["total_s"],
                    "postgis_assign_s": sql["times"]["assign_s"],
                    "postgis_gaps_s": sql["times"]["gaps_s"],
                    "postgis_overlaps_s": sql["times"]["overlaps_s"],
                    "postgis_load_s": sql["times"]["load_s"],
                    "postgis_x": sql["times"]["total_s"] / ours["times"]["total_s"],
                    "postgis_x_check": sql["times"]["total_s"] / users["gridmap_check_s"],
                    **agreement(ours, sql),
                }
            row["max_rss_mb"] = max_rss_mb()
            rows.append(row)
            print(f"[{n:,}] done in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    finally:
        if cluster_cm:
            cluster_cm.__exit__(None, None, None)
    cols = ["buildings", "grids", "gridmap_s", "floor_s", "x_floor", "load_layers_s",
            "check_coverage_s", "gridmap_check_s", "check_x_core", "gridmap_check_peak_mb",
            "postgis_s", "postgis_x", "postgis_x_check", "naive_s", "naive_x", "naive_py_s",
            "naive_py_x", "same_grid_share"]  # fmt: skip
    print(markdown_table(rows, cols))
    path = write_results("coverage", {"sizes": rows}, args.out)
    print(f"\nresults: {path}")
    return {"rows": rows, "path": str(path)}


if __name__ == "__main__":
    main()
