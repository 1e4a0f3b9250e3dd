"""The demo's people and Party organisation: grid staff, Party organisations, members.

The build steps here add to the shared :class:`~gridmap.demo.state.Demo`: :func:`add_staff`
gives every grid its full-time and part-time grid workers and its grid leader (except the
grids of the leadership defects), :func:`add_party_orgs` the working committee, community
committees, grid branches and joint branches, :func:`add_building_leaders_and_groups` building
leaders and 楼栋党小组, and :func:`add_members` the 2,000 Party members with their categories,
organisations and homes. :func:`member_extras`, :func:`member_zones` and
:func:`member_points` draw, from their own generator, the members' volunteer specialties and
last contacts, their 党员责任区 and their 党员积分.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap import settings
from gridmap.demo.frames import nullable_ints
from gridmap.demo.layout import (
    COMMUNITY_NAMES,
    DEMO_DEFECTS,
    NO_BRANCH_CELLS,
    NO_LEADER_CELLS,
    STREET_NAME,
)
from gridmap.demo.names import WORK_UNITS, pick_one
from gridmap.demo.state import Demo
from gridmap.models import MemberCategory, OrgKind, PersonRole

_CATEGORY_P = {
    MemberCategory.resident: 0.30,
    MemberCategory.in_service: 0.24,
    MemberCategory.retired: 0.28,
    MemberCategory.floating: 0.06,
    MemberCategory.lost_contact: 0.03,
    MemberCategory.retired_cadre: 0.06,
    MemberCategory.unemployed: 0.03,
}
_N_MEMBERS = 2000


def add_staff(demo: Demo) -> None:
    """Grid leaders and grid workers (1 full-time, 0–2 part-time members per grid)."""
    rng = demo.rng
    for g, cell in enumerate(demo.cells):
        workers: list[tuple[int, bool]] = []
        no_leader = (cell.col, cell.row) in NO_LEADER_CELLS
        leader_works = not no_leader and rng.random() < 0.5
        roles = [PersonRole.grid_worker] + ([PersonRole.grid_leader] if leader_works else [])
        full_time = demo.people.add(*roles)
        workers.append((full_time, False))
        if no_leader:
            demo.grid_leader[g] = None
        elif leader_works:
            demo.grid_leader[g] = full_time
        else:
            demo.grid_leader[g] = demo.people.add(PersonRole.grid_leader)
        for _ in range(int(rng.choice([0, 1, 1, 2]))):
            workers.append((demo.people.add(PersonRole.grid_worker), True))
        demo.grid_workers[g] = workers


def add_party_orgs(demo: Demo) -> None:
    """Party organisations: working committee → committees → grid branches (+ joint branches)."""
    orgs = demo.orgs
    orgs.append(_org(1, None, OrgKind.working_committee, f"{STREET_NAME}党工委", None, None))
    letters = sorted(COMMUNITY_NAMES)
    for i, letter in enumerate(letters):
        org_id = len(orgs) + 1
        orgs.append(_org(org_id, 1, OrgKind.committee, f"{COMMUNITY_NAMES[letter]}党委", i, None))
        demo.committee_of[i] = org_id
    for g, cell in enumerate(demo.cells):
        if (cell.col, cell.row) in NO_BRANCH_CELLS:
            continue
        org_id = len(orgs) + 1
        name = f"{COMMUNITY_NAMES[cell.letter]}第{cell.grid_no}网格党支部"
        orgs.append(
            _org(org_id, demo.committee_of[cell.community], OrgKind.branch, name, cell.community, g)
        )
        demo.branch_of_grid[g] = org_id
    for letter, what in (("C", "非公企业"), ("G", "沿街商户")):
        i = letters.index(letter)
        name = f"{COMMUNITY_NAMES[letter]}{what}联合党支部"
        orgs.append(_org(len(orgs) + 1, demo.committee_of[i], OrgKind.joint_branch, name, i, None))


def _org(
    org_id: int,
    parent: int | None,
    kind: OrgKind,
    name: str,
    community: int | None,
    grid: int | None,
) -> dict:
    return {
        "id": org_id,
        "parent_id": parent,
        "kind": kind.value,
        "name": name,
        "community_id": None if community is None else community + 1,
        "grid_id": None if grid is None else grid + 1,
    }


def add_building_leaders_and_groups(demo: Demo) -> None:
    """Building leaders for every building with households; 楼栋党小组 in the biggest buildings."""
    unled = set(DEMO_DEFECTS["buildings_without_leader"])
    by_grid: dict[int, list[dict]] = {}
    for b in demo.buildings:
        b["leader_id"] = None
        if b["households"] > 0 and b["code"] not in unled:
            b["leader_id"] = demo.people.add(PersonRole.building_leader)
        b["party_org_id"] = demo.branch_of_grid.get(b["grid"]) if b["grid"] >= 0 else None
        if b["grid"] >= 0:
            by_grid.setdefault(b["grid"], []).append(b)
    for g, rows in sorted(by_grid.items()):
        branch = demo.branch_of_grid.get(g)
        if branch is None:
            continue
        biggest = sorted(rows, key=lambda r: (-r["households"], r["code"]))
        for b in biggest[: 1 + int(demo.rng.random() < 0.4)]:
            org_id = len(demo.orgs) + 1
            cell = demo.cells[g]
            demo.orgs.append(
                _org(org_id, branch, OrgKind.group, f"{b['name']}党小组", cell.community, None)
            )
            b["party_org_id"] = org_id


def add_members(demo: Demo) -> None:
    """2,000 members: part-time grid workers, some building leaders, and other residents."""
    rng = demo.rng
    residential = [b for b in demo.buildings if b["households"] > 0 and b["grid"] >= 0]
    grid_of = np.array([b["grid"] for b in residential])
    weight = np.array([b["households"] for b in residential], dtype=float)
    joint = {o["community_id"] - 1: o["id"] for o in demo.orgs if o["kind"] == "joint_branch"}
    seeds: list[tuple[int, dict, list[MemberCategory]]] = []
    for g, workers in demo.grid_workers.items():
        in_grid = np.flatnonzero(grid_of == g)
        for person, part_time in workers:
            if part_time:
                b = residential[int(rng.choice(in_grid, p=weight[in_grid] / weight[in_grid].sum()))]
                cats = [MemberCategory.resident, MemberCategory.retired, MemberCategory.in_service]
                seeds.append((person, b, cats))
    led = [b for b in residential if b["leader_id"] is not None]
    for i in np.sort(rng.choice(len(led), size=len(led) // 4, replace=False)):
        cats = [MemberCategory.resident, MemberCategory.retired, MemberCategory.retired_cadre]
        seeds.append((led[i]["leader_id"], led[i], cats))
    n_new = _N_MEMBERS - len(seeds)
    picks = rng.choice(len(residential), size=n_new, p=weight / weight.sum())
    all_cats = list(_CATEGORY_P)
    cats_new = rng.choice(len(all_cats), size=n_new, p=list(_CATEGORY_P.values()))
    for pick, c in zip(picks, cats_new, strict=True):
        roles = [PersonRole.stairwell_leader] if rng.random() < 0.08 else []
        seeds.append((demo.people.add(*roles), residential[pick], [all_cats[c]]))
    for person, b, cats in seeds:
        category = cats[int(rng.integers(len(cats)))]
        org = demo.branch_of_grid.get(b["grid"], demo.committee_of[b["cell"].community])
        if rng.random() < 0.04:
            org = demo.committee_of[b["cell"].community]
        community = b["cell"].community
        roaming = category in (MemberCategory.floating, MemberCategory.in_service)
        if community in joint and roaming and rng.random() < 0.3:
            org = joint[community]
        demo.members.append(_member_row(len(demo.members) + 1, person, org, category, b, rng))


def _member_row(
    member_id: int,
    person: int,
    org: int,
    category: MemberCategory,
    b: dict,
    rng: np.random.Generator,
) -> dict:
    old = category in (MemberCategory.retired, MemberCategory.retired_cadre)
    start, end = (1965, 1998) if old else (1975, 2024)
    if category == MemberCategory.in_service:
        start = 1995
    joined = dt.date(int(rng.integers(start, end + 1)), int(rng.integers(1, 13)), 1)
    joined += dt.timedelta(days=int(rng.integers(0, 28)))
    registered, unit = None, None
    if category == MemberCategory.in_service:
        year = int(rng.integers(max(2015, joined.year + 1), 2026))
        registered = dt.date(year, int(rng.integers(1, 11)), 1)
        registered += dt.timedelta(days=int(rng.integers(0, 28)))
        unit = str(pick_one(rng, WORK_UNITS))
    status = "lost_contact" if category == MemberCategory.lost_contact else "active"
    return {
        "id": member_id,
        "person_id": person,
        "party_org_id": org,
        "category": category.value,
        "building_id": b["id"],
        "joined_on": joined,
        "registered_on": registered,
        "work_unit": unit,
        "status": status,
    }


_SPECIALTIES = (
    "法律咨询", "水电维修", "医疗保健", "心理疏导", "文艺宣传", "教育辅导", "政策宣讲", "家电维修",
    "助老服务", "环境整治", "矛盾调解", "电脑技术",
)  # fmt: skip


def member_extras(members: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Volunteer specialties (about a third of members) and the last known contact of lost-
    contact (1–6 years ago) and floating (1–18 months ago) members."""
    n = len(members)
    count = np.where(rng.random(n) < 0.35, rng.integers(1, 3, size=n), 0)
    picks = [rng.choice(len(_SPECIALTIES), size=k, replace=False) for k in count]
    specialties = [",".join(_SPECIALTIES[i] for i in sorted(p)) if len(p) else None for p in picks]
    days_ago = np.where(
        members["category"] == MemberCategory.lost_contact.value,
        rng.integers(365, 6 * 365, size=n),
        rng.integers(30, 540, size=n),
    )
    roaming = members["category"].isin(
        [MemberCategory.lost_contact.value, MemberCategory.floating.value]
    )
    contact = [  # never before joining (a member who joined since is last seen joining)
        max(settings.DEMO_REFERENCE_DATE - dt.timedelta(days=int(d)), joined) if r else None
        for d, r, joined in zip(days_ago, roaming, members["joined_on"], strict=True)
    ]
    return members.assign(
        specialties=pd.Series(specialties, dtype=object),
        last_contact_on=pd.Series(contact, dtype=object),
        version=1,  # the optimistic lock of member edits starts at 1
    )


def member_zones(members: pd.DataFrame, demo: Demo, rng: np.random.Generator) -> pd.DataFrame:
    """党员责任区: a quarter of the active members each look after 1–3 buildings of their own
    grid, starting with the one they live in."""
    by_grid: dict[int, list[int]] = {}
    grid_of_building = {}
    for b in demo.buildings:
        if b["households"] > 0 and b["grid"] >= 0:
            by_grid.setdefault(b["grid"], []).append(b["id"])
            grid_of_building[b["id"]] = b["grid"]
    active = members[(members["status"] == "active") & members["building_id"].notna()]
    chosen = active[rng.random(len(active)) < 0.25]
    rows: list[tuple[int, int]] = []
    for member_id, home in zip(chosen["id"], chosen["building_id"], strict=True):
        neighbours = [b for b in by_grid[grid_of_building[int(home)]] if b != int(home)]
        extra = rng.choice(neighbours, size=min(len(neighbours), int(rng.integers(0, 3))),
                           replace=False)  # fmt: skip
        rows.extend((int(member_id), int(b)) for b in [int(home), *sorted(extra)])
    frame = pd.DataFrame(rows, columns=["member_id", "building_id"])
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    return frame


def member_points(
    members: pd.DataFrame, requests: gpd.GeoDataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """党员积分 of the last 12 months under the rules of :mod:`gridmap.settings`: points for every
    request a member resolved, study sessions and activities (a few a year), and dues paid in
    each of the last three months by most active members."""
    ref = dt.datetime.combine(settings.DEMO_REFERENCE_DATE, dt.time(18, 0))
    rows: list[tuple[int, dt.datetime, str, int, object, object]] = []
    handled = requests[
        (requests["assignee_kind"] == "member") & requests["status"].isin(["resolved", "evaluated"])
    ]
    for member_id, at, request_id in zip(
        handled["assignee_id"], handled["resolved_at"], handled["id"], strict=True
    ):
        rows.append((int(member_id), pd.Timestamp(at).to_pydatetime(), "request",
                     settings.MEMBER_POINTS["request"], int(request_id), None))  # fmt: skip
    active = members[members["status"] == "active"]["id"].to_numpy()
    for kind, most, note in (("study", 6, "“三会一课”学习"), ("activity", 4, "志愿服务活动")):
        counts = rng.integers(0, most + 1, size=len(active))
        for member_id, n in zip(active, counts, strict=True):
            for day in np.sort(rng.integers(1, 365, size=n)):
                at = ref - dt.timedelta(days=int(day), hours=int(rng.integers(0, 9)))
                rows.append((int(member_id), at, kind, settings.MEMBER_POINTS[kind], None, note))
    paying = active[rng.random(len(active)) < 0.9]
    for months_ago in (2, 1, 0):
        month = (ref.replace(day=1) - dt.timedelta(days=31 * months_ago)).replace(day=5, hour=9)
        rows.extend((int(m), month, "dues", settings.MEMBER_POINTS["dues"], None, "按时交纳党费")
                    for m in paying)  # fmt: skip
    rows.sort(key=lambda r: (r[1], r[0], r[2]))
    frame = pd.DataFrame(rows, columns=["member_id", "at", "kind", "points", "request_id", "note"])
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    frame["request_id"] = nullable_ints(list(frame["request_id"]))
    frame["dues_month"] = [  # the once-a-month rule of dues, held by a unique index
        f"{at:%Y-%m}" if kind == "dues" else None
        for at, kind in zip(frame["at"], frame["kind"], strict=True)
    ]
    return frame
