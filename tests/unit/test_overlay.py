"""The overlay engine and classes on small hand-made layers whose answers are worked out by hand.

Coordinates are metres in EPSG:27700 near (400000, 300000), inside England.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from coterminosity.boundaries.metrics import classify, coterminosity_score, layer_score, split_units
from coterminosity.boundaries.overlay import geometry_overlay, locate_points, overlay
from coterminosity.geo.build import build_layer, membership_from_table
from coterminosity.geo.layer import BNG, Layer, Population

X0, Y0 = 400_000, 300_000


def box(x1, y1, x2, y2):
    return shapely.box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


def layer(label, units, **kw):
    codes, geoms = zip(*units)
    frame = gpd.GeoDataFrame({"code": list(codes), "name": [f"{label} {c}" for c in codes]}, geometry=list(geoms), crs=BNG)
    return Layer(frame, label=label, **kw)


def population(points):
    codes = [f"p{i}" for i in range(len(points))]
    frame = gpd.GeoDataFrame({"code": codes, "population": [p for _, _, p in points]},
                             geometry=[shapely.Point(X0 + x, Y0 + y) for x, y, _ in points], crs=BNG)
    return Population(frame, label="hand")


def pair(table, a, b):
    rows = table.pairs[(table.pairs.a_code == a) & (table.pairs.b_code == b)]
    assert len(rows) == 1, f"expected one pair {a}×{b}, got {len(rows)}"
    return rows.iloc[0]


# A 100 m square, and the same square cut in two at x = 50.
SQUARE = layer("A", [("sq", box(0, 0, 100, 100))])
HALVES = layer("B", [("west", box(0, 0, 50, 100)), ("east", box(50, 0, 100, 100))])
# 10 people west, 30 east, and 5 exactly on the shared edge x = 50.
PEOPLE = population([(25, 50, 10), (75, 50, 30), (50, 20, 5)])


def test_square_split_in_two_areas_and_shares():
    t = geometry_overlay(SQUARE, HALVES)
    assert len(t.pairs) == 2
    west, east = pair(t, "sq", "west"), pair(t, "sq", "east")
    assert west.area_m2 == pytest.approx(5000.0) and east.area_m2 == pytest.approx(5000.0)
    assert west.a_in_b_area == pytest.approx(0.5) and west.b_in_a_area == pytest.approx(1.0)
    # The square holds both halves whole: it "contains" them; each half is nested in the square.
    assert classify(t, "area").loc[0, "class"] == "contains"
    halves = classify(t.swap(), "area").set_index("code")
    assert (halves["class"] == "nested").all()
    assert halves.loc["west", "share_in_best"] == pytest.approx(1.0)


def test_point_on_shared_edge_counted_once():
    t = geometry_overlay(SQUARE, HALVES, PEOPLE)
    west, east = pair(t, "sq", "west"), pair(t, "sq", "east")
    # The edge point goes to the first polygon touching it (west): 10 + 5 west, 30 east, 45 in all.
    assert west.population == 15 and east.population == 30
    assert west.population + east.population == 45
    assert t.a_units.population.sum() == 45 and t.b_units.population.sum() == 45
    assert west.a_in_b_population == pytest.approx(15 / 45)


def test_point_on_an_edge_of_both_layers_lands_in_a_real_pair():
    # B is A with its units listed in the other order: the edge point at x = 50 goes to A's
    # first unit (west), and must then go to B's west too, not to B's first unit (east), whose
    # intersection with A's west is only a line.
    reversed_halves = layer("B", [("east", box(50, 0, 100, 100)), ("west", box(0, 0, 50, 100))])
    t = geometry_overlay(HALVES, reversed_halves, population([(50, 50, 7)]))
    assert t.pairs[["a_code", "b_code", "population"]].values.tolist() == [["east", "east", 0], ["west", "west", 7]]


def test_locate_points_gives_each_point_one_polygon():
    polys = [box(0, 0, 50, 100), box(50, 0, 100, 100)]
    pts = [shapely.Point(X0 + 50, Y0 + 50), shapely.Point(X0 + 10, Y0 + 10), shapely.Point(X0 + 500, Y0)]
    assert locate_points(pts, polys).tolist() == [0, 0, -1]


def test_nested_unit_uses_containment_without_intersection():
    small = layer("A", [("in", box(10, 10, 30, 30))])  # 400 m² inside the 10,000 m² square
    t = geometry_overlay(small, SQUARE)
    assert "1 whole containments" in t.notes[0] and "0 exact intersections" in t.notes[0]
    row = pair(t, "in", "sq")
    assert row.area_m2 == pytest.approx(400.0)
    assert row.b_in_a_area == pytest.approx(0.04)
    c = classify(t, "area").iloc[0]
    assert c["class"] == "nested" and c["share_in_best"] == pytest.approx(1.0)


def test_sliver_under_threshold_is_set_aside():
    # B's west unit stops 1 cm short of the square's east edge: the 1 m² strip left over falls
    # in B's east unit. 1 m² is 0.01% of the square, under the 0.1% sliver share.
    b = layer("B", [("main", box(0, 0, 99.99, 100)), ("next", box(99.99, 0, 200, 100))])
    t = geometry_overlay(SQUARE, b)
    assert t.slivers == 1
    assert pair(t, "sq", "next").sliver
    assert pair(t, "sq", "next").area_m2 == pytest.approx(1.0)
    c = classify(t, "area").iloc[0]
    assert c["touches"] == 1
    # "main" (9,999 m²) lies wholly inside the square and holds 99.99% of it: coterminous.
    assert c["class"] == "coterminous"
    assert c["share_in_best"] == pytest.approx(0.9999)


def test_split_unit_and_wrong_side():
    # Two squares side by side, cut at x = 60 by a layer whose east unit runs on to x = 200.
    a = layer("A", [("sq", box(0, 0, 100, 100)), ("sq2", box(100, 0, 200, 100))])
    b = layer("B", [("w", box(0, 0, 60, 100)), ("e", box(60, 0, 200, 100))])
    t = geometry_overlay(a, b)
    c = classify(t, "area").set_index("code").loc["sq"]
    assert c["class"] == "split"
    assert c["touches"] == 2 and c["split"] == 1
    # w: 6,000 m² all inside sq → wrong side 0; e: 4,000 inside, 10,000 outside → min = 4,000.
    assert c["wrong_side"] == pytest.approx(4000.0)
    # e is divided between sq (4,000 m²) and sq2 (10,000 m²): largest share 10/14, in sq2.
    s = split_units(t, "area")
    assert s.code.tolist() == ["e"] and s.largest_share.iloc[0] == pytest.approx(10 / 14)
    assert s.largest_in.iloc[0] == "sq2"


def test_unit_wholly_inside_another_has_nobody_on_the_wrong_side():
    """A nested in B (B also holds A's neighbour): B's line does not cut A, so A's wrong side is 0,
    while the neighbour that B cuts still counts the smaller side of the cut."""
    a = layer("A", [("inner", box(0, 0, 40, 100)), ("rest", box(40, 0, 100, 100))])
    b = layer("B", [("big", box(0, 0, 70, 100)), ("edge", box(70, 0, 100, 100))])
    c = classify(geometry_overlay(a, b), "area").set_index("code")
    assert c.loc["inner", "class"] == "nested" and c.loc["inner", "wrong_side"] == 0
    # rest holds 3,000 m² of big (7,000) and all of edge: big's smaller side is 3,000.
    assert c.loc["rest", "wrong_side"] == pytest.approx(3000.0)


def test_unit_partly_outside_the_other_layer_is_partial_not_split():
    # Like a coastline drawn differently: B covers only 95% of A (and reaches 10 m beyond it
    # on the west, so neither lies ≥ 98% in the other); nothing else touches A.
    b = layer("B", [("land", box(-10, 0, 100, 95))])
    t = geometry_overlay(SQUARE, b)
    assert classify(t, "area").iloc[0]["class"] == "partial"
    assert split_units(t, "area").empty


def test_threshold_is_an_option():
    b = layer("B", [("w", box(0, 0, 97, 100)), ("e", box(97, 0, 100, 100))])
    t = geometry_overlay(SQUARE, b)
    # Both B units lie wholly inside the square: it contains them whatever the threshold.
    assert classify(t, "area", threshold=0.98).iloc[0]["class"] == "contains"
    # e now runs on to x = 300: 97% of the square in w is split at 0.98 but, with w wholly
    # inside the square, coterminous at 0.95.
    b2 = layer("B", [("w", box(0, 0, 97, 100)), ("e", box(97, 0, 300, 100))])
    t2 = geometry_overlay(SQUARE, b2)
    assert classify(t2, "area", threshold=0.98).iloc[0]["class"] == "split"
    assert classify(t2, "area", threshold=0.95).iloc[0]["class"] == "coterminous"


def _grid_world():
    """Four 50 m cells; A = west/east columns, B = south/north rows, both built by membership."""
    cells = layer("cells", [("sw", box(0, 0, 50, 50)), ("se", box(50, 0, 100, 50)),
                            ("nw", box(0, 50, 50, 100)), ("ne", box(50, 50, 100, 100))],
                  small_areas="cells")
    cells.members = pd.DataFrame({"small_code": cells.codes, "code": cells.codes})
    cells.blocks = pd.DataFrame({"code": cells.codes, "area_m2": cells.frame.area})
    cols = pd.DataFrame({"cell": ["sw", "se", "nw", "ne"], "col": ["W", "E", "W", "E"], "row": ["S", "S", "N", "N"]})
    a = build_layer(cells, membership_from_table(cells.codes, cols, "cell", "col"), "A", coverage=True)
    b = build_layer(cells, membership_from_table(cells.codes, cols, "cell", "row"), "B", coverage=True)
    pop = Population(gpd.GeoDataFrame({"code": ["sw", "se", "nw", "ne"], "population": [1, 2, 3, 4]},
                                      geometry=[c.representative_point() for c in cells.frame.geometry], crs=BNG),
                     label="cells", small_areas="cells")
    return a, b, pop


def test_membership_and_geometry_paths_agree():
    a, b, pop = _grid_world()
    assert a.shares_blocks_with(b)
    by_members = overlay(a, b, pop)
    by_geometry = overlay(a, b, pop, method="geometry")
    assert by_members.method == "membership" and by_geometry.method == "geometry"
    cols = ["a_code", "b_code", "area_m2", "population", "a_in_b_population", "b_in_a_population"]
    pd.testing.assert_frame_equal(by_members.pairs[cols], by_geometry.real()[cols].reset_index(drop=True),
                                  check_dtype=False)
    # W∩N is the nw cell: 3 people of W's 1 + 3 = 4, of N's 3 + 4 = 7.
    row = pair(by_members, "W", "N")
    assert row.population == 3 and row.a_in_b_population == pytest.approx(0.75)
    assert row.b_in_a_population == pytest.approx(3 / 7)


def test_layer_score_and_code_free_score():
    a, b, pop = _grid_world()
    t = overlay(a, b, pop)
    classes = classify(t, "population")
    assert (classes["class"] == "split").all()
    assert coterminosity_score(classes, "population") == 0.0
    score = layer_score(t, classes, "population")
    assert score.split_b == 2 and score.in_split_b == 10


def test_build_reports_missing_and_double_listed_units():
    cells = layer("cells", [("a", box(0, 0, 10, 10)), ("b", box(10, 0, 20, 10)), ("c", box(20, 0, 30, 10))])
    table = pd.DataFrame({"fine": ["a", "b", "b", "z"], "coarse": ["X", "X", "Y", "X"]})
    m = membership_from_table(cells.codes, table, "fine", "coarse")
    assert m.missing == ["c"] and m.duplicated == ["b"] and m.unknown == ["z"]
    built = build_layer(cells, m, "coarse")
    assert built.codes.tolist() == ["X"]
    assert built.frame.geometry.iloc[0].area == pytest.approx(100.0)
    assert any("missing from the lookup" in n for n in built.notes)
