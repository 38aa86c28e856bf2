"""The overlay engine: every intersecting pair of two layers, with area and population both ways.

Two paths, one answer (see DESIGN.md):

* **membership** – both layers are unions of the same small areas: a group-by on the
  membership tables. Exact, no slivers, milliseconds.
* **geometry** – a layer was drawn independently: STRtree candidates, ``contains_properly``
  for whole containment, exact intersection only for boundary cases, population from
  points located once each. Tiny pieces with no population are slivers: counted, not pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import shapely

from ..geo.layer import Layer, Population

# Weight name → the column holding its amount.
WEIGHT_COLUMN = {"population": "population", "area": "area_m2", "small_areas": "small_areas"}

SLIVER_SHARE = 0.001  # a piece under 0.1% of the smaller unit's area …
SLIVER_AREA_M2 = 1.0  # … or under 1 m², holding no population point, is a sliver


@dataclass
class PairTable:
    """A × B: one row per intersecting pair, plus per-unit totals on each side.

    ``pairs`` has ``a_code, b_code``, the amount of each weight in A∩B (``area_m2``,
    ``population``, ``small_areas``), the shares ``a_in_b_<w>`` (fraction of A lying in B)
    and ``b_in_a_<w>``, and ``sliver``. ``a_units``/``b_units`` hold each unit's totals.
    """

    pairs: pd.DataFrame
    a_units: pd.DataFrame
    b_units: pd.DataFrame
    a_label: str
    b_label: str
    method: str
    weights: list[str]
    notes: list[str] = field(default_factory=list)
    slivers: int = 0

    def real(self) -> pd.DataFrame:
        """Pairs that are not slivers."""
        return self.pairs[~self.pairs["sliver"]]

    def swap(self) -> "PairTable":
        """The same overlay seen from B: B × A."""
        rename = {"a_code": "b_code", "b_code": "a_code", "a_name": "b_name", "b_name": "a_name"}
        for w in self.weights:
            rename[f"a_in_b_{w}"] = f"b_in_a_{w}"
            rename[f"b_in_a_{w}"] = f"a_in_b_{w}"
        pairs = self.pairs.rename(columns=rename)[self.pairs.columns]
        pairs = pairs.sort_values(["a_code", "b_code"]).reset_index(drop=True)
        return replace(self, pairs=pairs, a_units=self.b_units, b_units=self.a_units,
                       a_label=self.b_label, b_label=self.a_label)


def _weights_table(a: Layer, population: Population | None, small_table: pd.DataFrame | None) -> pd.DataFrame:
    """Per small area: area (m²), population when given, and 1 (the count of small areas)."""
    if small_table is None or "area_m2" not in small_table.columns:
        raise ValueError(f"membership overlay of {a.label} needs its small areas' areas (Layer.blocks)")
    table = small_table[["code", "area_m2"]].copy()
    table["small_areas"] = 1
    if population is not None:
        pop = population.by_code()
        table["population"] = table["code"].map(pop).fillna(0.0)
    return table.rename(columns={"code": "small_code"})


def _finish(pairs: pd.DataFrame, a_units: pd.DataFrame, b_units: pd.DataFrame, weights: list[str],
            a: Layer, b: Layer) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Add names and shares to raw pair amounts and unit totals."""
    a_names, b_names = a.names(), b.names()
    a_units = a.frame[["code", "name"]].merge(a_units, on="code", how="left").fillna({WEIGHT_COLUMN[w]: 0 for w in weights})
    b_units = b.frame[["code", "name"]].merge(b_units, on="code", how="left").fillna({WEIGHT_COLUMN[w]: 0 for w in weights})
    pairs = pairs.sort_values(["a_code", "b_code"]).reset_index(drop=True)
    pairs.insert(1, "a_name", pairs["a_code"].map(a_names))
    pairs.insert(3, "b_name", pairs["b_code"].map(b_names))
    a_tot = a_units.set_index("code")
    b_tot = b_units.set_index("code")
    for w in weights:
        col = WEIGHT_COLUMN[w]
        with np.errstate(divide="ignore", invalid="ignore"):
            pairs[f"a_in_b_{w}"] = pairs[col] / pairs["a_code"].map(a_tot[col]).to_numpy()
            pairs[f"b_in_a_{w}"] = pairs[col] / pairs["b_code"].map(b_tot[col]).to_numpy()
    return pairs, a_units, b_units


def membership_overlay(a: Layer, b: Layer, population: Population | None = None,
                       small_table: pd.DataFrame | None = None) -> PairTable:
    """Exact overlay of two layers built from the same small areas: a group-by, no geometry."""
    table = _weights_table(a, population, small_table)
    weights = ["area", "small_areas"] + (["population"] if population is not None else [])
    cols = [WEIGHT_COLUMN[w] for w in weights]
    ma = a.members.rename(columns={"code": "a_code"})
    mb = b.members.rename(columns={"code": "b_code"})
    both = ma.merge(mb, on="small_code").merge(table, on="small_code")
    pairs = both.groupby(["a_code", "b_code"], sort=False)[cols].sum().reset_index()
    pairs["sliver"] = False
    a_units = ma.merge(table, on="small_code").groupby("a_code")[cols].sum().rename_axis("code").reset_index()
    b_units = mb.merge(table, on="small_code").groupby("b_code")[cols].sum().rename_axis("code").reset_index()
    pairs, a_units, b_units = _finish(pairs, a_units, b_units, weights, a, b)
    notes = [f"method: membership (both layers are unions of whole {a.small_areas} small areas; exact, no slivers)"]
    return PairTable(pairs, a_units, b_units, a.label, b.label, "membership", weights, notes)


def locate_points(points: np.ndarray, polygons: np.ndarray, prefer: np.ndarray | None = None) -> np.ndarray:
    """Index of the polygon holding each point, -1 if none. A point on a shared edge goes to
    the first polygon (lowest index) that touches it, so every point is counted exactly once.
    ``prefer(pt_idx, poly_idx) -> bool array`` marks candidates that win before the lowest index.
    """
    tree = shapely.STRtree(polygons)
    pt_idx, poly_idx = tree.query(points, predicate="intersects")
    out = np.full(len(points), -1, dtype=np.int64)
    if len(pt_idx):
        rank = ~prefer(pt_idx, poly_idx) if prefer is not None else np.zeros(len(pt_idx), dtype=bool)
        order = np.lexsort((poly_idx, rank, pt_idx))
        pt_sorted, poly_sorted = pt_idx[order], poly_idx[order]
        first = np.r_[True, pt_sorted[1:] != pt_sorted[:-1]]
        out[pt_sorted[first]] = poly_sorted[first]
    return out


def geometry_overlay(a: Layer, b: Layer, population: Population | None = None, *,
                     sliver_share: float = SLIVER_SHARE, sliver_area: float = SLIVER_AREA_M2) -> PairTable:
    """Overlay two independently drawn layers by geometry (STRtree candidates, exact where needed)."""
    ga = np.asarray(a.frame.geometry.values, dtype=object)
    gb = np.asarray(b.frame.geometry.values, dtype=object)
    shapely.prepare(ga)
    shapely.prepare(gb)
    area_a, area_b = shapely.area(ga), shapely.area(gb)
    ia, ib = shapely.STRtree(gb).query(ga, predicate="intersects")
    # Whole containment needs no intersection: B inside A gives B's area, A inside B gives A's.
    b_inside = shapely.contains_properly(ga[ia], gb[ib])
    a_inside = ~b_inside & shapely.contains_properly(gb[ib], ga[ia])
    area = np.where(b_inside, area_b[ib], np.where(a_inside, area_a[ia], np.nan))
    edge = np.isnan(area)
    area[edge] = shapely.area(shapely.intersection(ga[ia[edge]], gb[ib[edge]]))
    weights = ["area"]
    pairs = pd.DataFrame({"ai": ia, "bi": ib, "area_m2": area})
    a_units = pd.DataFrame({"code": a.frame["code"].to_numpy(), "area_m2": area_a})
    b_units = pd.DataFrame({"code": b.frame["code"].to_numpy(), "area_m2": area_b})
    notes = [f"method: geometry ({len(ia):,} STRtree candidates, {int(b_inside.sum() + a_inside.sum()):,} whole "
             f"containments, {int(edge.sum()):,} exact intersections)"]
    if population is not None:
        pts = np.asarray(population.points.geometry.values, dtype=object)
        counts = population.points["population"].to_numpy(dtype=float)
        pa = locate_points(pts, ga)
        # A point on an edge of both layers goes to a B that really overlaps its A (area > 0), so
        # it never creates a pair of units that only touch.
        overlapping = ia[area > 0] * len(gb) + ib[area > 0]
        pb = locate_points(pts, gb, prefer=lambda p, q: np.isin(pa[p] * len(gb) + q, overlapping))
        located = pd.DataFrame({"ai": pa, "bi": pb, "population": counts, "small_areas": 1})
        for units, idx in ((a_units, pa), (b_units, pb)):
            units["population"] = np.bincount(idx[idx >= 0], weights=counts[idx >= 0], minlength=len(units))
            units["small_areas"] = np.bincount(idx[idx >= 0], minlength=len(units))
        inside = located[(located["ai"] >= 0) & (located["bi"] >= 0)]
        by_pair = inside.groupby(["ai", "bi"])[["population", "small_areas"]].sum().reset_index()
        pairs = pairs.merge(by_pair, on=["ai", "bi"], how="outer").fillna({"population": 0.0, "small_areas": 0, "area_m2": 0.0})
        weights += ["small_areas", "population"]
        outside_a = counts[pa < 0].sum()
        outside_b = counts[pb < 0].sum()
        if outside_a or outside_b:
            notes.append(f"population outside {a.label}: {outside_a:,.0f}; outside {b.label}: {outside_b:,.0f}")
    pairs = pairs[(pairs["area_m2"] > 0) | (pairs.get("population", 0) > 0)]
    smaller = np.minimum(area_a[pairs["ai"].to_numpy()], area_b[pairs["bi"].to_numpy()])
    tiny = pairs["area_m2"].to_numpy() < np.maximum(sliver_area, sliver_share * smaller)
    if population is not None:
        tiny &= pairs["population"].to_numpy() == 0
    pairs = pairs.assign(sliver=tiny)
    pairs.insert(0, "a_code", a.frame["code"].to_numpy()[pairs["ai"].to_numpy()])
    pairs.insert(1, "b_code", b.frame["code"].to_numpy()[pairs["bi"].to_numpy()])
    pairs = pairs.drop(columns=["ai", "bi"])
    slivers = int(tiny.sum())
    notes.append(f"slivers: {slivers:,} pieces under {sliver_share:.1%} of the smaller unit or {sliver_area:g} m², "
                 "with no population, set aside (not pairs)")
    pairs, a_units, b_units = _finish(pairs, a_units, b_units, weights, a, b)
    return PairTable(pairs, a_units, b_units, a.label, b.label, "geometry", weights, notes, slivers)


def overlay(a: Layer, b: Layer, population: Population | None = None, *, method: str = "auto",
            small_table: pd.DataFrame | None = None, sliver_share: float = SLIVER_SHARE,
            sliver_area: float = SLIVER_AREA_M2) -> PairTable:
    """Overlay A on B. ``method="auto"`` takes the exact membership path when both layers are
    built from the same small areas (and the population is given per small area), else geometry."""
    can_join = a.shares_blocks_with(b) and (population is None or population.small_areas == a.small_areas)
    if method == "membership" or (method == "auto" and can_join):
        if not can_join:
            raise ValueError("membership overlay needs both layers (and the population) on the same small areas")
        return membership_overlay(a, b, population, small_table if small_table is not None else a.blocks)
    return geometry_overlay(a, b, population, sliver_share=sliver_share, sliver_area=sliver_area)


def population_by_unit(layer: Layer, population: Population) -> pd.Series:
    """Population of each unit of ``layer`` (by code), summed over its small areas when membership
    is known, else from the population points inside it."""
    totals = overlay(layer, layer, population).a_units.set_index("code")["population"]
    return layer.frame["code"].map(totals).fillna(0.0)
