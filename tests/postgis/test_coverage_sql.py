"""Cross-check: gap and overlap areas of the demo agree with the same computation in PostGIS
SQL (ST_Difference / ST_Intersection, ST_Area in UTM 49N) within 0.5%."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from _services import create_database, drop_database
from gridmap.bootstrap import create_demo_database
from gridmap.coverage import check_coverage
from gridmap.repository import load_street_layers

GAPS_SQL = """
WITH covered AS (
    SELECT p.community_id, ST_Union(g.geom) AS geom
    FROM grid g JOIN grid_plan p ON p.id = g.plan_id
    WHERE p.status = 'active' GROUP BY p.community_id
)
SELECT c.code,
       ST_Area(ST_Transform(
           CASE WHEN covered.geom IS NULL THEN c.geom
                ELSE ST_Difference(c.geom, covered.geom) END, 32649)) AS gap_m2
FROM community c LEFT JOIN covered ON covered.community_id = c.id
"""

OVERLAPS_SQL = """
WITH active AS (
    SELECT g.id, g.code, g.geom FROM grid g JOIN grid_plan p ON p.id = g.plan_id
    WHERE p.status = 'active'
)
SELECT a.code, b.code, ST_Area(ST_Transform(ST_Intersection(a.geom, b.geom), 32649)) AS m2
FROM active a JOIN active b ON a.id < b.id AND ST_Intersects(a.geom, b.geom)
"""


@pytest.mark.postgis
def test_gap_and_overlap_areas_agree_with_postgis(postgis) -> None:
    url = create_database(postgis, "gridmap_coverage_sql")
    try:
        engine = create_demo_database(url)
        layers = load_street_layers(engine)
        report = check_coverage(layers.communities, layers.grids, layers.buildings, layers.stations)
        with engine.connect() as conn:
            sql_gaps = dict(conn.execute(text(GAPS_SQL)).all())
            sql_pairs = {(a, b): m2 for a, b, m2 in conn.execute(text(OVERLAPS_SQL)) if m2 > 1.0}
        engine.dispose()
    finally:
        drop_database(postgis, "gridmap_coverage_sql")

    ours = report.community_summary.set_index("code")["gap_area_m2"].to_dict()
    assert set(ours) == set(sql_gaps)
    for code, sql_m2 in sql_gaps.items():
        if sql_m2 < 1.0:
            assert ours[code] < 1.0, code
        else:
            assert ours[code] == pytest.approx(sql_m2, rel=0.005), code
    assert sum(m2 > 1 for m2 in sql_gaps.values()) == 2  # the demo's two deliberate gaps

    overlaps = report.problems[report.problems["kind"] == "overlap"]
    our_pairs = {
        tuple(sorted((a, b))): m2
        for a, b, m2 in zip(
            overlaps["grid_code"], overlaps["other_grid_code"], overlaps["area_m2"], strict=True
        )
    }
    assert set(our_pairs) == {tuple(sorted(k)) for k in sql_pairs}
    for pair, sql_m2 in sql_pairs.items():
        assert our_pairs[tuple(sorted(pair))] == pytest.approx(sql_m2, rel=0.005)
