"""Benchmark 7b — loading the layers a user may see: the whole city, one street, one community.

On a city database (``gridmap demo --scale 1000000 --db URL``), :func:`gridmap.repository.
load_street_layers` is timed for a city-wide street administrator, one street's administrator
and one community's secretary (the first street and its first community), ``--repeat`` times
each, the order alternated. The scope filters in the query, so a street's user reads that
street's rows only.

Run ``python -m bench.scoped_load --db sqlite:////tmp/city1m.db``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # python bench/scoped_load.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "bench"

from bench._common import markdown_table, write_results
from gridmap.auth import Principal
from gridmap.db import open_database
from gridmap.repository import load_street_layers, read_table


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="a city database (gridmap demo --scale N)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    engine = open_database(args.db)
    communities = read_table(engine, "community").sort_values("id")
    street = int(communities["street_id"].min())
    community = int(communities.loc[communities["street_id"] == street, "id"].min())
    scopes = {
        "city (street_admin, no street)": Principal(None, "bench", "street_admin"),
        "one street (street_admin)": Principal(None, "bench", "street_admin", street_id=street),
        "one community (secretary)": Principal(None, "bench", "secretary", community_id=community),
    }
    seconds: dict[str, list[float]] = {name: [] for name in scopes}
    sizes: dict[str, tuple[int, int]] = {}
    for round_ in range(args.repeat):
        order = list(scopes) if round_ % 2 == 0 else list(reversed(scopes))
        for name in order:
            start = time.perf_counter()
            layers = load_street_layers(engine, scope=scopes[name])
            seconds[name].append(time.perf_counter() - start)
            sizes[name] = (len(layers.buildings), len(layers.grids))
    rows = [
        {"scope": name, "buildings": sizes[name][0], "grids": sizes[name][1],
         "median_s": statistics.median(seconds[name]), "runs_s": seconds[name]}
        for name in scopes
    ]  # fmt: skip
    print(markdown_table(rows, ["scope", "buildings", "grids", "median_s"]))
    path = write_results("scoped_load", {"db": args.db, "rows": rows}, args.out)
    print(f"\nresults: {path}")
    return {"rows": rows, "path": str(path)}


if __name__ == "__main__":
    main()
