"""The state shared by the steps of the demo build.

:class:`Demo` carries the random generator, the blocks, the buildings and the metric grid
polygons from step to step, and collects what the steps add: persons (:class:`People`, whose
names and phones are drawn once at the end so the other draws do not depend on them), grid
leaders and workers, Party organisations, members and service stations. :func:`grid_index`
finds a block's grid by its position in the layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gridmap.demo.layout import Cell
from gridmap.demo.names import PHONE_PREFIXES, person_names, pick_one
from gridmap.models import PersonRole


class People:
    """Collects persons as they are needed; names and phones are drawn at the end."""

    def __init__(self) -> None:
        self.roles: list[list[str]] = []

    def add(self, *roles: PersonRole) -> int:
        """Add a person with ``roles``; return the person's id (from 1)."""
        self.roles.append([r.value for r in roles])
        return len(self.roles)

    def frame(self, rng: np.random.Generator) -> pd.DataFrame:
        """The ``person`` table: every person added, with drawn names, phones and id suffixes."""
        n = len(self.roles)
        return pd.DataFrame(
            {
                "id": np.arange(1, n + 1),
                "name": person_names(rng, n),
                "phone": [
                    pick_one(rng, PHONE_PREFIXES) + f"{int(d):08d}"
                    for d in rng.integers(0, 10**8, n)
                ],
                "id_suffix": [
                    f"{int(d):03d}" + ("X" if x < 0.09 else str(int(x * 10) % 10))
                    for d, x in zip(rng.integers(0, 1000, n), rng.random(n), strict=True)
                ],
                "roles": [",".join(r) for r in self.roles],
            }
        )


@dataclass
class Demo:
    """Everything built so far, shared by the build steps."""

    rng: np.random.Generator
    cells: list[Cell]
    buildings: list[dict]
    grid_metric: np.ndarray  # shapely polygons, metric, index = grid id - 1
    people: People = field(default_factory=People)
    grid_leader: dict[int, int | None] = field(default_factory=dict)  # grid index → person
    grid_workers: dict[int, list[tuple[int, bool]]] = field(default_factory=dict)
    orgs: list[dict] = field(default_factory=list)
    branch_of_grid: dict[int, int] = field(default_factory=dict)  # grid index → org id
    committee_of: dict[int, int] = field(default_factory=dict)  # community index → org id
    members: list[dict] = field(default_factory=list)
    stations: list[dict] = field(default_factory=list)


def grid_index(demo: Demo, pos: tuple[int, int]) -> int:
    """Index (grid id - 1) of the grid of the block at (column, row) ``pos`` of the layout."""
    return next(g for g, c in enumerate(demo.cells) if (c.col, c.row) == pos)
