"""Suggested boundary changes on hand-made worlds whose best moves are worked out by hand.

Small areas are 1 km squares in a row (s1 at the west end) near (400000, 300000); footprints,
councils and sub-units are unions of them, with people per square chosen so the optimum is unique.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from coterminosity.boundaries.scenario import Move, resolve_moves
from coterminosity.boundaries.suggest import NoSuggestion, suggest
from coterminosity.errors import CotermError
from coterminosity.geo.layer import BNG, Layer

X0, Y0 = 400_000, 300_000


SIZE = 1000


def square(col, row=0):
    return shapely.box(X0 + SIZE * col, Y0 + SIZE * row, X0 + SIZE * (col + 1), Y0 + SIZE * (row + 1))


def toy(label, groups, where=None):
    """A layer whose unit ``code`` is the union of squares ``groups[code]`` (numbers; ``where`` places them)."""
    where = where or {}
    codes = list(groups)
    frame = gpd.GeoDataFrame({"code": codes, "name": [f"{label} {c}" for c in codes]},
                             geometry=[shapely.union_all([square(*where.get(i, (i - 1, 0))) for i in groups[c]])
                                       for c in codes], crs=BNG)
    members = pd.DataFrame([(f"s{i}", c) for c in codes for i in groups[c]], columns=["small_code", "code"])
    return Layer(frame, label, members=members, small_areas="toy")


def people(values):
    return pd.Series({f"s{i}": float(v) for i, v in enumerate(values, 1)}, name="toy people")


def squares(n, where=None):
    return toy("toy", {f"s{i}": [i] for i in range(1, n + 1)}, where)


def moves_of(result):
    """(unit, from, to, people) per move, in ranked order."""
    t = result.table
    return list(zip(t["unit"], t["from"], t["to"], t["people"]))


def split_councils(councils, members):
    joined = councils.members.merge(members.rename(columns={"code": "fp"}), on="small_code")
    spread = joined.groupby("code")["fp"].nunique()
    return sorted(spread.index[spread > 1])


# ---------------------------------------------------------------- plain

# Twelve squares; footprints F1 = s1–s4, F2 = s5–s8, F3 = s9–s12.
PLAIN_FP = toy("fp", {"F1": [1, 2, 3, 4], "F2": [5, 6, 7, 8], "F3": [9, 10, 11, 12]})
# Councils A = s1–s3 (whole), B = s4–s5 (F1 3,000 | F2 2,000), E = s6–s7 (whole),
# C = s8–s9 (F2 1,000 | F3 5,000), D = s10–s12 (whole).
PLAIN_COUNCILS = toy("council", {"A": [1, 2, 3], "B": [4, 5], "E": [6, 7], "C": [8, 9], "D": [10, 11, 12]})
PLAIN_PEOPLE = people([4000, 4000, 4000, 3000, 2000, 4000, 4000, 1000, 5000, 4000, 4000, 4000])


def test_plain_moves_the_smaller_part_of_each_split_council():
    result = suggest(PLAIN_FP, PLAIN_COUNCILS, PLAIN_PEOPLE, small_areas=squares(12))
    # C's 1,000 in F2 go to F3 and B's 2,000 in F2 go to F1; cheapest council first.
    assert moves_of(result) == [("C&F2", "F2", "F3", 1000.0), ("B&F2", "F2", "F1", 2000.0)]
    t = result.table
    assert list(t["makes_whole"]) == ["council C", "council B"]
    assert list(t["whole_per_100k"]) == pytest.approx([100.0, 50.0])
    assert list(t["lsoas"]) == [1, 1] and list(t["contiguity"]) == ["", ""]
    b, a = result.before, result.after
    assert (b.councils_split, a.councils_split) == (2, 0)
    assert (b.outside_main, a.outside_main) == (3000.0, 0.0)
    assert (b.whole_unions, a.whole_unions) == (0, 3)
    assert result.people_moved == 3000.0
    assert [str(m) for m in result.scenario_moves()] == ["C&F2=F3", "B&F2=F1"]
    lines = result.lines()
    assert lines[0] == ("council councils with residents in more than one fp footprint (no threshold): 2 → 0 (of 5); people outside their "
                        "council's main footprint: 3,000 → 0")
    assert lines[1] == "fp footprints made of whole council councils, every resident (no threshold): 0 of 3 → 3 of 3"
    assert "2 moves: 3,000 people (6.98%) in 2 LSOAs change footprint" in lines


def test_saved_moves_applied_as_a_scenario_leave_no_council_split():
    result = suggest(PLAIN_FP, PLAIN_COUNCILS, PLAIN_PEOPLE)
    members, resolved = resolve_moves(PLAIN_FP, result.scenario(), [PLAIN_COUNCILS, PLAIN_FP])
    assert split_councils(PLAIN_COUNCILS, members) == []
    assert members.set_index("small_code")["code"].to_dict() == result.members_after.set_index("small_code")[
        "code"].to_dict()
    assert [sum(r.sources.values()) for r in resolved] == [1, 1]


def test_nothing_to_move_when_already_whole():
    fp = toy("fp", {"F1": [1, 2], "F2": [3, 4]})
    result = suggest(fp, toy("council", {"A": [1], "B": [2], "C": [3, 4]}), people([1, 1, 1, 1]))
    assert result.table.empty and result.scenario_moves() == []
    assert "nothing to move: every council already lies whole in one footprint" in result.lines()


def test_small_areas_without_people_count_as_none_and_are_noted():
    pop = PLAIN_PEOPLE.drop(["s5"])
    result = suggest(PLAIN_FP, PLAIN_COUNCILS, pop)
    # Council B's part in F2 now holds nobody: moving it costs nothing, and the note says why.
    assert moves_of(result) == [("B&F2", "F2", "F1", 0.0), ("C&F2", "F2", "F3", 1000.0)]
    assert "note: 1 LSOAs have no population and count as 0 people" in result.lines()


def test_fixed_council_is_left_split():
    result = suggest(PLAIN_FP, PLAIN_COUNCILS, PLAIN_PEOPLE, fix=["C"])
    assert moves_of(result) == [("B&F2", "F2", "F1", 2000.0)]
    assert result.after.split_councils == ["C"] and result.after.outside_main == 1000.0


def test_a_council_whole_inside_one_footprint_moves_by_its_code():
    # Council W = s3 lies wholly in F1 but its sub-unit G = s3–s4 sits mostly in F2: W moves whole.
    fp = toy("fp", {"F1": [1, 2, 3], "F2": [4, 5]})
    councils = toy("council", {"A": [1, 2], "W": [3], "X": [4, 5]})
    subs = toy("sub", {"G0": [1, 2], "G": [3, 4], "G5": [5]})
    result = suggest(fp, councils, people([5, 5, 1, 9, 9]), keep_whole=subs)
    assert moves_of(result) == [("W", "F1", "F2", 1.0)]


# ---------------------------------------------------------------- keep whole

# F1 = s1–s4 (22,000), F2 = s5–s8 (27,000). Council K = s3–s6: 2,000 in F1, 3,000 in F2.
KEEP_FP = toy("fp", {"F1": [1, 2, 3, 4], "F2": [5, 6, 7, 8]})
KEEP_COUNCILS = toy("council", {"L": [1, 2], "K": [3, 4, 5, 6], "M": [7, 8]})
# Sub-units (CCGs): G1 = s1–s4 (all of F1), G2 = s5–s6, G3 = s7–s8.
KEEP_SUBS = toy("ccg", {"G1": [1, 2, 3, 4], "G2": [5, 6], "G3": [7, 8]})
KEEP_PEOPLE = people([10000, 10000, 1000, 1000, 1500, 1500, 12000, 12000])


def test_keeping_a_sub_unit_whole_forces_the_larger_move():
    free = suggest(KEEP_FP, KEEP_COUNCILS, KEEP_PEOPLE)
    assert moves_of(free) == [("K&F1", "F1", "F2", 2000.0)]
    kept = suggest(KEEP_FP, KEEP_COUNCILS, KEEP_PEOPLE, keep_whole=KEEP_SUBS)
    # Moving s3–s4 would split G1; moving s5–s6 (all of G2) splits nothing.
    assert moves_of(kept) == [("K&F2", "F2", "F1", 3000.0)]
    assert kept.table["splits"].tolist() == [""]
    assert (kept.before.subunits_split, kept.after.subunits_split) == (0, 0)
    # Without the constraint the cheap move splits G1, and says so.
    reported = suggest(KEEP_FP, KEEP_COUNCILS, KEEP_PEOPLE, keep_whole=KEEP_SUBS, soft=500)
    assert moves_of(reported) == [("K&F1", "F1", "F2", 2000.0)]
    assert reported.table["splits"].tolist() == ["ccg G1"] and reported.after.subunits_split == 1
    assert "ccg units split between footprints: 0 → 1 (soft: each split counts as 500 people moved)" in reported.lines()


def test_soft_penalty_above_the_difference_keeps_the_sub_unit_whole():
    # 2,000 + 1,001 > 3,000: splitting G1 costs more than the larger move.
    result = suggest(KEEP_FP, KEEP_COUNCILS, KEEP_PEOPLE, keep_whole=KEEP_SUBS, soft=1001)
    assert moves_of(result) == [("K&F2", "F2", "F1", 3000.0)]


def test_sub_unit_pieces_move_as_council_and_footprint_and_sub_unit():
    # Council K = s3–s6: s3 (500, in G1a) and s4 (600, in G1b) in F1; s5–s6 (8,000, in G1b) in F2.
    # G1b starts split. Within 1,000 people K cannot be made whole, but G1b must be: s4 alone moves.
    fp = toy("fp", {"F1": [1, 2, 3, 4], "F2": [5, 6, 7, 8]})
    councils = toy("council", {"L": [1, 2], "K": [3, 4, 5, 6], "M": [7, 8]})
    subs = toy("ccg", {"G1a": [1, 2, 3], "G1b": [4, 5, 6], "G3": [7, 8]})
    pop = people([9000, 9000, 500, 600, 4000, 4000, 9000, 9000])
    result = suggest(fp, councils, pop, keep_whole=subs, max_people=1000)
    assert moves_of(result) == [("K&F1&G1b", "F1", "F2", 600.0)]
    assert result.table["makes_whole"].tolist() == [""]
    assert (result.before.subunits_split, result.after.subunits_split) == (1, 0)
    members, _ = resolve_moves(fp, result.scenario(), [councils, subs, fp])
    assert members.set_index("small_code")["code"].to_dict() == result.members_after.set_index("small_code")[
        "code"].to_dict()
    # With no budget K is made whole the cheap way that keeps every sub-unit whole: s5–s6 to F1.
    assert moves_of(suggest(fp, councils, pop, keep_whole=subs)) == [("K&F2", "F2", "F1", 8000.0)]


# ---------------------------------------------------------------- population band


def test_impossible_population_band_is_named_in_one_line():
    # 49,000 people cannot fill two footprints of at least 25,000.
    with pytest.raises(NoSuggestion) as err:
        suggest(KEEP_FP, KEEP_COUNCILS, KEEP_PEOPLE, band=(25_000, 30_000))
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("no suggestion: the population band 25,000–30,000 cannot be met together with "
                              "making every council council whole; without it there is a solution")
    assert message.endswith("(the best plan without it leaves 1 footprint outside it: fp F1 20,000)")
    assert isinstance(err.value, CotermError)


def test_population_band_chooses_the_move_that_fits():
    # Moving K&F1 leaves F1 with 20,000; with a floor of 21,000 the other way round is the answer.
    result = suggest(KEEP_FP, KEEP_COUNCILS, KEEP_PEOPLE, band=(21_000, 30_000))
    assert moves_of(result) == [("K&F2", "F2", "F1", 3000.0)]
    assert (result.after.smallest, result.after.largest) == (24_000.0, 25_000.0)
    assert "population band 21,000–30,000: footprints after hold 24,000–25,000" in result.lines()


def test_fixing_a_council_that_keeps_a_sub_unit_split_is_named():
    fp = toy("fp", {"F1": [1, 2], "F2": [3, 4]})
    councils = toy("council", {"A": [1], "B": [2, 3], "C": [4]})
    subs = toy("ccg", {"G": [1, 2, 3], "H": [4]})
    # B stays split, so G (s1–s3) cannot be whole: dropping either the fix or the keep-whole works.
    with pytest.raises(NoSuggestion) as err:
        suggest(fp, councils, people([1, 1, 1, 1]), keep_whole=subs, fix=["B"])
    assert str(err.value) == ("no suggestion: keeping every ccg unit whole and leaving council B as it is cannot "
                              "all be met while making every council council whole; relaxing any one of them gives "
                              "a solution")


# ---------------------------------------------------------------- budgets

# F1 = s1–s3, F2 = s4, F3 = s5–s7, F4 = s8–s9, F5 = s10–s11, F6 = s12–s13.
BUDGET_FP = toy("fp", {"F1": [1, 2, 3], "F2": [4], "F3": [5, 6, 7], "F4": [8, 9], "F5": [10, 11], "F6": [12, 13]})
# X = s3–s5 across F1, F2, F3 (100 | 5,000 | 100): two moves of 100 make it whole.
# Y = s9–s10 (F4 9,000 | F5 1,000), Z = s11–s12 (F5 2,000 | F6 9,000): one move each.
BUDGET_COUNCILS = toy("council", {"P": [1, 2], "X": [3, 4, 5], "Q": [6, 7], "R": [8], "Y": [9, 10], "Z": [11, 12],
                                  "S": [13]})
BUDGET_PEOPLE = people([5000, 5000, 100, 5000, 100, 5000, 5000, 5000, 9000, 1000, 2000, 9000, 5000])


def test_no_budget_makes_every_council_whole():
    result = suggest(BUDGET_FP, BUDGET_COUNCILS, BUDGET_PEOPLE)
    assert moves_of(result) == [("X&F1", "F1", "F2", 100.0), ("X&F3", "F3", "F2", 100.0),
                                ("Y&F5", "F5", "F4", 1000.0), ("Z&F5", "F5", "F6", 2000.0)]
    assert result.table["with_moves"].tolist() == ["2", "1", "", ""]
    assert result.table["whole_per_100k"].tolist() == pytest.approx([500.0, 500.0, 100.0, 50.0])
    assert result.after.emptied == ["fp F5 (F5)"]
    assert "footprints left with no LSOAs: fp F5 (F5)" in result.lines()


def test_two_moves_make_two_councils_whole_not_the_cheapest_one():
    result = suggest(BUDGET_FP, BUDGET_COUNCILS, BUDGET_PEOPLE, max_moves=2)
    # X needs two moves for one council; Y and Z need one each: two councils beat one.
    assert moves_of(result) == [("Y&F5", "F5", "F4", 1000.0), ("Z&F5", "F5", "F6", 2000.0)]
    assert (result.before.councils_split, result.after.councils_split) == (3, 1)
    assert "budget (at most 2 moves): 2 of 3 split councils made whole" in result.lines()


def test_people_budget_takes_the_most_councils_then_the_fewest_people():
    # 2,500 people: X (200) and Y (1,000) fit together; Z does not.
    result = suggest(BUDGET_FP, BUDGET_COUNCILS, BUDGET_PEOPLE, max_people=2500)
    assert moves_of(result) == [("X&F1", "F1", "F2", 100.0), ("X&F3", "F3", "F2", 100.0),
                                ("Y&F5", "F5", "F4", 1000.0)]
    # One move of at most 1,500 people: Y alone (X needs two moves).
    result = suggest(BUDGET_FP, BUDGET_COUNCILS, BUDGET_PEOPLE, max_moves=1, max_people=1500)
    assert moves_of(result) == [("Y&F5", "F5", "F4", 1000.0)]


def test_zero_budget_moves_nothing():
    result = suggest(BUDGET_FP, BUDGET_COUNCILS, BUDGET_PEOPLE, max_moves=0)
    assert result.table.empty and result.after.councils_split == 3


# ---------------------------------------------------------------- contiguity


def test_a_move_that_cuts_a_footprint_in_two_is_flagged():
    # Two rows of three squares: F1 the bottom row (s1–s3), F2 the top row (s4–s6). Council K is
    # the middle column (s2 below, s5 above): moving s2 up leaves F1 as s1 and s3, touching nothing.
    where = {1: (0, 0), 2: (1, 0), 3: (2, 0), 4: (0, 1), 5: (1, 1), 6: (2, 1)}
    fp = toy("fp", {"F1": [1, 2, 3], "F2": [4, 5, 6]}, where)
    councils = toy("council", {"A": [1], "K": [2, 5], "B": [3], "C": [4], "D": [6]}, where)
    result = suggest(fp, councils, people([10, 1, 10, 10, 10, 10]), small_areas=squares(6, where))
    assert moves_of(result) == [("K&F1", "F1", "F2", 1.0)]
    assert result.table["contiguity"].tolist() == ["fp F1 in 2 pieces (was 1)"]
    assert ("contiguity (LSOAs within 250 m count as touching): 1 move leaves a footprint in more pieces "
            "than before") in result.lines()
    # Within 1.5 km of each other, the two squares left in F1 count as one piece.
    close = suggest(fp, councils, people([10, 1, 10, 10, 10, 10]), small_areas=squares(6, where), gap=1500)
    assert close.table["contiguity"].tolist() == [""]


# ---------------------------------------------------------------- bad input


def test_bad_options_are_one_line_errors():
    with pytest.raises(CotermError, match="needs a layer to keep whole"):
        suggest(PLAIN_FP, PLAIN_COUNCILS, PLAIN_PEOPLE, soft=10)
    with pytest.raises(CotermError, match="population-band"):
        suggest(PLAIN_FP, PLAIN_COUNCILS, PLAIN_PEOPLE, band=(10, 5))
    with pytest.raises(CotermError, match="no councils match 'nowhere'"):
        suggest(PLAIN_FP, PLAIN_COUNCILS, PLAIN_PEOPLE, fix=["nowhere"])
    drawn = Layer(PLAIN_FP.frame, "drawn")
    with pytest.raises(CotermError, match="built from the same small areas"):
        suggest(drawn, PLAIN_COUNCILS, PLAIN_PEOPLE)
    assert Move("C&F2", "F3") == suggest(PLAIN_FP, PLAIN_COUNCILS, PLAIN_PEOPLE).scenario_moves()[0]
