"""``coterm history`` on hand-made files: the table, the chart, and one-line errors."""

from __future__ import annotations

import io

import geopandas as gpd
import pandas as pd
import pytest

from coterminosity.cli import main

from ..factory import square
from ..factory import write_units as write

PEOPLE = [20_000.0, 30_000.0, 40_000.0, 10_000.0, 50_000.0, 10_000.0, 30_000.0, 35_000.0]




@pytest.fixture
def world(tmp_path):
    # 2017: council C2 is split (10,000 in F1, 60,000 in F2); 2018: s4 moves to F2 and C2 is whole.
    fp1 = write(tmp_path / "fp17.gpkg", {"F1": [1, 2, 3, 4], "F2": [5, 6, 7, 8]})
    fp2 = write(tmp_path / "fp18.gpkg", {"F1": [1, 2, 3], "F2": [4, 5, 6, 7, 8]})
    councils = write(tmp_path / "councils.gpkg", {"C1": [1, 2, 3], "C2": [4, 5, 6], "C3": [7, 8]})
    pop = tmp_path / "pop.geojson"
    gpd.GeoDataFrame({"code": [f"s{i}" for i in range(1, 9)], "population": PEOPLE},
                     geometry=[square(i).centroid for i in range(1, 9)], crs="EPSG:27700").to_file(pop)
    return fp1, fp2, councils, str(pop)


def test_history_csv_and_chart(world, tmp_path, capsys):
    fp1, fp2, councils, pop = world
    chart = tmp_path / "history.svg"
    assert main(["-q", "history", fp1, fp2, "--against", councils, "--population", pop, "--format", "csv",
                 "--chart", str(chart)]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out), keep_default_na=False)
    assert table["vintage"].tolist() == ["fp17", "fp18"]
    assert table["councils_split"].tolist() == [1, 0] and table["people_outside"].tolist() == [10_000, 0]
    assert table["whole_unions"].tolist() == [0, 2] and table["people_moved"].tolist() == ["", "10000"]
    svg = chart.read_text()
    assert svg.startswith("<svg") and "fp17" in svg and "councils split" in svg


def test_history_png_chart(world, tmp_path, capsys):
    fp1, fp2, councils, pop = world
    chart = tmp_path / "history.png"
    assert main(["-q", "history", fp1, fp2, "--against", councils, "--population", pop, "--chart", str(chart)]) == 0
    assert "people_outside" in capsys.readouterr().out
    assert chart.read_bytes()[:4] == b"\x89PNG"


def one_error_line(capsys, *parts):
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    for part in parts:
        assert part in err, err


def test_history_errors(world, tmp_path, capsys):
    fp1, fp2, councils, pop = world
    assert main(["-q", "history", fp1, "--population", pop]) == 2
    one_error_line(capsys, "no council layer of its year is known; give --against COUNCILS")
    assert main(["-q", "history", fp1, "--against", councils, "--population", pop, "--chart", "x.gif"]) == 2
    one_error_line(capsys, "--chart x.gif: give a .svg or .png file name")
    assert main(["-q", "history", fp1, "--against", councils]) == 2
    one_error_line(capsys, "history counts people")
    assert main(["-q", "history", "stp99", "--against", "upper17"]) == 2
    one_error_line(capsys, "'stp99'", "stp17")
