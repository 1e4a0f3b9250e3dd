"""Emerging hot spots: how request hotspots change month by month (space–time trends), classed
as ArcGIS's Emerging Hot Spot Analysis does.

Method. Requests are counted per unit (grid or H3 hexagon: :func:`gridmap.hotspots.request_units`)
and per month of receipt over the last :data:`~gridmap.settings.EMERGING_MONTHS` whole months.
Each month gets its own Getis-Ord Gi* (:func:`gridmap.hotspots.getis_ord`: esda's ``G_Local``,
``star=True``, the street's inference and FDR settings); a unit is a significant hot (cold) spot
in a month when its Gi* class is hot (cold) at any confidence level shown on the map (90 % and
above). The trend of each unit's series of monthly Gi* z-scores (the permutation z when the
months are judged by permutation, else the analytic z) is the Mann–Kendall test —
Kendall's τ between the months' order and the z-scores with its two-sided p-value, from
:func:`scipy.stats.kendalltau` (Mann 1945; Kendall 1975; the Mann–Kendall statistic is Kendall's
τ against time) — significant below :data:`~gridmap.settings.EMERGING_TREND_ALPHA`.

Classes (:data:`EMERGING_CLASSES`; ArcGIS Pro, "How Emerging Hot Spot Analysis works"), with
"share" the part of the months a unit was a significant hot spot, checked in this order:

- *new*: hot in the final month and never before;
- *consecutive*: one uninterrupted run of at least two hot months ending in the final month,
  never hot before the run, share below :data:`~gridmap.settings.EMERGING_SHARE` (90 %);
- *intensifying* / *persistent* / *diminishing*: hot in at least 90 % of the months including
  the final one, with a significant upward / no significant / a significant downward trend in
  the intensity of clustering (z);
- *oscillating*: hot in the final month, a significant cold spot in an earlier month, share
  below 90 %;
- *sporadic*: hot in the final month, on and off before, never cold, share below 90 %;
- *historical*: not hot in the final month, hot in at least 90 % of the months.

Cold spots alike, with the signs turned (an intensifying cold spot's z falls). Everything else
shows no pattern. Unlike ArcGIS, the neighbourhood is spatial only (each month's Gi* sees that
month's neighbours, not the months before): the issue's "Gi* per grid or hexagon per month".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import stats

from gridmap import settings
from gridmap.errors import InputError
from gridmap.hotspots import getis_ord, request_units
from gridmap.i18n import pair, text
from gridmap.labels import Language
from gridmap.validation import require_frame

__all__ = [
    "EMERGING_CLASSES",
    "EmergingReport",
    "classify_emerging",
    "emerging_hotspots",
    "emerging_months",
    "mann_kendall",
    "summarise_emerging",
]

#: Emerging hot spot classes: key → (中文, English, colour). Hot reds, cold blues, by strength.
EMERGING_CLASSES: dict[str, tuple[str, str, str]] = {
    "new_hot": (*pair("新增热点"), "#67000d"),
    "consecutive_hot": (*pair("连续热点"), "#a50f15"),
    "intensifying_hot": (*pair("加剧热点"), "#cb181d"),
    "persistent_hot": (*pair("持续热点"), "#ef3b2c"),
    "diminishing_hot": (*pair("减弱热点"), "#fb6a4a"),
    "sporadic_hot": (*pair("零星热点"), "#fc9272"),
    "oscillating_hot": (*pair("振荡热点"), "#fcbba1"),
    "historical_hot": (*pair("历史热点"), "#fee0d2"),
    "no_pattern": (*pair("无明显模式"), "#f0f0f0"),
    "historical_cold": (*pair("历史冷点"), "#deebf7"),
    "oscillating_cold": (*pair("振荡冷点"), "#c6dbef"),
    "sporadic_cold": (*pair("零星冷点"), "#9ecae1"),
    "diminishing_cold": (*pair("减弱冷点"), "#6baed6"),
    "persistent_cold": (*pair("持续冷点"), "#4292c6"),
    "intensifying_cold": (*pair("加剧冷点"), "#2171b5"),
    "consecutive_cold": (*pair("连续冷点"), "#08519c"),
    "new_cold": (*pair("新增冷点"), "#08306b"),
}


def emerging_months(now: dt.datetime, months: int | None = None) -> pd.PeriodIndex:
    """The months analysed at ``now``: the last ``months`` (default
    :data:`~gridmap.settings.EMERGING_MONTHS`) whole months before it, oldest first."""
    n = settings.EMERGING_MONTHS if months is None else int(months)
    if n < 3:
        raise InputError(f"至少需要 3 个月 / at least 3 months are needed for a trend, not {n}")
    last = pd.Period(pd.Timestamp(now), freq="M") - 1
    return pd.period_range(last - (n - 1), last, freq="M")


def mann_kendall(series: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Mann–Kendall trend test of each row of ``series`` (units × time steps): Kendall's τ
    between the time order and the values, and its two-sided p-value
    (:func:`scipy.stats.kendalltau`). A row without variance has τ 0 and p 1."""
    series = np.asarray(series, dtype=float)
    steps = np.arange(series.shape[1])
    tau = np.zeros(series.shape[0])
    p = np.ones(series.shape[0])
    varies = np.nanstd(series, axis=1) > 0
    for row in np.flatnonzero(varies):  # scipy tests one series at a time
        found = stats.kendalltau(steps, series[row], nan_policy="omit")
        if np.isfinite(found.statistic):
            tau[row], p[row] = found.statistic, found.pvalue
    return tau, p


def _trailing(flags: np.ndarray) -> np.ndarray:
    """Length of the run of True ending at the last column, per row."""
    return np.cumprod(flags[:, ::-1], axis=1).sum(axis=1)


def classify_emerging(
    hot: np.ndarray,
    cold: np.ndarray,
    trend: np.ndarray,
    trend_p: np.ndarray,
    alpha: float | None = None,
    share: float | None = None,
) -> np.ndarray:
    """The emerging class (a key of :data:`EMERGING_CLASSES`) of each unit (vectorised).

    Parameters
    ----------
    hot, cold : array of bool, units × months
        Significant hot / cold spot in each month, oldest first.
    trend, trend_p : array of float
        Mann–Kendall τ of each unit's z-scores and its p-value (:func:`mann_kendall`).
    alpha, share : float, optional
        Default :data:`~gridmap.settings.EMERGING_TREND_ALPHA` and
        :data:`~gridmap.settings.EMERGING_SHARE`.
    """
    alpha = settings.EMERGING_TREND_ALPHA if alpha is None else alpha
    share = settings.EMERGING_SHARE if share is None else share
    hot, cold = np.asarray(hot, dtype=bool), np.asarray(cold, dtype=bool)
    months = hot.shape[1]
    out = np.full(hot.shape[0], "no_pattern", dtype=object)
    up = (np.asarray(trend_p) < alpha) & (np.asarray(trend) > 0)
    down = (np.asarray(trend_p) < alpha) & (np.asarray(trend) < 0)
    for kind, spots, other, stronger, weaker in (
        ("hot", hot, cold, up, down),
        ("cold", cold, hot, down, up),
    ):
        n = spots.sum(axis=1)
        most = n >= share * months - 1e-9
        final = spots[:, -1]
        run = _trailing(spots)
        other_before = other[:, :-1].any(axis=1)
        rules = [
            ("new", final & (n == 1)),
            ("consecutive", final & (run >= 2) & (n == run) & ~most),
            ("intensifying", final & most & stronger),
            ("diminishing", final & most & weaker),
            ("persistent", final & most),
            ("oscillating", final & other_before),
            ("sporadic", final),
            ("historical", ~final & most),
        ]
        free = out == "no_pattern"
        for name, rule in rules:
            chosen = free & rule
            out[chosen] = f"{name}_{kind}"
            free &= ~chosen
    return out


@dataclass
class EmergingReport:
    """An emerging hot spot analysis (:func:`emerging_hotspots`).

    Attributes
    ----------
    cells : GeoDataFrame
        One row per unit: ``unit_id`` and its labels (as :func:`request_units`), ``requests``
        (in the months analysed), ``hot_months``, ``cold_months``, ``trend`` (τ), ``trend_p``,
        ``final_z``, ``cls`` (a key of :data:`EMERGING_CLASSES`), polygons (EPSG:4326).
    series : DataFrame
        One row per unit and month: ``unit_id, month`` (``YYYY-MM``), ``requests``, ``z``,
        ``p``, ``cls`` (the month's Gi* class, :data:`gridmap.hotspots.HOTSPOT_CLASSES`).
    months : list of str
        The months analysed, oldest first.
    unit : str
    resolution : int or None
    """

    cells: gpd.GeoDataFrame
    series: pd.DataFrame
    months: list[str]
    unit: str
    resolution: int | None

    def counts(self) -> dict[str, int]:
        """Units per class, every class present (0 when none)."""
        found = self.cells["cls"].value_counts()
        return {k: int(found.get(k, 0)) for k in EMERGING_CLASSES}


def emerging_hotspots(
    requests: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    now: dt.datetime,
    months: int | None = None,
    unit: str = settings.HOTSPOT_UNIT,
    resolution: int = settings.H3_RESOLUTION,
    contiguity: str = settings.HOTSPOT_CONTIGUITY,
    permutations: int = settings.HOTSPOT_PERMUTATIONS,
    seed: int = settings.HOTSPOT_SEED,
    fdr: bool = settings.HOTSPOT_FDR,
    inference: str = settings.HOTSPOT_INFERENCE,
    area: shapely.Geometry | None = None,
) -> EmergingReport:
    """Emerging hot spots of (already filtered) requests over grids or H3 hexagons.

    Parameters
    ----------
    requests : GeoDataFrame
        Requests with points and ``id, category, received_at``.
    grids : GeoDataFrame
        Active grids (``id, code`` and polygons).
    now : datetime
        The months analysed end with the last whole month before it.
    months : int, optional
        How many months (at least 3; default :data:`~gridmap.settings.EMERGING_MONTHS`).
    unit, resolution, contiguity, permutations, seed, fdr, inference, area
        As for :func:`gridmap.hotspots.request_hotspots`; one lattice serves every month.
    """
    require_frame(requests, "requests", ("id", "category", "received_at"), geo=True)
    require_frame(grids, "grids", ("id", "code"), geo=True)
    periods = emerging_months(now, months)
    month = pd.to_datetime(requests["received_at"]).dt.to_period("M")
    requests = requests[month.isin(periods)]
    frame, w, counted = request_units(requests, grids, None, unit, resolution, contiguity, area)
    order = pd.Index(frame["unit_id"]).get_indexer(w.id_order)
    frame = frame.iloc[order].reset_index(drop=True)
    counted_month = pd.to_datetime(counted["received_at"]).dt.to_period("M")
    counts = (
        pd.crosstab(counted["unit_id"], counted_month)
        .reindex(index=frame["unit_id"], columns=periods, fill_value=0)
        .to_numpy(dtype=float)
    )
    rows = []
    z = np.zeros_like(counts)
    hot = np.zeros(counts.shape, dtype=bool)
    cold = np.zeros(counts.shape, dtype=bool)
    for t, period in enumerate(periods):  # one Gi* per month (12 by default), each vectorised
        table, _ = getis_ord(counts[:, t], w, permutations, seed, fdr, inference)
        cls = table["cls"].astype(str)
        # the z the month's class was judged on: permutation z (as p_sim) or the analytic one
        by_sim = inference == "permutation" and permutations > 0
        score = table["z_sim"] if by_sim else table["z"]
        z[:, t] = score.fillna(0.0).to_numpy()
        hot[:, t] = cls.str.startswith("hot_").to_numpy()
        cold[:, t] = cls.str.startswith("cold_").to_numpy()
        rows.append(
            pd.DataFrame(
                {
                    "unit_id": frame["unit_id"].to_numpy(),
                    "month": str(period),
                    "requests": counts[:, t].astype(int),
                    "z": score.to_numpy(),
                    "p": table["p"].to_numpy(),
                    "cls": cls.to_numpy(),
                }
            )
        )
    tau, tau_p = mann_kendall(z)
    cells = frame.copy()
    cells["requests"] = counts.sum(axis=1).astype(int)
    cells["hot_months"] = hot.sum(axis=1)
    cells["cold_months"] = cold.sum(axis=1)
    cells["trend"] = np.round(tau, 3)
    cells["trend_p"] = np.round(tau_p, 4)
    cells["final_z"] = np.round(z[:, -1], 3)
    cells["cls"] = classify_emerging(hot, cold, tau, tau_p)
    return EmergingReport(
        cells=cells,
        series=pd.concat(rows, ignore_index=True),
        months=[str(p) for p in periods],
        unit=unit,
        resolution=resolution if unit == "h3" else None,
    )


def summarise_emerging(report: EmergingReport, lang: Language = "zh") -> list[str]:
    """Plain sentences: the months analysed and how many units fall in each class present,
    the emerging and intensifying hot spots named first."""
    first, last = report.months[0], report.months[-1]
    k = 0 if lang == "zh" else 1
    lines = [
        text(
            "{first} 至 {last} 共 {n} 个月,{units} 个单元:",
            lang,
            first=first,
            last=last,
            n=len(report.months),
            units=len(report.cells),
        )
    ]
    counts = report.counts()
    lines += [
        f"  {EMERGING_CLASSES[key][k]}: {count}"
        for key, count in counts.items()
        if count and key != "no_pattern"
    ]
    urgent = report.cells[report.cells["cls"].isin(["new_hot", "consecutive_hot",
                                                     "intensifying_hot"])]  # fmt: skip
    for row in (
        urgent.sort_values("final_z", ascending=False)
        .head(settings.HOTSPOT_SUMMARY_TOP)
        .itertuples()
    ):
        lines.append(
            text(
                "  需关注:{label}({cls},近月 z = {z:.2f},{requests} 件)",
                lang,
                label=row.label or row.unit_id,
                cls=EMERGING_CLASSES[row.cls][k],
                z=row.final_z,
                requests=row.requests,
            )
        )
    if not any(v for key, v in counts.items() if key != "no_pattern"):
        lines.append(text("  各单元均无明显的时空模式。", lang))
    return lines
