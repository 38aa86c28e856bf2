"""What suggested moves do: totals before and after, footprints broken in pieces, and why none fit."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import pandas as pd

from ..geo.layer import Layer
from .contiguity import pieces_by_label
from .result import plural
from .suggest_model import Problem, culprits, solve


@dataclass
class Totals:
    """Councils split, people outside their council's main footprint, whole-council unions, sub-units split."""

    councils: int
    councils_split: int
    outside_main: float
    footprints: int  # footprints holding any LSOA
    whole_unions: int  # footprints every council of which lies wholly inside them
    smallest: float
    largest: float
    subunits_split: int | None = None
    split_councils: list[str] = field(default_factory=list)
    split_subunits: list[str] = field(default_factory=list)
    emptied: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def totals(table: pd.DataFrame, footprint_codes: pd.Index, with_subunits: bool) -> Totals:
    """Totals for one membership: ``table`` has one row per LSOA with code (footprint), council, sub, people."""
    placed = table[table["council"] != ""]
    by_pair = placed.groupby(["council", "code"])["people"].sum()
    per_council = by_pair.groupby(level="council")
    spread = placed.groupby("council")["code"].nunique()
    split = sorted(spread.index[spread > 1])
    outside = float((per_council.sum() - per_council.max()).sum())
    # A footprint is a union of whole councils when every council it touches has no LSOA elsewhere.
    touching = placed[["code", "council"]].drop_duplicates()
    broken = set(touching.loc[touching["council"].isin(split), "code"])
    people = table.groupby("code")["people"].sum()
    held = set(table["code"])
    subunits_split, split_subs = None, []
    if with_subunits:
        subs = table[table["sub"] != ""].groupby("sub")["code"].nunique()
        split_subs = sorted(subs.index[subs > 1])
        subunits_split = len(split_subs)
    return Totals(councils=int(len(spread)), councils_split=len(split), outside_main=outside,
                  footprints=len(held), whole_unions=len(held - broken),
                  smallest=float(people.min()) if len(people) else 0.0,
                  largest=float(people.max()) if len(people) else 0.0,
                  subunits_split=subunits_split, split_councils=split, split_subunits=split_subs,
                  emptied=[c for c in footprint_codes if c not in held])


# ---------------------------------------------------------------- contiguity


def contiguity(moves: pd.DataFrame, before: pd.DataFrame, after: pd.DataFrame, small_areas: Layer,
               names: dict[str, str], notes: list[str], gap: float = 250.0) -> list[str]:
    """Per move, the footprints it touches that end in more pieces than they started with ('' if none).

    Pieces are counted on the adjacency of the LSOA polygons of the footprints the moves touch,
    before and after all the moves: two LSOAs are neighbours when they lie within ``gap`` metres,
    so that rivers and estuaries cut out of coastline-clipped polygons (the Tees, the Wear, Lake
    Lothing, Walney Channel) do not count as breaks.
    """
    affected = set(moves["from"]) | set(moves["to"])
    codes = sorted(set(before.loc[before["home"].isin(affected), "small_code"])
                   | set(after.loc[after["code"].isin(affected), "small_code"]))
    geoms = small_areas.frame.drop_duplicates("code").set_index("code").geometry.reindex(codes)
    lacking = geoms.isna()
    if lacking.any():
        notes.append(f"note: {int(lacking.sum()):,} LSOAs have no polygon in {small_areas.label}; "
                     "contiguity is checked without them")
        geoms = geoms[~lacking]
    values = geoms.to_numpy()
    home = before.set_index("small_code")["home"].reindex(geoms.index).to_numpy()
    now = after.set_index("small_code")["code"].reindex(geoms.index).to_numpy()
    was, are = pieces_by_label(values, home, gap), pieces_by_label(values, now, gap)
    worse = {f: (int(was.get(f, 0)), int(are.get(f, 0))) for f in affected if are.get(f, 0) > max(was.get(f, 0), 1)}
    texts = []
    for pair in zip(moves["from"], moves["to"]):
        texts.append("; ".join(f"{names.get(f, f)} in {worse[f][1]} pieces (was {worse[f][0]})"
                               for f in pair if f in worse))
    return texts


# ---------------------------------------------------------------- infeasibility


def _family_text(name: str, pb: Problem, labels: dict) -> str:
    if name == "band":
        return f"the population band {pb.band[0]:,.0f}–{pb.band[1]:,.0f}"
    if name == "keep":
        return f"keeping every {labels['keep']} unit whole"
    if name == "whole":
        return f"making every {labels['councils']} council whole"
    if name == "moves":
        return f"the budget of {pb.max_moves} moves"
    if name == "people":
        return f"the budget of {pb.max_people:,.0f} people"
    fixed = labels["fixed"]
    return f"leaving {', '.join(fixed)} as {'it is' if len(fixed) == 1 else 'they are'}"


def describe_infeasible(pb: Problem, labels: dict, footprint_codes: pd.Index, time_limit: float) -> str:
    """One line naming the constraint that makes the request impossible (re-solving without each family)."""
    families = pb.families()
    ok = culprits(pb, time_limit)
    relaxable = [f for f in ok if f != "whole"]
    text = {f: _family_text(f, pb, labels) for f in families}
    if len(relaxable) == 1:
        culprit = relaxable[0]
        rest = [text[f] for f in families if f != culprit]
        detail = ""
        if culprit == "band":
            free = solve(pb, drop=frozenset({"band"}), time_limit=time_limit)
            if free is not None:
                sums = pd.Series(pb.people).groupby(free.target).sum().reindex(range(pb.n_footprints), fill_value=0)
                out = sums[(sums < pb.band[0]) | (sums > pb.band[1])]
                out = out.loc[(out - pb.band[0]).abs().clip(upper=(out - pb.band[1]).abs()).sort_values(
                    ascending=False).index]  # furthest outside first
                shown = "; ".join(f"{labels['footprints'].get(footprint_codes[i], footprint_codes[i])} "
                                  f"{v:,.0f}" for i, v in out.head(3).items())
                detail = f" (the best plan without it leaves {plural(len(out), 'footprint')} outside it: {shown}"
                detail += "; …)" if len(out) > 3 else ")"
        return (f"no suggestion: {text[culprit]} cannot be met" + (f" together with {' and '.join(rest)}" if rest
                else "") + f"; without it there is a solution{detail}")
    if len(relaxable) > 1:
        listed = [text[f] for f in relaxable]
        goal = f" while {text['whole']}" if "whole" in families else ""
        return (f"no suggestion: {', '.join(listed[:-1])} and {listed[-1]} cannot all be met{goal}; relaxing any "
                "one of them gives a solution")
    if ok == ["whole"]:
        return (f"no suggestion: {text['whole']} is impossible with "
                f"{' and '.join(text[f] for f in families if f != 'whole')}; give --max-moves or --max-people to "
                "make as many whole as possible")
    return f"no suggestion: {', '.join(text[f] for f in families)} cannot all be met; relax more than one"
