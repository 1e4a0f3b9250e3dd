"""Issue 24, items 2 and 5: the attack files. Files that try to make gridmap open a connection
or a file outside its input, containers that inflate past the limit or cannot be unpacked,
inputs that used to crash the reader, and inputs that used to be stored damaged.

:data:`ATTACK_FILES` lists each file (generated into ``tmp_path``), the layer it is imported
as, and either the fragments its refusal must hold — then, as tests/test_io.py asserts, the
message names the file, holds no traceback, and the database is unchanged byte for byte — or
a check of the values it must store. Every import runs on both backends while a real local
HTTP server, which every URL in the files points at, records whether it was contacted: it
never may be.
"""

from __future__ import annotations

import http.server
import io
import json
import os
import struct
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import geopandas as gpd
import pyogrio
import pyproj
import pytest
import shapely
from shapely.geometry import box
from sqlalchemy import Engine
from unchanged import assert_rejected

from gridmap import io as gio
from gridmap.io import offline
from gridmap.repository import read_table
from worlds import LAT, LON

D = 0.001
MB = 2**20

# --- the database, before and after (tests/test_io.py's helpers) ------------------------------


# --- a local HTTP server that records every request ---------------------------------------------


@dataclass
class Server:
    """A real HTTP server on 127.0.0.1; ``hits`` lists every path requested of it."""

    url: str
    hits: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    record = Server("")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            record.hits.append(self.path)
            body = b'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257]]]'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_POST(self) -> None:
            self.do_GET()

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    record.url = f"http://127.0.0.1:{httpd.server_port}"
    yield record
    httpd.shutdown()
    httpd.server_close()
    thread.join()


# --- file makers ---------------------------------------------------------------------------------

MEMBER_HEADER = "name,phone,category,party_org"


def _square(i: int = 0) -> list[list[float]]:
    x, y = LON + 0.1 * D + i * 0.2 * D, LAT + 1.2 * D
    return [[x, y], [x + 0.1 * D, y], [x + 0.1 * D, y + 0.1 * D], [x, y + 0.1 * D], [x, y]]


def _geojson(names: list[str] | None = None, crs: dict | None = None, **top: object) -> bytes:
    names = names or ["一号楼"]
    features = [
        {"type": "Feature",
         "properties": {"code": f"A{i + 1:03d}", "name": n, "community_code": "420303001-001",
                        "households": 10, "residents": 25},
         "geometry": {"type": "Polygon", "coordinates": [_square(i)]}}
        for i, n in enumerate(names)
    ]  # fmt: skip
    doc: dict = {"type": "FeatureCollection", **top, "features": features}
    if crs is not None:
        doc["crs"] = crs
    return json.dumps(doc, ensure_ascii=False).encode()


def _kml(inside_document: str = "", inside_placemark: str = "", head: str = "") -> bytes:
    ring = " ".join(f"{x},{y},0" for x, y in _square())
    return f"""<?xml version="1.0" encoding="UTF-8"?>{head}
<kml xmlns="http://www.opengis.net/kml/2.2"><Document id="root_doc">
<Schema id="s.schema"><SimpleField name="code" type="string"/>
<SimpleField name="comm_code" type="string"/><SimpleField name="households" type="string"/>
<SimpleField name="residents" type="string"/></Schema>{inside_document}
<Placemark id="p1"><name>一号楼</name>{inside_placemark}<ExtendedData>
<SchemaData schemaUrl="#s.schema"><SimpleData name="code">K001</SimpleData>
<SimpleData name="comm_code">420303001-001</SimpleData>
<SimpleData name="households">30</SimpleData><SimpleData name="residents">80</SimpleData>
</SchemaData></ExtendedData><Polygon><outerBoundaryIs><LinearRing><coordinates>{ring}
</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></Document></kml>
""".encode()


def _zip(files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in files.items():
            archive.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), data, method)
    return buffer.getvalue()


def _streamed_zip(name: str, head: bytes, filler: bytes, size: int, tail: bytes,
                  others: dict[str, bytes] | None = None) -> bytes:  # fmt: skip
    """A zip whose member ``name`` is ``head`` + ``size`` bytes of ``filler`` + ``tail``,
    deflated as it is written (a bomb: megabytes that pack into kilobytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for other, data in (others or {}).items():
            archive.writestr(other, data)
        with archive.open(name, "w") as fh:
            fh.write(head)
            chunk = filler * (MB // len(filler))
            for _ in range(size // len(chunk)):
                fh.write(chunk)
            fh.write(tail)
    return buffer.getvalue()


def _patch_zip(data: bytes, **fields: int) -> bytes:
    """A zip with header fields of every member overwritten: ``flags`` (bit 0: encrypted),
    ``method`` (the compression method) or ``size`` (the declared unpacked size)."""
    out = bytearray(data)
    offsets = {"flags": (6, 8, "<H"), "method": (8, 10, "<H"), "size": (22, 24, "<I")}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        pos = archive.start_dir
        for info in archive.infolist():
            for key, value in fields.items():
                local, central, fmt = offsets[key]
                struct.pack_into(fmt, out, info.header_offset + local, value)
                struct.pack_into(fmt, out, pos + central, value)
            n, m, k = struct.unpack_from("<HHH", out, pos + 28)
            pos += 46 + n + m + k
    return bytes(out)


def _shapefile_files(names: list[str], encoding: str = "UTF-8") -> dict[str, bytes]:
    frame = gpd.GeoDataFrame(
        {"code": [f"S{i + 1:03d}" for i in range(len(names))], "name": names,
         "comm_code": ["420303001-001"] * len(names), "households": [30] * len(names),
         "residents": [80] * len(names)},
        geometry=[shapely.Polygon(_square(i)) for i in range(len(names))], crs=4326,
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "layer.shp"
        pyogrio.write_dataframe(frame, path, encoding=encoding)
        return {p.name: p.read_bytes() for p in sorted(Path(tmp).iterdir())}


def _cell(ref: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple):  # ("f", formula, cached value)
        return f'<c r="{ref}"><f>{value[1]}</f><v>{value[2]}</v></c>'
    if isinstance(value, int | float):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return f'<c r="{ref}" t="s"><v>{value}</v></c>'  # a shared string, by its index


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"


def _workbook(rows: list[list[object]], *, dimension: str | None = None, padding: int = 0,
              sheet_rels: str = "", external_link: str | None = None) -> bytes:  # fmt: skip
    """A hand-written XLSX (shared strings, as Excel writes them): ``dimension`` for the
    sheet's ``<dimension ref>``, ``padding`` bytes of blanks inside its data (a bomb),
    ``sheet_rels`` relationships of the sheet, ``external_link`` a linked workbook's URL."""
    strings: list[str] = []
    xml_rows = []
    for r, row in enumerate(rows, start=1):
        cells = []
        for c, value in enumerate(row):
            ref = f"{chr(65 + c)}{r}"
            if isinstance(value, str):
                strings.append(value)
                value = str(len(strings) - 1)  # the shared string's index
            cells.append(_cell(ref, value))
        xml_rows.append(f'<row r="{r}">{"".join(cells)}</row>')
    sst = "".join(
        f'<si><t xml:space="preserve">{s.replace("&", "&amp;").replace("<", "&lt;")}</t></si>'
        for s in strings
    )
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    head = f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">'
    head += f"{dim}<sheetData>"
    tail = "".join(xml_rows) + "</sheetData></worksheet>"
    ext_ref = '<externalReferences><externalReference r:id="rId3"/></externalReferences>'
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.'
            'org/package/2006/content-types"><Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
            'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType='
            '"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
            'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName='
            '"/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.sharedStrings+xml"/></Types>'
        ),
        "_rels/.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG}"><Relationship '
            f'Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
            '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets>'
            f"{ext_ref if external_link else ''}</workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG}">'
            f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
            + (
                f'<Relationship Id="rId3" Type="{_REL}/externalLink" '
                'Target="externalLinks/externalLink1.xml"/>'
                if external_link
                else ""
            )
            + "</Relationships>"
        ),
        "xl/sharedStrings.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{_MAIN}" count="{len(strings)}" '
            f'uniqueCount="{len(strings)}">{sst}</sst>'
        ),
    }
    if sheet_rels:
        parts["xl/worksheets/_rels/sheet1.xml.rels"] = (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG}">{sheet_rels}'
            "</Relationships>"
        )
    if external_link:
        parts["xl/externalLinks/externalLink1.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8"?><externalLink xmlns="{_MAIN}" '
            f'xmlns:r="{_REL}"><externalBook r:id="rId1"><sheetNames><sheetName val="Sheet1"/>'
            "</sheetNames></externalBook></externalLink>"
        )
        parts["xl/externalLinks/_rels/externalLink1.xml.rels"] = (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG}"><Relationship '
            f'Id="rId1" Type="{_REL}/externalLinkPath" Target="{external_link}" '
            'TargetMode="External"/></Relationships>'
        )
    encoded = {k: v.encode() for k, v in parts.items()}
    if padding:
        return _streamed_zip("xl/worksheets/sheet1.xml", head.encode(), b" ", padding,
                             tail.encode(), encoded)  # fmt: skip
    return _zip({**encoded, "xl/worksheets/sheet1.xml": (head + tail).encode()})


def _members(n: int = 4) -> list[list[object]]:
    return [MEMBER_HEADER.split(",")] + [
        [f"党员{i}", f"1380000000{i}", "resident", "甲社区党委"] for i in range(1, n + 1)
    ]


def _names(engine: Engine, table: str = "person") -> list[str]:
    return list(read_table(engine, table)["name"])


# --- the attack files ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Attack:
    """One attack file: its name, how to make it (given the server's URL), the layer it is
    imported as, and the fragments of its refusal — or ``stored``, a check of what a file
    that must be read correctly stores."""

    name: str
    make: Callable[[str], bytes]
    layer: str = "buildings"
    expect: tuple[str, ...] = ()
    stored: Callable[[Engine], None] | None = None


def _stored_members(expected: dict[str, str]) -> Callable[[Engine], None]:
    def check(engine: Engine) -> None:
        people = read_table(engine, "person").set_index("name")
        for name, phone in expected.items():
            assert people.loc[name, "phone"] == phone

    return check


def _stored_building(code: str, name: str) -> Callable[[Engine], None]:
    def check(engine: Engine) -> None:
        buildings = read_table(engine, "building").set_index("code")
        assert buildings.loc[code, "name"] == name

    return check


@cache
def _kmz_bomb() -> bytes:  # 120 MB of description, a few hundred KB packed
    kml = _kml(inside_placemark="<description>X</description>")
    head, tail = kml.split(b"X", 1)
    return _streamed_zip("doc.kml", head, b"A", 120 * MB, tail)


@cache
def _xlsx_bomb() -> bytes:  # a sheet of 211 MB, most of it blanks
    return _workbook(_members(2), padding=211 * MB)


def _lying_kmz(_: str) -> bytes:
    """A KMZ whose header says its KML holds 2 KB; it inflates to 5 MB."""
    kml = _kml(inside_placemark="<description>" + "A" * (5 * MB) + "</description>")
    return _patch_zip(_zip({"doc.kml": kml}), size=2048)


def _big5_shapefile(_: str) -> bytes:
    files = _shapefile_files(["AAAAAA", "BBBBBB", "CCCCCC"])
    dbf = files["layer.dbf"]
    for placeholder, name in zip([b"AAAAAA", b"BBBBBB", b"CCCCCC"], ["陳大文", "林志明", "黃美玲"],
                                 strict=True):  # fmt: skip
        dbf = dbf.replace(placeholder, name.encode("big5"))
    files["layer.dbf"] = dbf[:29] + b"\x00" + dbf[30:]  # no language byte
    del files["layer.cpg"]
    return _zip(files)


def _nul_shapefile(_: str) -> bytes:
    files = _shapefile_files(["一号楼", "XY号楼"])
    files["layer.dbf"] = files["layer.dbf"].replace(b"XY", b"X\x00")
    return _zip(files)


def _nul_gpkg(_: str) -> bytes:
    import sqlite3

    frame = gpd.GeoDataFrame(
        {"code": ["G001", "G002"], "name": ["一号楼", "XY号楼"],
         "comm_code": ["420303001-001"] * 2, "households": [30, 30], "residents": [80, 80]},
        geometry=[shapely.Polygon(_square(i)) for i in range(2)], crs=4326,
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "layer.gpkg"
        pyogrio.write_dataframe(frame, path, layer="buildings", driver="GPKG")
        with sqlite3.connect(path) as conn:  # GDAL writes C strings: the NUL goes in by SQL
            triggers = conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
            ).fetchall()  # GeoPackage's R-tree triggers call SpatiaLite functions
            for name, _ in triggers:
                conn.execute(f'DROP TRIGGER "{name}"')
            conn.execute("UPDATE buildings SET name = ? WHERE code = 'G002'", ("X\x00Y号楼",))
            for _, sql in triggers:
                conn.execute(sql)
        return path.read_bytes()


def _feature_crs(url: str) -> bytes:
    """A linked CRS on a feature's geometry (old GeoJSON allowed one anywhere)."""
    doc = json.loads(_geojson())
    doc["features"][0]["geometry"]["crs"] = {"type": "link", "properties": {"href": f"{url}/f"}}
    return json.dumps(doc).encode()


def _prj_url(url: str) -> bytes:
    files = _shapefile_files(["一号楼"])
    files["layer.prj"] = f"{url}/layer.prj".encode()
    return _zip(files)


def _many_members(_: str) -> bytes:
    return _zip({f"f{i}.txt": b"" for i in range(10_001)}, zipfile.ZIP_STORED)


_BIG5_MEMBERS = "姓名,電話,黨員類別,黨組織\n陳大文,13800000001,在冊,甲社區黨委\n" \
    "林志明,13800000002,在職,甲社區黨委\n黃美玲,13800000003,離退休,甲社區黨委\n"  # fmt: skip
_SJIS_MEMBERS = "氏名,電話番号,区分,所属\n山田太郎,13800000001,在册,甲社区党委\n" \
    "佐藤花子,13800000002,在册,甲社区党委\n鈴木一郎,13800000003,在册,甲社区党委\n"  # fmt: skip
_GBK_MEMBERS = "姓名,电话,党员类别,党组织\n王喆,13800000001,在册,甲社区党委\n" \
    "李堃,13800000002,在职,甲社区党委\n张晓丽,13800000003,离退休,甲社区党委\n"  # fmt: skip
_NO_CONTENT = ("文件没有内容", "the file has no content")
_OUTSIDE = "gridmap 不会去读取"

ATTACK_FILES: list[Attack] = [
    # --- references to the network or to files outside the input (SSRF) ---
    Attack("linked_crs.geojson",
           lambda u: _geojson(crs={"type": "link",
                                   "properties": {"href": f"{u}/crs.wkt", "type": "ogcwkt"}}),
           expect=("坐标系是链接式的", "the CRS is a link", "/crs.wkt")),
    Attack("url_crs_name.geojson",
           lambda u: _geojson(crs={"type": "name", "properties": {"name": f"{u}/epsg/4490"}}),
           expect=("坐标系名称是网址或路径", _OUTSIDE)),
    Attack("vsicurl_crs_name.geojson",
           lambda u: _geojson(crs={"type": "name",
                                   "properties": {"name": f"/vsicurl/{u}/crs.wkt"}}),
           expect=("坐标系名称是网址或路径", "/vsicurl/")),
    Attack("feature_linked_crs.geojson", lambda u: _feature_crs(u), expect=("坐标系是链接式的",)),
    Attack("network_link.kml",
           lambda u: _kml(f"<NetworkLink><Link><href>{u}/more.kml</href></Link></NetworkLink>"),
           expect=("NetworkLink", _OUTSIDE)),
    Attack("network_link.kmz",
           lambda u: _zip({"doc.kml": _kml(
               f"<NetworkLink><Link><href>{u}/more.kml</href></Link></NetworkLink>")}),
           expect=("NetworkLink",)),
    Attack("remote_overlay.kml",
           lambda u: _kml(f"<GroundOverlay><Icon><href>{u}/map.png</href></Icon>"
                          "</GroundOverlay>"),
           expect=("KML 的 href 指向文件以外", "/map.png")),
    Attack("local_file_overlay.kml",
           lambda u: _kml("<GroundOverlay><Icon><href>file:///etc/passwd</href></Icon>"
                          "</GroundOverlay>"),
           expect=("指向文件以外", "file:///etc/passwd")),
    Attack("climbing_overlay.kmz",
           lambda u: _zip({"doc.kml": _kml("<GroundOverlay><Icon><href>../../etc/hosts</href>"
                                           "</Icon></GroundOverlay>")}),
           expect=("指向文件以外", "../../etc/hosts")),
    Attack("remote_style.kml",
           lambda u: _kml(inside_placemark=f"<styleUrl>{u}/styles.kml#red</styleUrl>"),
           expect=("KML 的 styleUrl 指向文件以外",)),
    Attack("external_dtd.kml",
           lambda u: _kml(head=f'<!DOCTYPE kml SYSTEM "{u}/kml.dtd">'),
           expect=("外部 DTD 或实体",)),
    Attack("external_entity.kml",
           lambda u: _kml(head=f'<!DOCTYPE kml [<!ENTITY e SYSTEM "{u}/secret">]>'),
           expect=("外部 DTD 或实体",)),
    Attack("prj_url.zip", _prj_url, expect=(".prj 文件不是坐标系定义", "/layer.prj")),
    Attack("external_link.xlsx",
           lambda u: _workbook(_members(1), external_link=f"{u}/other.xlsx"),
           layer="members", expect=("工作簿含外部链接", "external links")),
    Attack("external_picture.xlsx",
           lambda u: _workbook(_members(1), sheet_rels=(
               f'<Relationship Id="rId1" Type="{_REL}/image" Target="{u}/logo.png" '
               'TargetMode="External"/>')),
           layer="members", expect=("工作簿链接了外部文件或网址", "/logo.png")),
    # what is never fetched is read as usual
    Attack("web_icon_style.kml",
           lambda u: _kml(f'<Style id="s"><IconStyle><Icon><href>{u}/icon.png</href></Icon>'
                          "</IconStyle></Style>", "<styleUrl>#s</styleUrl>"),
           stored=_stored_building("K001", "一号楼")),
    Attack("cell_hyperlink.xlsx",
           lambda u: _workbook(_members(1), sheet_rels=(
               f'<Relationship Id="rId1" Type="{_REL}/hyperlink" Target="{u}/page" '
               'TargetMode="External"/>')),
           layer="members", stored=_stored_members({"党员1": "13800000001"})),
    # --- containers: the limit on unpacked bytes, passwords, unknown methods ---
    Attack("bomb.kmz", lambda u: _kmz_bomb(), expect=("解压后过大(120.0 MB,上限 50 MB)",)),
    Attack("bomb_sheet.xlsx", lambda u: _xlsx_bomb(), layer="members",
           expect=("解压后过大(211.0 MB", "too large once unzipped")),
    Attack("lying_size.kmz", _lying_kmz, expect=("KMZ 文件已损坏",)),
    Attack("password.zip", lambda u: _patch_zip(_zip(_shapefile_files(["一号楼"])), flags=1),
           expect=("zip 压缩包设有密码", "password-protected")),
    Attack("password.kmz", lambda u: _patch_zip(_zip({"doc.kml": _kml()}), flags=1),
           expect=("KMZ 文件设有密码",)),
    Attack("password.xlsx", lambda u: _patch_zip(_workbook(_members(1)), flags=1),
           layer="members", expect=("XLSX 工作簿设有密码",)),
    Attack("encrypted_by_excel.xlsx",
           lambda u: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 8,
           layer="members", expect=("设有密码(已加密)的工作簿",)),
    Attack("aes_method.zip", lambda u: _patch_zip(_zip(_shapefile_files(["一号楼"])), method=99),
           expect=("不支持的压缩方式(方法 99", "Deflate")),
    Attack("deflate64.xlsx", lambda u: _patch_zip(_workbook(_members(1)), method=9),
           layer="members", expect=("不支持的压缩方式(方法 9",)),
    Attack("ten_thousand_files.zip", _many_members, expect=("文件过多(10001 个",)),
    # --- inputs that used to crash the reader ---
    Attack("only_delimiters.csv", lambda u: b",,,,\n,,,,\n", layer="members", expect=_NO_CONTENT),
    Attack("only_delimiters_header.csv", lambda u: b";;;\n", layer="requests",
           expect=_NO_CONTENT),
    Attack("field_over_128kb.csv",
           lambda u: f'{MEMBER_HEADER}\n党员1,"{"x" * 200_000},resident,甲社区党委\n'.encode(),
           layer="members", expect=("第 2 行 / row 2", "超过 128 KB")),
    Attack("deeply_nested.geojson",
           lambda u: _geojson().replace(b'"households": 10',
                                        b'"households": ' + b"[" * 100_000 + b"]" * 100_000),
           expect=("嵌套过深",)),
    Attack("huge_integer.geojson",
           lambda u: _geojson().replace(b'"households": 10', b'"households": ' + b"9" * 5000),
           expect=("JSON 中有无法读取的值",)),
    Attack("whitespace_members.csv", lambda u: " \n\t\n\u3000 \n".encode(), layer="members",
           expect=_NO_CONTENT),
    Attack("whitespace_requests.csv", lambda u: b"\xef\xbb\xbf  \r\n \r\n", layer="requests",
           expect=_NO_CONTENT),
    Attack("whitespace_members.xlsx", lambda u: _workbook([[" ", "  "], ["\t", None]]),
           layer="members", expect=_NO_CONTENT),
    Attack("whitespace_requests.xlsx", lambda u: _workbook([["  "]]), layer="requests",
           expect=_NO_CONTENT),
    Attack("empty_first_cell.xlsx",
           lambda u: _workbook([*_members(1), [None, "13800000009", "resident", "甲社区党委"]]),
           layer="members", expect=("第 3 行 / row 3", "field name")),
    # --- inputs that used to be stored damaged ---
    Attack("nul_in_name.csv",
           lambda u: f"{MEMBER_HEADER}\n党员1,13800000001,resident,甲社区党委\n"
                     "张\x00三,13800000002,resident,甲社区党委\n".encode(),
           layer="members", expect=("第 3 行 / row 3", "field name", "NUL")),
    Attack("nul_in_name.geojson", lambda u: _geojson(["一号楼", "张\x00三楼"]),
           expect=("第 2 个要素 / feature 2", "field name", "NUL")),
    Attack("nul_in_name_shp.zip", _nul_shapefile,
           expect=("第 2 个要素 / feature 2", "field name", "NUL")),
    Attack("nul_in_name.gpkg", _nul_gpkg, expect=("第 2 个要素 / feature 2", "field name", "NUL")),
    Attack("big5_members.csv", lambda u: _BIG5_MEMBERS.encode("big5"), layer="members",
           expect=("既不是 UTF-8 也不是 GBK", "Big5", "save it as UTF-8")),
    Attack("shift_jis_members.csv", lambda u: _SJIS_MEMBERS.encode("shift_jis"),
           layer="members", expect=("既不是 UTF-8 也不是 GBK", "Shift-JIS", "UTF-8")),
    Attack("big5_buildings_no_cpg.zip", _big5_shapefile,
           expect=("属性表的编码既不是 UTF-8 也不是 GBK", ".cpg")),
    Attack("big5.geojson", lambda u: _geojson(["陳大文樓"]).decode().encode("big5"),
           expect=("无法按 utf-8 解码", "UTF-8")),
    Attack("stale_dimension.xlsx", lambda u: _workbook(_members(4), dimension="A1:D2"),
           layer="members",
           stored=_stored_members({f"党员{i}": f"1380000000{i}" for i in range(1, 5)})),
    Attack("formula_phone.xlsx",
           lambda u: _workbook([*_members(1),
                                ["党员2", ("f", '"1380000"&amp;"0002"', 13800000002),
                                 "resident", "甲社区党委"]]),
           layer="members", expect=("第 3 行 / row 3", "field phone", "单元格是公式")),
    Attack("gbk_rare_names.csv", lambda u: _GBK_MEMBERS.encode("gbk"), layer="members",
           stored=_stored_members({"王喆": "13800000001", "李堃": "13800000002",
                                   "张晓丽": "13800000003"})),
]  # fmt: skip


@pytest.mark.parametrize("attack", ATTACK_FILES, ids=[a.name for a in ATTACK_FILES])
def test_attack_file_is_refused_or_read_right_and_nothing_is_fetched(
    world: Engine, attack: Attack, server: Server, tmp_path: Path
) -> None:
    path = tmp_path / attack.name
    path.write_bytes(attack.make(server.url))
    server.hits.clear()
    if attack.stored is None:
        assert_rejected(world, path, attack.layer, list(attack.expect))
    else:
        gio.import_file(world, attack.layer, path)
        attack.stored(world)
    assert server.hits == []  # nothing in any file made gridmap contact the server


def test_attack_list_covers_every_kind_of_file() -> None:
    suffixes = {Path(a.name).suffix for a in ATTACK_FILES}
    assert suffixes >= {".geojson", ".kml", ".kmz", ".zip", ".xlsx", ".csv", ".gpkg"}
    assert len({a.name for a in ATTACK_FILES}) == len(ATTACK_FILES) >= 45


# --- the network stays off even for a file that reaches GDAL -----------------------------------


def _gdal_reads_without_contact(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "linked.geojson"
    path.write_bytes(_geojson(crs={"type": "link", "properties": {"href": f"{server.url}/c"}}))
    server.hits.clear()
    assert len(pyogrio.read_dataframe(path)) == 1  # GDAL itself, past gridmap's refusal
    with pytest.raises(Exception, match="vsicurl"):
        pyogrio.read_dataframe(f"/vsicurl/{server.url}/remote.geojson")
    assert server.hits == []


def test_gdal_and_proj_are_off_the_network_once_gridmap_io_is_imported(
    server: Server, tmp_path: Path
) -> None:
    """The second guard alone: importing gridmap.io has switched GDAL's and PROJ's network
    off, so a linked CRS handed to GDAL directly and a ``/vsicurl/`` path contact nothing."""
    assert pyogrio.get_gdal_config_option("PROJ_NETWORK") in ("OFF", False)  # pyogrio: bool
    assert (
        pyogrio.get_gdal_config_option("GDAL_HTTP_PROXY") == offline.NETWORK_OFF["GDAL_HTTP_PROXY"]
    )
    assert not pyproj.network.is_network_enabled()
    _gdal_reads_without_contact(server, tmp_path)


def test_no_proxy_cannot_open_a_way_around_the_dead_proxy(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """libcurl connects directly to hosts ``NO_PROXY`` names: :func:`disable_network`
    empties it."""
    monkeypatch.setenv("NO_PROXY", "*")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    offline.disable_network()
    assert os.environ["NO_PROXY"] == os.environ["no_proxy"] == ""
    _gdal_reads_without_contact(server, tmp_path)


def test_the_server_records_what_it_is_asked(server: Server) -> None:
    """The witness works: a request made on purpose is recorded (so ``hits == []`` means
    something)."""
    import urllib.request

    server.hits.clear()
    with urllib.request.urlopen(f"{server.url}/probe", timeout=5) as response:
        assert response.status == 200
    assert server.hits == ["/probe"]
    server.hits.clear()


# --- the same checks for readers with columns of their own --------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [("members.csv", b" \n \t\n"), ("requests.xlsx", None), ("members.csv", b",,,\n")],
)
def test_read_spreadsheet_says_a_blank_file_has_no_content(name: str, data: bytes | None) -> None:
    data = data if data is not None else _workbook([["  "], [None, " "]])
    with pytest.raises(gio.ImportRejected, match="文件没有内容") as info:
        gio.read_spreadsheet(data, name)
    assert name in str(info.value)


def test_read_spreadsheet_refuses_formulas_and_keeps_numbers_as_written() -> None:
    rows = [*_members(1), ["党员2", ("f", "B2+1", 13800000002), "resident", "甲社区党委"]]
    with pytest.raises(gio.ImportRejected) as info:
        gio.read_spreadsheet(_workbook(rows), "members.xlsx")
    assert "第 3 行 / row 3, 字段 / field phone: 单元格是公式" in str(info.value)
    table = gio.read_spreadsheet(
        _workbook([*_members(4), ["党员5", 13800000005, "resident", "甲社区党委"]],
                  dimension="A1:A1"), "members.xlsx")  # fmt: skip
    assert list(table.index) == [2, 3, 4, 5, 6]  # every row, though the header says one
    assert table.loc[6, "phone"] == "13800000005" and table.loc[2, "name"] == "党员1"


def test_read_spreadsheet_refuses_big5_and_reads_gbk(tmp_path: Path) -> None:
    with pytest.raises(gio.ImportRejected, match="既不是 UTF-8 也不是 GBK"):
        gio.read_spreadsheet(_BIG5_MEMBERS.encode("big5"), "members.csv")
    path = tmp_path / "members.csv"
    path.write_bytes(_GBK_MEMBERS.encode("gbk"))
    assert list(gio.read_spreadsheet(path)["姓名"]) == ["王喆", "李堃", "张晓丽"]


def test_bombs_are_refused_without_being_unpacked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The decompressed-size check reads only the zip's directory: refusing a 211 MB sheet
    takes no more memory than the file itself (measured as bytes read from the archive)."""
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(_xlsx_bomb())
    assert path.stat().st_size < MB
    opened: list[str] = []
    real_open = zipfile.ZipFile.open

    def tracking_open(self, name, *args, **kwargs):
        opened.append(getattr(name, "filename", name))
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", tracking_open)
    with pytest.raises(gio.ImportRejected, match="解压后过大"):
        gio.read_source(path)
    assert opened == []  # not one member was opened


def test_buildings_geometry_helper_is_inside_the_small_world() -> None:
    """The attack files' buildings lie in community 420303001-001 of the small world, so a
    file refused is refused for its attack, not for its place."""
    square = shapely.Polygon(_square(3))
    assert square.within(box(LON, LAT, LON + 2 * D, LAT + 2 * D))


def test_a_folder_linking_out_of_itself_is_refused(tmp_path: Path) -> None:
    """A street's folder read from the command line: a symbolic link in it to a file outside
    is refused, not followed."""
    outside = tmp_path / "elsewhere" / "secret.csv"
    outside.parent.mkdir()
    outside.write_text("name,level,lon,lat\n站,compound,110.78,32.63\n", encoding="utf-8")
    folder = tmp_path / "street"
    folder.mkdir()
    (folder / "stations.csv").symlink_to(outside)
    with pytest.raises(gio.ImportRejected, match="符号链接") as info:
        gio.read_layers(folder)
    assert "street/stations.csv" in str(info.value)
