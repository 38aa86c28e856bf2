"""History on a hand-made world of two footprint vintages: every figure worked out by hand; the chart."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from coterminosity.boundaries.history import history
from coterminosity.errors import CotermError
from coterminosity.geo.layer import BNG, Layer, Population

X0, Y0 = 400_000, 300_000
SMALL = [f"s{i}" for i in range(1, 9)]
PEOPLE = [20_000.0, 30_000.0, 40_000.0, 10_000.0, 50_000.0, 10_000.0, 30_000.0, 35_000.0]  # 225,000


def square(i):
    return shapely.box(X0 + 100 * (i - 1), Y0, X0 + 100 * i, Y0 + 100)


def toy_layer(label, groups):
    frame = gpd.GeoDataFrame({"code": list(groups), "name": [f"Unit {c}" for c in groups]},
                             geometry=[shapely.union_all([square(i) for i in groups[c]]) for c in groups], crs=BNG)
    members = pd.DataFrame([(f"s{i}", c) for c in groups for i in groups[c]], columns=["small_code", "code"])
    return Layer(frame, label, members=members, small_areas="toy", blocks=pd.DataFrame({"code": SMALL, "area_m2": 1e4}))


POP = Population(gpd.GeoDataFrame({"code": SMALL, "population": PEOPLE},
                                  geometry=[square(i).centroid for i in range(1, 9)], crs=BNG), "toy", small_areas="toy")
COUNCILS = toy_layer("councils", {"C1": [1, 2, 3], "C2": [4, 5, 6], "C3": [7, 8]})  # 90k, 70k, 65k
CCGS = toy_layer("ccgs", {"G1": [1, 2], "G2": [3, 4], "G3": [5, 6, 7, 8]})
# 2017: C2 is split (10,000 in F1, 60,000 in F2). 2018: s4 moves to F2, C2 is whole, CCG G2 is split.
FP1 = toy_layer("fp1", {"F1": [1, 2, 3, 4], "F2": [5, 6, 7, 8]})
FP2 = toy_layer("fp2", {"F1": [1, 2, 3], "F2": [4, 5, 6, 7, 8]})


def test_history_rows_worked_by_hand():
    result = history([(FP1, COUNCILS), (FP2, COUNCILS)], POP, ccgs=[CCGS, CCGS])
    first, second = (r for r in result.table.to_dict("records"))
    assert {k: first[k] for k in ("vintage", "units", "council_units", "councils_spanning", "councils_split",
                                  "people_outside", "whole_unions", "whole_unions_share", "score", "ccgs_split",
                                  "ccg_people_outside")} == {
        "vintage": "fp1", "units": 2, "council_units": 3, "councils_spanning": 1, "councils_split": 1,
        "people_outside": 10_000.0, "whole_unions": 0, "whole_unions_share": 0.0, "score": 0.0, "ccgs_split": 0,
        "ccg_people_outside": 0.0}
    assert first["people_outside_share"] == pytest.approx(10_000 / 225_000)
    assert pd.isna(first["people_moved"]) and pd.isna(first["pieces_moved"])
    assert {k: second[k] for k in ("councils_spanning", "councils_split", "people_outside", "whole_unions",
                                   "whole_unions_share", "score", "ccgs_split", "ccg_people_outside", "pieces_moved",
                                   "people_moved", "merged")} == {
        "councils_spanning": 0, "councils_split": 0, "people_outside": 0.0, "whole_unions": 2,
        "whole_unions_share": 1.0, "score": 1.0, "ccgs_split": 1, "ccg_people_outside": 10_000.0,
        "pieces_moved": 1, "people_moved": 10_000.0, "merged": 0}


def test_history_lines_define_people_outside_and_name_moves():
    result = history([(FP1, COUNCILS), (FP2, COUNCILS)], POP)
    assert any("its people minus the people in its largest footprint piece" in h for h in result.header())
    lines = result.lines()
    assert lines[0] == ("fp1 → fp2: footprints 2 → 2; councils split 1 → 0; people outside their council's main "
                        "footprint 10,000 → 0 (4.44% → 0.00%); footprints that are unions of whole councils 0 → 2 "
                        "(0.0% → 100.0% of the people)")
    assert "  moved: 1 LSOA, 10,000 people from Unit F1 (F1) to Unit F2 (F2)" in lines
    assert result.table["ccgs"].tolist() == ["", ""]


def test_history_input_errors():
    with pytest.raises(CotermError, match="no footprint vintages"):
        history([], POP)
    with pytest.raises(CotermError, match="1 CCG layers for 2"):
        history([(FP1, COUNCILS), (FP2, COUNCILS)], POP, ccgs=[CCGS])


def test_chart_svg_and_png():
    from coterminosity.maps.chart import history_chart

    result = history([(FP1, COUNCILS), (FP2, COUNCILS)], POP)
    svg = history_chart(result, "svg")
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "councils split" in svg and "fp1" in svg and "0.01M" in svg
    png = history_chart(result, "png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="svg or png"):
        history_chart(result, "gif")
