"""Suggest boundary changes: the fewest people moved to make footprints follow council lines.

The building blocks are pieces: the LSOAs sharing one council, one footprint and (optionally)
one sub-unit to keep whole (a CCG or sub-ICB location), found by a group-by on the membership
tables, so they are exact. Every piece is given a footprint by a small integer programme
(:mod:`.suggest_model`, HiGHS through ``scipy.optimize.milp``) so that every council lies whole in
one footprint while the fewest people change footprint; with a budget (moves or people) it
makes as many councils whole as the budget allows instead, ties going to fewer people moved.
A piece may only go to a footprint that its council (or a sub-unit it shares) already touches.

A move is the part of one council going from one footprint to another. Moves are ranked by
councils made whole per person moved (a council that needs several moves credits the people of
all of them), and checked for what they break: sub-units split, and footprints left in
pieces that touch nothing (with the small-area polygons).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..errors import CotermError, InputError
from ..geo.layer import Layer, Population
from .result import plural
from .scenario import Move, Scenario
from .suggest_checks import Totals, contiguity, describe_infeasible, totals
from .suggest_model import Problem, solve, solve_lexicographic

log = logging.getLogger(__name__)

COLUMNS = ["rank", "council", "council_name", "from", "from_name", "to", "to_name", "lsoas", "people",
           "makes_whole", "whole_per_100k", "with_moves", "splits", "contiguity", "unit"]


class NoSuggestion(CotermError):
    """No assignment meets the constraints; the message names the one to relax."""


@dataclass
class Suggestion:
    """Suggested moves (``table``: one row per move, best first) and the totals before and after."""

    table: pd.DataFrame
    pieces: pd.DataFrame  # every piece: council, home, sub, lsoas, people, target
    members_after: pd.DataFrame  # small_code → footprint code after the moves
    before: Totals
    after: Totals
    footprints: str
    councils: str
    keep: str | None
    options: dict[str, Any]
    population_label: str
    population_total: float
    moves: list[list[Move]] = field(default_factory=list)  # per table row, the scenario moves it stands for
    notes: list[str] = field(default_factory=list)

    @property
    def people_moved(self) -> float:
        return float(self.table["people"].sum()) if len(self.table) else 0.0

    def header(self) -> list[str]:
        """What was asked and how it was weighted."""
        goal = ("the most councils made whole within the budget, then the fewest people moved"
                if self.options.get("budget") else "every council whole in one footprint, moving the fewest people")
        return [f"{self.footprints} against {self.councils}: {goal}",
                f"weights: population ({self.population_label}, total {self.population_total:,.0f})"]

    def lines(self) -> list[str]:
        """Totals before → after and what the moves cost."""
        b, a, o = self.before, self.after, self.options
        out = [f"{self.councils} councils with residents in more than one {self.footprints} footprint (no threshold): "
               f"{b.councils_split} → {a.councils_split} (of {a.councils}); people outside their council's main "
               f"footprint: {b.outside_main:,.0f} → {a.outside_main:,.0f}",
               f"{self.footprints} footprints made of whole {self.councils} councils, every resident (no threshold): "
               f"{b.whole_unions} of {b.footprints} → {a.whole_unions} of {a.footprints}"]
        if self.keep:
            soft = o.get("soft")
            how = "kept whole" if soft is None else \
                f"soft: each split counts as {soft:,.0f} {'person' if soft == 1 else 'people'} moved"
            out.append(f"{self.keep} units split between footprints: {b.subunits_split} → {a.subunits_split} ({how})")
        if len(self.table):
            share = self.people_moved / self.population_total if self.population_total else 0.0
            out.append(f"{len(self.table)} moves: {self.people_moved:,.0f} people ({share:.2%}) in "
                       f"{int(self.table['lsoas'].sum()):,} LSOAs change footprint")
        else:
            out.append("nothing to move" + (": every council already lies whole in one footprint"
                                            if b.councils_split == 0 else " within these limits"))
        if o.get("budget"):
            limits = "; ".join(t for t in (f"at most {o['max_moves']} moves" if o.get("max_moves") is not None else "",
                                          f"at most {o['max_people']:,.0f} people" if o.get("max_people") is not None
                                          else "") if t)
            out.append(f"budget ({limits}): {b.councils_split - a.councils_split} of {b.councils_split} split "
                       "councils made whole")
        if o.get("band"):
            lo, hi = o["band"]
            out.append(f"population band {lo:,.0f}–{hi:,.0f}: footprints after hold {a.smallest:,.0f}–{a.largest:,.0f}")
        if o.get("fixed"):
            out.append(f"left as they are: {', '.join(o['fixed'])}")
        if a.emptied:
            out.append(f"footprints left with no LSOAs: {', '.join(a.emptied)}")
        flagged = int((self.table["contiguity"].astype(str) != "").sum()) if len(self.table) else 0
        if o.get("contiguity_checked") and len(self.table):
            rule = f"LSOAs within {o['gap']:,.0f} m count as touching"
            out.append(f"contiguity ({rule}): {plural(flagged, 'move')} {'leaves' if flagged == 1 else 'leave'} a "
                       "footprint in more pieces than before" if flagged
                       else f"contiguity ({rule}): no move leaves a footprint in more pieces than before")
        elif len(self.table):
            out.append("contiguity: not checked (no small-area polygons given)")
        out.append(f"exact optimum of an integer programme over {len(self.pieces):,} pieces "
                   "(scipy.optimize.milp, HiGHS)")
        return out + self.notes

    def meta(self) -> dict[str, Any]:
        """Options and totals for JSON output."""
        return {"footprints": self.footprints, "councils": self.councils, "keep_whole": self.keep,
                "options": {k: v for k, v in self.options.items() if k != "budget"},
                "before": self.before.as_dict(), "after": self.after.as_dict(), "people_moved": self.people_moved,
                "scenario_moves": [str(m) for m in self.scenario_moves()]}

    def scenario_moves(self) -> list[Move]:
        """The moves as ``UNIT=FOOTPRINT`` scenario moves (codes; ``A&B`` is the part of A inside B)."""
        return [m for row in self.moves for m in row]

    def scenario(self, units: Sequence[str] | None = None, name: str = "suggested") -> Scenario:
        """A scenario to save or apply: its unit layers are the councils, the sub-units and the footprints."""
        units = list(units) if units else [self.councils] + ([self.keep] if self.keep else []) + [self.footprints]
        desc = (f"{len(self.table)} moves ({self.people_moved:,.0f} people) making {self.footprints} follow "
                f"{self.councils}: councils split {self.before.councils_split} → {self.after.councils_split}")
        return Scenario(self.scenario_moves(), footprints=self.footprints, units=units, name=name, description=desc)


# ---------------------------------------------------------------- pieces


def _membership(layer: Layer, column: str) -> pd.DataFrame:
    """``small_code`` → ``column`` for a layer built from small areas; one-line error otherwise."""
    if layer.members is None:
        raise CotermError(f"{layer.label}: suggest needs layers built from small areas (LSOAs), e.g. a catalogue "
                          "layer or one made with `coterm build`")
    m = layer.members[["small_code", "code"]].astype(str).rename(columns={"code": column})
    dup = m["small_code"].duplicated()
    if dup.any():
        raise InputError(f"{layer.label}: small area {m.loc[dup, 'small_code'].iloc[0]!r} is in two units "
                         f"({int(dup.sum())} such); each LSOA must belong to one unit")
    return m


def _people(population: Population | pd.Series) -> tuple[pd.Series, str]:
    if isinstance(population, Population):
        return population.by_code().astype(float), population.label
    return population.astype(float), str(population.name or "population")


def small_area_table(footprints: Layer, councils: Layer, people: pd.Series,
                     keep: Layer | None = None) -> tuple[pd.DataFrame, list[str]]:
    """One row per LSOA of the footprints: small_code, home, council, sub, people (and notes)."""
    for other in [councils] + ([keep] if keep is not None else []):
        if not footprints.shares_blocks_with(other):
            raise CotermError(f"{footprints.label} and {other.label}: suggest needs both built from the same small "
                              "areas (LSOAs)")
    table = _membership(footprints, "home").merge(_membership(councils, "council"), on="small_code", how="left")
    table = table.merge(_membership(keep, "sub"), on="small_code", how="left") if keep is not None \
        else table.assign(sub="")
    notes = []
    no_council = int(table["council"].isna().sum())
    if no_council:
        notes.append(f"note: {no_council:,} LSOAs of {footprints.label} lie in no {councils.label} council "
                     "(they stay where they are unless a sub-unit moves them)")
    table = table.fillna({"council": "", "sub": ""})
    table["people"] = table["small_code"].map(people)
    missing = int(table["people"].isna().sum())
    if missing:
        notes.append(f"note: {missing:,} LSOAs have no population and count as 0 people")
    table["people"] = table["people"].fillna(0.0)
    return table, notes


def make_pieces(table: pd.DataFrame) -> pd.DataFrame:
    """Pieces (council ∩ footprint ∩ sub-unit) with LSOAs and people, and the component each belongs to."""
    pieces = (table.groupby(["council", "home", "sub"], sort=True)
              .agg(lsoas=("small_code", "size"), people=("people", "sum")).reset_index())
    # Components of the council–sub-unit graph: a piece may go to any footprint its component touches.
    councils = pd.Index(sorted(set(pieces["council"]) - {""}))
    subs = pd.Index(sorted(set(pieces["sub"]) - {""}))
    n = len(councils) + len(subs) + len(pieces)
    node_c = np.where(pieces["council"] != "", councils.get_indexer(pieces["council"]), -1)
    node_s = np.where(pieces["sub"] != "", len(councils) + subs.get_indexer(pieces["sub"]), -1)
    node_p = len(councils) + len(subs) + np.arange(len(pieces))
    edges = [(node_p, node_c), (node_p, node_s)]
    rows = np.concatenate([a[b >= 0] for a, b in edges])
    cols = np.concatenate([b[b >= 0] for _, b in edges])
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    pieces["component"] = labels[node_p]
    return pieces


def build_problem(pieces: pd.DataFrame, f_index: pd.Index, fixed_codes: Sequence[str], **options) -> Problem:
    """The integer programme's input: pieces as indices, each with the footprints it may go to
    (home first, then every footprint its council–sub-unit component touches)."""
    c_index = pd.Index(sorted(set(pieces["council"]) - {""}))
    s_index = pd.Index(sorted(set(pieces["sub"]) - {""}))
    home = f_index.get_indexer(pieces["home"])
    touched = pieces.groupby("component")["home"].agg(lambda h: sorted(set(f_index.get_indexer(h))))
    candidates = [np.array([h] + [f for f in touched[k] if f != h]) for h, k in zip(home, pieces["component"])]
    return Problem(
        people=pieces["people"].to_numpy(float), home=home,
        council=np.where(pieces["council"] != "", c_index.get_indexer(pieces["council"]), -1),
        sub=np.where(pieces["sub"] != "", s_index.get_indexer(pieces["sub"]), -1),
        candidates=candidates, n_footprints=len(f_index), n_councils=len(c_index), n_subs=len(s_index),
        fixed=frozenset(int(i) for i in c_index.get_indexer(list(fixed_codes)) if i >= 0),
        require_whole=options.get("max_moves") is None and options.get("max_people") is None, **options)


# ---------------------------------------------------------------- the suggestion


def suggest(footprints: Layer, councils: Layer, population: Population | pd.Series, *,
            keep_whole: Layer | None = None, soft: float | None = None, band: tuple[float, float] | None = None,
            max_moves: int | None = None, max_people: float | None = None, fix: Sequence[str] = (),
            small_areas: Layer | None = None, gap: float = 250.0, time_limit: float = 60.0) -> Suggestion:
    """The moves making every council of ``councils`` whole in one footprint, moving the fewest people.

    ``keep_whole``: a layer whose units must not be split (``soft``: may be, at this many people
    each); ``band``: every footprint after holds MIN–MAX people; ``max_moves``/``max_people``: a
    budget (then as many councils as possible are made whole); ``fix``: councils (codes or names)
    left as they are; ``small_areas``: LSOA polygons, to flag moves that leave a footprint in pieces
    more than ``gap`` metres apart.
    """
    if soft is not None and keep_whole is None:
        raise CotermError("a soft penalty needs a layer to keep whole (--keep-whole LAYER)")
    if soft is not None and soft < 0:
        raise InputError(f"--soft {soft:g}: the penalty is people per split sub-unit, 0 or more")
    if band is not None and not 0 <= band[0] <= band[1]:
        raise InputError(f"--population-band {band[0]:,.0f}-{band[1]:,.0f}: give MIN-MAX with 0 ≤ MIN ≤ MAX")
    if (max_moves is not None and max_moves < 0) or (max_people is not None and max_people < 0):
        raise InputError("--max-moves and --max-people must be 0 or more")
    people, pop_label = _people(population)
    table, notes = small_area_table(footprints, councils, people, keep_whole)
    pieces = make_pieces(table)
    fixed_codes = [councils.find(token, "councils") for token in fix]

    f_index = pd.Index(footprints.frame["code"].astype(str))
    budget = max_moves is not None or max_people is not None
    problem = build_problem(pieces, f_index, fixed_codes, keep="none" if keep_whole is None else
                            ("soft" if soft is not None else "hard"), penalty=soft or 0.0, band=band,
                            max_moves=max_moves, max_people=max_people)
    log.debug("suggest: %d pieces, %d footprints, %d councils", len(pieces), len(f_index), problem.n_councils)
    solution = (solve_lexicographic if budget else solve)(problem, time_limit=time_limit)
    if solution is None:
        names = {"councils": councils.label, "keep": keep_whole.label if keep_whole is not None else "",
                 "fixed": [councils.names()[c] for c in fixed_codes], "footprints": footprints.names()}
        raise NoSuggestion(describe_infeasible(problem, names, f_index, time_limit))
    if solution.status != 0:
        notes.append(f"note: the solver stopped before proving optimality ({solution.message})")
    pieces["target"] = f_index[solution.target]

    after = table.merge(pieces[["council", "home", "sub", "target"]], on=["council", "home", "sub"])
    after = after.assign(code=after["target"])
    before_totals = totals(table.assign(code=table["home"]), f_index, keep_whole is not None)
    after_totals = totals(after, f_index, keep_whole is not None)
    after_totals.emptied = [f"{footprints.names().get(c, c)} ({c})" for c in after_totals.emptied]
    options = {"band": band, "max_moves": max_moves, "max_people": max_people, "soft": soft, "budget": budget,
               "fixed": [f"{councils.names()[c]} ({c})" for c in fixed_codes],
               "contiguity_checked": small_areas is not None, "gap": gap}
    moves_table, moves = _moves(pieces, footprints, councils, keep_whole, before_totals, after_totals)
    if small_areas is not None and len(moves_table):
        moves_table["contiguity"] = contiguity(moves_table, table, after, small_areas, footprints.names(), notes,
                                               gap)
    return Suggestion(moves_table, pieces, after[["small_code", "code"]].reset_index(drop=True), before_totals,
                      after_totals, footprints.label, councils.label,
                      keep_whole.label if keep_whole is not None else None, options, pop_label,
                      float(table["people"].sum()), moves, notes)


def _unit_moves(group: pd.DataFrame, pieces: pd.DataFrame, to: str) -> list[Move]:
    """The scenario moves for one (council, from, to) group: the council, ``council&from``, or its pieces."""
    council, home = group["council"].iloc[0], group["home"].iloc[0]
    same = pieces[(pieces["council"] == council) & (pieces["home"] == home)]
    if council and len(group) == len(same):
        whole = (pieces["council"] == council).sum() == len(same)
        return [Move(council if whole else f"{council}&{home}", to)]
    return [Move("&".join(t for t in (council, home, sub) if t), to) for sub in group["sub"]]


def _moves(pieces: pd.DataFrame, footprints: Layer, councils: Layer, keep: Layer | None, before: Totals,
           after: Totals) -> tuple[pd.DataFrame, list[list[Move]]]:
    """One row per (council, from, to) that changes, best first, with the scenario moves of each."""
    moved = pieces[pieces["target"] != pieces["home"]]
    f_names, c_names = footprints.names(), councils.names()
    s_names = keep.names() if keep is not None else {}
    made_whole = set(before.split_councils) - set(after.split_councils)
    broken = set(after.split_subunits) - set(before.split_subunits)
    council_people = moved.groupby("council")["people"].sum()
    rows, moves = [], []
    for (council, home, to), group in moved.groupby(["council", "home", "target"], sort=True):
        whole = council in made_whole
        rows.append({
            "council": council, "council_name": c_names.get(council, ""), "from": home,
            "from_name": f_names.get(home, home), "to": to, "to_name": f_names.get(to, to),
            "lsoas": int(group["lsoas"].sum()), "people": float(group["people"].sum()),
            "makes_whole": c_names.get(council, council) if whole else "",
            # a council made whole by moving nobody (LSOAs without people) ranks first, shown blank
            "whole_per_100k": (1e5 / council_people[council] if council_people[council] > 0 else np.nan)
            if whole else 0.0,
            "splits": "; ".join(s_names.get(s, s) for s in sorted(set(group["sub"]) & broken)),
            "contiguity": "", "unit": "; ".join(str(m.unit) for m in _unit_moves(group, pieces, to)),
        })
        moves.append(_unit_moves(group, pieces, to))
    frame = pd.DataFrame(rows, columns=[c for c in COLUMNS if c not in ("rank", "with_moves")])
    if not len(frame):
        return pd.DataFrame(columns=COLUMNS), []
    order = (frame.assign(_key=frame["whole_per_100k"].fillna(np.inf))
             .sort_values(["_key", "people", "council", "from", "to"], ascending=[False, True, True, True, True]).index)
    frame, moves = frame.loc[order].reset_index(drop=True), [moves[i] for i in order]
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    ranks = frame.groupby("council")["rank"].agg(list)
    frame["with_moves"] = [", ".join(str(r) for r in ranks[c] if r != k) if w else ""
                           for c, k, w in zip(frame["council"], frame["rank"], frame["makes_whole"])]
    return frame[COLUMNS], moves
