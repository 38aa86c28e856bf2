"""Results with geometry reach QGIS: `-o FILE.gpkg` writes a real layer that reads back and maps."""

from __future__ import annotations

import geopandas as gpd
import pyogrio
import pytest

from coterminosity.cli import main

pytestmark = pytest.mark.realdata


def test_places_written_as_a_layer_read_back_and_mapped(tmp_path, data_dir, ons_lsoas):
    out = tmp_path / "places.gpkg"
    assert main(["-q", "places", "stp17", "-o", str(out), "--data-dir", str(data_dir)]) == 0
    assert [name for name, _ in pyogrio.list_layers(out)] == ["places"]
    frame = gpd.read_file(out)
    assert frame.crs.to_epsg() == 27700 and frame["code"].is_unique
    # 170 footprint × council pairs share an LSOA (data README); each piece's people by group-by.
    truth = ons_lsoas.groupby(["upper", "STP17CD"])["population"].sum()
    assert len(frame) == len(truth) == 170
    leeds = frame.set_index("code").loc["E08000035&E54000005"]
    assert leeds["name"] == "Leeds in West Yorkshire" and leeds["population"] == truth.loc[("E08000035", "E54000005")]
    assert {"footprint_share", "unit_share", "kind", "nbhd_min"} <= set(frame.columns)
    page = tmp_path / "map.html"
    assert main(["-q", "map", "stp17", "--show", str(out), "-o", str(page), "--data-dir", str(data_dir)]) == 0
    assert "Leeds in West Yorkshire" in page.read_text()


def test_spanner_pieces_written_as_geojson_in_lon_lat(tmp_path, data_dir):
    out = tmp_path / "spanners.geojson"
    assert main(["-q", "spanners", "stp17", "upper17", "-o", str(out), "--data-dir", str(data_dir)]) == 0
    frame = gpd.read_file(out)
    assert frame.crs.to_epsg() == 4326 and frame["code"].is_unique
    assert frame["unit_code"].nunique() == 14  # the 14 councils in more than one footprint
    west, south, east, north = frame.total_bounds
    assert -7 < west < east < 2 and 49 < south < north < 56


def test_overlay_and_summary_write_their_units_as_layers(tmp_path, data_dir):
    units, pairs, summary = tmp_path / "overlay.gpkg", tmp_path / "pairs.gpkg", tmp_path / "summary.parquet"
    assert main(["-q", "overlay", "stp17", "upper17", "-o", str(units), "--data-dir", str(data_dir)]) == 0
    assert main(["-q", "overlay", "stp17", "upper17", "--pairs", "-o", str(pairs), "--data-dir", str(data_dir)]) == 0
    assert main(["-q", "summary", "stp17", "-o", str(summary), "--data-dir", str(data_dir)]) == 0
    one = gpd.read_file(units).set_index("code")
    assert len(one) == 44 and one.loc["E54000026", "wrong_side"] == 651_307 and one.loc["E54000013", "class"] == "coterminous"
    assert len(gpd.read_file(pairs)) == 170
    table = gpd.read_parquet(summary)
    assert table.crs.to_epsg() == 27700 and {"upper17_class", "lad17_split", "ccg17"} <= set(table.columns)


@pytest.mark.parametrize("argv", [["history", "stp17"], ["containment", "trust22", "--footprints", "icb22"],
                                  ["data", "list"], ["scenario", "stp17", "--move", "E38000008=E54000014"]])
def test_table_only_results_refuse_a_layer_file_name(tmp_path, data_dir, capsys, argv):
    out = tmp_path / "result.gpkg"
    assert main([*argv, "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "writes a table, not a GIS layer" in err[0]
    assert not out.exists()


def test_containment_lists_footprints_with_flow_unless_asked_for_all(tmp_path, data_dir, capsys):
    """A small flow file touches one footprint: the other 43 are not listed unless --all."""
    import io

    import pandas as pd

    flows = tmp_path / "flows.csv"
    flows.write_text("LSOA_CODE,PRACTICE_CODE,PRACTICE_NAME,NUMBER_OF_PATIENTS\n"
                     "E01000001,P1,City practice,40\nE01000002,P1,City practice,60\n")
    assert main(["-q", "containment", str(flows), "--footprints", "stp17", "--format", "csv",
                 "--data-dir", str(data_dir)]) == 0
    shown = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert shown["name"].tolist() == ["North East London", "England"]  # City of London: City and Hackney CCG
    assert shown["residents_flow"].tolist() == [100, 100]
    assert main(["-q", "containment", str(flows), "--footprints", "stp17", "--all", "--format", "csv",
                 "--data-dir", str(data_dir)]) == 0
    assert len(pd.read_csv(io.StringIO(capsys.readouterr().out))) == 45


def test_wide_matrix_names_its_footprints(data_dir, capsys):
    import io

    import pandas as pd

    assert main(["-q", "containment", "trust22", "--footprints", "icb22", "--matrix", "wide", "--format", "csv",
                 "--data-dir", str(data_dir)]) == 0
    wide = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert list(wide.columns[:3]) == ["origin", "origin_name", "NHS Cheshire and Merseyside Integrated Care Board (E54000008)"]
    assert wide.loc[0, "origin_name"] == "NHS Cheshire and Merseyside Integrated Care Board"
