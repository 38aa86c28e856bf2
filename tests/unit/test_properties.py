"""Property-based tests of the overlay engine on random partitions of a square (hypothesis).

A and B are random guillotine partitions of a 1 km square near (400000, 300000) in
EPSG:27700: rectangles cut again and again at whole metres, so shared edges end in
T-junctions. People stand at whole-metre points, many of them exactly on cut lines and
corners. For every example:

* the shares of each A unit over the B units sum to 1, both ways, by area and by population;
* population is conserved, every point counted once, each in the unit the documented rule
  names (the lowest-index polygon touching it), checked against a brute-force count;
* overlay(A, B).swap() has the same pairs and numbers as overlay(B, A);
* where both layers are unions of the common refinement's cells, the membership path (a
  group-by) and the geometry path (STRtree, intersections) give the same numbers.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coterminosity.boundaries.overlay import overlay
from coterminosity.geo.layer import BNG, Layer, Population

X0, Y0, SIDE = 400_000, 300_000, 1000
SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def partitions(draw, max_cuts: int = 7):
    """A guillotine partition of the square: (x1, y1, x2, y2) rectangles in whole metres."""
    rects = [(0, 0, SIDE, SIDE)]
    for _ in range(draw(st.integers(0, max_cuts))):
        i = draw(st.integers(0, len(rects) - 1))
        x1, y1, x2, y2 = rects[i]
        vertical = draw(st.booleans())
        lo, hi = (x1, x2) if vertical else (y1, y2)
        if hi - lo < 2:
            continue
        cut = draw(st.integers(lo + 1, hi - 1))
        a, b = ((x1, y1, cut, y2), (cut, y1, x2, y2)) if vertical else ((x1, y1, x2, cut), (x1, cut, x2, y2))
        rects[i:i + 1] = [a, b]
    order = draw(st.permutations(range(len(rects))))  # polygon order matters for edge points
    return [rects[k] for k in order]


@st.composite
def people(draw, a_rects, b_rects, max_points: int = 25):
    """Points with whole-number counts; coordinates drawn partly from the cut lines."""
    xs = sorted({r[0] for r in a_rects + b_rects} | {r[2] for r in a_rects + b_rects})
    ys = sorted({r[1] for r in a_rects + b_rects} | {r[3] for r in a_rects + b_rects})
    coord = lambda cuts: st.one_of(st.sampled_from(cuts), st.integers(0, SIDE))  # noqa: E731
    return draw(st.lists(st.tuples(coord(xs), coord(ys), st.integers(0, 5000)), min_size=1, max_size=max_points))


def as_layer(label: str, rects) -> Layer:
    codes = [f"{label}{i}" for i in range(len(rects))]
    geoms = [shapely.box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2) for x1, y1, x2, y2 in rects]
    return Layer(gpd.GeoDataFrame({"code": codes, "name": codes}, geometry=geoms, crs=BNG), label=label)


def as_population(points, codes=None, small_areas=None) -> Population:
    codes = codes or [f"p{i}" for i in range(len(points))]
    frame = gpd.GeoDataFrame({"code": codes, "population": [float(w) for _, _, w in points]},
                             geometry=[shapely.Point(X0 + x, Y0 + y) for x, y, _ in points], crs=BNG)
    return Population(frame, label="random", small_areas=small_areas)


def first_holder(rects, x, y) -> int:
    """Brute force: the lowest-index rectangle whose closed extent holds (x, y)."""
    return next(i for i, (x1, y1, x2, y2) in enumerate(rects) if x1 <= x <= x2 and y1 <= y <= y2)


def held_by_several(rects, x, y) -> bool:
    """True when (x, y) lies on an edge shared by two or more rectangles."""
    return sum(x1 <= x <= x2 and y1 <= y <= y2 for x1, y1, x2, y2 in rects) > 1


def overlap(r, s) -> float:
    """Area shared by two rectangles (x1, y1, x2, y2)."""
    return max(0, min(r[2], s[2]) - max(r[0], s[0])) * max(0, min(r[3], s[3]) - max(r[1], s[1]))


def b_holder(a_rect, b_rects, x, y) -> int:
    """Brute force for B: among the rectangles holding (x, y), the lowest-index one that really
    overlaps the point's A unit (so a point on both layers' edges never makes a touching pair)."""
    holders = [j for j, (x1, y1, x2, y2) in enumerate(b_rects) if x1 <= x <= x2 and y1 <= y <= y2]
    return next((j for j in holders if overlap(a_rect, b_rects[j]) > 0), holders[0])


def keyed(table) -> pd.DataFrame:
    return table.pairs.set_index(["a_code", "b_code"]).sort_index()


@SETTINGS
@given(st.data())
def test_shares_sum_to_one_and_population_is_conserved(data):
    a_rects, b_rects = data.draw(partitions()), data.draw(partitions())
    points = data.draw(people(a_rects, b_rects))
    a, b, pop = as_layer("A", a_rects), as_layer("B", b_rects), as_population(points)
    table = overlay(a, b, pop)
    assert table.method == "geometry"
    pairs = table.pairs
    total = sum(w for _, _, w in points)

    # Areas: the pieces tile the square; each A unit is shared out over B in full, and back.
    assert pairs["area_m2"].sum() == pytest.approx(SIDE * SIDE, rel=1e-12)
    by_a = pairs.groupby("a_code")["a_in_b_area"].sum()
    by_b = pairs.groupby("b_code")["b_in_a_area"].sum()
    assert len(by_a) == len(a_rects) and len(by_b) == len(b_rects)
    assert np.allclose(by_a.to_numpy(), 1.0, rtol=0, atol=1e-9)
    assert np.allclose(by_b.to_numpy(), 1.0, rtol=0, atol=1e-9)

    # People: every point counted once on each side and once in the pairs.
    assert pairs["population"].sum() == total
    assert table.a_units["population"].sum() == total and table.b_units["population"].sum() == total
    assert pairs["small_areas"].sum() == len(points)
    # … in the unit the rule names, even on edges and corners (brute force, whole numbers).
    expect_a = np.zeros(len(a_rects))
    expect_b = np.zeros(len(b_rects))
    expect_pair: dict[tuple[str, str], float] = {}
    for x, y, w in points:
        i = first_holder(a_rects, x, y)
        j = b_holder(a_rects[i], b_rects, x, y)
        expect_a[i] += w
        expect_b[j] += w
        expect_pair[(f"A{i}", f"B{j}")] = expect_pair.get((f"A{i}", f"B{j}"), 0.0) + w
    assert table.a_units.set_index("code").loc[[f"A{i}" for i in range(len(a_rects))], "population"].tolist() == \
        expect_a.tolist()
    assert table.b_units.set_index("code").loc[[f"B{j}" for j in range(len(b_rects))], "population"].tolist() == \
        expect_b.tolist()
    got_pair = {k: v for k, v in keyed(table)["population"].items() if v > 0}
    assert got_pair == {k: v for k, v in expect_pair.items() if v > 0}
    assert (pairs.loc[pairs["population"] > 0, "area_m2"] > 0).all()  # people only in real overlaps
    # Population shares sum to 1 for every unit holding anyone.
    held = pairs.groupby("a_code")["a_in_b_population"].sum()
    held = held[table.a_units.set_index("code").loc[held.index, "population"] > 0]
    assert np.allclose(held.to_numpy(), 1.0, rtol=0, atol=1e-12)


@SETTINGS
@given(st.data())
def test_overlay_a_b_swapped_equals_overlay_b_a(data):
    a_rects, b_rects = data.draw(partitions()), data.draw(partitions())
    # A point on edges of both layers goes to the lowest-index unit of the first layer that holds it
    # (see the test above): that rule names the first layer, so it cannot be symmetric. The swap
    # holds for every point that lies inside at least one layer's unit.
    points = [p for p in data.draw(people(a_rects, b_rects))
              if not (held_by_several(a_rects, p[0], p[1]) and held_by_several(b_rects, p[0], p[1]))]
    if not points:
        points = [(SIDE / 3 + 0.25, SIDE / 3 + 0.25, 1)]  # inside one unit of each layer
    a, b, pop = as_layer("A", a_rects), as_layer("B", b_rects), as_population(points)
    ab = keyed(overlay(a, b, pop).swap())
    ba = keyed(overlay(b, a, pop))
    assert ab.index.tolist() == ba.index.tolist()
    assert (ab["sliver"] == ba["sliver"]).all()
    assert (ab[["a_name", "b_name"]] == ba[["a_name", "b_name"]]).all().all()
    for col in ("population", "small_areas"):
        assert ab[col].tolist() == ba[col].tolist()
    for col in ("area_m2", "a_in_b_area", "b_in_a_area", "a_in_b_population", "b_in_a_population"):
        assert np.allclose(ab[col].to_numpy(dtype=float), ba[col].to_numpy(dtype=float), rtol=1e-9, atol=1e-12,
                           equal_nan=True), col


def refinement(a_rects, b_rects):
    """The common refinement: grid cells between every cut coordinate of A and B."""
    xs = sorted({r[0] for r in a_rects + b_rects} | {r[2] for r in a_rects + b_rects})
    ys = sorted({r[1] for r in a_rects + b_rects} | {r[3] for r in a_rects + b_rects})
    return [(x1, y1, x2, y2) for x1, x2 in zip(xs, xs[1:]) for y1, y2 in zip(ys, ys[1:])]


def built_on(label: str, rects, cells) -> Layer:
    """``rects`` as a union of ``cells``: the layer plus its cell membership (the exact path)."""
    layer = as_layer(label, rects)
    members = [(f"c{k}", f"{label}{first_holder(rects, (x1 + x2) / 2, (y1 + y2) / 2)}")
               for k, (x1, y1, x2, y2) in enumerate(cells)]
    layer.members = pd.DataFrame(members, columns=["small_code", "code"])
    layer.small_areas = "cells"
    layer.blocks = pd.DataFrame({"code": [f"c{k}" for k in range(len(cells))],
                                 "area_m2": [float((x2 - x1) * (y2 - y1)) for x1, y1, x2, y2 in cells]})
    return layer


@SETTINGS
@given(st.data())
def test_membership_and_geometry_paths_agree(data):
    a_rects, b_rects = data.draw(partitions()), data.draw(partitions())
    cells = refinement(a_rects, b_rects)
    weights = data.draw(st.lists(st.integers(0, 5000), min_size=len(cells), max_size=len(cells)))
    # One point per cell at its centre (inside exactly one unit of each layer), as for LSOAs.
    points = [((x1 + x2) / 2, (y1 + y2) / 2, w) for (x1, y1, x2, y2), w in zip(cells, weights)]
    pop = as_population(points, codes=[f"c{k}" for k in range(len(cells))], small_areas="cells")
    a, b = built_on("A", a_rects, cells), built_on("B", b_rects, cells)
    by_members = overlay(a, b, pop)
    by_geometry = overlay(a, b, pop, method="geometry")
    assert by_members.method == "membership" and by_geometry.method == "geometry"
    m = keyed(by_members)
    g = keyed(by_geometry)
    g = g[g["area_m2"] > 0]  # rectangles that only touch along an edge
    assert m.index.tolist() == g.index.tolist()
    assert m["population"].tolist() == g["population"].tolist()
    assert m["small_areas"].tolist() == g["small_areas"].tolist()
    assert np.allclose(m["area_m2"].to_numpy(), g["area_m2"].to_numpy(), rtol=1e-12, atol=0)
    assert m["population"].sum() == sum(weights)
    assert not g["sliver"].any() or (g.loc[g["sliver"], "population"] == 0).all()
