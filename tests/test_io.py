"""Import, export, backup and restore: the bad-input corpus, the samples, round trips of every
format on both backends, and formula neutralisation."""

from __future__ import annotations

import datetime as dt
import io
import json
import sys
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import Engine
from unchanged import assert_rejected, fingerprint

from gridmap import io as gio
from gridmap.cli import main
from gridmap.crs import swap_xy, wgs84_to_bd09, wgs84_to_gcj02
from gridmap.db import init_database, make_engine
from gridmap.errors import InputError
from gridmap.models import Base
from gridmap.repository import read_table, save_tables
from worlds import LAT, LON, small_world

DATA = Path(__file__).parent / "data"
sys.path.insert(0, str(DATA))
from make_corpus import CASES  # noqa: E402

BAD, SAMPLES = DATA / "bad", DATA / "samples"


# --- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture
def world(engine: Engine) -> Engine:
    """The small world of tests/worlds.py on each backend."""
    save_tables(engine, small_world())
    return engine


# --- the bad-input corpus ---------------------------------------------------------------------


def test_corpus_is_large_and_reproducible(tmp_path: Path) -> None:
    files = sorted(p.name for p in BAD.iterdir())
    assert len(files) >= 60
    assert {c["file"] for c in CASES} == set(files)
    assert sum(p.stat().st_size for p in BAD.iterdir()) < 200_000  # small enough to commit


@pytest.mark.parametrize("case", CASES, ids=[f"{c['file']}" for c in CASES])
def test_bad_input_is_rejected_and_nothing_changes(world: Engine, case: dict) -> None:
    assert_rejected(world, BAD / case["file"], case["layer"], case["expect"],
                     **case.get("options", {}))  # fmt: skip


def test_a_100_mb_file_is_refused_unread(world: Engine, tmp_path: Path) -> None:
    big = tmp_path / "huge_buildings.geojson"
    with big.open("wb") as fh:
        fh.write(b'{"type": "FeatureCollection", "features": [')
        fh.truncate(100 * 1024 * 1024)  # sparse: 100 MB without writing them
    assert_rejected(world, big, "buildings", ["文件过大(100.0 MB,上限 50 MB)", "too large"])


def test_dry_run_writes_nothing(world: Engine) -> None:
    before = fingerprint(world)
    plan = gio.import_file(world, "buildings", SAMPLES / "gbk_buildings_shp.zip", dry_run=True)
    assert plan.summary() == {"added": 3, "changed": 0, "unchanged": 0, "repaired": 0}
    assert not plan.written
    assert fingerprint(world) == before


def test_many_problems_are_listed_together(world: Engine, tmp_path: Path) -> None:
    rows = ["code,name,community_code,households,residents,wkt"]
    rows += [f'N{i},楼{i},420303001-001,x{i},1,"POINT (110.78 32.63)"' for i in range(30)]
    path = tmp_path / "many.csv"
    path.write_text("\n".join(rows), encoding="utf-8")
    with pytest.raises(gio.ImportRejected) as info:
        gio.import_file(world, "buildings", path)
    assert len(info.value.issues) == 60  # households and geometry type, each row
    assert "另有 40 个问题 / and 40 more" in str(info.value)


# --- samples that must import -----------------------------------------------------------------


def _added(engine: Engine, table: str, before: int) -> pd.DataFrame:
    return read_table(engine, table).iloc[before:].reset_index(drop=True)


@pytest.mark.parametrize("sample", ["gbk_buildings_shp.zip", "gbk_buildings_no_cpg.zip"])
def test_gbk_shapefile_keeps_chinese_names(world: Engine, sample: str) -> None:
    plan = gio.import_file(world, "buildings", SAMPLES / sample)
    assert plan.summary()["added"] == 3
    new = _added(world, "building", 2)
    assert list(new["name"]) == ["一号楼", "二号楼(综合楼)", "鑫苑·名家 3 栋"]
    assert list(new["households"]) == [30, 30, 30]


def test_gauss_kruger_coordinates_are_detected_and_transformed(world: Engine) -> None:
    plan = gio.import_file(world, "buildings", SAMPLES / "gk_zone37_buildings.csv")
    assert "4525" in plan.source_crs
    new = _added(world, "building", 2)
    first = new.geometry.iloc[0]
    expected = shapely.box(LON + 0.0001, LAT + 0.0012, LON + 0.0002, LAT + 0.0013)
    assert shapely.equals_exact(shapely.normalize(first.geoms[0]), shapely.normalize(expected),
                                tolerance=1e-7)  # fmt: skip


@pytest.mark.parametrize(("sample", "crs"), [("gcj02_stations.geojson", "gcj02"),
                                             ("bd09_stations.csv", "bd09")])  # fmt: skip
def test_web_map_offsets_are_removed(world: Engine, sample: str, crs: str) -> None:
    plan = gio.import_file(world, "stations", SAMPLES / sample, crs=crs)
    assert plan.summary()["added"] == 2
    new = _added(world, "service_station", 1)
    truth = [(LON + 0.0005, LAT + 0.0005), (LON + 0.0015, LAT + 0.0015)]
    got = shapely.get_coordinates(new.geometry.values)
    assert np.abs(got - np.array(truth)).max() < 1e-7
    assert set(new["level"]) == {"compound"}


def test_gcj02_read_as_wgs84_would_be_hundreds_of_metres_off() -> None:
    lon, lat = wgs84_to_gcj02(LON, LAT)
    assert abs(float(lon) - LON) > 0.003 or abs(float(lat) - LAT) > 0.001


def test_kml_import(world: Engine) -> None:
    plan = gio.import_file(world, "buildings", SAMPLES / "buildings.kml")
    assert plan.summary()["added"] == 2
    assert list(_added(world, "building", 2)["name"]) == ["一号楼", "二号楼(综合楼)"]


def test_bom_and_gbk_spreadsheets(world: Engine) -> None:
    gio.import_file(world, "stations", SAMPLES / "utf8_bom_stations.csv")
    gio.import_file(world, "stations", SAMPLES / "gbk_stations.csv")
    names = list(read_table(world, "service_station")["name"])
    assert names[-2:] == ["带BOM的站", "国标站"]
    assert list(read_table(world, "service_station")["level"])[-2:] == ["community", "compound"]


def test_hostile_text_is_stored_verbatim_and_exported_inert(world: Engine) -> None:
    gio.import_file(world, "buildings", SAMPLES / "hostile_names.csv")
    names = list(_added(world, "building", 2)["name"])
    assert names == ["<script>alert(1)</script>", '=HYPERLINK("http://evil.example","点我")',
                     "<img src=x onerror=alert(1)>楼"]  # fmt: skip
    book = load_workbook(io.BytesIO(gio.export_layer(world, "buildings", "xlsx")))
    cells = [c for row in book.active.iter_rows() for c in row]
    assert not [c for c in cells if c.data_type == "f"]
    assert '\'=HYPERLINK("http://evil.example","点我")' in [c.value for c in cells]
    csv_text = gio.export_layer(world, "buildings", "csv").decode("utf-8-sig")
    assert "'=HYPERLINK" in csv_text and "\n=" not in csv_text and ",=" not in csv_text


def test_swap_and_repair_only_when_accepted(world: Engine) -> None:
    plan = gio.import_file(world, "stations", SAMPLES / "swapped_stations.csv", swap_latlon=True)
    assert plan.swapped and "交换经纬度" in plan.describe()
    point = _added(world, "service_station", 1).geometry.iloc[0]
    assert point.equals_exact(shapely.Point(LON + 0.001, LAT + 0.001), 1e-12)
    plan = gio.import_file(world, "buildings", SAMPLES / "bowtie_building.geojson",
                           fix_invalid=True)  # fmt: skip
    assert plan.repaired == [1]
    repaired = _added(world, "building", 2).geometry.iloc[0]
    assert repaired.is_valid and repaired.area > 0


def test_update_changes_existing_rows_only_when_asked(world: Engine) -> None:
    path = BAD / "duplicate_code_in_db.csv"
    plan = gio.import_file(world, "buildings", path, update=True, dry_run=True)
    assert plan.summary() == {"added": 0, "changed": 1, "unchanged": 0, "repaired": 0}
    gio.import_file(world, "buildings", path, update=True)
    row = read_table(world, "building").set_index("code").loc["B001"]
    assert row["name"] == "改名楼" and row["households"] == 10


def test_grid_update_bumps_its_version(world: Engine, tmp_path: Path) -> None:
    """Grids of a community with plans are updated in a draft (issue 17), never in place."""
    from gridmap.redraw import new_draft

    grids = gio.export_frame(world, "grids")
    grids.loc[0, "name"] = "第一网格(新)"
    path = tmp_path / "grids.gpkg"
    pyogrio.write_dataframe(grids.rename_geometry("geometry"), path)
    with pytest.raises(InputError, match="gridmap plan new --community 420303001-001"):
        gio.import_file(world, "grids", path, update=True)
    draft = new_draft(world, "420303001-001")
    plan = gio.import_file(world, "grids", path, update=True, plan=str(draft))
    assert plan.summary()["changed"] == 1 and plan.summary()["unchanged"] == 1
    rows = read_table(world, "grid")
    grid = rows[rows["plan_id"] == draft].set_index("code").loc["420303001-001-01"]
    assert grid["name"] == "第一网格(新)" and grid["version"] == 2
    live = rows[rows["plan_id"] == 1].set_index("code").loc["420303001-001-01"]
    assert live["name"] == "第1网格" and live["version"] == 1


def test_mapping_suggestions() -> None:
    source = gio.read_source(SAMPLES / "gbk_stations.csv")
    assert gio.suggest_mapping(source, "stations") == {
        "名称": "name", "级别": "level", "社区编码": "community_code", "经度": "lon", "纬度": "lat"
    }  # fmt: skip
    shp = gio.read_source(SAMPLES / "gbk_buildings_shp.zip")
    assert gio.suggest_mapping(shp, "buildings")["comm_code"] == "community_code"


# --- round trips of every format --------------------------------------------------------------

ORDER = ["communities", "grids", "buildings", "stations", "members", "requests"]


def _source_engine(tmp_path: Path) -> Engine:
    eng = make_engine(f"sqlite:///{tmp_path / 'source.db'}", create=True)
    init_database(eng)
    save_tables(eng, small_world())
    return eng


def _assert_same_layer(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert len(a) == len(b) > 0
    attrs = [c for c in a.columns if c != "geom"]
    pd.testing.assert_frame_equal(pd.DataFrame(a[attrs]), pd.DataFrame(b[attrs]))
    if "geom" in a:
        for ga, gb in zip(a["geom"], b["geom"], strict=True):
            assert shapely.equals_exact(shapely.normalize(ga), shapely.normalize(gb), 1e-7)


@pytest.mark.parametrize("fmt", gio.EXPORT_FORMATS)
def test_every_layer_round_trips(engine: Engine, tmp_path: Path, fmt: str) -> None:
    """Export each layer from one database and import it into an empty one, layer by layer;
    the second database then exports the same tables (attributes equal, geometry within
    1e-7°, Chinese intact)."""
    source = _source_engine(tmp_path)
    world = small_world()
    save_tables(engine, {"street": world["street"], "person": world["person"]})
    for layer in ORDER:
        spec = gio.LAYERS[layer]
        use = "gpkg" if not spec.geometry and fmt in ("geojson", "shp") else fmt
        if use != fmt:
            with pytest.raises(InputError, match="no location"):
                gio.export_layer(source, layer, fmt)
        path = tmp_path / gio.export_filename(layer, use)
        path.write_bytes(gio.export_layer(source, layer, use))
        plan = gio.import_file(engine, layer, path)
        assert plan.summary()["added"] == len(gio.export_frame(source, layer))
        if layer == "communities":
            save_tables(engine, {"grid_plan": world["grid_plan"]})
        if layer == "grids":
            save_tables(engine, {"party_org": world["party_org"]})
    for layer in ORDER:
        _assert_same_layer(gio.export_frame(source, layer), gio.export_frame(engine, layer))
    again = tmp_path / "again" / gio.export_filename("buildings", fmt)
    again.parent.mkdir()
    again.write_bytes(gio.export_layer(engine, "buildings", fmt))
    plan = gio.import_file(engine, "buildings", again, dry_run=True)
    assert plan.summary() == {"added": 0, "changed": 0, "unchanged": 2, "repaired": 0}


@pytest.mark.parametrize("fmt", gio.EXPORT_FORMATS)
def test_street_export_holds_every_layer(world: Engine, tmp_path: Path, fmt: str) -> None:
    data = gio.export_layer(world, "street", fmt)
    path = tmp_path / gio.export_filename("street", fmt)
    path.write_bytes(data)
    if fmt == "gpkg":
        assert {str(n) for n, _ in pyogrio.list_layers(path)} == set(gio.LAYERS)
    elif fmt == "xlsx":
        assert load_workbook(path).sheetnames == list(gio.LAYERS)
    else:
        names = zipfile.ZipFile(path).namelist()
        assert {Path(n).stem for n in names} == set(gio.LAYERS)
        if fmt == "shp":
            assert "buildings.cpg" in names and "buildings.prj" in names


def test_shapefile_export_declares_utf8(world: Engine) -> None:
    archive = zipfile.ZipFile(io.BytesIO(gio.export_layer(world, "buildings", "shp")))
    assert archive.read("buildings.cpg").decode().strip().upper() in ("UTF-8", "UTF8")


# --- backup and restore -----------------------------------------------------------------------


def _add_users(engine: Engine) -> None:
    save_tables(engine, {
        "user": pd.DataFrame([{"id": 7, "name": "admin", "password_hash": "x$y", "role":
                               "street_admin", "street_id": 1, "community_id": None,
                               "grid_id": 1, "disabled": False}]),
        "audit_log": pd.DataFrame([{"id": 3, "at": dt.datetime(2026, 1, 2, 3, 4, 5, 678901),
                                    "user_id": 7, "action": "import", "entity": "building",
                                    "entity_id": 2, "before": None, "after": '{"a": "中文"}'}]),
    })  # fmt: skip


def _all_tables(engine: Engine) -> dict[str, pd.DataFrame]:
    out = {}
    for name in Base.metadata.tables:
        frame = read_table(engine, name)
        if "geom" in frame:
            frame = pd.DataFrame(frame).assign(geom=shapely.to_wkb(frame["geom"].values, hex=True))
        out[name] = frame
    return out


#: The installation's own state, never in a backup: login throttling and the demo's fingerprint.
_NOT_BACKED_UP = ("login_attempt", "demo_fingerprint")


def _assert_same_database(a: Engine, b: Engine) -> None:
    """Same rows in every table; the audit row a restore appends (gridmap.auth) aside, and the
    audit rows' origin (a restored row is marked ``restored``, never passes for live history)."""
    ta, tb = _all_tables(a), _all_tables(b)
    for t in (ta, tb):
        for name in _NOT_BACKED_UP:
            t.pop(name, None)
        log = t["audit_log"]
        t["audit_log"] = (
            log[log["action"] != "restore"].drop(columns="origin").reset_index(drop=True)
        )
    for name in ta:
        pd.testing.assert_frame_equal(ta[name], tb[name], check_dtype=False, obj=name)


def test_backup_restore_round_trips_exactly(world: Engine, tmp_path: Path) -> None:
    _add_users(world)
    path = tmp_path / "street.gpkg"
    counts = gio.backup(world, path)
    assert counts["user"] == 1 and counts["audit_log"] == 1 and counts["building"] == 2
    fresh = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}", create=True)
    init_database(fresh)
    gio.restore(fresh, path)
    _assert_same_database(world, fresh)
    restored = read_table(fresh, "audit_log")
    assert set(restored.loc[restored["action"] != "restore", "origin"]) == {"restored"}
    before = fingerprint(world)  # refused without --force: nothing changes
    with pytest.raises(InputError, match="--force"):
        gio.restore(world, path)
    assert fingerprint(world) == before
    gio.restore(world, path, force=True)
    _assert_same_database(world, fresh)


def test_demo_street_backup_restore(demo_db_url: str, tmp_path: Path) -> None:
    demo = make_engine(demo_db_url)
    path = tmp_path / "demo.gpkg"
    gio.backup(demo, path)
    fresh = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}", create=True)
    init_database(fresh)
    gio.restore(fresh, path)
    _assert_same_database(demo, fresh)


def test_restore_refuses_other_files(world: Engine, tmp_path: Path) -> None:
    before = fingerprint(world)
    other = tmp_path / "other.gpkg"
    pyogrio.write_dataframe(gio.export_frame(world, "buildings").rename_geometry("geometry"), other)
    with pytest.raises(InputError, match="不是 gridmap 备份"):
        gio.restore(world, other, force=True)
    with pytest.raises(InputError, match="不是 GeoPackage"):
        gio.restore(world, BAD / "garbage.gpkg", force=True)
    assert fingerprint(world) == before


# --- spreadsheets: formula injection ----------------------------------------------------------


def test_table_exports_neutralise_formulas() -> None:
    table = pd.DataFrame({"名称": ["=1+2", "+SUM(A1)", "-3+4", "@cmd", "正常", "'=x"],
                          "数量": [1, -2, 3, 4, 5, 6]})  # fmt: skip
    csv_text = gio.table_to_csv(table).decode("utf-8-sig")
    assert csv_text.splitlines()[1:4] == ["'=1+2,1", "'+SUM(A1),-2", "'-3+4,3"]
    book = load_workbook(io.BytesIO(gio.table_to_xlsx(table, "表")))
    values = [[c.value for c in row] for row in book["表"].iter_rows()]
    assert values[1] == ["'=1+2", 1] and values[2][1] == -2
    assert all(c.data_type != "f" for row in book["表"].iter_rows() for c in row)
    assert gio.unneutralise_formula("'=1+2") == "=1+2" and gio.unneutralise_formula("'x") == "'x"


# --- the command line -------------------------------------------------------------------------


def test_cli_import_export_backup_restore(world: Engine, tmp_path: Path) -> None:
    url = world.url.render_as_string(hide_password=False)
    runner = CliRunner()
    sample = str(SAMPLES / "gbk_buildings_shp.zip")
    result = runner.invoke(main, ["import", "--db", url, "buildings", sample, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "新增 3 条" in result.output and "dry run" in result.output
    result = runner.invoke(main, ["import", "--db", url, "buildings", sample])
    assert result.exit_code == 0 and "已导入" in result.output
    bad = str(BAD / "households_negative.csv")
    result = runner.invoke(main, ["import", "--db", url, "buildings", bad])
    assert result.exit_code == 2
    assert "第 3 行 / row 3, 字段 / field households" in result.output
    assert "Traceback" not in result.output
    mapped = runner.invoke(main, ["import", "--db", url, "stations",
                                  str(SAMPLES / "gbk_stations.csv"), "--mapping", "名称=name",
                                  "--mapping", "级别=level", "--mapping", "经度=lon",
                                  "--mapping", "纬度=lat", "--dry-run"])  # fmt: skip
    assert mapped.exit_code == 0, mapped.output
    out = tmp_path / "b.geojson"
    result = runner.invoke(main, ["export", "--db", url, "buildings", "--format", "geojson",
                                  str(out)])  # fmt: skip
    assert result.exit_code == 0 and "二号楼(综合楼)" in out.read_text(encoding="utf-8")
    backup = tmp_path / "street.gpkg"
    assert runner.invoke(main, ["backup", "--db", url, str(backup)]).exit_code == 0
    refused = runner.invoke(main, ["restore", "--db", url, str(backup)])
    assert refused.exit_code == 2 and "--force" in refused.output
    assert runner.invoke(main, ["restore", "--db", url, str(backup), "--force"]).exit_code == 0


# --- Chinese sources and projected files import without flags (issue 17) ----------------------

# Three sites in 人民路社区 (420303001-003) of the demo street, 十堰 (WGS 84).
CRS_COMMUNITY = "420303001-003"
CRS_TRUTH = [(110.7792, 32.6340), (110.7787, 32.6333), (110.7797, 32.6347)]
_UTM49 = 32649


def _truth_frame(layer: str) -> gpd.GeoDataFrame:
    """Three stations at CRS_TRUTH, or three 12 × 10 m footprints whose south-west corners they
    are (drawn in UTM 49N), in WGS 84."""
    if layer == "stations":
        geoms = gpd.GeoSeries(gpd.points_from_xy(*zip(*CRS_TRUTH, strict=True)), crs=4326)
        attrs = {"name": ["坐标站甲", "坐标站乙", "坐标站丙"], "level": ["compound"] * 3}
    else:
        corners = gpd.GeoSeries(gpd.points_from_xy(*zip(*CRS_TRUTH, strict=True)), crs=4326)
        xy = shapely.get_coordinates(corners.to_crs(_UTM49).values)
        squares = [shapely.box(x, y, x + 12.0, y + 10.0) for x, y in xy]
        geoms = gpd.GeoSeries(squares, crs=_UTM49).to_crs(4326)
        attrs = {"code": ["CRS-1", "CRS-2", "CRS-3"], "name": ["甲楼", "乙楼", "丙楼"],
                 "households": [10, 20, 30]}  # fmt: skip
    return gpd.GeoDataFrame({**attrs, "community_code": CRS_COMMUNITY}, geometry=geoms.values)


def _write_layer(
    frame: gpd.GeoDataFrame, folder: Path, fmt: str, prj: bool | str = True, stem: str = "layer"
) -> Path:
    """The frame as a GeoJSON, a GeoPackage or a zipped Shapefile (with its .prj, without one,
    or with the .prj text given)."""
    if fmt == "geojson":
        path = folder / f"{stem}.geojson"
        pyogrio.write_dataframe(frame, path, driver="GeoJSON")
        return path
    if fmt == "gpkg":
        path = folder / f"{stem}.gpkg"
        pyogrio.write_dataframe(frame, path, driver="GPKG", layer=stem)
        return path
    shp_dir = folder / f"{stem}_shp"
    shp_dir.mkdir()
    pyogrio.write_dataframe(frame, shp_dir / f"{stem}.shp", encoding="UTF-8")
    if isinstance(prj, str):
        (shp_dir / f"{stem}.prj").write_text(prj, encoding="ascii")
    elif not prj:
        (shp_dir / f"{stem}.prj").unlink(missing_ok=True)
    path = folder / f"{stem}.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for member in sorted(shp_dir.iterdir()):
            archive.write(member, member.name)
    return path


def _error_m(placed: gpd.GeoSeries, truth: gpd.GeoSeries) -> float:
    """The largest distance between a placed geometry and its truth (Hausdorff, in metres)."""
    a = np.asarray(gpd.GeoSeries(placed.values, crs=4326).to_crs(_UTM49).values, dtype=object)
    b = np.asarray(gpd.GeoSeries(truth.values, crs=4326).to_crs(_UTM49).values, dtype=object)
    assert len(a) == len(b)
    return float(shapely.hausdorff_distance(a, b).max())


def _counts(engine: Engine) -> tuple[int, int]:
    return len(read_table(engine, "building")), len(read_table(engine, "service_station"))


def test_crs_truth_lies_in_its_community(demo: Engine) -> None:
    community = read_table(demo, "community").set_index("code").geometry[CRS_COMMUNITY]
    for layer in ("stations", "buildings"):
        assert shapely.contains(community, _truth_frame(layer).geometry.values).all()


@pytest.mark.parametrize("layer", ["stations", "buildings"])
@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp"])
@pytest.mark.parametrize(
    "epsg",
    [4490,  # CGCS2000 lon/lat (天地图)
     4546, 4525,  # CGCS2000 3° Gauss-Krüger CM 111°E, without and with the zone prefix
     4508, 4497,  # CGCS2000 6° Gauss-Krüger, without and with the zone prefix
     32649, 3857],  # UTM 49N, Web Mercator
)  # fmt: skip
def test_declared_crs_needs_no_flag(
    demo: Engine, tmp_path: Path, layer: str, fmt: str, epsg: int
) -> None:
    truth = _truth_frame(layer)
    path = _write_layer(truth.to_crs(epsg), tmp_path, fmt)
    plan = gio.import_file(demo, layer, path, dry_run=True)
    assert f"EPSG:{epsg}" in plan.source_crs
    assert plan.summary()["added"] == 3
    assert _error_m(plan.added.geometry, truth.geometry) < 0.5


# .prj texts as other tools write them: without AUTHORITY, so GDAL must read the parameters.
TIANDITU_PRJ = (
    'GEOGCS["CGCS2000",DATUM["China_2000",SPHEROID["CGCS2000",6378137,298.257222101]],'
    'PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]]'
)
ESRI_GK_PRJ = (
    'PROJCS["CGCS2000_3_Degree_GK_CM_111E",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",'
    'DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],'
    'UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],'
    'PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],'
    'PARAMETER["Central_Meridian",111.0],PARAMETER["Scale_Factor",1.0],'
    'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
)


@pytest.mark.parametrize(("prj", "epsg"), [(TIANDITU_PRJ, 4490), (ESRI_GK_PRJ, 4546)])
def test_hand_written_cgcs2000_prj_needs_no_flag(
    demo: Engine, tmp_path: Path, prj: str, epsg: int
) -> None:
    truth = _truth_frame("buildings")
    path = _write_layer(truth.to_crs(epsg), tmp_path, "shp", prj=prj)
    plan = gio.import_file(demo, "buildings", path, dry_run=True)
    assert "2000" in plan.source_crs
    assert _error_m(plan.added.geometry, truth.geometry) < 0.5


def test_geojson_naming_cgcs2000_needs_no_flag(demo: Engine, tmp_path: Path) -> None:
    features = [
        {"type": "Feature", "properties": {"name": f"站{i}", "level": "compound"},
         "geometry": {"type": "Point", "coordinates": [x, y]}}
        for i, (x, y) in enumerate(CRS_TRUTH)
    ]  # fmt: skip
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}}
    doc = {"type": "FeatureCollection", "features": features, "crs": crs}
    path = tmp_path / "tianditu.geojson"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    plan = gio.import_file(demo, "stations", path, dry_run=True)
    assert "4490" in plan.source_crs
    assert _error_m(plan.added.geometry, _truth_frame("stations").geometry) < 0.5


@pytest.mark.parametrize("epsg", [4546, 32649, 3857])
def test_metres_without_prj_are_refused_naming_the_crs(
    demo: Engine, tmp_path: Path, epsg: int
) -> None:
    truth = _truth_frame("buildings")
    path = _write_layer(truth.to_crs(epsg), tmp_path, "shp", prj=False, stem="no_prj")
    before = _counts(demo)
    with pytest.raises(gio.ImportRejected) as caught:
        gio.import_file(demo, "buildings", path)
    assert _counts(demo) == before
    [issue] = caught.value.issues  # one sentence, not one "outside the street" per feature
    assert "no_prj.zip" in issue.zh and "no_prj.zip" in issue.en
    assert "--crs" in issue.zh and "--crs" in issue.en and ".prj" in issue.en
    # the street's zones are listed, and the one placing the file in the street is named
    assert all(f"--crs {e}" in issue.en for e in (4546, 32649, 3857))
    assert issue.zh.endswith(f"多半应为 --crs EPSG:{epsg}")
    assert issue.en.endswith(f"most likely --crs EPSG:{epsg}")
    plan = gio.import_file(demo, "buildings", path, dry_run=True, crs=f"EPSG:{epsg}")
    assert _error_m(plan.added.geometry, truth.geometry) < 0.5


def test_spreadsheet_metres_are_refused_naming_the_crs(demo: Engine, tmp_path: Path) -> None:
    truth = _truth_frame("stations")
    xy = shapely.get_coordinates(truth.to_crs(4546).geometry.values)
    frame = pd.DataFrame({"name": truth["name"], "level": "compound", "x": xy[:, 0],
                          "y": xy[:, 1]})  # fmt: skip
    path = tmp_path / "gk_stations.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(gio.ImportRejected) as caught:
        gio.import_file(demo, "stations", path, dry_run=True)
    [issue] = caught.value.issues
    assert "gk_stations.csv" in issue.en and issue.en.endswith("most likely --crs EPSG:4546")
    plan = gio.import_file(demo, "stations", path, dry_run=True, crs="4546")
    assert _error_m(plan.added.geometry, truth.geometry) < 0.5


def test_zone_prefixed_eastings_need_no_prj(demo: Engine, tmp_path: Path) -> None:
    truth = _truth_frame("buildings")
    path = _write_layer(truth.to_crs(4525), tmp_path, "shp", prj=False)
    plan = gio.import_file(demo, "buildings", path, dry_run=True)
    assert "EPSG:4525" in plan.source_crs  # 37 500 000 m: zone 37 is in the easting
    assert _error_m(plan.added.geometry, truth.geometry) < 0.5


def test_swapped_latlon_is_still_detected(demo: Engine, tmp_path: Path) -> None:
    truth = _truth_frame("stations")
    swapped = truth.set_geometry(gpd.GeoSeries(swap_xy(truth.geometry.values), crs=4326))
    path = _write_layer(swapped, tmp_path, "geojson")
    with pytest.raises(gio.ImportRejected, match="--swap-latlon"):
        gio.import_file(demo, "stations", path, dry_run=True)
    plan = gio.import_file(demo, "stations", path, dry_run=True, swap_latlon=True)
    assert plan.swapped and _error_m(plan.added.geometry, truth.geometry) < 0.5


def _offset_frame(frame: gpd.GeoDataFrame, forward) -> gpd.GeoDataFrame:
    def shift(coords: np.ndarray) -> np.ndarray:
        return np.column_stack(forward(coords[:, 0], coords[:, 1]))

    moved = shapely.transform(np.asarray(frame.geometry.values, dtype=object), shift)
    return frame.set_geometry(gpd.GeoSeries(moved, crs=4326))


def _demo_sites(demo: Engine, layer: str, n: int = 6) -> gpd.GeoDataFrame:
    """n of the demo's buildings, spread over the street: as new footprints (new codes), or
    as new stations inside them — what a user marks on a web map."""
    buildings = read_table(demo, "building").iloc[:: 1 + len(read_table(demo, "building")) // n]
    if layer == "buildings":
        return gpd.GeoDataFrame(
            {"code": [f"AMAP-{i}" for i in range(len(buildings))],
             "name": [f"高德楼{i}" for i in range(len(buildings))],
             "community_code": CRS_COMMUNITY},
            geometry=buildings.geometry.values, crs=4326,
        )  # fmt: skip
    spots = shapely.point_on_surface(np.asarray(buildings.geometry.values, dtype=object))
    return gpd.GeoDataFrame(
        {"name": [f"地图站{i}" for i in range(len(spots))], "level": "compound"},
        geometry=spots,
        crs=4326,
    )


@pytest.mark.parametrize("layer", ["stations", "buildings"])
@pytest.mark.parametrize(
    ("system", "forward", "words"),
    [("gcj02", wgs84_to_gcj02, ("GCJ-02", "Amap")), ("bd09", wgs84_to_bd09, ("BD-09", "Baidu"))],
)
@pytest.mark.parametrize("fmt", ["geojson", "shp"])  # a Shapefile's .prj then says WGS 84
def test_web_map_file_read_as_wgs84_is_refused_saying_so(
    demo: Engine, tmp_path: Path, layer: str, system: str, forward, words, fmt: str
) -> None:
    truth = _demo_sites(demo, layer)
    path = _write_layer(_offset_frame(truth, forward), tmp_path, fmt, stem=f"{system}_{layer}")
    before = _counts(demo)
    with pytest.raises(gio.ImportRejected) as caught:
        gio.import_file(demo, layer, path)
    assert _counts(demo) == before
    issue = caught.value.issues[0]
    assert issue.row is None and words[0] in issue.zh and words[1] in issue.en
    assert f"--crs {system}" in issue.en and "--crs wgs84" in issue.en
    assert f"of {len(truth)} features match" in issue.en
    # corrected on request it lands on the street's own buildings ...
    plan = gio.import_file(demo, layer, path, dry_run=True, crs=system)
    assert _error_m(plan.added.geometry, truth.geometry) < 0.5
    # ... and an explicit WGS 84 keeps the coordinates as they are
    kept = gio.import_file(demo, layer, path, dry_run=True, crs="wgs84")
    assert _error_m(kept.added.geometry, _offset_frame(truth, forward).geometry) < 0.5


@pytest.mark.parametrize("layer", ["stations", "buildings"])
def test_features_on_the_street_are_not_taken_for_offsets(
    demo: Engine, tmp_path: Path, layer: str
) -> None:
    truth = _demo_sites(demo, layer)
    plan = gio.import_file(demo, layer, _write_layer(truth, tmp_path, "geojson"), dry_run=True)
    assert plan.summary()["added"] == len(truth)
    assert _error_m(plan.added.geometry, truth.geometry) < 0.5


def test_metres_without_prj_on_an_empty_database(engine: Engine, tmp_path: Path) -> None:
    truth = _truth_frame("stations")
    path = _write_layer(truth.to_crs(4546), tmp_path, "shp", prj=False, stem="no_prj")
    with pytest.raises(gio.ImportRejected) as caught:
        gio.import_file(engine, "stations", path, dry_run=True)
    [issue] = [i for i in caught.value.issues if ".prj" in i.en]
    assert "no_prj.zip" in issue.en and "--crs 4547" in issue.en and "--crs 4547" in issue.zh
