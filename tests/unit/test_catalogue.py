"""Catalogue layers on a hand-made data folder: exact LSOA membership or a one-line error."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from coterminosity.errors import CotermError, InputError
from coterminosity.geo.catalogue import DATASETS, LAYERS, catalogue_table
from coterminosity.geo.load import load_layer
from coterminosity.geo.lookups import named_membership
from coterminosity.geo.population import load_population

LSOAS = ["E01000001", "E01000002", "E01000003", "E01000004"]


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """Four 1 km square LSOAs in a row, and an empty cache."""
    monkeypatch.setenv("COTERM_CACHE", str(tmp_path / "cache"))
    data = tmp_path / "data"
    data.mkdir()
    squares = [shapely.box(400_000 + 1000 * i, 300_000, 401_000 + 1000 * i, 301_000) for i in range(4)]
    gpd.GeoDataFrame({"LSOA11CD": LSOAS, "LSOA11NM": [f"Town 00{i}A" for i in range(4)],
                      "LAD11CD": ["E06000001"] * 4}, geometry=squares, crs="EPSG:27700").to_file(
        data / DATASETS["lsoa11"].filename)
    return data


def write(folder, name: str, rows: list[dict]) -> None:
    pd.DataFrame(rows).to_csv(folder / DATASETS[name].filename, index=False)


def lsoa21_lookups(folder, pieces: dict[str, list[str]], icb: dict[str, str]) -> None:
    """2011 → 2021 LSOA pieces, and each 2021 LSOA's 2024 sub-ICB and ICB."""
    write(folder, "lookup_lsoa11_lsoa21_lad22", [
        {"LSOA11CD": a, "LSOA11NM": a, "CHGIND": "U" if len(bs) == 1 else "S", "LSOA21CD": b, "LSOA21NM": b,
         "LAD22CD": "E06000001", "LAD22NM": "Town"} for a, bs in pieces.items() for b in bs])
    write(folder, "lookup_lsoa21_sicbl24_icb24", [
        {"LSOA21CD": b, "LSOA21NM": b, "SICBL24CD": f"S{unit}", "SICBL24CDH": unit, "SICBL24NM": f"Sub {unit}",
         "ICB24CD": f"I{unit}", "ICB24CDH": unit, "ICB24NM": f"ICB {unit}"} for b, unit in icb.items()])


def test_2024_units_map_onto_2011_lsoas(folder):
    # LSOA 3 splits into two 2021 LSOAs, both in unit B: it still belongs to one unit.
    lsoa21_lookups(folder, {"E01000001": ["N1"], "E01000002": ["N2"], "E01000003": ["N3", "N4"],
                            "E01000004": ["N5"]}, {"N1": "A", "N2": "A", "N3": "B", "N4": "B", "N5": "B"})
    layer = load_layer("icb24", data_dir=folder)
    assert layer.codes.tolist() == ["IA", "IB"]
    assert layer.names() == {"IA": "ICB A", "IB": "ICB B"}
    members = layer.members.sort_values("small_code")
    assert members["code"].tolist() == ["IA", "IA", "IB", "IB"]
    assert layer.frame.geometry.area.tolist() == pytest.approx([2e6, 2e6])
    assert any("2021 LSOAs" in n for n in layer.notes)
    assert any("42" in n and "2 units" in n for n in layer.notes)  # fewer units than published: said


def test_a_2011_lsoa_split_between_two_2024_units_fails_loudly(folder):
    lsoa21_lookups(folder, {"E01000001": ["N1"], "E01000002": ["N2"], "E01000003": ["N3", "N4"],
                            "E01000004": ["N5"]}, {"N1": "A", "N2": "A", "N3": "A", "N4": "B", "N5": "B"})
    with pytest.raises(InputError) as caught:
        load_layer("sicbl24", data_dir=folder)
    message = str(caught.value)
    assert "\n" not in message
    assert "1 2011 LSOAs would fall in two sicbl24 units" in message and "E01000003 in SA, SB" in message
    assert not any((folder.parent / "cache").rglob("layer-sicbl24*"))  # nothing half-built is cached


def lookup17(lsoas: list[str], stp: str = "E54000001") -> list[dict]:
    return [{"LSOA11CD": c, "LSOA11NM": c, "CCG17CD": "E38000001", "CCG17CDH": "00A", "CCG17NM": "CCG",
             "STP17CD": stp, "STP17NM": "Footprint", "LAD17CD": "E06000001", "LAD17NM": "Town"} for c in lsoas]


@pytest.mark.parametrize(("rows", "expected"), [
    (lookup17(LSOAS[:3]), "1 LSOAs of the 4 English LSOA polygons are not in the lookup (e.g. E01000004)"),
    (lookup17(LSOAS + ["E01099999", "E01099998"]), "2 LSOAs in the lookup are not among the LSOA polygons (e.g. E01099998)"),
    (lookup17(LSOAS) + lookup17(LSOAS[1:2], stp="E54000002"), "1 LSOAs are listed under two units (e.g. E01000002)"),
])
def test_a_lookup_that_differs_from_the_polygons_is_one_line(folder, rows, expected):
    write(folder, "lookup_lsoa11_ccg17_stp17_lad17", rows)
    with pytest.raises(InputError) as caught:
        load_layer("stp17", data_dir=folder)
    assert "\n" not in str(caught.value) and expected in str(caught.value)
    assert str(caught.value).startswith(str(folder / "lookup_lsoa11_ccg17_stp17_lad17.csv"))


def test_upper_tier_is_the_county_in_two_tier_areas_else_the_district(folder):
    rows = lookup17(LSOAS)
    for row, lad in zip(rows, ["E07000001", "E07000002", "E06000009", "E08000001"]):
        row["LAD17CD"], row["LAD17NM"] = lad, f"District {lad}"
    write(folder, "lookup_lsoa11_ccg17_stp17_lad17", rows)
    write(folder, "lookup_ltla17_utla17", [
        {"LTLA17CD": "E07000001", "LTLA17NM": "a", "UTLA17CD": "E10000001", "UTLA17NM": "Shire"},
        {"LTLA17CD": "E07000002", "LTLA17NM": "b", "UTLA17CD": "E10000001", "UTLA17NM": "Shire"},
        {"LTLA17CD": "E06000009", "LTLA17NM": "c", "UTLA17CD": "E06000009", "UTLA17NM": "c"},
        {"LTLA17CD": "E08000001", "LTLA17NM": "d", "UTLA17CD": "E11000001", "UTLA17NM": "Metropolitan county"}])
    members = named_membership("upper17", data_dir=folder)
    got = dict(zip(members.members["small_code"], members.members["code"]))
    assert got == dict(zip(LSOAS, ["E10000001", "E10000001", "E06000009", "E08000001"]))
    assert members.names["E10000001"] == "Shire" and members.names["E08000001"] == "District E08000001"


def test_unknown_layer_names_list_the_catalogue_closest_first(folder):
    with pytest.raises(CotermError) as caught:
        load_layer("icb23", data_dir=folder)
    message = str(caught.value)
    assert "\n" not in message
    assert "did you mean icb22 or icb24" in message or "did you mean icb24 or icb22" in message
    assert all(name in message for name in LAYERS)


def test_catalogue_table_states_vintage_sources_and_units():
    table = catalogue_table()
    assert list(table.columns) == ["name", "title", "vintage", "sources", "units", "alias", "note"]
    assert set(table["name"]) == set(LAYERS)
    assert table["vintage"].str.len().gt(0).all() and table["units"].gt(0).all()
    for sources in table["sources"]:
        assert all(s in DATASETS for s in sources.split(", "))
    row = table.set_index("name").loc["upper22"]
    assert row["alias"] == "upper21" and "2021" in row["note"]
    assert "2017" in table.set_index("name").loc["upper18", "note"]


def test_lsoas_outside_england_are_left_out_with_a_note(folder):
    """A data folder fetched for England and Wales: the Welsh LSOA is not in the English lookups."""
    frame = gpd.read_file(folder / DATASETS["lsoa11"].filename)
    frame.loc[3, "LSOA11CD"] = "W01000004"
    frame.to_file(folder / DATASETS["lsoa11"].filename)
    write(folder, "lookup_lsoa11_ccg17_stp17_lad17", lookup17(LSOAS[:3]))
    layer = load_layer("stp17", data_dir=folder)
    assert len(layer.members) == 3 and layer.frame.geometry.area.sum() == pytest.approx(3e6)
    assert any("1 fine units missing from the lookup (e.g. W01000004)" in n for n in layer.notes)


def test_population_points_are_the_centroids_inside_their_polygon(folder):
    write(folder, "population_lsoa11_mid2019", [{"LSOA11CD": c, "LSOA11NM": c, "population": 10} for c in LSOAS])
    # The third centroid lies 5 m outside its square (in its neighbour): it moves inside its own.
    write(folder, "lsoa11_pwc_england", [
        {"LSOA11CD": c, "LSOA11NM": c, "easting": 400_500 + 1000 * i + (505 if i == 2 else 0), "northing": 300_500}
        for i, c in enumerate(LSOAS)])
    pop = load_population(data_dir=folder)
    points = pop.points.set_index("code").geometry
    assert (points.x["E01000001"], points.y["E01000001"]) == (400_500, 300_500)
    assert shapely.box(402_000, 300_000, 403_000, 301_000).contains(points["E01000003"])
    assert any("1 of them fall just outside" in n and "within 5 m" in n for n in pop.notes)


def test_2024_route_leaves_out_lsoas_outside_england(folder):
    lsoa21_lookups(folder, {"E01000001": ["N1"], "E01000002": ["N2"], "E01000003": ["N3"], "E01000004": ["N4"],
                            "W01000009": ["W9"]}, {"N1": "A", "N2": "A", "N3": "B", "N4": "B"})
    assert len(named_membership("icb24", data_dir=folder).members) == 4
    lsoa21_lookups(folder, {"E01000001": ["N1"], "E01000002": ["N2"], "E01000003": ["N3"], "E01000004": ["N4"]},
                   {"N1": "A", "N2": "A", "N3": "B"})
    with pytest.raises(InputError, match=r"1 LSOA21CD codes of lookup_lsoa11_lsoa21_lad22.csv are not in it \(e.g. N4\)"):
        named_membership("icb24", data_dir=folder)
