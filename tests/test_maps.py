"""gridmap.maps: offline assets, escaped pop-ups, legends and base maps, without the app."""

from __future__ import annotations

import re
from html import escape as html_escape

import pytest

from gridmap import settings
from gridmap.maps import OfflineMap, add_basemap, browser_geojson, street_map
from gridmap.repository import load_street_layers, save_tables
from worlds import small_world

HOSTILE = '<img src=x onerror="alert(1)">'


@pytest.fixture
def layers(engine):
    world = small_world()
    world["grid"].loc[0, "name"] = HOSTILE
    world["building"].loc[0, "name"] = "<script>alert('x')</script>"
    save_tables(engine, world)
    return load_street_layers(engine)


def test_map_loads_nothing_from_the_internet(layers) -> None:
    page = street_map(layers, basemap="none").get_root().render()
    assert re.findall(r"https?://[^\s\"'<>]+", page) == []
    assert f"{settings.STATIC_URL}/leaflet-1.9.4/leaflet.js" in page
    assert f"{settings.STATIC_URL}/leaflet-1.9.4/leaflet.css" in page


def test_chinese_is_sent_as_utf8_and_markup_still_escaped(layers) -> None:
    page = street_map(layers).get_root().render()
    assert "\\u7532" not in page and "甲社区" in page  # 甲 as UTF-8, not \\u7532
    assert HOSTILE not in page


def test_map_script_needs_no_jquery(layers) -> None:
    """Offline maps load Leaflet only: any folium element that needs jQuery would break."""
    page = street_map(layers).get_root().render()
    assert "$(" not in page and "jQuery" not in page


def test_hostile_names_are_escaped_in_popups(layers) -> None:
    page = street_map(layers).get_root().render()
    assert HOSTILE not in page
    assert "<script>alert('x')</script>" not in page
    decoded = page.replace("\\u0026", "&")  # folium writes "&" as \u0026 inside its JSON
    assert "&lt;img src=x onerror=" in decoded
    assert "&lt;script&gt;" in decoded


def test_legend_and_layers_are_named_in_chinese(layers) -> None:
    page = street_map(layers, lang="zh").get_root().render()
    assert "图例" in page
    for name in ("社区", "网格", "楼栋", "党群服务站(点)"):
        assert name in page
    assert "L.control.layers" in page
    assert "imperial: false" in page  # metres only
    english = street_map(layers, lang="en").get_root().render()
    assert "Legend" in english and "Grid" in english


def test_popups_show_leader_masked_and_missing_as_blank(layers) -> None:
    data = browser_geojson(layers.grids, ["code", "leader_name", "branch_name"])
    props = {f["properties"]["code"]: f["properties"] for f in data["features"]}
    assert props["420303001-001-01"]["leader_name"] == "张*明"
    assert props["420303001-001-02"]["leader_name"] == ""
    assert "13812341234" not in str(data)


def test_geojson_rounds_coordinates(layers) -> None:
    data = browser_geojson(layers.buildings, ["code"], decimals=6)
    geometry = data["features"][0]["geometry"]
    assert geometry["type"] == "Polygon"  # a one-part building is sent as a plain polygon
    ring = geometry["coordinates"][0]
    assert all(len(f"{x:.10f}".rstrip("0").split(".")[1]) <= 6 for x, _y in ring)


def test_basemaps() -> None:
    fmap = OfflineMap(location=(32.6, 110.7), tiles=None)
    add_basemap(fmap, "osm")
    assert "tile.openstreetmap.org" in fmap.get_root().render()
    with pytest.raises(ValueError, match="unknown base map"):
        add_basemap(fmap, "google")
    old = settings.TIANDITU_KEY
    try:
        settings.TIANDITU_KEY = ""
        with pytest.raises(ValueError, match="GRIDMAP_TIANDITU_KEY"):
            add_basemap(fmap, "tianditu")
        settings.TIANDITU_KEY = "abc123"
        add_basemap(fmap, "tianditu")
        assert "tianditu.gov.cn" in fmap.get_root().render() and "tk=abc123" in (
            fmap.get_root().render()
        )
    finally:
        settings.TIANDITU_KEY = old


def test_empty_database_still_draws_a_map(engine) -> None:
    page = street_map(load_street_layers(engine)).get_root().render()
    assert "leaflet" in page


def _label_groups(page: str) -> list[dict]:
    """The label groups of the :class:`~gridmap.maps.MapLabels` script in a rendered map."""
    import json

    found = re.search(r"(\[\{\"cls\": \"gridmap-label-community\".*?\}\])\.forEach", page, re.S)
    assert found is not None
    return json.loads(found.group(1))


def test_a_selection_frames_the_map_and_names_its_grids_early(layers) -> None:
    """Issue 19, item 6: the chosen community frames the map (also when the map is first
    drawn in a hidden tab: a ResizeObserver frames it again); its grids are named from street
    zoom on, other grids only from community zoom; names escaped."""
    from gridmap.maps import COMMUNITY_LABEL_ZOOMS, GRID_LABEL_ZOOMS, community_bounds

    code = layers.communities["code"].iloc[0]
    view = community_bounds(layers, code)
    page = street_map(layers, view=view).get_root().render()
    west, south, east, north = view
    framed = re.findall(r"L\.latLngBounds\((\[\[.*?\]\])\)", page)
    assert len(framed) == 1  # one framing, the selection's (the street's was replaced)
    (s, w), (n, e) = __import__("json").loads(framed[0])
    assert (w, s, e, n) == pytest.approx((west - 5e-4, south - 5e-4, east + 5e-4, north + 5e-4))
    assert "ResizeObserver" in page and "invalidateSize" in page

    groups = _label_groups(page)
    ids = layers.communities.set_index("code").loc[code, "id"]
    mine = set(layers.grids.loc[layers.grids["community_id"] == ids, "name"].map(html_escape))
    others = set(layers.grids.loc[layers.grids["community_id"] != ids, "name"].map(html_escape))
    early = [g for g in groups if g["cls"] == "gridmap-label-grid" and g["min"] < 16]
    late = [g for g in groups if g["cls"] == "gridmap-label-grid" and g["min"] >= 16]
    assert {i[2] for i in early[0]["items"]} == mine
    assert {i[2] for i in late[0]["items"]} == others
    assert early[0]["min"] == COMMUNITY_LABEL_ZOOMS[1] and late[0]["min"] == GRID_LABEL_ZOOMS[0]
    community = next(g for g in groups if g["cls"] == "gridmap-label-community")
    assert {i[2] for i in community["items"]} == set(layers.communities["name"])
    assert HOSTILE not in page and html_escape(HOSTILE) in mine | others

    whole = _label_groups(street_map(layers).get_root().render())
    assert sum(len(g["items"]) for g in whole if g["cls"] == "gridmap-label-grid") == len(
        layers.grids
    )
    assert not next(g for g in whole if g["min"] < 16 and g["cls"] == "gridmap-label-grid")["items"]


def test_layer_list_is_folded_and_the_legend_folds(layers) -> None:
    """The layer list is a titled button (图层 / Layers) and the legend a <details> that
    folds on a click and starts folded on a phone: neither covers the data."""
    page = street_map(layers, lang="zh").get_root().render()
    assert '"collapsed": true' in page and '"图层"' in page
    assert '<details class="gridmap-legend"' in page and "<summary>图例</summary>" in page
    assert "width >= 600) return" in page and "dragging.disable()" in page
    assert '"Layers"' in street_map(layers, lang="en").get_root().render()


def test_a_missing_leader_reads_apart_from_a_hidden_one(layers, engine) -> None:
    """A grid without a leader says 未配备; a leader hidden from a planner says (已隐藏)."""
    from gridmap import auth

    page = street_map(layers).get_root().render()
    assert '"未配备"' in page and '"张*明"' in page
    users = auth.list_users(engine)
    if "guihua" not in set(users["name"]):
        auth.create_user(engine, "guihua", "a long test secret", "planner", principal=auth.SYSTEM)
        users = auth.list_users(engine)
    planner = auth.principal_for(engine, int(users.loc[users["name"] == "guihua", "id"].iloc[0]))
    hidden = street_map(load_street_layers(engine, scope=planner)).get_root().render()
    assert f'"{auth.REDACTED}"' in hidden and '"未配备"' in hidden
    assert "张*明" not in hidden
    english = street_map(load_street_layers(engine, scope=planner), lang="en")
    english = english.get_root().render()
    assert '"(hidden)"' in english and '"none"' in english.lower()
    assert auth.REDACTED not in english and '"未配备"' not in english
