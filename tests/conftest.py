"""Shared fixtures: databases on both backends, the demo street, and the throwaway services.

``db_url`` is parametrised over SQLite and a real PostGIS cluster that the test session starts
itself (see ``tests/_services.py``). PostGIS tests fail, never skip, when the cluster cannot
start.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from _services import PostgisCluster, create_database, drop_database, start_postgis_cluster
from gridmap import auth
from gridmap.db import init_database, make_engine
from gridmap.repository import save_tables
from worlds import ADMIN_PASSWORD, small_world

REPO_ROOT = Path(__file__).resolve().parent.parent
OUTPUT_DIR = REPO_ROOT / "test-output"
_db_names = itertools.count(1)


@pytest.fixture(scope="session")
def postgis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgisCluster]:
    """One PostGIS cluster for the whole session (started on first use)."""
    cluster = start_postgis_cluster(tmp_path_factory.mktemp("postgis"))
    yield cluster
    cluster.stop()


def _fresh_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'gridmap.db'}"
    cluster: PostgisCluster = request.getfixturevalue("postgis")
    name = f"gridmap_t{next(_db_names)}"
    request.addfinalizer(lambda: drop_database(cluster, name))
    return create_database(cluster, name)


BACKENDS = ["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)]


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database URL on each backend (no schema yet)."""
    return _fresh_url(request.param, request, tmp_path)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A fresh database with the gridmap schema, on each backend."""
    eng = make_engine(db_url, create=True)
    init_database(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def demo_tables() -> dict:
    """The demo street's rows, built once."""
    from gridmap.demo import build_demo

    return build_demo()


@pytest.fixture(scope="session")
def demo_db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An SQLite file holding the demo street, built once and only read by tests."""
    from gridmap.bootstrap import create_demo_database

    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    create_demo_database(url).dispose()
    return url


@pytest.fixture(scope="session")
def output_dir() -> Path:
    """Where tests leave screenshots and other artefacts for people to look at."""
    OUTPUT_DIR.mkdir(exist_ok=True)
    return OUTPUT_DIR


@pytest.fixture
def world(engine: Engine) -> Engine:
    """The small world (tests/worlds.py) with one street administrator ``admin`` (password
    :data:`worlds.ADMIN_PASSWORD`), on each backend. Modules with a world of their own
    override it."""
    save_tables(engine, small_world())
    auth.create_user(engine, "admin", ADMIN_PASSWORD, "street_admin", principal=auth.SYSTEM)
    return engine


@pytest.fixture
def demo(demo_db_url: str, tmp_path: Path) -> Engine:
    """A writable copy of the demo street, with its demo logins."""
    target = tmp_path / "demo.db"
    shutil.copy(make_url(demo_db_url).database, target)
    return make_engine(f"sqlite:///{target}")
