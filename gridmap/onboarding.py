"""A street's own files previewed before anything is written: what the street would hold once
imported, and what the coverage check would then find.

:func:`preview_street` runs the real whole-street import (:func:`gridmap.io.import_street`) in a
transaction, reads the street back as every page reads it
(:func:`gridmap.repository.load_street_layers`), runs :func:`gridmap.coverage.check_coverage` on
it, and rolls everything back. The preview is therefore exactly what the import would create —
the same derived communities and estimated households, the same stored building → grid
assignment, the same problems (buildings outside every grid, gaps, overlaps) — and the database
is left as it was, audit log included. The 新建街道 page shows it; a script can call it too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine

from gridmap import settings
from gridmap.coverage import CoverageReport, check_coverage
from gridmap.db import connect
from gridmap.io import StreetImport, StreetRejected, import_street
from gridmap.repository import StreetLayers, load_street_layers, read_table


@dataclass
class StreetPreview:
    """What importing a street's files would do, seen before it is done.

    Attributes
    ----------
    result : StreetImport
        The layers found, their mappings and counts, and every problem of the import.
    layers : StreetLayers or None
        The street as the pages would load it after the import (None when the import has
        problems and would write nothing).
    report : CoverageReport or None
        The coverage check of that street (None with ``layers``).
    """

    result: StreetImport
    layers: StreetLayers | None = None
    report: CoverageReport | None = None

    @property
    def ok(self) -> bool:
        """True when the import has no problem (the coverage check may still find some)."""
        return self.result.ok

    def figures(self) -> dict[str, int]:
        """Headline figures of the previewed street: communities, grids, buildings, households
        (those estimated apart), stations, and the coverage problems by kind."""
        if self.layers is None or self.report is None:
            return {}
        buildings = self.layers.buildings
        estimated = (
            buildings["households_estimated"].fillna(False).astype(bool)
            if "households_estimated" in buildings
            else None
        )
        households = buildings["households"].fillna(0)
        out = {
            "communities": len(self.layers.communities),
            "grids": len(self.layers.grids),
            "buildings": len(buildings),
            "households": int(households.sum()),
            "households_estimated": int(households[estimated].sum())
            if estimated is not None
            else 0,
            "buildings_estimated": int(estimated.sum()) if estimated is not None else 0,
            "stations": len(self.layers.stations),
        }
        counts = self.report.problems["kind"].value_counts()
        out.update({f"problems_{kind}": int(n) for kind, n in counts.items()})
        return out


def preview_street(
    bind: Engine | Connection,
    sources: Any,
    *,
    layers: Mapping[str, str] | None = None,
    mappings: Mapping[str, Mapping[str, str]] | None = None,
    radius_m: float | None = None,
    **options: Any,
) -> StreetPreview:
    """Import a street's files, look at the result, and roll it all back.

    Parameters
    ----------
    bind : Engine or Connection
        The database (given a connection, the preview runs in a savepoint of its transaction,
        rolled back at the end).
    sources, layers, mappings, **options
        As :func:`gridmap.io.import_street`.
    radius_m : float, optional
        Service radius of the coverage check (default
        :data:`gridmap.settings.SERVICE_REACH_M`).

    Returns
    -------
    StreetPreview
        The import's result, and — when it has no problem — the street as it would be and its
        coverage check. Nothing is written either way.
    """
    radius = float(radius_m if radius_m is not None else settings.SERVICE_REACH_M)
    with connect(bind) as conn:
        trans = conn.begin_nested() if conn.in_transaction() else conn.begin()
        try:
            try:
                result = import_street(conn, sources, layers=layers, mappings=mappings, **options)
            except StreetRejected as exc:
                return StreetPreview(exc.result)
            street = load_street_layers(conn)
            organisations = read_table(conn, "organisation")
            report = check_coverage(
                street.communities,
                street.grids,
                street.buildings,
                street.stations,
                radius,
                organisations=organisations,
            )
            result.written = False
            result.dry_run = True
            return StreetPreview(result, street, report)
        finally:
            trans.rollback()
