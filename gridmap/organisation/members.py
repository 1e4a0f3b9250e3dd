"""Party members: add, edit and move members' relations, in-service registration (双报到) and
responsibility zones (党员责任区).

:func:`member_values` checks and normalises a member's fields (category, organisation,
building, dates, work unit, specialties, status) for single edits and the bulk import alike;
dates go through :func:`gridmap.validation.check_member_dates`, as in every import.

Concurrent edits: ``member.version`` goes up with every update of the row. An edit reads the
row locked (:func:`lock_member`: ``FOR UPDATE`` on PostgreSQL; on SQLite the transaction holds
the write lock from its start), refuses a ``version`` that is no longer the row's
(:func:`check_member_version`), and writes only the fields it changes — so two people editing
different fields of one member never undo each other's change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, delete, insert, select, update

from gridmap.auth import audited
from gridmap.db import retry_when_busy, transaction
from gridmap.errors import ConflictError, InputError
from gridmap.models import MemberCategory
from gridmap.organisation.checks import fetch_row, split_list
from gridmap.organisation.kinds import (
    CATEGORY_LABELS,
    KIND_LABELS,
    MEMBER_ORG_KINDS,
    MEMBER_STATUSES,
)
from gridmap.organisation.people import new_person_values
from gridmap.organisation.reading import assert_tree
from gridmap.repository import table
from gridmap.validation import check_member_dates

__all__ = [
    "add_member",
    "add_new_member",
    "check_member_version",
    "edit_member",
    "lock_member",
    "member_values",
    "move_members",
    "register_in_service",
    "set_member_zone",
]


def lock_member(conn: Connection, member_id: int | None) -> dict:
    """The member's row, locked until the caller's transaction ends.

    PostgreSQL: ``SELECT … FOR UPDATE``, so a second writer of the same member waits and then
    reads what the first committed. SQLite: :func:`gridmap.db.transaction` took the database's
    write lock at ``BEGIN IMMEDIATE``, which serialises every writer already.

    Raises
    ------
    InputError
        No member with that id.
    """
    if member_id is None:
        raise InputError("未指定党员 / no member given")
    member = table("member")
    row = (
        conn.execute(select(member).where(member.c.id == int(member_id)).with_for_update())
        .mappings()
        .first()
    )
    if row is None:
        raise InputError(f"党员 {member_id} 不存在 / member {member_id} does not exist")
    return dict(row)


def check_member_version(row: Mapping[str, Any], version: int | None) -> None:
    """Refuse an edit made on an older reading of the member (optimistic lock).

    Parameters
    ----------
    row : mapping
        The member's row as read now (:func:`lock_member`).
    version : int or None
        The version the editor read; None skips the check (the edit then applies to the
        current row, still only to the fields it names).

    Raises
    ------
    ConflictError
        The member was changed since ``version`` was read.
    """
    if version is None or int(version) == int(row["version"]):
        return
    raise ConflictError(
        f"党员 {row['id']} 已被他人修改(当前版本 {row['version']},您读取的是 {version}),请刷新后"
        f"重试 / member {row['id']} was changed by someone else (version {row['version']}, "
        f"you read {version}): reload and try again"
    )


def _category(value: str | MemberCategory) -> str:
    text = str(getattr(value, "value", value)).strip()
    if text in CATEGORY_LABELS:
        return text
    for code, (zh, en) in CATEGORY_LABELS.items():
        if text in (zh, en, zh.split("(")[0]) or text.lower() == en.lower():
            return code
    raise InputError(
        f"未知的党员类别 / unknown member category {text!r}; one of "
        + "、".join(v[0] for v in CATEGORY_LABELS.values())
    )


def _specialties(value: str | Iterable[str] | None) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    items = (
        split_list(value.replace("、", ","))
        if isinstance(value, str)
        else [str(v).strip() for v in value]
    )
    items = list(dict.fromkeys(i for i in items if i))
    text = ",".join(items)
    if len(text) > 200:
        raise InputError("志愿服务特长过长(最多 200 字) / specialties too long (200 characters)")
    return text or None


def member_values(
    conn: Connection,
    values: dict[str, Any],
    known: Mapping[str, Mapping[int, dict]] | None = None,
) -> dict[str, Any]:
    """Check and normalise a member's fields (after merging edits into the stored row).

    Forms, the API and the bulk import all come through here, so a value is refused the same
    way everywhere: dates by :func:`gridmap.validation.check_member_dates` (not before the
    Party's founding, not after today, no registration or last contact before joining).

    Parameters
    ----------
    conn : Connection
    values : dict
        The member's fields (``party_org_id``, ``category``, ``building_id``, the dates …).
    known : mapping, optional
        ``"party_org"`` and ``"building"`` mapped to their rows already read, so a bulk import
        checks thousands of rows without a query per row.

    Returns
    -------
    dict
        The fields checked and normalised (category code, dates as ``datetime.date``,
        specialties joined, status).

    Raises
    ------
    ValueProblem
        An impossible date; :attr:`~gridmap.validation.ValueProblem.field` names the field
        (``joined_on``, ``registered_on``, ``last_contact_on``), as the forms name it.
    InputError
        Any other value the rules refuse.
    """
    known = known or {}
    out = dict(values)
    out["category"] = _category(out["category"])
    org = fetch_row(conn, "party_org", out.get("party_org_id"), "党组织", known.get("party_org"))
    if org["kind"] not in MEMBER_ORG_KINDS:
        raise InputError(
            f"党员组织关系不能放在{KIND_LABELS[org['kind']][0]}「{org['name']}」/ a member's "
            f"relation cannot sit in a {org['kind']}"
        )
    if out.get("building_id") is not None:
        fetch_row(conn, "building", out["building_id"], "楼栋", known.get("building"))
    for key in ("joined_on", "registered_on", "last_contact_on"):
        out[key] = _date(out.get(key), key)
    # the same date checks as every import: possible Party dates, nothing before joining
    check_member_dates(out["joined_on"], out["registered_on"], out["last_contact_on"])
    if out["category"] == MemberCategory.in_service.value:
        if not (out.get("work_unit") or "").strip():
            raise InputError("在职党员(双报到)需填写工作单位 / in-service members need a work unit")
        if out.get("registered_on") is None:
            raise InputError("在职党员(双报到)需填写报到日期 / in-service members need a date")
        out["work_unit"] = out["work_unit"].strip()[:100]
    out["specialties"] = _specialties(out.get("specialties"))
    status = out.get("status") or "active"
    if out["category"] == MemberCategory.lost_contact.value:
        status = "lost_contact"
    elif status == "lost_contact":
        status = "active"
    if status not in MEMBER_STATUSES:
        raise InputError(f"未知的党员状态 / unknown member status {status!r}")
    out["status"] = status
    return out


def _date(value: Any, field: str) -> dt.date | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if not text:
        return None
    try:
        return pd.Timestamp(text.replace("/", "-").replace(".", "-")).date()
    except (ValueError, TypeError):
        raise InputError(f"{field} 不是日期 / {field} {value!r} is not a date") from None


_MEMBER_FIELDS = (
    "party_org_id", "category", "building_id", "joined_on", "registered_on", "work_unit",
    "status", "specialties", "last_contact_on",
)  # fmt: skip


@retry_when_busy
@audited(
    "member_add",
    "member",
    permission="edit_organisation",
    scope={"person_id": "person", "party_org_id": "party_org", "building_id": "building"},
    require_scope=True,
)
def add_member(
    engine: Engine,
    person_id: int,
    party_org_id: int,
    category: str | MemberCategory,
    **fields: Any,
) -> int:
    """Add a Party member and return the member id.

    Parameters
    ----------
    person_id : int
        The person (:func:`add_person`); one member row per person.
    party_org_id : int
        Where the relation sits (:data:`MEMBER_ORG_KINDS`).
    category : MemberCategory or its value / Chinese label
    **fields
        ``building_id, joined_on, registered_on, work_unit, status, specialties`` (a list or
        comma-separated text), ``last_contact_on``. In-service members (双报到) need
        ``work_unit`` and ``registered_on``.
    """
    unknown = set(fields) - set(_MEMBER_FIELDS)
    if unknown:
        raise InputError(f"未知的党员字段 / unknown member field(s) {sorted(unknown)}")
    member, person = table("member"), table("person")
    with transaction(engine) as conn:
        fetch_row(conn, "person", person_id, "人员")
        # the person locked: a second add of the same person waits, then finds the member
        conn.execute(select(person.c.id).where(person.c.id == int(person_id)).with_for_update())
        if conn.execute(select(member.c.id).where(member.c.person_id == int(person_id))).first():
            raise ConflictError(
                f"人员 {person_id} 已是党员 / person {person_id} is a member already"
            )
        values = member_values(conn, {"party_org_id": party_org_id, "category": category, **fields})
        return int(
            conn.execute(
                insert(member).values(person_id=int(person_id), **values).returning(member.c.id)
            ).scalar_one()
        )


@retry_when_busy
@audited(
    "member_add_new",
    "member",
    permission="edit_organisation",
    scope={"party_org_id": "party_org", "building_id": "building"},
    require_scope=True,
)
def add_new_member(
    engine: Engine,
    name: str,
    party_org_id: int,
    category: str | MemberCategory,
    phone: str | None = None,
    id_suffix: str | None = None,
    **fields: Any,
) -> tuple[int, int]:
    """Add a person and make them a member in one transaction; return (person id, member id).

    Fields as for :func:`add_member`; a bad field leaves neither the person nor the member.
    """
    unknown = set(fields) - set(_MEMBER_FIELDS)
    if unknown:
        raise InputError(f"未知的党员字段 / unknown member field(s) {sorted(unknown)}")
    person, member = table("person"), table("member")
    person_values = new_person_values(name, phone, id_suffix)
    with transaction(engine) as conn:
        values = member_values(conn, {"party_org_id": party_org_id, "category": category, **fields})
        pid = conn.execute(
            insert(person).values(**person_values).returning(person.c.id)
        ).scalar_one()
        mid = conn.execute(
            insert(member).values(person_id=int(pid), **values).returning(member.c.id)
        ).scalar_one()
    return int(pid), int(mid)


@retry_when_busy
@audited(
    "member_edit",
    "member",
    "member_id",
    "edit_organisation",
    {"member_id": "member", "party_org_id": "party_org", "building_id": "building"},
)
def edit_member(
    engine: Engine, member_id: int, *, version: int | None = None, **changes: Any
) -> int:
    """Change a member's fields (those of :func:`add_member`, plus ``party_org_id``).

    Parameters
    ----------
    member_id : int
    version : int, optional
        The member's ``version`` the editor read (what a form showed). Given, the edit is
        refused when someone changed the member since; without it the edit applies to the
        member as it is now.
    **changes
        The fields to change. Only they are written (and ``status`` where the category
        decides it): fields someone else changed meanwhile are kept.

    Returns
    -------
    int
        The member's new version.

    Raises
    ------
    ConflictError
        ``version`` is no longer the member's (changed by someone else: reload).
    InputError
        Unknown field or member, or a value the rules refuse.
    """
    unknown = set(changes) - set(_MEMBER_FIELDS)
    if unknown:
        raise InputError(f"未知的党员字段 / unknown member field(s) {sorted(unknown)}")
    member = table("member")
    with transaction(engine) as conn:
        row = lock_member(conn, member_id)
        check_member_version(row, version)
        merged = {k: row[k] for k in _MEMBER_FIELDS} | changes
        values = member_values(conn, merged)
        written = {k: v for k, v in values.items() if k in changes or v != row[k]}
        conn.execute(
            update(member)
            .where(member.c.id == int(member_id), member.c.version == int(row["version"]))
            .values(**written, version=int(row["version"]) + 1)
        )
        assert_tree(conn)
    return int(row["version"]) + 1


@retry_when_busy
@audited(
    "member_move",
    "member",
    permission="edit_organisation",
    scope={"member_ids": "member", "to_org_id": "party_org"},
)
def move_members(engine: Engine, member_ids: Iterable[int], to_org_id: int) -> int:
    """Move members' relations to another organisation (组织关系转接); return how many."""
    ids = sorted({int(i) for i in member_ids})
    member = table("member")
    with transaction(engine) as conn:
        org = fetch_row(conn, "party_org", to_org_id, "接收组织")
        if org["kind"] not in MEMBER_ORG_KINDS:
            raise InputError(
                f"党员组织关系不能放在{KIND_LABELS[org['kind']][0]} / relations cannot sit in a "
                f"{org['kind']}"
            )
        found = set(conn.execute(select(member.c.id).where(member.c.id.in_(ids))).scalars())
        missing = sorted(set(ids) - found)
        if missing:
            raise InputError(f"党员 {missing} 不存在 / member(s) {missing} do not exist")
        conn.execute(
            update(member)
            .where(member.c.id.in_(ids))
            .values(party_org_id=int(to_org_id), version=member.c.version + 1)
        )
        assert_tree(conn)
    return len(ids)


def register_in_service(
    engine: Engine,
    member_id: int,
    work_unit: str,
    registered_on: dt.date | str,
    version: int | None = None,
) -> int:
    """Record an in-service member's 双报到: the work unit and the date they registered here.

    ``version`` as for :func:`edit_member`; returns the member's new version.
    """
    return edit_member(
        engine,
        member_id,
        version=version,
        category=MemberCategory.in_service.value,
        work_unit=work_unit,
        registered_on=registered_on,
    )


@retry_when_busy
@audited(
    "member_zone",
    "member",
    "member_id",
    "edit_organisation",
    {"member_id": "member", "building_ids": "building"},
)
def set_member_zone(engine: Engine, member_id: int, building_ids: Iterable[int]) -> int:
    """Set a member's responsibility zone (党员责任区) to exactly these buildings; return count."""
    ids = sorted({int(b) for b in building_ids})
    zone, bld = table("member_zone"), table("building")
    with transaction(engine) as conn:
        row = lock_member(conn, member_id)  # two zone edits of one member: one after the other
        found = set(conn.execute(select(bld.c.id).where(bld.c.id.in_(ids))).scalars())
        missing = sorted(set(ids) - found)
        if missing:
            raise InputError(f"楼栋 {missing} 不存在 / building(s) {missing} do not exist")
        if ids and row["status"] != "active":
            raise InputError(
                f"党员 {member_id} 状态为 {row['status']},不能划定责任区 / only active members "
                "look after a zone"
            )
        conn.execute(delete(zone).where(zone.c.member_id == int(member_id)))
        if ids:
            conn.execute(
                insert(zone), [{"member_id": int(member_id), "building_id": b} for b in ids]
            )
    return len(ids)
