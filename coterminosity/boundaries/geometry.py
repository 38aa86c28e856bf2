"""The geometry path of the overlay: a layer drawn independently (proposed places, catchment
polygons, a consultant's map, a hexagon grid) against any other layer.

* Candidate pairs come from one STRtree, built on the side with **more** geometries and queried
  with the fewer (GEOS prepares each query geometry once). Querying the other way round, many
  small prepared geometries against a tree of a few big ones, grew a 84,100-cell grid against
  44 footprints to 7.8 GB and 34 s; this way it is 0.1 s and no growth.
* Whole containment needs no intersection: a pair whose bounding boxes nest is tested with
  ``contains_properly`` (the query side prepared); only the remaining pairs are intersected.
* Population points are located once each: a point of a layer's own small area belongs to that
  small area's unit (membership, no geometry: a population-weighted centroid lying just outside
  its generalised polygon is not lost); otherwise one vectorised point-in-polygon through an
  STRtree (on the points, queried with each detailed polygon prepared once; on the polygons
  when they are simple, like hexagons), a point on a shared edge going to one unit only.

Intersections stay at the level of the units. Overlaying a side's small areas (LSOAs) instead
was measured and is slower with GEOS: the small areas' own edges add boundary to node
(lad11 × lad13: 19,128 LSOA pieces to intersect instead of 1,979 unit pairs, about 2× the
time; upper17 × 10,000 hexagons 7×); see ``bench/README.md``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from ..geo.layer import Layer, Population
from .overlay import SLIVER_AREA_M2, SLIVER_SHARE, PairTable, _finish


def candidate_pairs(ga: np.ndarray, gb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (into ``ga``, ``gb``) of intersecting geometries, sorted by ``ga`` then ``gb``.
    The tree holds the side with more geometries; the other side is the (prepared) query."""
    if len(ga) >= len(gb):
        ib, ia = shapely.STRtree(ga).query(gb, predicate="intersects")
    else:
        ia, ib = shapely.STRtree(gb).query(ga, predicate="intersects")
    order = np.lexsort((ib, ia))
    return ia[order], ib[order]


def _nested(outer: np.ndarray, inner: np.ndarray, outer_box: np.ndarray, inner_box: np.ndarray) -> np.ndarray:
    """``outer[k]`` contains ``inner[k]`` properly; tested only where the bounding boxes nest."""
    boxed = ((outer_box[:, 0] <= inner_box[:, 0]) & (outer_box[:, 1] <= inner_box[:, 1])
             & (outer_box[:, 2] >= inner_box[:, 2]) & (outer_box[:, 3] >= inner_box[:, 3]))
    out = np.zeros(len(outer), dtype=bool)
    if boxed.any():
        out[boxed] = shapely.contains_properly(outer[boxed], inner[boxed])
    return out


def _partition_outline(geoms: np.ndarray) -> shapely.Geometry | None:
    """The union of a layer whose units do not overlap (a partition: the union's area is the sum
    of the units' areas), prepared; None when they overlap or the coverage union fails."""
    try:
        outline = shapely.coverage_union_all(geoms)
    except shapely.errors.GEOSException:
        return None
    total = float(shapely.area(geoms).sum())
    if not outline.is_valid or abs(outline.area - total) > 1e-9 * total:
        return None
    shapely.prepare(outline)
    return outline


def _by_difference(units: np.ndarray, own: np.ndarray, edge: np.ndarray,
                   overlap_box: np.ndarray, outline: shapely.Geometry) -> np.ndarray:
    """Edge pairs whose area follows from the others: for a unit lying properly inside the other
    layer's outline (a partition), its pieces add up to its area, so its largest edge piece (by
    bounding-box overlap) is its area less the other pieces, with no intersection."""
    candidates = np.unique(own[edge])
    inside = candidates[shapely.contains_properly(outline, units[candidates])]
    pick = np.flatnonzero(edge & np.isin(own, inside))
    if not len(pick):
        return np.zeros(len(own), dtype=bool)
    order = pick[np.lexsort((-overlap_box[pick], own[pick]))]
    first = order[np.r_[True, own[order][1:] != own[order][:-1]]]
    skip = np.zeros(len(own), dtype=bool)
    skip[first] = True
    return skip


def pair_areas(ga: np.ndarray, gb: np.ndarray, ia: np.ndarray, ib: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
    """Area of ``ga[ia] ∩ gb[ib]``: whole containments from the smaller piece's area, one edge
    piece per unit by difference where the other layer is a partition covering the unit, the
    rest by exact intersection. Prepares only the side with fewer geometries."""
    fewer = ga if len(ga) <= len(gb) else gb
    shapely.prepare(fewer)
    box_a, box_b = shapely.bounds(ga), shapely.bounds(gb)
    area_a, area_b = shapely.area(ga), shapely.area(gb)
    b_inside = _nested(ga[ia], gb[ib], box_a[ia], box_b[ib])
    a_inside = ~b_inside & _nested(gb[ib], ga[ia], box_b[ib], box_a[ia])
    area = np.where(b_inside, area_b[ib], np.where(a_inside, area_a[ia], np.nan))
    edge = np.isnan(area)
    shapely.destroy_prepared(fewer)
    skip = np.zeros(len(ia), dtype=bool)
    if edge.any():
        # The side with more units has more pieces to spare: its units go against the other's outline,
        # or the other way round when only that side's units form a partition.
        sides = [(ga, ia, gb, area_a), (gb, ib, ga, area_b)]
        sides = sides if len(ga) >= len(gb) else sides[::-1]
        outlines = (_partition_outline(side[2]) for side in sides)
        found = next(((side, outline) for side, outline in zip(sides, outlines) if outline is not None), None)
        if found is not None:
            (units, own, _, own_area), outline = found
            lo = np.maximum(box_a[ia], box_b[ib])
            hi = np.minimum(box_a[ia], box_b[ib])
            overlap_box = (hi[:, 2] - lo[:, 0]) * (hi[:, 3] - lo[:, 1])
            skip = _by_difference(units, own, edge, overlap_box, outline)
        exact = edge & ~skip
        area[exact] = shapely.area(shapely.intersection(ga[ia[exact]], gb[ib[exact]]))
        if skip.any():
            known = np.bincount(own[~skip], weights=area[~skip], minlength=len(units))
            rest = own_area[own[skip]] - known[own[skip]]
            # Rounding leaves ~1e-16 of the unit's area where a piece only touches: that is no area.
            area[skip] = np.where(rest > 1e-9 * own_area[own[skip]], rest, 0.0)
    return area, {"candidates": len(ia), "containments": int(b_inside.sum() + a_inside.sum()),
                  "intersections": int((edge & ~skip).sum()), "by_difference": int(skip.sum())}


# Polygons with fewer vertices than this on average are tested point by point from a tree of the
# polygons (cheap tests); more detailed ones are prepared once each and query a tree of the points
# (1.5 million points into the 152 councils: 1.9 s against 29 s the other way round).
SIMPLE_POLYGON_VERTICES = 32


def locate_points(points: np.ndarray, polygons: np.ndarray, prefer=None) -> np.ndarray:
    """Index of the polygon holding each point, -1 if none. A point on a shared edge goes to
    the first polygon (lowest index) that touches it, so every point is counted exactly once.
    ``prefer(pt_idx, poly_idx) -> bool array`` marks candidates that win before the lowest index."""
    points = np.asarray(points, dtype=object)
    polygons = np.asarray(polygons, dtype=object)
    out = np.full(len(points), -1, dtype=np.int64)
    if not len(points) or not len(polygons):
        return out
    simple = shapely.get_num_coordinates(polygons).mean() < SIMPLE_POLYGON_VERTICES
    if len(points) >= len(polygons) and not simple:
        poly_idx, pt_idx = shapely.STRtree(points).query(polygons, predicate="intersects")
    else:
        pt_idx, poly_idx = shapely.STRtree(polygons).query(points, predicate="intersects")
    if len(pt_idx) and np.bincount(pt_idx).max() == 1:  # no point on an edge: one candidate each
        out[pt_idx] = poly_idx
    elif len(pt_idx):
        rank = ~prefer(pt_idx, poly_idx) if prefer is not None else np.zeros(len(pt_idx), dtype=bool)
        order = np.lexsort((poly_idx, rank, pt_idx))
        pt_sorted, poly_sorted = pt_idx[order], poly_idx[order]
        first = np.r_[True, pt_sorted[1:] != pt_sorted[:-1]]
        out[pt_sorted[first]] = poly_sorted[first]
    return out


def by_membership(layer: Layer, population: Population) -> np.ndarray | None:
    """Unit index of each population point from the layer's small-area membership (-1 for a
    small area the layer does not hold), or None when the points are not the layer's small areas."""
    if layer.members is None or not population.small_areas or population.small_areas != layer.small_areas:
        return None
    position = pd.Series(np.arange(len(layer)), index=layer.frame["code"].to_numpy())
    unit = layer.members.drop_duplicates("small_code").set_index("small_code")["code"].map(position)
    found = population.points["code"].map(unit)
    return found.fillna(-1).to_numpy(dtype=np.int64)


def _locate_population(a: Layer, b: Layer, population: Population, ga: np.ndarray, gb: np.ndarray,
                       overlapping: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Unit of each point in A and in B (-1 outside), by membership where known, else geometry.
    A point on an edge of B goes to a B unit that really overlaps its A unit (``overlapping``:
    sorted ``ai * len(B) + bi`` keys of pairs with area), so it never makes a pair that only touches."""
    pts = np.asarray(population.points.geometry.values, dtype=object)
    pa, pb = by_membership(a, population), by_membership(b, population)
    how = [f"{layer.label}: {'by small-area membership' if p is not None else 'point in polygon'}"
           for layer, p in ((a, pa), (b, pb))]
    if pa is None and pb is not None:
        # B known by membership: A's edge points prefer A units overlapping the point's B unit.
        keys_ab = np.sort((overlapping % len(gb)) * len(ga) + overlapping // len(gb))
        pa = locate_points(pts, ga, prefer=lambda p, q: _member(keys_ab, pb[p] * len(ga) + q))
    elif pa is None:
        pa = locate_points(pts, ga)
    if pb is None:
        pb = locate_points(pts, gb, prefer=lambda p, q: _member(overlapping, pa[p] * len(gb) + q))
    return pa, pb, [f"population points located ({'; '.join(how)})"]


def _member(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """``np.isin`` for a sorted key array (binary search; negative keys never match)."""
    if not len(sorted_keys):
        return np.zeros(len(keys), dtype=bool)
    pos = np.clip(np.searchsorted(sorted_keys, keys), 0, len(sorted_keys) - 1)
    return (sorted_keys[pos] == keys) & (keys >= 0)


def geometry_overlay(a: Layer, b: Layer, population: Population | None = None, *,
                     sliver_share: float = SLIVER_SHARE, sliver_area: float = SLIVER_AREA_M2) -> PairTable:
    """Overlay two independently drawn layers by geometry (STRtree candidates, exact where needed)."""
    ga = np.asarray(a.frame.geometry.values, dtype=object)
    gb = np.asarray(b.frame.geometry.values, dtype=object)
    area_a, area_b = shapely.area(ga), shapely.area(gb)
    ia, ib = candidate_pairs(ga, gb)
    area, counts = pair_areas(ga, gb, ia, ib)
    weights = ["area"]
    pairs = pd.DataFrame({"ai": ia, "bi": ib, "area_m2": area})
    a_units = pd.DataFrame({"code": a.frame["code"].to_numpy(), "area_m2": area_a})
    b_units = pd.DataFrame({"code": b.frame["code"].to_numpy(), "area_m2": area_b})
    notes = [f"method: geometry ({counts['candidates']:,} STRtree candidates, {counts['containments']:,} whole "
             f"containments, {counts['intersections']:,} exact intersections, {counts['by_difference']:,} by "
             "difference)"]
    if population is not None:
        counts_pop = population.points["population"].to_numpy(dtype=float)
        overlapping = np.sort(ia[area > 0].astype(np.int64) * len(gb) + ib[area > 0])
        pa, pb, located_notes = _locate_population(a, b, population, ga, gb, overlapping)
        notes += located_notes
        for units, idx in ((a_units, pa), (b_units, pb)):
            units["population"] = np.bincount(idx[idx >= 0], weights=counts_pop[idx >= 0], minlength=len(units))
            units["small_areas"] = np.bincount(idx[idx >= 0], minlength=len(units))
        both = (pa >= 0) & (pb >= 0)
        located = pd.DataFrame({"ai": pa[both], "bi": pb[both], "population": counts_pop[both], "small_areas": 1})
        by_pair = located.groupby(["ai", "bi"])[["population", "small_areas"]].sum().reset_index()
        pairs = pairs.merge(by_pair, on=["ai", "bi"], how="outer").fillna(
            {"population": 0.0, "small_areas": 0, "area_m2": 0.0})
        weights += ["small_areas", "population"]
        outside_a, outside_b = counts_pop[pa < 0].sum(), counts_pop[pb < 0].sum()
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
