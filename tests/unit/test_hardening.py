"""Hostile input: every bad file gives one clear line and exit 2, or a stated, counted repair.

Each case is generated into ``tmp_path``: tiny layers in EPSG:27700 around (400000, 300000),
inside England, driven through ``coterm overlay BAD GOOD`` (no real data needed) and
``read_layer``. Errors must be one line on stderr naming the file and the problem, with no
traceback and nothing on stdout; outputs are never left half-written.
"""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import stat
import time
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from coterminosity.cli import main
from coterminosity.errors import InputError
from coterminosity.geo.read import read_layer
from coterminosity.geo.validity import clean_coverage

X0, Y0 = 400_000, 300_000
BNG_URN = "urn:ogc:def:crs:EPSG::27700"
WGS84_URN = "urn:ogc:def:crs:OGC:1.3:CRS84"


# ---------------------------------------------------------------- builders


def ring(*xy, dx=X0, dy=Y0):
    """A closed ring from offsets (metres) around (X0, Y0)."""
    pts = [[dx + x, dy + y] for x, y in xy]
    return pts + [pts[0]]


def square(x, y, s):
    return ring((x, y), (x + s, y), (x + s, y + s), (x, y + s))


def feature(code, name, geometry, **props):
    return {"type": "Feature", "properties": {"code": code, "name": name, **props}, "geometry": geometry}


def poly(*rings):
    return {"type": "Polygon", "coordinates": list(rings)}


def geojson(path: Path, features, crs: str | None = BNG_URN) -> Path:
    doc = {"type": "FeatureCollection", "features": features}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.fixture
def good(tmp_path) -> Path:
    """Two 100 m squares side by side: the B layer every bad A layer is overlaid on."""
    return geojson(tmp_path / "good.geojson", [feature("g1", "West", poly(square(0, 0, 100))),
                                               feature("g2", "East", poly(square(100, 0, 100)))])


def run(capsys, *argv):
    """``coterm`` in process: (exit code, stdout, stderr)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(capsys, argv, path, *phrases):
    code, out, err = run(capsys, *argv)
    assert code == 2, (code, err)
    assert out == ""
    assert "Traceback" not in err
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1, err
    assert str(path) in lines[0]
    for phrase in phrases:
        assert phrase in lines[0], (phrase, lines[0])
    return lines[0]


# ---------------------------------------------------------------- broken geometry: repaired and counted


BOWTIE = ring((0, 0), (100, 100), (100, 0), (0, 100))  # two triangles of 2,500 m² meeting at (50, 50)
SPIKE = ring((0, 0), (100, 0), (100, 100), (0, 100), (0, 50), (-50, 50), (0, 50))  # square + a zero-width spike


@pytest.mark.parametrize("name, geometry, area", [
    ("bowtie", poly(BOWTIE), 5000.0),
    ("spike", poly(SPIKE), 10_000.0),
    # A hole lying outside its shell: make_valid keeps every ring's area, so it becomes a second part.
    ("hole_outside", poly(square(0, 0, 100), square(150, 0, 20)), 10_400.0),
])
def test_invalid_polygons_are_repaired_and_counted(tmp_path, good, capsys, name, geometry, area):
    bad = geojson(tmp_path / f"{name}.geojson", [feature("a", "Broken", geometry),
                                                 feature("b", "Fine", poly(square(300, 0, 50)))])
    layer = read_layer(bad)
    assert f"{bad}: repaired 1 of 1 invalid features with shapely make_valid" in layer.notes
    assert shapely.is_valid(layer.frame.geometry.values).all()
    assert layer.frame.geometry.area.tolist() == pytest.approx([area, 2500.0])
    code, out, err = run(capsys, "overlay", bad, good)
    assert code == 0 and err == ""
    assert "repaired 1 of 1 invalid features" in out  # stated in the report header


def test_valid_layer_has_no_repair_note(good):
    assert not any("repaired" in n for n in read_layer(good).notes)


def test_polygon_that_collapses_when_repaired_is_an_error(tmp_path, good, capsys):
    flat = {"type": "Polygon", "coordinates": [ring((0, 0), (50, 0), (100, 0))]}  # zero area
    bad = geojson(tmp_path / "flat.geojson", [feature("a", "Fine", poly(square(0, 0, 100))), feature("z", "Flat", flat)])
    assert_one_line_error(capsys, ["overlay", bad, good], bad, "feature 2", "'z'", "no area once repaired")


@pytest.mark.parametrize("geometry", [None, {"type": "Polygon", "coordinates": []}])
def test_empty_geometry_is_an_error(tmp_path, good, capsys, geometry):
    bad = geojson(tmp_path / "empty.geojson", [feature("a", "Fine", poly(square(0, 0, 100))),
                                                feature("b", "Empty", geometry)])
    assert_one_line_error(capsys, ["overlay", bad, good], bad, "feature 2 has empty geometry (1 such)")


def test_no_features_is_an_error(tmp_path, good, capsys):
    bad = geojson(tmp_path / "none.geojson", [])
    assert_one_line_error(capsys, ["overlay", bad, good], bad, "no features; the layer is empty")


def test_mixed_points_and_polygons_is_an_error(tmp_path, good, capsys):
    bad = geojson(tmp_path / "mixed.geojson", [
        feature("a", "Fine", poly(square(0, 0, 100))),
        feature("b", "Point", {"type": "Point", "coordinates": [X0 + 10, Y0 + 10]}),
        feature("c", "Point", {"type": "Point", "coordinates": [X0 + 20, Y0 + 10]})])
    assert_one_line_error(capsys, ["overlay", bad, good], bad, "expected polygons but found 2 Point (first: feature 2)")


def test_nan_coordinates_are_an_error(tmp_path, good, capsys):
    bad = tmp_path / "nan.geojson"
    text = json.dumps({"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": BNG_URN}},
                       "features": [feature("a", "Fine", poly(square(0, 0, 100))),
                                    feature("b", "NaN", poly(ring((0, 0), (100, 0), (999, 100))))]})
    bad.write_text(text.replace(str(float(X0 + 999)), "NaN").replace(str(X0 + 999), "NaN"))
    assert "NaN" in bad.read_text()
    assert_one_line_error(capsys, ["overlay", bad, good], bad, "feature 2 has coordinates that are not numbers")


# ---------------------------------------------------------------- coordinate reference systems


def lonlat_square():
    return poly([[-1.5, 52.0], [-1.4, 52.0], [-1.4, 52.1], [-1.5, 52.1], [-1.5, 52.0]])


def test_lonlat_numbers_labelled_as_metres(tmp_path, good, capsys):
    bad = geojson(tmp_path / "lonlat_as_bng.geojson", [feature("a", "x", lonlat_square())], crs=BNG_URN)
    assert_one_line_error(capsys, ["overlay", bad, good], bad, "labelled EPSG:27700 (metres)",
                          "look like longitude/latitude", "--crs EPSG:4326")


@pytest.mark.parametrize("crs", [WGS84_URN, None])  # GeoJSON without a CRS is WGS84 by definition
def test_metres_labelled_as_lonlat(tmp_path, good, capsys, crs):
    bad = geojson(tmp_path / "bng_as_lonlat.geojson", [feature("a", "x", poly(square(0, 0, 100)))], crs=crs)
    assert_one_line_error(capsys, ["overlay", bad, good], bad, "(degrees) but coordinates reach 400,100, 300,100",
                          "--crs EPSG:27700")


def test_metres_labelled_as_lonlat_can_be_overridden(tmp_path, good, capsys):
    bad = geojson(tmp_path / "bng_as_lonlat.geojson", [feature("a", "x", poly(square(0, 0, 100)))], crs=WGS84_URN)
    code, out, _ = run(capsys, "overlay", bad, good, "--crs", "EPSG:27700", "--format", "csv")
    assert code == 0
    assert pd.read_csv(pd.io.common.StringIO(out))["best_code"].tolist() == ["g1"]


def test_swapped_lat_lon(tmp_path, good, capsys):
    swapped = poly([[52.0, -1.5], [52.0, -1.4], [52.1, -1.4], [52.1, -1.5], [52.0, -1.5]])
    bad = geojson(tmp_path / "swapped.geojson", [feature("a", "x", swapped)], crs=None)
    assert_one_line_error(capsys, ["overlay", bad, good], bad, "latitude and longitude look swapped")


def test_no_crs_in_a_geopackage_is_an_error_unless_given(tmp_path, good, capsys):
    bad = tmp_path / "nocrs.gpkg"
    frame = gpd.GeoDataFrame({"code": ["a"], "name": ["x"]}, geometry=[shapely.box(X0, Y0, X0 + 100, Y0 + 100)])
    with pytest.warns(UserWarning):
        frame.to_file(bad, engine="pyogrio")
    assert_one_line_error(capsys, ["overlay", bad, good], bad, "no CRS in file; give one with --crs",
                          "look like EPSG:27700")
    code, out, _ = run(capsys, "overlay", bad, good, "--crs", "EPSG:27700", "--format", "csv")
    assert code == 0 and "coterminous" in out


def test_topojson_without_crs_is_assumed_wgs84_with_a_note(tmp_path):
    # Like the real lad13 file: the CRS is not where readers look, coordinates are lon/lat.
    topo = {"type": "Topology", "objects": {"units": {"type": "GeometryCollection", "geometries": [
        {"type": "Polygon", "arcs": [[0]], "properties": {"LAD13CD": "E07000001", "LAD13NM": "One"}}]}},
        "arcs": [[[-1.5, 52.0], [-1.4, 52.0], [-1.4, 52.1], [-1.5, 52.1], [-1.5, 52.0]]]}
    path = tmp_path / "districts.topojson"
    path.write_text(json.dumps(topo))
    layer = read_layer(path)
    assert layer.codes.tolist() == ["E07000001"] and layer.frame["name"].tolist() == ["One"]
    assert any("no CRS in file; coordinates are longitude/latitude, assumed WGS84" in n for n in layer.notes)
    assert layer.frame.crs.to_epsg() == 27700
    # ~6.9 km × 11.1 km at 52° N: about 76 km² once projected.
    assert layer.frame.geometry.area.iloc[0] == pytest.approx(76.3e6, rel=0.01)


def test_outside_great_britain(tmp_path, good, capsys):
    far = poly([[10.0, 10.0], [11.0, 10.0], [11.0, 11.0], [10.0, 10.0]])
    bad = geojson(tmp_path / "africa.geojson", [feature("a", "x", far)], crs=None)
    assert_one_line_error(capsys, ["overlay", bad, good], bad, "lies outside Great Britain")


# ---------------------------------------------------------------- codes and names


def test_duplicate_codes(tmp_path, good, capsys):
    bad = geojson(tmp_path / "dup.geojson", [feature("a", "x", poly(square(0, 0, 100))),
                                              feature("b", "y", poly(square(100, 0, 100))),
                                              feature("a", "z", poly(square(200, 0, 100)))])
    assert_one_line_error(capsys, ["overlay", bad, good], bad, "code 'a' appears 2 times (features 1, 3)")


def test_missing_code_column(tmp_path, good, capsys):
    f = feature("a", "x", poly(square(0, 0, 100)))
    f["properties"] = {"label": "x"}
    bad = geojson(tmp_path / "nocode.geojson", [f])
    assert_one_line_error(capsys, ["overlay", bad, good], bad, "no code column found; name it with --code-col",
                          "(columns: label)")
    assert_one_line_error(capsys, ["overlay", bad, good, "--code-col", "zzz"], bad, "column 'zzz' not found")


def test_missing_code_value(tmp_path, good, capsys):
    bad = geojson(tmp_path / "blank.geojson", [feature("a", "x", poly(square(0, 0, 100))),
                                                feature("", "y", poly(square(100, 0, 100)))])
    assert_one_line_error(capsys, ["overlay", bad, good], bad, "feature 2 has no code")


def test_latin1_geojson_is_read_with_a_note(tmp_path, good, capsys):
    bad = tmp_path / "latin1.geojson"
    doc = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": BNG_URN}},
           "features": [feature("a", "Ynys Môn", poly(square(0, 0, 100)))]}
    bad.write_bytes(json.dumps(doc, ensure_ascii=False).encode("latin-1"))
    with pytest.raises(UnicodeDecodeError):
        bad.read_bytes().decode("utf-8")
    layer = read_layer(bad)
    assert layer.frame["name"].tolist() == ["Ynys Môn"]
    assert any(n.startswith(f"{bad}: not UTF-8") and "read as Latin-1" in n for n in layer.notes)
    code, out, _ = run(capsys, "overlay", bad, good)
    assert code == 0 and "Ynys Môn" in out and "not UTF-8" in out


def test_latin1_csv_is_read_with_a_note(tmp_path):
    path = tmp_path / "latin1.csv"
    wkt = shapely.box(X0, Y0, X0 + 100, Y0 + 100).wkt
    path.write_bytes(f'code,name,wkt\na,Ynys Môn,"{wkt}"\n'.encode("latin-1"))
    layer = read_layer(path, crs="EPSG:27700")
    assert layer.frame["name"].tolist() == ["Ynys Môn"]
    assert any("not UTF-8" in n for n in layer.notes)


NASTY = "<script>alert('x')</script>"
ESCAPES = "Red\x1b[31m\nTown\x07"


@pytest.fixture
def html_layer(tmp_path) -> Path:
    return geojson(tmp_path / "html.geojson", [feature("a", NASTY, poly(square(0, 0, 100))),
                                                feature("b", ESCAPES, poly(square(100, 0, 100)))])


def test_html_and_control_characters_in_names_table(html_layer, good, capsys):
    code, out, _ = run(capsys, "overlay", html_layer, good)
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out
    rows = [line for line in out.splitlines() if line.startswith(("a ", "b "))]
    assert len(rows) == 2  # the newline inside the name did not break its row
    assert "Red\ufffd[31m Town\ufffd" in rows[1]
    assert NASTY in rows[0]  # plain text in a terminal


def test_html_in_names_markdown_is_escaped(html_layer, good, capsys):
    code, out, _ = run(capsys, "overlay", html_layer, good, "--format", "markdown")
    assert code == 0
    assert "<script>" not in out and "&lt;script&gt;alert('x')&lt;/script&gt;" in out
    assert "\x1b" not in out


def test_names_round_trip_exactly_in_csv_and_json(html_layer, good, capsys):
    code, out, _ = run(capsys, "overlay", html_layer, good, "--format", "csv")
    assert code == 0
    assert pd.read_csv(pd.io.common.StringIO(out))["name"].tolist() == [NASTY, ESCAPES]
    code, out, _ = run(capsys, "overlay", html_layer, good, "--format", "json")
    assert code == 0
    assert [r["name"] for r in json.loads(out)["rows"]] == [NASTY, ESCAPES]


# ---------------------------------------------------------------- broken files


def test_truncated_geojson(tmp_path, good, capsys):
    whole = geojson(tmp_path / "whole.geojson", [feature("a", "x", poly(square(0, 0, 100)))]).read_text()
    bad = tmp_path / "truncated.geojson"
    bad.write_text(whole[: len(whole) // 2])
    assert_one_line_error(capsys, ["overlay", bad, good], bad, "not a readable boundary file")


def test_corrupt_zip(tmp_path, good, capsys):
    bad = tmp_path / "boundaries.zip"
    bad.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    assert_one_line_error(capsys, ["overlay", bad, good], bad, "not a valid zip archive")


def test_zip_without_a_boundary_file(tmp_path, good, capsys):
    bad = tmp_path / "readme.zip"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("readme.txt", "no shapes here")
    assert_one_line_error(capsys, ["overlay", bad, good], bad, "not a readable boundary file")


def test_binary_garbage_named_geojson(tmp_path, good, capsys):
    bad = tmp_path / "image.geojson"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    assert_one_line_error(capsys, ["overlay", bad, good], bad, "not a readable boundary file")


def test_zero_byte_file(tmp_path, good, capsys):
    bad = tmp_path / "zero.geojson"
    bad.write_bytes(b"")
    assert_one_line_error(capsys, ["overlay", bad, good], bad, "file is empty (0 bytes)")


def test_directory_instead_of_a_file(tmp_path, good, capsys):
    bad = tmp_path / "folder.geojson"
    bad.mkdir()
    assert_one_line_error(capsys, ["overlay", bad, good], bad, "is a folder, not a file")


def test_missing_file(tmp_path, good, capsys):
    bad = tmp_path / "nowhere.geojson"
    assert_one_line_error(capsys, ["overlay", bad, good], bad, "no such file")


def test_read_layer_raises_input_error(tmp_path):
    bad = tmp_path / "zero.gpkg"
    bad.write_bytes(b"")
    with pytest.raises(InputError, match="file is empty"):
        read_layer(bad)


# ---------------------------------------------------------------- outputs that cannot be written


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_output_into_a_missing_folder(tmp_path, good, capsys):
    target = tmp_path / "no" / "such" / "out.csv"
    assert_one_line_error(capsys, ["overlay", good, good, "-o", target, "--format", "csv"], target,
                          "does not exist")
    assert not target.exists() and not (tmp_path / "no").exists()


def test_output_is_a_folder(tmp_path, good, capsys):
    target = tmp_path / "outdir"
    target.mkdir()
    assert_one_line_error(capsys, ["overlay", good, good, "-o", target], target, "is a folder")
    assert list(target.iterdir()) == []


def test_output_under_a_file(tmp_path, good, capsys):
    target = good / "out.csv"
    assert_one_line_error(capsys, ["overlay", good, good, "-o", target], target, "choose another output path")


def test_failed_write_leaves_no_partial_file_and_keeps_the_old_one(tmp_path, good, capsys, monkeypatch):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "report.csv"
    target.write_text("old report\n")

    def disk_full(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("coterminosity.report.os.replace", disk_full)
    assert_one_line_error(capsys, ["overlay", good, good, "-o", target, "--format", "csv"], target,
                          "cannot write (No space left on device)")
    assert target.read_text() == "old report\n"
    assert leftovers(out_dir) == []


def test_successful_write_is_whole(tmp_path, good, capsys):
    target = tmp_path / "report.csv"
    code, _, err = run(capsys, "overlay", good, good, "-o", target, "--format", "csv")
    assert code == 0 and err.strip() == f"wrote {target}"
    assert pd.read_csv(target)["class"].tolist() == ["coterminous", "coterminous"]
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".parquet"])
def test_build_output_failure_leaves_nothing(tmp_path, capsys, monkeypatch, suffix):
    fine = geojson(tmp_path / "fine.geojson", [feature("a", "A", poly(square(0, 0, 100)), group="G"),
                                                feature("b", "B", poly(square(100, 0, 100)), group="G")])
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / f"built{suffix}"
    missing = out_dir / "nope" / f"built{suffix}"
    assert_one_line_error(capsys, ["build", fine, "--column", "group", "-o", missing], missing, "does not exist")

    def broken(self, path, *args, **kwargs):
        Path(path).write_bytes(b"half a file")  # the writer dies after writing part of the file
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(gpd.GeoDataFrame, "to_file", broken)
    monkeypatch.setattr(gpd.GeoDataFrame, "to_parquet", broken)
    assert_one_line_error(capsys, ["build", fine, "--column", "group", "-o", target], target, "cannot write")
    assert list(out_dir.iterdir()) == []
    monkeypatch.undo()
    code, _, _ = run(capsys, "build", fine, "--column", "group", "-o", target)
    assert code == 0
    built = read_layer(target)
    assert built.codes.tolist() == ["G"] and built.frame.geometry.area.iloc[0] == pytest.approx(20_000.0)
    assert leftovers(out_dir) == []


# ---------------------------------------------------------------- coverage cleaning touches only what is broken


def test_clean_coverage_matches_a_full_clean_and_leaves_good_polygons_alone():
    # A 10 × 10 grid of 100 m squares; one square overlaps its east neighbour by 0.4 m and
    # another leaves a 0.3 m gap to its north neighbour.
    cells = {(i, j): shapely.box(X0 + 100 * i, Y0 + 100 * j, X0 + 100 * (i + 1), Y0 + 100 * (j + 1))
             for i in range(10) for j in range(10)}
    cells[(1, 1)] = shapely.box(X0 + 100, Y0 + 100, X0 + 200.4, Y0 + 200)
    cells[(4, 3)] = shapely.box(X0 + 400, Y0 + 300, X0 + 500, Y0 + 399.7)
    geoms = np.array(list(cells.values()), dtype=object)
    cleaned, note = clean_coverage(geoms, gap_width=1.0)
    assert shapely.coverage_is_valid(cleaned)
    assert shapely.area(cleaned).sum() == pytest.approx(1000.0 * 1000.0)
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    full = shapely.coverage_clean(geoms, gap_width=1.0, snapping_distance=np.hypot(maxx - minx, maxy - miny) / 1e8)
    assert shapely.equals(cleaned, full).all()
    # Far from the two faults, polygons are the very same objects: untouched.
    far = [k for k in cells if k[0] >= 7 or k[1] >= 7]
    keys = list(cells)
    assert far and all(cleaned[keys.index(k)] is geoms[keys.index(k)] for k in far)
    assert note.startswith("cleaned the coverage: ")


# ---------------------------------------------------------------- what is already at the output path


def csv_rows(text: str) -> list[str]:
    return pd.read_csv(pd.io.common.StringIO(text))["class"].tolist()


def test_output_symlink_replaces_the_file_it_points_to(tmp_path, good, capsys):
    real = tmp_path / "real.csv"
    real.write_text("old report\n")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    code, _, _ = run(capsys, "overlay", good, good, "-o", link, "--format", "csv")
    assert code == 0
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert csv_rows(real.read_text()) == ["coterminous", "coterminous"]


def test_output_layer_symlink_replaces_the_file_it_points_to(tmp_path, good, capsys):
    real = tmp_path / "real.gpkg"
    real.write_bytes(b"old")
    link = tmp_path / "link.gpkg"
    link.symlink_to(real)
    code, _, err = run(capsys, "build", good, "--column", "name", "-o", link)
    assert code == 0, err
    assert link.is_symlink() and sorted(read_layer(real).codes) == ["East", "West"]


def test_output_fifo_with_a_reader_is_written_into_not_replaced(tmp_path, good, capsys):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader waiting (the report fits the pipe buffer)
    try:
        code, _, err = run(capsys, "overlay", good, good, "-o", fifo, "--format", "csv")
        assert code == 0, err
        received = os.read(reader, 1 << 16).decode()
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert csv_rows(received) == ["coterminous", "coterminous"]


def test_output_fifo_without_a_reader_is_refused_not_replaced(tmp_path, good, capsys):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    assert_one_line_error(capsys, ["overlay", good, good, "-o", fifo, "--format", "csv"], fifo,
                          "named pipe with no reader")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and leftovers(tmp_path) == []


def test_output_symlink_to_a_fifo_writes_into_the_fifo(tmp_path, good, capsys):
    # The shape of -o /dev/stdout: a link to something that is not a regular file.
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "stdout.geojson"
    link.symlink_to(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        code, _, err = run(capsys, "build", good, "--column", "name", "-o", link)
        assert code == 0, err
        received = os.read(reader, 1 << 16)
    finally:
        os.close(reader)
    assert link.is_symlink() and stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(f["properties"]["code"] for f in json.loads(received)["features"]) == ["East", "West"]


def test_replaced_report_keeps_its_mode_and_owner(tmp_path, good, capsys):
    target = tmp_path / "report.csv"
    target.write_text("old\n")
    os.chmod(target, 0o600)
    if os.geteuid() == 0:
        os.chown(target, 65534, 65534)
    before = os.stat(target)
    code, _, _ = run(capsys, "overlay", good, good, "-o", target, "--format", "csv")
    assert code == 0
    after = os.stat(target)
    assert stat.S_IMODE(after.st_mode) == 0o600
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid)
    assert csv_rows(target.read_text()) == ["coterminous", "coterminous"]


def test_hard_linked_report_is_rewritten_in_place(tmp_path, good, capsys):
    target = tmp_path / "report.csv"
    target.write_text("old report, longer than the new one would ever be " * 50)
    other = tmp_path / "other.csv"
    os.link(target, other)
    inode = os.stat(target).st_ino
    code, _, _ = run(capsys, "overlay", good, good, "-o", target, "--format", "csv")
    assert code == 0
    assert os.stat(target).st_ino == inode and os.stat(target).st_nlink == 2
    assert other.read_text() == target.read_text()
    assert csv_rows(other.read_text()) == ["coterminous", "coterminous"]


def test_new_report_gets_the_usual_mode(tmp_path, good, capsys):
    target = tmp_path / "new.csv"
    mask = os.umask(0o022)
    try:
        assert run(capsys, "overlay", good, good, "-o", target, "--format", "csv")[0] == 0
    finally:
        os.umask(mask)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o644


# ---------------------------------------------------------------- shapefiles: several files replaced together


def shapefile_parts(folder: Path, stem: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.name.startswith(stem + ".")}


def test_shapefile_stale_spatial_indexes_are_removed(tmp_path, good, capsys):
    out = tmp_path / "out"
    out.mkdir()
    target = out / "built.shp"
    assert run(capsys, "build", good, "--column", "name", "-o", target)[0] == 0
    for stale in ("built.qix", "built.sbn", "built.sbx"):
        (out / stale).write_bytes(b"index of the old shapes")
    (out / "other.qix").write_bytes(b"another layer's index")
    one = geojson(tmp_path / "one.geojson", [feature("a", "A", poly(square(0, 0, 100)), group="G"),
                                              feature("b", "B", poly(square(100, 0, 100)), group="G")])
    assert run(capsys, "build", one, "--column", "group", "-o", target)[0] == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["built.cpg", "built.dbf", "built.prj", "built.shp", "built.shx", "other.qix"]
    assert read_layer(target).codes.tolist() == ["G"]


def test_shapefile_old_parts_are_restored_when_the_swap_fails(tmp_path, good, capsys, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    target = out / "built.shp"
    assert run(capsys, "build", good, "--column", "name", "-o", target)[0] == 0
    (out / "built.qix").write_bytes(b"old index")
    before = shapefile_parts(out, "built")
    real_replace = os.replace
    calls = {"new": 0}

    def fail_on_second_new_part(src, dst):
        if Path(src).name.startswith("layer.") and str(dst).startswith(str(out)):
            calls["new"] += 1
            if calls["new"] == 2:
                raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_replace(src, dst)

    monkeypatch.setattr("coterminosity.geo.write.os.replace", fail_on_second_new_part)
    one = geojson(tmp_path / "one.geojson", [feature("a", "A", poly(square(0, 0, 100)), group="G")])
    assert_one_line_error(capsys, ["build", one, "--column", "group", "-o", target], target, "cannot write")
    monkeypatch.undo()
    assert shapefile_parts(out, "built") == before
    assert leftovers(out) == []


# ---------------------------------------------------------------- interrupted runs and long names


def test_stale_temporary_files_of_a_killed_run_are_swept(tmp_path, good, capsys):
    target = tmp_path / "report.csv"
    old_file = tmp_path / ".report.csv.abcd1234.tmp"
    old_dir = tmp_path / ".report.csv.wxyz_987.tmp"
    fresh = tmp_path / ".report.csv.fresh123.tmp"  # another run writing right now: left alone
    unrelated = tmp_path / ".report.csv.notes"
    for p in (old_file, fresh, unrelated):
        p.write_text("x")
    old_dir.mkdir()
    (old_dir / "layer.gpkg").write_text("x")
    an_hour_ago = time.time() - 3600
    for p in (old_file, old_dir, unrelated):
        os.utime(p, (an_hour_ago, an_hour_ago))
    code, _, _ = run(capsys, "overlay", good, good, "-o", target, "--format", "csv")
    assert code == 0
    assert leftovers(tmp_path) == [".report.csv.fresh123.tmp", ".report.csv.notes"]


def test_sigterm_leaves_no_temporary_files(tmp_path, good, capsys, monkeypatch):
    target = tmp_path / "built.gpkg"

    def killed(self, path, *args, **kwargs):
        Path(path).write_bytes(b"half a file")
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler interrupts this
        raise AssertionError("SIGTERM was not handled")

    monkeypatch.setattr(gpd.GeoDataFrame, "to_file", killed)
    code, out, err = run(capsys, "build", good, "--column", "name", "-o", target)
    assert code == 143 and out == ""
    assert err.strip() == "coterm build: terminated; no output written"
    assert list(tmp_path.iterdir()) == [good]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # put back after the run


@pytest.mark.parametrize("suffix", [".csv", ".gpkg", ".shp"])
def test_longest_legal_output_name_is_written(tmp_path, good, capsys, suffix):
    target = tmp_path / ("n" * (250 - len(suffix)) + suffix)
    argv = (["overlay", good, good, "-o", target, "--format", "csv"] if suffix == ".csv"
            else ["build", good, "--column", "name", "-o", target])
    code, _, err = run(capsys, *argv)
    assert code == 0, err
    assert target.is_file() and leftovers(tmp_path) == []


def test_writer_error_is_one_short_line(tmp_path, good, capsys, monkeypatch):
    def verbose_failure(self, path, *args, **kwargs):
        raise pyogrio.errors.DataSourceError("sqlite3_exec(CREATE TABLE x (" + "col TEXT, " * 600 + ")) failed")

    monkeypatch.setattr(gpd.GeoDataFrame, "to_file", verbose_failure)
    target = tmp_path / "built.gpkg"
    line = assert_one_line_error(capsys, ["build", good, "--column", "name", "-o", target], target, "cannot write")
    assert len(line) < 400


# ---------------------------------------------------------------- an output that is also an input


def test_output_equal_to_an_input_is_refused_before_any_work(tmp_path, good, capsys):
    a = geojson(tmp_path / "a.geojson", [feature("a", "A", poly(square(0, 0, 200)))])
    before = a.read_bytes()
    assert_one_line_error(capsys, ["overlay", a, good, "-o", a], a, "is also an input (footprints", "choose another")
    link = tmp_path / "alias.geojson"
    link.symlink_to(a)  # the same file under another name
    assert_one_line_error(capsys, ["overlay", good, a, "-o", link], link, "is also an input (b")
    assert a.read_bytes() == before


def test_build_output_equal_to_its_fine_layer_is_refused(tmp_path, good, capsys):
    fine = tmp_path / "fine.gpkg"
    assert run(capsys, "build", good, "--column", "name", "-o", fine)[0] == 0
    before = fine.read_bytes()
    assert_one_line_error(capsys, ["build", fine, "--column", "name", "-o", fine], fine, "is also an input (fine")
    assert fine.read_bytes() == before


def test_table_output_equal_to_a_flow_table_is_refused(tmp_path, capsys):
    flows = tmp_path / "flows.csv"
    flows.write_text("LSOA_CODE,PRACTICE_CODE,NUMBER_OF_PATIENTS\nE01000001,P1,10\n")
    before = flows.read_bytes()
    assert_one_line_error(capsys, ["catchments", flows, "-o", flows], flows, "is also an input (flows")
    assert flows.read_bytes() == before


def test_shapefile_output_over_an_input_part_is_refused(tmp_path, good, capsys):
    shp = tmp_path / "fine.shp"
    assert run(capsys, "build", good, "--column", "name", "-o", shp)[0] == 0
    dbf = tmp_path / "fine.dbf"
    before = dbf.read_bytes()
    lookup = tmp_path / "fine.prj"  # any input that is one of the parts writing fine.shp replaces
    assert_one_line_error(capsys, ["build", good, "--lookup", lookup, "--from-col", "code", "--to-col", "name",
                                   "-o", shp], shp, "is also an input (lookup")
    assert_one_line_error(capsys, ["build", shp, "--column", "name", "-o", shp], shp, "is also an input (fine")
    assert dbf.read_bytes() == before


def test_two_outputs_on_one_path_are_refused(tmp_path, capsys):
    target = tmp_path / "same.json"
    assert_one_line_error(capsys, ["scenario", "stp17", "--move", "E06000001=E54000001", "-o", target,
                                   "--save", target], target, "given twice as an output")


# ---------------------------------------------------------------- the cache of built frames


@pytest.fixture
def fake_data(tmp_path, monkeypatch) -> Path:
    """A data folder holding one catalogue file (its content does not matter to the cache key)."""
    from coterminosity.geo.catalogue import DATASETS

    folder = tmp_path / "data"
    folder.mkdir()
    (folder / DATASETS["lsoa11"].filename).write_text("LSOA11CD\nE01000001\n")
    monkeypatch.setenv("COTERM_CACHE", str(tmp_path / "cache"))
    return folder


def test_cache_misses_a_source_edited_in_place_with_its_mtime_restored(fake_data):
    from coterminosity.geo.cache import fingerprint
    from coterminosity.geo.catalogue import DATASETS

    source = fake_data / DATASETS["lsoa11"].filename
    before = fingerprint(("lsoa11",), fake_data)
    st = os.stat(source)
    time.sleep(0.01)
    source.write_text("LSOA11CD\nE01000002\n")  # same size, edited in place
    os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (os.stat(source).st_size, os.stat(source).st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    assert fingerprint(("lsoa11",), fake_data) != before
    edited = fingerprint(("lsoa11",), fake_data)
    replacement = fake_data / "new.csv"  # the same again, swapped in by a rename: a new inode
    replacement.write_text("LSOA11CD\nE01000003\n")
    os.utime(replacement, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(replacement, source)
    assert fingerprint(("lsoa11",), fake_data) not in (before, edited)


def small_frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"code": ["a", "b"]}, geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)],
                            crs="EPSG:27700")


def test_cache_notes_live_inside_the_entry(tmp_path):
    from coterminosity.geo.cache import read_cached, read_notes, write_cached, write_notes

    path = tmp_path / "layer-x-0123456789ab.parquet"
    write_cached(small_frame(), path, ["repaired 1 of 2 invalid features"])
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no .notes file beside it
    assert read_notes(path) == ["repaired 1 of 2 invalid features"]
    frame = read_cached(path, geo=True)
    assert frame["code"].tolist() == ["a", "b"] and frame.attrs == {}
    write_notes(path, ["a second note"])  # the older two-step call still lands inside the file
    assert read_notes(path) == ["a second note"] and sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_cache_entry_of_another_kind_is_a_miss(tmp_path):
    from coterminosity.geo.cache import read_cached, read_notes, write_cached

    members = tmp_path / "layer-stp17-0123456789ab.members.parquet"
    pd.DataFrame({"small_code": ["E01000001"], "code": ["E54000001"]}).to_parquet(members)  # no entry mark
    assert read_cached(members, geo=False) is None
    entry = tmp_path / "lsoa11-table-0123456789ab.parquet"
    write_cached(pd.DataFrame({"code": ["E01000001"], "x": [1.0], "y": [2.0]}), entry)
    assert read_cached(entry, geo=False) is not None
    copied = tmp_path / "layer-stp17-0123456789ab.parquet"  # a valid Parquet cache file, but not this entry
    copied.write_bytes(entry.read_bytes())
    assert read_cached(copied, geo=True) is None and read_notes(copied) == []


def test_cache_entry_that_cannot_be_written_is_built_once_per_process(tmp_path):
    from coterminosity.geo import cache

    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder should be")
    path = blocked / "built" / "lsoa11-polygons-0123456789ab.parquet"
    try:
        cache.write_cached(small_frame(), path, ["cleaned the coverage"])
        again = cache.read_cached(path, geo=True)
        assert again is not None and again["code"].tolist() == ["a", "b"]
        assert cache.read_notes(path) == ["cleaned the coverage"]
        again["code"] = ["z", "z"]  # a caller changing its copy does not change the kept entry
        assert cache.read_cached(path, geo=True)["code"].tolist() == ["a", "b"]
    finally:
        cache._unwritable.pop(str(path), None)


# ---------------------------------------------------------------- layers meeting only in slivers


@pytest.mark.parametrize("command", ["overlay", "summary", "map"])
def test_layers_meeting_only_in_slivers_are_reported_not_a_crash(tmp_path, capsys, command):
    a = geojson(tmp_path / "a.geojson", [feature("a1", "A one", poly(square(0, 0, 100))),
                                          feature("a2", "A two", poly(square(0, 100, 100)))])
    # B starts 5 cm inside A's east edge: every piece is a 5 m² sliver, set aside, so no pair is left.
    b = geojson(tmp_path / "b.geojson", [feature("b1", "B one", poly(square(99.95, 0, 100))),
                                          feature("b2", "B two", poly(square(99.95, 100, 100)))])
    out = tmp_path / ("map.html" if command == "map" else "report.json")
    argv = [command, a, b] if command == "overlay" else [command, a, "--against", b]
    if command != "map":
        argv += ["--format", "json"]
    code, _, err = run(capsys, *argv, "-o", out)
    assert code == 0, err
    if command == "overlay":
        rows = json.loads(out.read_text())["rows"]
        assert [(r["code"], r["class"], r["touches"]) for r in rows] == [("a1", "uncovered", 0), ("a2", "uncovered", 0)]
    else:
        assert out.stat().st_size > 0


# ---------------------------------------------------------------- counts: one number reader, finite


def population_table(*counts) -> pd.DataFrame:
    return pd.DataFrame({"code": [f"E0100000{i}" for i in range(1, len(counts) + 1)], "population": list(counts)})


@pytest.mark.parametrize("value", ["inf", "Infinity", "-inf", "1e999", "NaN"])
def test_population_counts_must_be_finite(tmp_path, value):
    from coterminosity.geo.population import checked_counts

    where = tmp_path / "pop.csv"
    with pytest.raises(InputError, match=rf"pop.csv: line 3: '{value}' population is not a count ≥ 0 \(1 such row\)"):
        checked_counts(population_table("1636", value), "code", "population", where)


def test_population_and_flow_counts_read_commas_the_same_way(tmp_path):
    from coterminosity.geo.flows import read_flows
    from coterminosity.geo.population import checked_counts

    where = tmp_path / "pop.csv"
    counts = checked_counts(population_table("1,636", "1,234,567", "12"), "code", "population", where)
    assert counts.tolist() == [1636.0, 1234567.0, 12.0]
    with pytest.raises(InputError, match=r"line 2: '2,5' population is not a count"):
        checked_counts(population_table("2,5"), "code", "population", where)
    flows = tmp_path / "flows.csv"
    flows.write_text('LSOA_CODE,PRACTICE_CODE,NUMBER_OF_PATIENTS\nE01000001,P1,"1,636"\nE01000002,P1,"2,5"\n'
                     'E01000003,P1,"12,34"\n')
    with pytest.raises(InputError, match=r"2 rows are not: line 3 \('2,5'\), line 4 \('12,34'\)"):
        read_flows(flows)
    flows.write_text('LSOA_CODE,PRACTICE_CODE,NUMBER_OF_PATIENTS\nE01000001,P1,"1,636"\nE01000002,P1,12\n')
    assert read_flows(flows).frame["count"].tolist() == [1636.0, 12.0]


def test_flow_counts_whose_total_overflows_are_an_error(tmp_path):
    from coterminosity.geo.flows import read_flows

    flows = tmp_path / "flows.csv"
    flows.write_text("LSOA_CODE,PRACTICE_CODE,NUMBER_OF_PATIENTS\nE01000001,P1,1e308\nE01000002,P1,1e308\n")
    with pytest.raises(InputError, match="add up to more than a number can hold"):
        read_flows(flows)


def test_json_output_never_holds_nan_or_infinity():
    from coterminosity.report import render

    frame = pd.DataFrame({"code": ["a", "b", "c"], "share": [0.5, float("inf"), float("nan")],
                          "people": np.array([1.0, -np.inf, 2.0])})
    text = render(frame, "json", meta={"score": float("nan"), "by": {"x": np.float64("inf"), "y": [1.5, np.nan]}})

    def refuse(token):
        raise AssertionError(f"{token} in JSON output")

    doc = json.loads(text, parse_constant=refuse)  # strict JSON: no NaN, Infinity, -Infinity
    assert [r["share"] for r in doc["rows"]] == [0.5, None, None]
    assert [r["people"] for r in doc["rows"]] == [1.0, None, 2.0]
    assert doc["meta"] == {"score": None, "by": {"x": None, "y": [1.5, None]}}


# ---------------------------------------------------------------- bad input that used to be an internal error


def test_map_height_that_is_not_a_length_is_a_usage_error(tmp_path, good, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["map", str(good), "--embed", "--height", "abc", "-o", str(tmp_path / "m.html")])
    assert stop.value.code == 2
    assert "argument --height: 'abc' is not a height; give pixels (600px) or a percentage (80%)" in capsys.readouterr().err
    from coterminosity.cli.options import css_length

    assert [css_length(t) for t in ("600", "600px", "80%", " 12.5px ")] == ["600px", "600px", "80%", "12.5px"]


def scenario_file(tmp_path, name: str, content: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


@pytest.mark.parametrize("name, content, phrase", [
    ("units.json", '{"moves": ["E06000001=E54000001"], "units": 5}',
     '"units" must be a layer name or a list of them (e.g. ["upper17"]), not a number (5)'),
    ("units_list.json", '{"moves": ["E06000001=E54000001"], "units": ["upper17", 3]}', '"units" must be a layer name'),
    ("footprints.json", '{"moves": ["E06000001=E54000001"], "footprints": {"a": 1}}',
     '"footprints" must be text, not an object'),
    ("unit.json", '{"moves": [{"unit": 7, "to": "E54000001"}]}', 'move 1 needs "unit" and "to" as text'),
    ("lsoas.json", '{"moves": [{"unit": "X", "to": "Y", "lsoas": "E01000001"}]}',
     'move 1: "lsoas" must be a list of LSOA codes, not text'),
    ("latin1.json", '{"moves": ["Ynys Môn=E54000001"]}'.encode("latin-1"),
     "not UTF-8 (first bad byte at offset 18); save the scenario file as UTF-8"),
    ("latin1.txt", "Ynys Môn=E54000001\n".encode("latin-1"), "not UTF-8 (first bad byte at offset 6)"),
    ("deep.json", '{"moves": ' + "[" * 100_000 + "]" * 100_000 + "}", "JSON nested too deeply to be a scenario"),
])
def test_bad_scenario_file_is_one_line_not_an_internal_error(tmp_path, capsys, name, content, phrase):
    path = scenario_file(tmp_path, name, content)
    assert_one_line_error(capsys, ["scenario", "stp17", "--moves", path], path, phrase)


# ---------------------------------------------------------------- terminal and document injection


BIDI = "Evil\u202etxt.exe\u2066x\u2069\u200b\ufeff"  # right-to-left override, isolate, zero-width space, BOM
FORMAT_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u200e\u200f\u2060\ufeff\u00ad"


def test_printable_replaces_unicode_format_controls():
    from coterminosity.report import printable

    assert printable(BIDI) == "Evil\ufffdtxt.exe\ufffdx\ufffd\ufffd\ufffd"
    assert not any(c in printable(FORMAT_CONTROLS) for c in FORMAT_CONTROLS)
    assert printable("Ynys Môn\u2028Gwynedd") == "Ynys Môn Gwynedd"  # a line separator is a line break
    assert printable("Ynys Môn — Rhondda Cynon Taf") == "Ynys Môn — Rhondda Cynon Taf"  # ordinary text unchanged


def test_bidi_controls_never_reach_the_terminal(tmp_path, good, capsys):
    layer = geojson(tmp_path / "bidi.geojson", [feature("a", BIDI, poly(square(0, 0, 100)))])
    code, out, err = run(capsys, "overlay", layer, good)
    assert code == 0 and "Evil\ufffdtxt.exe" in out
    assert not any(c in out + err for c in FORMAT_CONTROLS)
    # stderr: an error naming a code, the "wrote" line naming the output, argparse quoting an argument
    dup = geojson(tmp_path / "dup.geojson", [feature(BIDI, "x", poly(square(0, 0, 100))),
                                              feature(BIDI, "y", poly(square(100, 0, 100)))])
    code, _, err = run(capsys, "overlay", dup, good)
    assert code == 2 and "appears 2 times" in err and not any(c in err for c in FORMAT_CONTROLS)
    target = tmp_path / "report\u202elsx.csv"
    code, _, err = run(capsys, "overlay", good, good, "-o", target, "--format", "csv")
    assert code == 0 and target.is_file() and err.strip() == f"wrote {tmp_path}/report\ufffdlsx.csv"
    with pytest.raises(SystemExit):
        main(["overlay", str(good), str(good), "extra\u202e\x1b[2J"])  # argparse quotes it raw
    err = capsys.readouterr().err
    assert "unrecognized arguments: extra\ufffd\ufffd[2J" in err and "\u202e" not in err and "\x1b" not in err


LINKS = ["[click](javascript:alert(1))", "![](http://tracker.example/p.png)", "[ref]: http://x.example", "a\\[b](c)"]


def test_markdown_output_has_no_live_links_or_images(tmp_path, good, capsys):
    layer = geojson(tmp_path / "links.geojson", [feature(f"u{i}", name, poly(square(100 * i, 0, 100)))
                                                  for i, name in enumerate(LINKS)])
    code, out, _ = run(capsys, "overlay", layer, good, "--format", "markdown")
    assert code == 0
    assert re.search(r"(?<!\\)(?:\\\\)*[\[\]]", out.replace("\\[", "").replace("\\]", "").replace("\\\\", "")) is None
    assert "\\[click\\](javascript:alert(1))" in out and "!\\[\\](http://tracker.example/p.png)" in out
    assert "a\\\\\\[b\\](c)" in out  # a backslash in a name cannot undo the escape
    code, out, _ = run(capsys, "overlay", layer, good, "--format", "json")
    assert [r["name"] for r in json.loads(out)["rows"]] == LINKS  # data formats keep the text exactly


FORMULAS = ["=HYPERLINK(\"http://x.example\",\"click\")", "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "Plain"]


def test_csv_safe_neutralises_spreadsheet_formulas(tmp_path, good, capsys):
    layer = geojson(tmp_path / "formulas.geojson", [feature(f"u{i}", name, poly(square(100 * i, 0, 100)))
                                                     for i, name in enumerate(FORMULAS)])
    code, out, _ = run(capsys, "overlay", layer, good, "--format", "csv")
    assert code == 0 and pd.read_csv(pd.io.common.StringIO(out))["name"].tolist() == FORMULAS  # exact by default
    code, out, _ = run(capsys, "overlay", layer, good, "--format", "csv", "--csv-safe")
    assert code == 0
    table = pd.read_csv(pd.io.common.StringIO(out))
    assert table["name"].tolist() == ["'" + f for f in FORMULAS[:-1]] + ["Plain"]
    assert table["area_m2"].tolist() == pd.read_csv(pd.io.common.StringIO(run(capsys, "overlay", layer, good,
                                                                              "--format", "csv")[1]))["area_m2"].tolist()


# ---------------------------------------------------------------- coordinate reference systems, round two


def gpkg_layer(path: Path, boxes: list[tuple[float, float, float, float]], crs) -> Path:
    frame = gpd.GeoDataFrame({"code": [f"u{i}" for i in range(len(boxes))], "name": ["x"] * len(boxes)},
                             geometry=[shapely.box(*b) for b in boxes], crs=crs)
    frame.to_file(path, engine="pyogrio")
    return path


def test_crs_option_is_for_files_without_a_fitting_crs(tmp_path, capsys):
    nocrs = tmp_path / "nocrs.gpkg"
    with pytest.warns(UserWarning):
        gpkg_layer(nocrs, [(X0, Y0, X0 + 200, Y0 + 100)], None)
    # The other layer is right as it is: longitude/latitude labelled WGS84 (the same two squares).
    lonlat = gpd.GeoDataFrame({"code": ["g1", "g2"], "name": ["West", "East"]},
                              geometry=[shapely.box(X0, Y0, X0 + 100, Y0 + 100), shapely.box(X0 + 100, Y0, X0 + 200, Y0 + 100)], crs="EPSG:27700")
    wgs = tmp_path / "wgs.geojson"
    lonlat.to_crs("EPSG:4326").to_file(wgs, engine="pyogrio")
    code, out, err = run(capsys, "overlay", nocrs, wgs, "--crs", "EPSG:27700")
    assert code == 0, err
    assert f"{wgs}: --crs EPSG:27700 not applied: the file says EPSG:4326" in out
    row = [line for line in out.splitlines() if line.startswith("u0 ")][0]
    assert "contains" in row  # u0 is the union of West and East once both are read right


def test_irish_grid_label_on_british_coordinates_is_an_error(tmp_path, good, capsys):
    bad = gpkg_layer(tmp_path / "irish.gpkg", [(X0, Y0, X0 + 100, Y0 + 100)], "EPSG:29903")
    assert_one_line_error(capsys, ["overlay", bad, good], bad, "labelled TM75 / Irish Grid (EPSG:29903)",
                          "outside that area and fit British National Grid", "--crs EPSG:27700")
    code, out, _ = run(capsys, "overlay", bad, good, "--crs", "EPSG:27700", "--format", "markdown")
    assert code == 0 and "does not fit its coordinates; read as EPSG:27700 (--crs)" in out
    belfast = gpkg_layer(tmp_path / "belfast.gpkg", [(333000, 373000, 334000, 374000)], "EPSG:29903")
    layer = read_layer(belfast)  # a real Irish Grid file (Belfast) is read as it says
    assert layer.frame.crs.to_epsg() == 27700 and layer.frame.geometry.area.iloc[0] == pytest.approx(1e6, rel=0.01)


# ---------------------------------------------------------------- silent reader choices


def test_units_of_one_layer_overlapping_each_other_are_noted(tmp_path, good, capsys):
    bad = geojson(tmp_path / "overlapping.geojson", [
        feature("a", "A", poly(square(0, 0, 100))),
        feature("b", "B", poly(square(60, 0, 100))),  # 40 m × 100 m over A
        feature("c", "C", poly(square(300, 0, 100))),
        feature("d", "D", poly(square(320, 20, 10))),  # wholly inside C
        feature("e", "E", poly(ring((400, 0), (500.0005, 0), (500.0005, 100), (400, 100)))),  # 0.05 m² over F: noise
        feature("f", "F", poly(square(500, 0, 100)))])
    notes = [n for n in read_layer(bad).notes if "overlap" in n]
    assert notes == [f"{bad}: 2 pairs of units overlap each other (largest: 'a' and 'b', 4,000 m², 40.0% of the "
                     "smaller); what lies in both is counted in both"]
    code, out, _ = run(capsys, "overlay", bad, good)
    assert code == 0 and "2 pairs of units overlap each other" in out
    assert not any("overlap each other" in n for n in read_layer(good).notes)


def test_a_file_of_several_layers_says_which_it_read(tmp_path, good, capsys):
    path = tmp_path / "two.gpkg"
    gpd.GeoDataFrame({"code": ["p"], "name": ["x"]}, geometry=[shapely.Point(X0, Y0)], crs="EPSG:27700").to_file(
        path, layer="sites", engine="pyogrio")
    gpkg_frame = gpd.GeoDataFrame({"code": ["a"], "name": ["A"]}, geometry=[shapely.box(X0, Y0, X0 + 200, Y0 + 100)],
                                  crs="EPSG:27700")
    gpkg_frame.to_file(path, layer="areas", engine="pyogrio")
    gpkg_frame.to_file(path, layer="areas_old", engine="pyogrio")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no raw library warning on stderr either
        layer = read_layer(path)
    assert layer.codes.tolist() == ["a"]
    assert f"{path}: holds 3 layers (sites, areas, areas_old); read 'areas' (the first polygon layer); name another " \
        "with --layer" in layer.notes
    assert not any("holds 3 layers" in n for n in read_layer(path, layer="areas_old").notes)
    code, out, _ = run(capsys, "overlay", path, good)
    assert code == 0 and "holds 3 layers" in out and "contains" in out
    single = tmp_path / "one.gpkg"
    gpkg_frame.to_file(single, layer="areas", engine="pyogrio")
    gpd.GeoDataFrame({"code": ["p"]}, geometry=[shapely.Point(X0, Y0)], crs="EPSG:27700").to_file(
        single, layer="sites", engine="pyogrio")
    assert f"{single}: holds 2 layers (areas, sites); read 'areas' (the only polygon layer); name another with " \
           "--layer" in read_layer(single).notes


@pytest.fixture
def four_squares(tmp_path) -> Path:
    return geojson(tmp_path / "fine.geojson", [feature(f"f{i}", f"Fine {i}", poly(square(100 * i, 0, 100)))
                                                for i in range(4)])


def test_lookup_giving_one_parent_two_names_is_noted(tmp_path, four_squares, capsys):
    lookup = tmp_path / "lookup.csv"
    lookup.write_text("fine,coarse,coarse_name\nf0,G,Alpha\nf1,G,Alfa\nf2,H,Eta\nf3,H,Eta\n")
    target = tmp_path / "built.gpkg"
    code, _, err = run(capsys, "build", four_squares, "--lookup", lookup, "--from-col", "fine", "--to-col",
                       "coarse", "--to-name-col", "coarse_name", "-o", target)
    assert code == 0, err
    assert "build: 1 units have more than one name in the lookup (e.g. G ('Alpha' / 'Alfa')); the first name " \
           "listed is used" in err
    built = read_layer(target)
    assert dict(zip(built.codes, built.frame["name"])) == {"G": "Alpha", "H": "Eta"}


def test_lookup_leaving_out_many_fine_units_is_an_error_unless_allowed(tmp_path, four_squares, capsys):
    lookup = tmp_path / "half.csv"
    lookup.write_text("fine,coarse\nf0,G\nf1,G\n")  # a lookup cut off half way
    target = tmp_path / "built.gpkg"
    argv = ["build", four_squares, "--lookup", lookup, "--from-col", "fine", "--to-col", "coarse", "-o", target]
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "" and not target.exists()
    assert err.splitlines() == ["coterm: warning: build: 2 fine units missing from the lookup (e.g. f2, f3)",
                                f"coterm build: error: {lookup}: 2 of 4 fine units (50.0%) are missing from the "
                                "lookup (e.g. f2, f3); check the file is whole, or pass --allow-missing to build "
                                "from the units it lists"]
    code, _, err = run(capsys, *argv, "--allow-missing")
    assert code == 0, err
    assert read_layer(target).codes.tolist() == ["G"]


@pytest.mark.realdata
def test_truncated_catalogue_lookup_is_an_error_not_a_smaller_report(tmp_path, data_dir, capsys):
    # Half the STP lookup's rows: the first release built a 23-footprint stp17 and exited 0.
    folder = tmp_path / "data"
    folder.mkdir()
    for path in data_dir.iterdir():
        (folder / path.name).symlink_to(path)
    name = "lookup_lsoa11_ccg17_stp17_lad17.csv"
    (folder / name).unlink()
    lines = (data_dir / name).read_text().splitlines(keepends=True)
    (folder / name).write_text("".join(lines[: len(lines) // 2]))
    code, out, err = run(capsys, "overlay", "stp17", "upper17", "--data-dir", folder, "-q")
    assert code == 2 and out == ""
    assert f"{folder / name}: 16,423 LSOAs of the 32,844 English LSOA polygons are not in the lookup" in err


# ---------------------------------------------------------------- a membership column checked against the geometry


@pytest.fixture
def fake_lsoas(monkeypatch):
    """Four small areas of 100 m × 50 m: L1, L2 make the west square, L3, L4 the east one."""
    table = pd.DataFrame({"code": ["L1", "L2", "L3", "L4"], "name": ["a", "b", "c", "d"], "LAD11CD": ["D"] * 4,
                          "area_m2": [5000.0] * 4, "x": [X0 + 50, X0 + 50, X0 + 150, X0 + 150],
                          "y": [Y0 + 25, Y0 + 75, Y0 + 25, Y0 + 75]})
    monkeypatch.setattr("coterminosity.geo.members.small_area_table", lambda data_dir=None: table)
    return table


@pytest.mark.parametrize("west, east, problem", [
    ("L1,L2", "L3,L4", None),
    ("L3,L4", "L1,L2", "4 listed small areas lie outside their unit, e.g. 2 of 'g1''s"),
    ("L1", "L3,L4", "1 units whose listed small areas add up to another area, e.g. 'g1': 5,000 m² listed, "
                    "10,000 m² drawn"),
    ("L1", "L2,L3,L4", "1 listed small areas lie outside their unit, e.g. 1 of 'g2''s; 2 units whose listed small "
                       "areas add up to another area"),
])
def test_membership_column_is_checked_against_the_geometry(tmp_path, fake_lsoas, west, east, problem):
    from coterminosity.geo.members import attach_members

    path = geojson(tmp_path / "catchments.geojson", [
        feature("g1", "West", poly(square(0, 0, 100)), small_area_codes=f"lsoa11:{west}"),
        feature("g2", "East", poly(square(100, 0, 100)), small_area_codes=f"lsoa11:{east}")])
    layer = attach_members(read_layer(path))
    if problem is None:
        assert layer.members.sort_values("small_code")["code"].tolist() == ["g1", "g1", "g2", "g2"]
        assert any("membership read from column small_area_codes" in n for n in layer.notes)
    else:
        assert layer.members is None  # geometry decides
        assert f"{path}: column small_area_codes disagrees with the geometry ({problem}" in " ".join(layer.notes)
        assert any(n.endswith("overlays use geometry") for n in layer.notes)


# ---------------------------------------------------------------- the same data gives the same bytes


def built_from_cells(label: str, groups: dict[str, str], order: str):
    """A layer that is a union of three cells of 0.1, 0.2 and 0.7 m², its membership listed in ``order``."""
    from coterminosity.geo.layer import Layer

    cells = [("c0", 0.0, 0.1), ("c1", 0.1, 0.2), ("c2", 0.3, 0.7)]
    listed = cells if order == "forward" else cells[::-1]
    units = sorted(set(groups.values()))
    geoms = [shapely.union_all([shapely.box(X0 + x, Y0, X0 + x + w, Y0 + 1) for c, x, w in cells if groups[c] == u])
             for u in units]
    return Layer(gpd.GeoDataFrame({"code": units, "name": units}, geometry=geoms, crs="EPSG:27700"), label=label,
                 members=pd.DataFrame([(c, groups[c]) for c, _, _ in listed], columns=["small_code", "code"]),
                 small_areas="cells",
                 blocks=pd.DataFrame({"code": [c for c, _, _ in listed], "area_m2": [w for _, _, w in listed]}))


def test_reports_are_byte_identical_whatever_order_the_units_were_built_in():
    # The cells summed 0.1 + 0.2 + 0.7 make 1.0, summed 0.7 + 0.2 + 0.1 make 0.9999999999999999: the first
    # release wrote shares 0.1 or 0.10000000000000002 depending on the order a cache build listed them.
    from coterminosity.boundaries.comparison import compare
    from coterminosity.report import render

    outputs = {}
    for order in ("forward", "backward"):
        a = built_from_cells("a", {"c0": "A", "c1": "A", "c2": "A"}, order)
        b = built_from_cells("b", {"c0": "B0", "c1": "B1", "c2": "B2"}, order)
        result = compare(a, b, None, by="area")
        outputs[order] = [render(frame, fmt, meta=result.meta()) for frame in (result.table, result.overlay.pairs)
                          for fmt in ("csv", "json")]
    assert outputs["forward"] == outputs["backward"]
    pairs = pd.read_csv(pd.io.common.StringIO(outputs["forward"][2]))
    assert pairs["a_in_b_area"].tolist() == [0.1, 0.2, 0.7]
    table = pd.read_csv(pd.io.common.StringIO(outputs["forward"][0]))
    assert table[["class", "outside_share", "share_in_best"]].values.tolist() == [["contains", 0.0, 0.7]]


def test_stable_rounding_keeps_what_the_data_supports():
    from coterminosity.report import stable, stable_frame

    assert stable(1.1102230246251565e-16, scale=1.0) == 0.0 and str(stable(-1e-17, scale=1.0)) == "0.0"
    assert stable(0.8508163191977007) == pytest.approx(0.8508163191977007, rel=1e-12)
    assert stable(123_456_789.123456789, scale=1e10) == 123_456_789.12  # 0.01 m² in a layer of 10,000 km²
    frame = pd.DataFrame({"area_m2": [1e10, 2.5e-9, 3.0], "code": ["a", "b", "c"], "people": [1, 2, 3]})
    out = stable_frame(frame)
    assert out["area_m2"].tolist() == [1e10, 0.0, 3.0] and out["people"].tolist() == [1, 2, 3]


@pytest.mark.realdata
def test_cache_built_twice_gives_byte_identical_reports(tmp_path, data_dir):
    """Two cold builds of the catalogue layers, in processes with different string hashing, then the
    same commands: the reports are the same bytes."""
    import shutil
    import subprocess
    import sys

    from coterminosity.geo.catalogue import default_cache_root

    commands = [["overlay", "stp17", "upper17", "--format", "csv"], ["overlay", "stp17", "ccg17", "--pairs",
                "--format", "json"], ["summary", "stp17", "--format", "csv"]]
    results = []
    for seed in ("1", "2"):
        cache = tmp_path / f"cache{seed}" / "built"
        cache.mkdir(parents=True)
        for entry in (default_cache_root() / "built").glob("lsoa11-*"):  # the LSOA polygons take ~20 s: reuse
            shutil.copy2(entry, cache / entry.name)
        env = {**os.environ, "COTERM_CACHE": str(cache.parent), "COTERM_DATA": str(data_dir), "PYTHONHASHSEED": seed}
        outputs = []
        for argv in commands:
            done = subprocess.run([sys.executable, "-m", "coterminosity.cli", *argv, "-q"], env=env,
                                  capture_output=True, check=True)
            outputs.append(done.stdout)
        assert any(p.name.startswith("layer-stp17-") for p in cache.iterdir())  # built in this run
        results.append(outputs)
    for argv, first, second in zip(commands, *results):
        assert first == second, argv
