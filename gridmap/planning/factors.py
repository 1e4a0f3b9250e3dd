"""The eight factors of the under-covered score: needs, weights and the sentences that explain.

:data:`FACTORS` names them; :func:`factor_needs` turns raw values into needs from 0 (fine) to 1
(poor) by the linear ramp of ``settings.PLANNING_FACTOR_RANGES``; :func:`check_weights` checks
the weights; :func:`explain` says in Chinese or English which factors weigh most in a score.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from gridmap import settings
from gridmap.errors import InputError
from gridmap.i18n import language, pair, text

#: The factors of the under-covered score: key → (中文, English, unit 中文, unit English).
FACTORS: dict[str, tuple[str, str, str, str]] = {
    "households_per_worker": (*pair("每名网格员服务户数"), *pair("户")),
    "households_per_member": (*pair("每名在岗党员联系户数"), *pair("户")),
    "members_per_100_households": (*pair("每百户党员数"), *pair("名")),
    "beyond_reach": (*pair("服务半径外住户占比"), "", ""),
    "leadership": (*pair("组织缺口"), "", ""),
    "open_per_100_households": (*pair("每百户未办结诉求"), "件", ""),
    "overdue_per_100_households": (*pair("每百户超期诉求"), "件", ""),
    "hotspot": (*pair("诉求热点", "factors"), "", ""),
}

#: Need of the hotspot factor by Gi* class (cold spots and not significant: 0).
HOTSPOT_NEED: dict[str, float] = {"hot_99": 1.0, "hot_95": 0.75, "hot_90": 0.5}


def factor_needs(
    values: pd.DataFrame, ranges: Mapping[str, tuple[float, float]] | None = None
) -> pd.DataFrame:
    """Each factor's need, 0 (fine) to 1 (poor), by the linear ramp between its range ends.

    Parameters
    ----------
    values : DataFrame
        One column per factor (raw values); NaN means "nothing to judge" (need 0).
    ranges : mapping, optional
        Factor → (fine, poor); default ``settings.PLANNING_FACTOR_RANGES``. ``fine > poor``
        means lower values are worse.

    Examples
    --------
    >>> factor_needs(pd.DataFrame({"households_per_worker": [100, 350, 900]}))[
    ...     "households_per_worker"].tolist()
    [0.0, 0.5, 1.0]
    """
    ranges = settings.PLANNING_FACTOR_RANGES if ranges is None else ranges
    out = pd.DataFrame(index=values.index)
    for factor in values.columns:
        if factor not in ranges:
            raise InputError(f"未知的因子 / unknown factor {factor!r}; known: {list(FACTORS)}")
        fine, poor = ranges[factor]
        if fine == poor:
            raise InputError(f"factor {factor!r} has an empty range ({fine}, {poor})")
        need = (values[factor].astype(float) - fine) / (poor - fine)
        out[factor] = need.clip(0.0, 1.0).fillna(0.0)
    return out


def check_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    """The weights of every factor (default ``settings.PLANNING_WEIGHTS``), checked."""
    chosen = dict(settings.PLANNING_WEIGHTS if weights is None else weights)
    unknown = sorted(set(chosen) - set(FACTORS))
    if unknown:
        raise InputError(f"未知的权重项 / unknown weight(s) {unknown}; known: {list(FACTORS)}")
    if any(not np.isfinite(w) or w < 0 for w in chosen.values()) or sum(chosen.values()) <= 0:
        raise InputError("权重须为非负数且不全为零 / weights must be non-negative, not all zero")
    return {f: float(chosen.get(f, 0.0)) for f in FACTORS}


def _phrase(factor: str, row: pd.Series, radius: float, zh: bool) -> str:
    """What a factor's value says about a unit, in words."""
    if factor == "households_per_worker":
        if row["workers"] <= 0:
            return text("未配网格员", language(zh))
        value = row[factor]
        return text("每名网格员服务 {value:,.0f} 户", language(zh), value=value)
    if factor == "households_per_member":
        if row["available_members"] <= 0:
            return text("无在岗党员", language(zh))
        value = row[factor]
        return text("每名在岗党员联系 {value:,.0f} 户", language(zh), value=value)
    if factor == "members_per_100_households":
        value = row[factor]
        return text("每百户仅 {value:.1f} 名党员", language(zh), value=value)
    if factor == "beyond_reach":
        share, n = row[factor], row["households_beyond"]
        return text(
            "{share:.0%} 的住户({n:,.0f} 户)在 {radius:,.0f} 米服务半径外",
            language(zh),
            share=share,
            n=n,
            radius=radius,
        )
    if factor == "leadership":
        parts = []
        if row["no_leader"] >= 0.5:
            parts.append(text("未配网格长", language(zh)))
        if row["no_branch"] >= 0.5:
            parts.append(text("未建党组织", language(zh)))
        if row["no_building_leader"] > 0:
            share = row["no_building_leader"]
            parts.append(text("{share:.0%} 住户的楼栋无楼栋长", language(zh), share=share))
        if row.get("blind_spots", 0) > 0:
            n = int(row["blind_spots"])
            parts.append(text("党建盲区楼栋 {n} 栋", language(zh), n=n))
        return "、".join(parts) if zh else ", ".join(parts)
    if factor == "open_per_100_households":
        return text(
            "未办结诉求 {open:,.0f} 件(每百户 {row:.2f} 件)",
            language(zh),
            open=row["open"],
            row=row[factor],
        )
    if factor == "overdue_per_100_households":
        return text("超期诉求 {overdue:,.0f} 件", language(zh), overdue=row["overdue"])
    level = {"hot_99": 99, "hot_95": 95, "hot_90": 90}.get(row["hotspot_class"], 0)
    return text("位于诉求热点({level}% 置信度)", language(zh), level=level)


def explain(table: pd.DataFrame, radius: float, top: int, zh: bool) -> list[str]:
    """One sentence per row of a ranking table naming its ``top`` factors by points."""
    points = table[[f"points_{f}" for f in FACTORS]].to_numpy()
    names = list(FACTORS)
    out = []
    for i, (_, row) in enumerate(table.iterrows()):
        order = np.argsort(-points[i], kind="stable")
        parts = [
            text(
                "{names}({points:.1f} 分)",
                language(zh),
                names=_phrase(names[j], row, radius, zh),
                points=points[i, j],
            )
            for j in order[:top]
            if points[i, j] > 0.05
        ]
        if not parts:
            out.append(text("{label}:各项指标均在合理范围内。", language(zh), label=row["label"]))
        elif zh:
            out.append(f"{row['label']}:{';'.join(parts)}。")
        else:
            out.append(f"{row['label']}: {'; '.join(parts)}.")
    return out
