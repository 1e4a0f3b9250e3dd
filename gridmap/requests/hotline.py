"""The 12345 hotline import: reading an export (CSV in UTF-8, UTF-8 with BOM or GBK; or
XLSX; with every check of an import, :func:`gridmap.io.sources.read_spreadsheet`), mapping its
columns to request fields, preparing the rows (placed and validated, work orders already stored
skipped) for a preview, and writing them in one transaction.

Times with ``Z`` or an offset (``2026-01-02T01:10:00Z``) are converted to the naive local time
the database stores (:func:`gridmap.validation.local_naive`); naive times are kept as read.
The preview needs the permission the import needs (``edit_requests``) and rejects, as the
import does, rows that lie outside the acting user's community or grid.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, select

from gridmap import settings
from gridmap.auth import current_principal, end_demo, grid_ids, mask_names
from gridmap.db import connect, transaction
from gridmap.errors import InputError
from gridmap.io.layers import ImportRejected, Issue, file_error
from gridmap.io.sources import read_spreadsheet, upload_name
from gridmap.models import RequestSource
from gridmap.repository import active_grids, table
from gridmap.requests.loading import building_table
from gridmap.requests.placing import place_requests
from gridmap.requests.workflow import check_person, insert_requests
from gridmap.validation import local_naive

log = logging.getLogger(__name__)


#: Request fields a hotline file can fill (see :data:`settings.HOTLINE_COLUMNS`).
HOTLINE_FIELDS: tuple[str, ...] = tuple(settings.HOTLINE_COLUMNS)
#: Fields every hotline row must have.
HOTLINE_REQUIRED: tuple[str, ...] = ("external_id", "received_at", "category")


#: Key of :attr:`pandas.DataFrame.attrs` under which :func:`read_hotline` keeps the
#: spreadsheet row number of each row (header = row 1).
ROW_NUMBERS = "rows"


def _utf16(source: str | Path | bytes) -> bool:
    """Whether a file starts with a UTF-16 byte-order mark."""
    if isinstance(source, bytes):
        head = source[:2]
    else:
        with Path(source).open("rb") as fh:
            head = fh.read(2)
    return head in (b"\xff\xfe", b"\xfe\xff")


def read_hotline(source: str | Path | bytes, filename: str | None = None) -> pd.DataFrame:
    """Read a 12345 export (CSV in UTF-8, UTF-8 with BOM or GBK/GB18030; or XLSX) as text.

    The file is read by :func:`gridmap.io.sources.read_spreadsheet`, with every check an
    import makes (size, encoding — Big5 or Shift-JIS refused, not stored as mojibake —, NUL
    characters, formula cells, external links, zip bombs); a refusal names the file, row and
    field.

    Parameters
    ----------
    source : path or bytes
    filename : str, optional
        Needed with bytes to tell CSV from XLSX (by its extension).

    Returns
    -------
    DataFrame
        Every cell as a stripped string (None when empty); headers stripped; indexed 0, 1, …
        ``attrs[ROW_NUMBERS]`` holds each row's spreadsheet row number (header = row 1), which
        :func:`prepare_hotline` reports rows by.

    Raises
    ------
    InputError
        Unreadable file, unknown encoding or format, or no rows
        (:class:`~gridmap.io.layers.ImportRejected`).
    """
    name = filename or ("hotline.csv" if isinstance(source, bytes) else Path(source).name)
    workbook = Path(name).suffix.lower() == ".xlsx"
    try:
        frame = read_spreadsheet(source, name)
    except ImportRejected as exc:
        if not workbook:
            raise
        issues = [
            Issue(f"无法读取 Excel 文件:{i.zh}", f"cannot read the Excel workbook: {i.en}")
            if i.row is None and i.field is None else i
            for i in exc.issues
        ]  # fmt: skip
        raise ImportRejected(exc.file, issues) from exc
    if not workbook and _utf16(source):
        tried = ", ".join(settings.HOTLINE_ENCODINGS)
        raise file_error(
            upload_name(name),
            f"文件编码是 UTF-16(已支持 {tried});请另存为 UTF-8 或 GBK 的 CSV",
            f"the file is encoded in UTF-16 (supported: {tried}); save it as a UTF-8 or GBK CSV",
        )
    if frame.empty:
        raise file_error(upload_name(name), "文件没有数据行", "the file has no rows")
    rows = [int(i) for i in frame.index]
    frame = frame.reset_index(drop=True)
    frame.attrs[ROW_NUMBERS] = rows
    return frame


def parse_times(values: pd.Series) -> pd.Series:
    """Time cells of a hotline file as naive local times (NaT where blank or not a time).

    A time with ``Z`` or an offset is converted to :data:`settings.LOCAL_TIMEZONE`
    (:func:`gridmap.validation.local_naive`); a naive one is kept as written.
    """

    def one(value: object) -> pd.Timestamp:
        if value is None or (isinstance(value, float) and value != value):
            return pd.NaT
        try:
            stamp = pd.to_datetime(value, errors="coerce", format="mixed")
        except (ValueError, TypeError, OverflowError):
            return pd.NaT
        if stamp is pd.NaT or pd.isna(stamp):
            return pd.NaT
        return pd.Timestamp(local_naive(stamp))

    return pd.Series([one(v) for v in values], index=values.index, dtype="datetime64[ns]")


def _aliases(fieldname: str) -> tuple[str, ...]:
    return settings.HOTLINE_COLUMNS[fieldname]


def guess_mapping(columns: Iterable[str]) -> dict[str, str]:
    """Field → column for the headers of a hotline file (:data:`settings.HOTLINE_COLUMNS`)."""
    present = {str(c).strip().lower(): str(c) for c in columns}
    mapping = {}
    for fieldname, aliases in settings.HOTLINE_COLUMNS.items():
        for alias in aliases:
            if alias.lower() in present:
                mapping[fieldname] = present[alias.lower()]
                break
    return mapping


@dataclass
class HotlineImport:
    """A prepared hotline import: what would be written, what is rejected and why.

    Attributes
    ----------
    ready : GeoDataFrame
        Rows to insert (request columns, plus ``row``: the line number in the file).
    rejected : DataFrame
        ``row, external_id, reason`` — rows that cannot be placed or read.
    duplicates : DataFrame
        ``row, external_id`` — work orders already in the database (skipped: re-importing a
        file adds nothing).
    written : int
        Rows written by :func:`import_hotline` (0 for a preview).
    """

    ready: gpd.GeoDataFrame
    rejected: pd.DataFrame
    duplicates: pd.DataFrame
    written: int = 0
    request_ids: list[int] = field(default_factory=list)

    def summary(self) -> str:
        """One line: 导入 N 条，跳过 M 条已存在，K 条无法导入."""
        return (
            f"导入 {self.written or len(self.ready)} 条，已存在跳过 {len(self.duplicates)} 条，"
            f"无法导入 {len(self.rejected)} 条 / {self.written or len(self.ready)} imported, "
            f"{len(self.duplicates)} already present, {len(self.rejected)} rejected"
        )


def prepare_hotline(
    raw: pd.DataFrame,
    grids: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    existing_ids: Iterable[str] = (),
    mapping: Mapping[str, str] | None = None,
    crs: str = "wgs84",
    allowed_grids: Iterable[int] | None = None,
) -> HotlineImport:
    """Turn the rows of a hotline file into requests, rejecting what cannot be used.

    Each row needs a work-order number, a time and a category, and a place: coordinates
    (``crs``: WGS 84 or GCJ-02) or an address matched to a building name. Reporters are masked.
    A work-order number already in ``existing_ids`` is a duplicate (skipped); one appearing
    twice in the file is rejected the second time.

    Parameters
    ----------
    raw : DataFrame
        From :func:`read_hotline`; rows are reported by the numbers in its
        ``attrs[ROW_NUMBERS]`` (without them: 2, 3, … in order).
    grids, buildings : GeoDataFrame
    existing_ids : iterable of str
        Work-order numbers already stored.
    mapping : mapping, optional
        Field → column (default :func:`guess_mapping` of the headers).
    crs : {"wgs84", "gcj02"}
    allowed_grids : iterable of int, optional
        The grids the acting user may write in (None: every grid); rows placed elsewhere are
        rejected, saying so.

    Raises
    ------
    InputError
        A mapped column that is not in the file, or a required field with no column.
    """
    mapping = dict(guess_mapping(raw.columns) if mapping is None else mapping)
    mapping = {k: v for k, v in mapping.items() if v}
    unknown = {k: v for k, v in mapping.items() if v not in raw.columns}
    if unknown:
        raise InputError(
            f"文件中没有列 {sorted(unknown.values())} / the file has no column(s) "
            f"{sorted(unknown.values())}; columns: {', '.join(map(str, raw.columns))}"
        )
    bad_fields = set(mapping) - set(HOTLINE_FIELDS)
    if bad_fields:
        raise InputError(f"未知字段 / unknown field(s) {sorted(bad_fields)}")
    missing = [f for f in HOTLINE_REQUIRED if f not in mapping]
    if missing:
        raise InputError(
            f"缺少必需的列 / required column(s) missing for {missing}: map them to a column "
            f"(recognised headers: {', '.join(a for f in missing for a in _aliases(f))})"
        )
    n = len(raw)
    data = pd.DataFrame({f: raw[c].to_numpy() for f, c in mapping.items()})
    for f in HOTLINE_FIELDS:
        if f not in data:
            data[f] = None
    rows = raw.attrs.get(ROW_NUMBERS)
    if rows is None or len(rows) != n:  # a frame not read by read_hotline: in order
        rows = range(2, n + 2)
    data["row"] = np.asarray(rows, dtype=int)  # as a spreadsheet numbers them (header is 1)
    reasons = pd.Series([None] * n, dtype=object)

    def fail(mask: np.ndarray | pd.Series, reason: str | pd.Series) -> None:
        mask = np.asarray(mask, dtype=bool) & reasons.isna().to_numpy()
        reasons[mask] = reason if isinstance(reason, str) else reason[mask]

    fail(data["external_id"].isna(), "缺少工单编号 / no work-order number")
    received = parse_times(data["received_at"])
    fail(data["received_at"].isna(), "缺少受理时间 / no time received")
    fail(received.isna(), "受理时间无法识别 / time received not understood")
    fail(data["category"].isna(), "缺少诉求类别 / no category")
    fail(data["category"].fillna("").str.len() > 40, "诉求类别过长 / category too long")
    repeated = data["external_id"].notna() & data["external_id"].duplicated(keep="first")
    fail(repeated, "工单编号在文件中重复 / work-order number repeated in the file")
    existing = set(existing_ids)
    duplicate = data["external_id"].isin(existing).to_numpy() & reasons.isna().to_numpy()

    placed = place_requests(data[["lon", "lat", "address"]], grids, buildings, crs=crs)
    needs_place = reasons.isna().to_numpy() & ~duplicate
    fail(needs_place & placed["reason"].notna().to_numpy(), placed["reason"])
    if allowed_grids is not None:
        outside = ~placed["grid_id"].isin(list(allowed_grids)).to_numpy(dtype=bool)
        fail(
            needs_place & outside,
            "位置不在您的管辖范围内(社区或网格) / the location lies outside your community or grid",
        )

    ok = reasons.isna().to_numpy() & ~duplicate
    rejected = pd.DataFrame(
        {
            "row": data.loc[reasons.notna(), "row"].to_numpy(),
            "external_id": data.loc[reasons.notna(), "external_id"].to_numpy(),
            "reason": reasons[reasons.notna()].to_numpy(),
        }
    )
    duplicates = pd.DataFrame(
        {"row": data.loc[duplicate, "row"].to_numpy(),
         "external_id": data.loc[duplicate, "external_id"].to_numpy()}
    )  # fmt: skip
    sel = np.flatnonzero(ok)
    ready = gpd.GeoDataFrame(
        {
            "row": data["row"].to_numpy()[sel],
            "external_id": data["external_id"].to_numpy()[sel],
            "source": RequestSource.hotline.value,
            "category": data["category"].to_numpy()[sel],
            "description": data["description"].fillna("").to_numpy()[sel],
            "reporter": mask_names(data["reporter"]).to_numpy()[sel],
            "address": data["address"].to_numpy()[sel],
            "received_at": received.to_numpy()[sel],
            "grid_id": placed["grid_id"].to_numpy()[sel],
            "building_id": placed["building_id"].to_numpy()[sel],
            "placed_by": placed["placed_by"].to_numpy()[sel],
        },
        geometry=gpd.GeoSeries(placed.geometry.to_numpy()[sel], crs=settings.STORAGE_SRID),
    ).rename_geometry("geom")
    ready["received_at"] = pd.to_datetime(ready["received_at"]).dt.floor("s")
    return HotlineImport(ready=ready, rejected=rejected, duplicates=duplicates)


def preview_hotline(
    engine: Engine | Connection,
    raw: pd.DataFrame,
    mapping: Mapping[str, str] | None = None,
    crs: str = "wgs84",
) -> HotlineImport:
    """:func:`prepare_hotline` against a database's grids, buildings and stored work orders.

    Raises
    ------
    PermissionDenied
        Unless the acting user may log requests (``edit_requests``): a preview tells what the
        import would.
    """
    principal = current_principal()
    principal.require("edit_requests")
    req = table("request")
    with connect(engine) as conn:
        wanted = (
            mapping.get("external_id") if mapping else guess_mapping(raw.columns).get("external_id")
        )
        ids = [] if wanted not in raw else [v for v in raw[wanted].dropna().unique()]
        existing = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            existing |= set(
                conn.execute(select(req.c.external_id).where(req.c.external_id.in_(chunk)))
                .scalars()
                .all()
            )
        return prepare_hotline(
            raw, active_grids(conn), building_table(conn), existing, mapping, crs,
            allowed_grids=grid_ids(conn, principal),
        )  # fmt: skip


def import_hotline(
    engine: Engine,
    source: str | Path | bytes,
    *,
    filename: str | None = None,
    mapping: Mapping[str, str] | None = None,
    crs: str = "wgs84",
    actor_id: int | None = None,
    strict: bool = False,
) -> HotlineImport:
    """Import a 12345 export: every placeable new row in one transaction, the rest listed.

    Rows are checked first (:func:`prepare_hotline`); then all ready rows and their first
    events are written in one transaction — all of them or, on any database error, none.
    Work orders already stored are skipped, so importing the same file again adds nothing.

    Parameters
    ----------
    strict : bool
        Write nothing at all when any row is rejected.

    Returns
    -------
    HotlineImport
        With ``written`` and the new ``request_ids``.
    """
    raw = read_hotline(source, filename)
    with transaction(engine) as conn:
        check_person(conn, actor_id)
        result = preview_hotline(conn, raw, mapping, crs)
        if strict and len(result.rejected):
            first = result.rejected.iloc[0]
            raise InputError(
                f"{len(result.rejected)} 行无法导入，未写入任何数据;第 {first['row']} 行:"
                f"{first['reason']} / {len(result.rejected)} rows rejected, nothing written; "
                f"row {first['row']}: {first['reason']}"
            )
        frame = result.ready.drop(columns=["row", "placed_by"])
        notes = pd.Series([f"12345 热线工单 {e} 导入" for e in frame["external_id"]], dtype=object)
        if len(frame):
            end_demo(conn)  # data from outside: the demo logins end here
        result.request_ids = insert_requests(conn, frame, actor_id, note=notes)
        result.written = len(result.request_ids)
    log.info("hotline import: %s", result.summary())
    return result
