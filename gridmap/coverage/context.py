"""The prepared layers of one check and the names messages call communities, grids and
buildings by, shared by the problem, score and summary builders."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import geopandas as gpd
import pandas as pd

from gridmap.coverage.assignment import Assignment


def display_names(frame: pd.DataFrame) -> pd.Series:
    """What to call each row in a message: its ``name`` where it has one, else its ``code``."""
    code = frame["code"].astype(str) if "code" in frame else frame["id"].astype(str)
    if "name" not in frame:
        return code
    return frame["name"].where(frame["name"].notna() & (frame["name"] != ""), code).astype(str)


@dataclass(frozen=True)
class Context:
    """Prepared layers and lookups shared by the problem and score builders.

    Messages call a grid or building by its community's name and its own (``东岳路社区 第3网格``):
    grid names such as 第3网格 repeat from one community to the next.
    """

    communities: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    assignment: Assignment
    radius: float

    @cached_property
    def community_code(self) -> dict:
        return dict(zip(self.communities["id"], self.communities["code"], strict=True))

    @cached_property
    def community_name(self) -> dict:
        return dict(zip(self.communities["id"], display_names(self.communities), strict=True))

    @cached_property
    def grid_name(self) -> dict:
        return dict(zip(self.grids["id"], display_names(self.grids), strict=True))

    @cached_property
    def grid_label(self) -> dict:
        return _prefixed(self.grids, self.community_name)

    @cached_property
    def grid_community(self) -> dict:
        return dict(zip(self.grids["id"], self.grids["community_id"], strict=True))

    @cached_property
    def grid_code(self) -> dict:
        return dict(zip(self.grids["id"], self.grids["code"], strict=True))

    @cached_property
    def building_label(self) -> dict:
        return _prefixed(self.buildings, self.community_name)

    @cached_property
    def building_name(self) -> dict:
        return dict(zip(self.buildings["id"], display_names(self.buildings), strict=True))

    @cached_property
    def building_code(self) -> dict:
        return dict(zip(self.buildings["id"], self.buildings["code"], strict=True))

    @cached_property
    def building_community(self) -> dict:
        return dict(zip(self.buildings["id"], self.buildings["community_id"], strict=True))


def _prefixed(frame: pd.DataFrame, community_names: dict) -> dict:
    """id → "community name + own name" (own name alone outside every community)."""
    names = display_names(frame)
    return {
        i: f"{community_names[c]} {n}" if c in community_names else n
        for i, c, n in zip(frame["id"], frame["community_id"], names, strict=True)
    }
