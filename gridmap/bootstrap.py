"""Create, fill and open a database: ``gridmap init``/``demo``/``street create`` and the app's
first start.

The embedded default (an SQLite file under :data:`gridmap.settings.DATA_DIR`) is created with
the demo street the first time it is opened, so a fresh machine shows a map with no set-up. A
database named explicitly (``--db``/``GRIDMAP_DATABASE_URL``) is never created behind the
user's back: a missing file there is an error.

A street's own data starts with :func:`create_street` (``gridmap street create``): the street
row — its code, name and, optionally, its boundary from a file — in one audited transaction,
after which its communities, grids and buildings can be imported
(:func:`gridmap.io.import_street`).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import shapely
from sqlalchemy import Connection, Engine, func, select

from gridmap import settings
from gridmap.db import (
    check_schema,
    init_database,
    is_empty,
    make_engine,
    resolve_url,
    transaction,
)
from gridmap.errors import ConflictError, InputError, PermissionDenied
from gridmap.models import street_tables
from gridmap.repository import save_tables, table

log = logging.getLogger(__name__)

T = TypeVar("T")


def replace_street(
    bind: Engine | Connection,
    write: Callable[[Connection], T],
    action: str,
    details: dict | None = None,
) -> tuple[T, list[str]]:
    """Delete the street's data and write new data with ``write``, in one transaction.

    Every table but the accounts and the audit log (:data:`~gridmap.models.ACCOUNT_TABLES`)
    is emptied; users keep their accounts and get their scope back by code in the new data
    (or are disabled when it is gone); one audit row ``action`` records what happened, with
    ``details``, the rows written (when ``write`` returns counts) and the disabled users.

    Returns
    -------
    tuple
        What ``write`` returned, and the names of the users disabled for a lost scope.
    """
    from gridmap import auth

    auth.current_principal().require("backup")  # street administrators (and the operator)
    with transaction(bind) as conn:
        detached = auth.detach_users(conn)
        auth.end_demo(conn)  # a demo written here records its fingerprint again
        for tbl in reversed(street_tables()):  # children first; grid ↔ party_org deferred
            conn.execute(tbl.delete())
        written = write(conn)
        lost = auth.reattach_users(conn, detached)
        record = {**(details or {}), "disabled_users": lost}
        if isinstance(written, dict):
            record["rows"] = written
        auth.audit(conn, None, action, "database", None, None, record)
    return written, lost


def clear_all(bind: Engine | Connection) -> list[str]:
    """Delete the street's data in one transaction; the schema, accounts and audit log stay.

    Returns the names of the users disabled because their community or grid is gone.
    """
    return replace_street(bind, lambda conn: None, "clear")[1]


def load_demo(engine: Engine, seed: int = settings.DEMO_SEED, force: bool = False) -> dict:
    """Write the demo street into an initialised database, in one transaction.

    Parameters
    ----------
    engine : Engine
    seed : int
        Same seed, same content (byte for byte).
    force : bool
        Replace whatever the database holds. Without it a database that already holds a street
        is left untouched and :class:`~gridmap.errors.ConflictError` is raised.

    Returns
    -------
    dict
        Rows written per table.
    """
    from gridmap.auth import add_demo_users  # the demo logins (README; demo database only)
    from gridmap.demo import build_demo

    empty = is_empty(engine)
    if not empty and not force:
        where = engine.url.render_as_string(hide_password=True)
        raise ConflictError(
            f"数据库中已有数据 / the database {where} already holds a street; nothing was "
            "changed. Use --force to replace it with the demo street (accounts and the audit "
            "log are kept)."
        )
    tables = build_demo(seed)

    def write(conn: Connection) -> dict:
        counts = save_tables(conn, tables)
        counts["user"] = len(add_demo_users(conn))
        return counts

    if empty:
        with transaction(engine) as conn:
            return write(conn)
    return replace_street(engine, write, "demo_replace")[0]


def create_demo_database(
    url: str | None = None, seed: int = settings.DEMO_SEED, force: bool = False
) -> Engine:
    """Create (or upgrade) the schema at ``url`` and fill it with the demo street."""
    engine = make_engine(url, create=True)
    init_database(engine)
    load_demo(engine, seed=seed, force=force)
    return engine


def open_or_create_default(url: str | None = None) -> Engine:
    """Open the database the app should show, creating the demo street on a fresh machine.

    With no configuration (the default SQLite file), a missing or empty database is created
    and filled with the demo street. A database the user named must already exist and carry
    the gridmap schema (:class:`~gridmap.errors.DatabaseError` otherwise); an empty one opens
    as it is.
    """
    resolved = resolve_url(url)
    if url is None and "GRIDMAP_DATABASE_URL" not in os.environ:
        engine = make_engine(resolved, create=True)
        init_database(engine)
        if is_empty(engine):
            log.info("creating the demo street in %s", resolved)
            load_demo(engine)
        return engine
    engine = make_engine(resolved)
    check_schema(engine)
    return engine


# --- a street of one's own --------------------------------------------------------------------

#: A street's code: letters, digits, ``-`` and ``_`` (the 9-digit 街道 code of the national
#: division codes, e.g. ``420303001``, is the usual one), at most 32 characters.
STREET_CODE_PATTERN = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{0,31}")
#: A street's name: at most this many characters (the column's width).
STREET_NAME_MAX = 100
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _checked_code_and_name(code: Any, name: Any) -> tuple[str, str]:
    code = "" if code is None else str(code).strip()
    name = "" if name is None else str(name).strip()
    if not code:
        raise InputError("缺少街道编码 / the street needs a code (--code), e.g. 420303001")
    if not STREET_CODE_PATTERN.fullmatch(code):
        raise InputError(
            f"街道编码 {code!r} 无效:只能由字母、数字、- 和 _ 组成,最多 32 个字符(如 420303001)"
            f" / invalid street code {code!r}: letters, digits, - and _ only, at most 32 "
            "characters (e.g. 420303001)"
        )
    if not name:
        raise InputError("缺少街道名称 / the street needs a name (--name), e.g. 车城路街道")
    if len(name) > STREET_NAME_MAX or _CONTROL.search(name):
        raise InputError(
            f"街道名称无效:最多 {STREET_NAME_MAX} 个字符,且不能含控制字符 / invalid street "
            f"name: at most {STREET_NAME_MAX} characters, no control characters"
        )
    return code, name


def street_boundary(
    boundary: shapely.Geometry | str | Path | Any,
    *,
    crs: str | int | None = None,
    layer: str | None = None,
    fix_invalid: bool = False,
) -> shapely.MultiPolygon:
    """A street's boundary as one WGS 84 multipolygon, placed as imports place geometry.

    Parameters
    ----------
    boundary : shapely geometry, path or SourceTable
        A polygon (in WGS 84 unless ``crs`` says otherwise), or a file (any import format;
        every polygon in it is merged) or a table already read. The CRS the file declares is
        used (a ``.prj`` needs no ``crs``), else the one its numbers carry; GCJ-02/BD-09 when
        ``crs`` says so.
    crs : str or int, optional
        As ``gridmap import --crs``.
    layer : str, optional
        The layer of a file of several; default the one named like a street (``街道边界``),
        or the only one.
    fix_invalid : bool
        Repair an invalid polygon (make_valid) rather than refuse it.

    Raises
    ------
    ImportRejected
        When the file cannot be read, holds no polygon, or its polygons are invalid or cannot
        be placed — naming the file, feature and field.
    """
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import pyproj

    from gridmap.io.layers import LayerSpec
    from gridmap.io.parsing import Collector
    from gridmap.io.placing import check_geometry, place_geometry
    from gridmap.io.sources import SourceTable, read_source, source_layers

    if isinstance(boundary, shapely.Geometry):
        source = SourceTable(
            "boundary", "geojson", pd.DataFrame(index=[0]), np.array([boundary], dtype=object),
            None if crs is not None else pyproj.CRS.from_epsg(4326), 1,
        )  # fmt: skip
    elif isinstance(boundary, SourceTable):
        source = boundary
    else:
        path = Path(boundary)
        if layer is None and not path.is_dir() and path.suffix.lower() in (".gpkg", ".zip"):
            from gridmap.io.streets import layer_kind

            names = source_layers(path)
            streets = [n for n in names if layer_kind(n) == "street"]
            layer = streets[0] if len(names) > 1 and len(streets) == 1 else None
        source = read_source(path, layer=layer)
    spec = LayerSpec("street", "street", "街道边界", "street boundary", "polygon", (), "code")
    out = Collector(source)
    if source.geometry is None:
        from gridmap.io.layers import file_error

        raise file_error(
            source.name, "街道边界需要面状几何(不是表格)", "a street boundary needs polygons"
        )
    geoms = np.asarray(source.geometry, dtype=object)
    index = pd.RangeIndex(len(geoms))
    geoms, _, _ = place_geometry(spec, geoms, index, source, crs, False, None, out)
    out.raise_if_any()
    geoms, _ = check_geometry(spec, geoms, index, fix_invalid, None, out)
    out.raise_if_any()
    merged = gpd.GeoSeries(geoms, crs=4326).union_all()
    if merged.geom_type == "Polygon":
        merged = shapely.MultiPolygon([merged])
    return merged


def create_street(
    bind: Engine | Connection,
    code: str,
    name: str,
    boundary: shapely.Geometry | str | Path | Any | None = None,
    *,
    crs: str | int | None = None,
    boundary_layer: str | None = None,
    fix_invalid: bool = False,
    replace_demo: bool = False,
) -> int:
    """Create a street — the first step of a street's own data — in one audited transaction.

    Parameters
    ----------
    bind : Engine or Connection
        An initialised database (a connection's open transaction is joined).
    code : str
        The street's code (:data:`STREET_CODE_PATTERN`), e.g. ``420303001``; unique.
    name : str
        The street's name, e.g. ``车城路街道``.
    boundary : optional
        Its boundary: a polygon or a file (:func:`street_boundary`); without one the street
        takes the extent of its communities (what imports check features against).
    crs, boundary_layer, fix_invalid
        How to read the boundary (:func:`street_boundary`).
    replace_demo : bool
        On a database that holds the demo street, delete the demo (accounts and the audit log
        stay) and create this street in its place; without it such a database is refused.

    Returns
    -------
    int
        The new street's id.

    Raises
    ------
    InputError
        An invalid code or name, or a boundary that cannot be read (ImportRejected).
    ConflictError
        A street with this code exists, or the database holds the demo street.
    PermissionDenied
        Unless the acting user is a street administrator of the whole database (or the local
        operator).
    """
    from gridmap import auth

    principal = auth.current_principal()
    principal.require("import")
    if principal.street_id is not None:
        raise PermissionDenied(
            "无权限:只负责一个街道的管理员不能新建街道 / permission denied: an administrator "
            "of one street may not create another"
        )
    code, name = _checked_code_and_name(code, name)
    geom = None
    if boundary is not None:
        geom = street_boundary(boundary, crs=crs, layer=boundary_layer, fix_invalid=fix_invalid)
    tbl = table("street")

    def write(conn: Connection) -> int:
        if conn.execute(select(tbl.c.id).where(tbl.c.code == code)).first() is not None:
            raise ConflictError(
                f"街道编码 {code} 已存在,未作任何修改 / a street with the code {code} already "
                "exists; nothing was changed"
            )
        new_id = (conn.execute(select(func.max(tbl.c.id))).scalar() or 0) + 1
        save_tables(conn, {"street": _street_frame(new_id, code, name, geom)})
        auth.audit(conn, principal, "street_create", "street", new_id, None,
                   {"code": code, "name": name, "boundary": geom is not None})  # fmt: skip
        return new_id

    with transaction(bind) as conn:
        if auth.is_demo_database(conn):
            if not replace_demo:
                raise ConflictError(
                    "数据库中是示范街道,未作任何修改:新街道请用 --db 指定一个新的数据库文件,或加 "
                    "--replace-demo 删除示范街道后新建 / the database holds the demo street; "
                    "nothing was changed: point --db at a new database file for your street, "
                    "or add --replace-demo to delete the demo and create your street instead"
                )
            return replace_street(conn, write, "street_create_replace_demo", {"code": code})[0]
        return write(conn)


def _street_frame(new_id: int, code: str, name: str, geom: Any) -> Any:
    import geopandas as gpd

    return gpd.GeoDataFrame(
        [{"id": new_id, "code": code, "name": name, "geom": geom}], geometry="geom", crs=4326
    )


def open_for_new_street(url: str | None = None) -> Engine:
    """The database a new street goes into: created (with its schema) when the SQLite file
    is missing or the database has no gridmap schema yet; an existing gridmap database is
    opened as it is (an older schema is refused: ``gridmap init`` upgrades it).

    Raises
    ------
    DatabaseError
        As :func:`gridmap.db.make_engine` and :func:`gridmap.db.check_schema`.
    """
    from gridmap.db import current_revision

    engine = make_engine(url, create=True)
    if current_revision(engine) is None:
        init_database(engine)
    else:
        check_schema(engine)
    return engine
