"""Accounts across a replaced street: users' scopes taken off and given back by code.

``demo --force`` and ``restore`` delete a street's data but keep the accounts and the audit log
(:data:`~gridmap.models.ACCOUNT_TABLES`). :func:`detach_users` takes every user's street,
community and grid off first and returns them by code; :func:`reattach_users` finds them again
in the new data and disables a user whose scope no longer exists.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, select

from gridmap.auth.scopes import table
from gridmap.auth.users import active_grid_id, code_id, next_epoch
from gridmap.errors import InputError


def detach_users(conn: Connection) -> pd.DataFrame:
    """Take every user's scope off before the street's data is deleted; return it by code.

    Accounts and the audit log outlive the street's data (:data:`~gridmap.models.
    ACCOUNT_TABLES`), but a user's street/community/grid keys point into it. They are set
    empty here and given back by :func:`reattach_users` once the new data is in. Columns:
    ``id, name, street_code, community_code, grid_code``.
    """
    user, street, com, grid = table("user"), table("street"), table("community"), table("grid")
    query = (
        select(
            user.c.id,
            user.c.name,
            street.c.code.label("street_code"),
            com.c.code.label("community_code"),
            grid.c.code.label("grid_code"),
        )
        .outerjoin(street, street.c.id == user.c.street_id)
        .outerjoin(com, com.c.id == user.c.community_id)
        .outerjoin(grid, grid.c.id == user.c.grid_id)
        .where(
            (user.c.street_id.is_not(None))
            | (user.c.community_id.is_not(None))
            | (user.c.grid_id.is_not(None))
        )
    )
    result = conn.execute(query)
    detached = pd.DataFrame.from_records(result.fetchall(), columns=list(result.keys()))
    detached = detached.astype(object).where(detached.notna(), None)
    conn.execute(user.update().values(street_id=None, community_id=None, grid_id=None))
    return detached


def reattach_users(conn: Connection, detached: pd.DataFrame) -> list[str]:
    """Give each detached user their scope back, found by code in the new data.

    A user whose street, community or grid (of an active plan) no longer exists is disabled,
    never left with an empty scope (which would widen what they see) and their sessions end
    (``session_epoch`` goes up); their names are returned so the caller can audit and report
    them.
    """
    user = table("user")
    lost = []
    for row in detached.itertuples(index=False):  # accounts: a handful of rows
        try:
            values = {
                "street_id": code_id(conn, "street", row.street_code),
                "community_id": code_id(conn, "community", row.community_code),
                "grid_id": active_grid_id(conn, row.grid_code) if row.grid_code else None,
            }
        except InputError:
            values = {"disabled": True, "session_epoch": next_epoch()}  # their sessions end
            lost.append(str(row.name))
        conn.execute(user.update().where(user.c.id == int(row.id)).values(**values))
    return lost
