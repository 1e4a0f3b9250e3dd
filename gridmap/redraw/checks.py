"""The redraw's one set of checks: what ``gridmap check`` will report for a community once a
plan is active.

:func:`plan_check` runs the street's own check (:func:`gridmap.coverage.check_coverage`, with
the street's stations, 两新组织 and score weights, as ``gridmap check`` runs it) on the street
with the community's active grids replaced by the plan's — so the checks shown before approval
are exactly those reported after activation: gaps, overlaps, grids outside the community,
invalid shared edges, buildings outside, mostly outside or across grids, grids without a leader
or a branch, buildings without a leader, grids outside the household norm, households beyond
reach and blind spots. Each problem is marked ``new`` when the active plan does not have it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
from sqlalchemy import Connection, Engine

from gridmap import settings
from gridmap.auth import SYSTEM
from gridmap.coverage import PROBLEM_KINDS, check_coverage, filter_problems
from gridmap.i18n import LANGS, text
from gridmap.redraw.metrics import Issue, validate_plan
from gridmap.redraw.plans import PlanLayers, layers_metrics, load_plan
from gridmap.repository import StreetLayers, load_street_layers, read_table
from gridmap.weights import street_weights

#: What makes two problems the same one, under two plans (the sentence may differ in figures).
PROBLEM_KEY: tuple[str, ...] = ("kind", "grid_code", "other_grid_code", "building_code")

#: The problems a plan's lines decide: one of these, or any new problem (a new grid without a
#: leader or branch, say), needs a written reason to propose the plan. The others already
#: there — a grid that had no leader before, households beyond reach, blind spots — are listed
#: but not in the way of a plan that does not make them worse.
PLAN_KINDS: frozenset[str] = frozenset(
    {
        "gap", "gap_sliver", "overlap", "overlap_sliver", "outside_community",
        "invalid_coverage", "building_unassigned", "building_mostly_outside", "building_split",
        "grid_too_small", "grid_too_large",
    }
)  # fmt: skip

#: How many problems of one kind an :class:`Issue` names before "…".
NAMED_PER_ISSUE = 3


@dataclass(frozen=True)
class PlanCheck:
    """The problems a plan will have once active (see :func:`plan_check`).

    Attributes
    ----------
    problems : geopandas.GeoDataFrame
        :data:`gridmap.coverage.PROBLEM_COLUMNS` and ``geom`` for the plan's community, in
        ``gridmap check``'s order, plus ``new`` (bool): not a problem under the active plan.
    """

    problems: gpd.GeoDataFrame

    @property
    def blocking(self) -> gpd.GeoDataFrame:
        """The problems that need a written reason to propose the plan: every new one, and
        every one of :data:`PLAN_KINDS`."""
        rows = self.problems["new"] | self.problems["kind"].isin(PLAN_KINDS)
        return self.problems[rows.to_numpy(dtype=bool)]

    def issues(self, blocking_only: bool = False) -> list[Issue]:
        """One :class:`~gridmap.redraw.metrics.Issue` per problem kind, in report order: how
        many, how many are new, the first few sentences (of :attr:`blocking` only, if asked)."""
        problems = self.blocking if blocking_only else self.problems
        out = []
        for kind, (*names, _colour) in PROBLEM_KINDS.items():
            rows = problems[problems["kind"] == kind]
            if rows.empty:
                continue
            new = int(rows["new"].sum())
            messages = []
            for i, lang in enumerate(LANGS):
                column = "detail" if lang == "zh" else "detail_en"
                shown = list(rows[column].head(NAMED_PER_ISSUE))
                more = "…" if len(rows) > NAMED_PER_ISSUE else ""
                messages.append(
                    text(
                        "{kind}:{n} 处(其中新增 {new} 处):{examples}{more}",
                        lang,
                        kind=names[i],
                        n=len(rows),
                        new=new,
                        examples=text("；", lang).join(shown),
                        more=more,
                    )
                )
            out.append(Issue(kind, *messages))
        return out


def plan_street_grids(street: StreetLayers, layers: PlanLayers) -> gpd.GeoDataFrame:
    """The street's active grids with the plan's community's grids replaced by the plan's."""
    cid = layers.plan["community_id"]
    others = street.grids[street.grids["community_id"] != cid]
    mine = layers.grids.assign(community_id=cid).to_crs(street.grids.crs)
    columns = [c for c in others.columns if c in mine.columns]
    grids = pd.concat([others[columns], mine[columns]], ignore_index=True)
    return gpd.GeoDataFrame(grids, geometry=street.grids.geometry.name, crs=street.grids.crs)


def _community_problems(
    street: StreetLayers,
    grids: gpd.GeoDataFrame,
    community_code: str,
    radius_m: float,
    organisations: pd.DataFrame,
    weights: Mapping[str, float],
) -> gpd.GeoDataFrame:
    report = check_coverage(
        street.communities,
        grids,
        street.buildings,
        street.stations,
        radius_m,
        organisations=organisations,
        score_weights=weights,
    )
    return filter_problems(report.problems, [community_code])


def plan_check(
    engine: Engine | Connection,
    plan_id: int,
    radius_m: float | None = None,
    street: StreetLayers | None = None,
    baseline: gpd.GeoDataFrame | None = None,
) -> PlanCheck:
    """What ``gridmap check`` will report for the plan's community once the plan is active.

    Parameters
    ----------
    engine : Engine or Connection
    plan_id : int
        Any plan (a draft, a proposed or an approved one; the active plan checks as it is).
    radius_m : float, optional
        The service radius; default ``settings.SERVICE_REACH_M`` (as ``gridmap check``).
    street : StreetLayers, optional
        :func:`gridmap.repository.load_street_layers` of the whole street (as ``gridmap check``
        loads it, whoever asks: only the plan's community's problems are returned), when
        loaded.
    baseline : GeoDataFrame, optional
        The community's problems under the active plan (``gridmap check``'s), when known: what
        ``new`` is measured against. Default: checked here.

    Returns
    -------
    PlanCheck
    """
    radius = float(settings.SERVICE_REACH_M if radius_m is None else radius_m)
    # the whole street, as the command sees it (not the acting user's scope): the same check
    street = load_street_layers(engine, scope=SYSTEM) if street is None else street
    layers = load_plan(engine, plan_id)
    code = layers.plan["community_code"]
    organisations = read_table(engine, "organisation")  # read once for both checks
    organisations = organisations[organisations["community_id"].isin(street.communities["id"])]
    given = (radius, organisations, street_weights(engine, "coverage_score"))
    problems = _community_problems(street, plan_street_grids(street, layers), code, *given)
    if baseline is None:
        baseline = _community_problems(street, street.grids, code, *given)
    before = set(_keys(baseline))
    new = [key not in before for key in _keys(problems)]
    return PlanCheck(problems.assign(new=pd.Series(new, index=problems.index, dtype=bool)))


def _keys(problems: pd.DataFrame) -> list[tuple]:
    key = problems.loc[:, list(PROBLEM_KEY)].astype(object)
    return list(key.where(key.notna(), None).itertuples(index=False, name=None))


def plan_issues(
    engine: Engine | Connection, plan_id: int, check: PlanCheck | None = None
) -> list[Issue]:
    """What stops the plan from being proposed without a written reason: the blocking problems
    of its check (:attr:`PlanCheck.blocking`, one issue per kind) and grids in several pieces
    (a redraw's own rule, :func:`~gridmap.redraw.metrics.validate_plan`)."""
    check = plan_check(engine, plan_id) if check is None else check
    layers = load_plan(engine, plan_id)
    pieces = [
        issue
        for issue in validate_plan(layers_metrics(layers), layers.buildings)
        if issue.kind not in PROBLEM_KINDS  # the coverage kinds come from the check itself
    ]
    return check.issues(blocking_only=True) + pieces
