"""The data model of DESIGN.md §3 as typed SQLAlchemy 2 ORM classes, one model for both backends.

Geometry columns use :class:`Geometry`: on SQLite a plain BLOB of WKB (nothing to install), on
PostgreSQL a PostGIS ``geometry(<type>, 4326)`` column with a GiST index. Every stored geometry is
WGS 84; areas and distances are computed elsewhere in a metric CRS. Enumerations are stored as
short strings (their ``value``) so both backends and plain SQL read them alike.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, ClassVar

import shapely
from geoalchemy2 import Geometry as PostGISGeometry
from geoalchemy2.elements import WKBElement
from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator, TypeEngine

from gridmap.settings import STORAGE_SRID

# --- the geometry column type -----------------------------------------------------------------


class Geometry(TypeDecorator[shapely.Geometry]):
    """A geometry column: WKB BLOB on SQLite, PostGIS ``geometry(type, 4326)`` on PostgreSQL.

    Binds :mod:`shapely` geometries or WKB bytes and returns shapely geometries. Bulk loading
    does not go through this per-row conversion: :mod:`gridmap.repository` reads WKB and
    decodes a whole column at once.

    Parameters
    ----------
    geometry_type : str
        ``"MULTIPOLYGON"``, ``"POINT"`` … (the PostGIS type modifier).
    """

    impl = LargeBinary
    cache_ok = True
    # Read by geoalchemy2's DDL hooks: gridmap creates its GiST indexes in its migrations.
    spatial_index = False
    use_N_D_index = False  # noqa: N815 - geoalchemy2's attribute name
    use_typmod = None
    srid = STORAGE_SRID
    dimension = 2

    def __init__(self, geometry_type: str = "GEOMETRY") -> None:
        super().__init__()
        self.geometry_type = geometry_type

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        # geoalchemy2's DDL hooks probe with dialect=None: answer "not PostGIS-managed" then.
        if dialect is None:
            return LargeBinary()
        if dialect.name == "postgresql":
            return dialect.type_descriptor(
                PostGISGeometry(self.geometry_type, srid=STORAGE_SRID, spatial_index=False)
            )
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, WKBElement):
            value = bytes(value.data)
        if isinstance(value, bytes | memoryview):  # WKB already (bulk writes encode at once)
            wkb = bytes(value)
            return WKBElement(wkb, srid=STORAGE_SRID) if dialect.name == "postgresql" else wkb
        if not isinstance(value, shapely.Geometry):
            raise TypeError(f"expected a shapely geometry, got {type(value).__name__}")
        if self.geometry_type == "MULTIPOLYGON" and isinstance(value, shapely.Polygon):
            value = shapely.MultiPolygon([value])
        wkb = shapely.to_wkb(value)
        if dialect.name == "postgresql":
            return WKBElement(wkb, srid=STORAGE_SRID)
        return wkb

    def process_result_value(self, value: Any, dialect: Dialect) -> shapely.Geometry | None:
        if value is None:
            return None
        if isinstance(value, WKBElement):
            return shapely.from_wkb(bytes(value.data))
        if isinstance(value, str):  # hex EWKB from a raw PostGIS driver
            return shapely.from_wkb(value)
        return shapely.from_wkb(bytes(value))

    def __repr__(self) -> str:
        return f"Geometry({self.geometry_type!r})"


# --- enumerations -----------------------------------------------------------------------------


class PlanStatus(enum.StrEnum):
    """Life of a grid plan: draft → proposed → approved → active → retired."""

    draft = "draft"
    proposed = "proposed"
    approved = "approved"
    active = "active"
    retired = "retired"


class OrgKind(enum.StrEnum):
    """Kinds of Party organisation (党组织)."""

    working_committee = "working_committee"  # 党工委
    committee = "committee"  # 党委
    general_branch = "general_branch"  # 党总支
    branch = "branch"  # 党支部
    joint_branch = "joint_branch"  # 联合党支部
    group = "group"  # 党小组


class MemberCategory(enum.StrEnum):
    """Categories of Party member (DESIGN.md §1)."""

    resident = "resident"  # 在册居民党员
    in_service = "in_service"  # 在职党员（双报到）
    retired = "retired"  # 离退休党员
    floating = "floating"  # 流动党员
    lost_contact = "lost_contact"  # 失联党员
    retired_cadre = "retired_cadre"  # 离退休干部
    unemployed = "unemployed"  # 下岗失业党员


class PersonRole(enum.StrEnum):
    """Roles a person holds in the grid (a person may hold several)."""

    grid_leader = "grid_leader"  # 网格长
    grid_worker = "grid_worker"  # 网格员
    building_leader = "building_leader"  # 楼栋长
    stairwell_leader = "stairwell_leader"  # 单元长


class StationLevel(enum.StrEnum):
    """Level of a Party–mass service station (党群服务站/点)."""

    street = "street"  # 街道党群服务中心
    community = "community"  # 社区党群服务站
    compound = "compound"  # 小区党群服务点


class RequestSource(enum.StrEnum):
    """Where a request came from: 查、访、报 and the 12345 hotline."""

    inspection = "inspection"  # 查
    visit = "visit"  # 访
    report = "report"  # 报
    hotline = "hotline"  # 12345


class RequestStatus(enum.StrEnum):
    """收、办、评 — the states of a request."""

    received = "received"  # 已受理
    assigned = "assigned"  # 已派单
    escalated = "escalated"  # 已上报
    resolved = "resolved"  # 已办结
    evaluated = "evaluated"  # 已评价
    rejected = "rejected"  # 不予受理


class AssigneeKind(enum.StrEnum):
    """Who a request is assigned to."""

    grid_worker = "grid_worker"  # 网格员
    member = "member"  # 党员领单
    department = "department"  # 部门接单
    street = "street"  # 上报街道


class DecisionLevel(enum.StrEnum):
    """Where a request was decided: 楼栋听事、小区议事、社区决事."""

    building = "building"  # 楼栋
    compound = "compound"  # 小区
    community = "community"  # 社区


class RequestOutcome(enum.StrEnum):
    """The resident's own answer, when asked after handling, whether the request was solved."""

    solved = "solved"  # 已解决
    partly_solved = "partly_solved"  # 部分解决
    not_solved = "not_solved"  # 未解决


class CloseReason(enum.StrEnum):
    """Why a request was rejected (不予受理) — a code from a fixed list, besides the note."""

    not_our_responsibility = "not_our_responsibility"  # 不属于受理范围
    duplicate = "duplicate"  # 重复诉求
    cannot_contact = "cannot_contact"  # 无法联系诉求人
    other_body = "other_body"  # 已由其他单位办理
    legal_process = "legal_process"  # 属司法、仲裁等法定途径
    other = "other"  # 其他


class PointKind(enum.StrEnum):
    """What a member earned points for (党员积分)."""

    study = "study"  # 学习
    activity = "activity"  # 活动
    request = "request"  # 办理诉求
    dues = "dues"  # 按时交纳党费
    other = "other"


class BuildingKind(enum.StrEnum):
    """What a building is used for."""

    residential = "residential"  # 住宅
    office = "office"  # 写字楼
    commercial = "commercial"  # 商业
    mixed = "mixed"  # 商住混合
    public = "public"  # 公共建筑 (学校、医院、机关)
    industrial = "industrial"  # 工业


class OrganisationKind(enum.StrEnum):
    """两新组织: non-public enterprises and social organisations."""

    enterprise = "enterprise"  # 非公有制企业
    social = "social"  # 社会组织


class PartyCoverage(enum.StrEnum):
    """How an organisation is covered by Party organisation (党的组织覆盖)."""

    own_branch = "own_branch"  # 单独建立党组织
    joint_branch = "joint_branch"  # 联合党支部
    liaison = "liaison"  # 仅选派党建指导员
    none = "none"  # 未覆盖


class UserRole(enum.StrEnum):
    """Application roles (DESIGN.md §3)."""

    street_admin = "street_admin"
    secretary = "secretary"
    grid_worker = "grid_worker"
    planner = "planner"
    viewer = "viewer"


def _enum(cls: type[enum.StrEnum]) -> SAEnum:
    """Store an enum as its string value in a VARCHAR, the same on both backends."""
    return SAEnum(
        cls,
        native_enum=False,
        length=24,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
        name=cls.__name__.lower(),
    )


# --- the declarative base ---------------------------------------------------------------------

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention (stable Alembic migrations)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _fk(target: str, **kwargs: Any) -> ForeignKey:
    """A foreign key; deferrable ones are checked at commit so cycles can be written at once."""
    return ForeignKey(target, **kwargs)


# --- administrative areas ---------------------------------------------------------------------


class Street(Base):
    """街道: a sub-district; its Party working committee runs all communities in it."""

    __tablename__ = "street"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    geom: Mapped[shapely.Geometry | None] = mapped_column(Geometry("MULTIPOLYGON"))

    communities: Mapped[list[Community]] = relationship(back_populates="street")


class StreetSetting(Base):
    """A choice a street makes for itself in the app (the weights of the coverage score and of
    the planning ranking …): JSON ``value`` under ``key``, who set it and when. A key without a
    row takes its default from :mod:`gridmap.settings`."""

    __tablename__ = "street_setting"
    __table_args__ = (UniqueConstraint("street_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(_fk("street.id"))
    key: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    user_id: Mapped[int | None] = mapped_column(_fk("user.id"))


class Community(Base):
    """社区: 10k–40k residents, divided into grids."""

    __tablename__ = "community"
    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(_fk("street.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    geom: Mapped[shapely.Geometry | None] = mapped_column(Geometry("MULTIPOLYGON"))

    street: Mapped[Street] = relationship(back_populates="communities")


class GridPlan(Base):
    """网格划分方案: a versioned set of grid boundaries for one community.

    At most one plan of a community is ``active``: the database holds it (a partial unique
    index on ``community_id`` where ``status = 'active'``, both backends), so no race between
    two activations can leave two.
    """

    __tablename__ = "grid_plan"
    __table_args__ = (
        Index(
            "uq_grid_plan_one_active",
            "community_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(_fk("community.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    status: Mapped[PlanStatus] = mapped_column(_enum(PlanStatus), default=PlanStatus.draft)
    created_by: Mapped[int | None] = mapped_column(_fk("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    approved_by: Mapped[int | None] = mapped_column(_fk("user.id"))
    approved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    note: Mapped[str | None] = mapped_column(Text)


class Grid(Base):
    """网格: the basic unit of management and Party building; a polygon in one plan."""

    __tablename__ = "grid"
    __table_args__ = (UniqueConstraint("plan_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(_fk("grid_plan.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    geom: Mapped[shapely.Geometry | None] = mapped_column(Geometry("MULTIPOLYGON"))
    leader_id: Mapped[int | None] = mapped_column(_fk("person.id"))
    # grid ↔ party_org refer to each other: both keys are checked at commit (deferred).
    party_org_id: Mapped[int | None] = mapped_column(
        _fk("party_org.id", deferrable=True, initially="DEFERRED")
    )
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}


class GridWorker(Base):
    """网格员 assignment: a person working in a grid, full-time or part-time (兼职网格员)."""

    __tablename__ = "grid_worker"
    __table_args__ = (UniqueConstraint("grid_id", "person_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    grid_id: Mapped[int] = mapped_column(_fk("grid.id"), index=True)
    person_id: Mapped[int] = mapped_column(_fk("person.id"), index=True)
    part_time: Mapped[bool] = mapped_column(default=False)


class Building(Base):
    """楼栋: the smallest unit, a polygon with households and residents.

    ``grid_id`` stores the building's grid in its community's active plan, by the one
    assignment rule (:func:`gridmap.coverage.assign_buildings`); every write that changes grids
    or buildings recomputes it in the same transaction
    (:func:`gridmap.repository.refresh_building_grids`). ``households_estimated`` and
    ``residents_estimated`` mark figures estimated at import (footprint × floors, households ×
    residents per household) rather than counted: they are shown as estimates everywhere.
    """

    __tablename__ = "building"
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(_fk("community.id"), index=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    geom: Mapped[shapely.Geometry | None] = mapped_column(Geometry("MULTIPOLYGON"))
    households: Mapped[int] = mapped_column(Integer, default=0)
    residents: Mapped[int] = mapped_column(Integer, default=0)
    households_estimated: Mapped[bool] = mapped_column(default=False, server_default=false())
    residents_estimated: Mapped[bool] = mapped_column(default=False, server_default=false())
    leader_id: Mapped[int | None] = mapped_column(_fk("person.id"))
    party_org_id: Mapped[int | None] = mapped_column(_fk("party_org.id"))
    grid_id: Mapped[int | None] = mapped_column(_fk("grid.id"), index=True)
    kind: Mapped[BuildingKind] = mapped_column(
        _enum(BuildingKind), default=BuildingKind.residential, server_default="residential"
    )
    #: For compounds (小区): the year it was completed, and whether Party–mass activity space
    #: was reserved (新建小区配建党群活动场所); None where unknown.
    completion_year: Mapped[int | None] = mapped_column(Integer)
    activity_space_reserved: Mapped[bool | None] = mapped_column()


class Organisation(Base):
    """两新组织: a non-public enterprise or social organisation located in a building, and how
    Party organisation covers it."""

    __tablename__ = "organisation"
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(_fk("community.id"), index=True)
    building_id: Mapped[int | None] = mapped_column(_fk("building.id"), index=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # 统一社会信用代码 or local code
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[OrganisationKind] = mapped_column(_enum(OrganisationKind))
    industry: Mapped[str] = mapped_column(String(40))
    employees: Mapped[int] = mapped_column(Integer, default=0)
    #: Party members working there (their relation may sit anywhere).
    members: Mapped[int] = mapped_column(Integer, default=0)
    coverage: Mapped[PartyCoverage] = mapped_column(
        _enum(PartyCoverage), default=PartyCoverage.none
    )
    party_org_id: Mapped[int | None] = mapped_column(_fk("party_org.id"))
    #: 党建指导员: the person sent to guide it.
    liaison_id: Mapped[int | None] = mapped_column(_fk("person.id"))


class ServiceStation(Base):
    """党群服务站(点): a Party–mass service point."""

    __tablename__ = "service_station"
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int | None] = mapped_column(_fk("community.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[StationLevel] = mapped_column(_enum(StationLevel))
    geom: Mapped[shapely.Geometry | None] = mapped_column(Geometry("POINT"))
    opening_hours: Mapped[str | None] = mapped_column(String(100))


# --- organisation and people ------------------------------------------------------------------


class PartyOrg(Base):
    """党组织: one node of street working committee → community → grid branch → building group."""

    __tablename__ = "party_org"
    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(_fk("party_org.id"), index=True)
    kind: Mapped[OrgKind] = mapped_column(_enum(OrgKind))
    name: Mapped[str] = mapped_column(String(100))
    community_id: Mapped[int | None] = mapped_column(_fk("community.id"), index=True)
    grid_id: Mapped[int | None] = mapped_column(
        _fk("grid.id", deferrable=True, initially="DEFERRED"), index=True
    )


class Person(Base):
    """A person (personal data): name, phone, last digits of the ID card, and grid roles.

    ``roles`` is a comma-separated list of :class:`PersonRole` values.
    """

    __tablename__ = "person"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(20))
    id_suffix: Mapped[str | None] = mapped_column(String(6))
    roles: Mapped[str] = mapped_column(String(200), default="")


class Member(Base):
    """党员: a Party member and the organisation their relation sits in."""

    __tablename__ = "member"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(_fk("person.id"), index=True)
    party_org_id: Mapped[int | None] = mapped_column(_fk("party_org.id"), index=True)
    category: Mapped[MemberCategory] = mapped_column(_enum(MemberCategory))
    building_id: Mapped[int | None] = mapped_column(_fk("building.id"), index=True)
    joined_on: Mapped[dt.date | None] = mapped_column(Date)
    registered_on: Mapped[dt.date | None] = mapped_column(Date)  # 双报到 date
    work_unit: Mapped[str | None] = mapped_column(String(100))  # in-service members' employer
    status: Mapped[str] = mapped_column(String(20), default="active")
    #: Volunteer specialties (志愿服务特长), comma-separated, e.g. "法律咨询,水电维修".
    specialties: Mapped[str | None] = mapped_column(String(200))
    #: Last known contact, for lost-contact (失联) and floating (流动) members.
    last_contact_on: Mapped[dt.date | None] = mapped_column(Date)
    #: Optimistic lock: raised by every update (the database's trigger sees to it); an edit
    #: carrying the version it read is refused once someone else changed the member.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class MemberZone(Base):
    """党员责任区: a building a member looks after (a zone is the set of a member's rows)."""

    __tablename__ = "member_zone"
    __table_args__ = (UniqueConstraint("member_id", "building_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(_fk("member.id"), index=True)
    building_id: Mapped[int] = mapped_column(_fk("building.id"), index=True)


class MemberPoint(Base):
    """One entry of a member's points (党员积分): what for, when, how many.

    The database holds the once-only rules: ``dues_month`` (``YYYY-MM``, set on dues entries
    only) is unique per member, and so is a request's entry of each reason (``request_id`` and
    ``note``: handled, rated well).
    """

    __tablename__ = "member_point"
    __table_args__ = (
        Index("uq_member_point_dues_month", "member_id", "dues_month", unique=True),
        # an entry without a note counts as the note "": NULLs would never clash
        Index(
            "uq_member_point_request",
            "member_id",
            "request_id",
            func.coalesce(text("note"), ""),
            unique=True,
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(_fk("member.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    kind: Mapped[PointKind] = mapped_column(_enum(PointKind))
    points: Mapped[int] = mapped_column(Integer)
    request_id: Mapped[int | None] = mapped_column(_fk("request.id"))
    note: Mapped[str | None] = mapped_column(Text)
    dues_month: Mapped[str | None] = mapped_column(String(7))


# --- requests ---------------------------------------------------------------------------------


class Request(Base):
    """诉求: a resident's request with a location, through 收、办、评."""

    __tablename__ = "request"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    source: Mapped[RequestSource] = mapped_column(_enum(RequestSource))
    category: Mapped[str] = mapped_column(String(40), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    geom: Mapped[shapely.Geometry | None] = mapped_column(Geometry("POINT"))
    building_id: Mapped[int | None] = mapped_column(_fk("building.id"), index=True)
    grid_id: Mapped[int | None] = mapped_column(_fk("grid.id"), index=True)
    status: Mapped[RequestStatus] = mapped_column(_enum(RequestStatus), index=True)
    reporter: Mapped[str | None] = mapped_column(String(50))  # stored masked, e.g. 张*明
    assignee_kind: Mapped[AssigneeKind | None] = mapped_column(_enum(AssigneeKind))
    assignee_id: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    due_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_note: Mapped[str | None] = mapped_column(Text)
    decision_level: Mapped[DecisionLevel | None] = mapped_column(_enum(DecisionLevel))
    #: The source system's number (12345 工单号): re-importing the same file adds nothing.
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    address: Mapped[str | None] = mapped_column(String(200))
    #: The resident's answer at evaluation: solved, partly solved or not solved.
    outcome: Mapped[RequestOutcome | None] = mapped_column(_enum(RequestOutcome))
    #: Why it was rejected, or closed other than by the work done (a code of
    #: :class:`CloseReason`); NULL otherwise.
    close_reason: Mapped[CloseReason | None] = mapped_column(_enum(CloseReason))
    #: The government department it was sent to (部门接单); NULL unless sent to one.
    department: Mapped[str | None] = mapped_column(String(60))
    #: The request this one was merged into as a duplicate; NULL unless merged.
    duplicate_of: Mapped[int | None] = mapped_column(Integer, index=True)
    #: Residents behind it: 1, plus those of every duplicate merged into it ("me too").
    reporters: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class RequestEvent(Base):
    """One transition of a request, with time, the user who made it (``user_id``: the logged-in
    account; NULL for history from before accounts) and the grid worker or leader it was made
    for (``actor_id``: set when someone records a paper form on that person's behalf)."""

    __tablename__ = "request_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(_fk("request.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    actor_id: Mapped[int | None] = mapped_column(_fk("person.id"))
    user_id: Mapped[int | None] = mapped_column(_fk("user.id"), index=True)
    from_status: Mapped[RequestStatus | None] = mapped_column(_enum(RequestStatus))
    to_status: Mapped[RequestStatus] = mapped_column(_enum(RequestStatus))
    note: Mapped[str | None] = mapped_column(Text)


# --- users and audit --------------------------------------------------------------------------


class User(Base):
    """An application user with a role and a scope (street, community or grid).

    ``session_epoch`` goes up with every password change or reset, change of role or scope and
    disabling: a session remembers the epoch it logged in with and ends once it is stale, also
    when the change was made by another process (the CLI).
    """

    __tablename__ = "user"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[UserRole] = mapped_column(_enum(UserRole))
    street_id: Mapped[int | None] = mapped_column(_fk("street.id"))
    community_id: Mapped[int | None] = mapped_column(_fk("community.id"))
    grid_id: Mapped[int | None] = mapped_column(_fk("grid.id"))
    disabled: Mapped[bool] = mapped_column(default=False)
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class LoginAttempt(Base):
    """The login throttle of one normalised user name (known or not), keyed by its SHA-256.

    ``failures`` counts the attempts reserved (before their password is checked) since the
    last success, ``pending`` those whose check is still running; ``last_at`` is the latest.
    Updated atomically in the database, so parallel logins cannot check more than
    ``settings.LOGIN_MAX_FAILURES`` passwords per lockout window.
    """

    __tablename__ = "login_attempt"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    pending: Mapped[int] = mapped_column(Integer, default=0)
    last_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)


class DemoFingerprint(Base):
    """The digest of the demo street's content, recorded when the demo is built (one row).

    Demo logins work only while the street's data still has this digest over ``columns``
    (JSON: table → the columns hashed), i.e. on the unchanged demo.
    """

    __tablename__ = "demo_fingerprint"
    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    columns: Mapped[str] = mapped_column(Text)


class AuditLog(Base):
    """One write, who made it and what changed (before/after as JSON text). Append-only.

    ``origin`` is ``live`` for a row this database wrote, ``restored`` for a row a restore
    brought in from a backup file (history from a file, never shown as live).
    """

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    user_id: Mapped[int | None] = mapped_column(_fk("user.id"))
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(10), default="live", server_default="live")


#: Tables holding a geometry column, with the column's PostGIS type (the GiST-indexed layers).
GEOMETRY_TABLES: dict[str, str] = {
    "street": "MULTIPOLYGON",
    "community": "MULTIPOLYGON",
    "grid": "MULTIPOLYGON",
    "building": "MULTIPOLYGON",
    "service_station": "POINT",
    "request": "POINT",
}

# GiST indexes exist only on PostgreSQL (SQLite keeps WKB and analysis uses STRtree in memory).
for _table in GEOMETRY_TABLES:
    Index(
        f"ix_{_table}_geom",
        Base.metadata.tables[_table].c.geom,
        postgresql_using="gist",
    ).ddl_if(dialect="postgresql")


#: Tables that belong to the installation rather than to the street's data: the accounts, the
#: append-only audit log, the login throttle and the demo's fingerprint. Replacing a street
#: (``demo --force``, ``restore``) keeps them.
ACCOUNT_TABLES = ("user", "audit_log", "login_attempt", "demo_fingerprint")


def table_order() -> tuple[list[Table], list[ForeignKey]]:
    """Tables in an order that inserts parents first, and the foreign keys filled in last.

    The model has cycles: grid ↔ party_org (deferrable keys, checked at commit) and
    grid → grid_plan → user → grid. The user's street/community/grid keys break the second:
    users are written with them empty and updated once every table is in.
    """
    from sqlalchemy.schema import sort_tables

    late = list(Base.metadata.tables["user"].foreign_keys)
    order = sort_tables(
        Base.metadata.tables.values(), skip_fn=lambda fk: bool(fk.deferrable) or fk in late
    )
    return order, late


def street_tables() -> list[Table]:
    """The street's data tables, parents first: every table but :data:`ACCOUNT_TABLES`."""
    return [t for t in table_order()[0] if t.name not in ACCOUNT_TABLES]
