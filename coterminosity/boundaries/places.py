"""Places: each footprint split into place units (footprint ∩ council or CCG), and checks of proposed places.

A **place** is the part of a footprint that lies in one unit of a local layer (an upper-tier
council, a district, a CCG). From an overlay of footprints on that layer, every real pair is a
place, with its population, area, its share of the footprint and its share of the unit.

* A **fragment** is a place cut from a unit that the footprint does not hold whole (share of the
  unit below the threshold) and that is tiny in its footprint (share of the footprint below
  ``min_share``): a piece that exists only because two sets of lines disagree.
* A **sliver** is a geometry-overlay piece along a shared edge with no people in it (see
  :mod:`.overlay`); slivers are counted per footprint and listed only on request.
* **Neighbourhoods** are 30,000–50,000 people. A place of P people can be divided into n whole
  neighbourhoods of that size exactly when ceil(P / 50,000) ≤ n ≤ floor(P / 30,000): those two
  bounds are ``nbhd_min`` and ``nbhd_max``. When ``nbhd_min > nbhd_max`` no such division exists
  (under 30,000 people, or 50,001–59,999).

:func:`check_proposed` answers "do these proposed places tile the footprint exactly?": per
footprint, the area and people in no proposed place (gaps) and in two or more (overlaps).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely

from ..errors import CotermError
from ..geo.layer import Layer, Population
from .metrics import DEFAULT_THRESHOLD, pick_weight
from .overlay import SLIVER_AREA_M2, SLIVER_SHARE, WEIGHT_COLUMN, locate_points, overlay
from .result import weight_line

NEIGHBOURHOOD_MIN = 30_000
NEIGHBOURHOOD_MAX = 50_000
MIN_SHARE = 0.02  # a piece of a divided unit holding under 2% of its footprint is a fragment


def neighbourhood_range(population: pd.Series | np.ndarray, low: int = NEIGHBOURHOOD_MIN,
                        high: int = NEIGHBOURHOOD_MAX) -> tuple[np.ndarray, np.ndarray]:
    """Fewest and most whole neighbourhoods of ``low``–``high`` people: ceil(P/high), floor(P/low)."""
    pop = np.asarray(population, dtype=float)
    # Round first so that sums of LSOA counts stored as floats do not fall just under a multiple.
    pop = np.round(pop, 6)
    return np.ceil(pop / high).astype(int), np.floor(pop / low).astype(int)


@dataclass
class Places:
    """Place units of each footprint (``table``) and one line per footprint (``footprints``)."""

    table: pd.DataFrame
    footprints: pd.DataFrame
    by: str
    method: str
    notes: list[str] = field(default_factory=list)
    footprint_label: str = ""
    unit_label: str = ""
    population: Population | None = None
    neighbourhood: tuple[int, int] = (NEIGHBOURHOOD_MIN, NEIGHBOURHOOD_MAX)
    min_share: float = MIN_SHARE
    threshold: float = DEFAULT_THRESHOLD

    def header(self) -> list[str]:
        """What was split by what, and the weights."""
        n = len(self.footprints)
        pop = self.population
        return [f"places: {self.footprint_label} ({n} footprint{'s' if n != 1 else ''}) ∩ {self.unit_label}",
                weight_line(self.by, pop.label if pop is not None else None,
                            pop.total if pop is not None else None)] + self.notes

    def lines(self) -> list[str]:
        """Counts of places, fragments and slivers; the fragments; the neighbourhood range."""
        kinds = self.table["kind"].value_counts()
        n = len(self.footprints)
        out = [f"{int(kinds.get('place', 0))} places, {int(kinds.get('fragment', 0))} fragments, "
               f"{int(kinds.get('sliver', 0))} slivers in {n} footprint{'s' if n != 1 else ''}"]
        frags = self.table[self.table["kind"] == "fragment"]
        if len(frags):
            out.append("fragments: " + "; ".join(f"{r.name} in {r.footprint_name} ({r.footprint_share:.1%} of it)"
                                                 for r in frags.itertuples()))
        if "nbhd_min" in self.footprints:
            low, high = self.neighbourhood
            out.append(f"neighbourhoods ({low:,}–{high:,} people): {int(self.footprints['nbhd_min'].sum()):,}–"
                       f"{int(self.footprints['nbhd_max'].sum()):,} across the footprints shown")
        return out

    def meta(self) -> dict:
        """The facts JSON carries beside the rows."""
        return {"footprints": self.footprint_label, "units": self.unit_label, "by": self.by, "method": self.method,
                "min_share": self.min_share, "threshold": self.threshold,
                "per_footprint": self.footprints.to_dict("records")}


@dataclass
class ProposedCheck:
    """Do proposed places tile each footprint? One row per footprint (``table``)."""

    table: pd.DataFrame
    footprint_label: str
    proposed: Layer

    def header(self) -> list[str]:
        """What was checked and the rules."""
        return [f"proposed places: {self.proposed.label} ({len(self.proposed)} places) against {self.footprint_label}",
                "each place belongs to the footprint holding most of its area; gap = footprint in none of its "
                "places; overlap = in two or more of them; spill = its places' area outside it",
                "tiles = gap, overlap and spill each under the sliver tolerance and holding nobody"] + self.proposed.notes

    def lines(self) -> list[str]:
        """How many footprints the proposed places tile exactly."""
        return [f"{int(self.table['tiles'].sum())} of {len(self.table)} footprints tiled exactly by the proposed places"]

    def meta(self) -> dict:
        """The facts JSON carries beside the rows."""
        return {"footprints": self.footprint_label, "proposed": self.proposed.label}


def footprint_target(spec: str, is_layer: bool, wanted: list[str], default: str = "stp17") -> tuple[str, list[str]]:
    """(layer, footprints wanted): ``coterm places Nottinghamshire`` means one ``default`` footprint.

    Examples
    --------
    >>> footprint_target("Nottinghamshire", False, [])
    ('stp17', ['Nottinghamshire'])
    """
    return (spec, list(wanted)) if is_layer else (default, [spec, *wanted])


def select_footprints(footprints: Layer, wanted: list[str] | None) -> Layer:
    """The footprints named by code or name (case-insensitive); all when ``wanted`` is empty."""
    if not wanted:
        return footprints
    frame = footprints.frame
    keep = {footprints.find(item, "footprints") for item in wanted}
    sub = frame[frame["code"].isin(keep)].reset_index(drop=True)
    members = None
    if footprints.members is not None:
        members = footprints.members[footprints.members["code"].isin(set(sub["code"]))].reset_index(drop=True)
    return Layer(sub, label=footprints.label, members=members, small_areas=footprints.small_areas,
                 notes=list(footprints.notes), source=footprints.source, blocks=footprints.blocks)


def places(footprints: Layer, units: Layer, population: Population | None = None, *,
           by: str | None = None, threshold: float = DEFAULT_THRESHOLD, min_share: float = MIN_SHARE,
           low: int = NEIGHBOURHOOD_MIN, high: int = NEIGHBOURHOOD_MAX, **overlay_options) -> Places:
    """Split each footprint into places (footprint ∩ unit), flag fragments and slivers, count neighbourhoods."""
    table = overlay(footprints, units, population, **overlay_options)
    by = pick_weight(table, by)
    col = WEIGHT_COLUMN[by]
    pairs = table.pairs
    has_pop = "population" in table.weights
    out = pd.DataFrame({
        "footprint": pairs["a_code"], "footprint_name": pairs["a_name"],
        "code": pairs["b_code"], "name": pairs["b_name"],
    })
    if has_pop:
        out["population"] = pairs["population"].to_numpy()
    out["area_km2"] = pairs["area_m2"].to_numpy() / 1e6
    out["footprint_share"] = pairs[f"a_in_b_{by}"].to_numpy()
    out["unit_share"] = pairs[f"b_in_a_{by}"].to_numpy()
    weight = pairs[col].to_numpy()
    sliver = pairs["sliver"].to_numpy()
    fragment = ~sliver & (out["unit_share"].to_numpy() < threshold) & (out["footprint_share"].to_numpy() < min_share)
    empty = ~sliver & (weight <= 0)  # e.g. a piece with area but nobody in it, weighted by population
    out["kind"] = np.where(sliver, "sliver", np.where(fragment | empty, "fragment", "place"))
    if has_pop:
        out["nbhd_min"], out["nbhd_max"] = neighbourhood_range(out["population"], low, high)
    out = out.sort_values(["footprint", "kind", col if col in out else "area_km2", "code"],
                          ascending=[True, False, False, True], key=_kind_order).reset_index(drop=True)
    per = _per_footprint(table, out, col, has_pop, low, high)
    notes = list(table.notes)
    notes.append(f"place: footprint ∩ {units.label} unit; fragment: under {min_share:.1%} of its footprint ({by}) "
                 f"and cut from a unit of {units.label} that the footprint holds under {threshold:.0%} of")
    if has_pop:
        notes.append(f"neighbourhoods of {low:,}–{high:,} people: nbhd_min = ceil(P/{high:,}), "
                     f"nbhd_max = floor(P/{low:,}); none fits when nbhd_min > nbhd_max")
    return Places(out, per, by, table.method, notes, footprints.label, units.label, population, (low, high),
                  min_share, threshold)


def _kind_order(series: pd.Series) -> pd.Series:
    """Sort key: places before fragments before slivers (other columns pass through)."""
    if series.name == "kind":
        return series.map({"place": "c", "fragment": "b", "sliver": "a"})
    return series


def _per_footprint(table, out: pd.DataFrame, col: str, has_pop: bool, low: int, high: int) -> pd.DataFrame:
    """One row per footprint: weight, places, fragments, slivers, neighbourhood range."""
    units = table.a_units
    res = pd.DataFrame({"code": units["code"], "name": units["name"]})
    if has_pop:
        res["population"] = units["population"].to_numpy()
    res["area_km2"] = units["area_m2"].to_numpy() / 1e6
    counts = out.groupby(["footprint", "kind"]).size().unstack(fill_value=0)
    for kind, name in (("place", "places"), ("fragment", "fragments"), ("sliver", "slivers")):
        res[name] = res["code"].map(counts[kind] if kind in counts else {}).fillna(0).astype(int)
    if has_pop:
        res["nbhd_min"], res["nbhd_max"] = neighbourhood_range(res["population"], low, high)
        kept = out[out["kind"] == "place"]
        sums = kept.groupby("footprint")[["nbhd_min", "nbhd_max"]].sum()
        res["place_nbhd_min"] = res["code"].map(sums["nbhd_min"]).fillna(0).astype(int)
        res["place_nbhd_max"] = res["code"].map(sums["nbhd_max"]).fillna(0).astype(int)
    return res


# ---------------------------------------------------------------- proposed places


def check_proposed(footprints: Layer, proposed: Layer, population: Population | None = None, *,
                   codes: list[str] | None = None, sliver_share: float = SLIVER_SHARE,
                   sliver_area: float = SLIVER_AREA_M2) -> ProposedCheck:
    """Do the proposed places tile each footprint exactly? Gaps, overlaps and spill, by area and people.

    Each proposed place belongs to the footprint holding most of its area. Per footprint that
    has proposed places: ``gap`` = footprint not covered by its own places (a neighbour's place
    reaching in leaves a gap here and spills there); ``overlap`` = footprint covered by two or
    more of its places; ``spill`` = its places' area outside it. A footprint
    ``tiles`` when gap, overlap and spill are each under the sliver tolerance
    (max(``sliver_area`` m², ``sliver_share`` of the footprint)) and hold nobody. ``codes``
    limits the report to those footprints (places are still assigned among all of them).
    Places built from the footprints' own small areas are checked by membership (exact, no geometry).
    """
    if footprints.shares_blocks_with(proposed) and footprints.blocks is not None and \
            (population is None or population.small_areas == footprints.small_areas):
        table = _proposed_by_membership(footprints, proposed, population, codes, sliver_share, sliver_area)
        return ProposedCheck(table, footprints.label, proposed)
    fgeo = np.asarray(footprints.frame.geometry.values, dtype=object)
    pgeo = np.asarray(proposed.frame.geometry.values, dtype=object)
    shapely.prepare(fgeo)
    shapely.prepare(pgeo)
    pi, fi = shapely.STRtree(fgeo).query(pgeo, predicate="intersects")
    if not len(pi):
        raise CotermError(f"{proposed.source or proposed.label}: no proposed place overlaps any footprint of "
                          f"{footprints.label}; check the file's CRS and extent")
    shared = shapely.area(shapely.intersection(pgeo[pi], fgeo[fi]))
    cand = pd.DataFrame({"p": pi, "f": fi, "area": shared})
    # A place that only touches footprints along an edge (no shared area) belongs to none.
    home = cand[cand["area"] > 0].sort_values(["p", "area"], ascending=[True, False]).drop_duplicates("p")
    home = home.set_index("p")["f"]
    report = sorted(set(home.to_numpy()))
    if codes is not None:
        wanted = set(codes)
        report = [f for f in range(len(fgeo)) if footprints.frame["code"].iloc[f] in wanted]
    pts = counts = None
    if population is not None:
        pts = np.asarray(population.points.geometry.values, dtype=object)
        counts = population.points["population"].to_numpy(dtype=float)
        where = locate_points(pts, fgeo)
    rows = []
    for f in report:
        fp = fgeo[f]
        mine = home.index[home.to_numpy() == f].to_numpy()
        clipped = shapely.intersection(pgeo[mine], fp)
        covered = shapely.union_all(clipped)
        gap = shapely.difference(fp, covered)
        overlap = _overlaps(clipped)
        spill = shapely.union_all(shapely.difference(pgeo[mine], fp)) if len(mine) else shapely.Polygon()
        f_area = shapely.area(fp)
        tol = max(sliver_area, sliver_share * f_area)
        row = {"code": footprints.frame["code"].iloc[f], "name": footprints.frame["name"].iloc[f],
               "places": int(len(mine)), "area_km2": f_area / 1e6,
               "gap_km2": shapely.area(gap) / 1e6, "overlap_km2": shapely.area(overlap) / 1e6,
               "spill_km2": shapely.area(spill) / 1e6}
        ok = all(row[k] * 1e6 < tol for k in ("gap_km2", "overlap_km2", "spill_km2"))
        if population is not None:
            inside = np.flatnonzero(where == f)
            n_cover, n_inner = _cover_counts(pts[inside], pgeo[mine])
            row["population"] = counts[inside].sum()
            row["gap_population"] = counts[inside][n_cover == 0].sum()
            row["overlap_population"] = counts[inside][n_inner >= 2].sum()
            row["spill_population"] = _spill_population(pts, counts, where, f, pgeo[mine])
            ok = ok and row["gap_population"] == 0 and row["overlap_population"] == 0 and row["spill_population"] == 0
        row["tiles"] = bool(ok)
        rows.append(row)
    return ProposedCheck(pd.DataFrame(rows), footprints.label, proposed)


def _proposed_by_membership(footprints: Layer, proposed: Layer, population: Population | None,
                            codes: list[str] | None, sliver_share: float, sliver_area: float) -> pd.DataFrame:
    """:func:`check_proposed` on the small areas both layers are made of: gap, overlap and spill
    are sets of whole small areas, so the answer is exact and needs no geometry."""
    blocks = footprints.blocks.set_index("code")["area_m2"]
    people = population.by_code() if population is not None else None
    home_of = footprints.members.set_index("small_code")["code"]
    mine = proposed.members.rename(columns={"code": "place"})
    mine["footprint"] = mine["small_code"].map(home_of)
    mine["area"] = mine["small_code"].map(blocks).fillna(0.0)
    shared = mine.groupby(["place", "footprint"])["area"].sum().reset_index()
    home = shared.sort_values(["place", "area"], ascending=[True, False]).drop_duplicates("place")
    home = home.set_index("place")["footprint"]
    mine["home"] = mine["place"].map(home)
    report = sorted(set(home)) if codes is None else [c for c in footprints.frame["code"] if c in set(codes)]
    names = footprints.names()

    def amount(small: pd.Index | pd.Series, what: pd.Series | None) -> float:
        return float(what.reindex(small).fillna(0.0).sum()) if what is not None else 0.0

    rows = []
    for f in report:
        inside = pd.Index(footprints.members.loc[footprints.members["code"] == f, "small_code"])
        placed = mine[mine["home"] == f]
        cover = placed[placed["small_code"].isin(inside)].groupby("small_code").size()
        gap = inside.difference(cover.index)
        overlap = cover.index[cover.to_numpy() >= 2]
        spill = pd.Index(placed.loc[~placed["small_code"].isin(inside), "small_code"].unique())
        f_area = amount(inside, blocks)
        tol = max(sliver_area, sliver_share * f_area)
        row = {"code": f, "name": names.get(f, f), "places": int(placed["place"].nunique()), "area_km2": f_area / 1e6,
               "gap_km2": amount(gap, blocks) / 1e6, "overlap_km2": amount(overlap, blocks) / 1e6,
               "spill_km2": amount(spill, blocks) / 1e6}
        ok = all(row[k] * 1e6 < tol for k in ("gap_km2", "overlap_km2", "spill_km2"))
        if people is not None:
            row.update(population=amount(inside, people), gap_population=amount(gap, people),
                       overlap_population=amount(overlap, people), spill_population=amount(spill, people))
            ok = ok and row["gap_population"] == 0 and row["overlap_population"] == 0 and row["spill_population"] == 0
        row["tiles"] = bool(ok)
        rows.append(row)
    return pd.DataFrame(rows)


def _overlaps(pieces: np.ndarray) -> shapely.Geometry:
    """The union of every pairwise intersection among ``pieces`` (area covered twice or more)."""
    pieces = pieces[~shapely.is_empty(pieces)]
    if len(pieces) < 2:
        return shapely.Polygon()
    i, j = shapely.STRtree(pieces).query(pieces, predicate="intersects")
    keep = i < j
    if not keep.any():
        return shapely.Polygon()
    inter = shapely.intersection(pieces[i[keep]], pieces[j[keep]])
    polys = [shapely.union_all([p for p in shapely.get_parts(g) if p.geom_type == "Polygon"] or [shapely.Polygon()])
             for g in inter]
    return shapely.union_all(polys)


def _cover_counts(points: np.ndarray, polygons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per point: how many polygons cover it, and how many hold it strictly inside.

    A point on the edge two places share is covered by both but inside neither: neither a
    gap nor an overlap.
    """
    n = len(points)
    if not n or not len(polygons):
        return np.zeros(n, dtype=int), np.zeros(n, dtype=int)
    tree = shapely.STRtree(polygons)
    cover = np.bincount(tree.query(points, predicate="intersects")[0], minlength=n)
    inner = np.bincount(tree.query(points, predicate="within")[0], minlength=n)
    return cover, inner


def _spill_population(points, counts, where, f, polygons) -> float:
    """People in these proposed places but outside footprint ``f``."""
    if not len(polygons) or points is None:
        return 0.0
    outside = np.flatnonzero(where != f)
    if not len(outside):
        return 0.0
    cover, _ = _cover_counts(points[outside], polygons)
    return float(counts[outside][cover > 0].sum())
