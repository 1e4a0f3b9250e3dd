"""Write the import test files: the bad-input corpus (``bad/``) and good samples (``samples/``).

Run ``python tests/data/make_corpus.py`` to rebuild them; the output depends only on this
script (random bytes are seeded). Every file fits the small world of ``tests/worlds.py``: street
420303001 around 110.78°E 32.63°N, communities 420303001-001 (with an active plan) and -002
(without), buildings B001/B002, grids 420303001-001-01/02.

:data:`CASES` lists each bad file with the layer it is imported as, the options, and the
fragments its error message must hold (tests/test_io.py asserts them and that the database is
unchanged). :data:`SAMPLES` are files that must import. The 100 MB case is not committed: the
test writes it into a temporary folder.
"""

from __future__ import annotations

import io
import json
import random
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
from shapely.geometry import LineString, Point, Polygon, box

HERE = Path(__file__).resolve().parent
BAD = HERE / "bad"
SAMPLES_DIR = HERE / "samples"
LON, LAT, D = 110.78, 32.63, 0.001
ZIP_DATE = (2024, 1, 1, 0, 0, 0)

BUILDING_HEADER = "code,name,community_code,households,residents,wkt"


def _wkt_box(i: int) -> str:
    x, y = LON + 0.1 * D + i * 0.2 * D, LAT + 1.2 * D
    return box(x, y, x + 0.1 * D, y + 0.1 * D).wkt


def _buildings_csv(*rows: str, header: str = BUILDING_HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def _row(code: str, name: str = "新楼", community: str = "420303001-001", households: str = "10",
         residents: str = "25", i: int = 0, wkt: str | None = None) -> str:  # fmt: skip
    return f'{code},{name},{community},{households},{residents},"{wkt or _wkt_box(i)}"'


def _stations_csv(*rows: str, header: str = "name,level,community_code,lon,lat") -> str:
    return "\n".join([header, *rows]) + "\n"


def _fc(features: list[dict]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)


def _feature(geometry: dict | None, **props: object) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def _square(x: float, y: float, size: float = 0.1 * D) -> dict:
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


def _bld(code: str, geometry: dict | None, **extra: object) -> dict:
    props = {"code": code, "name": f"{code}楼", "community_code": "420303001-001",
             "households": 10, "residents": 25, **extra}  # fmt: skip
    return _feature(geometry, **props)


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(zipfile.ZipInfo(name, ZIP_DATE), data)
    return buffer.getvalue()


def _shapefile_zip(frame: gpd.GeoDataFrame, encoding: str, keep_cpg: bool = True,
                   cpg_text: str | None = None, drop: tuple[str, ...] = ()) -> bytes:  # fmt: skip
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "layer.shp"
        pyogrio.write_dataframe(frame, path, encoding=encoding)
        files = {}
        for p in sorted(Path(tmp).iterdir()):
            if p.suffix in drop or (p.suffix == ".cpg" and not keep_cpg):
                continue
            files[p.name] = cpg_text.encode() if p.suffix == ".cpg" and cpg_text else p.read_bytes()
        return _zip(files)


def _buildings_frame(names: list[str], crs: int = 4326) -> gpd.GeoDataFrame:
    geoms = [
        box(LON + 0.1 * D + i * 0.2 * D, LAT + 1.2 * D, LON + 0.2 * D + i * 0.2 * D, LAT + 1.3 * D)
        for i in range(len(names))
    ]
    frame = gpd.GeoDataFrame(
        {
            "code": [f"N{i + 1:03d}" for i in range(len(names))],
            "name": names,
            "comm_code": ["420303001-001"] * len(names),
            "households": [30] * len(names),
            "residents": [80] * len(names),
        },
        geometry=geoms,
        crs=4326,
    )
    return frame.to_crs(crs) if crs != 4326 else frame


def _xlsx(rows: list[list[object]]) -> bytes:
    import datetime as dt

    from openpyxl import Workbook

    book = Workbook()
    book.properties.created = book.properties.modified = dt.datetime(2024, 1, 1)
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _garbage(n: int, seed: int) -> bytes:
    rng = random.Random(seed)
    data = bytes(rng.randrange(256) for _ in range(n))
    return b"\x00\xff\xfe" + data  # NUL and invalid UTF-8 up front: binary by any test


def _valid_buildings_geojson() -> str:
    return _fc(
        [
            _bld(f"N{i:03d}", _square(LON + 0.1 * D + i * 0.2 * D, LAT + 1.2 * D))
            for i in range(1, 4)
        ]
    )


def _bad_files() -> dict[str, bytes | str]:
    good_zip = _shapefile_zip(_buildings_frame(["一号楼", "二号楼"]), "UTF-8")
    bowtie = {"type": "Polygon", "coordinates": [[[LON, LAT + D], [LON + 0.1 * D, LAT + 1.1 * D],
              [LON + 0.1 * D, LAT + D], [LON, LAT + 1.1 * D], [LON, LAT + D]]]}  # fmt: skip
    two_layers = HERE / "_two_layers.gpkg"
    frame = _buildings_frame(["一号楼"])
    pyogrio.write_dataframe(frame, two_layers, layer="a")
    pyogrio.write_dataframe(frame, two_layers, layer="b")
    gpkg_bytes = two_layers.read_bytes()
    two_layers.unlink()
    kml_lines = (
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
        '<Document><Placemark><name>路</name><ExtendedData><Data name="code"><value>L1</value>'
        '</Data><Data name="community_code"><value>420303001-001</value></Data></ExtendedData>'
        f"<LineString><coordinates>{LON},{LAT + D} {LON + D},{LAT + D}</coordinates>"
        "</LineString></Placemark></Document></kml>"
    )
    return {
        # --- the file itself
        "empty.geojson": b"",
        "empty.csv": b"",
        "empty.xlsx": b"",
        "empty.zip": b"",
        "blank_lines.csv": "\n\n   \n",
        "garbage.geojson": _garbage(2000, 1),
        "garbage.csv": _garbage(2000, 2),
        "garbage.zip": _garbage(2000, 3),
        "garbage.xlsx": _garbage(2000, 4),
        "garbage.gpkg": _garbage(2000, 5),
        "garbage.kml": _garbage(2000, 6),
        "html_page.geojson": "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>",
        "html_page.csv": "<!DOCTYPE html><html><body>登录已过期</body></html>\n",
        "truncated.geojson": _valid_buildings_geojson()[:180],
        "point_not_collection.geojson": json.dumps({"type": "Point", "coordinates": [LON, LAT]}),
        "no_features.geojson": _fc([]),
        "truncated_shapefile.zip": good_zip[: len(good_zip) // 2],
        "no_shapefile.zip": _zip({"说明.txt": "请见附件".encode()}),
        "two_shapefiles.zip": _zip(
            {
                "a.shp": b"x",
                "a.shx": b"x",
                "a.dbf": b"x",
                "b.shp": b"x",
                "b.shx": b"x",
                "b.dbf": b"x",
            }
        ),
        "missing_dbf.zip": _shapefile_zip(_buildings_frame(["一号楼"]), "UTF-8", drop=(".dbf",)),
        "zip_slip.zip": _zip({"../../evil/layer.shp": b"x", "../../evil/layer.shx": b"x"}),
        "unknown_cpg.zip": _shapefile_zip(
            _buildings_frame(["一号楼"]), "UTF-8", cpg_text="KLINGON-8"
        ),
        "renamed_csv.xlsx": _buildings_csv(_row("N001")),
        "two_layers.gpkg": gpkg_bytes,
        "drawing.dwg": b"AC1027" + b"\x00" * 64,
        "legacy.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64,
        "mixed_encoding.csv": b"code,name,community_code,households,residents,wkt\n"
        + _row("N001", "一号楼").encode("utf-8")
        + b"\n"
        + _row("N002", "二号楼").encode("gbk")
        + b"\n",
        "ragged_row.csv": _buildings_csv(_row("N001"), _row("N002", i=1) + ",多余"),
        "duplicate_header.csv": _buildings_csv(
            _row("N001"), header="code,name,name,households,residents,wkt"
        ),
        "blank_header.csv": _buildings_csv(
            _row("N001"), header="code,,community_code,households,residents,wkt"
        ),
        "empty_sheet.xlsx": _xlsx([]),
        # --- rows and fields
        "missing_code_column.csv": "name,community_code,households,residents,wkt\n"
        f'一号楼,420303001-001,10,25,"{_wkt_box(0)}"\n',
        # no community code, and the building stands in community -001's hole: in none
        "outside_every_community.csv": _buildings_csv(
            _row("N001"),
            _row(
                "N002",
                community="",
                wkt=box(LON + 0.6 * D, LAT + 0.6 * D, LON + 0.7 * D, LAT + 0.7 * D).wkt,
            ),
        ),
        "households_text.csv": _buildings_csv(_row("N001", households="很多")),
        "households_negative.csv": _buildings_csv(_row("N001"), _row("N002", households="-5", i=1)),
        "name_too_long.csv": _buildings_csv(_row("N001", name="楼" * 150)),
        "duplicate_code_in_file.csv": _buildings_csv(_row("N001"), _row("N001", i=1)),
        "duplicate_code_in_db.csv": _buildings_csv(_row("B001", name="改名楼")),
        "unknown_community.csv": _buildings_csv(_row("N001", community="420303001-999")),
        "wkt_broken.csv": _buildings_csv(_row("N001", wkt="POLYGON ((110.78 32.63, 110.79")),
        "wkt_point_for_building.csv": _buildings_csv(_row("N001", wkt=Point(LON, LAT).wkt)),
        "wkt_empty.csv": _buildings_csv(_row("N001", wkt="POLYGON EMPTY")),
        "wkt_self_intersecting.csv": _buildings_csv(
            _row(
                "N001",
                wkt=Polygon(
                    [
                        (LON, LAT + D),
                        (LON + 0.2 * D, LAT + D),
                        (LON + 0.2 * D, LAT + 1.2 * D),
                        (LON + 0.1 * D, LAT + 0.9 * D),
                        (LON, LAT + 1.2 * D),
                    ]
                ).wkt,
            )
        ),
        "bowtie.geojson": _fc([_bld("N001", bowtie)]),
        "null_geometry.geojson": _fc([_bld("N001", _square(LON, LAT + D)), _bld("N002", None)]),
        "linestring_building.geojson": _fc(
            [_bld("N001", {"type": "LineString", "coordinates": [[LON, LAT], [LON + D, LAT]]})]
        ),
        "mixed_point_polygon.geojson": _fc(
            [
                _bld("N001", _square(LON, LAT + D)),
                _bld("N002", {"type": "Point", "coordinates": [LON, LAT]}),
            ]
        ),
        "outside_street.geojson": _fc([_bld("N001", _square(116.40, 39.90))]),
        "out_of_range.geojson": _fc([_bld("N001", _square(LON, 95.0))]),
        "linestring.kml": kml_lines,
        "swapped_latlon.csv": _stations_csv(f"新站,community,420303001-001,{LAT + D},{LON + D}"),
        "dms_coordinates.csv": _stations_csv(
            '新站,community,420303001-001,"110°46\'48""E","32°37\'48""N"'
        ),
        "coordinate_text.csv": _stations_csv("新站,community,420303001-001,东经110.78,北纬32.63"),
        "projected_without_crs.csv": _stations_csv("新站,community,420303001-001,480000,3610000"),
        "bad_station_level.csv": _stations_csv(f"新站,县级,420303001-001,{LON},{LAT}"),
        "point_lonlat_for_building.csv": "code,name,community_code,lon,lat\n"
        f"N001,一号楼,420303001-001,{LON},{LAT}\n",
        "no_coordinates.csv": "name,level,community_code\n新站,community,420303001-001\n",
        "formula_hyperlink.xlsx": _xlsx(
            [
                BUILDING_HEADER.split(","),
                [
                    "N001",
                    '=HYPERLINK("http://evil.example","点我")',
                    "420303001-001",
                    10,
                    25,
                    _wkt_box(0),
                ],
            ]
        ),
        "formula_dde.xlsx": _xlsx(
            [
                BUILDING_HEADER.split(","),
                ["N001", "一号楼", "420303001-001", "=cmd|' /C calc'!A0", 25, _wkt_box(0)],
            ]
        ),
        "request_bad_date.csv": "code,source,category,status,received_at,lon,lat\n"
        f"R1,hotline,环境卫生,received,昨天下午,{LON + 0.5 * D},{LAT + 0.5 * D}\n",
        "request_bad_rating.csv": "code,source,category,status,received_at,rating,lon,lat\n"
        f"R1,hotline,环境卫生,evaluated,2026-01-02 08:00,9,{LON + 0.5 * D},{LAT + 0.5 * D}\n",
        "request_unknown_grid.csv": "code,source,category,status,received_at,grid_code,lon,lat\n"
        f"R1,热线,环境卫生,已受理,2026-01-02 08:00,420303001-001-99,{LON + 0.5 * D},"
        f"{LAT + 0.5 * D}\n",
        "grid_without_active_plan.geojson": _fc(
            [
                _feature(
                    _square(LON + 3 * D, LAT, D),
                    code="420303001-002-01",
                    name="第1网格",
                    community_code="420303001-002",
                )
            ]
        ),
        "member_unknown_building.csv": "name,phone,category,building_code\n"
        "王小红,13900001111,resident,B999\n",
        "member_bad_category.csv": "姓名,电话,党员类别\n王小红,13900001111,预备党员\n",
        "bom_bad_households.csv": "\ufeff楼栋编码,楼栋名称,社区编码,户数,人口,wkt\n"
        f'N001,一号楼,420303001-001,四十,100,"{_wkt_box(0)}"\n',
        "gbk_duplicate_codes.csv": _buildings_csv(
            _row("N001", "一号楼"), _row("N001", "二号楼", i=1)
        ).encode("gbk"),
        "gbk_shapefile_bad_households.zip": _shapefile_zip(
            _buildings_frame(["一号楼"]).assign(households=[-1]), "GBK"
        ),
    }


#: Each bad file: layer, options, and fragments its message must contain.
CASES: list[dict] = [
    {"file": "empty.geojson", "layer": "buildings", "expect": ["文件是空的", "file is empty"]},
    {"file": "empty.csv", "layer": "buildings", "expect": ["文件是空的"]},
    {"file": "empty.xlsx", "layer": "buildings", "expect": ["文件是空的"]},
    {"file": "empty.zip", "layer": "buildings", "expect": ["文件是空的"]},
    {"file": "blank_lines.csv", "layer": "buildings", "expect": ["文件没有内容", "no content"]},
    {"file": "garbage.geojson", "layer": "buildings", "expect": ["二进制数据", "not GeoJSON"]},
    {"file": "garbage.csv", "layer": "buildings", "expect": ["二进制数据", "not CSV"]},
    {"file": "garbage.zip", "layer": "buildings", "expect": ["zip 压缩包已损坏", "truncated"]},
    {"file": "garbage.xlsx", "layer": "buildings", "expect": ["不是有效的 XLSX"]},
    {"file": "garbage.gpkg", "layer": "buildings", "expect": ["不是有效的 GeoPackage"]},
    {"file": "garbage.kml", "layer": "buildings", "expect": ["不是 KML"]},
    {"file": "html_page.geojson", "layer": "buildings", "expect": ["HTML/XML", "web page"]},
    {"file": "html_page.csv", "layer": "buildings", "expect": ["HTML/XML", "not CSV"]},
    {"file": "truncated.geojson", "layer": "buildings", "expect": ["JSON 语法错误", "truncated"]},
    {"file": "point_not_collection.geojson", "layer": "buildings",
     "expect": ["不是 GeoJSON 要素集合", "'Point'"]},
    {"file": "no_features.geojson", "layer": "buildings", "expect": ["没有要素", "no features"]},
    {"file": "truncated_shapefile.zip", "layer": "buildings", "expect": ["zip 压缩包已损坏"]},
    {"file": "no_shapefile.zip", "layer": "buildings", "expect": ["没有 .shp", "说明.txt"]},
    {"file": "two_shapefiles.zip", "layer": "buildings", "expect": ["多个 Shapefile", "a.shp"]},
    {"file": "missing_dbf.zip", "layer": "buildings", "expect": ["缺少 .dbf"]},
    {"file": "zip_slip.zip", "layer": "buildings", "expect": ["缺少 .dbf"]},
    {"file": "unknown_cpg.zip", "layer": "buildings", "expect": ["未知的编码", "KLINGON-8"]},
    {"file": "renamed_csv.xlsx", "layer": "buildings", "expect": ["不是有效的 XLSX", ".xls/CSV"]},
    {"file": "two_layers.gpkg", "layer": "buildings", "expect": ["多个图层", "a, b"]},
    {"file": "drawing.dwg", "layer": "buildings", "expect": ["不支持的文件类型", ".dwg"]},
    {"file": "legacy.xls", "layer": "buildings", "expect": ["不支持的文件类型", ".xlsx"]},
    {"file": "mixed_encoding.csv", "layer": "buildings",
     "expect": ["混用了两种编码", "第 2 行是 UTF-8", "第 3 行不是"]},
    {"file": "ragged_row.csv", "layer": "buildings",
     "expect": ["第 3 行 / row 3", "有 7 列,表头有 6 列"]},
    {"file": "duplicate_header.csv", "layer": "buildings", "expect": ["'name' 重复"]},
    {"file": "blank_header.csv", "layer": "buildings", "expect": ["第 2 列没有列名"]},
    {"file": "empty_sheet.xlsx", "layer": "buildings", "expect": ["工作表是空的"]},
    {"file": "missing_code_column.csv", "layer": "buildings",
     "expect": ["缺少必填字段 楼栋编码(code)", "field code"]},
    {"file": "outside_every_community.csv", "layer": "buildings",
     "expect": ["第 3 行 / row 3, 字段 / field community_code", "不在任何社区内",
                "outside every community"]},
    {"file": "households_text.csv", "layer": "buildings",
     "expect": ["第 2 行 / row 2, 字段 / field households", "'很多'"]},
    {"file": "households_negative.csv", "layer": "buildings",
     "expect": ["第 3 行 / row 3, 字段 / field households", "户数应为整数(≥ 0)"]},
    {"file": "name_too_long.csv", "layer": "buildings",
     "expect": ["field name", "过长(150 字,上限 100)"]},
    {"file": "duplicate_code_in_file.csv", "layer": "buildings",
     "expect": ["第 3 行 / row 3, 字段 / field code", "与第 2 行重复"]},
    {"file": "duplicate_code_in_db.csv", "layer": "buildings",
     "expect": ["'B001' 已在数据库中", "name", "--update"]},
    {"file": "unknown_community.csv", "layer": "buildings",
     "expect": ["field community_code", "'420303001-999' 在数据库中不存在"]},
    {"file": "wkt_broken.csv", "layer": "buildings", "expect": ["field wkt", "不是有效的 WKT"]},
    {"file": "wkt_point_for_building.csv", "layer": "buildings",
     "expect": ["第 2 行", "几何类型为 Point", "need a polygon"]},
    {"file": "wkt_empty.csv", "layer": "buildings", "expect": ["第 2 行", "几何为空"]},
    {"file": "wkt_self_intersecting.csv", "layer": "buildings",
     "expect": ["第 2 行", "几何无效(Self-intersection", "--fix-invalid"]},
    {"file": "bowtie.geojson", "layer": "buildings",
     "expect": ["第 1 个要素 / feature 1", "Self-intersection"]},
    {"file": "null_geometry.geojson", "layer": "buildings",
     "expect": ["第 2 个要素 / feature 2, 字段 / field geometry", "几何为空"]},
    {"file": "linestring_building.geojson", "layer": "buildings",
     "expect": ["feature 1", "几何类型为 LineString"]},
    {"file": "mixed_point_polygon.geojson", "layer": "buildings",
     "expect": ["feature 2", "几何类型为 Point"]},
    {"file": "outside_street.geojson", "layer": "buildings",
     "expect": ["feature 1", "位于街道范围以外", "116.40"]},
    {"file": "out_of_range.geojson", "layer": "buildings",
     "expect": ["feature 1", "超出经纬度范围"]},
    {"file": "linestring.kml", "layer": "buildings",
     "expect": ["feature 1", "几何类型为 LineString"]},
    {"file": "swapped_latlon.csv", "layer": "stations",
     "expect": ["经纬度似乎颠倒", "--swap-latlon"]},
    {"file": "dms_coordinates.csv", "layer": "stations",
     "expect": ["第 2 行 / row 2, 字段 / field lon", "度分秒", "decimal degrees"]},
    {"file": "coordinate_text.csv", "layer": "stations",
     "expect": ["field lon", "坐标不是数字", "'东经110.78'"]},
    {"file": "projected_without_crs.csv", "layer": "stations",
     "expect": ["坐标不是经纬度", "--crs 4546"]},
    {"file": "bad_station_level.csv", "layer": "stations",
     "expect": ["field level", "'县级' 无效"]},
    {"file": "point_lonlat_for_building.csv", "layer": "buildings",
     "expect": ["field lon", "请提供 WKT 列"]},
    {"file": "no_coordinates.csv", "layer": "stations", "expect": ["没有坐标列"]},
    {"file": "formula_hyperlink.xlsx", "layer": "buildings",
     "expect": ["第 2 行 / row 2, 字段 / field name", "单元格是公式", "HYPERLINK"]},
    {"file": "formula_dde.xlsx", "layer": "buildings",
     "expect": ["第 2 行 / row 2, 字段 / field households", "单元格是公式"]},
    {"file": "request_bad_date.csv", "layer": "requests",
     "expect": ["field received_at", "不是日期时间", "'昨天下午'"]},
    {"file": "request_bad_rating.csv", "layer": "requests",
     "expect": ["field rating", "评价应为整数(1–5)"]},
    {"file": "request_unknown_grid.csv", "layer": "requests",
     "expect": ["field grid_code", "'420303001-001-99' 在数据库中不存在"]},
    {"file": "grid_without_active_plan.geojson", "layer": "grids",
     "options": {"plan": "2025年草案"},
     "expect": ["feature 1", "社区 420303001-002 没有名为 '2025年草案' 的网格方案"]},
    {"file": "member_unknown_building.csv", "layer": "members",
     "expect": ["field building_code", "'B999' 在数据库中不存在"]},
    {"file": "member_bad_category.csv", "layer": "members",
     "expect": ["字段 / field 党员类别", "'预备党员' 无效"]},
    {"file": "bom_bad_households.csv", "layer": "buildings",
     "expect": ["第 2 行 / row 2, 字段 / field 户数", "'四十'"]},
    {"file": "gbk_duplicate_codes.csv", "layer": "buildings",
     "expect": ["第 3 行", "'N001'", "与第 2 行重复"]},
    {"file": "gbk_shapefile_bad_households.zip", "layer": "buildings",
     "expect": ["feature 1", "field households", "'-1'"]},
    {"file": "swapped_latlon.csv", "layer": "stations", "options": {"mapping": {"x": "lon"}},
     "expect": ["文件中没有列 'x'"]},
]  # fmt: skip


def _samples() -> dict[str, bytes | str]:
    from gridmap.crs import wgs84_to_bd09, wgs84_to_gcj02

    names = ["一号楼", "二号楼(综合楼)", "鑫苑·名家 3 栋"]
    gk = _buildings_frame(names, crs=4525)  # CGCS2000 3° GK zone 37 with prefix: 8-digit x
    gk_csv = "code,name,comm_code,households,residents,wkt\n" + "".join(
        f'{r.code},{r.name},{r.comm_code},{r.households},{r.residents},"{r.geometry.wkt}"\n'
        for r in gk.itertuples()
    )
    pts = [(LON + 0.5 * D, LAT + 0.5 * D), (LON + 1.5 * D, LAT + 1.5 * D)]
    glon, glat = wgs84_to_gcj02(np.array([p[0] for p in pts]), np.array([p[1] for p in pts]))
    blon, blat = wgs84_to_bd09(np.array([p[0] for p in pts]), np.array([p[1] for p in pts]))
    gcj = _fc(
        [
            _feature(
                {"type": "Point", "coordinates": [float(x), float(y)]},
                name=f"高德站{i}",
                level="compound",
                community_code="420303001-001",
            )
            for i, (x, y) in enumerate(zip(glon, glat, strict=True), 1)
        ]
    )
    bd_csv = _stations_csv(
        *(
            f"百度站{i},小区,420303001-001,{float(x)!r},{float(y)!r}"
            for i, (x, y) in enumerate(zip(blon, blat, strict=True), 1)
        )
    )
    kml_frame = _buildings_frame(names[:2]).rename(columns={"name": "Name"})
    kml_path = SAMPLES_DIR / "_tmp.kml"
    pyogrio.write_dataframe(kml_frame, kml_path, driver="LIBKML")
    kml = kml_path.read_bytes()
    kml_path.unlink()
    hostile = _buildings_csv(
        _row("N001", '"<script>alert(1)</script>"'),
        _row("N002", '"=HYPERLINK(""http://evil.example"",""点我"")"', i=1),
        _row("N003", '"<img src=x onerror=alert(1)>楼"', i=2),
    )
    line = LineString([(LON, LAT + D), (LON + D, LAT + D)])
    assert line.is_valid
    return {
        "gbk_buildings_shp.zip": _shapefile_zip(_buildings_frame(names), "GBK"),
        "gbk_buildings_no_cpg.zip": _shapefile_zip(_buildings_frame(names), "GBK", keep_cpg=False),
        "gk_zone37_buildings.csv": gk_csv,
        "gcj02_stations.geojson": gcj,
        "bd09_stations.csv": bd_csv,
        "buildings.kml": kml,
        "hostile_names.csv": hostile,
        "utf8_bom_stations.csv": "\ufeff"
        + _stations_csv(f"带BOM的站,社区,420303001-001,{LON + D},{LAT + D}"),
        "gbk_stations.csv": _stations_csv(
            f"国标站,小区,420303001-001,{LON + D},{LAT + D}", header="名称,级别,社区编码,经度,纬度"
        ).encode("gbk"),
        "bowtie_building.geojson": _bad_files()["bowtie.geojson"],
        "swapped_stations.csv": _bad_files()["swapped_latlon.csv"],
    }


def main() -> None:
    for folder, files in ((BAD, _bad_files()), (SAMPLES_DIR, None)):
        folder.mkdir(exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
        if files is None:
            files = _samples()
        for name, content in files.items():
            data = content.encode("utf-8") if isinstance(content, str) else content
            (folder / name).write_bytes(data)
    print(f"{len(list(BAD.iterdir()))} bad files, {len(list(SAMPLES_DIR.iterdir()))} samples")


if __name__ == "__main__":
    main()
