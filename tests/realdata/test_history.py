"""Boundary history 2017–2024 and the changes between vintages, against an independent pandas
computation on the raw ONS lookup CSVs (no project code): every figure, row by row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.realdata

T = 0.98  # the default threshold
VINTAGES = [("stp17", "upper17", "ccg17"), ("stp18", "upper18", "ccg18"), ("stp19", "upper19", "ccg19"),
            ("stp20", "upper20", "ccg20"), ("stp21", "upper21", "ccg21"), ("icb22", "upper21", "sicbl22"),
            ("icb24", "upper21", None)]  # sicbl24 is not a union of whole 2011 LSOAs


# ---------------------------------------------------------------- the independent answer


@pytest.fixture(scope="module")
def raw(data_dir) -> pd.DataFrame:
    """One row per 2011 LSOA: its STP/ICB, CCG/sub-ICB and upper-tier council of every year, and people."""
    def read(name, cols=None):
        return pd.read_csv(data_dir / name, dtype=str, usecols=cols)

    t = read("population_lsoa11_mid2019.csv", ["LSOA11CD", "population"])
    t["population"] = t["population"].astype(float)
    for yy in (17, 18, 19, 20, 21):
        lk = read(f"lookup_lsoa11_ccg{yy}_stp{yy}_lad{yy}.csv")
        t = t.merge(lk[["LSOA11CD", f"STP{yy}CD", f"CCG{yy}CD", f"LAD{yy}CD"]], on="LSOA11CD")
        t = t.rename(columns={f"STP{yy}CD": f"stp{yy}", f"CCG{yy}CD": f"ccg{yy}"})
        # Upper tier: the county in two-tier areas (E10), else the district itself (the 2017/18 lookup
        # names metropolitan counties and Inner/Outer London, which are not councils).
        tiers = read(f"lookup_ltla{17 if yy == 18 else yy}_utla{17 if yy == 18 else yy}.csv").iloc[:, [0, 2]]
        county = t[f"LAD{yy}CD"].map(dict(zip(tiers.iloc[:, 0], tiers.iloc[:, 1])))
        t[f"upper{yy}"] = np.where(county.fillna("").str.startswith("E10"), county, t[f"LAD{yy}CD"])
    lk = read("lookup_lsoa11_sicbl22_icb22_lad22.csv", ["LSOA11CD", "SICBL22CD", "ICB22CD"])
    t = t.merge(lk.rename(columns={"SICBL22CD": "sicbl22", "ICB22CD": "icb22"}), on="LSOA11CD")
    # 2024: on 2021 LSOAs; every 2011 LSOA lies in one 2024 ICB through the 2011 → 2021 lookup.
    step = read("lookup_lsoa11_lsoa21_lad22.csv", ["LSOA11CD", "LSOA21CD"])
    l24 = read("lookup_lsoa21_sicbl24_icb24.csv", ["LSOA21CD", "ICB24CD"])
    icb24 = step.merge(l24, on="LSOA21CD").drop_duplicates(["LSOA11CD", "ICB24CD"])
    assert icb24["LSOA11CD"].is_unique
    t = t.merge(icb24[["LSOA11CD", "ICB24CD"]].rename(columns={"ICB24CD": "icb24"}), on="LSOA11CD")
    assert len(t) == 32_844
    return t


def independent_row(t: pd.DataFrame, fp: str, council: str, ccg: str) -> dict:
    """The history figures of one vintage by plain group-bys."""
    def against(other):
        g = t.groupby([fp, other])["population"].sum().rename("people").reset_index()
        b_tot = g.groupby(other)["people"].transform("sum")
        a_tot = g.groupby(fp)["people"].transform("sum")
        g["p"], g["q"] = g["people"] / a_tot, g["people"] / b_tot
        largest = g.groupby(other)["people"].max()
        totals = g.groupby(other)["people"].sum()
        share = largest / totals
        split = int(((share < T) & (1 - share > 1 - T)).sum())
        spanning = int((g.groupby(other).size() > 1).sum())
        outside = float((totals - largest).sum())
        clean_people, whole_units, whole_people = 0.0, 0, 0.0
        for _, pairs in g.groupby(fp):
            total = pairs["people"].sum()
            coterminous = ((pairs["p"] >= T) & (pairs["q"] >= T)).any()
            nested = pairs["p"].max() >= T
            whole_b, fringe = pairs["q"] >= T, (pairs["p"] <= 1 - T) & (pairs["q"] <= 1 - T)
            contains = (whole_b | fringe).all() and whole_b.any()
            if coterminous or (contains and not nested):
                whole_units, whole_people = whole_units + 1, whole_people + total
            if coterminous or nested or contains:
                clean_people += total
        return {"units": int(t[other].nunique()), "split": split, "spanning": spanning, "outside": outside,
                "whole": whole_units, "whole_share": whole_people / t["population"].sum(),
                "score": clean_people / t["population"].sum()}

    c = against(council)
    g = against(ccg) if ccg else {"units": pd.NA, "split": pd.NA, "outside": np.nan}
    return {"vintage": fp, "units": int(t[fp].nunique()), "council_units": c["units"],
            "councils_spanning": c["spanning"], "councils_split": c["split"], "people_outside": c["outside"],
            "people_outside_share": c["outside"] / t["population"].sum(), "whole_unions": c["whole"],
            "whole_unions_share": c["whole_share"], "score": c["score"], "ccg_units": g["units"],
            "ccgs_split": g["split"], "ccg_people_outside": g["outside"]}


def independent_moves(t: pd.DataFrame, old: str, new: str) -> pd.DataFrame:
    """Pieces of people moved between continuing units: old × new pairs that are neither a unit's
    continuation (the old and new units holding most of each other) nor its merger or split."""
    g = t.groupby([old, new])["population"].agg(["sum", "size"]).reset_index()
    succ = g.sort_values("sum", ascending=False).drop_duplicates(old).set_index(old)[new]
    pred = g.sort_values("sum", ascending=False).drop_duplicates(new).set_index(new)[old]
    cont = {a: b for a, b in succ.items() if pred[b] == a}
    origin = {b: a for a, b in cont.items()}
    keep = [a in cont and b in origin and cont[a] != b for a, b in zip(g[old], g[new])]
    return g[keep].rename(columns={old: "from_code", new: "to_code", "sum": "people", "size": "lsoas"})


# ---------------------------------------------------------------- the project's answer


@pytest.fixture(scope="module")
def layers(data_dir):
    from coterminosity.geo import load_layer

    names = sorted({n for v in VINTAGES for n in v if n})
    return {**{n: load_layer(n) for n in names}, None: None}


@pytest.fixture(scope="module")
def population(data_dir):
    from coterminosity.geo import load_population

    return load_population()


@pytest.fixture(scope="module")
def result(layers, population):
    from coterminosity.boundaries.history import history

    return history([(layers[f], layers[c]) for f, c, _ in VINTAGES], population,
                   ccgs=[layers[g] for _, _, g in VINTAGES])


def test_every_history_figure_row_by_row(result, raw, names):
    table = result.table.set_index("vintage")
    previous = None
    for fp, council, ccg in VINTAGES:
        expected = independent_row(raw, fp, council, ccg)
        got = table.loc[fp]
        for key, value in expected.items():
            if key == "vintage":
                continue
            if pd.isna(value):
                assert pd.isna(got[key]), (fp, key)
            else:
                assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-9), (fp, key)
        if previous is not None:
            moves = independent_moves(raw, previous, fp)
            assert got["pieces_moved"] == len(moves), fp
            assert got["people_moved"] == moves["people"].sum(), fp
            classes = [kind for kind, _, _ in independent_classes(raw, previous, fp, names).values()]
            assert (got["merged"], got["split"]) == (classes.count("merged"), 0), fp
        previous = fp


def test_history_known_figures(result):
    t = result.table.set_index("vintage")
    # The README's 2017 report: 11 councils split, 22 whole unions, score 51.1%, 14 councils spanning.
    assert (t.loc["stp17", "councils_split"], t.loc["stp17", "whole_unions"], t.loc["stp17", "councils_spanning"]) \
        == (11, 22, 14)
    assert round(t.loc["stp17", "score"], 3) == 0.511
    assert t.loc["stp17", "ccgs_split"] == 0 and t["units"].tolist() == [44, 42, 42, 42, 42, 42, 42]
    assert t.loc["stp18", "people_moved"] == 0 and t.loc["stp18", "merged"] == 3
    assert t.loc["icb22", "people_moved"] == 33_570 + 117_459 + 177_623 + 17_059


@pytest.fixture(scope="module")
def stp_changes(layers, population):
    from coterminosity.boundaries.changes import changes

    return {(a, b): changes(layers[a], layers[b], population)
            for a, b in (("stp17", "stp18"), ("stp19", "stp20"), ("stp21", "icb22"))}


def independent_classes(t: pd.DataFrame, old: str, new: str, names: dict) -> dict[tuple[str, str], tuple]:
    """(old code, new code) → (class, people gained, people lost) for these footprint vintages (no splits
    and no new units among them): the same LSOA set is unchanged / renamed / recoded; a unit continuing
    as another grew or shrank by its net people, or merged when other units went mainly into it."""
    g = t.groupby([old, new])["population"].sum().rename("people").reset_index()
    succ = g.sort_values("people", ascending=False).drop_duplicates(old).set_index(old)[new]
    pred = g.sort_values("people", ascending=False).drop_duplicates(new).set_index(new)[old]
    cont = {a: b for a, b in succ.items() if pred[b] == a}
    sets_old, sets_new = t.groupby(old)["LSOA11CD"].apply(frozenset), t.groupby(new)["LSOA11CD"].apply(frozenset)
    tot_old, tot_new = t.groupby(old)["population"].sum(), t.groupby(new)["population"].sum()
    shared = g.set_index([old, new])["people"]
    out = {}
    for a, b in succ.items():
        if a not in cont:
            out[(a, b)] = ("merged", 0.0, 0.0)
            continue
        gained, lost = tot_new[b] - shared[(a, b)], tot_old[a] - shared[(a, b)]
        if sets_old[a] == sets_new[b]:
            kind = "recoded" if a != b else ("unchanged" if names[old][a] == names[new][b] else "renamed")
        elif (succ == b).sum() > 1:
            kind = "merged"
        else:
            kind = "grew" if gained >= lost else "shrank"
        out[(a, b)] = (kind, gained, lost)
    return out


@pytest.fixture(scope="module")
def names(data_dir) -> dict[str, dict[str, str]]:
    """Code → name of each footprint vintage, from the lookups."""
    out = {}
    for label, file, cd, nm in (("stp17", "lookup_lsoa11_ccg17_stp17_lad17.csv", "STP17CD", "STP17NM"),
                                ("stp18", "lookup_lsoa11_ccg18_stp18_lad18.csv", "STP18CD", "STP18NM"),
                                ("stp19", "lookup_lsoa11_ccg19_stp19_lad19.csv", "STP19CD", "STP19NM"),
                                ("stp20", "lookup_lsoa11_ccg20_stp20_lad20.csv", "STP20CD", "STP20NM"),
                                ("stp21", "lookup_lsoa11_ccg21_stp21_lad21.csv", "STP21CD", "STP21NM"),
                                ("icb22", "lookup_lsoa11_sicbl22_icb22_lad22.csv", "ICB22CD", "ICB22NM"),
                                ("icb24", "lookup_lsoa21_sicbl24_icb24.csv", "ICB24CD", "ICB24NM")):
        t = pd.read_csv(data_dir / file, dtype=str, usecols=[cd, nm]).drop_duplicates(cd)
        out[label] = dict(zip(t[cd], t[nm]))
    return out


@pytest.mark.parametrize("old,new", [("stp17", "stp18"), ("stp19", "stp20"), ("stp21", "icb22")])
def test_changes_classes_row_by_row(stp_changes, raw, names, old, new):
    expected = independent_classes(raw, old, new, names)
    table = stp_changes[(old, new)].table
    got = {(r.old_code, r.new_code): (r._1, r.people_gained, r.people_lost) for r in table.itertuples()}
    assert got == expected


@pytest.mark.parametrize("old,new", [("stp17", "stp18"), ("stp19", "stp20"), ("stp21", "icb22")])
def test_changes_pieces_and_units_row_by_row(stp_changes, raw, old, new):
    result = stp_changes[(old, new)]
    moves = independent_moves(raw, old, new).sort_values(["from_code", "to_code"])
    pieces = result.pieces.sort_values(["from_code", "to_code"])
    assert list(zip(pieces["from_code"], pieces["to_code"], pieces["lsoas"], pieces["people"])) == \
        list(zip(moves["from_code"], moves["to_code"], moves["lsoas"], moves["people"]))
    # Every unit's people before and after, and identical units found by their LSOA sets.
    people_old = raw.groupby(old)["population"].sum()
    people_new = raw.groupby(new)["population"].sum()
    sets_old = raw.groupby(old)["LSOA11CD"].apply(frozenset)
    sets_new = raw.groupby(new)["LSOA11CD"].apply(frozenset)
    same = {a: b for a, s in sets_old.items() for b, s2 in sets_new.items() if s == s2}
    for r in result.table.itertuples():
        if r.old_code:
            assert r.people_old == people_old[r.old_code]
        if r.new_code:
            assert r.people_new == people_new[r.new_code]
        identical = r.old_code in same and same[r.old_code] == r.new_code
        assert (r._1 in ("unchanged", "recoded", "renamed")) == identical, r
    assert result.people_moved == moves["people"].sum()


def test_stp17_to_stp18_is_a_merger_of_three(stp_changes):
    result = stp_changes[("stp17", "stp18")]
    names = result.old.names()
    assert result.mergers() == [("E54000049", ["E54000045", "E54000046", "E54000047"])]
    assert [names[c] for c in result.mergers()[0][1]] == [
        "Durham, Darlington, Teesside, Hambleton, Richmondshire and Whitby",
        "Northumberland, Tyne and Wear and North Durham", "West, North and East Cumbria"]
    assert result.new.names()["E54000049"] == "Cumbria and North East"
    assert result.count("unchanged") == 41 and result.pieces.empty and result.count("gone") == 0
    assert any(line.startswith("merged: Durham, Darlington") and "→ Cumbria and North East (E54000049), 3,143,155"
               in line for line in result.lines())


def test_ccg19_to_ccg20_mergers_by_name(layers, population, raw, data_dir):
    from coterminosity.boundaries.changes import changes

    result = changes(layers["ccg19"], layers["ccg20"], population)
    names19 = pd.read_csv(data_dir / "lookup_lsoa11_ccg19_stp19_lad19.csv", dtype=str).drop_duplicates("CCG19CD")
    names20 = pd.read_csv(data_dir / "lookup_lsoa11_ccg20_stp20_lad20.csv", dtype=str).drop_duplicates("CCG20CD")
    n19, n20 = dict(zip(names19["CCG19CD"], names19["CCG19NM"])), dict(zip(names20["CCG20CD"], names20["CCG20NM"]))
    g = raw.groupby(["ccg19", "ccg20"])["population"].sum().reset_index()
    home = g.sort_values("population", ascending=False).drop_duplicates("ccg19").set_index("ccg19")["ccg20"]
    expected = {n20[b]: sorted(n19[a] for a in group.index) for b, group in home.groupby(home) if len(group) > 1}
    got = {n20[b]: sorted(n19[a] for a in olds) for b, olds in result.mergers()}
    assert got == expected and len(got) == 18
    assert got["NHS Northamptonshire CCG"] == ["NHS Corby CCG", "NHS Nene CCG"]
    assert len(got["NHS Kent and Medway CCG"]) == 8


def test_2021_to_2022_moves_as_a_scenario_give_icb22(stp_changes, layers):
    from coterminosity.boundaries.scenario import run_moves

    result = stp_changes[("stp21", "icb22")]
    scenario = result.scenario()
    assert len(scenario.moves) == 4 and sum(len(m.lsoas) for m in scenario.moves) == 21 + 70 + 92 + 9
    after, _, affected = run_moves(layers["stp21"], scenario, units=[], geometry=False)
    got = after.members.assign(code=after.members["code"].map(result.successor)).set_index("small_code")["code"]
    want = layers["icb22"].members.set_index("small_code")["code"]
    assert got.sort_index().equals(want.sort_index())
    assert len(affected) == 8
