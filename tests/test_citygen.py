"""The synthetic city: deterministic, the requested size, the model's columns, the demo's shapes,
and deliberate defects that the coverage check finds one for one."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from gridmap import citygen
from gridmap.citygen import build_city, resolve_scale, save_city
from gridmap.cli import main
from gridmap.coverage import assign_buildings, check_coverage
from gridmap.errors import ConflictError
from gridmap.models import Base
from gridmap.repository import layer_counts, load_street_layers, read_table

N = 20_000  # about 400 grids in 7 communities, with one gap, one overlap and two splits


@pytest.fixture(scope="module")
def city() -> dict[str, pd.DataFrame]:
    return build_city(N)


def test_same_seed_same_city_and_another_seed_differs(city) -> None:
    again = build_city(N)
    for name, frame in city.items():
        pd.testing.assert_frame_equal(
            pd.DataFrame(frame).drop(columns="geom", errors="ignore"),
            pd.DataFrame(again[name]).drop(columns="geom", errors="ignore"),
        )
        if "geom" in frame:
            assert shapely.equals_exact(frame.geometry.values, again[name].geometry.values).all()
    other = build_city(N, seed=7)
    assert not shapely.equals_exact(
        city["building"].geometry.values[:100], other["building"].geometry.values[:100]
    ).all()


def test_exactly_the_buildings_asked_for_about_fifty_per_grid(city) -> None:
    assert len(city["building"]) == N
    per_grid = N / len(city["grid"])
    assert 45 <= per_grid <= 55
    assert len(build_city(123)["building"]) == 123


def test_frames_carry_their_tables_columns_and_unique_keys(city) -> None:
    for name, frame in city.items():
        table = Base.metadata.tables[name]
        assert set(frame.columns) <= set(table.columns.keys()), name
        assert frame["id"].is_unique and frame["id"].min() == 1, name
        if isinstance(frame, gpd.GeoDataFrame):
            assert frame.crs.to_epsg() == 4326
            assert shapely.is_valid(frame.geometry.values).all(), name
    assert city["building"]["code"].is_unique
    assert city["grid"]["code"].is_unique
    assert set(city["building"]["community_id"]) <= set(city["community"]["id"])


def test_shapes_are_the_demo_streets_blocks(city) -> None:
    """Grids are blocks of about CELL_W × CELL_H metres; buildings lie inside their grid."""
    grids = city["grid"].to_crs(32649)
    normal = shapely.get_num_coordinates(grids.geometry.values) == 5
    area = grids.geometry.area[normal]
    assert area.median() == pytest.approx(citygen.CELL_W * citygen.CELL_H, rel=0.1)
    communities = city["community"]
    assert 50 <= len(city["grid"]) / len(communities) <= 64


def test_cached_grid_of_each_building_is_its_largest_overlap(city) -> None:
    result = assign_buildings(city["building"], city["grid"]).buildings
    cached = city["building"]["grid_id"].astype("Int64").to_numpy()
    found = result["grid_id"].astype("Int64").to_numpy()
    assert (pd.isna(cached) == pd.isna(found)).all()
    both = ~pd.isna(cached)
    assert (cached[both] == found[both]).all()


def test_coverage_check_finds_every_deliberate_defect(city) -> None:
    defects = city["grid"].attrs["defects"]
    assert defects == citygen.city_defects(city)
    assert min(defects.values()) >= 1
    grids = city["grid"].assign(community_id=city["grid"]["plan_id"])
    report = check_coverage(city["community"], grids, city["building"], city["service_station"])
    kinds = report.problems["kind"].value_counts()
    assert kinds.get("gap", 0) == defects["gap"]
    assert kinds.get("overlap", 0) == defects["overlap"]
    assert kinds.get("building_split", 0) == defects["split"]
    assert kinds.get("building_unassigned", 0) == defects["gap"]  # the building in each gap
    no_leader = city["grid"]["leader_id"].isna().sum()
    assert kinds.get("grid_no_leader", 0) == no_leader > 0


def test_resolve_scale() -> None:
    assert resolve_scale("street") is None
    assert resolve_scale("city") == 1_000_000
    assert resolve_scale("2500") == 2500
    assert resolve_scale(10) == 10
    for bad in ("town", "0", -3, "1e3x"):
        with pytest.raises(ValueError, match="scale"):
            resolve_scale(bad)


def test_save_city_round_trips_and_refuses_to_overwrite(engine) -> None:
    frames = build_city(1_500)
    counts = save_city(engine, frames)
    assert counts["building"] == 1_500
    assert layer_counts(engine)["grid"] == len(frames["grid"])
    layers = load_street_layers(engine)
    assert len(layers.grids) == len(frames["grid"])
    assert np.array_equal(read_table(engine, "building")["code"], frames["building"]["code"])
    with pytest.raises(ConflictError):
        save_city(engine, frames)
    save_city(engine, build_city(1_000), force=True)
    assert layer_counts(engine)["building"] == 1_000


def test_cli_demo_scale(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'city.db'}"
    result = CliRunner().invoke(main, ["demo", "--db", url, "--scale", "800"])
    assert result.exit_code == 0, result.output
    assert "800" in result.output
    bad = CliRunner().invoke(main, ["demo", "--db", url, "--scale", "town", "--force"])
    assert bad.exit_code != 0 and "scale" in bad.output
