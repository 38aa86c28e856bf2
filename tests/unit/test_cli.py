"""The command line on hand-made layers: formats, atomic output, and one-line errors with exit 2."""

from __future__ import annotations

import json
import logging

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from coterminosity.cli import main

from ..factory import one_error_line

X0, Y0 = 400_000, 300_000


def write(path, codes, geoms, crs="EPSG:27700", **columns):
    frame = gpd.GeoDataFrame({"lad17cd": codes, "lad17nm": [f"Unit {c}" for c in codes], **columns},
                             geometry=geoms, crs=crs)
    frame.to_file(path)
    return path


@pytest.fixture
def square_and_halves(tmp_path):
    a = write(tmp_path / "a.gpkg", ["A"], [shapely.box(X0, Y0, X0 + 100, Y0 + 100)])
    b = write(tmp_path / "b.gpkg", ["W", "E"], [shapely.box(X0, Y0, X0 + 50, Y0 + 100),
                                                shapely.box(X0 + 50, Y0, X0 + 100, Y0 + 100)])
    return a, b




def test_overlay_json_and_csv(square_and_halves, tmp_path, capsys):
    a, b = square_and_halves
    out = tmp_path / "o.json"
    assert main(["-q", "overlay", str(a), str(b), "--format", "json", "-o", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["meta"]["method"] == "geometry" and doc["meta"]["threshold"] == 0.98
    assert doc["rows"][0]["class"] == "contains" and doc["rows"][0]["touches"] == 2
    assert main(["-q", "overlay", str(a), str(b), "--pairs", "--format", "csv"]) == 0
    pairs = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))
    assert pairs["b_code"].tolist() == ["E", "W"]
    assert pairs["a_in_b_area"].tolist() == pytest.approx([0.5, 0.5])


def test_overlay_table_states_weights_and_threshold(square_and_halves, capsys):
    a, b = square_and_halves
    assert main(["-q", "overlay", str(a), str(b), "--threshold", "0.9"]) == 0
    out = capsys.readouterr().out
    assert "no population given" in out and "threshold: 0.9" in out
    assert "a vs b (by area, threshold 0.9): 1 of 1 are unions of whole b units" in out


def test_missing_file(capsys, tmp_path):
    assert main(["overlay", str(tmp_path / "nope.gpkg"), str(tmp_path / "nope2.gpkg")]) == 2
    one_error_line(capsys, "nope.gpkg", "no such file")


def test_no_crs(tmp_path, capsys, square_and_halves):
    # A CSV of WKT polygons in metres carries no CRS: say how to give one.
    path = tmp_path / "nocrs.csv"
    pd.DataFrame({"code": ["A"], "wkt": [shapely.box(X0, Y0, X0 + 10, Y0 + 10).wkt]}).to_csv(path, index=False)
    assert main(["overlay", str(path), str(square_and_halves[1])]) == 2
    one_error_line(capsys, "nocrs.csv", "no CRS", "--crs", "EPSG:27700")
    # … and with --crs it works.
    assert main(["-q", "overlay", str(path), str(square_and_halves[1]), "--crs", "EPSG:27700"]) == 0


def test_no_polygons(tmp_path, capsys, square_and_halves):
    path = write(tmp_path / "points.gpkg", ["P1", "P2"], [shapely.Point(X0, Y0), shapely.Point(X0 + 1, Y0)])
    assert main(["overlay", str(path), str(square_and_halves[1])]) == 2
    one_error_line(capsys, "points.gpkg", "expected polygons", "2 Point")


def test_duplicate_codes(tmp_path, capsys, square_and_halves):
    path = write(tmp_path / "dup.geojson", ["X", "Y", "X"],
                 [shapely.box(X0, Y0, X0 + 1, Y0 + 1), shapely.box(X0 + 1, Y0, X0 + 2, Y0 + 1),
                  shapely.box(X0 + 2, Y0, X0 + 3, Y0 + 1)])
    assert main(["overlay", str(path), str(square_and_halves[1])]) == 2
    one_error_line(capsys, "dup.geojson", "code 'X' appears 2 times (features 1, 3)")


def test_missing_code_column_names_the_option(tmp_path, capsys, square_and_halves):
    path = tmp_path / "nocode.gpkg"
    gpd.GeoDataFrame({"label": ["x"]}, geometry=[shapely.box(X0, Y0, X0 + 1, Y0 + 1)], crs=27700).to_file(path)
    assert main(["overlay", str(path), str(square_and_halves[1])]) == 2
    one_error_line(capsys, "nocode.gpkg", "--code-col")


def test_failed_output_leaves_old_file(square_and_halves, tmp_path, capsys):
    a, b = square_and_halves
    out = tmp_path / "report.csv"
    out.write_text("old")
    assert main(["-q", "overlay", str(a), str(tmp_path / "missing.gpkg"), "-o", str(out)]) == 2
    assert out.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gpkg", "b.gpkg", "report.csv"]


def test_build_by_column(tmp_path, capsys):
    fine = write(tmp_path / "fine.gpkg", ["a", "b", "c"],
                 [shapely.box(X0, Y0, X0 + 10, Y0 + 10), shapely.box(X0 + 10, Y0, X0 + 20, Y0 + 10),
                  shapely.box(X0 + 20, Y0, X0 + 30, Y0 + 10)], parent=["P", "P", "Q"])
    out = tmp_path / "coarse.gpkg"
    assert main(["-q", "build", str(fine), "--column", "parent", "-o", str(out)]) == 0
    coarse = gpd.read_file(out).set_index("code")
    assert coarse.loc["P"].geometry.area == pytest.approx(200.0)
    assert coarse.loc["Q"].geometry.area == pytest.approx(100.0)


def test_build_reports_missing_units(tmp_path, capsys):
    fine = write(tmp_path / "fine.gpkg", ["a", "b"],
                 [shapely.box(X0, Y0, X0 + 10, Y0 + 10), shapely.box(X0 + 10, Y0, X0 + 20, Y0 + 10)])
    lookup = tmp_path / "lookup.csv"
    pd.DataFrame({"f": ["a", "a"], "c": ["P", "Q"]}).to_csv(lookup, index=False)
    out = tmp_path / "coarse.gpkg"
    assert main(["-q", "build", str(fine), "--lookup", str(lookup), "--from-col", "f", "--to-col", "c",
                 "-o", str(out)]) == 2  # nothing left to build: every unit missing or doubly listed
    err = capsys.readouterr().err
    assert "listed more than once (e.g. a)" in err and "missing from the lookup (e.g. b)" in err
    assert not out.exists()


def test_csv_keeps_stdout_clean_and_says_the_rest_on_stderr(square_and_halves, capsys, monkeypatch):
    monkeypatch.setattr(logging.getLogger("coterminosity"), "level", logging.NOTSET)  # as from a shell
    a, b = square_and_halves
    assert main(["overlay", str(a), str(b), "--format", "csv"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0].startswith("code,name,area_m2,class")
    assert "method: geometry" in captured.err and "threshold: 0.98" in captured.err
    assert "a vs b (by area, threshold 0.98)" in captured.err


def test_weighting_by_population_needs_a_population(square_and_halves, capsys):
    a, b = square_and_halves
    assert main(["overlay", str(a), str(b), "--weight", "population"]) == 2
    one_error_line(capsys, "cannot weight by population", "add --population")


def test_units_overlapping_nothing_are_named_not_scored_as_nan(tmp_path, square_and_halves, capsys):
    far = write(tmp_path / "far.gpkg", ["Z1"], [shapely.box(X0 + 5000, Y0, X0 + 5100, Y0 + 100)])
    assert main(["-q", "overlay", str(far), str(square_and_halves[1])]) == 0
    out = capsys.readouterr().out
    assert "nan" not in out and "None" not in out
    assert "1 far units overlap no b unit: Unit Z1 (Z1)" in out
    assert "uncovered" in out


def test_threshold_must_be_above_one_half(square_and_halves, capsys):
    a, b = square_and_halves
    with pytest.raises(SystemExit) as exit_:
        main(["overlay", str(a), str(b), "--threshold", "0.5"])
    assert exit_.value.code == 2
    assert "not above 0.5" in capsys.readouterr().err


@pytest.mark.realdata
def test_empty_population_table(tmp_path, square_and_halves, capsys, data_dir):
    empty = tmp_path / "pop.csv"
    empty.write_text("LSOA11CD,population\n")
    a, b = square_and_halves
    assert main(["overlay", str(a), str(b), "--population", str(empty), "--data-dir", str(data_dir)]) == 2
    one_error_line(capsys, "pop.csv", "no rows")


def test_population_errors_name_the_file_line_even_after_blank_lines(tmp_path):
    from coterminosity.errors import InputError
    from coterminosity.geo.population import checked_counts
    from coterminosity.geo.read import read_table

    path = tmp_path / "pop.csv"
    path.write_text("code,population\nA,10\n\nB,-3\n")  # B is on line 4 of the file
    with pytest.raises(InputError, match=r"pop.csv: line 4: '-3' population is not a count ≥ 0 \(1 such row\)"):
        checked_counts(read_table(path), "code", "population", path)
    path.write_text("code,population\nA,10\nZ,5\n")
    with pytest.raises(InputError, match="line 3: 'Z' is not one of the small areas"):
        checked_counts(read_table(path), "code", "population", path, known=pd.Series(["A"]))


@pytest.mark.parametrize("command", ["overlay", "summary", "build", "places", "spanners", "scenario", "containment",
                                     "catchments", "map", "data"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert f"usage: coterm {command}" in capsys.readouterr().out


def test_people_counts_are_written_as_whole_numbers():
    """CSV and JSON write whole-number columns as integers (211956, not 211956.0); shares stay floats."""
    import pandas as pd

    from coterminosity.report import render

    frame = pd.DataFrame({"population": [211956.0, 0.0], "area_m2": [12.5, 3.0], "share": [1.0, 0.0]})
    assert render(frame, "csv").splitlines()[1:] == ["211956,12.5,1.0", "0,3.0,0.0"]
    assert '"population": 211956' in render(frame, "json")
