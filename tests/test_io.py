"""Import, export, backup and restore: the bad-input corpus, the samples, round trips of every
format on both backends, and formula neutralisation."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import Engine, text

from gridmap import io as gio
from gridmap.cli import main
from gridmap.crs import wgs84_to_gcj02
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


def _contents(engine: Engine) -> str:
    """A digest of every row of every table (geometry as WKB), the same on both backends."""
    digest = hashlib.sha256()
    for name in Base.metadata.tables:
        frame = read_table(engine, name)
        if "geom" in frame:
            frame = pd.DataFrame(frame).assign(geom=shapely.to_wkb(frame["geom"].values, hex=True))
        digest.update(name.encode())
        digest.update(frame.to_json(orient="records", date_format="iso").encode())
    return digest.hexdigest()


def _fingerprint(engine: Engine) -> tuple[str, str | None]:
    """Table contents, and on SQLite the bytes of the database file (after a checkpoint)."""
    file_hash = None
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        path = Path(engine.url.database)
        file_hash = hashlib.sha256(path.read_bytes()).hexdigest()
        wal = path.with_name(path.name + "-wal")
        if wal.exists():
            file_hash += hashlib.sha256(wal.read_bytes()).hexdigest()
    return _contents(engine), file_hash


def _sqlite_file_hash(engine: Engine) -> str | None:
    if engine.dialect.name != "sqlite":
        return None
    path = Path(engine.url.database)
    wal = path.with_name(path.name + "-wal")
    extra = hashlib.sha256(wal.read_bytes()).hexdigest() if wal.exists() else ""
    return hashlib.sha256(path.read_bytes()).hexdigest() + extra


def _assert_rejected(engine: Engine, path: Path, layer: str, expect: list[str], **options):
    before = _fingerprint(engine)
    with pytest.raises(InputError) as info:
        gio.import_file(engine, layer, path, **options)
    message = str(info.value)
    assert path.name in message
    for fragment in expect:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    assert "Traceback" not in message
    assert _sqlite_file_hash(engine) == before[1]  # byte-for-byte, before any new connection
    assert _fingerprint(engine) == before
    return message


# --- the bad-input corpus ---------------------------------------------------------------------


def test_corpus_is_large_and_reproducible(tmp_path: Path) -> None:
    files = sorted(p.name for p in BAD.iterdir())
    assert len(files) >= 60
    assert {c["file"] for c in CASES} == set(files)
    assert sum(p.stat().st_size for p in BAD.iterdir()) < 200_000  # small enough to commit


@pytest.mark.parametrize("case", CASES, ids=[f"{c['file']}" for c in CASES])
def test_bad_input_is_rejected_and_nothing_changes(world: Engine, case: dict) -> None:
    _assert_rejected(world, BAD / case["file"], case["layer"], case["expect"],
                     **case.get("options", {}))  # fmt: skip


def test_a_100_mb_file_is_refused_unread(world: Engine, tmp_path: Path) -> None:
    big = tmp_path / "huge_buildings.geojson"
    with big.open("wb") as fh:
        fh.write(b'{"type": "FeatureCollection", "features": [')
        fh.truncate(100 * 1024 * 1024)  # sparse: 100 MB without writing them
    _assert_rejected(world, big, "buildings", ["文件过大(100.0 MB,上限 50 MB)", "too large"])


def test_dry_run_writes_nothing(world: Engine) -> None:
    before = _fingerprint(world)
    plan = gio.import_file(world, "buildings", SAMPLES / "gbk_buildings_shp.zip", dry_run=True)
    assert plan.summary() == {"added": 3, "changed": 0, "unchanged": 0, "repaired": 0}
    assert not plan.written
    assert _fingerprint(world) == before


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
    grids = gio.export_frame(world, "grids")
    grids.loc[0, "name"] = "第一网格(新)"
    path = tmp_path / "grids.gpkg"
    pyogrio.write_dataframe(grids.rename_geometry("geometry"), path)
    plan = gio.import_file(world, "grids", path, update=True)
    assert plan.summary()["changed"] == 1 and plan.summary()["unchanged"] == 1
    grid = read_table(world, "grid").set_index("code").loc["420303001-001-01"]
    assert grid["name"] == "第一网格(新)" and grid["version"] == 2


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


def _assert_same_database(a: Engine, b: Engine) -> None:
    """Same rows in every table; the audit row a restore appends (gridmap.auth) aside."""
    ta, tb = _all_tables(a), _all_tables(b)
    for t in (ta, tb):
        log = t["audit_log"]
        t["audit_log"] = log[log["action"] != "restore"].reset_index(drop=True)
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
    before = _fingerprint(world)  # refused without --force: nothing changes
    with pytest.raises(InputError, match="--force"):
        gio.restore(world, path)
    assert _fingerprint(world) == before
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
    before = _fingerprint(world)
    other = tmp_path / "other.gpkg"
    pyogrio.write_dataframe(gio.export_frame(world, "buildings").rename_geometry("geometry"), other)
    with pytest.raises(InputError, match="不是 gridmap 备份"):
        gio.restore(world, other, force=True)
    with pytest.raises(InputError, match="不是 GeoPackage"):
        gio.restore(world, BAD / "garbage.gpkg", force=True)
    assert _fingerprint(world) == before


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
