"""Tests of the demo street (gridmap.demo): determinism, shape, integrity and the known defects.

No database is needed: the demo is pure data. Geometric checks run in UTM zone 49N (EPSG:32649).
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gridmap import settings
from gridmap.demo import DEMO_DEFECTS, HOTSPOT_CATEGORY, build_demo
from gridmap.models import (
    AssigneeKind,
    Base,
    MemberCategory,
    OrgKind,
    PersonRole,
    PlanStatus,
    RequestSource,
    RequestStatus,
    StationLevel,
)
from gridmap.validation import check_member_dates

METRIC = "EPSG:32649"
REFERENCE = dt.datetime.combine(settings.DEMO_REFERENCE_DATE, dt.time())
GEOMETRY_TYPES = {
    "street": "MultiPolygon",
    "community": "MultiPolygon",
    "grid": "MultiPolygon",
    "building": "MultiPolygon",
    "service_station": "Point",
    "request": "Point",
}
ORDER = [
    "street",
    "community",
    "grid_plan",
    "person",
    "party_org",
    "grid",
    "grid_worker",
    "building",
    "service_station",
    "member",
    "member_zone",
    "request",
    "request_event",
    "member_point",
    "organisation",
]


@pytest.fixture(scope="module")
def demo() -> dict[str, pd.DataFrame]:
    return build_demo()


@pytest.fixture(scope="module")
def metric(demo: dict[str, pd.DataFrame]) -> dict[str, gpd.GeoDataFrame]:
    return {name: demo[name].to_crs(METRIC) for name in GEOMETRY_TYPES}


def _by_code(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("code", drop=False)


def _building_shares(metric: dict[str, gpd.GeoDataFrame]) -> pd.DataFrame:
    """Share of each building's area in each grid it intersects."""
    b, g = metric["building"], metric["grid"]
    bi, gi = shapely.STRtree(g.geometry.values).query(b.geometry.values, predicate="intersects")
    inter = shapely.area(shapely.intersection(b.geometry.values[bi], g.geometry.values[gi]))
    return pd.DataFrame(
        {
            "building": b["code"].to_numpy()[bi],
            "grid": g["code"].to_numpy()[gi],
            "share": inter / shapely.area(b.geometry.values[bi]),
        }
    )


# --- shape of the output ----------------------------------------------------------------------


def test_tables_in_foreign_key_order_with_model_columns(demo: dict[str, pd.DataFrame]) -> None:
    assert list(demo) == ORDER
    for name, frame in demo.items():
        table = Base.metadata.tables[name]
        assert list(frame.columns) == [c.name for c in table.columns], name
        assert frame["id"].tolist() == list(range(1, len(frame) + 1)), name
        for fk in table.foreign_keys:
            target = fk.column.table.name
            if target in ("user", name) or {name, target} == {"grid", "party_org"}:
                continue
            assert ORDER.index(target) < ORDER.index(name), (name, target)


def test_geometry_tables(demo: dict[str, pd.DataFrame]) -> None:
    for name, kind in GEOMETRY_TYPES.items():
        frame = demo[name]
        assert isinstance(frame, gpd.GeoDataFrame), name
        assert frame.geometry.name == "geom"
        assert frame.crs.to_epsg() == 4326
        assert set(frame.geom_type) == {kind}, name
        assert shapely.is_valid(frame.geometry.values).all(), name
        minx, miny, maxx, maxy = frame.total_bounds
        assert minx > 110.76 and maxx < 110.81 and miny > 32.62 and maxy < 32.65, name
        coords = shapely.get_coordinates(frame.geometry.values)
        np.testing.assert_array_equal(coords, np.round(coords, settings.COORDINATE_DECIMALS))
    assert (demo["grid"]["version"] == 1).all()


def test_same_seed_gives_identical_frames(demo: dict[str, pd.DataFrame]) -> None:
    again = build_demo(settings.DEMO_SEED)
    for name, frame in demo.items():
        other = again[name]
        if name in GEOMETRY_TYPES:
            assert (
                shapely.to_wkb(frame.geometry.values).tolist()
                == shapely.to_wkb(other.geometry.values).tolist()
            ), name
            frame, other = (
                pd.DataFrame(frame.drop(columns="geom")),
                pd.DataFrame(other.drop(columns="geom")),
            )
        pd.testing.assert_frame_equal(frame, other, obj=name)


def test_other_seed_differs(demo: dict[str, pd.DataFrame]) -> None:
    other = build_demo(settings.DEMO_SEED + 1)
    assert not demo["grid"].geometry.geom_equals_exact(other["grid"].geometry, 1e-9).all()
    assert demo["person"]["name"].tolist() != other["person"]["name"].tolist()
    assert demo["request"]["received_at"].tolist() != other["request"]["received_at"].tolist()
    # the defect layout is the same for every seed
    assert demo["grid"]["code"].tolist() == other["grid"]["code"].tolist()


def test_counts_near_targets(demo: dict[str, pd.DataFrame]) -> None:
    targets = {
        "community": 7,
        "grid": 80,
        "building": 1500,
        "member": 2000,
        "service_station": 20,
        "request": 3000,
    }
    for name, target in targets.items():
        assert abs(len(demo[name]) - target) <= 0.15 * target, (name, len(demo[name]))
    residents = demo["building"]["residents"].sum()
    households = demo["building"]["households"].sum()
    assert 2.3 <= residents / households <= 2.9
    workers = demo["grid_worker"].groupby("grid_id").size()
    assert len(workers) == 80 and workers.between(1, 3).all()


# --- enumerations and integrity ---------------------------------------------------------------


def test_enum_values_are_valid_and_all_present(demo: dict[str, pd.DataFrame]) -> None:
    def values(enum: type) -> set[str]:
        return {m.value for m in enum}

    assert set(demo["member"]["category"]) == values(MemberCategory)
    assert set(demo["request"]["source"]) == values(RequestSource)
    assert set(demo["request"]["status"]) == values(RequestStatus)
    assert set(demo["request_event"]["to_status"]) == values(RequestStatus)
    assert set(demo["service_station"]["level"]) == values(StationLevel)
    assert set(demo["party_org"]["kind"]) <= values(OrgKind)
    assert {"working_committee", "committee", "branch", "joint_branch", "group"} <= set(
        demo["party_org"]["kind"]
    )
    assert set(demo["grid_plan"]["status"]) == {PlanStatus.active.value}
    assert set(demo["request"]["assignee_kind"].dropna()) <= values(AssigneeKind)
    assert set(demo["request"]["category"]) == set(settings.REQUEST_SLA_HOURS)
    roles = {r for s in demo["person"]["roles"] for r in s.split(",") if r}
    assert roles == values(PersonRole)


def test_foreign_keys_refer_to_existing_rows(demo: dict[str, pd.DataFrame]) -> None:
    for name, frame in demo.items():
        for fk in Base.metadata.tables[name].foreign_keys:
            target = fk.column.table.name
            refs = pd.Series(frame[fk.parent.name]).dropna()
            if target not in demo:
                assert refs.empty, (name, fk.parent.name)
                continue
            assert set(refs.astype(int)) <= set(demo[target]["id"]), (name, fk.parent.name)


def test_people(demo: dict[str, pd.DataFrame]) -> None:
    person = demo["person"]
    assert person["phone"].str.fullmatch(r"1(3\d|5[0-35-9]|8[0-35-9])\d{8}").all()
    assert person["id_suffix"].str.fullmatch(r"\d{3}[\dX]").all()
    assert person["name"].str.fullmatch(r"[\u4e00-\u9fff]{2,3}").all()
    assert (person["roles"].str.count(",") >= 1).any()  # someone holds several roles


def test_organisation(demo: dict[str, pd.DataFrame]) -> None:
    org, grid, building = demo["party_org"], demo["grid"], demo["building"]
    branches = org[org["kind"] == "branch"]
    linked = grid.dropna(subset=["party_org_id"])
    pairs = linked.merge(branches, left_on="party_org_id", right_on="id", suffixes=("", "_org"))
    assert len(pairs) == len(linked) == len(branches)
    assert (pairs["grid_id"] == pairs["id"]).all()
    groups = org[org["kind"] == "group"]
    assert set(groups["parent_id"]) <= set(branches["id"])
    assert set(groups["id"]) <= set(building["party_org_id"].dropna())
    top = org[org["kind"] == "working_committee"]
    assert len(top) == 1 and top["parent_id"].isna().all()


def test_members(demo: dict[str, pd.DataFrame]) -> None:
    m = demo["member"]
    lost = m["category"] == "lost_contact"
    assert (m.loc[lost, "status"] == "lost_contact").all()
    assert (m.loc[~lost, "status"] == "active").all()
    service = m["category"] == "in_service"
    assert m.loc[service, "registered_on"].notna().all()
    assert m.loc[service, "work_unit"].notna().all()
    assert m.loc[~service, "registered_on"].isna().all()
    assert (m.loc[service, "registered_on"] >= m.loc[service, "joined_on"]).all()
    years = m["joined_on"].map(lambda d: d.year)
    assert years.between(1965, 2024).all()
    seen = m["last_contact_on"].notna()
    assert (m.loc[seen, "last_contact_on"] >= m.loc[seen, "joined_on"]).all()
    for row in m.itertuples():  # what an edit of any demo member is checked against
        check_member_dates(row.joined_on, row.registered_on, row.last_contact_on,
                           today=settings.DEMO_REFERENCE_DATE)  # fmt: skip
    homes = demo["building"].set_index("id").loc[m["building_id"].astype(int)]
    assert (homes["households"] > 0).all()
    part_time = demo["grid_worker"][demo["grid_worker"]["part_time"]]
    assert set(part_time["person_id"]) <= set(m["person_id"])


def test_requests_follow_their_lifecycle(demo: dict[str, pd.DataFrame]) -> None:
    r, ev = demo["request"], demo["request_event"]
    start = dt.datetime(REFERENCE.year - 1, REFERENCE.month, 1)  # twelve whole months and more
    assert r["received_at"].between(start, REFERENCE, inclusive="left").all()
    assert (ev["at"] < REFERENCE).all()
    sla = r["category"].map(settings.REQUEST_SLA_HOURS)
    assert (r["due_at"] - r["received_at"] == pd.to_timedelta(sla, unit="h")).all()
    done = r["status"].isin(["resolved", "evaluated"])
    assert r.loc[done, "resolved_at"].notna().all() and r.loc[~done, "resolved_at"].isna().all()
    rated = r["status"] == "evaluated"
    assert r.loc[rated, "rating"].between(1, 5).all() and r.loc[~rated, "rating"].isna().all()
    open_ = r["status"].isin(["received", "assigned", "escalated"])
    assert (r.loc[open_, "due_at"] < REFERENCE).any()  # some are overdue
    assert r["reporter"].str.fullmatch(r"[\u4e00-\u9fff]\*[\u4e00-\u9fff]?").all()
    # events: in time order, starting at "received", ending at the request's status
    ev = ev.sort_values(["request_id", "id"])
    assert ev.groupby("request_id")["at"].is_monotonic_increasing.all()
    first = ev.drop_duplicates("request_id", keep="first").set_index("request_id")
    last = ev.drop_duplicates("request_id", keep="last").set_index("request_id")
    assert (first["to_status"] == "received").all() and first["from_status"].isna().all()
    assert (last["to_status"].reindex(r["id"]).to_numpy() == r["status"].to_numpy()).all()
    assert (first["at"].reindex(r["id"]).to_numpy() == r["received_at"].to_numpy()).all()
    chained = ev["from_status"].iloc[1:].to_numpy()
    previous = ev["to_status"].iloc[:-1].to_numpy()
    same = ev["request_id"].iloc[1:].to_numpy() == ev["request_id"].iloc[:-1].to_numpy()
    assert (chained[same] == previous[same]).all()
    rejected = ev[ev["to_status"] == "rejected"]
    assert rejected["note"].str.len().gt(0).all()
    assert set(ev["actor_id"].dropna()) <= set(demo["person"]["id"])


def test_assignees_are_consistent(demo: dict[str, pd.DataFrame]) -> None:
    r = demo["request"]
    workers = demo["grid_worker"]
    worker = r[r["assignee_kind"] == "grid_worker"]
    pairs = set(zip(workers["grid_id"], workers["person_id"], strict=True))
    assert all(
        (g, p) in pairs for g, p in zip(worker["grid_id"], worker["assignee_id"], strict=True)
    )
    member = r[r["assignee_kind"] == "member"]
    assert set(member["assignee_id"]) <= set(demo["member"]["id"])
    unassigned = r["status"].isin(["received", "rejected"])
    assert r.loc[unassigned, "assignee_kind"].isna().all()
    assert r.loc[~unassigned, "assignee_kind"].notna().all()


# --- the deliberate defects -------------------------------------------------------------------


def test_defect_lists_are_long_enough() -> None:
    single = {"compound_without_activity_space"}  # the demo has one new compound, by design
    for key, value in DEMO_DEFECTS.items():
        if not isinstance(value, str):
            assert len(value) >= (1 if key in single else 2), key


def test_coverage_gaps(demo: dict[str, pd.DataFrame], metric: dict[str, gpd.GeoDataFrame]) -> None:
    grid = _by_code(metric["grid"])
    plans = demo["grid_plan"].set_index("id")["community_id"]
    gap_communities = set()
    for code in DEMO_DEFECTS["gap_grids"]:
        community_id = plans[grid.loc[code, "plan_id"]]
        gap_communities.add(community_id)
    for community in metric["community"].itertuples():
        grids = grid[grid["plan_id"].map(plans) == community.id]
        uncovered = community.geom.difference(shapely.union_all(grids.geometry.values))
        if community.id in gap_communities:
            for code in DEMO_DEFECTS["gap_grids"]:
                near = uncovered.intersection(grid.loc[code, "geom"].buffer(20))
                if plans[grid.loc[code, "plan_id"]] == community.id:
                    assert near.area > 1000, code
        else:
            assert uncovered.area < 0.01, community.name  # tiles exactly: no slivers
        # grids never reach outside their community
        assert grids.geometry.difference(community.geom).area.max() < 0.01


def test_overlaps(metric: dict[str, gpd.GeoDataFrame]) -> None:
    grid = metric["grid"]
    gi, gj = shapely.STRtree(grid.geometry.values).query(
        grid.geometry.values, predicate="intersects"
    )
    keep = gi < gj
    area = shapely.area(
        shapely.intersection(grid.geometry.values[gi[keep]], grid.geometry.values[gj[keep]])
    )
    codes = grid["code"].to_numpy()
    found = {
        (codes[a], codes[b]) for a, b, s in zip(gi[keep], gj[keep], area, strict=True) if s > 0.01
    }
    assert found == set(DEMO_DEFECTS["overlap_pairs"])
    assert area.max() > 1000


def test_buildings_outside_and_split(
    demo: dict[str, pd.DataFrame], metric: dict[str, gpd.GeoDataFrame]
) -> None:
    shares = _building_shares(metric)
    building = _by_code(demo["building"])
    outside = set(building["code"]) - set(shares["building"])
    assert outside == set(DEMO_DEFECTS["buildings_outside_grid"])
    assert building.loc[sorted(outside), "grid_id"].isna().all()
    assert (building.loc[sorted(outside), "households"] > 0).all()
    split = shares[shares["share"] >= 0.2].groupby("building").size()
    assert set(split[split >= 2].index) == set(DEMO_DEFECTS["buildings_split"])
    # grid_id is the grid with the largest share
    best = shares.sort_values("share").groupby("building").last()
    grid_code = demo["grid"].set_index("id")["code"]
    stored = building.loc[best.index, "grid_id"].astype(int).map(grid_code)
    assert (stored == best["grid"]).all()


def test_leadership_gaps(demo: dict[str, pd.DataFrame]) -> None:
    grid = _by_code(demo["grid"])
    assert set(grid.index[grid["leader_id"].isna()]) == set(DEMO_DEFECTS["grids_without_leader"])
    assert set(grid.index[grid["party_org_id"].isna()]) == set(DEMO_DEFECTS["grids_without_branch"])
    branched = set(demo["party_org"]["grid_id"].dropna().astype(int))
    unbranched = set(grid.loc[DEMO_DEFECTS["grids_without_branch"], "id"])
    assert not branched & unbranched
    b = demo["building"]
    unled = b[(b["households"] > 0) & b["leader_id"].isna()]
    assert set(unled["code"]) == set(DEMO_DEFECTS["buildings_without_leader"])


def test_grid_sizes(demo: dict[str, pd.DataFrame]) -> None:
    b = demo["building"].dropna(subset=["grid_id"])
    households = b.groupby(b["grid_id"].astype(int))["households"].sum()
    households.index = households.index.map(demo["grid"].set_index("id")["code"])
    over = set(households.index[households > settings.GRID_HOUSEHOLDS_MAX])
    under = set(households.index[households < settings.GRID_HOUSEHOLDS_MIN])
    assert over == set(DEMO_DEFECTS["grids_over_norm"])
    assert under == set(DEMO_DEFECTS["grids_under_norm"])
    assert households[sorted(over)].min() > 650 and households[sorted(under)].max() < 200
    assert len(households) == 80


def test_every_branch_has_members(demo: dict[str, pd.DataFrame]) -> None:
    counts = demo["member"].groupby("party_org_id").size()
    branches = demo["party_org"][demo["party_org"]["kind"] == "branch"]["id"]
    assert (counts.reindex(branches, fill_value=0) >= settings.BRANCH_MIN_MEMBERS).all()


def test_far_from_station(
    demo: dict[str, pd.DataFrame], metric: dict[str, gpd.GeoDataFrame]
) -> None:
    stations = shapely.union_all(metric["service_station"].geometry.values)
    b = metric["building"]
    b = b[(b["households"] > 0) & b["grid_id"].notna()]
    nearest = shapely.distance(b.geometry.values, stations)
    reach = pd.Series(nearest).groupby(b["grid_id"].astype(int).to_numpy()).min()
    reach.index = reach.index.map(demo["grid"].set_index("id")["code"])
    assert set(reach.index[reach > 1000]) == set(DEMO_DEFECTS["far_from_station_grids"])
    grid = _by_code(metric["grid"])
    for code in DEMO_DEFECTS["far_from_station_grids"]:
        assert grid.loc[code, "geom"].distance(stations) > 1000
    levels = demo["service_station"]["level"].value_counts()
    assert levels.to_dict() == {"compound": 12, "community": 7, "street": 1}


def test_hotspot(demo: dict[str, pd.DataFrame]) -> None:
    """The planted hotspot: one grid with far more requests of one category than any other
    (the trend blocks have many requests too, of every category)."""
    r = demo["request"]
    per_grid = r.loc[r["category"] == HOTSPOT_CATEGORY, "grid_id"].value_counts()
    code = demo["grid"].set_index("id")["code"]
    assert code[per_grid.index[0]] == DEMO_DEFECTS["hotspot_grid"]
    assert per_grid.iloc[0] >= 200 and per_grid.iloc[0] > 3 * per_grid.iloc[1]


def test_trends_and_duplicates_are_shaped(demo_db_url: str) -> None:
    """Issue 22 item 6: every class of emerging hot spots occurs on the demo's hexagons (the
    default unit) over twelve whole months of requests, and the duplicate cases are there:
    merged duplicates whose originals count their reporters, and open ones proposed."""
    from gridmap.db import open_database
    from gridmap.emerging import EMERGING_CLASSES, emerging_hotspots
    from gridmap.repository import load_street_layers, read_table
    from gridmap.requests import load_requests, possible_duplicates, street_now

    engine = open_database(demo_db_url)
    requests = read_table(engine, "request")
    report = emerging_hotspots(requests, load_street_layers(engine).grids, street_now(engine))
    per_month = report.series.groupby("month")["requests"].sum()
    assert len(per_month) == 12 and per_month.min() > 150  # every month a whole month
    counts = report.counts()
    hot = [c for c in EMERGING_CLASSES if c.endswith("_hot")]
    assert all(counts[c] for c in hot), {c: counts[c] for c in hot}
    assert sum(v for c, v in counts.items() if c.endswith("_cold")) > 0

    loaded = load_requests(engine)
    merged = loaded[loaded["duplicate_of"].notna()]
    assert len(merged) >= 5 and (merged["close_reason"] == "duplicate").all()
    originals = loaded.set_index("id").loc[merged["duplicate_of"].astype(int)]
    assert (originals["reporters"] >= 2).all()
    assert (originals["category"].to_numpy() == merged["category"].to_numpy()).all()
    assert int(loaded["reporters"].sum()) == len(loaded) + len(merged)
    proposed = possible_duplicates(engine)
    assert len(proposed) >= 3 and (proposed["distance_m"] < 10).all()


def test_later_columns_are_filled(demo: dict[str, pd.DataFrame]) -> None:
    members, requests = demo["member"], demo["request"]
    assert 0.25 < members["specialties"].notna().mean() < 0.45
    roaming = members["category"].isin(["lost_contact", "floating"])
    assert members.loc[roaming, "last_contact_on"].notna().all()
    assert members.loc[~roaming, "last_contact_on"].isna().all()
    hotline = requests["source"] == "hotline"
    assert requests.loc[hotline, "external_id"].notna().all()
    assert requests["external_id"].dropna().is_unique
    done = requests["status"].isin(["resolved", "evaluated"])
    assert requests.loc[done, "decision_level"].notna().all()
    assert requests.loc[~done, "decision_level"].isna().all()
    zones = demo["member_zone"]
    assert not zones.duplicated(["member_id", "building_id"]).any()
    assert 300 < zones["member_id"].nunique() < 700


def test_member_points_follow_the_rules(demo: dict[str, pd.DataFrame]) -> None:
    from gridmap import settings

    points = demo["member_point"]
    assert set(points["kind"]) == {"request", "study", "activity", "dues"}
    for kind, value in settings.MEMBER_POINTS.items():
        assert (points.loc[points["kind"] == kind, "points"] == value).all(), kind
    yearly = points.groupby(["member_id", "kind"])["points"].sum().reset_index()
    caps = yearly["kind"].map(settings.MEMBER_POINTS_YEAR_CAP)
    assert (yearly["points"] <= caps).all()
    by_request = points.dropna(subset=["request_id"])
    assert by_request["request_id"].is_unique
    handled = demo["request"].set_index("id").loc[by_request["request_id"].astype(int)]
    assert (handled["assignee_kind"] == "member").all()
    assert (
        handled["assignee_id"].astype(int).to_numpy() == by_request["member_id"].to_numpy()
    ).all()


# --- organisations (两新组织) and blind spots ---------------------------------------------------


def test_organisations_in_the_quarter(demo: dict[str, pd.DataFrame]) -> None:
    orgs, buildings = demo["organisation"], demo["building"].set_index("id")
    assert orgs["code"].is_unique and len(orgs) >= 40
    kinds = buildings.loc[orgs["building_id"], "kind"]
    assert set(kinds) <= {"office", "commercial", "mixed"}
    in_quarter = orgs["code"].str.startswith("420303001-003-")
    assert in_quarter.mean() > 0.6 and (~in_quarter).sum() >= 5  # a quarter, plus a few
    assert (orgs["community_id"].to_numpy() == buildings.loc[orgs["building_id"], "community_id"]
            .to_numpy()).all()  # fmt: skip
    assert set(orgs["kind"]) == {"enterprise", "social"}
    assert ((orgs["members"] <= 2).mean()) > 0.7  # many small firms with 0–2 members
    assert (orgs["members"] <= orgs["employees"]).all()
    assert set(orgs["coverage"]) == {"own_branch", "joint_branch", "liaison", "none"}
    joint = orgs[orgs["coverage"] == "joint_branch"]
    po = demo["party_org"].set_index("id")
    assert (po.loc[joint["party_org_id"].astype(int), "kind"] == OrgKind.joint_branch.value).all()
    liaison = orgs[orgs["coverage"] == "liaison"]
    assert liaison["liaison_id"].notna().all()
    assert liaison["liaison_id"].isin(demo["person"]["id"]).all()


def test_blind_spot_defects(demo: dict[str, pd.DataFrame]) -> None:
    from gridmap.blindspots import analyse_blind_spots

    found = analyse_blind_spots(demo["organisation"], demo["building"])
    assert sorted(found.uncovered["code"]) == sorted(DEMO_DEFECTS["organisations_uncovered"])
    assert sorted(found.buildings["building_code"]) == DEMO_DEFECTS["blind_spot_buildings"]
    assert list(found.compounds["compound"]) == DEMO_DEFECTS["compound_without_activity_space"]
    assert len(found.proposals) == 1
    codes = found.proposals["codes"].iloc[0].split("、")
    assert codes == DEMO_DEFECTS["joint_branch_proposal"]
