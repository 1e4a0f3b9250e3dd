"""Benchmark 8 — the request analyses of issue 22 as users pay for them, beside their cores.

On a demo street database (built in ``--workdir`` unless ``--db`` is given), side by side in one
run, ``--repeat`` rounds with the order of the three ways alternated and the best of the rounds
counted:

* **command** — the command a user types, as a process (``python -m gridmap …``: interpreter
  start, imports, the database read and the output);
* **from the database** — the core function the page calls (:func:`gridmap.requests.rates_for`,
  :func:`~gridmap.requests.digest_for`, :func:`~gridmap.requests.possible_duplicates`, and
  loading plus :func:`gridmap.emerging.emerging_hotspots`);
* **inner** — the pure function on frames already loaded (:func:`~gridmap.requests.request_rates`,
  :func:`~gridmap.requests.day_digest`, :func:`~gridmap.requests.duplicate_candidates`,
  :func:`~gridmap.emerging.emerging_hotspots`).

Run ``python -m bench.request_analyses`` (or ``python bench/request_analyses.py``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # python bench/request_analyses.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "bench"

import pandas as pd
from sqlalchemy import select

from bench._common import markdown_table, write_results
from gridmap import requests as rq
from gridmap.bootstrap import create_demo_database
from gridmap.db import open_database
from gridmap.emerging import emerging_hotspots
from gridmap.repository import load_street_layers, read_table, table

REPO_ROOT = Path(__file__).resolve().parent.parent


def _command(url: str, *args: str) -> Callable[[], None]:
    def run() -> None:
        subprocess.run([sys.executable, "-m", "gridmap", *args, "--db", url], check=True,
                       capture_output=True, cwd=REPO_ROOT)  # fmt: skip

    return run


def cases(url: str) -> dict[str, dict[str, Callable[[], object]]]:
    """Each analysis: its command, its core from the database and its inner function."""
    engine = open_database(url)
    now = rq.street_now(engine)
    requests = rq.load_requests(engine)
    with engine.connect() as conn:
        acted = rq.first_actions(conn)
        ev = table("request_event")
        events = pd.DataFrame(
            conn.execute(select(ev.c.request_id, ev.c.at, ev.c.to_status, ev.c.note)).all(),
            columns=["request_id", "at", "to_status", "note"],
        )
    unit = requests["grid_id"]  # by grid: the grouping is what is timed
    grids = load_street_layers(engine).grids
    raw = read_table(engine, "request")
    day = rq.digest_day(now)
    return {
        "rates (command, database: by community; inner: by grid)": {
            "command": _command(url, "requests", "rates", "--format", "json"),
            "database": lambda: rq.rates_for(engine, now, "community"),
            "inner": lambda: rq.request_rates(requests, acted, now, unit),  # by grid
        },
        "daily digest": {
            "command": _command(url, "requests", "digest", "--format", "json"),
            "database": lambda: rq.digest_for(engine, now, day),
            "inner": lambda: rq.day_digest(requests, events, day, now),
        },
        "possible duplicates": {
            "command": _command(url, "requests", "duplicates", "--format", "json"),
            "database": lambda: rq.possible_duplicates(engine),
            "inner": lambda: rq.duplicate_candidates(requests),
        },
        "emerging hot spots (h3, 12 months)": {
            "command": _command(url, "hotspots", "--emerging", "--format", "json"),
            "database": lambda: emerging_hotspots(
                read_table(engine, "request"), load_street_layers(engine).grids, now
            ),
            "inner": lambda: emerging_hotspots(raw, grids, now),
        },
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=None, help="a demo street database (default: built)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    url = args.db
    if url is None:
        workdir = args.workdir or Path(tempfile.mkdtemp(prefix="gridmap-bench-"))
        url = f"sqlite:///{workdir / 'demo.db'}"
        if not (workdir / "demo.db").exists():
            create_demo_database(url).dispose()
    ways = ("command", "database", "inner")
    rows = []
    for name, funcs in cases(url).items():
        seconds: dict[str, list[float]] = {w: [] for w in ways}
        for round_ in range(args.repeat):
            for way in ways if round_ % 2 == 0 else tuple(reversed(ways)):
                start = time.perf_counter()
                funcs[way]()
                seconds[way].append(time.perf_counter() - start)
        best = {w: min(v) for w, v in seconds.items()}
        rows.append({
            "analysis": name,
            "command_s": best["command"],
            "database_s": best["database"],
            "inner_s": best["inner"],
            "command_x_inner": best["command"] / best["inner"],
            "database_x_inner": best["database"] / best["inner"],
        })  # fmt: skip
    columns = ["analysis", "command_s", "database_s", "inner_s", "command_x_inner",
               "database_x_inner"]  # fmt: skip
    print(markdown_table(rows, columns))
    payload = {"db": url, "repeat": args.repeat, "at": dt.datetime.now().isoformat(), "rows": rows}
    path = write_results("request_analyses", payload, args.out)
    print(f"\nwritten to {path}")
    return {"path": str(path), "rows": rows}


if __name__ == "__main__":
    main()
