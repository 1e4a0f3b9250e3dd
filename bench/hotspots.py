"""Benchmark 2 — Getis-Ord Gi* request hotspots on city grids, 999 permutations.

Side by side, in one run, on the grids of the synthetic city (:func:`gridmap.citygen.build_city`,
about 50 buildings per grid, so ``--sizes 20k`` means 20,000 grids / 1,000,000 buildings):

* **esda** — ``libpysal.weights.Queen.from_dataframe`` then ``esda.G_Local(y, w,
  transform="B", star=True, permutations=999, n_jobs=1, seed=…)`` called directly;
* **gridmap** — :func:`gridmap.hotspots.grid_weights` then :func:`gridmap.hotspots.getis_ord`
  with the same permutations and seed.

Which of the two runs first alternates (``--repeats`` rounds, esda first in odd rounds,
gridmap first in even ones) and each figure is the median of its rounds, so neither side gains
from the other warming caches or the allocator.

The values are requests per grid: Poisson around each grid's households / 40 with one hot
cluster (a community tile at five times the rate), drawn from a fixed seed.

Run ``python -m bench.hotspots --sizes 20k`` (or ``python bench/hotspots.py``).
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings
from pathlib import Path

if __package__ in (None, ""):  # python bench/hotspots.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "bench"

import numpy as np

from bench._common import base_parser, markdown_table, max_rss_mb, parse_sizes, timed, write_results
from gridmap import hotspots
from gridmap.citygen import build_city

BUILDINGS_PER_GRID = 50


def grids_and_values(n_grids: int, seed: int):
    """The city's grids (about ``n_grids``) and a request count per grid."""
    frames = build_city(n_grids * BUILDINGS_PER_GRID, seed=seed)
    grids = frames["grid"].assign(community_id=frames["grid"]["plan_id"])
    households = (
        frames["building"]
        .groupby("grid_id")["households"]
        .sum()
        .reindex(grids["id"], fill_value=0)
        .to_numpy(dtype=float)
    )
    rng = np.random.default_rng(seed)
    rate = households / 40.0
    hot = grids["community_id"].to_numpy() == max(1, grids["community_id"].max() // 2)
    rate[hot] *= 5.0
    return grids, rng.poisson(rate).astype(float)


def run_esda(grids, y: np.ndarray, permutations: int, seed: int) -> dict[str, float]:
    import esda
    import libpysal

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_w = timed(
            lambda: libpysal.weights.Queen.from_dataframe(
                grids, ids=grids["id"].tolist(), use_index=False, silence_warnings=True
            )
        )
        w = t_w.result
        t_g = timed(
            lambda: esda.G_Local(
                y, w, transform="B", permutations=permutations, star=True,
                keep_simulations=True, n_jobs=1, seed=seed,
            )
        )  # fmt: skip
    g = t_g.result
    return {
        "weights_s": t_w.seconds,
        "gi_s": t_g.seconds,
        "total_s": t_w.seconds + t_g.seconds,
        "hot_95": int(((g.p_sim <= 0.05) & (g.z_sim > 0)).sum()),
    }


def run_gridmap(grids, y: np.ndarray, permutations: int, seed: int) -> dict[str, float]:
    t_w = timed(lambda: hotspots.grid_weights(grids))
    w = t_w.result
    t_g = timed(lambda: hotspots.getis_ord(y, w, permutations=permutations, seed=seed, fdr=False))
    table = t_g.result[0]
    return {
        "weights_s": t_w.seconds,
        "gi_s": t_g.seconds,
        "total_s": t_w.seconds + t_g.seconds,
        "hot_95": int(table["cls"].isin(["hot_99", "hot_95"]).sum()),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = base_parser(__doc__.splitlines()[0], "20k")
    parser.add_argument("--permutations", type=int, default=999)
    parser.add_argument("--repeats", type=int, default=2, help="rounds, order alternated")
    args = parser.parse_args(argv)
    rows = []
    for n in parse_sizes(args.sizes):
        t0 = time.perf_counter()
        grids, y = grids_and_values(n, args.seed)
        row: dict[str, object] = {"grids": len(grids), "permutations": args.permutations}
        runs: dict[str, list[dict[str, float]]] = {"esda": [], "gridmap": []}
        for round_ in range(max(1, args.repeats)):
            order = [("esda", run_esda), ("gridmap", run_gridmap)]
            for name, run in order if round_ % 2 == 0 else order[::-1]:
                runs[name].append(run(grids, y, args.permutations, args.seed))
        for name, results in runs.items():
            row |= {f"{name}_{k}": statistics.median(r[k] for r in results) for k in results[0]}
        row["gridmap_x_esda"] = row["gridmap_total_s"] / row["esda_total_s"]
        row["rounds"] = len(runs["esda"])
        row["max_rss_mb"] = max_rss_mb()
        rows.append(row)
        print(f"[{n:,}] done in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    cols = ["grids", "permutations", "esda_weights_s", "esda_gi_s", "esda_total_s",
            "gridmap_weights_s", "gridmap_gi_s", "gridmap_total_s", "gridmap_x_esda",
            "esda_hot_95", "gridmap_hot_95"]  # fmt: skip
    print(markdown_table(rows, cols))
    path = write_results("hotspots", {"sizes": rows}, args.out)
    print(f"\nresults: {path}")
    return {"rows": rows, "path": str(path)}


if __name__ == "__main__":
    main()
