"""The demo's organisations (两新组织: firms and social organisations) and their blind spots.

:func:`draw_organisations` fills the office and commercial quarter
(:data:`~gridmap.demo.layout.QUARTER_COMMUNITY`) and a few buildings elsewhere with firms and
social organisations, each covered by the rule of its Party members — its own branch, a joint
branch or a liaison — except the deliberate blind spots (``organisations_uncovered`` of
:data:`~gridmap.demo.layout.DEMO_DEFECTS`), placed by their distances to each other so that the
coverage analysis finds them (uncovered, liaison only, only in a joint branch, one joint branch
to propose).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap import settings
from gridmap.demo.frames import nullable_ints
from gridmap.demo.layout import ELSEWHERE_DEFECT_COMMUNITY, QUARTER_COMMUNITY
from gridmap.models import OrgKind

#: Name template and kind of the demo's organisations, by industry.
_ORG_TEMPLATES: dict[str, tuple[str, str]] = {
    "汽车零部件": ("十堰{}汽车零部件有限公司", "enterprise"),
    "电子商务": ("十堰{}电子商务有限公司", "enterprise"),
    "物流快递": ("十堰{}物流有限公司", "enterprise"),
    "餐饮": ("十堰{}餐饮管理有限公司", "enterprise"),
    "商贸零售": ("十堰{}商贸有限公司", "enterprise"),
    "信息技术": ("十堰{}网络科技有限公司", "enterprise"),
    "文化传媒": ("十堰{}文化传媒有限公司", "enterprise"),
    "咨询服务": ("十堰{}企业管理咨询有限公司", "enterprise"),
    "医疗健康": ("十堰{}口腔诊所", "enterprise"),
    "法律服务": ("湖北{}律师事务所", "social"),
    "社会工作": ("十堰市{}社会工作服务中心", "social"),
    "教育培训": ("十堰市张湾区{}培训学校", "social"),
}
_OFFICE_INDUSTRIES = ("信息技术", "电子商务", "文化传媒", "咨询服务", "法律服务", "社会工作",
                      "教育培训", "汽车零部件")  # fmt: skip
_SHOP_INDUSTRIES = ("餐饮", "商贸零售", "物流快递", "医疗健康", "电子商务", "教育培训")
_BRANDS = (
    "华泰", "金桥", "恒通", "汉江", "武当", "博远", "新元", "东成", "瑞丰", "安和", "德润", "宏图",
    "天诚", "百川", "众合", "卓越", "锦程", "通达", "嘉禾", "盛世", "鼎新", "永兴", "康宁", "启航",
    "聚力", "远景", "和信", "同心", "长青", "优创", "智联", "广益", "诚信", "方圆", "美佳", "合众",
)  # fmt: skip
#: The deliberate blind spots, in code order (O001…): industry, brand, employees, members,
#: coverage and where (anchor: a quarter building; near1/near2: its two nearest quarter
#: buildings; far: the quarter building farthest from it; elsewhere: an office building of
#: ELSEWHERE_DEFECT_COMMUNITY).
_DEFECT_ORGS: tuple[tuple[str, str, int, int, str, str], ...] = (
    ("汽车零部件", "鑫达", 48, 5, "none", "far"),  # ≥ 3 members, no branch of its own
    ("电子商务", "云途", 12, 1, "none", "anchor"),  # small, uncovered: joint branch proposed
    ("物流快递", "速达", 9, 2, "liaison", "near1"),  # small, liaison only: not enough
    ("商贸零售", "优品", 6, 0, "none", "near2"),  # no members, no liaison
    ("法律服务", "明德", 8, 1, "none", "far"),  # small, uncovered, no similar neighbour
    ("餐饮", "楚风", 35, 4, "joint_branch", "anchor"),  # ≥ 3 members only in a joint branch
    ("社会工作", "暖阳", 7, 0, "none", "elsewhere"),  # social organisation outside the quarter
)


def _org_places(buildings: gpd.GeoDataFrame) -> dict[str, int]:
    """Positions (in ``buildings``) of the defect organisations' buildings."""
    metric = buildings.to_crs(buildings.estimate_utm_crs())
    use = metric["kind"].isin(["commercial", "office", "mixed"])
    quarter = np.flatnonzero((use & metric["code"].str.startswith(QUARTER_COMMUNITY)).to_numpy())
    geoms = np.asarray(metric.geometry.values, dtype=object)[quarter]
    dist = shapely.distance(geoms[:, None], geoms[None, :])
    close = (dist <= 0.75 * settings.ORG_ADJACENT_M).sum(axis=1)
    anchor = int(np.argmax(close))  # the first with the most close neighbours
    nearest = np.argsort(dist[anchor], kind="stable")
    other = metric["code"].str.startswith(ELSEWHERE_DEFECT_COMMUNITY) & (metric["kind"] == "office")
    return {
        "anchor": int(quarter[anchor]),
        "near1": int(quarter[nearest[1]]),
        "near2": int(quarter[nearest[2]]),
        "far": int(quarter[int(np.argmax(dist[anchor]))]),
        "elsewhere": int(np.flatnonzero(other.to_numpy())[0]),
    }


def draw_organisations(tables: dict[str, pd.DataFrame], rng: np.random.Generator) -> pd.DataFrame:
    """The office and commercial quarter's firms and social organisations (plus a few
    elsewhere): mostly covered by their rule, with the blind spots of :data:`_DEFECT_ORGS`."""
    buildings = tables["building"]
    orgs = tables["party_org"]
    joint = {
        int(c): int(i)
        for c, i in zip(
            orgs.loc[orgs["kind"] == OrgKind.joint_branch.value, "community_id"],
            orgs.loc[orgs["kind"] == OrgKind.joint_branch.value, "id"],
            strict=True,
        )
    }
    grid_code = dict(zip(tables["grid"]["id"], tables["grid"]["code"], strict=True))
    workers = tables["grid_worker"].assign(community=lambda f: f["grid_id"].map(grid_code).str[:13])
    liaisons = {
        c: sorted(set(f["person_id"]))[:3] for c, f in workers.groupby("community", sort=True)
    }
    rows: list[dict] = []
    counter: dict[str, int] = {}

    def add(pos: int, industry: str, brand: str, employees: int, members: int, coverage: str,
            party_org: int | None = None, liaison: int | None = None) -> None:  # fmt: skip
        community = str(buildings["code"].iloc[pos])[:13]
        counter[community] = counter.get(community, 0) + 1
        template, kind = _ORG_TEMPLATES[industry]
        rows.append(
            {
                "community_id": int(buildings["community_id"].iloc[pos]),
                "building_id": int(buildings["id"].iloc[pos]),
                "code": f"{community}-O{counter[community]:03d}",
                "name": template.format(brand),
                "kind": kind,
                "industry": industry,
                "employees": int(employees),
                "members": int(members),
                "coverage": coverage,
                "party_org_id": party_org,
                "liaison_id": liaison,
            }
        )

    places = _org_places(buildings)
    for industry, brand, employees, members, coverage, where in _DEFECT_ORGS:
        community = str(buildings["code"].iloc[places[where]])[:13]
        party_org = joint.get(int(buildings["community_id"].iloc[places[where]]))
        add(places[where], industry, brand, employees, members, coverage,
            party_org if coverage == "joint_branch" else None,
            liaisons[community][0] if coverage == "liaison" else None)  # fmt: skip

    use = buildings["kind"].isin(["commercial", "office", "mixed"]).to_numpy()
    in_quarter = buildings["code"].str.startswith(QUARTER_COMMUNITY).to_numpy()
    quarter = list(np.flatnonzero(use & in_quarter))
    others = np.flatnonzero(use & ~in_quarter)
    elsewhere = sorted(rng.choice(others, size=min(12, len(others)), replace=False).tolist())
    brands = iter(rng.permutation(len(_BRANDS)).tolist() * 4)
    places_list = [p for p in quarter for _ in range(int(rng.integers(1, 4)))] + elsewhere
    for pos in places_list:
        community = str(buildings["code"].iloc[pos])[:13]
        pool = _OFFICE_INDUSTRIES if buildings["kind"].iloc[pos] == "office" else _SHOP_INDUSTRIES
        industry = str(pool[int(rng.integers(len(pool)))])
        employees = max(2, int(np.exp(rng.normal(2.3, 0.8))))
        members = int(rng.binomial(employees, 0.07))
        party_org = joint.get(int(buildings["community_id"].iloc[pos]))
        if 0 < members < settings.BRANCH_MIN_MEMBERS and party_org is None:
            members = 0  # no joint branch nearby: its members' relations sit elsewhere
        if members >= settings.BRANCH_MIN_MEMBERS:
            coverage, party_org, liaison = "own_branch", None, None
        elif members > 0 or (party_org is not None and rng.random() < 0.3):
            coverage, liaison = "joint_branch", None
        else:
            pick = liaisons[community]
            coverage, party_org, liaison = "liaison", None, int(pick[int(rng.integers(len(pick)))])
        add(pos, industry, _BRANDS[next(brands)], employees, members, coverage, party_org, liaison)

    frame = pd.DataFrame(rows).sort_values("code", kind="stable").reset_index(drop=True)
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    frame["party_org_id"] = nullable_ints(list(frame["party_org_id"]))
    frame["liaison_id"] = nullable_ints(list(frame["liaison_id"]))
    return frame
