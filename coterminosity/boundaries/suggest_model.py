"""The integer programme behind ``suggest``: give every piece a footprint, moving the fewest people.

A piece is the set of LSOAs sharing one council, one footprint (its home) and optionally one
sub-unit to keep whole. Variables (all binary):

* ``x[p, f]`` piece p goes to footprint f (f among the footprints its council–sub-unit
  component touches); exactly one per piece;
* ``y[c, f]`` council c lies whole in f, and ``w[c] = Σ_f y[c, f]`` (c is whole); every piece of c
  is in f when ``y[c, f] = 1``;
* ``v[s, f]`` / ``u[s]`` sub-unit s lies whole in f / is split (``Σ_f v + u = 1``; hard: ``u = 0``);
* ``m[c, a, b]`` some of council c moves from footprint a to b (only with a budget of moves).

Constraint families (each can be dropped to explain an infeasible request): ``whole`` (every
council not fixed is whole), ``keep`` (hard keep-whole), ``band`` (every footprint's people within
MIN–MAX), ``moves`` (at most K moves), ``people`` (at most N people moved), ``fix`` (named
councils stay as they are). Solved exactly with ``scipy.optimize.milp`` (HiGHS, zero gap).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

from ..errors import CotermError

Keep = Literal["none", "hard", "soft"]
Objective = Literal["people", "whole", "none"]
FAMILIES = ("whole", "keep", "band", "moves", "people", "fix")


@dataclass
class Problem:
    """The pieces and the options, as arrays of indices (no codes)."""

    people: np.ndarray  # people per piece
    home: np.ndarray  # footprint index per piece
    council: np.ndarray  # council index per piece, -1 for none
    sub: np.ndarray  # sub-unit index per piece, -1 for none
    candidates: list[np.ndarray]  # footprint indices each piece may go to (home included)
    n_footprints: int
    n_councils: int
    n_subs: int = 0
    fixed: frozenset[int] = frozenset()  # council indices left as they are
    require_whole: bool = True  # every council not fixed must end whole (no budget)
    keep: Keep = "none"
    penalty: float = 0.0  # people-equivalent cost of one split sub-unit (soft keep)
    band: tuple[float, float] | None = None
    max_moves: int | None = None
    max_people: float | None = None

    def families(self) -> list[str]:
        """The constraint families this problem has."""
        out = ["whole"] if self.require_whole else []
        if self.keep == "hard" and self.n_subs:
            out.append("keep")
        out += [name for name, on in (("band", self.band is not None), ("moves", self.max_moves is not None),
                                      ("people", self.max_people is not None), ("fix", bool(self.fixed))) if on]
        return out


@dataclass
class Solution:
    """The footprint index chosen for every piece, and how the solver ended."""

    target: np.ndarray
    objective: float
    status: int
    message: str


@dataclass
class _Model:
    """Variables and constraint rows being assembled."""

    lb: list[float] = field(default_factory=list)
    ub: list[float] = field(default_factory=list)
    cost: list[float] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    cols: list[int] = field(default_factory=list)
    vals: list[float] = field(default_factory=list)
    row_lb: list[float] = field(default_factory=list)
    row_ub: list[float] = field(default_factory=list)

    def var(self, lb: float = 0.0, ub: float = 1.0, cost: float = 0.0) -> int:
        self.lb.append(lb)
        self.ub.append(ub)
        self.cost.append(cost)
        return len(self.lb) - 1

    def row(self, terms: list[tuple[int, float]], lo: float, hi: float) -> None:
        r = len(self.row_lb)
        for col, val in terms:
            self.rows.append(r)
            self.cols.append(col)
            self.vals.append(val)
        self.row_lb.append(lo)
        self.row_ub.append(hi)


def _build(pb: Problem, drop: frozenset[str], objective: Objective, min_whole: float | None):
    """(model, x index per piece → {footprint: column}, w columns) for ``pb`` without ``drop``."""
    md = _Model()
    fixed = pb.fixed if "fix" not in drop else frozenset()
    x: list[dict[int, int]] = []
    for p, cands in enumerate(pb.candidates):
        home = int(pb.home[p])
        stay = pb.council[p] in fixed
        cols = {}
        for f in cands:
            f = int(f)
            cost = pb.people[p] if (objective == "people" and f != home) else 0.0
            lo = 1.0 if (stay and f == home) else 0.0
            hi = 0.0 if (stay and f != home) else 1.0
            cols[f] = md.var(lo, hi, cost)
        x.append(cols)
        md.row([(c, 1.0) for c in cols.values()], 1.0, 1.0)

    by_council: dict[int, list[int]] = {}
    by_sub: dict[int, list[int]] = {}
    for p in range(len(x)):
        if pb.council[p] >= 0:
            by_council.setdefault(int(pb.council[p]), []).append(p)
        if pb.sub[p] >= 0:
            by_sub.setdefault(int(pb.sub[p]), []).append(p)

    w_cols = []
    for c, pieces in sorted(by_council.items()):
        must = pb.require_whole and "whole" not in drop and c not in fixed
        w = md.var(1.0 if must else 0.0, 1.0, -1.0 if objective == "whole" else 0.0)
        w_cols.append(w)
        footprints = sorted(set.intersection(*(set(x[p]) for p in pieces)))
        y = {f: md.var() for f in footprints}
        md.row([(col, 1.0) for col in y.values()] + [(w, -1.0)], 0.0, 0.0)
        for p in pieces:
            for f, col in y.items():
                md.row([(x[p][f], 1.0), (col, -1.0)], 0.0, np.inf)

    if pb.keep != "none" and pb.n_subs and not (pb.keep == "hard" and "keep" in drop):
        for _, pieces in sorted(by_sub.items()):
            footprints = sorted(set.intersection(*(set(x[p]) for p in pieces)))
            split_cost = pb.penalty if (pb.keep == "soft" and objective == "people") else 0.0
            u = md.var(0.0, 0.0 if pb.keep == "hard" else 1.0, split_cost)
            v = {f: md.var() for f in footprints}
            md.row([(col, 1.0) for col in v.values()] + [(u, 1.0)], 1.0, 1.0)
            for p in pieces:
                for f, col in v.items():
                    md.row([(x[p][f], 1.0), (col, -1.0)], 0.0, np.inf)

    if pb.band is not None and "band" not in drop:
        lo, hi = pb.band
        into: dict[int, list[tuple[int, float]]] = {f: [] for f in range(pb.n_footprints)}
        for p, cols in enumerate(x):
            for f, col in cols.items():
                into[f].append((col, float(pb.people[p])))
        for f in range(pb.n_footprints):
            md.row(into[f], lo, hi)

    if pb.max_moves is not None and "moves" not in drop:
        moves: dict[tuple[int, int, int], int] = {}
        for p, cols in enumerate(x):
            home = int(pb.home[p])
            for f, col in cols.items():
                if f != home:
                    key = (int(pb.council[p]), home, f)
                    if key not in moves:
                        moves[key] = md.var()
                    md.row([(col, 1.0), (moves[key], -1.0)], -np.inf, 0.0)
        md.row([(col, 1.0) for col in moves.values()], 0.0, float(pb.max_moves))

    if pb.max_people is not None and "people" not in drop:
        total = float(pb.people.sum())
        md.row([(cols[int(pb.home[p])], float(pb.people[p])) for p, cols in enumerate(x)],
               total - float(pb.max_people), np.inf)

    if min_whole is not None and w_cols:
        md.row([(w, 1.0) for w in w_cols], min_whole, np.inf)
    return md, x, w_cols


def solve(pb: Problem, drop: frozenset[str] = frozenset(), objective: Objective = "people",
          min_whole: float | None = None, time_limit: float = 60.0) -> Solution | None:
    """The optimal assignment, or None when the problem (without ``drop``) is infeasible."""
    md, x, _ = _build(pb, drop, objective, min_whole)
    n = len(md.lb)
    matrix = coo_matrix((md.vals, (md.rows, md.cols)), shape=(len(md.row_lb), n)).tocsr()
    res = milp(np.asarray(md.cost), constraints=LinearConstraint(matrix, md.row_lb, md.row_ub),
               integrality=np.ones(n), bounds=Bounds(md.lb, md.ub),
               options={"mip_rel_gap": 0.0, "time_limit": time_limit})
    if res.status == 2:
        return None
    if res.x is None:  # time limit (or a solver failure) before any plan was found: not proof of infeasibility
        raise CotermError(f"the solver stopped without finding a plan ({res.message}); give fewer constraints")
    target = np.array([max(cols, key=lambda f: res.x[cols[f]]) for cols in x], dtype=int)
    return Solution(target, float(res.fun), int(res.status), str(res.message))


def solve_lexicographic(pb: Problem, time_limit: float = 60.0) -> Solution | None:
    """With a budget: the most councils made whole, then the fewest people (plus split penalties)."""
    best = solve(pb, objective="whole", time_limit=time_limit)
    if best is None:
        return None
    most = round(-best.objective)
    return solve(pb, objective="people", min_whole=most - 0.5, time_limit=time_limit)


def culprits(pb: Problem, time_limit: float = 60.0) -> list[str]:
    """The constraint families whose removal alone makes an infeasible problem feasible."""
    return [name for name in pb.families()
            if solve(pb, drop=frozenset({name}), objective="none", time_limit=time_limit) is not None]
