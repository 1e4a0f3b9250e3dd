"""Tests of the test harness itself (tests/_services.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from _services import ServiceError, create_database, drop_database, postgis_cluster

pytestmark = pytest.mark.postgis


def test_postgis_cluster_answers_postgis_queries(tmp_path):
    with postgis_cluster(tmp_path) as pg:
        assert pg.url.startswith("postgresql+psycopg://postgres@127.0.0.1:")
        assert pg.url.endswith("/gridmap_test")
        engine = create_engine(pg.url)
        try:
            with engine.connect() as conn:
                version = conn.execute(text("SELECT postgis_full_version()")).scalar_one()
                assert "POSTGIS=" in version and "PROJ=" in version
                # A real spatial operation, in the projections the app uses.
                sql = "SELECT ST_X(ST_Transform(ST_SetSRID(ST_Point(116.39, 39.9), 4326), 3857))"
                x = conn.execute(text(sql)).scalar_one()
                assert x == pytest.approx(12956475.53, abs=0.1)
                assert conn.execute(text("SELECT upper('中文é')")).scalar_one() == "中文É"

            other = create_database(pg, "gridmap_extra")
            other_engine = create_engine(other)
            with other_engine.connect() as conn:
                assert conn.execute(text("SELECT postgis_lib_version()")).scalar_one()
            other_engine.dispose()
            drop_database(pg, "gridmap_extra")
            with pytest.raises(ServiceError, match="already exists"):
                create_database(pg, "gridmap_test")
        finally:
            engine.dispose()
        base = pg.base_dir
    assert not base.exists(), "stop() must remove the cluster directory"
