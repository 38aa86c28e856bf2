"""Changes between two vintages on hand-made layers: every class, moved pieces exact, scenario round trip."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from coterminosity.boundaries.changes import changes
from coterminosity.boundaries.scenario import run_moves
from coterminosity.errors import CotermError
from coterminosity.geo.layer import BNG, Layer, Population

X0, Y0 = 400_000, 300_000
N = 19
SMALL = [f"s{i}" for i in range(1, N + 1)]
# People per small area s1…s19: round numbers, all different where a sum must identify its parts.
PEOPLE = {f"s{i}": 1_000.0 * i for i in range(1, N + 1)}


def square(i):
    """Small area s<i>: a 100 m square (0.01 km²) in a row."""
    return shapely.box(X0 + 100 * (i - 1), Y0, X0 + 100 * i, Y0 + 100)


def toy_layer(label, groups, names=None, members=True):
    codes = list(groups)
    frame = gpd.GeoDataFrame({"code": codes, "name": [(names or {}).get(c, f"Unit {c}") for c in codes]},
                             geometry=[shapely.union_all([square(i) for i in groups[c]]) for c in codes], crs=BNG)
    if not members:
        return Layer(frame, label)
    table = pd.DataFrame([(f"s{i}", c) for c in codes for i in groups[c]], columns=["small_code", "code"])
    return Layer(frame, label, members=table, small_areas="toy",
                 blocks=pd.DataFrame({"code": SMALL, "area_m2": 10_000.0}))


FINE = toy_layer("toy", {c: [i + 1] for i, c in enumerate(SMALL)})
POP = Population(gpd.GeoDataFrame({"code": SMALL, "population": [PEOPLE[c] for c in SMALL]},
                                  geometry=[square(i).centroid for i in range(1, N + 1)], crs=BNG), "toy",
                 small_areas="toy")

OLD_GROUPS = {"A": [1, 2], "B": [3, 4], "C": [5, 6], "D": [7, 8], "E": [9], "F": [10, 11, 12], "G": [13, 14],
              "H": [15, 16, 17], "K": [18]}
OLD = toy_layer("old", OLD_GROUPS, {"C": "Cee"})
NEW = toy_layer("new", {
    "A": [1, 2],            # unchanged
    "X": [3, 4],            # B recoded
    "C": [5, 6],            # renamed
    "M": [7, 8, 9],         # D and E merged (D, with more people, continues)
    "F1": [10, 11],         # F split: F1 continues (21,000 people) …
    "F2": [12],             # … F2 split off (12,000)
    "G": [13, 14, 15],      # grew: s15 moved from H
    "H": [16, 17],          # shrank
    "Z": [19],              # new: s19 was in no old unit; s18 (old K) is in no new unit
}, {"C": "Cee renamed", "X": "Unit B"})


def row(result, old_code=None, new_code=None):
    t = result.table
    hit = t[(t["old_code"] == old_code) if old_code is not None else (t["new_code"] == new_code)]
    assert len(hit) == 1, (old_code, new_code, t)
    return hit.iloc[0]


def test_every_class():
    result = changes(OLD, NEW, POP)
    classes = {(r.old_code, r.new_code): r._1 for r in result.table.itertuples()}
    assert classes == {
        ("A", "A"): "unchanged", ("B", "X"): "recoded", ("C", "C"): "renamed",
        ("D", "M"): "merged", ("E", "M"): "merged",
        ("F", "F1"): "split", ("F", "F2"): "split",
        ("G", "G"): "grew", ("H", "H"): "shrank", ("K", ""): "gone", ("", "Z"): "new",
    }
    assert result.successor == {"A": "A", "B": "X", "C": "C", "D": "M", "F": "F1", "G": "G", "H": "H"}
    assert result.mergers() == [("M", ["D", "E"])]
    assert result.splits() == [("F", ["F1", "F2"])]


def test_recoded_is_not_renamed_and_names_are_compared_exactly():
    result = changes(OLD, NEW, POP)
    b, c = row(result, "B"), row(result, "C")
    assert (b["class"], b["new_code"], b["old_name"], b["new_name"]) == ("recoded", "X", "Unit B", "Unit B")
    assert (c["class"], c["old_name"], c["new_name"]) == ("renamed", "Cee", "Cee renamed")
    lines = "\n".join(result.lines())
    assert "recoded (1, the same small areas): Unit B B → X" in lines
    assert "renamed (1, the same small areas): C Cee → Cee renamed" in lines


def test_moved_piece_exact_and_merger_is_no_removal():
    result = changes(OLD, NEW, POP)
    # Only s15 changed footprint between continuing units: H → G. The merger of E into M and the
    # split of F2 off F are reported as such, not as pieces moved or units removed.
    assert len(result.pieces) == 1
    piece = result.pieces.iloc[0]
    assert (piece["from_code"], piece["to_code"], piece["lsoas"], piece["people"]) == ("H", "G", 1, 15_000.0)
    assert piece["area_km2"] == pytest.approx(0.01)
    assert piece["share_of_from"] == pytest.approx(15 / (15 + 16 + 17))
    assert result.people_moved == 15_000.0 and result.lsoas_moved == 1
    assert "E" not in set(result.table.loc[result.table["class"] == "gone", "old_code"])
    g, h = row(result, "G"), row(result, "H")
    assert (g["people_old"], g["people_new"], g["people_gained"], g["people_lost"]) == (27_000, 42_000, 15_000, 0)
    assert (h["people_old"], h["people_new"], h["people_gained"], h["people_lost"]) == (48_000, 33_000, 0, 15_000)
    merged = row(result, "E")
    assert merged["new_code"] == "M" and merged["people_new"] == 24_000


def test_lines_name_units_before_after_and_people_moved():
    result = changes(OLD, NEW, POP)
    lines = result.lines()
    total = sum(PEOPLE.values())
    assert lines[0] == (f"old → new: 9 units → 9; 1 unchanged, 1 recoded, 1 renamed, 2 merged, 2 split, 1 grew, "
                        f"1 shrank, 1 new, 1 gone; 1 piece moved between units: 1 LSOA, 15,000 people "
                        f"({15_000 / total:.2%} of {total:,.0f}), 0.0 km²")
    assert "merged: Unit D (D) and Unit E (E) → Unit M (M), 24,000 people" in lines
    assert "split: Unit F (F) → Unit F1 (F1) and Unit F2 (F2)" in lines
    assert "moved: Unit H (H) → Unit G (G): 1 LSOA, 15,000 people, 0.0 km² (31.2% of H)" in lines
    assert "gone (1, no small area in the other vintage): Unit K (K)" in lines
    assert "new (1, no small area in the other vintage): Unit Z (Z)" in lines
    assert "membership" in result.header()[1]
    meta = result.meta()
    assert meta["mergers"] == [{"into": "M", "from": ["D", "E"]}] and meta["people_moved"] == 15_000.0


def test_pieces_frame_dissolves_the_small_areas():
    frame = changes(OLD, NEW, POP).pieces_frame(FINE)
    assert frame.crs == BNG and list(frame["from_code"]) == ["H"] and list(frame["people"]) == [15_000.0]
    assert frame.geometry.iloc[0].equals(square(15))
    with pytest.raises(CotermError, match="give that small-area layer"):
        changes(OLD, NEW, POP).pieces_frame(None)


def test_scenario_needs_existing_footprints_for_every_new_unit():
    with pytest.raises(CotermError, match=r"Unit F2 \(F2\) and Unit Z \(Z\) continue none of them"):
        changes(OLD, NEW, POP).scenario()


def test_scenario_reproduces_the_new_layer_small_area_for_small_area():
    old = toy_layer("fp1", {"N": [1, 2, 3, 4], "S": [5, 6, 7], "W": [8, 9], "E": [10, 11, 12]})
    # W merges into S (S continues), s4 moves N → E, E gets a new code.
    new = toy_layer("fp2", {"N": [1, 2, 3], "S": [5, 6, 7, 8, 9], "E2": [4, 10, 11, 12]})
    result = changes(old, new, POP)
    assert result.successor == {"N": "N", "S": "S", "E": "E2"}
    assert list(result.pieces["from_code"] + ">" + result.pieces["to_code"]) == ["N>E2"]
    scenario = result.scenario()
    assert [(m.unit, m.to, m.lsoas) for m in scenario.moves] == [("N (fp1) ∩ E2 (fp2)", "E", ["s4"]), ("W (fp1) ∩ S (fp2)", "S", ["s8", "s9"])]
    after, resolved, _ = run_moves(old, scenario, units=[], geometry=False)
    mapped = after.members.assign(code=after.members["code"].map(result.successor))
    assert dict(zip(mapped["small_code"], mapped["code"])) == dict(zip(new.members["small_code"], new.members["code"]))
    assert sorted(after.codes) == ["E", "N", "S"]  # W emptied and dropped
    # The scenario survives the JSON round trip with its small-area lists.
    assert scenario.to_dict()["moves"][0] == {"unit": "N (fp1) ∩ E2 (fp2)", "to": "E", "lsoas": ["s4"]}


def test_people_unknown_matches_by_small_areas():
    result = changes(OLD, NEW, None)
    assert row(result, "G")["class"] == "grew" and result.mergers() == [("M", ["D", "E"])]
    assert "people unknown" in result.lines()[0] and "count of small areas" in result.header()[2]


def test_geometry_fallback_when_no_shared_small_areas():
    drawn = toy_layer("drawn", {"A": [1, 2], "X": [3, 4], "M": [7, 8, 9], "G": [13, 14, 15], "H": [16, 17]},
                      members=False)
    old = toy_layer("old5", {"A": [1, 2], "B": [3, 4], "D": [7, 8], "E": [9], "G": [13, 14], "H": [15, 16, 17]})
    result = changes(old, drawn, POP)
    assert result.method == "geometry" and "not built from the same small areas" in result.header()[1]
    classes = dict(zip(result.table["old_code"], result.table["class"]))
    assert classes == {"A": "unchanged", "B": "recoded", "D": "merged", "E": "merged", "G": "grew", "H": "shrank"}
    assert list(result.pieces["from_code"] + ">" + result.pieces["to_code"]) == ["H>G"]
    assert result.pieces["people"].iloc[0] == 15_000.0 and result.pieces["area_km2"].iloc[0] == pytest.approx(0.01)
    assert result.pieces_frame().geometry.iloc[0].area == pytest.approx(10_000)
    with pytest.raises(CotermError, match="same small areas"):
        result.scenario()


def test_small_unit_gaining_a_larger_piece_grows_under_its_code_else_merges():
    old = toy_layer("o", {"A": [1, 2], "H": [5, 6, 7]})  # A 3,000 people; H 18,000
    # A takes s5 (5,000 people, more than A itself): no pair chooses A's new unit both ways.
    same_code = changes(old, toy_layer("n", {"A": [1, 2, 5], "H": [6, 7]}), POP)
    assert dict(zip(same_code.table["old_code"], same_code.table["class"])) == {"A": "grew", "H": "shrank"}
    assert same_code.pieces[["from_code", "to_code", "people"]].values.tolist() == [["H", "A", 5_000.0]]
    # Under a new code nothing ties A to it: A merged with the part of H split off into A2.
    new_code = changes(old, toy_layer("n", {"A2": [1, 2, 5], "H": [6, 7]}), POP)
    assert set(zip(new_code.table["old_code"], new_code.table["new_code"], new_code.table["class"])) == {
        ("A", "A2", "merged"), ("H", "H", "split"), ("H", "A2", "split")}
    assert new_code.pieces.empty
    assert "merged: Unit A (A) and part of Unit H (H) → Unit A2 (A2), 8,000 people" in new_code.lines()
