"""数据导入导出 in AppTest: upload, mapping preview, dry run, swap offer, import, export, backup."""

from __future__ import annotations

from pathlib import Path

import pytest
from auth_helpers import login
from streamlit.testing.v1 import AppTest
from test_app import APP

from gridmap.db import init_database, make_engine
from gridmap.repository import read_table, save_tables
from worlds import small_world

PAGE = "views/data_io.py"
DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def world_url(tmp_path: Path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'world.db'}"
    engine = make_engine(url, create=True)
    init_database(engine)
    save_tables(engine, small_world())
    engine.dispose()
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", url)
    return url


@pytest.fixture
def page(world_url: str) -> AppTest:
    at = login(AppTest.from_file(APP, default_timeout=120)).run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def _upload(at: AppTest, path: Path, layer: str) -> AppTest:
    at.selectbox(key="import_layer").set_value(layer).run()
    at.file_uploader(key="import_file").set_value((path.name, path.read_bytes(), "")).run()
    assert not at.exception, at.exception
    return at


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_page_opens_with_three_tabs(page: AppTest) -> None:
    assert page.title[0].value == "数据导入导出"
    assert [t.label for t in page.tabs] == ["导入", "导出", "备份"]


def test_upload_preview_mapping_dry_run_and_import(page: AppTest, world_url: str) -> None:
    at = _upload(page, DATA / "samples" / "gbk_buildings_shp.zip", "buildings")
    preview = at.dataframe[0].value
    assert list(preview["name"]) == ["一号楼", "二号楼(综合楼)", "鑫苑·名家 3 栋"]
    mapped = {s.label: s.value for s in at.selectbox if s.key and s.key.startswith("map_")}
    assert mapped["comm_code"] == "community_code" and mapped["households"] == "households"
    assert _metrics(at)["新增"] == "3 条"
    assert len(read_table(make_engine(world_url), "building")) == 2  # a dry run writes nothing
    at.button(key="import_go").click().run()
    assert not at.exception
    assert "已导入:新增 3 条" in at.success[0].value
    assert len(read_table(make_engine(world_url), "building")) == 5


def test_swap_is_offered_then_accepted(page: AppTest, world_url: str) -> None:
    at = _upload(page, DATA / "samples" / "swapped_stations.csv", "stations")
    assert "导入被拒绝" in at.error[0].value
    problems = at.dataframe[1].value
    assert problems["问题"].str.contains("经纬度似乎颠倒").any()
    at.checkbox(key="import_swap").check().run()
    assert not at.error
    assert _metrics(at)["新增"] == "1 条"


def test_bad_file_shows_row_and_field_and_changes_nothing(page: AppTest, world_url: str) -> None:
    at = _upload(page, DATA / "bad" / "households_negative.csv", "buildings")
    assert "导入被拒绝" in at.error[0].value
    problems = at.dataframe[1].value
    assert list(problems["位置"]) == ["行 3"]
    assert list(problems["字段"]) == ["households"]
    assert not [b for b in at.button if b.key == "import_go"]
    assert len(read_table(make_engine(world_url), "building")) == 2


def test_unreadable_file_is_an_error_not_a_traceback(page: AppTest) -> None:
    at = _upload(page, DATA / "bad" / "garbage.geojson", "buildings")
    assert "二进制数据" in at.dataframe[0].value["问题"].iloc[0]


def test_crs_choice_converts_gcj02(page: AppTest) -> None:
    at = _upload(page, DATA / "samples" / "gcj02_stations.geojson", "stations")
    at.selectbox(key="import_crs").set_value("gcj02").run()
    assert not at.exception
    assert "GCJ-02" in at.caption[-1].value or any("GCJ-02" in c.value for c in at.caption)
    assert _metrics(at)["新增"] == "2 条"


def test_export_and_backup_offer_downloads(page: AppTest) -> None:
    page.selectbox(key="export_layer").set_value("buildings")
    page.selectbox(key="export_format").set_value("shp").run()
    page.button(key="export_go").click().run()
    assert not page.exception
    assert page.get("download_button")
    labels = [d.proto.label for d in page.get("download_button")]
    assert "下载 buildings_shp.zip" in labels
    page.button(key="backup_go").click().run()
    labels = [d.proto.label for d in page.get("download_button")]
    assert "下载备份" in labels
