"""``coterm changes`` on hand-made files (compared by geometry) and on the real vintages (by membership)."""

from __future__ import annotations

import io
import json

import geopandas as gpd
import pandas as pd
import pytest

from coterminosity.cli import main

from ..factory import square
from ..factory import write_units as write


@pytest.fixture
def world(tmp_path):
    old = write(tmp_path / "old.gpkg", {"A": [1, 2], "B": [3, 4], "H": [5, 6, 7]})
    new = write(tmp_path / "new.gpkg", {"A": [1, 2, 5], "X": [3, 4], "H": [6, 7]})  # s5 moves H → A; B recoded X
    pop = tmp_path / "pop.geojson"
    gpd.GeoDataFrame({"code": [f"s{i}" for i in range(1, 8)], "population": [1_000.0 * i for i in range(1, 8)]},
                     geometry=[square(i).centroid for i in range(1, 8)], crs="EPSG:27700").to_file(pop)
    return old, new, str(pop)


def one_error_line(capsys, *parts):
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    for part in parts:
        assert part in err, err


def test_changes_csv_units_and_pieces(world, capsys):
    old, new, pop = world
    assert main(["-q", "changes", old, new, "--population", pop, "--format", "csv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out), keep_default_na=False)
    assert dict(zip(table["old_code"], table["class"])) == {"A": "grew", "B": "recoded", "H": "shrank"}
    assert dict(zip(table["old_code"], table["people_lost"])) == {"A": 0, "B": 0, "H": 5_000}
    assert main(["-q", "changes", old, new, "--population", pop, "--pieces", "--format", "csv"]) == 0
    pieces = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert pieces[["from_code", "to_code", "people"]].values.tolist() == [["H", "A", 5_000.0]]
    assert pieces["area_km2"].tolist() == pytest.approx([0.01])


def test_changes_table_says_geometry_and_summary(world, capsys):
    old, new, pop = world
    assert main(["-q", "changes", old, new, "--population", pop]) == 0
    out = capsys.readouterr().out
    assert "method: geometry (old and new are not built from the same small areas" in out
    assert ("old → new: 3 units → 3; 1 recoded, 1 grew, 1 shrank; 1 piece moved between units: "
            "5,000 people (17.86% of 28,000), 0.0 km²") in out


def test_changes_layer_out_and_refused_scenario(world, tmp_path, capsys):
    old, new, pop = world
    out = tmp_path / "pieces.geojson"
    assert main(["-q", "changes", old, new, "--population", pop, "--layer-out", str(out)]) == 0
    capsys.readouterr()
    frame = gpd.read_file(out).to_crs("EPSG:27700")
    assert frame["from_code"].tolist() == ["H"] and frame["people"].tolist() == [5_000.0]
    assert frame.geometry.iloc[0].area == pytest.approx(10_000, rel=1e-6)
    saved = tmp_path / "moves.json"
    assert main(["-q", "changes", old, new, "--save", str(saved)]) == 2
    one_error_line(capsys, "a scenario needs both layers built from the same small areas")
    assert not saved.exists()
    assert main(["-q", "changes", old, new, "-o", str(tmp_path / "x.gpkg")]) == 2
    one_error_line(capsys, "use --layer-out")


def test_changes_unknown_vintage_lists_the_known(capsys):
    assert main(["-q", "changes", "stp99", "stp18"]) == 2
    one_error_line(capsys, "'stp99'", "stp17", "icb22")


@pytest.mark.realdata
def test_changes_real_2021_to_2022_saved_as_a_scenario(data_dir, tmp_path, capsys):
    from coterminosity.geo.scenario_file import load_scenario

    saved, pieces = tmp_path / "moves.json", tmp_path / "pieces.gpkg"
    assert main(["-q", "changes", "stp21", "icb22", "--save", str(saved), "--layer-out", str(pieces),
                 "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["meta"]["people_moved"] == 345_711 and doc["meta"]["classes"]["renamed"] == 34
    scenario = load_scenario(saved)
    assert scenario.footprints == "stp21" and sorted(len(m.lsoas) for m in scenario.moves) == [9, 21, 70, 92]
    frame = gpd.read_file(pieces)
    assert sorted(frame["people"]) == [17_059, 33_570, 117_459, 177_623]
    assert set(frame["from_code"]) == {"E54000007", "E54000009", "E54000016", "E54000021"}
