"""Scenarios: moves parsed, resolved and applied; before/after metrics worked out by hand; real moves."""

from __future__ import annotations

import io
import json

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from coterminosity.boundaries.scenario import Move, Scenario, apply_scenario, before_after, resolve_unit, run_moves
from coterminosity.cli import main
from coterminosity.errors import CotermError, InputError
from coterminosity.geo.layer import BNG, Layer, Population
from coterminosity.geo.scenario_file import load_scenario, save_scenario

X0, Y0 = 400_000, 300_000
SMALL = [f"s{i}" for i in range(1, 9)]
PEOPLE = [20_000.0, 30_000.0, 40_000.0, 1_000.0, 50_000.0, 10_000.0, 30_000.0, 35_000.0]


def box(x1, y1, x2, y2):
    return shapely.box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


def square(i):
    return box(100 * (i - 1), 0, 100 * i, 100)


def toy_layer(label, groups, names=None):
    codes = list(groups)
    frame = gpd.GeoDataFrame({"code": codes, "name": [(names or {}).get(c, f"{label} {c}") for c in codes]},
                             geometry=[shapely.union_all([square(i) for i in groups[c]]) for c in codes], crs=BNG)
    members = pd.DataFrame([(f"s{i}", c) for c in codes for i in groups[c]], columns=["small_code", "code"])
    return Layer(frame, label, members=members, small_areas="toy",
                 blocks=pd.DataFrame({"code": SMALL, "area_m2": 10_000.0}))


FINE = toy_layer("toy", {c: [i + 1] for i, c in enumerate(SMALL)})
POP = Population(gpd.GeoDataFrame({"code": SMALL, "population": PEOPLE},
                                  geometry=[square(i).centroid for i in range(1, 9)], crs=BNG), "toy", small_areas="toy")
# Footprints F1 = s1–s4 (91,000), F2 = s5–s8 (125,000).
FOOTPRINTS = toy_layer("fp", {"F1": [1, 2, 3, 4], "F2": [5, 6, 7, 8]}, {"F1": "North", "F2": "South"})
# Councils C1 = s1–s3 (90,000), C2 = s4–s6 (61,000: 1,000 in F1, 60,000 in F2), C3 = s7–s8 (65,000).
COUNCILS = toy_layer("council", {"C1": [1, 2, 3], "C2": [4, 5, 6], "C3": [7, 8]},
                     {"C1": "Avon", "C2": "Bree & Brook", "C3": "Cole"})
# Districts D1 = s1–s2, D2 = s3–s4, D3 = s5–s6, D4 = s7–s8.
DISTRICTS = toy_layer("district", {"D1": [1, 2], "D2": [3, 4], "D3": [5, 6], "D4": [7, 8]},
                      {"D1": "Dee", "D2": "Don", "D3": "Dart", "D4": "Dove"})
UNITS = [COUNCILS, DISTRICTS]


def metric(table, scope, against, name):
    rows = table[(table.scope == scope) & (table.against == against) & (table.metric == name)]
    assert len(rows) == 1, (scope, against, name)
    return rows.iloc[0]


def test_move_parse_and_errors():
    assert Move.parse("E38000008=E54000014") == Move("E38000008", "E54000014")
    assert Move.parse(" NHS Bassetlaw CCG = Nottinghamshire ") == Move("NHS Bassetlaw CCG", "Nottinghamshire")
    for bad in ("E38000008", "=E54000014", "E38000008="):
        with pytest.raises(InputError, match="not UNIT=FOOTPRINT"):
            Move.parse(bad)


def test_resolve_units_codes_names_and_intersections():
    codes, label, small = resolve_unit("C2", UNITS)
    assert codes == ["C2"] and small == {"s4", "s5", "s6"}
    # A name with '&' in it is matched whole before it is split.
    codes, _, small = resolve_unit("bree & brook", UNITS)
    assert codes == ["C2"] and small == {"s4", "s5", "s6"}
    # A&B: the part of council C2 inside district D2 is s4 alone; names work too.
    codes, label, small = resolve_unit("C2&D2", UNITS)
    assert codes == ["C2", "D2"] and small == {"s4"} and label == "Bree & Brook ∩ Don"
    assert resolve_unit("Bree & Brook&Don", UNITS)[2] == {"s4"}
    # Part of a name is never taken silently: the error lists the candidates and the A&B form.
    with pytest.raises(CotermError, match=r"'Dar' is not a code or whole name; it is part of the names of Dart \(D3, district\)"):
        resolve_unit("Dar", UNITS)
    with pytest.raises(CotermError, match="part of the names of Don \\(D2, district\\); Dove \\(D4, district\\)"):
        resolve_unit("Do", UNITS)  # Don and Dove
    with pytest.raises(CotermError, match="not a code or name"):
        resolve_unit("Zed", UNITS)
    with pytest.raises(CotermError, match="holds no small areas"):
        resolve_unit("C1&D4", UNITS)


def test_move_part_of_a_council_worked_by_hand():
    # Move the part of C2 inside D2 (s4, 1,000 people) from F1 to F2.
    scenario = Scenario([Move("C2&D2", "South")])
    after, moves, affected = run_moves(FOOTPRINTS, scenario, units=UNITS, fine=FINE)
    assert affected == ["F1", "F2"] and moves[0].sources == {"F1": 1} and moves[0].target == "F2"
    m = after.members.set_index("small_code")["code"]
    assert m[["s1", "s2", "s3"]].eq("F1").all() and m[["s4", "s5", "s6", "s7", "s8"]].eq("F2").all()
    # Geometry rebuilt by dissolve: F1 is s1–s3 (30,000 m²), F2 is s4–s8 (50,000 m²).
    geo = after.frame.set_index("code").geometry
    assert geo["F1"].area == pytest.approx(30_000) and geo["F2"].area == pytest.approx(50_000)
    assert geo["F1"].equals_exact(box(0, 0, 300, 100).normalize(), 1e-6) or geo["F1"].equals(box(0, 0, 300, 100))

    result = before_after(FOOTPRINTS, after, [COUNCILS], POP, affected, moves)
    t = result.table
    # Before: F1 = C1 (98.9% of F1, all of C1) + s4 → coterminous with C1; wrong side min(1,000, 60,000) = 1,000.
    # F2 holds C2 at 98.4% (whole at 0.98) and C3 → contains; wrong side min(60,000, 1,000) = 1,000.
    # After: F1 is exactly C1 (coterminous, wrong side 0); F2 = C2 + C3 (contains, wrong side 0).
    assert metric(t, "F1", "", "population")[["before", "after", "change"]].tolist() == [91_000, 90_000, -1_000]
    assert metric(t, "F2", "", "population")[["before", "after", "change"]].tolist() == [125_000, 126_000, 1_000]
    assert metric(t, "F1", "council", "wrong_side")[["before", "after", "change"]].tolist() == [1_000, 0, -1_000]
    assert metric(t, "F2", "council", "wrong_side")[["before", "after"]].tolist() == [1_000, 0]
    assert metric(t, "F1", "council", "class")[["before", "after", "change"]].tolist() == [
        "coterminous", "coterminous", ""]
    assert metric(t, "F2", "council", "class")[["before", "after"]].tolist() == ["contains", "contains"]
    assert metric(t, "F1", "council", "touches")[["before", "after", "change"]].tolist() == [2, 1, -1]
    # Layer: C2 was never "split" at 0.98 (98.4% in F2) and is now whole: in_split_b 0 → 0; score 100% both.
    assert metric(t, "layer", "council", "score")[["before", "after"]].tolist() == [1.0, 1.0]


def test_move_whole_council_changes_layer_score_by_hand():
    # Threshold 0.99: C2 (98.4% in F2) now counts as split, and F2 as split (60,000 of C2 inside, 1,000 out).
    scenario = Scenario([Move("Bree & Brook", "F1")])  # all of C2 to F1: F1 = s1–s6, F2 = s7–s8
    after, moves, affected = run_moves(FOOTPRINTS, scenario, units=UNITS, geometry=False)
    assert moves[0].sources == {"F2": 2}
    t = before_after(FOOTPRINTS, after, [COUNCILS], POP, affected, moves, threshold=0.99).table
    # Before at 0.99: F1 has 98.9% in C1 (< 99%) and touches split C2 → split; F2 → split.
    assert metric(t, "F1", "council", "class")[["before", "after"]].tolist() == ["split", "contains"]
    assert metric(t, "F2", "council", "class")[["before", "after"]].tolist() == ["split", "coterminous"]
    # Score = share of people in clean footprints: 0 of 216,000 before, all after; C2's 61,000 no longer split.
    assert metric(t, "layer", "council", "score")[["before", "after", "change"]].tolist() == [0.0, 1.0, 1.0]
    assert metric(t, "layer", "council", "in_split_b")[["before", "after", "change"]].tolist() == [61_000, 0, -61_000]
    assert metric(t, "layer", "council", "split_b")[["before", "after"]].tolist() == [1, 0]
    assert metric(t, "F1", "", "population")[["before", "after"]].tolist() == [91_000, 151_000]


def test_move_to_own_footprint_changes_nothing_and_bad_target():
    after, moves, affected = run_moves(FOOTPRINTS, Scenario([Move("C3", "F2")]), units=UNITS, geometry=False)
    assert affected == [] and moves[0].sources == {}
    assert "already there" in moves[0].describe()
    with pytest.raises(CotermError, match="no footprints match 'Atlantis'"):
        run_moves(FOOTPRINTS, Scenario([Move("C3", "Atlantis")]), units=UNITS, geometry=False)
    with pytest.raises(CotermError, match="no moves"):
        run_moves(FOOTPRINTS, Scenario([]), units=UNITS, geometry=False)


def test_footprints_without_membership_are_refused():
    drawn = Layer(FOOTPRINTS.frame, "drawn")
    with pytest.raises(CotermError, match="built from small areas"):
        apply_scenario(drawn, Scenario([Move("C2", "F1")]), units=UNITS, fine=FINE)


def test_emptying_a_footprint_drops_it():
    after = apply_scenario(FOOTPRINTS, Scenario([Move("C2", "F1"), Move("C3", "F1")]), units=UNITS, fine=FINE)
    assert after.codes.tolist() == ["F1"] and after.frame.geometry.iloc[0].area == pytest.approx(80_000)
    assert any("dropped: F2" in n for n in after.notes)


def test_later_move_wins():
    scenario = Scenario([Move("C2", "F1"), Move("D3", "F2")])  # C2 to F1, then its s5–s6 back to F2
    after, moves, _ = run_moves(FOOTPRINTS, scenario, units=UNITS, geometry=False)
    m = after.members.set_index("small_code")["code"]
    assert m["s4"] == "F1" and m["s5"] == "F2" and m["s6"] == "F2"


def test_save_and_load_scenarios(tmp_path):
    scenario = Scenario([Move("C2&D2", "F2")], footprints="fp", units=["council", "district"], name="toy")
    _, moves, _ = run_moves(FOOTPRINTS, scenario, units=UNITS, geometry=False)
    save_scenario(scenario, tmp_path / "s.json", moves)
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["moves"] == [{"unit": "C2&D2", "to": "F2"}] and doc["resolved"][0]["unit_codes"] == ["C2", "D2"]
    back = load_scenario(tmp_path / "s.json")
    assert back.moves == scenario.moves and back.units == ["council", "district"] and back.name == "toy"
    (tmp_path / "moves.txt").write_text("# two moves\nC2=F1   # whole council\n\nD3 = F2\n")
    assert load_scenario(tmp_path / "moves.txt").moves == [Move("C2", "F1"), Move("D3", "F2")]
    (tmp_path / "moves.csv").write_text("unit,to\nC2,F1\n")
    assert load_scenario(tmp_path / "moves.csv").moves == [Move("C2", "F1")]
    (tmp_path / "bad.txt").write_text("C2 to F1\n")
    with pytest.raises(InputError, match=r"bad.txt: line 1: 'C2 to F1' is not UNIT=FOOTPRINT"):
        load_scenario(tmp_path / "bad.txt")
    (tmp_path / "bad.json").write_text('{"moves": [{"unit": "C2"}]}')
    with pytest.raises(InputError, match="move 1 needs"):
        load_scenario(tmp_path / "bad.json")
    with pytest.raises(InputError, match="no such scenario file"):
        load_scenario(tmp_path / "none.json")


# ---------------------------------------------------------------- real data




@pytest.fixture(scope="module")
def real(data_dir):
    from coterminosity.geo import load_layer, load_population

    names = ("stp17", "ccg17", "lad17", "upper17")
    layers = {n: load_layer(n, data_dir=data_dir) for n in names}
    return layers, load_population(data_dir=data_dir)


@pytest.mark.realdata
def test_real_bassetlaw_to_nottinghamshire(real, data_dir, ons_lsoas):
    layers, pop = real
    t = ons_lsoas
    basset = t[t.CCG17CD == "E38000008"]
    assert set(basset.CCG17NM) == {"NHS Bassetlaw CCG"} and set(basset.STP17CD) == {"E54000009"}
    assert basset.population.sum() == 117_459
    scenario = Scenario([Move("NHS Bassetlaw CCG", "Nottinghamshire")])
    units = [layers["ccg17"], layers["lad17"], layers["upper17"]]
    after, moves, affected = run_moves(layers["stp17"], scenario, units=units, geometry=False)
    assert moves[0].unit_codes == ["E38000008"] and moves[0].target == "E54000014"
    assert moves[0].sources == {"E54000009": len(basset)} and affected == ["E54000009", "E54000014"]
    # Independent check: after the move every LSOA of Nottinghamshire county is in E54000014.
    m = after.members.set_index("small_code")["code"]
    county = t.loc[t.upper == "E10000024", "LSOA11CD"]
    assert m.loc[county].eq("E54000014").all()
    res = before_after(layers["stp17"], after, [layers["upper17"]], pop, affected, moves).table
    assert metric(res, "E54000014", "upper17", "class")[["before", "after"]].tolist() == ["split", "contains"]
    assert metric(res, "E54000014", "upper17", "wrong_side")[["before", "after"]].tolist() == [117_459, 0]
    assert metric(res, "E54000009", "upper17", "class")[["before", "after"]].tolist() == ["split", "contains"]
    assert metric(res, "E54000014", "", "population")[["before", "after"]].tolist() == [1_043_665, 1_161_124]
    # Layer: Nottinghamshire county (828,224) no longer split; 11 → 10 split councils.
    split = metric(res, "layer", "upper17", "in_split_b")
    assert split.before - split.after == t[t.upper == "E10000024"].population.sum() == 828_224
    assert metric(res, "layer", "upper17", "split_b")[["before", "after"]].tolist() == [11, 10]
    # Score: both footprints turn clean, so their people (after the move) join the clean share.
    score = metric(res, "layer", "upper17", "score")
    assert score.after == pytest.approx(score.before + (1_409_020 + 1_161_124) / 56_286_961)
    assert (round(score.before, 3), round(score.after, 3)) == (0.511, 0.557)  # as the README quotes


@pytest.mark.realdata
def test_real_glossop_to_derbyshire(real, data_dir, ons_lsoas):
    layers, pop = real
    t = ons_lsoas
    glossop = t[(t.CCG17CD == "E38000182") & (t.LAD17CD == "E07000037")]
    assert set(glossop.STP17CD) == {"E54000007"} and set(glossop.upper) == {"E10000007"}
    assert glossop.population.sum() == 33_570
    scenario = Scenario([Move("E38000182&E07000037", "E54000012")])
    units = [layers["ccg17"], layers["lad17"], layers["upper17"]]
    after, moves, affected = run_moves(layers["stp17"], scenario, units=units, geometry=False)
    assert moves[0].unit_label == "NHS Tameside and Glossop CCG ∩ High Peak"
    assert len(moves[0].small_codes) == len(glossop) and moves[0].sources == {"E54000007": len(glossop)}
    m = after.members.set_index("small_code")["code"]
    assert m.loc[t.loc[t.upper == "E10000007", "LSOA11CD"]].eq("E54000012").all()  # Derbyshire county whole
    res = before_after(layers["stp17"], after, [layers["upper17"], layers["ccg17"]], pop, affected, moves).table
    assert metric(res, "E54000012", "upper17", "class")[["before", "after"]].tolist() == ["split", "contains"]
    assert metric(res, "E54000007", "upper17", "class")[["before", "after"]].tolist() == ["split", "contains"]
    assert metric(res, "E54000012", "upper17", "wrong_side")[["before", "after"]].tolist() == [33_570, 0]
    # The price: Tameside and Glossop CCG (260,063 people) is now divided between the two footprints.
    assert metric(res, "layer", "ccg17", "in_split_b")[["before", "after"]].tolist() == [
        0, t[t.CCG17CD == "E38000182"].population.sum()]
    assert metric(res, "E54000007", "ccg17", "wrong_side")[["before", "after"]].tolist() == [0, 33_570]
    # Scores as the README quotes: both footprints become clean against councils and unclean against CCGs.
    moved = (2_835_686 + 1_059_996) / 56_286_961
    upper, ccg = metric(res, "layer", "upper17", "score"), metric(res, "layer", "ccg17", "score")
    assert upper.after == pytest.approx(upper.before + moved) and ccg.after == pytest.approx(1 - moved)
    assert (round(upper.after, 3), round(ccg.after, 3)) == (0.580, 0.931)


@pytest.mark.realdata
def test_cli_scenario_save_map_layer_and_reload(tmp_path, capsys):
    out = tmp_path / "bassetlaw.json"
    gpkg = tmp_path / "after.gpkg"
    rc = main(["scenario", "--move", "E38000008=E54000014", "--against", "upper17", "--name", "bassetlaw",
               "--save", str(out), "--output-layer", str(gpkg), "--format", "json"])
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["meta"]["affected"] == ["E54000009", "E54000014"]
    layer = gpd.read_file(gpkg)
    assert len(layer) == 44 and layer.crs.to_epsg() == 27700 and layer.moved.sum() == 2
    notts = layer.set_index("code").loc["E54000014"]
    assert notts.population == 1_161_124
    # Reload the saved scenario: the same result, text format.
    assert main(["scenario", "--moves", str(out), "--against", "upper17"]) == 0
    text = capsys.readouterr().out
    assert "move NHS Bassetlaw CCG [E38000008] → Nottinghamshire (E54000014)" in text
    assert main(["scenario", "--move", "Nowhere CCG=E54000014"]) == 2
    assert "is not a code or name" in capsys.readouterr().err
    assert main(["scenario"]) == 2


@pytest.mark.realdata
def test_map_draws_a_saved_scenario(tmp_path, capsys, data_dir, monkeypatch):
    """`coterm map --scenario FILE`: Nottinghamshire county is no longer split after the Bassetlaw move."""
    import logging

    from coterminosity.cli import main

    monkeypatch.setattr(logging.getLogger("coterminosity"), "level", logging.NOTSET)  # the "wrote" note, as in a shell
    saved = tmp_path / "bassetlaw.json"
    assert main(["-q", "scenario", "--move", "NHS Bassetlaw CCG=Nottinghamshire", "--save", str(saved),
                 "--data-dir", str(data_dir)]) == 0
    capsys.readouterr()
    page = tmp_path / "after.html"
    assert main(["map", "stp17", "--population", "--focus", "Nottinghamshire", "--data-dir", str(data_dir),
                 "-o", str(page)]) == 0
    before = capsys.readouterr().err
    assert main(["map", "stp17", "--population", "--scenario", str(saved), "--focus", "Nottinghamshire",
                 "--data-dir", str(data_dir), "-o", str(page)]) == 0
    after = capsys.readouterr().err
    assert "Councils split between footprints (1): 1" in before
    assert "Councils split between footprints (0): 0" in after
    assert "stp17 after scenario bassetlaw" in page.read_text()


@pytest.mark.realdata
def test_scenario_against_a_drawn_layer_redraws_the_moved_footprints(capsys, data_dir):
    """Against a separately drawn layer (geometry overlay) the after-figures come from redrawn footprints."""
    assert main(["-q", "scenario", "--move", "NHS Bassetlaw CCG=Nottinghamshire", "--against", "lad13",
                 "--format", "csv", "--data-dir", str(data_dir)]) == 0
    rows = pd.read_csv(io.StringIO(capsys.readouterr().out), dtype=str)
    pop = rows[(rows.scope == "E54000009") & (rows.metric == "population")].iloc[0]
    assert (pop.before, pop.after) == ("1526479.0", "1409020.0")
    touches = rows[(rows.scope == "E54000009") & (rows.metric == "touches")].iloc[0]
    assert (touches.before, touches.after) == ("5", "4")


@pytest.mark.realdata
def test_part_of_a_name_is_refused_with_the_candidates(capsys, data_dir):
    """"Glossop" is part of the name of Tameside and Glossop CCG, not a unit: no silent whole-CCG move."""
    assert main(["scenario", "--move", "Glossop=Derbyshire", "--data-dir", str(data_dir)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "NHS Tameside and Glossop CCG (E38000182, ccg17)" in err[0] and "A&B" in err[0]


@pytest.mark.realdata
def test_a_move_that_leaves_a_footprint_in_pieces_is_reported(capsys, data_dir):
    """Essex does not border Frimley Health: moving it there leaves Frimley in separate pieces."""
    assert main(["-q", "scenario", "--move", "Essex=Frimley", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("non-contiguous: Frimley Health (E54000034)"))
    assert "separate pieces after the moves (was 1)" in line


@pytest.mark.realdata
def test_a_move_to_a_neighbour_is_not_called_non_contiguous(capsys, data_dir):
    """Bassetlaw borders the rest of Nottinghamshire: no warning, although a 0.75 ha detached part of
    one Bassetlaw LSOA polygon makes the dissolved footprint a two-part multipolygon."""
    assert main(["-q", "scenario", "--move", "NHS Bassetlaw CCG=Nottinghamshire", "--data-dir", str(data_dir)]) == 0
    assert "non-contiguous" not in capsys.readouterr().out
