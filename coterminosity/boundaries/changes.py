"""What changed between two vintages of a layer: units matched by their small areas, never by code.

Every old unit is paired with the new unit holding most of it (by people, else by small areas),
and every new unit with the old unit it holds most of; two units that choose each other are a
*continuation* (the same unit, perhaps grown, shrunk, recoded or renamed). A unit whose largest
part went to a new unit of the same code that no pair chose also continues as it (a small unit
that gained a piece larger than itself); codes never match units otherwise. Each unit is classed:

* ``unchanged`` / ``recoded`` / ``renamed`` – the very same small areas; recoded: a new code
  (perhaps a new name too); renamed: the same code under a new name;
* ``merged`` – several old units end mainly in one new unit (each of them is classed merged);
* ``split`` – one old unit ends mainly in several new units (the old unit and every new unit
  split off it are classed split);
* ``grew`` / ``shrank`` – a continuation that gained / lost small areas (by net people);
* ``new`` / ``gone`` – a unit with no small area in the other vintage.

A *moved piece* is the small areas of an old unit that end in a new unit other than its own
continuation, its merger or its split: the people who changed footprint. Mergers and splits are
reported as such, not as pieces moved.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import CotermError
from ..geo.layer import BNG, Layer, Population
from .matching import KINDS, PIECE_COLUMNS, TABLE_COLUMNS, Kind, classify_units  # noqa: F401
from .result import plural

GEOMETRY_SAME = 0.995  # geometry fallback: two units sharing this share of each other's area are the same
LIST_LIMIT = 12  # how many pieces, recodes and renames the lines name one by one


@dataclass
class Changes:
    """Old layer → new layer: one row per unit (``table``), the moved pieces (``pieces``) and
    ``successor`` (old code → the new code continuing it)."""

    old: Layer
    new: Layer
    table: pd.DataFrame
    pieces: pd.DataFrame
    pairs: pd.DataFrame  # every old × new overlap: old_code, new_code, lsoas, people, area_m2, role
    successor: dict[str, str]
    method: Literal["membership", "geometry"]
    population: Population | None = None
    pair_members: pd.DataFrame | None = None  # old_code, new_code, small_code (membership only)
    unmatched: dict[str, float] = field(default_factory=dict)  # small areas / people only in one vintage
    notes: list[str] = field(default_factory=list)

    # ------------------------------------------------------------ summary figures

    @property
    def piece_members(self) -> pd.DataFrame:
        """The small areas of each moved piece: ``piece``, ``small_code`` (membership changes only)."""
        if self.pair_members is None:
            raise CotermError(f"{self.old.label} → {self.new.label} was compared by geometry: no small areas")
        keys = self.pieces[["piece", "from_code", "to_code"]].rename(columns={"from_code": "old_code",
                                                                            "to_code": "new_code"})
        return keys.merge(self.pair_members, on=["old_code", "new_code"])[["piece", "small_code"]]

    def count(self, kind: str) -> int:
        """How many units are classed ``kind`` (rows of the table)."""
        return int((self.table["class"] == kind).sum())

    @property
    def people_moved(self) -> float:
        """People in the moved pieces (NaN without population)."""
        return float(math.fsum(self.pieces["people"])) if self.population is not None else float("nan")

    @property
    def lsoas_moved(self) -> int:
        return int(self.pieces["lsoas"].sum())

    def mergers(self) -> list[tuple[str, list[str]]]:
        """(new code, old codes merged into it), one per merger."""
        merged = self.table[(self.table["class"] == "merged") & (self.table["old_code"] != "")]
        return [(code, sorted(group["old_code"])) for code, group in merged.groupby("new_code", sort=True)]

    def _split_parents(self) -> dict[str, str]:
        """New units split off an old unit (that continues as another) → that old unit."""
        rows = self.table[(self.table["class"] == "split") & self.table["detail"].str.startswith("split off")]
        return dict(zip(rows["new_code"], rows["old_code"]))

    def splits(self) -> list[tuple[str, list[str]]]:
        """(old code, new codes it split into), one per split."""
        split = self.table[(self.table["class"] == "split") & (self.table["new_code"] != "")]
        return [(code, sorted(group["new_code"])) for code, group in split.groupby("old_code", sort=True)]

    # ------------------------------------------------------------ result protocol

    def header(self) -> list[str]:
        """What was compared and how."""
        pop = self.population
        weights = (f"people: {pop.label} (total {pop.total:,.0f}); areas in km² (EPSG:27700)" if pop is not None
                   else "people: none given (units matched by count of small areas); areas in km² (EPSG:27700)")
        return [f"changes: {self.old.label} ({len(self.old)} units) → {self.new.label} ({len(self.new)} units)",
                self.method_line(), weights] + self.notes

    def method_line(self) -> str:
        if self.method == "membership":
            return (f"method: membership (both layers are unions of whole {self.old.small_areas} small areas: "
                    "units matched by the small areas they hold, not by code)")
        return (f"method: geometry ({self.old.label} and {self.new.label} are not built from the same small areas: "
                f"units matched by area overlap, the same unit when ≥ {GEOMETRY_SAME:.1%} of each lies in the other; "
                "lsoas columns count population points)")

    def summary_line(self) -> str:
        """Units before/after, classes, and the people moved."""
        counts = ", ".join(f"{self.count(k)} {k}" for k in KINDS if self.count(k))
        moved = (f"{self.people_moved:,.0f} people" if self.population is not None else "people unknown")
        total = self.population.total if self.population is not None else 0
        share = f" ({self.people_moved / total:.2%} of {total:,.0f})" if total else ""
        area = self.pieces["area_km2"].sum()
        what = f"{plural(self.lsoas_moved, 'LSOA')}, " if self.method == "membership" else ""
        return (f"{self.old.label} → {self.new.label}: {len(self.old)} units → {len(self.new)}; {counts}; "
                f"{plural(len(self.pieces), 'piece')} moved between units: {what}{moved}{share}, {area:,.1f} km²")

    def lines(self) -> list[str]:
        """The summary line, mergers, splits, recodes, renames, moved pieces, new and gone units."""
        old_names, new_names = self.old.names(), self.new.names()
        out = [self.summary_line()]
        people = self.table.set_index("new_code")["people_new"].to_dict()
        parent = self._split_parents()
        for code, olds in self.mergers():
            part = f" and part of {old_names[parent[code]]} ({parent[code]})" if code in parent else ""
            out.append(f"merged: {_join(f'{old_names[c]} ({c})' for c in olds)}{part} → {new_names[code]} ({code})"
                       + (f", {people.get(code, 0):,.0f} people" if self.population is not None else ""))
        for code, news in self.splits():
            out.append(f"split: {old_names[code]} ({code}) → {_join(f'{new_names[c]} ({c})' for c in news)}")
        for kind, fmt in (("recoded", "{old_name} {old_code} → {new_code}{also}"),
                          ("renamed", "{old_code} {old_name} → {new_name}")):
            rows = self.table[self.table["class"] == kind]
            if len(rows):
                items = [fmt.format(**r, also=f" ({r['new_name']})" if r["new_name"] != r["old_name"] else "")
                         for r in rows.head(LIST_LIMIT).to_dict("records")]
                more = f"; … {len(rows) - LIST_LIMIT} more" if len(rows) > LIST_LIMIT else ""
                out.append(f"{kind} ({len(rows)}, the same small areas): " + "; ".join(items) + more)
        for r in self.pieces.head(LIST_LIMIT).itertuples():
            who = f"{r.people:,.0f} people, " if self.population is not None else ""
            lsoas = f"{plural(r.lsoas, 'LSOA')}, " if self.method == "membership" else ""
            out.append(f"moved: {r.from_name} ({r.from_code}) → {r.to_name} ({r.to_code}): {lsoas}{who}"
                       f"{r.area_km2:,.1f} km² ({r.share_of_from:.1%} of {r.from_code})")
        if len(self.pieces) > LIST_LIMIT:
            out.append(f"… and {len(self.pieces) - LIST_LIMIT} more moved pieces (see the pieces table)")
        for kind in ("new", "gone"):
            rows = self.table[self.table["class"] == kind]
            if len(rows):
                side = "new" if kind == "new" else "old"
                out.append(f"{kind} ({len(rows)}, no small area in the other vintage): "
                           + "; ".join(f"{r[side + '_name']} ({r[side + '_code']})" for r in rows.to_dict("records")))
        if self.unmatched.get("old_only") or self.unmatched.get("new_only"):
            out.append(f"small areas in only one vintage: {self.unmatched.get('old_only', 0):,.0f} only in "
                       f"{self.old.label}, {self.unmatched.get('new_only', 0):,.0f} only in {self.new.label}")
        return out

    def meta(self) -> dict[str, Any]:
        """The figures JSON carries beside the rows."""
        return {"old": self.old.label, "new": self.new.label, "method": self.method,
                "units_old": len(self.old), "units_new": len(self.new),
                "classes": {k: self.count(k) for k in KINDS},
                "pieces_moved": len(self.pieces), "lsoas_moved": self.lsoas_moved,
                "people_moved": None if self.population is None else self.people_moved,
                "mergers": [{"into": c, "from": o} for c, o in self.mergers()],
                "splits": [{"from": c, "into": n} for c, n in self.splits()],
                "successor": self.successor, "pieces": self.pieces.to_dict("records")}

    # ------------------------------------------------------------ geometry and scenario

    def pieces_frame(self, fine: Layer | None = None):
        """The moved pieces as a GeoDataFrame (EPSG:27700): piece, from_code, from_name, to_code, to_name,
        lsoas, people, area_km2, share_of_from, geometry. Membership changes dissolve each piece's small
        areas from ``fine`` (the small-area layer); geometry changes intersect the two units."""
        import geopandas as gpd
        import shapely

        from ..geo.build import dissolve_geometries

        if self.method == "membership":
            if fine is None or fine.members is None:
                raise CotermError(f"the moved pieces of {self.old.label} → {self.new.label} are unions of "
                                  f"{self.old.small_areas} small areas: give that small-area layer to draw them")
            members = self.piece_members
            joined = members.merge(fine.frame[["code", "geometry"]].rename(columns={"code": "small_code"}),
                                   on="small_code")
            if len(joined) < len(members):
                raise CotermError(f"{fine.label}: {len(members) - len(joined)} small areas of the moved "
                                  "pieces are not in this layer; give the layer the two vintages are built from")
            unions = dissolve_geometries(joined["geometry"].to_numpy(), joined["piece"].to_numpy(), coverage=True)
            geoms = [unions.get(p) for p in self.pieces["piece"]]
        else:
            old = self.old.frame.set_index("code").geometry
            new = self.new.frame.set_index("code").geometry
            geoms = [shapely.intersection(old[a], new[b]) for a, b in zip(self.pieces["from_code"], self.pieces["to_code"])]
        return gpd.GeoDataFrame(self.pieces.copy(), geometry=geoms, crs=BNG)

    def scenario(self, name: str = ""):
        """The changes as a :class:`~coterminosity.boundaries.scenario.Scenario` on the old layer: every small
        area that ends in another unit's continuation moves there (mergers, splits into existing
        units and moved pieces). Applying it to the old layer gives the new layer's units small area
        for small area, under the old codes (``successor`` maps them to the new ones)."""
        from .scenario import Move, Scenario

        if self.method != "membership":
            raise CotermError(f"{self.old.label} → {self.new.label}: a scenario needs both layers built from the "
                              "same small areas (these were compared by geometry)")
        origin = {new: old for old, new in self.successor.items()}
        orphans = sorted(set(self.new.codes) - set(origin) - set(self.table.loc[self.table["class"] == "new", "new_code"]))
        new_units = self.table.loc[self.table["class"] == "new", "new_code"].tolist()
        if orphans or new_units or self.unmatched.get("old_only") or self.unmatched.get("new_only"):
            names = self.new.names()
            raise CotermError(f"{self.old.label} → {self.new.label}: a scenario can only move small areas between "
                              f"existing {self.old.label} units, but {_join(f'{names[c]} ({c})' for c in orphans + new_units)} "
                              "continue none of them (split off or new)")
        relocated = self.pair_members[self.pair_members["new_code"].map(origin) != self.pair_members["old_code"]]
        old_names, new_names = self.old.names(), self.new.names()
        moves, said = [], []
        for (old_code, new_code), group in relocated.groupby(["old_code", "new_code"], sort=True):
            label = f"{old_code} ({self.old.label}) ∩ {new_code} ({self.new.label})"  # a label: the LSOAs are listed
            moves.append(Move(label, origin[new_code], lsoas=sorted(group["small_code"])))
            said.append(f"{old_names[old_code]} ∩ {new_names[new_code]} → {origin[new_code]}")
        recodes = "; ".join(f"{a}→{b}" for a, b in sorted(self.successor.items()) if a != b)
        description = (f"{self.old.label} → {self.new.label} as moves of small areas ({len(moves)}: {'; '.join(said)})"
                       + (f"; then recode {recodes}" if recodes else ""))
        return Scenario(moves, footprints=self.old.label, units=[], name=name or f"{self.old.label}-to-{self.new.label}",
                        description=description)


def _join(items) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else ""


# ---------------------------------------------------------------- matching


def changes(old: Layer, new: Layer, population: Population | None = None) -> Changes:
    """Compare two vintages of a layer: every unit classed, every moved piece (from, to, LSOAs, people, km²).

    Both layers built from the same small areas are matched by membership (exact); otherwise by
    geometry, which the lines say.

    Examples
    --------
    >>> import coterminosity as ct
    >>> result = changes(ct.load_layer("stp21"), ct.load_layer("icb22"), ct.load_population())  # doctest: +SKIP
    >>> result.people_moved                                                                     # doctest: +SKIP
    345711.0
    """
    if old.shares_blocks_with(new):
        return _by_membership(old, new, population)
    return _by_geometry(old, new, population)


def _by_membership(old: Layer, new: Layer, population: Population | None) -> Changes:
    """Old × new pieces by a join of the two membership tables."""
    both = old.members.rename(columns={"code": "old_code"}).merge(
        new.members.rename(columns={"code": "new_code"}), on="small_code", how="outer")
    notes = []
    if population is not None and population.small_areas not in (None, old.small_areas):
        notes.append(f"population {population.label} is not given per {old.small_areas} small area: not used")
        population = None
    people = population.by_code() if population is not None else None
    both["people"] = both["small_code"].map(people).fillna(0.0) if people is not None else 0.0
    blocks = old.blocks if old.blocks is not None else new.blocks
    area = blocks.set_index("code")["area_m2"] if blocks is not None and "area_m2" in blocks else None
    both["area_m2"] = both["small_code"].map(area).fillna(0.0) if area is not None else np.nan
    both["lsoas"] = 1
    inner = both.dropna(subset=["old_code", "new_code"])
    pairs = inner.groupby(["old_code", "new_code"], sort=True)[["lsoas", "people", "area_m2"]].sum().reset_index()
    totals_old = both.dropna(subset=["old_code"]).groupby("old_code")[["lsoas", "people", "area_m2"]].sum()
    totals_new = both.dropna(subset=["new_code"]).groupby("new_code")[["lsoas", "people", "area_m2"]].sum()
    same = (pairs["lsoas"].to_numpy() == pairs["old_code"].map(totals_old["lsoas"]).to_numpy()) & (
        pairs["lsoas"].to_numpy() == pairs["new_code"].map(totals_new["lsoas"]).to_numpy())
    unmatched = {"old_only": float(both["new_code"].isna().sum()), "new_only": float(both["old_code"].isna().sum())}
    table, pieces, roles, successor = classify_units(old, new, pairs, same, totals_old, totals_new, population,
                                                     "membership")
    result = Changes(old, new, table, pieces, roles, successor, "membership", population, unmatched=unmatched,
                     notes=notes)
    result.pair_members = inner[["old_code", "new_code", "small_code"]].reset_index(drop=True)
    return result


def _by_geometry(old: Layer, new: Layer, population: Population | None) -> Changes:
    """Old × new pieces by the geometry overlay (slivers set aside there)."""
    from .overlay import overlay

    table = overlay(old, new, population, method="geometry")
    real = table.real()
    pairs = pd.DataFrame({"old_code": real["a_code"], "new_code": real["b_code"],
                          "lsoas": real["small_areas"] if "small_areas" in real else 0,
                          "people": real["population"] if "population" in real else 0.0,
                          "area_m2": real["area_m2"]}).reset_index(drop=True)
    same = ((real["a_in_b_area"] >= GEOMETRY_SAME) & (real["b_in_a_area"] >= GEOMETRY_SAME)).to_numpy()

    def totals(units: pd.DataFrame) -> pd.DataFrame:
        cols = {"small_areas": "lsoas", "population": "people", "area_m2": "area_m2"}
        frame = units.set_index("code").rename(columns=cols)
        for col in cols.values():
            if col not in frame:
                frame[col] = 0.0
        return frame[list(cols.values())]

    notes = [n for n in table.notes[1:] if n.startswith("slivers")]
    units, pieces, roles, successor = classify_units(old, new, pairs, same, totals(table.a_units),
                                                     totals(table.b_units), population, "geometry")
    return Changes(old, new, units, pieces, roles, successor, "geometry", population, unmatched={}, notes=notes)
