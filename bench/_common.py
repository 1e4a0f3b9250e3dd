"""Shared pieces of the benchmarks: timing, peak memory, the PostGIS cluster, results.

Every benchmark measures the contenders side by side in one run (the machine is shared, so
absolute times are noisy; ratios from the same run are what to compare), writes its figures as
JSON under ``bench/results/`` (git-ignored) and prints a markdown table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "bench" / "results"
for _path in (REPO_ROOT, REPO_ROOT / "tests"):  # gridmap and tests/_services.py
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))


@dataclass
class Timing:
    """One measured call: seconds (best of the repeats) and its result."""

    seconds: float
    result: Any = None
    peak_mb: float | None = None
    runs: list[float] = field(default_factory=list)


def timed(func: Callable[[], Any], repeat: int = 1, trace_memory: bool = False) -> Timing:
    """Run ``func`` ``repeat`` times; the best wall time counts (least disturbed by neighbours).

    With ``trace_memory`` the first run is traced with :mod:`tracemalloc` (Python-level
    allocations, including NumPy/shapely buffers) and its peak is reported in MB; tracing slows
    the run, so its time is not used when there are more repeats.
    """
    runs: list[float] = []
    peak = None
    result = None
    for i in range(repeat):
        gc.collect()
        if trace_memory and i == 0:
            tracemalloc.start()
        start = time.perf_counter()
        result = func()
        runs.append(time.perf_counter() - start)
        if trace_memory and i == 0:
            peak = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.stop()
    counted = runs[1:] if trace_memory and repeat > 1 else runs
    return Timing(min(counted), result, peak, runs)


def max_rss_mb(children: bool = False) -> float:
    """Peak resident memory of this process (or its waited-for children) so far, MB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import geopandas
    import shapely

    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "shapely": shapely.__version__,
        "geos": shapely.geos_version_string,
        "geopandas": geopandas.__version__,
    }


def parse_sizes(text: str) -> list[int]:
    """``"10k,100k,1M"`` → ``[10000, 100000, 1000000]``."""
    out = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        mult = {"k": 1_000, "K": 1_000, "m": 1_000_000, "M": 1_000_000}.get(part[-1], 1)
        number = part[:-1] if mult != 1 else part
        out.append(int(float(number) * mult))
    return out


def base_parser(description: str, sizes: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--sizes", default=sizes, help=f"comma-separated sizes (default {sizes})")
    parser.add_argument("--seed", type=int, default=20241, help="city seed")
    parser.add_argument("--out", type=Path, default=None, help="JSON file (default bench/results)")
    return parser


def write_results(name: str, payload: dict[str, Any], out: Path | None = None) -> Path:
    """Save a run as JSON (``bench/results/<name>-<timestamp>.json``) and return the path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = out or RESULTS_DIR / f"{name}-{stamp}.json"
    payload = {
        "benchmark": name,
        "date": dt.date.today().isoformat(),
        "command": " ".join(["python", "-m", f"bench.{Path(sys.argv[0]).stem}", *sys.argv[1:]]),
        "machine": machine(),
        **payload,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str))
    return path


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """Rows as a GitHub markdown table (numbers formatted compactly)."""

    def fmt(value: Any) -> str:
        if isinstance(value, float):
            if value != value:
                return "–"
            return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"
        if isinstance(value, int):
            return f"{value:,}"
        return "–" if value is None else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


# --- PostGIS ------------------------------------------------------------------------------------

#: Server settings for benchmarks (the test cluster's 32 MB shared_buffers is too small at 1M).
BENCH_PG_SETTINGS = {
    "shared_buffers": "'1GB'",
    "work_mem": "'256MB'",
    "maintenance_work_mem": "'512MB'",
    "max_wal_size": "'4GB'",
    "checkpoint_timeout": "'30min'",
}


@contextmanager
def postgis(tmp_dir: Path | None = None, tuned: bool = True) -> Iterator[Any]:
    """A throwaway PostGIS cluster started the way the tests start theirs
    (``tests/_services.py``), restarted with benchmark memory settings when ``tuned``."""
    import tempfile

    from _services import _as_pg_user, _connect, start_postgis_cluster

    tmp = Path(tmp_dir or tempfile.gettempdir())
    cluster = start_postgis_cluster(tmp)
    try:
        if tuned:
            with _connect(cluster.conninfo("postgres")) as conn:
                for key, value in BENCH_PG_SETTINGS.items():
                    conn.execute(f"ALTER SYSTEM SET {key} = {value}")
            subprocess.run(
                [*_as_pg_user(), str(cluster.bindir / "pg_ctl"), "-D", str(cluster.data_dir),
                 "-l", str(cluster.log_path), "-w", "-t", "60", "restart", "-m", "fast"],
                check=True, capture_output=True, cwd="/", timeout=120,
            )  # fmt: skip
        yield cluster
    finally:
        cluster.stop()


def fresh_database(cluster: Any, name: str) -> str:
    """A new PostGIS database on the cluster; its SQLAlchemy URL."""
    from _services import create_database, drop_database

    drop_database(cluster, name)
    return create_database(cluster, name)
