"""Suggested moves for the 2021 STP footprints against the 152 councils, checked against a plain
pandas computation on the ONS CSVs (no project code), and the saved scenario applied back."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from coterminosity.boundaries.scenario import resolve_moves
from coterminosity.boundaries.suggest import suggest
from coterminosity.cli import main
from coterminosity.geo.scenario_file import load_scenario, save_scenario

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def ons21(data_dir):
    """One row per LSOA: STP and CCG (April 2021), upper-tier council (2021), ICB (July 2022), people."""
    lk = pd.read_csv(data_dir / "lookup_lsoa11_ccg21_stp21_lad21.csv", dtype=str)
    tiers = pd.read_csv(data_dir / "lookup_ltla21_utla21.csv", dtype=str)[["LTLA21CD", "UTLA21CD", "UTLA21NM"]]
    icb = pd.read_csv(data_dir / "lookup_lsoa11_sicbl22_icb22_lad22.csv", dtype=str)[["LSOA11CD", "ICB22CD"]]
    pop = pd.read_csv(data_dir / "population_lsoa11_mid2019.csv", dtype={"LSOA11CD": str})[["LSOA11CD", "population"]]
    t = (lk.merge(tiers, left_on="LAD21CD", right_on="LTLA21CD", how="left").merge(icb, on="LSOA11CD")
         .merge(pop, on="LSOA11CD"))
    assert len(t) == 32_844 and t["UTLA21CD"].notna().all()
    return t


@pytest.fixture(scope="module")
def layers():
    from coterminosity.geo import load_layer, load_population, small_area_layer

    return {"stp21": load_layer("stp21"), "upper21": load_layer("upper21"), "ccg21": load_layer("ccg21"),
            "population": load_population("pop19"), "lsoa11": small_area_layer()}


def minor_pieces(t: pd.DataFrame, footprint: str = "STP21CD") -> pd.DataFrame:
    """Every council's pieces outside the footprint holding most of its people, with that footprint."""
    pairs = t.groupby(["UTLA21CD", footprint])["population"].agg(["sum", "size"]).reset_index()
    main_fp = pairs.sort_values("sum").drop_duplicates("UTLA21CD", keep="last").set_index("UTLA21CD")[footprint]
    pairs["main"] = pairs["UTLA21CD"].map(main_fp)
    return pairs[pairs[footprint] != pairs["main"]]


def split_after(t: pd.DataFrame, members: pd.DataFrame, unit: str) -> list[str]:
    joined = t.merge(members.rename(columns={"small_code": "LSOA11CD", "code": "after"}), on="LSOA11CD")
    spread = joined.groupby(unit)["after"].nunique()
    return sorted(spread.index[spread > 1])


def moved(result) -> set[tuple[str, str, str, int]]:
    t = result.table
    return set(zip(t["council"], t["from"], t["to"], t["people"].round().astype(int)))


def test_every_council_made_whole_by_moving_its_smaller_parts(ons21, layers, tmp_path):
    result = suggest(layers["stp21"], layers["upper21"], layers["population"], small_areas=layers["lsoa11"])
    minor = minor_pieces(ons21)
    # With no other constraint the optimum sends each council's smaller parts to its main footprint.
    assert moved(result) == set(zip(minor["UTLA21CD"], minor["STP21CD"], minor["main"], minor["sum"]))
    assert len(result.table) == len(minor) == 16
    assert result.before.councils_split == minor["UTLA21CD"].nunique() == 14
    assert result.people_moved == result.before.outside_main == minor["sum"].sum() == 1_714_127
    assert int(result.table["lsoas"].sum()) == minor["size"].sum() == 1_002
    assert (result.after.councils_split, result.after.outside_main) == (0, 0.0)
    touched = ons21[["STP21CD", "UTLA21CD"]].drop_duplicates()
    unions = 42 - touched.loc[touched["UTLA21CD"].isin(minor["UTLA21CD"]), "STP21CD"].nunique()
    assert (result.before.whole_unions, result.after.whole_unions) == (unions, 42) == (19, 42)
    assert (result.table["contiguity"] == "").all()

    # The saved scenario, read back and applied to stp21, gives exactly the promised layer.
    path = tmp_path / "suggested.json"
    save_scenario(result.scenario(), path)
    scenario = load_scenario(path)
    assert scenario.units == ["upper21", "stp21"] and len(scenario.moves) == 16
    members, _ = resolve_moves(layers["stp21"], scenario, [layers["upper21"], layers["stp21"]])
    assert split_after(ons21, members, "UTLA21CD") == []
    changed = ons21.merge(members.rename(columns={"small_code": "LSOA11CD"}), on="LSOA11CD")
    changed = changed[changed["code"] != changed["STP21CD"]]
    assert (len(changed), changed["population"].sum()) == (1_002, 1_714_127)


def test_the_four_moves_of_2022_are_among_the_suggested(ons21, layers):
    # The 2022 change as a membership diff: LSOAs whose ICB is not their STP's main successor.
    pairs = ons21.groupby(["STP21CD", "ICB22CD"])["population"].sum().reset_index().sort_values("population")
    successor = pairs.drop_duplicates("STP21CD", keep="last").set_index("STP21CD")["ICB22CD"]
    predecessor = pairs.drop_duplicates("ICB22CD", keep="last").set_index("ICB22CD")["STP21CD"]
    diff = ons21[ons21["ICB22CD"] != ons21["STP21CD"].map(successor)]
    nhs = diff.groupby(["UTLA21CD", "STP21CD", "ICB22CD"])["population"].sum().reset_index()
    nhs_moves = set(zip(nhs["UTLA21CD"], nhs["STP21CD"], nhs["ICB22CD"].map(predecessor), nhs["population"]))
    assert nhs_moves == {("E10000007", "E54000007", "E54000012", 33_570), ("E10000024", "E54000009", "E54000014", 117_459),
                         ("E08000025", "E54000016", "E54000017", 177_623), ("E06000061", "E54000021", "E54000020", 17_059)}
    free = suggest(layers["stp21"], layers["upper21"], layers["population"])
    assert nhs_moves <= moved(free)
    four = suggest(layers["stp21"], layers["upper21"], layers["population"], max_moves=4)
    assert nhs_moves & moved(four) == {("E06000061", "E54000021", "E54000020", 17_059)}
    # After the 2022 ICBs: 10 councils split, 1,368,416 people outside their main footprint, and
    # 26 ICBs touch no split council; the command measuring icb22 with no moves says the same.
    after_2022 = minor_pieces(ons21, "ICB22CD")
    assert (after_2022["UTLA21CD"].nunique(), after_2022["sum"].sum()) == (10, 1_368_416)
    touched = ons21[["ICB22CD", "UTLA21CD"]].drop_duplicates()
    unions = 42 - touched.loc[touched["UTLA21CD"].isin(after_2022["UTLA21CD"]), "ICB22CD"].nunique()
    from coterminosity.geo import load_layer

    measured = suggest(load_layer("icb22"), layers["upper21"], layers["population"], max_moves=0)
    assert measured.table.empty and unions == 26
    assert (measured.before.councils_split, measured.before.outside_main, measured.before.whole_unions) == (
        10, 1_368_416, unions)


def test_a_budget_of_four_moves_takes_the_four_cheapest_two_way_splits(ons21, layers):
    result = suggest(layers["stp21"], layers["upper21"], layers["population"], max_moves=4)
    minor = minor_pieces(ons21)
    two_way = minor[minor.groupby("UTLA21CD")["UTLA21CD"].transform("size") == 1].nsmallest(4, "sum")
    assert moved(result) == set(zip(two_way["UTLA21CD"], two_way["STP21CD"], two_way["main"], two_way["sum"]))
    assert result.people_moved == two_way["sum"].sum() == 36_716
    assert (result.before.councils_split, result.after.councils_split) == (14, 10)
    assert result.after.outside_main == 1_714_127 - 36_716


def test_keeping_ccgs_whole_too(ons21, layers):
    result = suggest(layers["stp21"], layers["upper21"], layers["population"], keep_whole=layers["ccg21"])
    assert (result.after.councils_split, result.before.subunits_split, result.after.subunits_split) == (0, 0, 0)
    members, _ = resolve_moves(layers["stp21"], result.scenario(), [layers["upper21"], layers["ccg21"], layers["stp21"]])
    assert split_after(ons21, members, "UTLA21CD") == [] and split_after(ons21, members, "CCG21CD") == []
    changed = ons21.merge(members.rename(columns={"small_code": "LSOA11CD"}), on="LSOA11CD")
    changed = changed[changed["code"] != changed["STP21CD"]]
    assert changed["population"].sum() == result.people_moved == 11_028_235
    assert len(result.after.emptied) == 42 - members["code"].nunique() == 8
    # Splits priced at one person: the same sixteen moves as with no constraint, splitting ten CCGs.
    priced = suggest(layers["stp21"], layers["upper21"], layers["population"], keep_whole=layers["ccg21"], soft=1)
    assert moved(priced) == moved(suggest(layers["stp21"], layers["upper21"], layers["population"]))
    members, _ = resolve_moves(layers["stp21"], priced.scenario(), [layers["upper21"], layers["ccg21"], layers["stp21"]])
    assert priced.after.subunits_split == len(split_after(ons21, members, "CCG21CD")) == 10
    splits = dict(zip(priced.table["council"], priced.table["splits"]))
    assert splits["E10000024"] == "" and splits["E10000007"] == "NHS Tameside and Glossop CCG"
    # Within four moves, Bassetlaw is the one 2022 move that splits no CCG.
    four = suggest(layers["stp21"], layers["upper21"], layers["population"], keep_whole=layers["ccg21"],
                   max_moves=4)
    assert ("E10000024", "E54000009", "E54000014", 117_459) in moved(four)
    assert (four.after.councils_split, four.after.subunits_split) == (10, 0)


def test_population_band_that_cannot_hold_is_named(layers):
    from coterminosity.boundaries.suggest import NoSuggestion

    with pytest.raises(NoSuggestion, match=r"^no suggestion: the population band 800,000–3,000,000 cannot be met "):
        suggest(layers["stp21"], layers["upper21"], layers["population"], band=(800_000, 3_000_000))


def test_command_writes_the_table_and_the_scenario(ons21, layers, tmp_path):
    out, saved = tmp_path / "moves.csv", tmp_path / "moves.json"
    assert main(["suggest", "stp21", "--against", "upper21", "--max-moves", "4", "--format", "csv", "-o", str(out),
                 "--save", str(saved), "-q"]) == 0
    table = pd.read_csv(out, dtype={"council": str})
    assert list(table["rank"]) == [1, 2, 3, 4] and table["people"].sum() == 36_716
    doc = json.loads(saved.read_text())
    assert doc["footprints"] == "stp21" and doc["units"] == ["upper21", "stp21"]
    assert [m["unit"] for m in doc["moves"]] == list(table["unit"])
    assert [r["lsoas"] for r in doc["resolved"]] == list(table["lsoas"])
    assert np.array_equal(sorted(table["council"]), sorted(["E10000025", "E06000060", "E10000032", "E06000061"]))
    # The same table as the library gives.
    api = suggest(layers["stp21"], layers["upper21"], layers["population"], max_moves=4).table
    columns = ["rank", "council", "from", "to", "lsoas", "people", "makes_whole", "unit"]
    pd.testing.assert_frame_equal(table[columns], api[columns], check_dtype=False)
