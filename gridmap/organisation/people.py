"""People and leaders: persons' personal data, grid leaders and workers, building and
stairwell leaders.

Personal data (name, phone, ID suffix) is checked and stored once per person — phones by
:func:`gridmap.validation.normalise_phone`, as every import checks them; the derived
roles on ``person.roles`` (grid leader, grid worker, building leader) are recomputed from the
data after every leader or worker edit. Grid edits respect the grid's version.

Concurrent edits: the persons whose roles are recomputed, and a person whose roles are set, are
locked first (``FOR UPDATE`` on PostgreSQL; SQLite's write transactions are serialised by
:func:`gridmap.db.transaction`), so two edits touching one person's roles at once — grid leader
here, grid worker there — both end up in ``person.roles``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update

from gridmap.auth import audited
from gridmap.db import retry_when_busy, transaction
from gridmap.errors import InputError
from gridmap.models import PersonRole
from gridmap.organisation.checks import bump_grid, clean_name, fetch_row, split_list
from gridmap.repository import table
from gridmap.validation import normalise_phone

__all__ = [
    "add_grid_worker",
    "add_person",
    "clean_phone",
    "clean_suffix",
    "edit_person",
    "new_person_values",
    "remove_grid_worker",
    "set_building_leader",
    "set_grid_leader",
    "set_stairwell_leader",
]

#: Roles that follow from the data (grid.leader_id, grid_worker, building.leader_id); the
#: stairwell-leader role has no table of its own and is kept as set.
_DERIVED_ROLES = ("grid_leader", "grid_worker", "building_leader")


def clean_phone(phone: str | None, field: str = "phone") -> str | None:
    """A phone number in the one form every import stores too (None when blank).

    The check is :func:`gridmap.validation.normalise_phone`: a mainland mobile or landline
    number, separators, ``+86`` and an extension allowed; ``138-1234-1234`` is stored as
    ``13812341234``, ``0719-8661234`` as ``07198661234``.

    Parameters
    ----------
    phone : str or None
        As typed in a form or passed to the API.
    field : str
        The form field the phone came from, named by the error.

    Raises
    ------
    ValueProblem
        Anything else ("call-me-maybe", 12 digits …); its ``field`` is ``field``.
    """
    return normalise_phone(phone, field)


def clean_suffix(suffix: str | None) -> str | None:
    """An ID-card suffix as up to 6 digits or X (None when blank), or an InputError."""
    if suffix is None or suffix != suffix or str(suffix).strip() == "":
        return None
    text = str(suffix).strip().upper()
    if text.endswith(".0"):
        text = text[:-2]
    if len(text) > 6 or not all(ch.isdigit() or ch == "X" for ch in text):
        raise InputError(f"身份证后几位格式不对 / ID suffix {suffix!r}: up to 6 digits or X")
    return text


def new_person_values(name: str, phone: str | None, id_suffix: str | None) -> dict[str, Any]:
    """The checked ``person`` row for a new person (no roles yet)."""
    return {
        "name": clean_name(name, "姓名", 50),
        "phone": clean_phone(phone),
        "id_suffix": clean_suffix(id_suffix),
        "roles": "",
    }


@retry_when_busy
@audited("person_add", "person", permission="edit_organisation")
def add_person(
    engine: Engine, name: str, phone: str | None = None, id_suffix: str | None = None
) -> int:
    """Store a person's personal data once and return the person's id."""
    values = new_person_values(name, phone, id_suffix)
    person = table("person")
    with transaction(engine) as conn:
        return int(
            conn.execute(insert(person).values(**values).returning(person.c.id)).scalar_one()
        )


@retry_when_busy
@audited("person_edit", "person", "person_id", "edit_organisation", {"person_id": "person"})
def edit_person(
    engine: Engine,
    person_id: int,
    name: str | None = None,
    phone: str | None = None,
    id_suffix: str | None = None,
) -> None:
    """Change a person's name, phone or ID suffix (arguments left None stay as they are).

    The phone is checked and stored as an import stores it (:func:`clean_phone`); a refused
    value changes nothing.

    Raises
    ------
    ValueProblem
        A malformed phone (``field`` is ``phone``).
    InputError
        A bad name or ID suffix, or no such person.
    """
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = clean_name(name, "姓名", 50)
    if phone is not None:
        values["phone"] = clean_phone(phone)
    if id_suffix is not None:
        values["id_suffix"] = clean_suffix(id_suffix)
    person = table("person")
    with transaction(engine) as conn:
        fetch_row(conn, "person", person_id, "人员")
        if values:
            conn.execute(update(person).where(person.c.id == int(person_id)).values(**values))


@retry_when_busy
@audited(
    "grid_set_leader",
    "grid",
    "grid_id",
    "edit_organisation",
    {"grid_id": "grid", "person_id": "person"},
)
def set_grid_leader(engine: Engine, grid_id: int, person_id: int | None, version: int) -> int:
    """Make a person the grid leader (网格长), or none; return the grid's new version."""
    with transaction(engine) as conn:
        old = fetch_row(conn, "grid", grid_id, "网格")["leader_id"]
        if person_id is not None:
            fetch_row(conn, "person", person_id, "人员")
        new_version = bump_grid(conn, grid_id, version, leader_id=person_id)
        _sync_roles(conn, [old, person_id])
    return new_version


@retry_when_busy
@audited(
    "grid_add_worker",
    "grid",
    "grid_id",
    "edit_organisation",
    {"grid_id": "grid", "person_id": "person"},
)
def add_grid_worker(
    engine: Engine, grid_id: int, person_id: int, version: int, part_time: bool = False
) -> int:
    """Add a grid worker (网格员; ``part_time`` for a part-time member 兼职网格员), or change
    an existing one's part-time flag; return the grid's new version."""
    worker = table("grid_worker")
    with transaction(engine) as conn:
        fetch_row(conn, "person", person_id, "人员")
        new_version = bump_grid(conn, grid_id, version)
        done = conn.execute(
            update(worker)
            .where(worker.c.grid_id == int(grid_id), worker.c.person_id == int(person_id))
            .values(part_time=bool(part_time))
        ).rowcount
        if not done:
            conn.execute(
                insert(worker).values(
                    grid_id=int(grid_id), person_id=int(person_id), part_time=bool(part_time)
                )
            )
        _sync_roles(conn, [person_id])
    return new_version


@retry_when_busy
@audited(
    "grid_remove_worker",
    "grid",
    "grid_id",
    "edit_organisation",
    {"grid_id": "grid", "person_id": "person"},
)
def remove_grid_worker(engine: Engine, grid_id: int, person_id: int, version: int) -> int:
    """Take a grid worker off a grid; return the grid's new version."""
    worker = table("grid_worker")
    with transaction(engine) as conn:
        new_version = bump_grid(conn, grid_id, version)
        gone = conn.execute(
            delete(worker).where(
                worker.c.grid_id == int(grid_id), worker.c.person_id == int(person_id)
            )
        ).rowcount
        if not gone:
            raise InputError(f"人员 {person_id} 不是网格 {grid_id} 的网格员 / not a worker of it")
        _sync_roles(conn, [person_id])
    return new_version


@retry_when_busy
@audited(
    "building_set_leader",
    "building",
    "building_id",
    "edit_organisation",
    {"building_id": "building", "person_id": "person"},
)
def set_building_leader(engine: Engine, building_id: int, person_id: int | None) -> None:
    """Make a person the building leader (楼栋长) of a building, or none."""
    bld = table("building")
    with transaction(engine) as conn:
        old = fetch_row(conn, "building", building_id, "楼栋")["leader_id"]
        if person_id is not None:
            fetch_row(conn, "person", person_id, "人员")
        conn.execute(update(bld).where(bld.c.id == int(building_id)).values(leader_id=person_id))
        _sync_roles(conn, [old, person_id])


@retry_when_busy
@audited(
    "person_stairwell_leader", "person", "person_id", "edit_organisation", {"person_id": "person"}
)
def set_stairwell_leader(engine: Engine, person_id: int, on: bool = True) -> None:
    """Give or take the stairwell-leader role (单元长).

    The schema has no stairwell table: the role is kept on the person, and the building is
    the one the person lives in as a member (if they are one).
    """
    person = table("person")
    with transaction(engine) as conn:
        _lock_persons(conn, [person_id])
        roles = split_list(fetch_row(conn, "person", person_id, "人员")["roles"])
        roles = [r for r in roles if r != PersonRole.stairwell_leader.value]
        if on:
            roles.append(PersonRole.stairwell_leader.value)
        conn.execute(
            update(person).where(person.c.id == int(person_id)).values(roles=",".join(roles))
        )


def _lock_persons(conn: Connection, ids: Iterable[int]) -> None:
    """Lock persons' rows (in id order, so two edits never wait for each other in a ring)."""
    person = table("person")
    wanted = sorted({int(i) for i in ids})
    conn.execute(
        select(person.c.id).where(person.c.id.in_(wanted)).order_by(person.c.id).with_for_update()
    ).all()


def _sync_roles(conn: Connection, person_ids: Iterable[int | None]) -> None:
    """Recompute the derived roles of persons from grid leaders, workers and building leaders."""
    ids = sorted({int(p) for p in person_ids if p is not None and p == p})
    if not ids:
        return
    _lock_persons(conn, ids)  # then read who holds what: another edit's roles are in by now
    person, grid, worker, bld = (table(n) for n in ("person", "grid", "grid_worker", "building"))

    def holding(col) -> set[int]:
        return set(conn.execute(select(col).where(col.in_(ids))).scalars())

    holders = {
        "grid_leader": holding(grid.c.leader_id),
        "grid_worker": holding(worker.c.person_id),
        "building_leader": holding(bld.c.leader_id),
    }
    rows = conn.execute(select(person.c.id, person.c.roles).where(person.c.id.in_(ids))).all()
    for pid, roles in rows:
        kept = [r for r in split_list(roles) if r not in _DERIVED_ROLES]
        derived = [r for r in _DERIVED_ROLES if pid in holders[r]]
        new = ",".join([*derived, *kept])
        if new != (roles or ""):
            conn.execute(update(person).where(person.c.id == pid).values(roles=new))
