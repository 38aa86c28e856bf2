"""Builders the tests share: hand-made squares and layer files in EPSG:27700, and the one-line error check."""

from __future__ import annotations

import geopandas as gpd
import shapely

X0, Y0 = 400_000, 300_000  # somewhere in England, in British National Grid metres


def square(i: int) -> shapely.Polygon:
    """The i-th 100 m square of a row (i = 1, 2, …) starting at (X0, Y0)."""
    return shapely.box(X0 + 100 * (i - 1), Y0, X0 + 100 * i, Y0 + 100)


def write_units(path, groups: dict[str, list[int]]) -> str:
    """A layer file of units, each the union of the numbered squares listed for its code."""
    frame = gpd.GeoDataFrame({"lad17cd": list(groups), "lad17nm": [f"Unit {c}" for c in groups]},
                             geometry=[shapely.union_all([square(i) for i in groups[c]]) for c in groups],
                             crs="EPSG:27700")
    frame.to_file(path)
    return str(path)


def one_error_line(capsys, *parts: str) -> str:
    """The command printed exactly one error line on stderr, no traceback, naming every part."""
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    for part in parts:
        assert part in err, err
    return err
