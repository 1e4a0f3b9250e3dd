"""诉求办理: residents' requests through collect–handle–evaluate (收、办、评).

Collect (收)
    :func:`log_request` places a request by a point (map click), a building code or an address
    matched to a building name, finds its grid and building, and gives it a due time from its
    category's service level (:data:`gridmap.settings.REQUEST_SLA_HOURS`).
Handle (办)
    :func:`assign` (to a grid worker), :func:`dispatch` (to a Party member registered in the
    grid, 党员领单), :func:`send_to_department` (部门接单), :func:`escalate` (community → street),
    :func:`resolve` (with a note and where it was decided: 楼栋听事、小区议事、社区决事),
    :func:`reject` (不予受理, with a reason and a reason code), :func:`reroute` (改派: another
    category, its time limit recomputed, or another department, with a reason) and
    :func:`merge_duplicate` (a duplicate closed into the open original, whose "me too" count
    grows; proposed by :func:`duplicate_candidates` / :func:`possible_duplicates`).
Evaluate (评)
    :func:`evaluate` records the resident's rating 1–5 and answer (solved, partly solved, not
    solved); a rating at or below :data:`~gridmap.settings.REQUEST_REOPEN_MAX_RATING`, or "not
    solved", reopens the request (:func:`reopen`).

Every move is checked against :data:`TRANSITIONS` and written in one transaction: the request
row (only if its status is still the one read — concurrent moves are refused with a
:class:`~gridmap.errors.ConflictError`), its :class:`~gridmap.models.RequestEvent`, and member
points where the settings give them. Illegal moves raise :class:`~gridmap.errors.ConflictError`,
bad values :class:`~gridmap.errors.InputError`, each with a sentence in Chinese and English.

The analysis half is pure and vectorised (no database): :func:`place_points`,
:func:`place_requests`, :func:`due_times`, :func:`overdue_mask`, :func:`request_stats`,
:func:`suggest_members`, :func:`prepare_hotline` and the Open311 GeoReport v2 builders
:func:`open311_services` / :func:`open311_requests`. The functions taking an ``engine`` load the
layers they need (one query each) and call them.

Time is always a parameter (``now``, a naive local datetime): the demo street's "now" is
:data:`~gridmap.settings.DEMO_REFERENCE_DATE`, tests choose theirs, and :func:`clock` gives the
app's.

Personal data: reporters are stored masked (张*明); member and worker names leave this package
masked unless a caller passes ``personal_data=True`` (the pages pass what the logged-in role may
read, :attr:`gridmap.auth.Principal.personal_data`).

The package's modules, each with one job (import the names below from ``gridmap.requests``):

- :mod:`~gridmap.requests.states` — statuses, labels, :class:`Action` and :data:`TRANSITIONS`;
- :mod:`~gridmap.requests.timing` — :func:`clock`, service levels, due times, overdue, the
  worklist by urgency (:func:`worklist`);
- :mod:`~gridmap.requests.placing` — points, building codes and addresses placed in a building
  and a grid;
- :mod:`~gridmap.requests.loading` — requests, buildings, members and staff read from the
  database;
- :mod:`~gridmap.requests.suggestions` — members to dispatch a request to;
- :mod:`~gridmap.requests.workflow` — the writes: log, handle, evaluate;
- :mod:`~gridmap.requests.reading` — one request's detail and timeline, the filtered list, the
  map's requests;
- :mod:`~gridmap.requests.stats` — statistics per grid or member;
- :mod:`~gridmap.requests.rates` — the monthly assessment: response, resolution, satisfaction
  and on-time rates per unit, ranked (接诉即办 三率);
- :mod:`~gridmap.requests.hotline` — the 12345 hotline import;
- :mod:`~gridmap.requests.open311` — the Open311 GeoReport v2 export.
"""

from __future__ import annotations

from gridmap.requests.digest import (
    DIGEST_COLUMNS,
    DIGEST_LABELS,
    DIGEST_PARTS,
    DIGEST_TITLES,
    Digest,
    day_digest,
    digest_day,
    digest_for,
    digest_tables,
    due_list,
    localise_digest,
)
from gridmap.requests.duplicates import (
    CANDIDATE_COLUMNS,
    duplicate_candidates,
    possible_duplicates,
)
from gridmap.requests.hotline import (
    HOTLINE_FIELDS,
    HOTLINE_REQUIRED,
    HotlineImport,
    guess_mapping,
    import_hotline,
    prepare_hotline,
    preview_hotline,
    read_hotline,
)
from gridmap.requests.loading import load_requests, member_table, staff
from gridmap.requests.open311 import (
    OPEN311_REQUEST_FIELDS,
    OPEN311_SERVICE_FIELDS,
    export_open311,
    open311_requests,
    open311_services,
    service_code,
)
from gridmap.requests.placing import (
    match_addresses,
    normalise_address,
    place_points,
    place_requests,
)
from gridmap.requests.rates import (
    ASSESSMENT_COLUMNS,
    RATE_COLUMNS,
    RATE_LABELS,
    RATE_UNITS,
    RATES,
    assessed_month,
    first_actions,
    localise_rates,
    month_of,
    rank_month,
    rate_definitions,
    rate_units,
    rates_for,
    request_facts,
    request_rates,
    total_rates,
    unit_series,
)
from gridmap.requests.reading import filter_requests, map_frame, request_detail, timeline
from gridmap.requests.states import (
    ACTION_LABELS,
    ASSIGNEE_LABELS,
    CLOSE_REASON_LABELS,
    CLOSED_STATUSES,
    DECISION_LABELS,
    OPEN_STATUSES,
    OUTCOME_LABELS,
    RATING_NOTE,
    SOURCE_LABELS,
    STATUS_LABELS,
    TRANSITIONS,
    Action,
    allowed_actions,
)
from gridmap.requests.stats import (
    STATS_COLUMNS,
    STATS_LABELS,
    headline_figures,
    localise_stats,
    request_stats,
    stats_for,
)
from gridmap.requests.suggestions import UNAVAILABLE_CATEGORIES, suggest_members
from gridmap.requests.timing import (
    URGENCY_LABELS,
    clock,
    due_times,
    latest_event_at,
    overdue_mask,
    sla_hours,
    street_now,
    worklist,
)
from gridmap.requests.workflow import (
    assign,
    dispatch,
    escalate,
    evaluate,
    log_request,
    merge_duplicate,
    reject,
    reopen,
    reroute,
    resolve,
    send_to_department,
)

__all__ = [
    "ACTION_LABELS",
    "ASSESSMENT_COLUMNS",
    "ASSIGNEE_LABELS",
    "CANDIDATE_COLUMNS",
    "CLOSED_STATUSES",
    "CLOSE_REASON_LABELS",
    "DECISION_LABELS",
    "DIGEST_COLUMNS",
    "DIGEST_LABELS",
    "DIGEST_PARTS",
    "DIGEST_TITLES",
    "HOTLINE_FIELDS",
    "HOTLINE_REQUIRED",
    "OPEN311_REQUEST_FIELDS",
    "OPEN311_SERVICE_FIELDS",
    "OPEN_STATUSES",
    "OUTCOME_LABELS",
    "RATES",
    "RATE_COLUMNS",
    "RATE_LABELS",
    "RATE_UNITS",
    "RATING_NOTE",
    "SOURCE_LABELS",
    "STATS_COLUMNS",
    "STATS_LABELS",
    "STATUS_LABELS",
    "TRANSITIONS",
    "UNAVAILABLE_CATEGORIES",
    "URGENCY_LABELS",
    "Action",
    "Digest",
    "HotlineImport",
    "allowed_actions",
    "assessed_month",
    "assign",
    "clock",
    "day_digest",
    "digest_day",
    "digest_for",
    "digest_tables",
    "dispatch",
    "due_list",
    "due_times",
    "duplicate_candidates",
    "escalate",
    "evaluate",
    "export_open311",
    "filter_requests",
    "first_actions",
    "guess_mapping",
    "headline_figures",
    "import_hotline",
    "latest_event_at",
    "load_requests",
    "localise_digest",
    "localise_rates",
    "localise_stats",
    "log_request",
    "map_frame",
    "match_addresses",
    "member_table",
    "merge_duplicate",
    "month_of",
    "normalise_address",
    "open311_requests",
    "open311_services",
    "overdue_mask",
    "place_points",
    "place_requests",
    "possible_duplicates",
    "prepare_hotline",
    "preview_hotline",
    "rank_month",
    "rate_definitions",
    "rate_units",
    "rates_for",
    "read_hotline",
    "reject",
    "reopen",
    "request_detail",
    "request_facts",
    "request_rates",
    "request_stats",
    "reroute",
    "resolve",
    "send_to_department",
    "service_code",
    "sla_hours",
    "staff",
    "stats_for",
    "street_now",
    "suggest_members",
    "timeline",
    "total_rates",
    "unit_series",
    "worklist",
]
