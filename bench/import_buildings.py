"""Benchmark 3 — importing buildings from a GeoPackage into SQLite and PostGIS, with peak memory.

The city's buildings (:func:`gridmap.citygen.build_city`) are written to a GeoPackage once (not
timed); the other tables (street, communities, grids, people …) are loaded into each target
database beforehand (not timed). Then, each in its own process so that its peak memory is its
own (``ru_maxrss`` of that child, from ``os.wait4``):

* ``gridmap-sqlite`` / ``gridmap-postgis`` — read the GeoPackage with pyogrio
  (``geopandas.read_file``) and write it with :func:`gridmap.repository.save_tables`
  (executemany batches through SQLAlchemy, one transaction);
* ``copy-postgis`` — the same read, then the COPY prototype :func:`bench.pg_copy.copy_tables`;
* ``ogr2ogr-sqlite`` / ``ogr2ogr-postgis`` — GDAL's ``ogr2ogr`` into a new table of its own
  (PostgreSQL driver: COPY, GiST index), when ``ogr2ogr`` is on ``PATH``
  (``apt-get install gdal-bin``; benchmark only, not a dependency of gridmap).

Run ``python -m bench.import_buildings --sizes 1M`` (or ``python bench/import_buildings.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # python bench/import_buildings.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "bench"

from bench._common import (
    REPO_ROOT,
    base_parser,
    fresh_database,
    markdown_table,
    parse_sizes,
    postgis,
    write_results,
)

CONTENDERS = ("gridmap-sqlite", "gridmap-postgis", "copy-postgis", "ogr2ogr-sqlite",
              "ogr2ogr-postgis")  # fmt: skip
NULLABLE_INT = ("leader_id", "party_org_id", "grid_id")


def read_buildings(gpkg: Path):
    """The building layer as the repository's writer wants it."""
    import geopandas as gpd

    frame = gpd.read_file(gpkg, engine="pyogrio", layer="building")
    frame = frame.rename_geometry("geom")
    for col in NULLABLE_INT:
        frame[col] = frame[col].astype("Int64")
    return frame


def worker(kind: str, gpkg: Path, url: str) -> dict[str, float]:
    """Run one in-process contender and report its phases (this process is measured)."""
    from gridmap.db import make_engine

    start = time.perf_counter()
    frame = read_buildings(gpkg)
    read_s = time.perf_counter() - start
    engine = make_engine(url)
    start = time.perf_counter()
    if kind == "copy-postgis":
        from bench.pg_copy import copy_tables

        copy_tables(engine, {"building": frame})
    else:
        from gridmap.repository import save_tables

        save_tables(engine, {"building": frame})
    write_s = time.perf_counter() - start
    engine.dispose()
    return {"read_s": read_s, "write_s": write_s, "rows": len(frame)}


def _run_measured(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run a command; its wall time, its own peak RSS (MB, from ``/usr/bin/time``: a child
    forked from this big process would inherit its high-water mark) and its stdout."""
    if not Path("/usr/bin/time").exists():
        raise RuntimeError("bench.import_buildings needs GNU time: apt-get install time")
    timer = ["/usr/bin/time", "-f", "MAXRSS_KB=%M"]
    start = time.perf_counter()
    proc = subprocess.run(
        [*timer, *cmd], capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=4 * 3600
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    peak = float("nan")
    for line in proc.stderr.splitlines():
        if line.startswith("MAXRSS_KB="):
            peak = int(line.split("=", 1)[1]) / 1024
    return seconds, peak, proc.stdout


def prepare_target(url: str, frames: dict) -> None:
    """Schema plus every table but the buildings (their foreign keys point there)."""
    from gridmap.db import init_database, make_engine
    from gridmap.repository import save_tables

    engine = make_engine(url, create=True)
    init_database(engine)
    save_tables(
        engine, {k: v for k, v in frames.items() if k not in ("building", "service_station")}
    )
    engine.dispose()


def pg_conninfo(url: str) -> str:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return f"PG:host={u.host} port={u.port} user={u.username} dbname={u.database}"


def run_size(n: int, seed: int, workdir: Path, cluster, contenders: list[str]) -> list[dict]:
    from gridmap.citygen import build_city

    frames = build_city(n, seed=seed)
    gpkg = workdir / f"buildings-{n}.gpkg"
    frames["building"].to_file(gpkg, layer="building", driver="GPKG", engine="pyogrio")
    gpkg_mb = gpkg.stat().st_size / 1e6
    _, baseline_mb, _ = _run_measured(
        [sys.executable, "-c", "import geopandas, sqlalchemy, gridmap.repository"]
    )
    rows = []
    for kind in contenders:
        if kind.startswith("ogr2ogr") and shutil.which("ogr2ogr") is None:
            rows.append({"contender": kind, "buildings": n, "note": "ogr2ogr not installed"})
            continue
        if kind.endswith("postgis") and cluster is None:
            continue
        if kind.endswith("sqlite"):
            url = f"sqlite:///{workdir / f'{kind}-{n}.db'}"
        else:
            url = fresh_database(cluster, f"bench_import_{kind.replace('-', '_')}_{n}")
        if kind.startswith("ogr2ogr"):
            if kind.endswith("sqlite"):
                target = str(workdir / f"{kind}-{n}.sqlite")
                cmd = ["ogr2ogr", "-f", "SQLite", target, str(gpkg), "building",
                       "-nln", "building_ogr", "-gt", "65536"]  # fmt: skip
            else:
                cmd = ["ogr2ogr", "-f", "PostgreSQL", pg_conninfo(url), str(gpkg), "building",
                       "-nln", "building_ogr", "-gt", "65536",
                       "-lco", "SPATIAL_INDEX=GIST"]  # fmt: skip
            seconds, peak, _ = _run_measured(cmd)
            rows.append({"contender": kind, "buildings": n, "total_s": seconds, "peak_mb": peak})
        else:
            prepare_target(url, frames)
            cmd = [sys.executable, "-m", "bench.import_buildings", "--worker", kind,
                   "--gpkg", str(gpkg), "--db", url]  # fmt: skip
            seconds, peak, out = _run_measured(cmd)
            phases = json.loads(out.strip().splitlines()[-1])
            rows.append({"contender": kind, "buildings": n, "total_s": seconds, "peak_mb": peak,
                         "read_s": phases["read_s"], "write_s": phases["write_s"]})  # fmt: skip
        print(f"  {kind}: {rows[-1].get('total_s', 0):.1f} s", file=sys.stderr)
    fastest = {r["contender"]: r.get("total_s") for r in rows}
    for r in rows:
        ref = fastest.get("ogr2ogr-postgis" if "postgis" in r["contender"] else "ogr2ogr-sqlite")
        if ref and r.get("total_s"):
            r["x_ogr2ogr"] = r["total_s"] / ref
        r |= {"gpkg_mb": gpkg_mb, "python_baseline_mb": baseline_mb}
    return rows


def main(argv: list[str] | None = None) -> dict:
    parser = base_parser(__doc__.splitlines()[0], "1M")
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--no-postgis", action="store_true", help="SQLite only (smoke runs)")
    parser.add_argument("--worker", choices=CONTENDERS, help=argparse_hidden())
    parser.add_argument("--gpkg", type=Path, help=argparse_hidden())
    parser.add_argument("--db", help=argparse_hidden())
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.gpkg, args.db)))
        return {}
    contenders = [c for c in args.contenders.split(",") if c]
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="gridmap-bench-") as tmp:
        workdir = Path(tmp)
        os.chmod(workdir, 0o755)  # the postgres OS user does not read it, but ogr2ogr may
        if args.no_postgis:
            for n in parse_sizes(args.sizes):
                rows += run_size(n, args.seed, workdir, None, contenders)
        else:
            with postgis() as cluster:
                for n in parse_sizes(args.sizes):
                    rows += run_size(n, args.seed, workdir, cluster, contenders)
    cols = ["contender", "buildings", "total_s", "read_s", "write_s", "peak_mb", "x_ogr2ogr",
            "note"]  # fmt: skip
    print(markdown_table(rows, cols))
    path = write_results("import_buildings", {"rows": rows}, args.out)
    print(f"\nresults: {path}")
    return {"rows": rows, "path": str(path)}


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
