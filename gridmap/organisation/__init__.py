"""The organisation side: Party organisation tree, leaders, members, zones, points and the
organisation-form advice.

Every edit is one transaction (:func:`gridmap.db.transaction`): it checks its input, writes, then
re-checks the whole tree (no cycles, no orphans, allowed parent kinds, one community per branch)
before it commits, so a failed edit leaves nothing behind. Grid edits (leader, workers, the
grid's branch) respect :attr:`gridmap.models.Grid.version`: the caller passes the version it
read, and an edit of a grid changed since then raises :class:`~gridmap.errors.ConflictError`.

Tree (DESIGN.md §1): street working committee 党工委 → community committee 党委 (or general
branch 党总支) → grid branch 党支部 / joint branch 联合党支部 → building group 党小组.

Personal data
    Names, phones and ID suffixes are stored once in ``person``. Everything read here is
    masked (张*明, 138****1234, ****) unless ``personal_data=True`` is passed and the acting
    principal's role (:mod:`gridmap.auth`) may see them.

Modules
    :mod:`~gridmap.organisation.kinds` labels and tree rules · :mod:`~.reading` load and check
    · :mod:`~.checks` small checks shared by the edits · :mod:`~.tree` tree edits ·
    :mod:`~.people` people and leaders · :mod:`~.members` members · :mod:`~.points` points ·
    :mod:`~.bulk` bulk import · :mod:`~.forms` organisation-form advice and lost-contact
    members · :mod:`~.street` whole-street reads. Import from the package: every public name
    is re-exported here.

Public API
    Reading: :func:`load_organisation`, :func:`org_tree`, :func:`check_tree`,
    :func:`mask_persons`, :func:`grid_versions`.
    Tree: :func:`create_org`, :func:`rename_org`, :func:`change_org_kind`, :func:`move_org`,
    :func:`dissolve_org`.
    People and leaders: :func:`add_person`, :func:`edit_person`, :func:`set_grid_leader`,
    :func:`add_grid_worker`, :func:`remove_grid_worker`, :func:`set_building_leader`,
    :func:`set_stairwell_leader`.
    Members: :func:`add_member`, :func:`add_new_member`, :func:`edit_member`,
    :func:`move_members`, :func:`register_in_service`, :func:`set_member_zone`.
    Points: :func:`points_for_entry`, :func:`award_points`, :func:`points_summary`.
    Import: :func:`read_member_file`, :func:`import_members`.
    Advice: :func:`organisation_advice`, :func:`required_form`, :func:`joint_partners`,
    :func:`lost_contact_members`, :func:`lost_contact_summary`.
    Whole street: :func:`street_advice`, :func:`street_lost_contact`, :func:`zone_buildings`,
    :func:`grid_staff`.
"""

from __future__ import annotations

from gridmap.organisation.bulk import MEMBER_FILE_COLUMNS, import_members, read_member_file
from gridmap.organisation.forms import (
    ADVICE_COLUMNS,
    FORM_LABELS,
    LOST_COLUMNS,
    STATUS_LABELS,
    OrgFormAdvice,
    joint_partners,
    lost_contact_members,
    lost_contact_summary,
    organisation_advice,
    required_form,
)
from gridmap.organisation.kinds import (
    ALLOWED_PARENTS,
    CATEGORY_LABELS,
    GRID_ORG_KINDS,
    KIND_LABELS,
    MEMBER_ORG_KINDS,
    MEMBER_STATUSES,
    POINT_LABELS,
    ROLE_LABELS,
)
from gridmap.organisation.members import (
    add_member,
    add_new_member,
    edit_member,
    move_members,
    register_in_service,
    set_member_zone,
)
from gridmap.organisation.people import (
    add_grid_worker,
    add_person,
    edit_person,
    remove_grid_worker,
    set_building_leader,
    set_grid_leader,
    set_stairwell_leader,
)
from gridmap.organisation.points import award_points, points_for_entry, points_summary
from gridmap.organisation.reading import (
    OrgData,
    check_tree,
    grid_versions,
    load_organisation,
    mask_persons,
    org_tree,
)
from gridmap.organisation.street import (
    grid_staff,
    street_advice,
    street_lost_contact,
    zone_buildings,
)
from gridmap.organisation.tree import (
    change_org_kind,
    create_org,
    dissolve_org,
    move_org,
    rename_org,
)

__all__ = [
    "ADVICE_COLUMNS",
    "ALLOWED_PARENTS",
    "CATEGORY_LABELS",
    "FORM_LABELS",
    "GRID_ORG_KINDS",
    "KIND_LABELS",
    "LOST_COLUMNS",
    "MEMBER_FILE_COLUMNS",
    "MEMBER_ORG_KINDS",
    "MEMBER_STATUSES",
    "POINT_LABELS",
    "ROLE_LABELS",
    "STATUS_LABELS",
    "OrgData",
    "OrgFormAdvice",
    "add_grid_worker",
    "add_member",
    "add_new_member",
    "add_person",
    "award_points",
    "change_org_kind",
    "check_tree",
    "create_org",
    "dissolve_org",
    "edit_member",
    "edit_person",
    "grid_staff",
    "grid_versions",
    "import_members",
    "joint_partners",
    "load_organisation",
    "lost_contact_members",
    "lost_contact_summary",
    "mask_persons",
    "move_members",
    "move_org",
    "org_tree",
    "organisation_advice",
    "points_for_entry",
    "points_summary",
    "read_member_file",
    "register_in_service",
    "remove_grid_worker",
    "rename_org",
    "required_form",
    "set_building_leader",
    "set_grid_leader",
    "set_member_zone",
    "set_stairwell_leader",
    "street_advice",
    "street_lost_contact",
    "zone_buildings",
]
