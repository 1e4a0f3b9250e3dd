"""The Open311 GeoReport v2 export: the service list (one service per request category)
and the requests as service requests (``services.json`` / ``requests.json``), JSON-ready, with no
personal data.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine, func, select

from gridmap import settings
from gridmap.db import connect
from gridmap.repository import read_table, table
from gridmap.requests.loading import load_requests
from gridmap.requests.states import ASSIGNEE_LABELS, OPEN_STATUSES, STATUS_LABELS
from gridmap.requests.timing import sla_hours

#: Fields of a GeoReport v2 service request, in the spec's order.
OPEN311_REQUEST_FIELDS: tuple[str, ...] = (
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
)
#: Fields of a GeoReport v2 service (GET services).
OPEN311_SERVICE_FIELDS: tuple[str, ...] = (
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
)


def service_code(category: str) -> str:
    """Open311 service_code of a category (:data:`settings.REQUEST_SERVICE_CODES`)."""
    return settings.REQUEST_SERVICE_CODES.get(category, category)


def open311_services(categories: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The GeoReport v2 service list: one service per request category.

    Parameters
    ----------
    categories : iterable of str, optional
        Default: the categories of :data:`settings.REQUEST_SLA_HOURS`; others are appended.
    """
    names = list(settings.REQUEST_SLA_HOURS)
    for c in () if categories is None else categories:
        if c not in names:
            names.append(c)
    return [
        {
            "service_code": service_code(c),
            "service_name": c,
            "description": f"{c}(办理时限 {sla_hours(c)} 小时 / resolved within {sla_hours(c)} h)",
            "metadata": False,
            "type": "realtime",
            "keywords": c,
            "group": "民生诉求",
        }
        for c in names
    ]


def _iso(values: pd.Series) -> list[str | None]:
    """ISO 8601 with the local offset (2026-10-31T08:00:00+08:00); None for missing."""
    tz = zoneinfo.ZoneInfo(settings.LOCAL_TIMEZONE)
    stamps = pd.to_datetime(values)
    local = stamps.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")
    return [None if pd.isna(t) else t.isoformat(timespec="seconds") for t in local]


def open311_requests(
    requests: pd.DataFrame,
    updated: pd.Series | None = None,
    buildings: pd.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """Requests as GeoReport v2 service requests (the JSON of GET requests).

    ``status`` is ``open`` for received/assigned/escalated and ``closed`` otherwise;
    ``status_notes`` the status in Chinese (and the rating once evaluated); datetimes ISO 8601
    with the local offset; ``lat``/``long`` WGS 84. No personal data is exported.

    Parameters
    ----------
    requests : GeoDataFrame
        From :func:`load_requests`.
    updated : Series, optional
        Time of each request's last event, indexed by request id (else the received time).
    buildings : DataFrame, optional
        ``id, code, name``: ``address_id`` is the building code and ``address`` falls back to
        the building name.
    """
    frame = requests.reset_index(drop=True)
    geoms = frame.geometry.to_numpy()
    has = ~shapely.is_missing(geoms)
    lon = np.full(len(frame), np.nan)
    lat = np.full(len(frame), np.nan)
    lon[has], lat[has] = shapely.get_x(geoms[has]), shapely.get_y(geoms[has])
    upd = (
        frame["id"].map(updated).fillna(frame["received_at"])
        if updated is not None
        else frame["received_at"]
    )
    codes = names = pd.Series([None] * len(frame), dtype=object)
    if buildings is not None:
        b = buildings.set_index("id")
        codes = frame["building_id"].map(b["code"])
        names = (
            frame["building_name"]
            if "building_name" in frame
            else frame["building_id"].map(b["name"])
        )
    address = frame["address"].where(frame["address"].notna(), names)
    status = frame["status"].astype(str)
    notes = status.map(lambda s: STATUS_LABELS.get(s, (s, s))[0])
    rated = frame["rating"].notna()
    notes[rated] = notes[rated] + frame.loc[rated, "rating"].map(lambda r: f",居民评价{int(r)}星")
    agency = frame["assignee_kind"].map(lambda k: ASSIGNEE_LABELS.get(k, (None,))[0] if k else None)
    columns = {
        "service_request_id": frame["code"],
        "status": np.where(status.isin(OPEN_STATUSES), "open", "closed"),
        "status_notes": notes,
        "service_name": frame["category"],
        "service_code": frame["category"].map(service_code),
        "description": frame["description"],
        "agency_responsible": agency,
        "service_notice": frame["category"].map(lambda c: f"办理时限 {sla_hours(c)} 小时"),
        "requested_datetime": _iso(frame["received_at"]),
        "updated_datetime": _iso(upd),
        "expected_datetime": _iso(frame["due_at"]),
        "address": address,
        "address_id": codes,
        "zipcode": None,
        "lat": np.round(lat, 7),
        "long": np.round(lon, 7),
        "media_url": None,
    }
    out = pd.DataFrame({k: columns[k] for k in OPEN311_REQUEST_FIELDS})
    out = out.astype(object).where(out.notna(), None)
    return out.to_dict("records")


def export_open311(
    engine: Engine | Connection, statuses: Sequence[str] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Services and requests of a database as GeoReport v2 JSON-ready lists.

    Returns
    -------
    dict
        ``{"services": [...], "requests": [...]}`` — each list is what the GeoReport v2
        ``services.json`` / ``requests.json`` endpoints return.
    """
    ev = table("request_event")
    with connect(engine) as conn:
        requests = load_requests(conn)
        result = conn.execute(select(ev.c.request_id, func.max(ev.c.at)).group_by(ev.c.request_id))
        updated = pd.Series(dict(result.fetchall()), dtype="datetime64[ns]")
        buildings = read_table(conn, "building")[["id", "code", "name"]]
    if statuses:
        requests = requests[requests["status"].isin(list(statuses))]
    return {
        "services": open311_services(requests["category"].unique()),
        "requests": open311_requests(requests, updated, buildings),
    }
