"""A tiny run of every benchmark in bench/, so that they cannot rot. No timing is asserted: only
that each runs end to end on real services, writes its JSON and agrees with itself."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from _services import create_database, drop_database
from bench import coverage, hotspots, import_buildings, interaction, scoped_load, street_page
from bench._common import markdown_table, parse_sizes
from bench.pg_copy import copy_tables
from gridmap.citygen import build_city
from gridmap.db import init_database, make_engine
from gridmap.repository import read_table, save_tables

REPO_ROOT = Path(__file__).resolve().parent.parent


def _load(path: str) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def test_helpers() -> None:
    assert parse_sizes("10k, 100k,1M,250") == [10_000, 100_000, 1_000_000, 250]
    table = markdown_table([{"a": 1234, "b": 0.5}], ["a", "b", "c"])
    assert table.splitlines()[2] == "| 1,234 | 0.5 | – |"


@pytest.mark.postgis
def test_coverage_benchmark_runs_and_postgis_agrees(tmp_path: Path) -> None:
    args = ["--sizes", "600", "--naive-grids", "2", "--workdir", str(tmp_path)]
    out = coverage.main([*args, "--out", str(tmp_path / "c.json")])
    (row,) = _load(out["path"])["sizes"]
    assert row["buildings"] == 600
    for key in ("gridmap_s", "postgis_s", "floor_s", "naive_s", "naive_py_s", "load_layers_s",
                "check_coverage_s", "gridmap_check_s", "gridmap_check_peak_mb"):  # fmt: skip
        assert row[key] > 0, key
    assert row["same_grid_share"] == 1.0
    assert row["gap_m2_gridmap"] == pytest.approx(row["gap_m2_postgis"], rel=0.005, abs=1.0)


def test_hotspots_benchmark_runs(tmp_path: Path) -> None:
    args = ["--sizes", "60", "--permutations", "99", "--repeats", "2"]
    out = hotspots.main([*args, "--out", str(tmp_path / "h.json")])
    (row,) = _load(out["path"])["sizes"]
    assert row["grids"] >= 50 and row["rounds"] == 2
    assert row["esda_total_s"] > 0 and row["gridmap_total_s"] > 0
    assert row["gridmap_x_esda"] == pytest.approx(row["gridmap_total_s"] / row["esda_total_s"])
    # the planted hot tile (five times the rate) is found by both
    assert row["gridmap_hot_95"] >= 5 and row["esda_hot_95"] >= 5


@pytest.mark.postgis
def test_import_benchmark_runs(tmp_path: Path) -> None:
    out = import_buildings.main(["--sizes", "400", "--out", str(tmp_path / "i.json")])
    rows = {r["contender"]: r for r in _load(out["path"])["rows"]}
    for kind in ("gridmap-sqlite", "gridmap-postgis", "copy-postgis"):
        assert rows[kind]["total_s"] > 0 and rows[kind]["peak_mb"] > 0, kind
    assert set(rows) == set(import_buildings.CONTENDERS)


@pytest.mark.postgis
def test_copy_prototype_writes_what_save_tables_writes(postgis) -> None:
    frames = build_city(500)
    engines = []
    try:
        for name in ("bench_copy_a", "bench_copy_b"):
            engine = make_engine(create_database(postgis, name))
            init_database(engine)
            engines.append(engine)
        copy_tables(engines[0], frames)
        save_tables(engines[1], frames)
        for table in frames:
            a, b = read_table(engines[0], table), read_table(engines[1], table)
            assert a.drop(columns="geom", errors="ignore").equals(
                b.drop(columns="geom", errors="ignore")
            ), table
            if "geom" in a:
                assert a.geometry.geom_equals_exact(b.geometry, 0).all(), table
        with engines[0].begin() as conn:  # the id sequence moved past the copied ids
            conn.execute(text("INSERT INTO street (code, name) VALUES ('x', 'y')"))
    finally:
        for engine in engines:
            engine.dispose()
        for name in ("bench_copy_a", "bench_copy_b"):
            drop_database(postgis, name)


@pytest.mark.browser
def test_street_page_benchmark_runs(tmp_path: Path) -> None:
    out = street_page.main(["--sizes", "300", "--out", str(tmp_path / "s.json")])
    (row,) = _load(out["path"])["sizes"]
    assert row["buildings"] == 300
    assert 0 < row["gridmap_html_mb"] < row["plain_html_mb"]
    for key in ("gridmap_visible_s", "plain_visible_s", "app_cold_visible_s", "app_warm_visible_s"):
        assert row[key] > 0, key
    assert row["gridmap_blocked"] == 0 and row["plain_blocked"] == 0


def test_interaction_benchmark_runs(tmp_path: Path) -> None:
    out = interaction.main(
        ["--pages", "views/coverage.py", "--repeat", "2", "--out", str(tmp_path / "i.json")]
    )
    (row,) = _load(out["path"])["pages"]
    assert row["page"] == "coverage" and row["cold_s"] > 0 and row["rerun_s"] > 0
    assert [c["widget"] for c in row["changes"]] == ["radius", "kinds"]
    assert all(c["median_s"] > 0 for c in row["changes"])


def test_benchmarks_run_as_scripts() -> None:
    for name in ("coverage", "hotspots", "import_buildings", "street_page"):
        res = subprocess.run(
            [sys.executable, str(REPO_ROOT / "bench" / f"{name}.py"), "--help"],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            timeout=120,
        )
        assert res.returncode == 0 and "--sizes" in res.stdout, res.stderr


def test_scoped_load_benchmark_reads_less_for_a_narrower_scope(demo_db_url: str, tmp_path) -> None:
    out = scoped_load.main(
        ["--db", demo_db_url, "--repeat", "2", "--out", str(tmp_path / "s.json")]
    )
    city, street, community = _load(out["path"])["rows"]
    assert city["buildings"] == street["buildings"] > community["buildings"] > 0
    assert all(r["median_s"] > 0 and len(r["runs_s"]) == 2 for r in (city, street, community))


def test_request_analyses_benchmark_runs(demo_db_url: str, tmp_path: Path) -> None:
    from bench import request_analyses

    out = request_analyses.main(["--db", demo_db_url, "--repeat", "1",
                                 "--out", str(tmp_path / "r.json")])  # fmt: skip
    rows = _load(out["path"])["rows"]
    assert len(rows) == 4
    for row in rows:
        assert row["command_s"] > row["inner_s"] > 0, row
        assert row["command_x_inner"] == pytest.approx(row["command_s"] / row["inner_s"])
