"""The 0–100 coverage score: what its parts measure and how they are weighed and combined."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from gridmap import settings
from gridmap.errors import InputError
from gridmap.i18n import pair

#: What each score part measures (中文, English), for the UI to explain the score.
SCORE_PARTS: dict[str, tuple[str, str]] = {
    "coverage": pair(
        "覆盖：社区面积中被网格覆盖且不重叠的比例（网格：自身面积中不与其他网格重叠、不"
        "超出社区的比例）"
    ),
    "assignment": pair("楼栋归属：住户所在楼栋完整落在一个网格内的比例"),
    "grid_leadership": pair("网格组织：配备网格长占一半、建立党支部或党小组占一半"),
    "building_leaders": pair("楼栋长：住户所在楼栋配有楼栋长的比例"),
    "size": pair("网格规模：户数在规定范围内得满分，偏少按 户数/下限、偏多按 上限/户数 计"),
    "reach": pair("服务半径：距最近党群服务站在所选半径以内的住户比例"),
}


#: The short name of each score part (中文, English), for tables and forms.
SCORE_PART_NAMES: dict[str, tuple[str, str]] = {
    part: (zh.split("：")[0], en.split(":")[0]) for part, (zh, en) in SCORE_PARTS.items()
}


def coverage_score(parts: pd.DataFrame, weights: Mapping[str, float] | None = None) -> pd.Series:
    """Combine score parts (each 0–1) into a 0–100 score: the weighted mean × 100.

    Parameters
    ----------
    parts : pandas.DataFrame
        One column per part named in the weights, each a fulfilment between 0 and 1
        (as in :attr:`CoverageReport.grid_scores` / ``community_scores``).
    weights : mapping of str to float, optional
        Points each part weighs; default :data:`gridmap.settings.COVERAGE_SCORE_WEIGHTS`
        (explained in :data:`SCORE_PARTS`).

    Returns
    -------
    pandas.Series
        The score of each row, 0–100, rounded to one decimal.
    """
    weights = dict(settings.COVERAGE_SCORE_WEIGHTS if weights is None else weights)
    missing = [k for k in weights if k not in parts]
    if missing:
        raise InputError(f"score parts lack column(s) {', '.join(missing)}")
    total = sum(weights.values())
    if total <= 0 or any(w < 0 for w in weights.values()):
        raise InputError("score weights must be non-negative and not all zero")
    values = sum(parts[k].astype(float).clip(0.0, 1.0) * w for k, w in weights.items())
    return (pd.Series(values, index=parts.index, dtype=float) * 100.0 / total).round(1)


def safe_share(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """part / whole, and 1 where the whole is zero (nothing to get wrong)."""
    part, whole = np.asarray(part, dtype=float), np.asarray(whole, dtype=float)
    return np.clip(np.divide(part, whole, out=np.ones_like(whole), where=whole > 0), 0.0, 1.0)


def size_fulfilment(households: np.ndarray, low: int, high: int) -> np.ndarray:
    """The size part: 1 within the norm, else households/low or high/households."""
    h = np.asarray(households, dtype=float)
    small = np.divide(h, low, out=np.ones_like(h), where=low > 0)
    large = np.divide(high, h, out=np.ones_like(h), where=h > 0)
    return np.where(h < low, small, np.where(h > high, large, 1.0))
