"""The weights a street sets for itself: of the coverage score, of the planning ranking and of
the monthly assessment of request handling.

The defaults live in :mod:`gridmap.settings` (:data:`~gridmap.settings.COVERAGE_SCORE_WEIGHTS`,
:data:`~gridmap.settings.PLANNING_WEIGHTS`, :data:`~gridmap.settings.REQUEST_RATE_WEIGHTS`); a
street administrator changes them for the street (:func:`set_street_weights`, the app's 覆盖情况,
规划分析 and 诉求办理 pages, ``gridmap street weights``), and every page and command then reads
them with :func:`street_weights`. They are stored in ``street_setting`` (one row per street and
kind), each change audited; :func:`reset_street_weights` goes back to the defaults.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping

from sqlalchemy import Connection, Engine, delete, insert, select

from gridmap import auth, settings
from gridmap.db import connect, transaction
from gridmap.errors import InputError
from gridmap.i18n import pair
from gridmap.repository import table

#: The kinds of weights a street sets: kind → (its defaults, 中文, English).
WEIGHT_KINDS: dict[str, tuple[Mapping[str, float], str, str]] = {
    "coverage_score": (settings.COVERAGE_SCORE_WEIGHTS, *pair("覆盖综合得分权重")),
    "planning": (settings.PLANNING_WEIGHTS, *pair("薄弱网格排序权重")),
    "request_rates": (settings.REQUEST_RATE_WEIGHTS, *pair("诉求三率考核权重")),
}
#: The largest weight a part may get (points).
MAX_WEIGHT = 100.0


def _kind(kind: str) -> Mapping[str, float]:
    if kind not in WEIGHT_KINDS:
        known = ", ".join(WEIGHT_KINDS)
        raise InputError(f"未知的权重类别 / unknown kind of weights {kind!r}: use one of {known}")
    return WEIGHT_KINDS[kind][0]


def _street_id(conn: Connection, street_id: int | None) -> int:
    """The street meant: the one given, else the user's, else the database's only street."""
    if street_id is not None:
        return int(street_id)
    user = auth.current_principal()
    if user.street_id is not None:
        return int(user.street_id)
    ids = conn.execute(select(table("street").c.id)).scalars().all()
    if len(ids) != 1:
        raise InputError(
            f"请指明街道 / name the street: the database holds {len(ids)} streets (--street CODE)"
        )
    return int(ids[0])


def check_weights(kind: str, weights: Mapping[str, object]) -> dict[str, float]:
    """``weights`` checked: exactly the parts of ``kind``, each a number from 0 to
    :data:`MAX_WEIGHT`, not all 0; the parts in their usual order.

    Raises
    ------
    InputError
        Naming the part and the value at fault.
    """
    defaults = _kind(kind)
    unknown = sorted(set(weights) - set(defaults))
    missing = [p for p in defaults if p not in weights]
    if unknown or missing:
        raise InputError(
            f"权重项不符 / the parts of {kind} are {', '.join(defaults)}: "
            f"unknown {unknown}, missing {missing}"
        )
    checked: dict[str, float] = {}
    for part in defaults:
        value = weights[part]
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise InputError(
                f"权重 {part} 不是数字 / weight {part} is not a number: {value!r}"
            ) from None
        if not math.isfinite(number) or not 0 <= number <= MAX_WEIGHT:
            raise InputError(
                f"权重 {part} 须在 0 到 {MAX_WEIGHT:g} 之间 / weight {part} must be between "
                f"0 and {MAX_WEIGHT:g}: {value!r}"
            )
        checked[part] = number
    if sum(checked.values()) == 0:
        raise InputError("权重不能全为 0 / the weights cannot all be 0")
    return checked


def street_weights(
    engine: Engine | Connection, kind: str, street_id: int | None = None
) -> dict[str, float]:
    """The weights of ``kind`` the street uses: its own, else the defaults of
    :mod:`gridmap.settings`. A stored set that no longer fits (a part added by an upgrade)
    falls back to the defaults for the parts it lacks."""
    defaults = dict(_kind(kind))
    setting = table("street_setting")
    with connect(engine) as conn:
        try:
            sid = _street_id(conn, street_id)
        except InputError:
            return defaults
        stored = conn.execute(
            select(setting.c.value).where(setting.c.street_id == sid, setting.c.key == kind)
        ).scalar()
    if stored is None:
        return defaults
    values = json.loads(stored)
    return {part: float(values.get(part, default)) for part, default in defaults.items()}


def set_street_weights(
    engine: Engine | Connection,
    kind: str,
    weights: Mapping[str, object],
    street_id: int | None = None,
) -> dict[str, float]:
    """Store the street's weights of ``kind`` (street administrators only), audited as
    ``street_weights`` with the weights before and after, in one transaction.

    Returns
    -------
    dict
        The weights stored (checked by :func:`check_weights`).

    Raises
    ------
    PermissionDenied
        For any role but the street administrator.
    InputError
        For weights :func:`check_weights` refuses; nothing is stored.
    """
    principal = auth.current_principal()
    principal.require("manage_street")
    checked = check_weights(kind, weights)
    setting = table("street_setting")
    with transaction(engine) as conn:
        sid = _street_id(conn, street_id)
        before = street_weights(conn, kind, sid)
        conn.execute(delete(setting).where(setting.c.street_id == sid, setting.c.key == kind))
        conn.execute(
            insert(setting).values(
                street_id=sid,
                key=kind,
                value=json.dumps(checked),
                updated_at=auth.current_time(),
                user_id=principal.user_id,
            )
        )
        auth.audit(
            conn, principal, "street_weights", "street", sid, {kind: before}, {kind: checked}
        )
    return checked


def reset_street_weights(
    engine: Engine | Connection, kind: str, street_id: int | None = None
) -> dict[str, float]:
    """Go back to the defaults of ``kind`` for the street (audited as
    ``street_weights_reset``); the defaults returned."""
    principal = auth.current_principal()
    principal.require("manage_street")
    defaults = dict(_kind(kind))
    setting = table("street_setting")
    with transaction(engine) as conn:
        sid = _street_id(conn, street_id)
        before = street_weights(conn, kind, sid)
        conn.execute(delete(setting).where(setting.c.street_id == sid, setting.c.key == kind))
        auth.audit(
            conn, principal, "street_weights_reset", "street", sid, {kind: before},
            {kind: defaults},
        )  # fmt: skip
    return defaults
